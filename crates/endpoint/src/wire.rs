//! What the endpoint needs from the transports: send bytes back to where a request came
//! from, and know whether that path is reliable (which changes every RFC 3261 timer).
//! A trait so the endpoint's rules can be tested without sockets.

use std::fmt::Debug;
use std::hash::Hash;
use std::io;
use std::pin::Pin;

use bytes::Bytes;

/// A boxed future (services and the wire are used behind `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

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
}
