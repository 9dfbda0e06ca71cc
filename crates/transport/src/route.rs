//! Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4).
//!
//! A server sends a response back the way the request came, read from the response's
//! top Via (which the server stamped on arrival, see [`crate::stamp`]):
//!
//! * **Stream transports** (TCP, TLS; later WS, WSS): over the connection the request
//!   arrived on, if still open. Otherwise §18.2.2 says to open a new connection to the
//!   `received` IP (else the sent-by host) at the **sent-by port** (else the default
//!   port). `rport` is not used here: RFC 3581 §4 defines it for unreliable transports
//!   only, and a NAT's mapping for a closed TCP connection accepts nothing anyway.
//! * **UDP**: to `received`:`rport` when both are present (RFC 3581 §4); else to
//!   `received` at the sent-by port (§18.2.2); else to the sent-by host and port.
//!
//! `maddr` (the multicast branch of §18.2.2) is **ignored**: answering to an address
//! named by the packet rather than where it came from would let anyone aim our
//! responses at a third party, and no SIP phone in use relies on it. The `ttl`
//! parameter is ignored with it.
//!
//! When the top Via cannot be decoded at all, the response goes to the packet's source
//! (a 400 for such a request still reaches its sender).
//!
//! Pure: no sockets, so every case is unit-tested below.

use std::net::{IpAddr, SocketAddr};

use sip_message::Via;

use crate::stamp::host_ip;
use crate::{ConnectionId, Protocol, Source};

/// A destination that may still need name resolution.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// An IP address and port: send there.
    Addr(SocketAddr),
    /// A host name from the sent-by (only when the request came without `received`,
    /// which stamping never leaves for a name): resolved with A/AAAA records
    /// (RFC 3263 §5 would also try SRV; that is the resolver crate's job).
    Name {
        /// The host name.
        host: String,
        /// The port.
        port: u16,
    },
}

/// How to send a response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResponseRoute {
    /// The connection to try first (stream transports only).
    pub connection: Option<ConnectionId>,
    /// Where to send (or connect to) when there is no such connection any more.
    pub target: Target,
}

/// The route for a response whose top Via is `via`, to a request that arrived from
/// `source`. `via` is `None` when the response has no decodable top Via.
pub fn response_route(via: Option<&Via>, source: &Source) -> ResponseRoute {
    let connection = if source.protocol.is_stream() {
        source.connection
    } else {
        None
    };
    let target = match via {
        None => Target::Addr(source.remote),
        Some(via) => via_target(via, source.protocol),
    };
    ResponseRoute { connection, target }
}

