//! `type=endpoint`: a phone, trunk or other peer and how calls with it behave
//! (spec §2.2).
//!
//! The fields that usually differ between endpoints (context, aors, auth, caller id,
//! …) are inline; the ~130 others live in [`EndpointSettings`] behind a shared
//! copy-on-write pointer, so endpoints stamped from one template share one copy.

use std::sync::Arc;

use crate::codecs::{self, Direction};
use crate::net::Acl;
use crate::object::{Meta, Object, Opt};
use crate::value::{FastSet, Lines, List, Shared, Text};
use crate::{acl_opts, choice, impl_tables, opt};

choice! {
    /// How requests are matched to an endpoint (`identify_by`).
    pub enum IdentifyBy {
        /// From user (and domain).
        Username = ["username"],
        /// Authorization username.
        AuthUsername = ["auth_username"],
        /// Source address (identify objects).
        Ip = ["ip"],
        /// A header (identify match_header).
        Header = ["header"],
        /// The request URI (identify match_request_uri).
        RequestUri = ["request_uri"],
    }
}

choice! {
    /// Method used to move media or update connected line.
    pub enum RefreshMethod {
        /// re-INVITE.
        Invite = ["invite", "reinvite"],
        /// UPDATE.
        Update = ["update"],
    }
}

choice! {
    /// Which side backs off when both re-INVITE for direct media.
    pub enum GlareMitigation {
        /// Neither.
        None = ["none"],
        /// Outgoing calls.
        Outgoing = ["outgoing"],
        /// Incoming calls.
        Incoming = ["incoming"],
    }
}

choice! {
    /// DTMF transport.
    pub enum DtmfMode {
        /// RFC 4733 telephone-event.
        Rfc4733 = ["rfc4733"],
        /// In the audio.
        Inband = ["inband"],
        /// SIP INFO.
        Info = ["info"],
        /// RFC 4733 if offered, else inband.
        Auto = ["auto"],
        /// RFC 4733 if offered, else INFO.
        AutoInfo = ["auto_info"],
        /// None.
        None = ["none"],
    }
}

choice! {
    /// Caller id presentation.
    pub enum CalleridPrivacy {
        /// Allowed, not screened.
        AllowedNotScreened = ["allowed_not_screened"],
        /// Allowed, passed screen.
        AllowedPassedScreen = ["allowed_passed_screen"],
        /// Allowed, failed screen.
        AllowedFailedScreen = ["allowed_failed_screen"],
        /// Allowed, network number.
        Allowed = ["allowed"],
        /// Prohibited, not screened.
        ProhibNotScreened = ["prohib_not_screened"],
        /// Prohibited, passed screen.
        ProhibPassedScreen = ["prohib_passed_screen"],
        /// Prohibited, failed screen.
        ProhibFailedScreen = ["prohib_failed_screen"],
        /// Prohibited, network number.
        Prohib = ["prohib"],
        /// Unavailable.
        Unavailable = ["unavailable"],
    }
}

choice! {
    /// How a 302 is followed.
    pub enum RedirectMethod {
        /// Dial the user part in the dialplan.
        User = ["user"],
        /// Dial the URI through the core.
        UriCore = ["uri_core"],
        /// Let the SIP stack follow it.
        UriPjsip = ["uri_pjsip"],
    }
}

choice! {
    /// Session timers (RFC 4028).
    pub enum Timers {
        /// Supported when the peer asks.
        Yes = ["yes"],
        /// Off.
        No = ["no"],
        /// Required.
        Required = ["required"],
        /// Always, even if the peer does not support them.
        Always = ["always", "forced"],
    }
}

choice! {
    /// Reliable provisional responses (RFC 3262).
    pub enum Rel100 {
        /// Supported.
        Yes = ["yes"],
        /// Off.
        No = ["no"],
        /// Required.
        Required = ["required"],
        /// Used only when the peer supports it.
        PeerSupported = ["peer_supported"],
    }
}

