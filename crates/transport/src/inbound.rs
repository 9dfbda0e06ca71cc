//! Turning a parse result into what the endpoint receives, the same way for every
//! transport.

use sip_message::{Message, ParseError};

use crate::stamp::stamp_request;
use crate::{Inbound, Source};

/// Whether a datagram or WebSocket message is only a keep-alive (CRLF, CRLFCRLF,
/// whitespace, or nothing): not a message, nothing to parse or answer.
pub(crate) fn is_keepalive(data: &[u8]) -> bool {
    data.iter()
        .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
}

/// Classifies one received message:
///
/// * a request is stamped (RFC 3261 §18.2.1) and delivered; one whose top Via is
///   missing or undecodable is delivered as [`Inbound::Malformed`], since it cannot be
///   answered by its Via and the endpoint must answer 400;
/// * a response is delivered as is (the §18.1.2 sent-by check needs our own sent-by
///   values, which the endpoint knows);
/// * a request whose head parsed but whose body could not be framed is
///   [`Inbound::Malformed`]; the same for a response is dropped (a response is never
///   answered), as is anything whose head did not parse (there is no Via to answer to).
pub(crate) fn classify(parsed: Result<Message, ParseError>, source: Source) -> Option<Inbound> {
    match parsed {
        Ok(mut message) => {
            if !message.is_request() {
                return Some(Inbound::Message { message, source });
            }
            match stamp_request(&mut message, source.remote) {
                Ok(_) => Some(Inbound::Message { message, source }),
                Err(e) => {
                    tracing::debug!(remote = %source.remote, error = %e, "request with a bad top Via");
                    Some(Inbound::Malformed {
                        head: message,
                        reason: format!("Bad {e}"),
                        source,
                    })
                }
            }
        }
        Err(err) => match err.head() {
            Some(head) if head.is_request() => {
                let mut head = head.clone();
                // Best effort: a 400 should still follow the NAT binding.
                let _ = stamp_request(&mut head, source.remote);
                tracing::debug!(remote = %source.remote, error = %err, "malformed request");
                Some(Inbound::Malformed {
                    head,
                    reason: err.reason().to_owned(),
                    source,
                })
            }
            Some(_) => {
                tracing::debug!(remote = %source.remote, error = %err, "malformed response dropped");
                None
            }
            None => {
                tracing::debug!(remote = %source.remote, error = %err, "unparseable message dropped");
                None
            }
        },
    }
}
