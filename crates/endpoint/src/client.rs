//! The client side of the endpoint: send an out-of-dialog request and get its final
//! response, as qualify (OPTIONS to contacts) and outbound registration need.
//!
//! [`crate::Endpoint::send_request`] does what RFC 3261 and RFC 3263 ask of a UAC that
//! is not in a dialog:
//!
//! 1. the destination — the Request-URI, an outbound proxy's URI, or targets the caller
//!    resolved itself — is resolved to an ordered list of targets (RFC 3263 §4; a
//!    numeric host skips DNS, an explicit port skips NAPTR and SRV);
//! 2. for each attempt, a new top Via is written: our sent-by on the transport that
//!    carries the request (the external address toward peers outside `local_net`, see
//!    [`crate::nat`]), the transport token, a fresh branch with the RFC 3261 magic
//!    cookie (§8.1.1.7) and an empty `rport` (RFC 3581 §3);
//! 3. a client transaction runs in the shard that owns the Call-ID (retransmissions
//!    over UDP, Timers E/F/K; §17.1.2), where the responses to it arrive;
//! 4. a transport error, a timeout or a 503 moves to the next target with a new
//!    request (new branch, same CSeq: a new transaction, not a new request in a
//!    dialog — RFC 3263 §4.3); any other final response is the answer.
//!
//! Only non-INVITE requests are accepted: an INVITE needs a dialog to ACK a 2xx and a
//! CANCEL must follow its INVITE's target, which sessions will do. ACK is never a
//! transaction.

use std::fmt;
use std::time::Duration;

use sip_message::{HeaderKind, Message, Method, Uri, Via};
use sip_resolver::{
    Failover, Outcome, Planner, Request, ResolveError, Scheme, Step, Target, Transport,
};
use tokio::sync::{mpsc, oneshot};

use crate::nat::{rewrite_contacts, HostPort};
use crate::responses::new_tag;
use crate::shard::{Attempt, AttemptResult, Work};
use crate::wire::Wire;
use crate::Endpoint;

/// Where to send an outgoing request.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Resolve the Request-URI (RFC 3263 §4): no outbound proxy.
    RequestUri,
    /// Resolve this URI instead of the Request-URI: an outbound proxy, or a contact's
    /// `outbound_proxy` (spec §10). The Request-URI is sent unchanged.
    Uri(Uri),
    /// Send to these targets, in this order, without resolving anything (a caller that
    /// already knows the address, e.g. a contact learned from a REGISTER's source).
    Targets(Vec<Target>),
}

/// A request to send with [`Endpoint::send_request`].
#[derive(Debug)]
pub struct OutgoingRequest {
    /// The request: Request-URI, From (with tag), To, Call-ID, CSeq and any other
    /// header, but no Via (the endpoint writes it for each attempt). Max-Forwards 70
    /// is added when missing (RFC 3261 §8.1.1.6).
    pub message: Message,
    /// Where it goes.
    pub destination: Destination,
    /// When set, a `Contact: <sip:USER@our-address:port[;transport=…]>` is written for
    /// each attempt from the address of the transport used (the external one toward
    /// peers outside `local_net`): what a REGISTER needs, since our address is only
    /// known once a target is chosen. Any Contact already in the request is replaced.
    pub contact_user: Option<String>,
    /// Provisional responses (1xx) are sent here as they arrive, if given.
    pub provisional: Option<mpsc::UnboundedSender<Message>>,
}

impl OutgoingRequest {
    /// `message` to the Request-URI, nothing else.
    pub fn new(message: Message) -> OutgoingRequest {
        OutgoingRequest {
            message,
            destination: Destination::RequestUri,
            contact_user: None,
            provisional: None,
        }
    }

    /// With another destination.
    pub fn to(mut self, destination: Destination) -> OutgoingRequest {
        self.destination = destination;
        self
    }

    /// With a Contact of ours for `user` (see [`OutgoingRequest::contact_user`]).
    pub fn with_contact(mut self, user: &str) -> OutgoingRequest {
        self.contact_user = Some(user.to_owned());
        self
    }

    /// With a channel for provisional responses.
    pub fn with_provisional(mut self, tx: mpsc::UnboundedSender<Message>) -> OutgoingRequest {
        self.provisional = Some(tx);
        self
    }
}

