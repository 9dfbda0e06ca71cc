//! The address we write into Via and Contact, for a server behind NAT (spec §2.1:
//! `external_signaling_address`, `external_signaling_hostname`,
//! `external_signaling_port`, `local_net`).
//!
//! A peer on the other side of a NAT cannot reach the private address the socket is
//! bound to: it must see the router's public address in our Via (where it sends
//! responses, RFC 3261 §18.2.2) and in our Contact (where it sends later requests).
//! Peers inside `local_net` reach us directly and must see the real address. The
//! decision depends only on the destination's IP and the transport's settings, so it
//! lives here, without sockets, and the endpoint applies it when it writes a Via for a
//! request it sends and when it sends a response with a Contact.
//!
//! Choices:
//!
//! * No external address configured: nothing is ever rewritten, whatever `local_net`
//!   says (Asterisk does the same).
//! * External address configured and no `local_net`: every destination is outside.
//!   Loopback is not treated as local unless `local_net` says so — what the operator
//!   wrote is what happens.
//! * `external_signaling_hostname` is written as it is, not resolved: RFC 3261 allows a
//!   host name in a Via sent-by (the peer resolves it, §18.2.2) and in a Contact, the
//!   name stays right when a dynamic public address changes, and no DNS lookup sits on
//!   the send path. Peers that answer to the source address (RFC 3581 `rport`, which
//!   we always ask for) are not affected either way.
//! * `external_signaling_port` 0 keeps the port the transport is bound to.
//! * Contact is left alone in responses to REGISTER (those Contacts are the
//!   registering device's bindings, not ours) and in a 302 to INVITE (the Contacts are
//!   where the caller is redirected to), as the spec says.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use sip_message::{HeaderError, HeaderKind, Message, Method, Uri};

/// An address range of `local_net`: a network address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// The range `addr/prefix`; `None` when the prefix is longer than the address
    /// (33+ for IPv4, 129+ for IPv6). Host bits in `addr` are ignored.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Net> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Net { addr, prefix })
    }

    /// Whether `ip` is inside the range. IPv4-mapped IPv6 addresses (what a
    /// dual-stack socket reports for IPv4 peers) match as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmap(ip);
        match (unmap(self.addr), ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let shift = 32 - u32::from(self.prefix.min(32));
                let mask = u32::MAX.checked_shl(shift).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let shift = 128 - u32::from(self.prefix.min(128));
                let mask = u128::MAX.checked_shl(shift).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A host and port to write into a Via sent-by or a Contact URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// An IP address (IPv6 without brackets) or a host name.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl HostPort {
    /// The host as it goes into a URI or a Via: IPv6 addresses in brackets.
    pub fn host_for_uri(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// Whether a Via sent-by `host`/`port` (as a response brings it back) is this one:
    /// host names case-insensitively, IP addresses as addresses, a missing port as
    /// `default_port` (RFC 3261 §18.1.2, §19.1.4).
    pub fn matches(&self, host: &str, port: Option<u16>, default_port: u16) -> bool {
        let strip = |h: &str| -> String {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase()
        };
        let (a, b) = (strip(&self.host), strip(host));
        let same_host = match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
            (Ok(x), Ok(y)) => unmap(x) == unmap(y),
            _ => a == b,
        };
        same_host && port.unwrap_or(default_port) == self.port
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host_for_uri(), self.port)
    }
}

impl From<SocketAddr> for HostPort {
    fn from(a: SocketAddr) -> HostPort {
        HostPort {
            host: unmap(a.ip()).to_string(),
            port: a.port(),
        }
    }
}

/// One transport's NAT settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nat {
    local_nets: Vec<Net>,
    external_host: Option<String>,
    external_port: u16,
}

impl Nat {
    /// No rewriting at all (no external address configured).
    pub fn none() -> Nat {
        Nat::default()
    }

