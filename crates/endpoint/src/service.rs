//! Services: the parts of the server that answer requests (OPTIONS, registrar, …).
//! They are tried in priority order, as PJSIP modules are; the first that claims a
//! request answers it.

use sip_message::{Message, Method};

use crate::wire::BoxFuture;

/// One request as a service sees it.
#[derive(Debug)]
pub struct IncomingRequest<S> {
    /// The request (Via stamped with received/rport by the transport).
    pub message: Message,
    /// Where it came from.
    pub source: S,
}

impl<S> IncomingRequest<S> {
    /// The request's method.
    pub fn method(&self) -> Option<&Method> {
        self.message.method()
    }
}

/// A service.
pub trait Service<S>: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &str;

    /// Lower runs first (PJSIP module priorities: e.g. the ACL check before
    /// identification before the registrar).
    fn priority(&self) -> u32;

    /// The methods this service can answer, for the Allow header of 405/501 and of
    /// the OPTIONS response.
    fn methods(&self) -> &[Method];

    /// Handles the request: [`Handled::Answered`] claims it (a final response, sent
    /// through the request's server transaction), [`Handled::Declined`] passes it on.
    /// The request is moved in and handed back when declined: messages cache their
    /// decoded headers without locks, so they move between tasks but are not shared.
    fn handle(&self, request: IncomingRequest<S>) -> BoxFuture<'_, Handled<S>>;
}

/// A service's verdict.
#[derive(Debug)]
pub enum Handled<S> {
    /// The final response.
    Answered(Message),
    /// Not this service's: the next one gets the request.
    Declined(IncomingRequest<S>),
}
