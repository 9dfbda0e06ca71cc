//! What the endpoint needs from the transports: send bytes back to where a request came
//! from, send requests to resolved targets, know our own address on each transport (for
//! Via and Contact) and whether a path is reliable (which changes every RFC 3261
//! timer). A trait so the endpoint's rules can be tested without sockets.

use std::fmt::Debug;
use std::hash::Hash;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use sip_resolver::{Target, Transport};

use crate::nat::Nat;

/// A boxed future (services and the wire are used behind `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Our end of a path: the address a transport listens on and that transport's NAT
/// settings. What goes into the Via sent-by and Contact of what we send on it.
#[derive(Debug, Clone)]
pub struct Local {
    /// The transport's address, made concrete: a listener bound to a wildcard address
    /// reports the address the system would send from toward the destination. The port
    /// is the listening port (for TCP/TLS too: a peer that must open a new connection
    /// for a response opens it there, RFC 3261 §18.2.2).
    pub addr: SocketAddr,
    /// The transport's `external_signaling_*` and `local_net` settings.
    pub nat: Arc<Nat>,
}

/// The transports, as the endpoint sees them.
pub trait Wire: Send + Sync + 'static {
    /// Where a request came from (and so where its responses go).
    type Source: Clone + Debug + Eq + Hash + Send + Sync + 'static;

    /// Whether messages to and from `source` travel on a reliable transport (TCP,
    /// TLS, WS): no retransmissions, zero wait timers (RFC 3261 §17).
    fn reliable(source: &Self::Source) -> bool;

    /// Sends a response (or a retransmission of one) toward `source`, by the rules of
    /// RFC 3261 §18.2.2.
    fn send_response<'a>(
        &'a self,
        source: &'a Self::Source,
        bytes: Bytes,
    ) -> BoxFuture<'a, io::Result<()>>;

    /// The transports requests can be sent over, in order of preference: what RFC 3263
    /// resolution may choose from. A wire that only answers requests has none (the
    /// default), and [`crate::Endpoint::send_request`] then fails before sending.
    fn transports(&self) -> Vec<Transport> {
        Vec::new()
    }

    /// Our address and NAT settings on the transport that carries requests to
    /// `target`. An error (no listener of that protocol or address family) is a
    /// transport error for that target, which then fails over to the next.
    fn local_for(&self, target: &Target) -> io::Result<Local> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("this wire cannot send requests ({target})"),
        ))
    }

    /// Sends a request (or a retransmission of one) to `target` over its transport:
    /// a UDP datagram from the socket [`Wire::local_for`] names, or over a connection
    /// to `target.addr` (an existing one is reused, RFC 3261 §18.1.1), whose responses
    /// come back to the endpoint like any other message. Errors are reported to the
    /// client transaction (RFC 3261 §17.1.4).
    fn send_request<'a>(
        &'a self,
        target: &'a Target,
        bytes: Bytes,
    ) -> BoxFuture<'a, io::Result<()>> {
        let _ = bytes;
        Box::pin(async move {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("this wire cannot send requests ({target})"),
            ))
        })
    }

    /// For a request that arrived from `source`: our end of that path and the peer's
    /// address, so Contacts in our responses can be written for a peer outside
    /// `local_net`. `None` (the default) leaves responses as the services wrote them.
    fn path_of(&self, source: &Self::Source) -> Option<(Local, SocketAddr)> {
        let _ = source;
        None
    }
}
