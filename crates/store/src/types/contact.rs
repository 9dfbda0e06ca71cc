//! `type=contact`: a binding, made by the registrar or from an aor's static `contact`
//! (spec §2.4).

use crate::object::{Meta, Object, Opt};
use crate::value::Text;
use crate::{impl_tables, opt};

/// One contact of an AOR.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contact {
    /// Id (`<aor>;@<hash>` when registered, `<aor>@@<hash>` when static).
    pub meta: Meta,
    /// Where requests go.
    pub uri: Text,
    /// When it expires, UNIX seconds (0 for static contacts).
    pub expiration_time: u64,
    /// Copied from the aor when the contact was made.
    pub qualify_frequency: u32,
    /// Copied from the aor when the contact was made.
    pub qualify_timeout: f64,
    /// Copied from the aor when the contact was made.
    pub qualify_2xx_only: bool,
    /// Copied from the aor when the contact was made.
    pub authenticate_qualify: bool,
    /// Copied from the aor when the contact was made.
    pub outbound_proxy: Text,
    /// The Path header values, comma-separated (RFC 3327).
    pub path: Text,
    /// The registering User-Agent.
    pub user_agent: Text,
    /// The server that accepted the registration.
    pub reg_server: Text,
    /// Top Via address of the REGISTER.
    pub via_addr: Text,
    /// Top Via port of the REGISTER.
    pub via_port: u16,
    /// Call-ID of the REGISTER.
    pub call_id: Text,
    /// The endpoint that registered it.
    pub endpoint: Text,
    /// Remove at start instead of reloading.
    pub prune_on_boot: bool,
}

impl_tables!(Contact);

impl Object for Contact {
    const TYPE: &'static str = "contact";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<Contact>] = &[
            opt!("uri", "", uri),
            opt!("expiration_time", "0", expiration_time),
            opt!("qualify_frequency", "0", qualify_frequency),
            opt!("qualify_timeout", "3.0", qualify_timeout),
            opt!("qualify_2xx_only", "no", qualify_2xx_only),
            opt!("authenticate_qualify", "no", authenticate_qualify),
            opt!("outbound_proxy", "", outbound_proxy),
            opt!("path", "", path),
            opt!("user_agent", "", user_agent),
            opt!("reg_server", "", reg_server),
            opt!("via_addr", "", via_addr),
            opt!("via_port", "0", via_port),
            opt!("call_id", "", call_id),
            opt!("endpoint", "", endpoint),
            opt!("prune_on_boot", "no", prune_on_boot),
        ];
        OPTS
    }

    fn check(&mut self) -> Result<(), String> {
        if self.uri.is_empty() {
            return Err("a contact needs a uri".into());
        }
        Ok(())
    }
}

impl Contact {
    /// The AOR this contact belongs to, from its id.
    pub fn aor(&self) -> &str {
        let id = &*self.meta.id;
        id.find(";@")
            .or_else(|| id.find("@@"))
            .map_or(id, |i| &id[..i])
    }
}
