//! The vocabulary shared by the planner, the driver and the failover cursor:
//! URI schemes, transports and the resolved targets.

use std::fmt;
use std::net::SocketAddr;

/// The URI scheme, which decides whether TLS is mandatory (RFC 3261 §19.1,
/// RFC 3263 §4.1: a SIPS URI is resolved only to TLS-based services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
}

impl Scheme {
    /// RFC 3261 §19.1.2: 5060 for `sip`, 5061 for `sips`.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Sip => 5060,
            Scheme::Sips => 5061,
        }
    }
}

/// A transport a target can be reached over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS over TCP.
    Tls,
    /// SIP over WebSocket (RFC 7118).
    Ws,
    /// SIP over secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    /// Every transport, in the order a server typically prefers them.
    pub const ALL: [Transport; 5] = [
        Transport::Udp,
        Transport::Tcp,
        Transport::Tls,
        Transport::Ws,
        Transport::Wss,
    ];

    /// The transport a URI's `transport=` parameter names under a scheme.
    ///
    /// RFC 3261 §26.2.2 / RFC 3263 §4.1: in a `sips` URI, `transport=tcp`
    /// means TLS over TCP and `transport=ws` means secure WebSocket; `sips`
    /// with `transport=udp` is meaningless and gives `None`, as does an
    /// unknown value (`sctp`, …). The legacy `transport=tls` is accepted.
    pub fn from_param(param: &str, scheme: Scheme) -> Option<Transport> {
        let t = if param.eq_ignore_ascii_case("udp") {
            Transport::Udp
        } else if param.eq_ignore_ascii_case("tcp") {
            Transport::Tcp
        } else if param.eq_ignore_ascii_case("tls") {
            Transport::Tls
        } else if param.eq_ignore_ascii_case("ws") {
            Transport::Ws
        } else if param.eq_ignore_ascii_case("wss") {
            Transport::Wss
        } else {
            return None;
        };
        t.under(scheme)
    }

    /// The transport as used under `scheme`: `sips` upgrades TCP to TLS and WS
    /// to WSS and refuses UDP (RFC 3261 §26.2.2).
    pub fn under(self, scheme: Scheme) -> Option<Transport> {
        match (scheme, self) {
            (Scheme::Sip, t) => Some(t),
            (Scheme::Sips, Transport::Udp) => None,
            (Scheme::Sips, Transport::Tcp | Transport::Tls) => Some(Transport::Tls),
            (Scheme::Sips, Transport::Ws | Transport::Wss) => Some(Transport::Wss),
        }
    }

    /// Whether the transport is secured by TLS.
    pub fn is_secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }

    /// Whether the transport is reliable (stream-based), for the caller's
    /// transaction timers (RFC 3261 §17).
    pub fn is_reliable(self) -> bool {
        self != Transport::Udp
    }

    /// The default port when neither the URI nor SRV gives one: RFC 3263 §4.2
    /// with RFC 3261 §19.1.2, 5061 for TLS-based transports and 5060 otherwise.
    pub fn default_port(self) -> u16 {
        if self.is_secure() {
            5061
        } else {
            5060
        }
    }

    /// The SRV owner-name prefix for this transport (RFC 3263 §4.1: `_sip` for
    /// SIP URIs, `_sips` for TLS, so TLS is `_sips._tcp`). No RFC names a
    /// WebSocket SRV label; `_sip._ws` / `_sips._ws` follow the same pattern
    /// and are what deployments that publish one use.
    pub fn srv_prefix(self) -> &'static str {
        match self {
            Transport::Udp => "_sip._udp",
            Transport::Tcp => "_sip._tcp",
            Transport::Tls => "_sips._tcp",
            Transport::Ws => "_sip._ws",
            Transport::Wss => "_sips._ws",
        }
    }

    /// The NAPTR service field for this transport (RFC 3263 §4.1; the
    /// WebSocket ones are RFC 7118's IANA registrations).
    pub fn naptr_service(self) -> &'static str {
        match self {
            Transport::Udp => "SIP+D2U",
            Transport::Tcp => "SIP+D2T",
            Transport::Tls => "SIPS+D2T",
            Transport::Ws => "SIP+D2W",
            Transport::Wss => "SIPS+D2W",
        }
    }

    /// The transport a NAPTR service field names, case-insensitively.
    pub fn from_naptr_service(service: &str) -> Option<Transport> {
        Transport::ALL
            .into_iter()
            .find(|t| t.naptr_service().eq_ignore_ascii_case(service))
    }

    /// The `transport=` parameter value (lower case, as in Via).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One place to send the request: the result of resolution, tried in order
/// (RFC 3263 §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// Transport to use.
    pub transport: Transport,
    /// Address and port to send to.
    pub addr: SocketAddr,
    /// The host of the URI being resolved (not the SRV target): the identity
    /// a TLS certificate is checked against (RFC 5922 §4), and what logs name.
    pub host: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.transport, self.addr, self.host)
    }
}