choice! {
    /// Media encryption.
    pub enum MediaEncryption {
        /// None.
        No = ["no"],
        /// SDES-SRTP.
        Sdes = ["sdes"],
        /// DTLS-SRTP.
        Dtls = ["dtls"],
    }
}

choice! {
    /// T.38 error correction.
    pub enum T38Ec {
        /// None.
        None = ["none"],
        /// Forward error correction.
        Fec = ["fec"],
        /// Redundancy.
        Redundancy = ["redundancy"],
    }
}

choice! {
    /// DTLS role.
    pub enum DtlsSetup {
        /// Active.
        Active = ["active"],
        /// Passive.
        Passive = ["passive"],
        /// Either.
        Actpass = ["actpass"],
    }
}

choice! {
    /// DTLS fingerprint hash.
    pub enum DtlsFingerprint {
        /// SHA-256.
        Sha256 = ["SHA-256"],
        /// SHA-1.
        Sha1 = ["SHA-1"],
    }
}

choice! {
    /// Codec preference for incoming offers.
    pub enum IncomingOfferPref {
        /// Ours, intersected.
        Local = ["local"],
        /// Ours, first match only.
        LocalFirst = ["local_first"],
        /// Theirs, intersected.
        Remote = ["remote"],
        /// Theirs, first match only.
        RemoteFirst = ["remote_first"],
    }
}

choice! {
    /// Codec preference for outgoing offers.
    pub enum OutgoingOfferPref {
        /// Theirs then ours.
        RemoteMerge = ["remote_merge"],
        /// Ours only.
        Local = ["local"],
        /// Ours then theirs.
        LocalMerge = ["local_merge"],
        /// Our first only.
        LocalFirst = ["local_first"],
        /// Theirs only.
        Remote = ["remote"],
        /// Their first only.
        RemoteFirst = ["remote_first"],
    }
}

choice! {
    /// STIR/SHAKEN (deprecated option).
    pub enum StirShaken {
        /// Off.
        Off = ["off", "no"],
        /// Attest outgoing.
        Attest = ["attest"],
        /// Verify incoming.
        Verify = ["verify"],
        /// Both.
        On = ["on", "yes"],
    }
}

choice! {
    /// Security agreement negotiation.
    pub enum SecurityNegotiation {
        /// None.
        No = ["no"],
        /// 3GPP media security.
        Mediasec = ["mediasec"],
    }
}

/// The ordered codec list from `allow`/`disallow` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Codecs(pub Vec<&'static str>);

