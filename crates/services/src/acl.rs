//! Access lists as Asterisk applies them (spec §8.4): an endpoint's `permit`/`deny`
//! lines form one list in which the **last** matching rule decides and no match
//! allows; every `acl=` name refers to a list of `acl.conf` evaluated the same way on
//! its own; the address is allowed only if every list allows it. A name that
//! `acl.conf` does not define denies everything — Asterisk does the same, and an
//! access list that silently allowed all because of a typo would be worse.

use std::collections::HashMap;
use std::net::IpAddr;

use asterisk_conf::{load, LoadOptions, Source};
use sorcery::net::{Acl, AclRule};

/// The named lists of `acl.conf`.
#[derive(Debug, Clone, Default)]
pub struct NamedAcls {
    lists: HashMap<String, Acl>,
}

impl NamedAcls {
    /// Reads `acl.conf` from `source` (absent: no named lists). Returns the lists and
    /// one line per problem (file:line, option, why) for the log; a bad line is
    /// skipped, the rest of its list still applies.
    pub fn load(source: &dyn Source) -> (NamedAcls, Vec<String>) {
        let mut out = NamedAcls::default();
        let mut problems = Vec::new();
        if source.read("acl.conf").is_err() {
            return (out, problems);
        }
        let config = match load(source, "acl.conf", &LoadOptions::default()) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("{e}; no named ACLs are defined"));
                return (out, problems);
            }
        };
        problems.extend(config.warnings.iter().map(ToString::to_string));
        for section in config.objects() {
            let mut acl = Acl::default();
            for var in &section.vars {
                let permit = match var.name.as_str() {
                    "permit" => true,
                    "deny" => false,
                    _ => {
                        problems.push(format!(
                            "{}: acl.conf [{}] option '{}' is unknown (permit, deny); ignored",
                            var.origin, section.name, var.name
                        ));
                        continue;
                    }
                };
                if let Err(e) = acl.add(permit, &var.value) {
                    problems.push(format!(
                        "{}: acl.conf [{}] {}={}: {e}; ignored",
                        var.origin, section.name, var.name, var.value
                    ));
                }
            }
            out.lists.insert(section.name.clone(), acl);
        }
        (out, problems)
    }

    /// A named list, for tests and `pjsip show`.
    pub fn get(&self, name: &str) -> Option<&Acl> {
        self.lists.get(name)
    }

    /// Whether `ip` passes `acl` (see the module docs).
    pub fn permits(&self, acl: &Acl, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if !list_allows(acl, ip) {
            return false;
        }
        acl.0.iter().all(|rule| match rule {
            AclRule::Named(name) => match self.lists.get(&**name) {
                Some(list) => list_allows(list, ip),
                None => false,
            },
            _ => true,
        })
    }
}

/// One list's verdict: the last matching permit/deny decides, no match allows.
fn list_allows(acl: &Acl, ip: IpAddr) -> bool {
    let mut allowed = true;
    for rule in acl.0.iter() {
        match rule {
            AclRule::Permit(net) if net.contains(ip) => allowed = true,
            AclRule::Deny(net) if net.contains(ip) => allowed = false,
            _ => {}
        }
    }
    allowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use asterisk_conf::MemSource;

    fn acl(lines: &[(&str, &str)]) -> Acl {
        let mut a = Acl::default();
        for (k, v) in lines {
            match *k {
                "permit" => a.add(true, v).unwrap(),
                "deny" => a.add(false, v).unwrap(),
                _ => a.add_named(v),
            }
        }
        a
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn last_match_wins_and_no_match_allows() {
        let named = NamedAcls::default();
        let a = acl(&[("deny", "0.0.0.0/0"), ("permit", "10.0.0.0/8")]);
        assert!(named.permits(&a, ip("10.1.2.3")));
        assert!(!named.permits(&a, ip("192.0.2.1")));
        assert!(named.permits(&Acl::default(), ip("192.0.2.1")));
        let b = acl(&[("permit", "10.0.0.0/8"), ("deny", "10.9.0.0/16")]);
        assert!(!named.permits(&b, ip("10.9.1.1")));
        assert!(named.permits(&b, ip("172.16.0.1")), "no match allows");
        // IPv4-mapped sources (dual-stack sockets) are judged as IPv4.
        assert!(named.permits(&a, ip("::ffff:10.1.2.3")));
    }

    #[test]
    fn named_lists_must_all_allow_and_unknown_names_deny() {
        let src = MemSource::new().with(
            "acl.conf",
            "[office]\ndeny=0.0.0.0/0.0.0.0\npermit=192.0.2.0/24\nbogus=1\npermit=not-an-ip\n",
        );
        let (named, problems) = NamedAcls::load(&src);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("acl.conf:4: acl.conf [office] option 'bogus'"));
        let a = acl(&[("acl", "office")]);
        assert!(named.permits(&a, ip("192.0.2.7")));
        assert!(!named.permits(&a, ip("198.51.100.1")));
        // The endpoint's own lines and the named list both have to allow.
        let b = acl(&[("acl", "office"), ("deny", "192.0.2.7/32")]);
        assert!(!named.permits(&b, ip("192.0.2.7")));
        assert!(named.permits(&b, ip("192.0.2.8")));
        let c = acl(&[("acl", "ofice")]);
        assert!(
            !named.permits(&c, ip("192.0.2.7")),
            "a typo denies, never allows"
        );
    }
}