fn via_target(via: &Via, protocol: Protocol) -> Target {
    let received: Option<IpAddr> = via.received().and_then(host_ip);
    let rport = via.rport().flatten().filter(|p| *p != 0);
    let sent_by_port = via.port().unwrap_or(protocol.default_port());
    let (host_ip, port) = match (received, protocol.is_stream()) {
        (Some(ip), true) => (Some(ip), sent_by_port),
        (Some(ip), false) => (Some(ip), rport.unwrap_or(sent_by_port)),
        (None, stream) => {
            let port = if stream {
                sent_by_port
            } else {
                rport.unwrap_or(sent_by_port)
            };
            (host_ip(via.host()), port)
        }
    };
    match host_ip {
        Some(ip) => Target::Addr(SocketAddr::new(ip, port)),
        None => Target::Name {
            host: via.host().to_owned(),
            port,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_message::Message;

    fn via(v: &str) -> Message {
        let text = format!(
            "SIP/2.0 200 OK\r\nVia: {v}\r\nFrom: <sip:b@example.com>;tag=1\r\n\
             To: <sip:a@example.com>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        );
        Message::parse(text.into_bytes()).expect("test message parses")
    }

    fn source(protocol: Protocol, remote: &str, conn: Option<u64>) -> Source {
        Source {
            protocol,
            local: "192.0.2.100:5060".parse().unwrap(),
            remote: remote.parse().unwrap(),
            connection: conn.map(ConnectionId::from_raw),
        }
    }

    fn route(v: &str, src: &Source) -> ResponseRoute {
        let m = via(v);
        response_route(Some(m.top_via().unwrap()), src)
    }

    fn addr(s: &str) -> Target {
        Target::Addr(s.parse().unwrap())
    }

    #[test]
    fn udp_received_and_rport() {
        let src = source(Protocol::Udp, "203.0.113.9:40000", None);
        let r = route(
            "SIP/2.0/UDP 10.0.0.5:5062;rport=40000;received=203.0.113.9;branch=z9hG4bK1",
            &src,
        );
        assert_eq!(r.connection, None);
        assert_eq!(r.target, addr("203.0.113.9:40000"));
    }

    #[test]
    fn udp_received_without_rport_uses_sent_by_port() {
        let src = source(Protocol::Udp, "203.0.113.9:40000", None);
        let r = route(
            "SIP/2.0/UDP 10.0.0.5:5062;received=203.0.113.9;branch=z9hG4bK1",
            &src,
        );
        assert_eq!(r.target, addr("203.0.113.9:5062"));
        let r = route(
            "SIP/2.0/UDP 10.0.0.5;received=203.0.113.9;branch=z9hG4bK1",
            &src,
        );
        assert_eq!(r.target, addr("203.0.113.9:5060"));
    }

    #[test]
    fn udp_sent_by() {
        let src = source(Protocol::Udp, "192.0.2.1:5062", None);
        assert_eq!(
            route("SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK1", &src).target,
            addr("192.0.2.1:5062")
        );
        assert_eq!(
            route("SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1", &src).target,
            addr("[2001:db8::1]:5060")
        );
        assert_eq!(
            route("SIP/2.0/UDP pc.example.com:5070;branch=z9hG4bK1", &src).target,
            Target::Name {
                host: "pc.example.com".into(),
                port: 5070
            }
        );
    }

    #[test]
    fn udp_received_ipv6_bare_or_bracketed() {
        let src = source(Protocol::Udp, "[2001:db8::2]:6000", None);
        let r = route(
            "SIP/2.0/UDP [2001:db8::1];rport=6000;received=2001:db8::2;branch=z9hG4bK1",
            &src,
        );
        assert_eq!(r.target, addr("[2001:db8::2]:6000"));
        let r = route(
            "SIP/2.0/UDP [2001:db8::1];received=[2001:db8::2];branch=z9hG4bK1",
            &src,
        );
        assert_eq!(r.target, addr("[2001:db8::2]:5060"));
    }

    #[test]
    fn maddr_is_ignored() {
        let src = source(Protocol::Udp, "192.0.2.1:5060", None);
        let r = route(
            "SIP/2.0/UDP 192.0.2.1;maddr=224.2.0.1;ttl=16;branch=z9hG4bK1",
            &src,
        );
        assert_eq!(r.target, addr("192.0.2.1:5060"));
    }

    #[test]
    fn tcp_prefers_the_connection_then_received_at_sent_by_port() {
        let src = source(Protocol::Tcp, "203.0.113.9:40000", Some(7));
        let r = route(
            "SIP/2.0/TCP 10.0.0.5:5062;rport=40000;received=203.0.113.9;branch=z9hG4bK1",
            &src,
        );
        assert_eq!(r.connection, Some(ConnectionId::from_raw(7)));
        // rport is for unreliable transports only (RFC 3581 §4).
        assert_eq!(r.target, addr("203.0.113.9:5062"));
        let r = route("SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1", &src);
        assert_eq!(r.target, addr("192.0.2.1:5060"));
    }

    #[test]
    fn udp_never_names_a_connection() {
        let src = source(Protocol::Udp, "192.0.2.1:5060", Some(3));
        let r = route("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1", &src);
        assert_eq!(r.connection, None);
    }

    #[test]
    fn no_via_goes_to_the_source() {
        let src = source(Protocol::Udp, "192.0.2.1:5999", None);
        let r = response_route(None, &src);
        assert_eq!(r.target, addr("192.0.2.1:5999"));
    }
}