/// Every endpoint setting that is usually the same across many endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each field is the option of the same name; see the spec §2.2
pub struct EndpointSettings {
    pub codecs: Codecs,
    pub codec_prefs_incoming_offer: Text,
    pub codec_prefs_outgoing_offer: Text,
    pub codec_prefs_incoming_answer: Text,
    pub codec_prefs_outgoing_answer: Text,
    pub incoming_call_offer_pref: IncomingOfferPref,
    pub outgoing_call_offer_pref: OutgoingOfferPref,
    pub preferred_codec_only: bool,
    pub allow_overlap: bool,
    pub overlap_context: Text,
    pub callerid_privacy: CalleridPrivacy,
    pub callerid_tag: Text,
    pub direct_media: bool,
    pub direct_media_method: RefreshMethod,
    pub trust_connected_line: bool,
    pub send_connected_line: bool,
    pub connected_line_method: RefreshMethod,
    pub direct_media_glare_mitigation: GlareMitigation,
    pub disable_direct_media_on_nat: bool,
    pub dtmf_mode: DtmfMode,
    pub media_address: Text,
    pub bind_rtp_to_media_address: bool,
    pub force_rport: bool,
    pub ice_support: bool,
    pub identify_by: List<IdentifyBy>,
    pub redirect_method: RedirectMethod,
    pub mwi_subscribe_replaces_unsolicited: bool,
    pub voicemail_extension: Text,
    pub moh_suggest: Text,
    pub rewrite_contact: bool,
    pub rtp_ipv6: bool,
    pub rtp_symmetric: bool,
    pub send_diversion: bool,
    pub send_history_info: bool,
    pub send_pai: bool,
    pub send_rpid: bool,
    pub rpid_immediate: bool,
    pub timers_min_se: u32,
    pub timers: Timers,
    pub timers_sess_expires: u32,
    pub trust_id_inbound: bool,
    pub trust_id_outbound: bool,
    pub use_ptime: bool,
    pub use_avpf: bool,
    pub force_avp: bool,
    pub media_use_received_transport: bool,
    pub media_encryption: MediaEncryption,
    pub media_encryption_optimistic: bool,
    pub g726_non_standard: bool,
    pub inband_progress: bool,
    pub call_group: Text,
    pub pickup_group: Text,
    pub named_call_group: Text,
    pub named_pickup_group: Text,
    pub device_state_busy_at: u32,
    pub t38_udptl: bool,
    pub t38_udptl_ec: T38Ec,
    pub t38_udptl_maxdatagram: u32,
    pub fax_detect: bool,
    pub fax_detect_timeout: u32,
    pub t38_udptl_nat: bool,
    pub t38_udptl_ipv6: bool,
    pub t38_bind_udptl_to_media_address: bool,
    pub tone_zone: Text,
    pub language: Text,
    pub one_touch_recording: bool,
    pub record_on_feature: Text,
    pub record_off_feature: Text,
    pub rtp_engine: Text,
    pub allow_transfer: bool,
    pub user_eq_phone: bool,
    pub moh_passthrough: bool,
    pub sdp_owner: Text,
    pub sdp_session: Text,
    pub tos_audio: Text,
    pub tos_video: Text,
    pub cos_audio: u32,
    pub cos_video: u32,
    pub allow_subscribe: bool,
    pub sub_min_expiry: u32,
    pub subscribe_context: Text,
    pub mwi_from_user: Text,
    pub dtls_verify: Text,
    pub dtls_rekey: u32,
    pub dtls_auto_generate_cert: bool,
    pub dtls_cert_file: Text,
    pub dtls_private_key: Text,
    pub dtls_cipher: Text,
    pub dtls_ca_file: Text,
    pub dtls_ca_path: Text,
    pub dtls_setup: DtlsSetup,
    pub dtls_fingerprint: DtlsFingerprint,
    pub srtp_tag_32: bool,
    pub message_context: Text,
    pub rtp_keepalive: u32,
    pub rtp_timeout: u32,
    pub rtp_timeout_hold: u32,
    pub rtp_port_start: u32,
    pub rtp_port_end: u32,
    pub acl: Acl,
    pub contact_acl: Acl,
    pub asymmetric_rtp_codec: bool,
    pub rtcp_mux: bool,
    pub refer_blind_progress: bool,
    pub notify_early_inuse_ringing: bool,
    pub max_audio_streams: u32,
    pub max_video_streams: u32,
    pub bundle: bool,
    pub webrtc: bool,
    pub incoming_mwi_mailbox: Text,
    pub follow_early_media_fork: bool,
    pub accept_multiple_sdp_answers: bool,
    pub suppress_q850_reason_headers: bool,
    pub ignore_183_without_sdp: bool,
    pub stir_shaken: StirShaken,
    pub stir_shaken_profile: Text,
    pub allow_unauthenticated_options: bool,
    pub geoloc_incoming_call_profile: Text,
    pub geoloc_outgoing_call_profile: Text,
    pub security_negotiation: SecurityNegotiation,
    pub security_mechanisms: Text,
    pub send_aoc: bool,
    pub rel100: Rel100,
    pub aggregate_mwi: bool,
    pub tenantid: Text,
    pub suppress_moh_on_sendonly: bool,
    pub external_media_address: Text,
    pub follow_redirect_methods: Text,
}

