//! The SIP endpoint (spec §13, "the PJSIP endpoint"): every message from the
//! transports goes to the serializer (shard) that owns its Call-ID, where the
//! transaction layer matches it and new requests go to the services in priority
//! order. One call's messages are handled in order; different calls in parallel.
//!
//! Overload: past a high-water mark a shard's new out-of-dialog requests get 503 with
//! Retry-After, while in-dialog requests and responses still get in. Requests nobody
//! claims get 405 (known methods) or 501 (unknown ones), with Allow.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod endpoint;
pub mod options;
pub mod responses;
pub mod service;
pub mod shard;
pub mod wire;

pub use endpoint::{Counters, Endpoint, EndpointConfig};
pub use options::OptionsResponder;
pub use service::{Handled, IncomingRequest, Service};
pub use wire::{BoxFuture, Wire};