/// The final response to a request sent with [`Endpoint::send_request`].
#[derive(Debug)]
pub struct ClientResponse {
    /// The final response. A 503 here means every target answered 503 (or failed).
    pub response: Message,
    /// The target that answered.
    pub target: Target,
    /// How many targets were tried, this one included.
    pub attempts: usize,
    /// From sending the request to this target to the final response (the qualify
    /// round-trip time).
    pub rtt: Duration,
}

/// Why no final response came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The request cannot be sent as it is (text says why); nothing was sent.
    Invalid(String),
    /// The destination could not be resolved (RFC 3263); nothing was sent.
    Resolve(ResolveError),
    /// The wire has no transport to send requests on.
    NoTransport,
    /// Every target was tried; the last one did not answer (Timer F, RFC 3261
    /// §17.1.2.2): the caller acts as on a 408 (§8.1.3.1).
    Timeout {
        /// The targets tried, in order.
        tried: Vec<Target>,
    },
    /// Every target was tried; sending to the last one failed (RFC 3261 §17.1.4):
    /// the caller acts as on a 503 (§8.1.3.1).
    Transport {
        /// The targets tried, in order.
        tried: Vec<Target>,
        /// The last error.
        error: String,
    },
    /// The endpoint is shutting down.
    Stopped,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |tried: &[Target]| {
            tried
                .iter()
                .map(Target::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            ClientError::Invalid(why) => write!(f, "request not sent: {why}"),
            ClientError::Resolve(e) => write!(f, "cannot resolve the destination: {e}"),
            ClientError::NoTransport => f.write_str("no transport can send requests"),
            ClientError::Timeout { tried } => write!(f, "no answer from {}", list(tried)),
            ClientError::Transport { tried, error } => {
                write!(f, "could not send to {}: {error}", list(tried))
            }
            ClientError::Stopped => f.write_str("the endpoint is stopping"),
        }
    }
}

impl std::error::Error for ClientError {}

/// What is checked and added before the first attempt: a non-INVITE request with the
/// headers a transaction needs and no Via of its own.
fn prepare(mut message: Message) -> Result<Message, ClientError> {
    let invalid = |s: &str| ClientError::Invalid(s.to_owned());
    let method = message
        .method()
        .cloned()
        .ok_or_else(|| invalid("not a request"))?;
    if matches!(method, Method::Ack | Method::Invite | Method::Cancel) {
        return Err(ClientError::Invalid(format!(
            "{} is not an out-of-dialog non-INVITE request",
            method.as_str()
        )));
    }
    if message.has(HeaderKind::Via) {
        return Err(invalid(
            "the request has a Via: the endpoint writes its own",
        ));
    }
    let from = message
        .from()
        .map_err(|e| ClientError::Invalid(e.to_string()))?;
    if from.tag().is_none() {
        return Err(invalid("the From header has no tag (RFC 3261 §8.1.1.3)"));
    }
    message
        .to()
        .map_err(|e| ClientError::Invalid(e.to_string()))?;
    message
        .call_id()
        .map_err(|e| ClientError::Invalid(e.to_string()))?;
    let cseq = message
        .cseq()
        .map_err(|e| ClientError::Invalid(e.to_string()))?;
    if cseq.method != method {
        return Err(invalid("the CSeq method is not the request's"));
    }
    if !message.has(HeaderKind::MaxForwards) {
        message
            .push_header(HeaderKind::MaxForwards, "70")
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
    }
    Ok(message)
}

/// The RFC 3263 request for a URI: scheme, host (or `maddr`, which overrides it,
/// RFC 3263 §4), port, and `transport=`.
fn resolve_request(uri: &Uri) -> Result<Request, ClientError> {
    let sip = uri
        .as_sip()
        .ok_or_else(|| ClientError::Invalid(format!("cannot send to a {}: URI", uri.scheme())))?;
    let scheme = if sip.is_secure() {
        Scheme::Sips
    } else {
        Scheme::Sip
    };
    let host = sip.maddr().unwrap_or(sip.host());
    let mut request = Request::new(scheme, host);
    if let Some(port) = sip.port() {
        request = request.with_port(port);
    }
    if let Some(param) = sip.transport() {
        let t = Transport::from_param(param, scheme).ok_or(ClientError::Resolve(
            ResolveError::UnsupportedTransport {
                scheme,
                transport: None,
            },
        ))?;
        request = request.with_transport(t);
    }
    Ok(request)
}

