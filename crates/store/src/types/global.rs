//! The single objects: `global` (res_pjsip behaviour) and `system` (the SIP stack's
//! timers and threads) (spec §2.8).

use crate::object::{Meta, Object, Opt};
use crate::types::auth::Algorithm;
use crate::value::{List, Text};
use crate::{choice, impl_tables, opt};

choice! {
    /// Which task queues' overload pauses new work.
    pub enum OverloadTrigger {
        /// Any queue.
        Global = ["global"],
        /// None.
        None = ["none"],
        /// Only the SIP serializers.
        PjsipOnly = ["pjsip_only"],
    }
}

/// Server-wide behaviour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Global {
    /// Id (`global`) and extended fields.
    pub meta: Meta,
    /// Max-Forwards on requests we originate.
    pub max_forwards: u32,
    /// User-Agent and Server header value.
    pub user_agent: Text,
    /// Default outbound endpoint for Dial without one.
    pub default_outbound_endpoint: Text,
    /// SIP message logging (`yes`, `no` or a host).
    pub debug: Text,
    /// Keep-alive period on stream connections, seconds (0: off).
    pub keep_alive_interval: u32,
    /// Context for registration extensions.
    pub regcontext: Text,
    /// Seconds between contact expiry sweeps.
    pub contact_expiration_check_interval: u32,
    /// Ignore the domain when matching endpoints.
    pub disable_multi_domain: bool,
    /// Spread of initial qualifies, seconds.
    pub max_initial_qualify_time: u32,
    /// Unidentified requests from one address that trigger a log line.
    pub unidentified_request_count: u32,
    /// Within this many seconds.
    pub unidentified_request_period: u32,
    /// Seconds between prunes of the unidentified-request table.
    pub unidentified_request_prune_interval: u32,
    /// Identifiers tried, in order.
    pub endpoint_identifier_order: List<Text>,
    /// Realm in challenges when an auth has none.
    pub default_realm: Text,
    /// MWI queue high-water mark.
    pub mwi_tps_queue_high: u32,
    /// MWI queue low-water mark (-1: 90% of high).
    pub mwi_tps_queue_low: i32,
    /// Do not send unsolicited MWI at start.
    pub mwi_disable_initial_unsolicited: bool,
    /// Ignore user=phone style options in URIs.
    pub ignore_uri_user_options: bool,
    /// Use the caller id as Contact user.
    pub use_callerid_contact: bool,
    /// Extension of the voicemail service.
    pub default_voicemail_extension: Text,
    /// Raise contact status events on re-registration.
    pub send_contact_status_on_update_registration: bool,
    /// Which queue overloads pause new work.
    pub taskprocessor_overload_trigger: OverloadTrigger,
    /// Refuse implicit REFER subscriptions.
    pub norefersub: bool,
    /// Allow 180 after 183.
    pub allow_sending_180_after_183: bool,
    /// Offer every codec on an empty re-INVITE.
    pub all_codecs_on_empty_reinvite: bool,
    /// From user for requests without an endpoint.
    pub default_from_user: Text,
    /// Algorithms we challenge with when an auth lists none.
    pub default_auth_algorithms_uas: List<Algorithm>,
    /// Algorithms we answer with when an auth lists none.
    pub default_auth_algorithms_uac: List<Algorithm>,
}

impl_tables!(Global);