    /// The settings of a transport: its `local_net` ranges, the external address or
    /// host name (`None` or empty: no rewriting) and the external port (0: the bound
    /// port).
    pub fn new(local_nets: Vec<Net>, external_host: Option<&str>, external_port: u16) -> Nat {
        let external_host = external_host
            .map(|h| {
                h.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned()
            })
            .filter(|h| !h.is_empty());
        Nat {
            local_nets,
            external_host,
            external_port,
        }
    }

    /// Whether messages to `dest` get the external address: an external address is
    /// configured and `dest` is in none of the `local_net` ranges.
    pub fn rewrites_for(&self, dest: IpAddr) -> bool {
        self.external_host.is_some() && !self.local_nets.iter().any(|n| n.contains(dest))
    }

    /// The host and port to write for a message leaving from `local` (the address the
    /// transport is bound to, made concrete) toward `dest`.
    pub fn address_for(&self, local: SocketAddr, dest: IpAddr) -> HostPort {
        self.external_for(local.port(), dest)
            .unwrap_or_else(|| HostPort::from(local))
    }

    /// The external host and port for a message toward `dest`, or `None` when the
    /// message keeps its addresses (no external address, or `dest` is local).
    pub fn external_for(&self, local_port: u16, dest: IpAddr) -> Option<HostPort> {
        let host = self.external_host.as_ref()?;
        self.rewrites_for(dest).then(|| HostPort {
            host: host.clone(),
            port: if self.external_port == 0 {
                local_port
            } else {
                self.external_port
            },
        })
    }
}

/// Whether the Contact of a response with `code` to a `method` request is ours (and so
/// rewritten toward an outside peer): not in responses to REGISTER, whose Contacts are
/// the registered bindings, nor in a 302 to INVITE, whose Contacts are the redirection
/// targets (spec §2.1).
pub fn response_contact_is_ours(method: &Method, code: u16) -> bool {
    !(matches!(method, Method::Register) || (matches!(method, Method::Invite) && code == 302))
}

/// Replaces host and port of every `sip:`/`sips:` Contact URI of `message` with `to`,
/// keeping user, password, URI parameters, URI headers, display name and header
/// parameters. `*` and other schemes are left as they are. Returns how many Contacts
/// changed; the message is untouched when none did. An undecodable Contact header is
/// an error (and the message is left as it was).
pub fn rewrite_contacts(message: &mut Message, to: &HostPort) -> Result<usize, HeaderError> {
    if !message.has(HeaderKind::Contact) {
        return Ok(0);
    }
    let contacts = message.contacts()?;
    let mut changed = 0;
    let mut values = Vec::with_capacity(contacts.len());
    for c in contacts {
        let Some(addr) = c.addr() else {
            values.push(c.to_string());
            continue;
        };
        let Some(uri) = rewrite_uri(addr.uri(), to) else {
            values.push(c.to_string());
            continue;
        };
        let mut s = match addr.display_name_raw() {
            Some(d) => format!("{d} <{uri}>"),
            None => format!("<{uri}>"),
        };
        for (n, v) in addr.params() {
            s.push(';');
            s.push_str(n);
            if let Some(v) = v {
                s.push('=');
                s.push_str(v);
            }
        }
        values.push(s);
        changed += 1;
    }
    if changed > 0 {
        message.set_header(HeaderKind::Contact, &values.join(", "))?;
    }
    Ok(changed)
}

