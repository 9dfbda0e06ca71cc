//! `type=aor`: where an endpoint can be reached (spec §2.3).

use crate::object::{Meta, Object, Opt};
use crate::value::{Accum, Text};
use crate::{impl_tables, opt};

/// An address of record: its registration rules and static contacts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aor {
    /// Id and extended fields.
    pub meta: Meta,
    /// Static contact URIs (accumulate).
    pub contact: Accum<Text>,
    /// Most contacts at once; 0 forbids registration (403), it does not mean unlimited.
    pub max_contacts: u32,
    /// Replace the oldest contact instead of refusing when full.
    pub remove_existing: bool,
    /// Replace unreachable contacts first when full.
    pub remove_unavailable: bool,
    /// Shortest registration granted, seconds.
    pub minimum_expiration: u32,
    /// Longest registration granted, seconds.
    pub maximum_expiration: u32,
    /// Registration length when the request gives none, seconds.
    pub default_expiration: u32,
    /// OPTIONS qualify period, seconds (0 = off; at most 86400).
    pub qualify_frequency: u32,
    /// How long a qualify waits, seconds.
    pub qualify_timeout: f64,
    /// Only a 2xx to a qualify counts as reachable.
    pub qualify_2xx_only: bool,
    /// Answer qualify challenges.
    pub authenticate_qualify: bool,
    /// Mailboxes for solicited MWI.
    pub mailboxes: Text,
    /// Voicemail extension offered in MWI.
    pub voicemail_extension: Text,
    /// Proxy copied into new contacts.
    pub outbound_proxy: Text,
    /// Honour Path on REGISTER (RFC 3327).
    pub support_path: bool,
}

impl_tables!(Aor);

impl Object for Aor {
    const TYPE: &'static str = "aor";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<Aor>] = &[
            opt!("contact", "", contact),
            opt!("max_contacts", "0", max_contacts),
            opt!("remove_existing", "no", remove_existing),
            opt!("remove_unavailable", "no", remove_unavailable),
            opt!("minimum_expiration", "60", minimum_expiration),
            opt!("maximum_expiration", "7200", maximum_expiration),
            opt!("default_expiration", "3600", default_expiration),
            opt!("qualify_frequency", "0", qualify_frequency),
            opt!("qualify_timeout", "3.0", qualify_timeout),
            opt!("qualify_2xx_only", "no", qualify_2xx_only),
            opt!("authenticate_qualify", "no", authenticate_qualify),
            opt!("mailboxes", "", mailboxes),
            opt!("voicemail_extension", "", voicemail_extension),
            opt!("outbound_proxy", "", outbound_proxy),
            opt!("support_path", "no", support_path),
        ];
        OPTS
    }

    fn check(&mut self) -> Result<(), String> {
        if self.qualify_frequency > 86_400 {
            return Err(format!(
                "qualify_frequency {} is above the maximum of 86400 seconds",
                self.qualify_frequency
            ));
        }
        if self.qualify_timeout < 0.0 {
            return Err("qualify_timeout must not be negative".into());
        }
        for c in self.contact.iter() {
            let lower = c.to_ascii_lowercase();
            if !(lower.starts_with("sip:") || lower.starts_with("sips:")) {
                return Err(format!("contact '{c}' is not a sip: or sips: URI"));
            }
            if c.len() > 511 {
                return Err(format!("contact '{c}' is longer than 511 characters"));
            }
        }
        Ok(())
    }
}
