//! What the pipeline needs to know about where a request came from. A trait so the
//! services do not depend on the transport crate's types (and tests need no sockets).

use std::net::SocketAddr;

/// The facts about a request's arrival that identification, ACLs and the registrar
/// use.
pub trait RequestSource: Clone + Send + Sync + 'static {
    /// The packet's source address (not anything the message claims).
    fn remote(&self) -> SocketAddr;
    /// Our address it arrived at (for a UDP socket bound to a wildcard address, the
    /// wildcard).
    fn local(&self) -> SocketAddr;
    /// The Via transport token of the transport it arrived on (`UDP`, `TCP`, `TLS`,
    /// `WS`, `WSS`).
    fn transport(&self) -> &'static str;
    /// Whether that transport is a connection (responses and NAT contacts go back on
    /// it).
    fn reliable(&self) -> bool;
    /// The connection it arrived on (the transport's number for it, never reused
    /// while the process runs); `None` over UDP. The registrar binds `prune_on_boot`
    /// contacts to it, to remove them when it closes (spec §6.7).
    fn connection(&self) -> Option<u64> {
        None
    }
}