/// An endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Endpoint {
    /// Id and extended fields.
    pub meta: Meta,
    /// Dialplan context for calls from it.
    pub context: Text,
    /// Its AORs (each line replaces).
    pub aors: List<Text>,
    /// Inbound auths: non-empty means every request is challenged.
    pub auth: List<Text>,
    /// Credentials for challenges it sends us.
    pub outbound_auth: List<Text>,
    /// Force this transport for requests to it.
    pub transport: Text,
    /// Route requests through this proxy.
    pub outbound_proxy: Text,
    /// `"Name" <number>`.
    pub callerid: Text,
    /// User part of From on requests to it.
    pub from_user: Text,
    /// Domain of From on requests to it.
    pub from_domain: Text,
    /// User part of our Contact.
    pub contact_user: Text,
    /// Mailboxes for unsolicited MWI.
    pub mailboxes: Text,
    /// CDR account code.
    pub accountcode: Text,
    /// Channel variables set on its calls (`NAME=value`, one per line).
    pub set_var: Lines,
    /// Everything else.
    pub settings: Shared<EndpointSettings>,
}

impl_tables!(Endpoint);

fn show_codecs(list: &[&str], out: &mut String) {
    out.push('(');
    out.push_str(&list.join("|"));
    out.push(')');
}

impl Object for Endpoint {
    const TYPE: &'static str = "endpoint";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: std::sync::LazyLock<Vec<Opt<Endpoint>>> =
            std::sync::LazyLock::new(endpoint_options);
        &OPTS
    }

    fn share(objects: &mut [Self]) {
        let mut seen: FastSet<Arc<EndpointSettings>> = FastSet::default();
        for e in objects {
            match seen.get(&e.settings.0) {
                Some(same) => e.settings.0 = Arc::clone(same),
                None => {
                    seen.insert(Arc::clone(&e.settings.0));
                }
            }
        }
    }

    fn check(&mut self) -> Result<(), String> {
        let s = &self.settings;
        if s.timers_min_se < 90 {
            return Err(format!(
                "timers_min_se {} is below 90 seconds (RFC 4028)",
                s.timers_min_se
            ));
        }
        if s.timers_sess_expires < s.timers_min_se {
            return Err(format!(
                "timers_sess_expires {} is below timers_min_se {}",
                s.timers_sess_expires, s.timers_min_se
            ));
        }
        if (s.rtp_port_start == 0) != (s.rtp_port_end == 0) {
            return Err("rtp_port_start and rtp_port_end must be set together".into());
        }
        if s.rtp_port_start != 0
            && (s.rtp_port_start < 1024
                || s.rtp_port_end <= s.rtp_port_start
                || s.rtp_port_end > 65535)
        {
            return Err(format!(
                "RTP port range {}-{} must be within 1024-65535 with end above start",
                s.rtp_port_start, s.rtp_port_end
            ));
        }
        if !self.from_user.is_empty() {
            let ok = self
                .from_user
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/%".contains(&b));
            if !ok {
                return Err(format!(
                    "from_user '{}' has characters not allowed in a SIP URI user part",
                    self.from_user
                ));
            }
        }
        for line in self.set_var.iter() {
            if !line.contains('=') {
                return Err(format!("set_var '{line}' is not NAME=value"));
            }
        }
        if s.webrtc {
            // webrtc=yes turns on everything a browser needs (spec §2.2).
            let s = &mut *self.settings;
            s.bundle = true;
            s.rtcp_mux = true;
            s.use_avpf = true;
            s.ice_support = true;
            s.media_use_received_transport = true;
            s.media_encryption = MediaEncryption::Dtls;
            s.dtls_verify = "fingerprint".into();
            s.dtls_setup = DtlsSetup::Actpass;
            s.dtls_rekey = 0;
            if s.dtls_cert_file.is_empty() {
                s.dtls_auto_generate_cert = true;
            }
        }
        if self.settings.bundle {
            self.settings.rtcp_mux = true;
        }
        Ok(())
    }
}