/// The Via token of a transport (RFC 3261 §20.42, RFC 7118 §5.2).
fn via_token(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
        Transport::Tls => "TLS",
        Transport::Ws => "WS",
        Transport::Wss => "WSS",
    }
}

/// A fresh RFC 3261 branch: the magic cookie and 64 unpredictable bits (§8.1.1.7).
pub(crate) fn new_branch() -> String {
    format!("z9hG4bK{}", new_tag())
}

/// The request for one attempt: our Via on top (with `rport`), and the Contact
/// written or rewritten for `sent_by` when asked or when NAT applies.
pub(crate) fn for_attempt(
    base: &Message,
    target: &Target,
    sent_by: &HostPort,
    nat_applies: bool,
    contact_user: Option<&str>,
) -> Result<Message, String> {
    let mut m = base.clone();
    let via = Via::new(
        via_token(target.transport),
        &sent_by.host,
        Some(sent_by.port),
        &new_branch(),
    )?
    .with_param("rport", None);
    m.prepend_header(HeaderKind::Via, via.as_str())
        .map_err(|e| e.to_string())?;
    if let Some(user) = contact_user {
        // RFC 3261 §8.1.1.8: a SIPS Request-URI asks for a SIPS Contact, where TLS is
        // implied. Otherwise `sip:` with `transport=` for anything but UDP, as Asterisk
        // writes it (`transport=tls` included, which every phone understands although
        // RFC 5630 prefers `sips:`).
        let secure = base
            .request_uri()
            .and_then(Uri::as_sip)
            .is_some_and(|u| u.is_secure());
        let scheme = if secure { "sips" } else { "sip" };
        let user = if user.is_empty() {
            String::new()
        } else {
            format!("{user}@")
        };
        let transport = match target.transport {
            Transport::Udp => String::new(),
            Transport::Tls | Transport::Wss if secure => String::new(),
            t => format!(";transport={}", t.as_str()),
        };
        let contact = format!("<{scheme}:{user}{sent_by}{transport}>");
        Uri::parse(&contact[1..contact.len() - 1]).map_err(|e| e.to_string())?;
        m.set_header(HeaderKind::Contact, &contact)
            .map_err(|e| e.to_string())?;
    } else if nat_applies {
        rewrite_contacts(&mut m, sent_by).map_err(|e| e.to_string())?;
    }
    Ok(m)
}

impl<W: Wire> Endpoint<W> {
    /// Sends an out-of-dialog non-INVITE request and returns its final response,
    /// failing over across the resolved targets on transport error, timeout and 503
    /// (RFC 3263 §4.3). See [`crate::client`] for the rules.
    ///
    /// A final response other than 503 is returned at once, whatever its class: a 404
    /// from one server is the domain's answer. When every target fails, the last
    /// failure is returned: a 503 response as `Ok`, a timeout or transport error as
    /// `Err`.
    pub async fn send_request(
        &self,
        request: OutgoingRequest,
    ) -> Result<ClientResponse, ClientError> {
        let OutgoingRequest {
            message,
            destination,
            contact_user,
            provisional,
        } = request;
        let base = prepare(message)?;
        let supported = self.shared.wire.transports();
        if supported.is_empty() {
            return Err(ClientError::NoTransport);
        }
        let targets = match destination {
            Destination::Targets(t) => t,
            Destination::RequestUri => {
                let uri = base
                    .request_uri()
                    .cloned()
                    .ok_or_else(|| ClientError::Invalid("no Request-URI".into()))?;
                self.resolve(&uri, &supported).await?
            }
            Destination::Uri(uri) => self.resolve(&uri, &supported).await?,
        };
        if targets.is_empty() {
            return Err(ClientError::Invalid("no target to send to".into()));
        }
        let shard = self.shard_of(&base);
        let mut failover = Failover::new(targets);
        let mut tried = Vec::new();
        let mut last: Option<Result<ClientResponse, ClientError>> = None;
        while let Some(target) = failover.current().cloned() {
            tried.push(target.clone());
            // The request for this attempt is built before any await: a message is
            // not `Sync`, so no reference to `base` may live across one.
            let prepared = self.prepare_attempt(&base, &target, contact_user.as_deref());
            let result = match prepared {
                Ok((message, sent_by)) => {
                    self.attempt(shard, message, sent_by, &target, &provisional)
                        .await?
                }
                Err(result) => (result, Duration::ZERO),
            };
            let outcome = match result {
                (AttemptResult::Final(response), rtt) => {
                    let code = response.status().unwrap_or(0);
                    last = Some(Ok(ClientResponse {
                        response: *response,
                        target: target.clone(),
                        attempts: tried.len(),
                        rtt,
                    }));
                    Outcome::Response(code)
                }
                (AttemptResult::Timeout, _) => {
                    tracing::info!("no answer from {target}; trying the next target");
                    last = Some(Err(ClientError::Timeout {
                        tried: tried.clone(),
                    }));
                    Outcome::Timeout
                }
                (AttemptResult::TransportError(error), _) => {
                    tracing::info!("cannot send to {target}: {error}; trying the next target");
                    last = Some(Err(ClientError::Transport {
                        tried: tried.clone(),
                        error,
                    }));
                    Outcome::TransportError
                }
                (AttemptResult::Refused(why), _) => return Err(ClientError::Invalid(why)),
            };
            if !outcome.fails_over() {
                break;
            }
            failover.advance();
        }
        last.unwrap_or(Err(ClientError::Stopped))
    }

