//! RFC 3263 server location for outgoing SIP requests: which transport,
//! address and port to send a request for a SIP URI to, and in which order to
//! try the alternatives when one fails.
//!
//! The crate follows the project's sans-IO shape:
//!
//! - [`plan`]: the pure RFC 3263 §4 procedure ([`Planner`]) — it decides the
//!   NAPTR/SRV/A/AAAA lookups and turns their answers into [`Target`]s,
//!   without sockets, clocks or hidden randomness.
//! - [`srv`]: RFC 2782 priority/weight ordering of an SRV RRset.
//! - [`resolver`]: the async driver ([`Resolver`]) that performs the lookups
//!   with hickory-resolver (whose cache honours the records' TTLs).
//! - [`failover`]: the cursor the caller advances on transport error,
//!   timeout or 503 (RFC 3263 §4.3).
//!
//! ```no_run
//! # async fn demo() -> Result<(), sip_resolver::ResolveError> {
//! use sip_resolver::{Failover, Request, Resolver, Scheme, Transport};
//! let resolver = Resolver::from_system()?;
//! let targets = resolver
//!     .resolve(&Request::new(Scheme::Sip, "example.com"), &[Transport::Udp, Transport::Tcp])
//!     .await?;
//! let mut failover = Failover::new(targets);
//! while let Some(target) = failover.current() {
//!     // send to target.addr over target.transport; on error/timeout/503:
//!     # let _ = target;
//!     failover.advance();
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod failover;
pub mod plan;
pub mod resolver;
pub mod srv;
mod transport;

pub use error::ResolveError;
pub use failover::{Failover, Next, Outcome};
pub use plan::{Answer, NaptrRecord, Planner, Query, QueryId, Request, Step};
pub use resolver::Resolver;
pub use srv::{order_srv, SrvRecord};
pub use transport::{Scheme, Target, Transport};
