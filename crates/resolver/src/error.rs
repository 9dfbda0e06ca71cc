//! Why a SIP URI could not be resolved to any target.

use std::fmt;

use crate::transport::{Scheme, Transport};

/// Resolution failed; the caller answers the request it could not forward
/// (typically 503, or 416/400 for the URI errors) and can say why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The URI's host is empty or not a valid host.
    InvalidHost(String),
    /// The URI names a transport we do not run (or one that makes no sense
    /// under its scheme, such as `sips:…;transport=udp`).
    UnsupportedTransport {
        /// The URI's scheme.
        scheme: Scheme,
        /// The transport it asked for, if it was one we know.
        transport: Option<Transport>,
    },
    /// None of the transports we run can carry this scheme (a `sips` URI
    /// without TLS configured, RFC 3263 §4.1).
    NoUsableTransport(Scheme),
    /// DNS answered, but with no usable record for the host.
    NotFound {
        /// The URI host.
        host: String,
    },
    /// DNS failed (timeout, SERVFAIL, unreachable name server) and nothing
    /// usable was found.
    Dns {
        /// The URI host.
        host: String,
        /// The first failure met.
        reason: String,
    },
    /// The resolver could not be built from its configuration.
    Config(String),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::InvalidHost(h) => write!(f, "invalid host {h:?}"),
            ResolveError::UnsupportedTransport {
                scheme,
                transport: Some(t),
            } => write!(f, "transport {t} is not available for a {scheme:?} URI"),
            ResolveError::UnsupportedTransport {
                scheme,
                transport: None,
            } => write!(f, "unknown transport for a {scheme:?} URI"),
            ResolveError::NoUsableTransport(scheme) => {
                write!(f, "no configured transport can carry a {scheme:?} URI")
            }
            ResolveError::NotFound { host } => write!(f, "no SIP server found for {host}"),
            ResolveError::Dns { host, reason } => {
                write!(f, "DNS lookup for {host} failed: {reason}")
            }
            ResolveError::Config(reason) => write!(f, "resolver configuration: {reason}"),
        }
    }
}

impl std::error::Error for ResolveError {}