    /// The request for one attempt at `target`: a new Via and branch, our sent-by on
    /// the transport that carries it (the external one outside `local_net`), and the
    /// Contact. A transport that cannot reach the target is a transport error.
    fn prepare_attempt(
        &self,
        base: &Message,
        target: &Target,
        contact_user: Option<&str>,
    ) -> Result<(Message, HostPort), AttemptResult> {
        let local = self
            .shared
            .wire
            .local_for(target)
            .map_err(|e| AttemptResult::TransportError(e.to_string()))?;
        let dest_ip = target.addr.ip();
        let sent_by = local.nat.address_for(local.addr, dest_ip);
        let message = for_attempt(
            base,
            target,
            &sent_by,
            local.nat.rewrites_for(dest_ip),
            contact_user,
        )
        .map_err(AttemptResult::Refused)?;
        Ok((message, sent_by))
    }

    /// Runs one attempt: a client transaction in the shard, until its outcome. `Err`
    /// only when the endpoint is stopping.
    async fn attempt(
        &self,
        shard: usize,
        message: Message,
        sent_by: HostPort,
        target: &Target,
        provisional: &Option<mpsc::UnboundedSender<Message>>,
    ) -> Result<(AttemptResult, Duration), ClientError> {
        let (reply, result) = oneshot::channel();
        let work = Work::Request(Box::new(Attempt {
            message,
            target: target.clone(),
            sent_by,
            default_port: target.transport.default_port(),
            reply,
            provisional: provisional.clone(),
        }));
        let queue = self.queues.get(shard).ok_or(ClientError::Stopped)?;
        let started = tokio::time::Instant::now();
        queue.send(work).await.map_err(|_| ClientError::Stopped)?;
        let result = result.await.map_err(|_| ClientError::Stopped)?;
        Ok((result, started.elapsed()))
    }

