//! One binding as the location service keeps it in memory: the parts of a `Contact`
//! record packed so that a million of them fit the 500-bytes-per-contact budget.
//!
//! The per-contact strings (URI, Call-ID, Via address, Path, and the id when it is not
//! the canonical `<aor>;@<md5(uri)>`) share one heap buffer with their ends recorded, so
//! they cost one allocation instead of five. The strings many contacts have in common
//! (endpoint, User-Agent, reg_server, outbound_proxy) are `Arc<str>`s interned per shard.
//! The qualify settings copied from the AOR are kept as integers and flags.

use std::sync::Arc;

use sorcery::object::Meta;
use sorcery::types::Contact;
use sorcery::value::Text;

use crate::contact_id::dynamic_contact_id;
use crate::status::ContactStatus;

const QUALIFY_2XX_ONLY: u8 = 1;
const AUTHENTICATE_QUALIFY: u8 = 2;
const PRUNE_ON_BOOT: u8 = 4;
/// The endpoint is named like the AOR (the usual `[101]` endpoint + `[101]` aor), so
/// the name is not stored twice.
const ENDPOINT_IS_AOR: u8 = 8;

#[derive(Debug, Clone)]
pub(crate) struct Binding {
    /// uri | call_id | via_addr | path | explicit id (empty when canonical).
    text: Box<str>,
    ends: [u32; 4],
    pub(crate) expires_at: u64,
    endpoint: Option<Arc<str>>,
    user_agent: Option<Arc<str>>,
    reg_server: Option<Arc<str>>,
    outbound_proxy: Option<Arc<str>>,
    qualify_frequency: u32,
    /// `qualify_timeout` in milliseconds (configuration gives at most a few decimals).
    qualify_timeout_ms: u32,
    via_port: u16,
    flags: u8,
    status: u8,
    /// The shard's slot of the connection this binding dies with (a `prune_on_boot`
    /// contact registered over it), 0 when none: see `Bound` in the parent module. A
    /// `u32` fits the padding the other fields leave, so unbound contacts pay nothing.
    pub(crate) slot: u32,
}

/// Turns shared strings into one `Arc<str>` per distinct value (per shard).
pub(crate) trait Interner {
    fn intern(&mut self, s: &str) -> Option<Arc<str>>;
}

impl Binding {
    pub(crate) fn new(
        aor: &str,
        c: &Contact,
        status: ContactStatus,
        interner: &mut impl Interner,
    ) -> Binding {
        let canonical = dynamic_contact_id(aor, &c.uri) == c.meta.id.as_str();
        let id = if canonical { "" } else { c.meta.id.as_str() };
        let parts = [
            c.uri.as_str(),
            c.call_id.as_str(),
            c.via_addr.as_str(),
            c.path.as_str(),
            id,
        ];
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0u32; 4];
        for (i, p) in parts.iter().enumerate() {
            text.push_str(p);
            if i < 4 {
                ends[i] = u32::try_from(text.len()).unwrap_or(u32::MAX);
            }
        }
        let mut flags = 0;
        if c.qualify_2xx_only {
            flags |= QUALIFY_2XX_ONLY;
        }
        if c.authenticate_qualify {
            flags |= AUTHENTICATE_QUALIFY;
        }
        if c.prune_on_boot {
            flags |= PRUNE_ON_BOOT;
        }
        let endpoint = if c.endpoint.as_str() == aor && !aor.is_empty() {
            flags |= ENDPOINT_IS_AOR;
            None
        } else {
            interner.intern(&c.endpoint)
        };
        let timeout_ms = (c.qualify_timeout * 1000.0).round();
        Binding {
            text: text.into_boxed_str(),
            ends,
            expires_at: c.expiration_time,
            endpoint,
            user_agent: interner.intern(&c.user_agent),
            reg_server: interner.intern(&c.reg_server),
            outbound_proxy: interner.intern(&c.outbound_proxy),
            qualify_frequency: c.qualify_frequency,
            qualify_timeout_ms: if timeout_ms.is_finite() && timeout_ms > 0.0 {
                timeout_ms.min(f64::from(u32::MAX)) as u32
            } else {
                0
            },
            via_port: c.via_port,
            flags,
            status: status as u8,
            slot: 0,
        }
    }

    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = if i < 4 {
            self.ends[i] as usize
        } else {
            self.text.len()
        };
        self.text.get(start..end).unwrap_or("")
    }

    pub(crate) fn uri(&self) -> &str {
        self.part(0)
    }

    /// The contact's id: the canonical one unless an explicit one was stored.
    pub(crate) fn id(&self, aor: &str) -> String {
        match self.part(4) {
            "" => dynamic_contact_id(aor, self.uri()),
            id => id.to_owned(),
        }
    }

    pub(crate) fn status(&self) -> ContactStatus {
        ContactStatus::from_u8(self.status)
    }

    pub(crate) fn prune_on_boot(&self) -> bool {
        self.flags & PRUNE_ON_BOOT != 0
    }

    pub(crate) fn set_status(&mut self, s: ContactStatus) {
        self.status = s as u8;
    }

    /// The shared strings this binding holds, for releasing them from the interner.
    pub(crate) fn shared(&self) -> [&Option<Arc<str>>; 4] {
        [
            &self.endpoint,
            &self.user_agent,
            &self.reg_server,
            &self.outbound_proxy,
        ]
    }

    /// The full record again.
    pub(crate) fn to_contact(&self, aor: &str) -> Contact {
        let text = |s: &Option<Arc<str>>| s.as_deref().map(Text::from).unwrap_or_default();
        Contact {
            meta: Meta {
                id: Text::from(self.id(aor)),
                ..Meta::default()
            },
            uri: Text::from(self.uri()),
            expiration_time: self.expires_at,
            qualify_frequency: self.qualify_frequency,
            qualify_timeout: f64::from(self.qualify_timeout_ms) / 1000.0,
            qualify_2xx_only: self.flags & QUALIFY_2XX_ONLY != 0,
            authenticate_qualify: self.flags & AUTHENTICATE_QUALIFY != 0,
            outbound_proxy: text(&self.outbound_proxy),
            path: Text::from(self.part(3)),
            user_agent: text(&self.user_agent),
            reg_server: text(&self.reg_server),
            via_addr: Text::from(self.part(2)),
            via_port: self.via_port,
            call_id: Text::from(self.part(1)),
            endpoint: if self.flags & ENDPOINT_IS_AOR != 0 {
                Text::from(aor)
            } else {
                text(&self.endpoint)
            },
            prune_on_boot: self.flags & PRUNE_ON_BOOT != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Binding;

    /// The connection slot must stay in what was padding: a binding per contact is the
    /// bulk of the location's memory (docs/registrar.md, `tests/memory.rs`).
    #[test]
    fn a_binding_is_120_bytes() {
        assert_eq!(std::mem::size_of::<Binding>(), 120);
    }
}
