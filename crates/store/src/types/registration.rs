//! `type=registration`: an outbound registration to a provider (spec §2.7, §9).

use crate::object::{Meta, Object, Opt};
use crate::value::{List, Text};
use crate::{choice, impl_tables, opt};

choice! {
    /// Security agreement (RFC 3329) negotiation.
    pub enum SecurityNegotiation {
        /// None.
        No = ["no"],
        /// 3GPP TS 24.229 media security.
        Mediasec = ["mediasec"],
    }
}

/// One outbound registration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registration {
    /// Id and extended fields.
    pub meta: Meta,
    /// The registrar (Request-URI), sip: or sips:.
    pub server_uri: Text,
    /// The AOR registered (To and From), sip: or sips:.
    pub client_uri: Text,
    /// User part of our Contact (empty: `s`).
    pub contact_user: Text,
    /// Parameters written after `>` in the Contact.
    pub contact_header_params: Text,
    /// Requested expiry, seconds.
    pub expiration: u32,
    /// Seconds between retries after a temporary failure.
    pub retry_interval: u32,
    /// Seconds before retrying after 403 (0: give up).
    pub forbidden_retry_interval: u32,
    /// Seconds before retrying after a fatal response (0: give up).
    pub fatal_retry_interval: u32,
    /// Retries before giving up.
    pub max_retries: u32,
    /// A 401/407 after sending credentials is permanent.
    pub auth_rejection_permanent: bool,
    /// Upper bound of the random delay before the first REGISTER, seconds.
    pub max_random_initial_delay: u32,
    /// Credentials for challenges (each line replaces).
    pub outbound_auth: List<Text>,
    /// Route the REGISTER through this proxy.
    pub outbound_proxy: Text,
    /// The transport to send on.
    pub transport: Text,
    /// User-Agent for this registration.
    pub user_agent: Text,
    /// Add a `line` parameter to identify inbound requests.
    pub line: bool,
    /// The endpoint requests carrying the line belong to.
    pub endpoint: Text,
    /// Send `Supported: path`.
    pub support_path: bool,
    /// RFC 5626 outbound.
    pub support_outbound: bool,
    /// Security agreement.
    pub security_negotiation: SecurityNegotiation,
    /// Security mechanisms offered.
    pub security_mechanisms: Text,
}

impl_tables!(Registration);

impl Object for Registration {
    const TYPE: &'static str = "registration";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<Registration>] = &[
            opt!("server_uri", "", server_uri),
            opt!("client_uri", "", client_uri),
            opt!("contact_user", "", contact_user),
            opt!("contact_header_params", "", contact_header_params),
            opt!("expiration", "3600", expiration),
            opt!("retry_interval", "60", retry_interval),
            opt!("forbidden_retry_interval", "0", forbidden_retry_interval),
            opt!("fatal_retry_interval", "0", fatal_retry_interval),
            opt!("max_retries", "10", max_retries),
            opt!("auth_rejection_permanent", "yes", auth_rejection_permanent),
            opt!("max_random_initial_delay", "10", max_random_initial_delay),
            opt!("outbound_auth", "", outbound_auth),
            opt!("outbound_proxy", "", outbound_proxy),
            opt!("transport", "", transport),
            opt!("user_agent", "", user_agent),
            opt!("line", "no", line),
            opt!("endpoint", "", endpoint),
            opt!("support_path", "no", support_path),
            opt!("support_outbound", "no", support_outbound),
            opt!("security_negotiation", "no", security_negotiation),
            opt!("security_mechanisms", "", security_mechanisms),
        ];
        OPTS
    }

    fn check(&mut self) -> Result<(), String> {
        for (name, v) in [
            ("server_uri", &self.server_uri),
            ("client_uri", &self.client_uri),
        ] {
            if v.is_empty() {
                return Err(format!("{name} is required"));
            }
            let lower = v.to_ascii_lowercase();
            if !(lower.starts_with("sip:") || lower.starts_with("sips:")) || v.len() <= 4 {
                return Err(format!("{name} '{v}' is not a sip: or sips: URI"));
            }
        }
        if self.line && self.endpoint.is_empty() {
            return Err("line=yes needs endpoint".into());
        }
        Ok(())
    }
}