    /// RFC 3263 resolution of `uri` over the transports we run. Without a DNS resolver
    /// ([`Endpoint::with_resolver`]) only numeric hosts can be resolved.
    async fn resolve(
        &self,
        uri: &Uri,
        supported: &[Transport],
    ) -> Result<Vec<Target>, ClientError> {
        let request = resolve_request(uri)?;
        if let Some(resolver) = &self.resolver {
            return resolver
                .resolve(&request, supported)
                .await
                .map_err(ClientError::Resolve);
        }
        let host = request.host.clone();
        let mut planner = Planner::new(request, supported);
        match planner.step(&mut |_| 0) {
            Step::Done(result) => result.map_err(ClientError::Resolve),
            Step::Lookup(_) => Err(ClientError::Resolve(ResolveError::Config(format!(
                "no DNS resolver to look up {host}"
            )))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn options(extra: &str) -> Message {
        let text = format!(
            "OPTIONS sip:bob@192.0.2.9 SIP/2.0\r\nFrom: <sip:q@x>;tag=1\r\nTo: <sip:bob@192.0.2.9>\r\n\
             Call-ID: c1\r\nCSeq: 1 OPTIONS\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Message::parse(Bytes::from(text)).unwrap()
    }

    #[test]
    fn prepare_checks_and_adds_max_forwards() {
        let m = prepare(options("")).unwrap();
        assert_eq!(m.max_forwards().unwrap(), Some(70));
        let kept = prepare(options("Max-Forwards: 10\r\n")).unwrap();
        assert_eq!(kept.max_forwards().unwrap(), Some(10));
        assert!(matches!(
            prepare(options("Via: SIP/2.0/UDP h;branch=z9hG4bKa\r\n")),
            Err(ClientError::Invalid(_))
        ));
        let no_tag = Message::parse(Bytes::from(
            String::from_utf8_lossy(&options("").to_bytes()).replace(";tag=1", ""),
        ))
        .unwrap();
        assert!(matches!(prepare(no_tag), Err(ClientError::Invalid(_))));
        let invite = Message::parse(Bytes::from(
            String::from_utf8_lossy(&options("").to_bytes()).replace("OPTIONS", "INVITE"),
        ))
        .unwrap();
        assert!(matches!(prepare(invite), Err(ClientError::Invalid(_))));
    }

    #[test]
    fn resolve_request_reads_the_uri() {
        let r =
            resolve_request(&Uri::parse("sips:a@example.com:5071;transport=tcp").unwrap()).unwrap();
        assert_eq!(r.scheme, Scheme::Sips);
        assert_eq!(r.host, "example.com");
        assert_eq!(r.port, Some(5071));
        assert_eq!(r.transport, Some(Transport::Tls));
        let m = resolve_request(&Uri::parse("sip:a@example.com;maddr=192.0.2.1").unwrap()).unwrap();
        assert_eq!(m.host, "192.0.2.1");
        assert!(resolve_request(&Uri::parse("tel:+123").unwrap()).is_err());
        assert!(resolve_request(&Uri::parse("sip:a@h;transport=sctp").unwrap()).is_err());
    }

    #[test]
    fn each_attempt_gets_our_via_with_a_fresh_branch_and_rport() {
        let base = prepare(options("Contact: <sip:q@10.0.0.5:5060>\r\n")).unwrap();
        let target = Target {
            transport: Transport::Tcp,
            addr: "192.0.2.9:5060".parse().unwrap(),
            host: "192.0.2.9".into(),
        };
        let sent_by = HostPort {
            host: "198.51.100.7".into(),
            port: 5070,
        };
        let a = for_attempt(&base, &target, &sent_by, true, None).unwrap();
        let b = for_attempt(&base, &target, &sent_by, true, None).unwrap();
        let via = a.top_via().unwrap();
        assert_eq!(via.transport(), "TCP");
        assert_eq!(via.host(), "198.51.100.7");
        assert_eq!(via.port(), Some(5070));
        assert_eq!(via.rport(), Some(None));
        assert!(via.has_rfc3261_branch());
        assert_ne!(via.branch(), b.top_via().unwrap().branch());
        assert_eq!(
            a.contacts().unwrap()[0].addr().unwrap().uri().as_str(),
            "sip:q@198.51.100.7:5070"
        );
        let inside = for_attempt(&base, &target, &sent_by, false, None).unwrap();
        assert_eq!(
            inside.contacts().unwrap()[0].addr().unwrap().uri().as_str(),
            "sip:q@10.0.0.5:5060",
            "no NAT: the Contact is the caller's"
        );
        let filled = for_attempt(&base, &target, &sent_by, false, Some("reg")).unwrap();
        assert_eq!(
            filled.contacts().unwrap()[0].addr().unwrap().uri().as_str(),
            "sip:reg@198.51.100.7:5070;transport=tcp"
        );
        let mut secure = base.clone();
        secure.set_request_uri(Uri::parse("sips:bob@192.0.2.9").unwrap());
        let tls = Target {
            transport: Transport::Tls,
            ..target
        };
        let m = for_attempt(&secure, &tls, &sent_by, false, Some("reg")).unwrap();
        assert_eq!(m.top_via().unwrap().transport(), "TLS");
        assert_eq!(
            m.contacts().unwrap()[0].addr().unwrap().uri().as_str(),
            "sips:reg@198.51.100.7:5070",
            "a SIPS Request-URI asks for a SIPS Contact (RFC 3261 §8.1.1.8)"
        );
        let m = for_attempt(&base, &tls, &sent_by, false, Some("reg")).unwrap();
        assert_eq!(
            m.contacts().unwrap()[0].addr().unwrap().uri().as_str(),
            "sip:reg@198.51.100.7:5070;transport=tls"
        );
    }
}
