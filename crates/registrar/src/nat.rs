//! Contact rewriting for clients behind NAT (spec §6.9, res_pjsip_nat) and the
//! `prune_on_boot` decision (spec §6.7), which both compare a Contact with the address
//! the packet really came from.
//!
//! With `rewrite_contact=yes` a registered Contact gets the packet's source as host and
//! port, so requests reach the NAT binding the phone opened instead of its private
//! address. The original host:port is kept in the `x-ast-orig-host` URI parameter (the
//! name Asterisk uses, so contacts in a shared `ps_contacts` table read the same in both)
//! and shown back to the phone in the 200, which then recognises its own binding.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use sip_message::SipUri;

/// The URI parameter holding a rewritten Contact's original `host[:port]`.
pub const ORIG_HOST_PARAM: &str = "x-ast-orig-host";

/// The transport a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket.
    Ws,
    /// Secure WebSocket.
    Wss,
}

impl TransportKind {
    /// Whether a connection carries the binding (TCP, TLS, WS, WSS): a contact reached
    /// only through it dies with it.
    pub fn is_reliable(self) -> bool {
        self != TransportKind::Udp
    }

    /// From a Via transport token (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, any case), the form
    /// the services' `RequestSource::transport` gives; `None` for anything else (SCTP).
    pub fn from_via_token(token: &str) -> Option<TransportKind> {
        [
            TransportKind::Udp,
            TransportKind::Tcp,
            TransportKind::Tls,
            TransportKind::Ws,
            TransportKind::Wss,
        ]
        .into_iter()
        .find(|t| t.param().eq_ignore_ascii_case(token))
    }

    /// The `transport=` URI parameter value for this transport.
    pub fn param(self) -> &'static str {
        match self {
            TransportKind::Udp => "udp",
            TransportKind::Tcp => "tcp",
            TransportKind::Tls => "tls",
            TransportKind::Ws => "ws",
            TransportKind::Wss => "wss",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            TransportKind::Tls => 5061,
            TransportKind::Ws => 80,
            TransportKind::Wss => 443,
            _ => 5060,
        }
    }
}

/// Where a request came from: the packet's source address and its transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The source address and port of the packet (or the connection's peer).
    pub addr: SocketAddr,
    /// The transport it came on.
    pub transport: TransportKind,
}

fn host_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

fn push_param(out: &mut String, name: &str, value: Option<&str>) {
    out.push(';');
    out.push_str(name);
    if let Some(v) = value {
        out.push('=');
        out.push_str(v);
    }
}

/// Writes `scheme:[userinfo@]host[:port]` then the given parameters and the headers.
fn rebuild<'a>(
    uri: &SipUri,
    host: &str,
    port: Option<u16>,
    params: impl Iterator<Item = (&'a str, Option<&'a str>)>,
) -> Option<SipUri> {
    let mut out = String::with_capacity(uri.as_str().len() + 48);
    out.push_str(uri.scheme());
    out.push(':');
    if let Some(user) = uri.user() {
        out.push_str(user);
        if let Some(pw) = uri.password() {
            out.push(':');
            out.push_str(pw);
        }
        out.push('@');
    }
    out.push_str(host);
    if let Some(p) = port {
        out.push(':');
        out.push_str(&p.to_string());
    }
    for (n, v) in params {
        push_param(&mut out, n, v);
    }
    if let Some(h) = uri.headers_str() {
        out.push('?');
        out.push_str(h);
    }
    SipUri::parse(&out).ok()
}

