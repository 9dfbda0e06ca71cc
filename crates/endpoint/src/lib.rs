//! The SIP endpoint (spec §13, "the PJSIP endpoint"): every message from the
//! transports goes to the serializer (shard) that owns its Call-ID, where the
//! transaction layer matches it and new requests go to the services in priority
//! order. One call's messages are handled in order; different calls in parallel.
//!
//! Requests go out through [`Endpoint::send_request`] ([`client`]): RFC 3263
//! resolution, a client transaction in the shard that owns the Call-ID, failover to
//! the next target on transport error, timeout or 503, and the NAT rules of [`nat`]
//! for Via and Contact.
//!
//! Overload: past a high-water mark a shard's new out-of-dialog requests get 503 with
//! Retry-After, while in-dialog requests and responses still get in. Requests nobody
//! claims get 405 (known methods) or 501 (unknown ones), with Allow.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod endpoint;
pub mod nat;
pub mod options;
pub mod responses;
pub mod service;
pub mod shard;
pub mod wire;

pub use client::{ClientError, ClientResponse, Destination, OutgoingRequest};
pub use endpoint::{Counters, Endpoint, EndpointConfig};
pub use nat::{HostPort, Nat, Net};
pub use options::OptionsResponder;
pub use service::{Handled, IncomingRequest, Service};
/// The resolver types the client API uses.
pub use sip_resolver::{Resolver, Target, Transport};
pub use wire::{BoxFuture, Local, Wire};