fn endpoint_options() -> Vec<Opt<Endpoint>> {
    let mut v: Vec<Opt<Endpoint>> = vec![
        opt!("context", "default", context),
        Opt {
            name: "disallow",
            default: "",
            set: |o, v| codecs::apply(&mut o.settings.codecs.0, Direction::Disallow, v),
            show: |_, _| {},
            row: |_, _| {},
            accepted: |_| {
                format!("all, or codec names: {}", codecs::KNOWN_CODECS.join(", ")).into()
            },
        },
        Opt {
            name: "allow",
            default: "",
            set: |o, v| codecs::apply(&mut o.settings.codecs.0, Direction::Allow, v),
            show: |o, out| show_codecs(&o.settings.codecs.0, out),
            // A row stores the list as an allow line the loader reads back.
            row: |o, out| out.push(o.settings.codecs.0.join(",")),
            accepted: |_| {
                format!("all, or codec names: {}", codecs::KNOWN_CODECS.join(", ")).into()
            },
        },
        opt!(
            "codec_prefs_incoming_offer",
            "prefer: pending, operation: intersect, keep: all, transcode: allow",
            settings.codec_prefs_incoming_offer
        ),
        opt!(
            "codec_prefs_outgoing_offer",
            "prefer: pending, operation: union, keep: all, transcode: allow",
            settings.codec_prefs_outgoing_offer
        ),
        opt!(
            "codec_prefs_incoming_answer",
            "prefer: pending, operation: intersect, keep: all",
            settings.codec_prefs_incoming_answer
        ),
        opt!(
            "codec_prefs_outgoing_answer",
            "prefer: pending, operation: intersect, keep: all",
            settings.codec_prefs_outgoing_answer
        ),
        opt!(
            "incoming_call_offer_pref",
            "local",
            settings.incoming_call_offer_pref
        ),
        opt!(
            "outgoing_call_offer_pref",
            "remote_merge",
            settings.outgoing_call_offer_pref
        ),
        opt!("preferred_codec_only", "no", settings.preferred_codec_only),
        opt!("allow_overlap", "yes", settings.allow_overlap),
        opt!("overlap_context", "", settings.overlap_context),
        opt!("aors", "", aors),
        opt!("auth", "", auth),
        opt!("callerid", "", callerid),
        opt!(
            "callerid_privacy",
            "allowed_not_screened",
            settings.callerid_privacy
        ),
        opt!("callerid_tag", "", settings.callerid_tag),
        opt!("direct_media", "yes", settings.direct_media),
        opt!(
            "direct_media_method",
            "invite",
            settings.direct_media_method
        ),
        opt!("trust_connected_line", "yes", settings.trust_connected_line),
        opt!("send_connected_line", "yes", settings.send_connected_line),
        opt!(
            "connected_line_method",
            "invite",
            settings.connected_line_method
        ),
        opt!(
            "direct_media_glare_mitigation",
            "none",
            settings.direct_media_glare_mitigation
        ),
        opt!(
            "disable_direct_media_on_nat",
            "no",
            settings.disable_direct_media_on_nat
        ),
        opt!("dtmf_mode", "rfc4733", settings.dtmf_mode),
        opt!("media_address", "", settings.media_address),
        opt!(
            "bind_rtp_to_media_address",
            "no",
            settings.bind_rtp_to_media_address
        ),
        opt!("force_rport", "yes", settings.force_rport),
        opt!("ice_support", "no", settings.ice_support),
        opt!("identify_by", "username,ip", settings.identify_by),
        opt!("redirect_method", "user", settings.redirect_method),
        opt!("mailboxes", "", mailboxes),
        opt!(
            "mwi_subscribe_replaces_unsolicited",
            "no",
            settings.mwi_subscribe_replaces_unsolicited
        ),
        opt!("voicemail_extension", "", settings.voicemail_extension),
        opt!("moh_suggest", "default", settings.moh_suggest),
        opt!("outbound_auth", "", outbound_auth),
        opt!("outbound_proxy", "", outbound_proxy),
        opt!("rewrite_contact", "no", settings.rewrite_contact),
        opt!("rtp_ipv6", "no", settings.rtp_ipv6),
        opt!("rtp_symmetric", "no", settings.rtp_symmetric),
        opt!("send_diversion", "yes", settings.send_diversion),
        opt!("send_history_info", "no", settings.send_history_info),
        opt!("send_pai", "no", settings.send_pai),
        opt!("send_rpid", "no", settings.send_rpid),
        opt!("rpid_immediate", "no", settings.rpid_immediate),
        opt!("timers_min_se", "90", settings.timers_min_se),
        opt!("timers", "yes", settings.timers),
        opt!("timers_sess_expires", "1800", settings.timers_sess_expires),
        opt!("transport", "", transport),
        opt!("trust_id_inbound", "no", settings.trust_id_inbound),
        opt!("trust_id_outbound", "no", settings.trust_id_outbound),
        opt!("use_ptime", "no", settings.use_ptime),
        opt!("use_avpf", "no", settings.use_avpf),
        opt!("force_avp", "no", settings.force_avp),
        opt!(
            "media_use_received_transport",
            "no",
            settings.media_use_received_transport
        ),
        opt!("media_encryption", "no", settings.media_encryption),
        opt!(
            "media_encryption_optimistic",
            "no",
            settings.media_encryption_optimistic
        ),
        opt!("g726_non_standard", "no", settings.g726_non_standard),
        opt!("inband_progress", "no", settings.inband_progress),
        opt!("call_group", "", settings.call_group),
        opt!("pickup_group", "", settings.pickup_group),
        opt!("named_call_group", "", settings.named_call_group),
        opt!("named_pickup_group", "", settings.named_pickup_group),
        opt!("device_state_busy_at", "0", settings.device_state_busy_at),
        opt!("t38_udptl", "no", settings.t38_udptl),
        opt!("t38_udptl_ec", "none", settings.t38_udptl_ec),
        opt!("t38_udptl_maxdatagram", "0", settings.t38_udptl_maxdatagram),
        opt!("fax_detect", "no", settings.fax_detect),
        opt!("fax_detect_timeout", "0", settings.fax_detect_timeout),
        opt!("t38_udptl_nat", "no", settings.t38_udptl_nat),
        opt!("t38_udptl_ipv6", "no", settings.t38_udptl_ipv6),
        opt!(
            "t38_bind_udptl_to_media_address",
            "no",
            settings.t38_bind_udptl_to_media_address
        ),
        opt!("tone_zone", "", settings.tone_zone),
        opt!("language", "", settings.language),
        opt!("one_touch_recording", "no", settings.one_touch_recording),
        opt!(
            "record_on_feature",
            "automixmon",
            settings.record_on_feature
        ),
        opt!(
            "record_off_feature",
            "automixmon",
            settings.record_off_feature
        ),
        opt!("rtp_engine", "asterisk", settings.rtp_engine),
        opt!("allow_transfer", "yes", settings.allow_transfer),
        opt!("user_eq_phone", "no", settings.user_eq_phone),
        opt!("moh_passthrough", "no", settings.moh_passthrough),
        opt!("sdp_owner", "-", settings.sdp_owner),
        opt!("sdp_session", "Asterisk", settings.sdp_session),
        opt!("tos_audio", "0", settings.tos_audio),
        opt!("tos_video", "0", settings.tos_video),
        opt!("cos_audio", "0", settings.cos_audio),
        opt!("cos_video", "0", settings.cos_video),
        opt!("allow_subscribe", "yes", settings.allow_subscribe),
        opt!("sub_min_expiry", "0", settings.sub_min_expiry),
        opt!("from_user", "", from_user),
        opt!("mwi_from_user", "", settings.mwi_from_user),
        opt!("from_domain", "", from_domain),
        opt!("dtls_verify", "no", settings.dtls_verify),
        opt!("dtls_rekey", "0", settings.dtls_rekey),
        opt!(
            "dtls_auto_generate_cert",
            "no",
            settings.dtls_auto_generate_cert
        ),
        opt!("dtls_cert_file", "", settings.dtls_cert_file),
        opt!("dtls_private_key", "", settings.dtls_private_key),
        opt!("dtls_cipher", "", settings.dtls_cipher),
        opt!("dtls_ca_file", "", settings.dtls_ca_file),
        opt!("dtls_ca_path", "", settings.dtls_ca_path),
        opt!("dtls_setup", "active", settings.dtls_setup),
        opt!("dtls_fingerprint", "SHA-256", settings.dtls_fingerprint),
        opt!("srtp_tag_32", "no", settings.srtp_tag_32),
        opt!("set_var", "", set_var),
        opt!("message_context", "", settings.message_context),
        opt!("accountcode", "", accountcode),
        opt!("rtp_keepalive", "0", settings.rtp_keepalive),
        opt!("rtp_timeout", "0", settings.rtp_timeout),
        opt!("rtp_timeout_hold", "0", settings.rtp_timeout_hold),
        opt!("rtp_port_start", "0", settings.rtp_port_start),
        opt!("rtp_port_end", "0", settings.rtp_port_end),
        opt!("subscribe_context", "", settings.subscribe_context),
        opt!("contact_user", "", contact_user),
        opt!("asymmetric_rtp_codec", "no", settings.asymmetric_rtp_codec),
        opt!("rtcp_mux", "no", settings.rtcp_mux),
        opt!("refer_blind_progress", "yes", settings.refer_blind_progress),
        opt!(
            "notify_early_inuse_ringing",
            "no",
            settings.notify_early_inuse_ringing
        ),
        opt!("max_audio_streams", "1", settings.max_audio_streams),
        opt!("max_video_streams", "1", settings.max_video_streams),
        opt!("bundle", "no", settings.bundle),
        opt!("webrtc", "no", settings.webrtc),
        opt!("incoming_mwi_mailbox", "", settings.incoming_mwi_mailbox),
        opt!(
            "follow_early_media_fork",
            "yes",
            settings.follow_early_media_fork
        ),
        opt!(
            "accept_multiple_sdp_answers",
            "no",
            settings.accept_multiple_sdp_answers
        ),
        opt!(
            "suppress_q850_reason_headers",
            "no",
            settings.suppress_q850_reason_headers
        ),
        opt!(
            "ignore_183_without_sdp",
            "no",
            settings.ignore_183_without_sdp
        ),
        opt!("stir_shaken", "off", settings.stir_shaken),
        opt!("stir_shaken_profile", "", settings.stir_shaken_profile),
        opt!(
            "allow_unauthenticated_options",
            "no",
            settings.allow_unauthenticated_options
        ),
        opt!(
            "geoloc_incoming_call_profile",
            "",
            settings.geoloc_incoming_call_profile
        ),
        opt!(
            "geoloc_outgoing_call_profile",
            "",
            settings.geoloc_outgoing_call_profile
        ),
        opt!("security_negotiation", "no", settings.security_negotiation),
        opt!("security_mechanisms", "", settings.security_mechanisms),
        opt!("send_aoc", "no", settings.send_aoc),
        opt!("100rel", "yes", settings.rel100),
        opt!("aggregate_mwi", "yes", settings.aggregate_mwi),
        opt!("tenantid", "", settings.tenantid),
        opt!(
            "suppress_moh_on_sendonly",
            "no",
            settings.suppress_moh_on_sendonly
        ),
        opt!(
            "external_media_address",
            "",
            settings.external_media_address
        ),
        opt!(
            "follow_redirect_methods",
            "",
            settings.follow_redirect_methods
        ),
    ];
    v.extend(acl_opts!(Endpoint, "", settings.acl));
    v.extend(acl_opts!(Endpoint, "contact_", settings.contact_acl));
    v
}