/// The Contact URI rewritten to the packet's source (spec §6.9).
///
/// Host and port become the source's. On UDP the `transport` parameter is removed; on
/// TCP, TLS and WS it is set to the transport; on WSS it is left as the client wrote it
/// (browsers write `transport=ws` over WSS and expect it back). When host or port
/// changed, `x-ast-orig-host=<host>[:<port>]` records the original. A client-supplied
/// `x-ast-orig-host` is dropped first so a client cannot choose what the 200 shows.
///
/// Asterisk records the original only when the *host* changed; a port-only change
/// (the same public address through a port-mapping NAT) is recorded too here, so the
/// 200 always shows the phone the Contact it sent.
pub fn rewrite_contact_uri(uri: &SipUri, source: &Source) -> SipUri {
    let new_host = host_text(source.addr.ip());
    let new_port = source.addr.port();
    let changed = !uri.host().eq_ignore_ascii_case(&new_host) || uri.port() != Some(new_port);
    let orig = changed.then(|| match uri.port() {
        Some(p) => format!("{}:{p}", uri.host()),
        None => uri.host().to_owned(),
    });
    let transport = source.transport;
    let params = uri
        .params()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(ORIG_HOST_PARAM))
        .filter(|(n, _)| transport == TransportKind::Wss || !n.eq_ignore_ascii_case("transport"));
    let mut extra: Vec<(&str, Option<&str>)> = Vec::with_capacity(2);
    if !matches!(transport, TransportKind::Udp | TransportKind::Wss) {
        extra.push(("transport", Some(transport.param())));
    }
    if let Some(o) = orig.as_deref() {
        extra.push((ORIG_HOST_PARAM, Some(o)));
    }
    rebuild(uri, &new_host, Some(new_port), params.chain(extra)).unwrap_or_else(|| uri.clone())
}

/// Splits `host[:port]` (IPv6 in brackets); a port of 0 means none (Asterisk writes
/// `:0` for a Contact that had no port).
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, rest) = if s.starts_with('[') {
        let close = s.find(']')?;
        (&s[..=close], &s[close + 1..])
    } else {
        match s.rfind(':') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match rest.strip_prefix(':') {
        None if rest.is_empty() => None,
        None => return None,
        Some(p) => match p.parse::<u16>().ok()? {
            0 => None,
            n => Some(n),
        },
    };
    Some((host, port))
}

/// The URI the phone sent, for the 200: a stored `x-ast-orig-host` is turned back into
/// host:port and the parameter removed (spec §6.8). Other URIs are returned as they are.
pub fn restore_orig_host(uri: &SipUri) -> Cow<'_, str> {
    let Some(Some(orig)) = uri.param(ORIG_HOST_PARAM) else {
        return Cow::Borrowed(uri.as_str());
    };
    let Some((host, port)) = split_host_port(orig) else {
        return Cow::Borrowed(uri.as_str());
    };
    let params = uri
        .params()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(ORIG_HOST_PARAM));
    match rebuild(uri, host, port, params) {
        Some(u) => Cow::Owned(u.as_str().to_owned()),
        None => Cow::Borrowed(uri.as_str()),
    }
}

