//! `type=identify`: which requests belong to an endpoint by source address, header or
//! request URI (spec §2.6, §8.3).

use std::borrow::Cow;

use crate::net::IpNet;
use crate::object::{Meta, Object, Opt};
use crate::value::{Accum, OptValue, Text};
use crate::{impl_tables, opt};

/// What one `match` entry names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MatchTarget {
    /// An address or range.
    Net(IpNet),
    /// A host name, resolved (with SRV when `srv_lookups`) when matching.
    Host(Text),
}

/// One `match` entry: `[!]address[/mask]`, `[!]address:port`, `[v6]:port`, `host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Match {
    /// `!`: a source matching this entry is excluded.
    pub negate: bool,
    /// The address, range or host.
    pub target: MatchTarget,
    /// Only this source port matches.
    pub port: Option<u16>,
}

impl OptValue for Match {
    fn accepted() -> Cow<'static, str> {
        "[!]address, address/prefix, address/netmask, address:port, [IPv6]:port or hostname[:port]"
            .into()
    }
    fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (negate, t) = match t.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, t),
        };
        if t.is_empty() {
            return Err("empty match".into());
        }
        let port_of = |p: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("'{p}' is not a port"))
        };
        // [v6]:port or [v6]/prefix
        if let Some(rest) = t.strip_prefix('[') {
            let (addr, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("'{text}': missing ']'"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(port_of(p)?),
                None if after.is_empty() => None,
                None => return Err(format!("'{text}' is not a valid match")),
            };
            return Ok(Match {
                negate,
                target: MatchTarget::Net(IpNet::parse(addr)?),
                port,
            });
        }
        if t.contains('/') || t.parse::<std::net::IpAddr>().is_ok() {
            return Ok(Match {
                negate,
                target: MatchTarget::Net(IpNet::parse(t)?),
                port: None,
            });
        }
        let (host, port) = match t.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(port_of(p)?)),
            _ => (t, None),
        };
        if let Ok(net) = IpNet::parse(host) {
            return Ok(Match {
                negate,
                target: MatchTarget::Net(net),
                port,
            });
        }
        let valid_host = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !valid_host {
            return Err(format!("'{host}' is neither an address nor a host name"));
        }
        Ok(Match {
            negate,
            target: MatchTarget::Host(host.to_ascii_lowercase().into()),
            port,
        })
    }
    fn show(&self, out: &mut String) {
        use std::fmt::Write as _;
        if self.negate {
            out.push('!');
        }
        match (&self.target, self.port) {
            (MatchTarget::Net(n), Some(p)) if n.addr.is_ipv6() => {
                let _ = write!(out, "[{}]:{p}", n.addr);
            }
            (MatchTarget::Net(n), Some(p)) => {
                let _ = write!(out, "{}:{p}", n.addr);
            }
            (MatchTarget::Net(n), None) => n.show(out),
            (MatchTarget::Host(h), Some(p)) => {
                let _ = write!(out, "{h}:{p}");
            }
            (MatchTarget::Host(h), None) => out.push_str(h),
        }
    }
}

/// Identification rules for one endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identify {
    /// Id and extended fields.
    pub meta: Meta,
    /// The endpoint matched requests belong to (required).
    pub endpoint: Text,
    /// Source addresses (accumulate).
    pub r#match: Accum<Match>,
    /// Resolve host names with SRV records too.
    pub srv_lookups: bool,
    /// `Name: value` or `Name: /regex/`.
    pub match_header: Text,
    /// A request URI, literal or `/regex/`.
    pub match_request_uri: Text,
}

impl_tables!(Identify);

impl Object for Identify {
    const TYPE: &'static str = "identify";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<Identify>] = &[
            opt!("endpoint", "", endpoint),
            opt!("match", "", r#match),
            opt!("srv_lookups", "yes", srv_lookups),
            opt!("match_header", "", match_header),
            opt!("match_request_uri", "", match_request_uri),
        ];
        OPTS
    }

    fn check(&mut self) -> Result<(), String> {
        if self.endpoint.is_empty() {
            return Err("endpoint is required".into());
        }
        if self.r#match.is_empty()
            && self.match_header.is_empty()
            && self.match_request_uri.is_empty()
        {
            return Err("needs at least one of match, match_header, match_request_uri".into());
        }
        if !self.match_header.is_empty() {
            let Some((name, value)) = self.match_header.split_once(':') else {
                return Err(format!(
                    "match_header '{}' is not 'Name: value'",
                    self.match_header
                ));
            };
            if name.trim().is_empty() || value.trim().is_empty() {
                return Err(format!(
                    "match_header '{}' is not 'Name: value'",
                    self.match_header
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(t: &str) -> String {
        let mut s = String::new();
        Match::parse(t).unwrap().show(&mut s);
        s
    }

    #[test]
    fn every_match_form() {
        assert_eq!(shown("192.0.2.1"), "192.0.2.1/32");
        assert_eq!(shown("192.0.2.0/24"), "192.0.2.0/24");
        assert_eq!(shown("192.0.2.1:5062"), "192.0.2.1:5062");
        assert_eq!(shown("!10.0.0.0/255.0.0.0"), "!10.0.0.0/8");
        assert_eq!(shown("[2001:db8::1]:5060"), "[2001:db8::1]:5060");
        assert_eq!(shown("2001:db8::/32"), "2001:db8::/32");
        assert_eq!(shown("SIP.Example.com:5070"), "sip.example.com:5070");
        assert!(Match::parse("bad host!").is_err());
        assert!(Match::parse("192.0.2.1:0").is_err());
        assert!(Match::parse("[::1").is_err());
    }
}
