//! The pipeline as one endpoint service (spec §13): every request that reaches it goes
//! through the global ACL, identification, the endpoint's ACLs and authentication, in
//! that order, before the services that need an endpoint see it.
//!
//! * A source or Contact that a `type=acl` object denies gets a **403** (stateless in
//!   Asterisk; here through the transaction, which absorbs retransmissions).
//! * An unidentified request, or one that fails its endpoint's ACLs, is treated as
//!   coming from the *artificial* endpoint: it is challenged like any other (401), and
//!   no credentials can ever satisfy it — so an unknown user, a wrong password and a
//!   denied address look the same on the wire (no account enumeration, §7, §8.4).
//! * ACK is never challenged or answered.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use sip_endpoint::responses::reply;
use sip_endpoint::{BoxFuture, Handled, IncomingRequest, Service};
use sip_message::headers::Credentials;
use sip_message::{HeaderKind, Message, Method};
use sorcery::objects::Objects;
use sorcery::types::endpoint::Endpoint;

use crate::acl::NamedAcls;
use crate::identify::{Identifiers, IdentifySettings, RequestFacts};
use crate::source::RequestSource;
use crate::unidentified::UnidentifiedRequests;

/// What authentication needs from a request, copied out of it (see the identify
/// module for why no step holds the message across a lookup).
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// The method, as written.
    pub method: String,
    /// The Request-URI, as written (Digest's `uri` is compared with it).
    pub request_uri: String,
    /// Every Authorization header value.
    pub credentials: Vec<Credentials>,
    /// The packet's source address (stateless nonces are bound to its IP).
    pub remote: SocketAddr,
    /// The From URI as written, for the security log line.
    pub from: String,
    /// The Call-ID, for the security log line.
    pub call_id: String,
}

/// Authentication's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthVerdict {
    /// The endpoint needs no authentication, or the credentials are right.
    Pass,
    /// Answer 401 with these `WWW-Authenticate` values.
    Challenge(Vec<String>),
    /// The auth objects could not be read: 500.
    Error(String),
}

/// Checks credentials; the digest authenticator implements it. `endpoint` is `None`
/// for the artificial endpoint, which must always be challenged.
pub trait Authenticator: Send + Sync {
    /// The verdict for `request` from `endpoint`.
    fn authenticate<'a>(
        &'a self,
        request: &'a AuthRequest,
        endpoint: Option<&'a Endpoint>,
    ) -> BoxFuture<'a, AuthVerdict>;
}

/// A request that passed the pipeline, with the endpoint it belongs to.
#[derive(Debug)]
pub struct EndpointRequest<S> {
    /// The request and its source.
    pub request: IncomingRequest<S>,
    /// The identified (and, where configured, authenticated) endpoint.
    pub endpoint: Arc<Endpoint>,
}

/// A service behind the pipeline (registrar, OPTIONS, later sessions, …).
pub trait EndpointService<S>: Send + Sync {
    /// For logs.
    fn name(&self) -> &str;
    /// The methods it answers (for Allow).
    fn methods(&self) -> &[Method];
    /// Answers, or hands the request back.
    fn handle(
        &self,
        request: EndpointRequest<S>,
    ) -> BoxFuture<'_, Result<Message, EndpointRequest<S>>>;
}

/// The pipeline.
pub struct Pipeline<S> {
    objects: Arc<Objects>,
    acls: NamedAcls,
    identifiers: Identifiers,
    settings: IdentifySettings,
    ignore_uri_user_options: bool,
    authenticator: Arc<dyn Authenticator>,
    services: Vec<Arc<dyn EndpointService<S>>>,
    methods: Vec<Method>,
    /// Per-source counting of unidentified requests (§8.5); without it each one is
    /// logged at once.
    unidentified: Option<Arc<UnidentifiedRequests>>,
}

impl<S: RequestSource> Pipeline<S> {
    /// A pipeline over `objects` with these identifiers (already ordered), named ACLs,
    /// authenticator and services (tried in order).
    pub fn new(
        objects: Arc<Objects>,
        acls: NamedAcls,
        identifiers: Identifiers,
        settings: IdentifySettings,
        ignore_uri_user_options: bool,
        authenticator: Arc<dyn Authenticator>,
        services: Vec<Arc<dyn EndpointService<S>>>,
    ) -> Pipeline<S> {
        let mut methods: Vec<Method> = Vec::new();
        for s in &services {
            for m in s.methods() {
                if !methods.contains(m) {
                    methods.push(m.clone());
                }
            }
        }
        Pipeline {
            objects,
            acls,
            identifiers,
            settings,
            ignore_uri_user_options,
            authenticator,
            services,
            methods,
            unidentified: None,
        }
    }

    /// Counts unidentified requests per source and logs a source only once it passes
    /// the table's thresholds (what Asterisk does when `auth_username` is among the
    /// identifiers, spec §8.5); a source that authenticates is forgotten.
    pub fn with_unidentified(mut self, table: Arc<UnidentifiedRequests>) -> Pipeline<S> {
        self.unidentified = Some(table);
        self
    }

    /// Whether the global `type=acl` objects let `remote` and the request's Contact
    /// addresses in.
    async fn global_acl_allows(&self, remote: SocketAddr, contacts: &[IpAddr]) -> bool {
        let acls = match self.objects.acl.get_all().await {
            Ok(a) => a,
            Err(e) => {
                // Failing open would let a database outage disable access control.
                tracing::error!("acl objects unavailable ({e}): request refused");
                return false;
            }
        };
        acls.iter().all(|a| {
            self.acls.permits(&a.source, remote.ip())
                && contacts.iter().all(|ip| self.acls.permits(&a.contact, *ip))
        })
    }