/// Whether a contact dies with the connection it came on (spec §6.7): it arrived on a
/// reliable transport, its host:port is the packet's source, its `transport=` names
/// that transport, and either `rewrite_contact` is on or the transport is a WebSocket
/// (whose clients cannot be reached on any other connection). Such contacts are removed
/// when the connection closes and purged at the next start instead of being reloaded.
///
/// Over WSS a `transport=ws` parameter also matches: browsers write `ws` on secure
/// sockets, and their contacts are exactly the ones that cannot outlive the socket.
pub fn prune_on_boot(uri: &SipUri, source: &Source, rewrite_contact: bool) -> bool {
    let t = source.transport;
    if !t.is_reliable() || !(rewrite_contact || matches!(t, TransportKind::Ws | TransportKind::Wss))
    {
        return false;
    }
    let host = uri.host().trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = host.parse::<IpAddr>() else {
        return false;
    };
    let port = uri.port().unwrap_or(t.default_port());
    if ip != source.addr.ip() || port != source.addr.port() {
        return false;
    }
    match uri.transport() {
        Some(p) => {
            p.eq_ignore_ascii_case(t.param())
                || (t == TransportKind::Wss && p.eq_ignore_ascii_case("ws"))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(s: &str, t: TransportKind) -> Source {
        Source {
            addr: s.parse().unwrap(),
            transport: t,
        }
    }

    #[test]
    fn rewrite_records_the_original_host_and_port() {
        let u = SipUri::parse("sip:alice@10.0.0.2:5060;transport=udp").unwrap();
        let r = rewrite_contact_uri(&u, &src("203.0.113.5:40321", TransportKind::Udp));
        assert_eq!(
            r.as_str(),
            "sip:alice@203.0.113.5:40321;x-ast-orig-host=10.0.0.2:5060"
        );
        assert_eq!(restore_orig_host(&r), "sip:alice@10.0.0.2:5060");
    }

    #[test]
    fn rewrite_sets_transport_on_tcp_and_keeps_it_on_wss() {
        let u = SipUri::parse("sip:a@10.0.0.2").unwrap();
        let r = rewrite_contact_uri(&u, &src("198.51.100.1:1234", TransportKind::Tcp));
        assert_eq!(
            r.as_str(),
            "sip:a@198.51.100.1:1234;transport=tcp;x-ast-orig-host=10.0.0.2"
        );
        // Only host:port is restored (spec §6.8); the transport stays as rewritten.
        assert_eq!(restore_orig_host(&r), "sip:a@10.0.0.2;transport=tcp");
        let u = SipUri::parse("sip:a@x.invalid;transport=ws").unwrap();
        let r = rewrite_contact_uri(&u, &src("198.51.100.1:1234", TransportKind::Wss));
        assert_eq!(
            r.as_str(),
            "sip:a@198.51.100.1:1234;transport=ws;x-ast-orig-host=x.invalid"
        );
    }

    #[test]
    fn unchanged_contact_gets_no_param_and_client_param_is_dropped() {
        let u = SipUri::parse("sip:a@198.51.100.1:1234;x-ast-orig-host=evil:1").unwrap();
        let r = rewrite_contact_uri(&u, &src("198.51.100.1:1234", TransportKind::Udp));
        assert_eq!(r.as_str(), "sip:a@198.51.100.1:1234");
    }

    #[test]
    fn ipv6_source_and_asterisk_port_zero() {
        let u = SipUri::parse("sip:a@[fd00::2]:5060").unwrap();
        let r = rewrite_contact_uri(&u, &src("[2001:db8::1]:7000", TransportKind::Udp));
        assert_eq!(
            r.as_str(),
            "sip:a@[2001:db8::1]:7000;x-ast-orig-host=[fd00::2]:5060"
        );
        assert_eq!(restore_orig_host(&r), "sip:a@[fd00::2]:5060");
        let stored = SipUri::parse("sip:a@1.2.3.4:5;x-ast-orig-host=10.0.0.2:0").unwrap();
        assert_eq!(restore_orig_host(&stored), "sip:a@10.0.0.2");
    }

    #[test]
    fn via_tokens() {
        assert_eq!(
            TransportKind::from_via_token("WSS"),
            Some(TransportKind::Wss)
        );
        assert_eq!(
            TransportKind::from_via_token("udp"),
            Some(TransportKind::Udp)
        );
        assert_eq!(TransportKind::from_via_token("SCTP"), None);
    }

    #[test]
    fn prune_on_boot_needs_a_reliable_matching_source() {
        let s = src("198.51.100.1:1234", TransportKind::Tcp);
        let u = SipUri::parse("sip:a@198.51.100.1:1234;transport=tcp").unwrap();
        assert!(prune_on_boot(&u, &s, true));
        assert!(!prune_on_boot(&u, &s, false));
        let udp = src("198.51.100.1:1234", TransportKind::Udp);
        assert!(!prune_on_boot(&u, &udp, true));
        let other = SipUri::parse("sip:a@198.51.100.1:1235;transport=tcp").unwrap();
        assert!(!prune_on_boot(&other, &s, true));
        let ws = src("198.51.100.1:1234", TransportKind::Wss);
        let u = SipUri::parse("sip:a@198.51.100.1:1234;transport=ws").unwrap();
        assert!(prune_on_boot(&u, &ws, false));
    }
}