impl Object for Global {
    const TYPE: &'static str = "global";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<Global>] = &[
            opt!("max_forwards", "70", max_forwards),
            opt!(
                "user_agent",
                concat!("Switchboard ", env!("CARGO_PKG_VERSION")),
                user_agent
            ),
            opt!(
                "default_outbound_endpoint",
                "default_outbound_endpoint",
                default_outbound_endpoint
            ),
            opt!("debug", "no", debug),
            opt!("keep_alive_interval", "90", keep_alive_interval),
            opt!("regcontext", "", regcontext),
            opt!(
                "contact_expiration_check_interval",
                "30",
                contact_expiration_check_interval
            ),
            opt!("disable_multi_domain", "no", disable_multi_domain),
            opt!("max_initial_qualify_time", "0", max_initial_qualify_time),
            opt!(
                "unidentified_request_count",
                "5",
                unidentified_request_count
            ),
            opt!(
                "unidentified_request_period",
                "5",
                unidentified_request_period
            ),
            opt!(
                "unidentified_request_prune_interval",
                "30",
                unidentified_request_prune_interval
            ),
            opt!(
                "endpoint_identifier_order",
                "ip,username,anonymous",
                endpoint_identifier_order
            ),
            opt!("default_realm", "asterisk", default_realm),
            opt!("mwi_tps_queue_high", "500", mwi_tps_queue_high),
            opt!("mwi_tps_queue_low", "-1", mwi_tps_queue_low),
            opt!(
                "mwi_disable_initial_unsolicited",
                "no",
                mwi_disable_initial_unsolicited
            ),
            opt!("ignore_uri_user_options", "no", ignore_uri_user_options),
            opt!("use_callerid_contact", "no", use_callerid_contact),
            opt!(
                "default_voicemail_extension",
                "",
                default_voicemail_extension
            ),
            opt!(
                "send_contact_status_on_update_registration",
                "no",
                send_contact_status_on_update_registration
            ),
            opt!(
                "taskprocessor_overload_trigger",
                "global",
                taskprocessor_overload_trigger
            ),
            opt!("norefersub", "yes", norefersub),
            opt!(
                "allow_sending_180_after_183",
                "no",
                allow_sending_180_after_183
            ),
            opt!(
                "all_codecs_on_empty_reinvite",
                "no",
                all_codecs_on_empty_reinvite
            ),
            opt!("default_from_user", "asterisk", default_from_user),
            opt!(
                "default_auth_algorithms_uas",
                "MD5",
                default_auth_algorithms_uas
            ),
            opt!(
                "default_auth_algorithms_uac",
                "MD5",
                default_auth_algorithms_uac
            ),
        ];
        OPTS
    }

    fn check(&mut self) -> Result<(), String> {
        if self.default_from_user.is_empty() {
            return Err("default_from_user must not be empty".into());
        }
        if self.max_forwards == 0 || self.max_forwards > 255 {
            return Err(format!(
                "max_forwards {} is outside 1-255",
                self.max_forwards
            ));
        }
        const IDENTIFIERS: [&str; 7] = [
            "ip",
            "username",
            "anonymous",
            "auth_username",
            "header",
            "request_uri",
            "line",
        ];
        for id in self.endpoint_identifier_order.iter() {
            if !IDENTIFIERS.contains(&&**id) {
                return Err(format!(
                    "endpoint_identifier_order names unknown identifier '{id}' (known: {})",
                    IDENTIFIERS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// SIP stack settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct System {
    /// Id (`system`) and extended fields.
    pub meta: Meta,
    /// T1, milliseconds (at least 100).
    pub timer_t1: u32,
    /// Timer B, milliseconds (raised to 64×T1 when lower).
    pub timer_b: u32,
    /// Write compact header names.
    pub compact_headers: bool,
    /// Worker pool start size.
    pub threadpool_initial_size: u32,
    /// Workers added when busy.
    pub threadpool_auto_increment: u32,
    /// Seconds before an idle worker stops.
    pub threadpool_idle_timeout: u32,
    /// Most workers.
    pub threadpool_max_size: u32,
    /// Fewest workers kept.
    pub taskpool_minimum_size: u32,
    /// Keep UDP when a request is larger than the MTU (RFC 3261 §18.1.1 switch off).
    pub disable_tcp_switch: bool,
    /// Follow forked early media.
    pub follow_early_media_fork: bool,
    /// Accept several SDP answers to one offer.
    pub accept_multiple_sdp_answers: bool,
    /// Do not add rport to Via.
    pub disable_rport: bool,
}

impl_tables!(System);

impl Object for System {
    const TYPE: &'static str = "system";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<System>] = &[
            opt!("timer_t1", "500", timer_t1),
            opt!("timer_b", "32000", timer_b),
            opt!("compact_headers", "no", compact_headers),
            opt!("threadpool_initial_size", "4", threadpool_initial_size),
            opt!("threadpool_auto_increment", "1", threadpool_auto_increment),
            opt!("threadpool_idle_timeout", "60", threadpool_idle_timeout),
            opt!("threadpool_max_size", "50", threadpool_max_size),
            // The newest Asterisk names; the same settings as threadpool_*.
            opt!("taskpool_initial_size", "", threadpool_initial_size),
            opt!("taskpool_auto_increment", "", threadpool_auto_increment),
            opt!("taskpool_idle_timeout", "", threadpool_idle_timeout),
            opt!("taskpool_max_size", "", threadpool_max_size),
            opt!("taskpool_minimum_size", "4", taskpool_minimum_size),
            opt!("disable_tcp_switch", "yes", disable_tcp_switch),
            opt!("follow_early_media_fork", "yes", follow_early_media_fork),
            opt!(
                "accept_multiple_sdp_answers",
                "no",
                accept_multiple_sdp_answers
            ),
            opt!("disable_rport", "no", disable_rport),
        ];
        OPTS
    }

    fn check(&mut self) -> Result<(), String> {
        if self.timer_t1 < 100 {
            return Err(format!(
                "timer_t1 {} is below the minimum of 100 ms",
                self.timer_t1
            ));
        }
        // As Asterisk does: timer B is never shorter than 64×T1.
        self.timer_b = self.timer_b.max(self.timer_t1.saturating_mul(64));
        Ok(())
    }
}
