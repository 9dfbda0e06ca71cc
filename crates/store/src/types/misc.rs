//! Small types: `domain_alias`, `acl`, `resource_list`, `phoneprov` (spec §2.8).

use crate::net::Acl;
use crate::object::{Meta, Object, Opt};
use crate::value::{Accum, Text};
use crate::{acl_opts, impl_tables, opt};

/// Another name for a domain: the section name is the alias.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DomainAlias {
    /// Id (the alias) and extended fields.
    pub meta: Meta,
    /// The canonical domain.
    pub domain: Text,
}

impl_tables!(DomainAlias);

impl Object for DomainAlias {
    const TYPE: &'static str = "domain_alias";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<DomainAlias>] = &[opt!("domain", "", domain)];
        OPTS
    }
    fn check(&mut self) -> Result<(), String> {
        if self.domain.is_empty() {
            return Err("domain is required".into());
        }
        Ok(())
    }
}

/// A global access list checked on every request before anything else (403 on
/// failure).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AclObject {
    /// Id and extended fields.
    pub meta: Meta,
    /// Rules on the source address.
    pub source: Acl,
    /// Rules on the Contact host.
    pub contact: Acl,
}

impl_tables!(AclObject);

impl Object for AclObject {
    const TYPE: &'static str = "acl";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: std::sync::LazyLock<Vec<Opt<AclObject>>> = std::sync::LazyLock::new(|| {
            let mut v = Vec::new();
            v.extend(acl_opts!(AclObject, "", source));
            v.extend(acl_opts!(AclObject, "contact_", contact));
            v
        });
        &OPTS
    }
}

/// A resource list (RFC 4662) a subscriber can subscribe to as one resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceList {
    /// Id (the list's URI user part) and extended fields.
    pub meta: Meta,
    /// The event package (required).
    pub event: Text,
    /// Members (accumulate).
    pub list_item: Accum<Text>,
    /// Send full state in every NOTIFY.
    pub full_state: bool,
    /// Batch notifications for this many milliseconds.
    pub notification_batch_interval: u32,
    /// Put display names in the RLMI body.
    pub resource_display_name: bool,
}

impl_tables!(ResourceList);

impl Object for ResourceList {
    const TYPE: &'static str = "resource_list";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<ResourceList>] = &[
            opt!("event", "", event),
            opt!("list_item", "", list_item),
            opt!("full_state", "no", full_state),
            opt!(
                "notification_batch_interval",
                "0",
                notification_batch_interval
            ),
            opt!("resource_display_name", "no", resource_display_name),
        ];
        OPTS
    }
    fn check(&mut self) -> Result<(), String> {
        if self.event.is_empty() {
            return Err("event is required".into());
        }
        Ok(())
    }
}

/// Phone provisioning data for one endpoint: `MAC`, `PROFILE` and free variables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhoneProv {
    /// Id and extended fields.
    pub meta: Meta,
    /// The endpoint provisioned.
    pub endpoint: Text,
    /// The phone's MAC address (required).
    pub mac: Text,
    /// The phoneprov profile (required).
    pub profile: Text,
    /// Every other `NAME=value`, in order.
    pub variables: Vec<(Text, Text)>,
}

impl_tables!(PhoneProv);

impl Object for PhoneProv {
    const TYPE: &'static str = "phoneprov";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<PhoneProv>] = &[
            opt!("endpoint", "", endpoint),
            opt!("MAC", "", mac),
            opt!("PROFILE", "", profile),
        ];
        OPTS
    }
    fn other_option(&mut self, name: &str, value: &str) -> bool {
        match self.variables.iter_mut().find(|(n, _)| &**n == name) {
            Some(slot) => slot.1 = value.into(),
            None => self.variables.push((name.into(), value.into())),
        }
        true
    }
    fn check(&mut self) -> Result<(), String> {
        if self.mac.is_empty() {
            return Err("MAC is required".into());
        }
        if self.profile.is_empty() {
            return Err("PROFILE is required".into());
        }
        Ok(())
    }
}