/// A `sip:`/`sips:` URI with host and port replaced; `None` for other schemes or if
/// the result would not parse (then the Contact is kept as it was).
pub fn rewrite_uri(uri: &Uri, to: &HostPort) -> Option<Uri> {
    let sip = uri.as_sip()?;
    let mut s = format!("{}:", sip.scheme());
    if let Some(user) = sip.user() {
        s.push_str(user);
        if let Some(pw) = sip.password() {
            s.push(':');
            s.push_str(pw);
        }
        s.push('@');
    }
    s.push_str(&to.host_for_uri());
    s.push(':');
    s.push_str(&to.port.to_string());
    for (n, v) in sip.params() {
        s.push(';');
        s.push_str(n);
        if let Some(v) = v {
            s.push('=');
            s.push_str(v);
        }
    }
    if let Some(h) = sip.headers_str() {
        s.push('?');
        s.push_str(h);
    }
    Uri::parse(&s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn net(s: &str, p: u8) -> Net {
        Net::new(s.parse().unwrap(), p).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn local() -> SocketAddr {
        "10.0.0.5:5060".parse().unwrap()
    }

    #[test]
    fn nets_contain_what_they_should() {
        assert!(net("192.168.0.0", 16).contains(ip("192.168.44.1")));
        assert!(!net("192.168.0.0", 16).contains(ip("192.169.0.1")));
        assert!(
            net("10.1.2.3", 8).contains(ip("10.200.0.1")),
            "host bits ignored"
        );
        assert!(net("0.0.0.0", 0).contains(ip("203.0.113.9")));
        assert!(net("2001:db8::", 32).contains(ip("2001:db8:1::1")));
        assert!(!net("2001:db8::", 32).contains(ip("10.0.0.1")));
        assert!(
            net("10.0.0.0", 8).contains(ip("::ffff:10.1.1.1")),
            "IPv4-mapped matches as IPv4"
        );
        assert!(net("10.0.0.1", 32).contains(ip("10.0.0.1")));
        assert!(!net("10.0.0.1", 32).contains(ip("10.0.0.2")));
        assert!(Net::new(ip("10.0.0.0"), 33).is_none());
        assert!(Net::new(ip("::"), 129).is_none());
    }

    #[test]
    fn no_external_address_means_no_rewrite() {
        let nat = Nat::new(vec![net("10.0.0.0", 8)], None, 0);
        assert!(!nat.rewrites_for(ip("203.0.113.1")));
        assert_eq!(
            nat.address_for(local(), ip("203.0.113.1")).to_string(),
            "10.0.0.5:5060"
        );
        assert_eq!(nat.external_for(5060, ip("203.0.113.1")), None);
        assert_eq!(Nat::new(vec![], Some("  "), 0), Nat::none());
    }

    #[test]
    fn outside_local_net_gets_the_external_address() {
        let nat = Nat::new(
            vec![net("10.0.0.0", 8), net("192.168.0.0", 16)],
            Some("198.51.100.7"),
            0,
        );
        assert!(nat.rewrites_for(ip("203.0.113.1")));
        assert!(!nat.rewrites_for(ip("10.9.9.9")));
        assert!(!nat.rewrites_for(ip("192.168.1.2")));
        assert_eq!(
            nat.address_for(local(), ip("203.0.113.1")).to_string(),
            "198.51.100.7:5060",
            "port 0 keeps the bound port"
        );
        assert_eq!(
            nat.address_for(local(), ip("192.168.1.2")).to_string(),
            "10.0.0.5:5060"
        );
        let with_port = Nat::new(vec![], Some("198.51.100.7"), 15060);
        assert_eq!(
            with_port.address_for(local(), ip("10.0.0.9")).to_string(),
            "198.51.100.7:15060",
            "no local_net: everything is outside"
        );
        assert_eq!(
            with_port.external_for(5060, ip("1.2.3.4")),
            Some(HostPort {
                host: "198.51.100.7".into(),
                port: 15060
            })
        );
    }

    #[test]
    fn hostnames_and_ipv6_are_written_as_such() {
        let nat = Nat::new(vec![], Some("pbx.example.com"), 0);
        assert_eq!(
            nat.address_for(local(), ip("1.2.3.4")).to_string(),
            "pbx.example.com:5060"
        );
        let v6 = Nat::new(vec![], Some("[2001:db8::1]"), 5070);
        let hp = v6.address_for(local(), ip("1.2.3.4"));
        assert_eq!(hp.host, "2001:db8::1");
        assert_eq!(hp.to_string(), "[2001:db8::1]:5070");
    }

    #[test]
    fn sent_by_matching() {
        let hp = HostPort {
            host: "10.0.0.5".into(),
            port: 5060,
        };
        assert!(hp.matches("10.0.0.5", Some(5060), 5060));
        assert!(hp.matches("10.0.0.5", None, 5060));
        assert!(!hp.matches("10.0.0.5", None, 5061));
        assert!(!hp.matches("10.0.0.6", Some(5060), 5060));
        assert!(!hp.matches("10.0.0.5", Some(5070), 5060));
        let name = HostPort {
            host: "PBX.example.com".into(),
            port: 5060,
        };
        assert!(name.matches("pbx.EXAMPLE.com", Some(5060), 5060));
        let v6 = HostPort {
            host: "2001:db8::1".into(),
            port: 5060,
        };
        assert!(v6.matches("[2001:DB8:0::1]", Some(5060), 5060));
    }

    fn message(contact: &str) -> Message {
        let text = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\n\
             From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\
             {contact}Content-Length: 0\r\n\r\n"
        );
        Message::parse(Bytes::from(text)).unwrap()
    }

    #[test]
    fn contacts_are_rewritten_keeping_everything_else() {
        let to = HostPort {
            host: "198.51.100.7".into(),
            port: 5080,
        };
        let mut m = message(
            "Contact: \"Desk\" <sip:alice:pw@10.0.0.5:5060;transport=tcp;ob?X=1>;expires=60;+sip.instance=\"<urn:x>\"\r\n\
             Contact: sip:bob@10.0.0.5, <tel:+1234>\r\n",
        );
        assert_eq!(rewrite_contacts(&mut m, &to).unwrap(), 2);
        let again = Message::parse(m.to_bytes()).unwrap();
        let cs = again.contacts().unwrap();
        assert_eq!(cs.len(), 3);
        let first = cs[0].addr().unwrap();
        assert_eq!(
            first.uri().as_str(),
            "sip:alice:pw@198.51.100.7:5080;transport=tcp;ob?X=1"
        );
        assert_eq!(first.display_name().as_deref(), Some("Desk"));
        assert_eq!(first.expires().unwrap(), Some(60));
        assert_eq!(first.param("+sip.instance"), Some(Some("\"<urn:x>\"")));
        assert_eq!(
            cs[1].addr().unwrap().uri().as_str(),
            "sip:bob@198.51.100.7:5080"
        );
        assert_eq!(cs[2].addr().unwrap().uri().as_str(), "tel:+1234");
    }

    #[test]
    fn nothing_to_rewrite_leaves_the_message_alone() {
        let to = HostPort {
            host: "2001:db8::7".into(),
            port: 5060,
        };
        let mut m = message("");
        assert_eq!(rewrite_contacts(&mut m, &to).unwrap(), 0);
        assert!(!m.is_modified());
        let mut star = message("Contact: *\r\n");
        assert_eq!(rewrite_contacts(&mut star, &to).unwrap(), 0);
        let mut v6 = message("Contact: <sips:x@[::1]>\r\n");
        assert_eq!(rewrite_contacts(&mut v6, &to).unwrap(), 1);
        let again = Message::parse(v6.to_bytes()).unwrap();
        assert_eq!(
            again.contacts().unwrap()[0].addr().unwrap().uri().as_str(),
            "sips:x@[2001:db8::7]:5060"
        );
    }

    #[test]
    fn contact_exemptions() {
        assert!(!response_contact_is_ours(&Method::Register, 200));
        assert!(!response_contact_is_ours(&Method::Invite, 302));
        assert!(response_contact_is_ours(&Method::Invite, 200));
        assert!(response_contact_is_ours(&Method::Options, 200));
        assert!(response_contact_is_ours(&Method::Subscribe, 302));
    }
}