    /// Logs an unidentified request: at once, or through the per-source count.
    fn unidentified_request(&self, auth: &AuthRequest) {
        const WHY: &str = "No matching endpoint found";
        let Some(table) = &self.unidentified else {
            security_failure(auth, WHY);
            return;
        };
        let now = Instant::now();
        if let Some(u) = table.record(auth.remote.ip(), now) {
            let ms = now.saturating_duration_since(u.first_seen).as_secs_f64() * 1000.0;
            security_failure(
                auth,
                &format!("{WHY} after {} tries in {ms:.3} ms", u.count),
            );
        }
    }

    async fn run(&self, request: IncomingRequest<S>) -> Handled<S> {
        let remote = request.source.remote();
        let is_ack = request.method() == Some(&Method::Ack);
        let facts = RequestFacts::of(&request.message, remote, self.ignore_uri_user_options)
            .arriving_on(request.source.transport(), request.source.local());
        let contacts = contact_ips(&request.message);
        let auth = AuthRequest {
            method: request
                .method()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            request_uri: facts.request_uri.clone(),
            credentials: request
                .message
                .authorization()
                .map(|c| c.to_vec())
                .unwrap_or_default(),
            remote,
            from: request
                .message
                .from()
                .map(|f| f.uri().as_str().to_owned())
                .unwrap_or_default(),
            call_id: request
                .message
                .call_id()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
        };

        if is_ack {
            // An ACK is never challenged or answered (the endpoint absorbs ACKs before
            // services today; this keeps the rule when dialogs hand them on).
            return Handled::Declined(request);
        }
        if !self.global_acl_allows(remote, &contacts).await {
            tracing::warn!("Request from '{remote}' denied by a global ACL");
            return Handled::Answered(reply(&request.message, 403, None, &[]));
        }

        let identified = self
            .identifiers
            .identify(&facts, &self.objects, &self.settings)
            .await;
        let endpoint = match identified {
            Some((endpoint, by)) => {
                let settings = &endpoint.settings;
                if !self.acls.permits(&settings.acl, remote.ip())
                    || !contacts
                        .iter()
                        .all(|ip| self.acls.permits(&settings.contact_acl, *ip))
                {
                    security_failure(&auth, "Not match Endpoint ACL");
                    None
                } else {
                    tracing::debug!(
                        "request from {remote} identified as '{}' by {by}",
                        endpoint.meta.id
                    );
                    Some(endpoint)
                }
            }
            None => {
                self.unidentified_request(&auth);
                None
            }
        };
        let skip_auth = endpoint.as_ref().is_some_and(|e| {
            request.method() == Some(&Method::Options) && e.settings.allow_unauthenticated_options
        });
        if !skip_auth {
            match self
                .authenticator
                .authenticate(&auth, endpoint.as_deref())
                .await
            {
                AuthVerdict::Pass => {
                    if let (Some(table), Some(_)) = (&self.unidentified, &endpoint) {
                        table.clear(remote.ip());
                    }
                }
                AuthVerdict::Challenge(challenges) => {
                    let headers: Vec<(HeaderKind, &str)> = challenges
                        .iter()
                        .map(|c| (HeaderKind::WwwAuthenticate, c.as_str()))
                        .collect();
                    return Handled::Answered(reply(&request.message, 401, None, &headers));
                }
                AuthVerdict::Error(e) => {
                    tracing::error!("authentication of a request from {remote} failed: {e}");
                    return Handled::Answered(reply(&request.message, 500, None, &[]));
                }
            }
        }
        let Some(endpoint) = endpoint else {
            // Only the artificial endpoint is left, and it never passes authentication.
            return Handled::Answered(reply(&request.message, 401, None, &[]));
        };
        let mut current = EndpointRequest { request, endpoint };
        for service in &self.services {
            match service.handle(current).await {
                Ok(response) => return Handled::Answered(response),
                Err(back) => current = back,
            }
        }
        Handled::Declined(current.request)
    }
}

/// Logs a refused request in Asterisk's words, so that existing fail2ban filters
/// (`Request '…' from '…' failed for '<HOST>:port' (callid: …) - <why>`) match
/// Switchboard's log unchanged (docs/services.md).
pub fn security_failure(request: &AuthRequest, why: &str) {
    tracing::warn!(
        "Request '{}' from '<{}>' failed for '{}' (callid: {}) - {why}",
        request.method,
        request.from,
        request.remote,
        request.call_id
    );
}

/// The IP addresses written in the request's Contact URIs (host names are not
/// resolved: the contact ACLs see only literal addresses).
fn contact_ips(message: &Message) -> Vec<IpAddr> {
    message
        .contacts()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.addr())
                .filter_map(|a| a.uri().as_sip())
                .filter_map(|u| {
                    u.host()
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<IpAddr>()
                        .ok()
                })
                .collect()
        })
        .unwrap_or_default()
}

impl<S: RequestSource> Service<S> for Pipeline<S> {
    fn name(&self) -> &str {
        "pipeline"
    }

    /// Before the default OPTIONS responder and anything else that answers requests.
    fn priority(&self) -> u32 {
        100
    }

    fn methods(&self) -> &[Method] {
        &self.methods
    }

    fn handle(&self, request: IncomingRequest<S>) -> BoxFuture<'_, Handled<S>> {
        Box::pin(self.run(request))
    }
}
