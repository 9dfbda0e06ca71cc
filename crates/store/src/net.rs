//! Network values in options: address ranges (`local_net`, `permit`, identify `match`)
//! and ordered permit/deny lists.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::value::{OptValue, Text};

/// An address range: `192.0.2.0/24`, `192.0.2.0/255.255.255.0`, `2001:db8::/32`, or a
/// single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    /// The network address (host bits cleared).
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl IpNet {
    /// Whether `ip` is inside the range (an IPv4 address never matches an IPv6 range
    /// and the other way round, except IPv4-mapped IPv6 addresses, which match as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => mask32(u32::from(a), self.prefix) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => mask128(u128::from(a), self.prefix) == u128::from(n),
            _ => false,
        }
    }
}

fn mask32(v: u32, prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        v & (u32::MAX << (32 - u32::from(prefix)))
    }
}

fn mask128(v: u128, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        v & (u128::MAX << (128 - u32::from(prefix)))
    }
}

fn parse_addr(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(t);
    t.parse().ok()
}

impl OptValue for IpNet {
    fn accepted() -> Cow<'static, str> {
        "an IP address, address/prefix or address/netmask".into()
    }
    fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not an address range");
        let (addr, mask) = match text.trim().split_once('/') {
            Some((a, m)) => (a, Some(m.trim())),
            None => (text, None),
        };
        let addr = parse_addr(addr).ok_or_else(bad)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match mask {
            None => max,
            Some(m) => match m.parse::<u8>() {
                Ok(p) if p <= max => p,
                Ok(_) => return Err(bad()),
                Err(_) => {
                    let IpAddr::V4(mask) = parse_addr(m).ok_or_else(bad)? else {
                        return Err(bad());
                    };
                    let bits = u32::from(mask);
                    if bits.leading_ones() + bits.trailing_zeros() != 32 || !addr.is_ipv4() {
                        return Err(format!("'{m}' is not a contiguous netmask"));
                    }
                    bits.leading_ones() as u8
                }
            },
        };
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(mask32(u32::from(a), prefix).into()),
            IpAddr::V6(a) => IpAddr::V6(mask128(u128::from(a), prefix).into()),
        };
        Ok(IpNet { addr, prefix })
    }
    fn show(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = write!(out, "{}/{}", self.addr, self.prefix);
    }
}

/// One permit/deny rule, or a reference to a named ACL (acl.conf).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AclRule {
    /// `permit=`
    Permit(IpNet),
    /// `deny=`
    Deny(IpNet),
    /// `acl=` (a named list in acl.conf)
    Named(Text),
}

/// An ordered access list: rules apply in order and the last matching one decides;
/// no match means allowed (Asterisk's semantics).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Acl(pub Box<[AclRule]>);

impl Acl {
    /// Whether the list has no rules (then everything is allowed).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds the rules of one `permit`/`deny` line (a comma list of ranges).
    pub fn add(&mut self, permit: bool, value: &str) -> Result<(), String> {
        let nets = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(IpNet::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let mut rules = std::mem::take(&mut self.0).into_vec();
        rules.extend(nets.into_iter().map(|n| {
            if permit {
                AclRule::Permit(n)
            } else {
                AclRule::Deny(n)
            }
        }));
        self.0 = rules.into_boxed_slice();
        Ok(())
    }

    /// Adds named ACL references from one `acl=` line.
    pub fn add_named(&mut self, value: &str) {
        let mut rules = std::mem::take(&mut self.0).into_vec();
        rules.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| AclRule::Named(s.into())),
        );
        self.0 = rules.into_boxed_slice();
    }

    /// Writes the rules of one kind, for `pjsip show` and realtime columns.
    pub fn show(&self, out: &mut String, kind: AclKind) {
        let mut first = true;
        for r in self.0.iter() {
            let item = match (r, kind) {
                (AclRule::Permit(n), AclKind::Permit) | (AclRule::Deny(n), AclKind::Deny) => {
                    let mut s = String::new();
                    n.show(&mut s);
                    s
                }
                (AclRule::Named(n), AclKind::Named) => n.to_string(),
                _ => continue,
            };
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&item);
        }
    }
}

/// Which rules [`Acl::show`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclKind {
    /// `permit` rules.
    Permit,
    /// `deny` rules.
    Deny,
    /// `acl` names.
    Named,
}

/// Declares the three options (`<prefix>acl`, `<prefix>permit`, `<prefix>deny`) of an
/// ordered access list field.
#[macro_export]
macro_rules! acl_opts {
    ($t:ty, $prefix:literal, $($path:ident).+) => {
        [
            $crate::object::Opt::<$t> {
                name: concat!($prefix, "acl"),
                default: "",
                set: |o, v| {
                    o.$($path).+.add_named(v);
                    Ok(())
                },
                show: |o, out| o.$($path).+.show(out, $crate::net::AclKind::Named),
                row: |o, out| {
                    let mut s = String::new();
                    o.$($path).+.show(&mut s, $crate::net::AclKind::Named);
                    out.push(s);
                },
                accepted: |_| "names of acl.conf sections".into(),
            },
            $crate::object::Opt::<$t> {
                name: concat!($prefix, "permit"),
                default: "",
                set: |o, v| o.$($path).+.add(true, v),
                show: |o, out| o.$($path).+.show(out, $crate::net::AclKind::Permit),
                row: |o, out| {
                    let mut s = String::new();
                    o.$($path).+.show(&mut s, $crate::net::AclKind::Permit);
                    out.push(s);
                },
                accepted: |_| <$crate::net::IpNet as $crate::value::OptValue>::accepted(),
            },
            $crate::object::Opt::<$t> {
                name: concat!($prefix, "deny"),
                default: "",
                set: |o, v| o.$($path).+.add(false, v),
                show: |o, out| o.$($path).+.show(out, $crate::net::AclKind::Deny),
                row: |o, out| {
                    let mut s = String::new();
                    o.$($path).+.show(&mut s, $crate::net::AclKind::Deny);
                    out.push(s);
                },
                accepted: |_| <$crate::net::IpNet as $crate::value::OptValue>::accepted(),
            },
        ]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_in_every_form() {
        let n = IpNet::parse("192.0.2.77/255.255.255.0").unwrap();
        assert_eq!(n, IpNet::parse("192.0.2.0/24").unwrap());
        assert!(n.contains("192.0.2.1".parse().unwrap()));
        assert!(!n.contains("192.0.3.1".parse().unwrap()));
        assert!(n.contains("::ffff:192.0.2.9".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(IpNet::parse("2001:db8::/32")
            .unwrap()
            .contains("2001:db8::1".parse().unwrap()));
        assert!(IpNet::parse("192.0.2.0/33").is_err());
        assert!(IpNet::parse("192.0.2.0/255.0.255.0").is_err());
        assert!(IpNet::parse("example.com").is_err());
    }

    #[test]
    fn acl_rules_keep_order() {
        let mut acl = Acl::default();
        acl.add(false, "0.0.0.0/0").unwrap();
        acl.add(true, "10.0.0.0/8, 192.168.0.0/16").unwrap();
        assert_eq!(acl.0.len(), 3);
        let mut s = String::new();
        acl.show(&mut s, AclKind::Permit);
        assert_eq!(s, "10.0.0.0/8,192.168.0.0/16");
        assert!(acl.add(true, "bogus").is_err());
        assert_eq!(acl.0.len(), 3, "a bad line adds nothing");
    }
}
