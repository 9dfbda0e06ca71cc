//! The default OPTIONS responder (spec §10 "inbound OPTIONS"): 200 with Allow, Accept,
//! Supported, Accept-Encoding and Accept-Language, for requests no other service
//! claims. Later it sits behind identification and authentication.

use sip_message::{HeaderKind, Method};

use crate::responses::reply;
use crate::service::{Handled, IncomingRequest, Service};
use crate::wire::BoxFuture;

/// Answers OPTIONS.
pub struct OptionsResponder {
    allow: String,
    accept: String,
    supported: String,
}

impl OptionsResponder {
    /// A responder advertising `allow` (every method some service handles), the body
    /// types the server accepts and the option tags it supports (only those really
    /// implemented: a peer relies on them).
    pub fn new(allow: &[Method], accept: &[&str], supported: &[&str]) -> OptionsResponder {
        OptionsResponder {
            allow: allow
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            accept: accept.join(", "),
            supported: supported.join(", "),
        }
    }
}

impl<S: Send + Sync + 'static> Service<S> for OptionsResponder {
    fn name(&self) -> &str {
        "options"
    }

    /// Last: any service that wants OPTIONS for itself (qualify of a specific
    /// endpoint, authentication) comes first.
    fn priority(&self) -> u32 {
        u32::MAX - 1
    }

    fn methods(&self) -> &[Method] {
        &[Method::Options]
    }

    fn handle(&self, request: IncomingRequest<S>) -> BoxFuture<'_, Handled<S>> {
        Box::pin(async move {
            if request.method() != Some(&Method::Options) {
                return Handled::Declined(request);
            }
            Handled::Answered(reply(
                &request.message,
                200,
                None,
                &[
                    (HeaderKind::Allow, &self.allow),
                    (HeaderKind::Accept, &self.accept),
                    (HeaderKind::Supported, &self.supported),
                    (HeaderKind::AcceptEncoding, "identity"),
                    (HeaderKind::AcceptLanguage, "en"),
                ],
            ))
        })
    }
}
