//! One serializer: a task that owns a transaction table and handles, in arrival order,
//! every message whose key (Call-ID) hashes to it. Messages of one call are therefore
//! handled in order while other shards run in parallel; the table needs no lock.
//!
//! The same table holds the client transactions of requests we send
//! ([`crate::Endpoint::send_request`]): a response then reaches the transaction that
//! sent its request because both are keyed by the Call-ID's shard.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};

use sip_message::{HeaderKind, Message, Method};
use sip_resolver::Target;
use sip_transaction::{Event, Key, RequestOutcome, ResponseOutcome, Transactions, Transmit};
use tokio::sync::{mpsc, oneshot};

use crate::nat::{response_contact_is_ours, rewrite_contacts, HostPort};
use crate::responses::{phrase, reply};
use crate::service::{Handled, IncomingRequest, Service};
use crate::wire::Wire;

/// Where a transaction's messages go: back along the path a request came from (server
/// transactions), or to a resolved target (client transactions).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dest<S> {
    /// The source of a request we answer.
    Peer(S),
    /// A target we send a request to.
    Target(Target),
}

/// One attempt of [`crate::Endpoint::send_request`]: a request with our Via, for a new
/// client transaction to one target.
#[derive(Debug)]
pub struct Attempt {
    /// The request, Via written.
    pub(crate) message: Message,
    /// Where it goes.
    pub(crate) target: Target,
    /// The sent-by of our Via: responses whose top Via says otherwise are not ours
    /// (RFC 3261 §18.1.2).
    pub(crate) sent_by: HostPort,
    /// The port a Via without one means (5060, 5061 for TLS).
    pub(crate) default_port: u16,
    /// Where the outcome goes.
    pub(crate) reply: oneshot::Sender<AttemptResult>,
    /// Where provisional responses go.
    pub(crate) provisional: Option<mpsc::UnboundedSender<Message>>,
}

/// How one attempt ended.
#[derive(Debug)]
pub(crate) enum AttemptResult {
    /// A final response.
    Final(Box<Message>),
    /// Timer F fired.
    Timeout,
    /// The transport could not send (RFC 3261 §17.1.4).
    TransportError(String),
    /// The transaction layer refused the request (text says why); not a reason to try
    /// another target.
    Refused(String),
}

/// A client transaction waiting for its final response.
struct Pending {
    reply: oneshot::Sender<AttemptResult>,
    provisional: Option<mpsc::UnboundedSender<Message>>,
    sent_by: HostPort,
    default_port: u16,
    /// The last send error, reported with the transport error.
    error: Option<String>,
}

/// What a shard is given.
#[derive(Debug)]
pub enum Work<S> {
    /// A request or response from the transports.
    Message {
        /// The message.
        message: Message,
        /// Where it came from.
        source: S,
        /// The shard's queue was past its high-water mark when this arrived: a new
        /// out-of-dialog request gets 503 instead of the services (decided after
        /// transaction matching, so retransmissions still get their stored answer).
        overloaded: bool,
    },
    /// Start a client transaction.
    Request(Box<Attempt>),
    /// Sending for this transaction failed on a task of its own (stream sends): the
    /// transaction is told (RFC 3261 §17.1.4).
    SendFailed {
        /// The transaction.
        key: Key,
        /// What went wrong.
        error: String,
    },
}

/// Everything shards share (read-only).
pub struct Shared<W: Wire> {
    /// The transports.
    pub wire: Arc<W>,
    /// Services, sorted by priority.
    pub services: Vec<Arc<dyn Service<W::Source>>>,
    /// The Allow header value: every method some service handles.
    pub allow: String,
    /// Seconds in the Retry-After of an overload 503.
    pub retry_after: u32,
    /// Most transactions one shard's table may hold; beyond it requests that would
    /// start one get 503 without one.
    pub max_transactions: usize,
    /// Counters the operator reads.
    pub counters: Arc<crate::endpoint::Counters>,
}

/// The shard's clock. Tokio's, not the system's: the same in production, and it lets
/// tests run RFC 3261 timers in paused (simulated) time.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Runs one shard until its queue closes. `me` is the shard's own queue, weakly (so
/// the shard still ends when the endpoint is dropped): stream sends that run on tasks
/// of their own report failures through it.
pub async fn run<W: Wire>(
    shared: Arc<Shared<W>>,
    table: Transactions<Dest<W::Source>>,
    mut queue: mpsc::Receiver<Work<W::Source>>,
    me: mpsc::WeakSender<Work<W::Source>>,
) {
    let mut shard = Shard {
        shared,
        table,
        pending: HashMap::new(),
        answering: FuturesUnordered::new(),
        me,
    };
    loop {
        let deadline = shard.table.poll_timeout();
        let timer = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let busy = !shard.answering.is_empty();
        tokio::select! {
            work = queue.recv() => match work {
                None => return,
                Some(work) => shard.on_work(work).await,
            },
            Some(done) = shard.answering.next(), if busy => shard.respond(done).await,
            () = timer => {
                let events = shard.table.handle_timeout(now());
                shard.handle_events(events).await;
            }
        }
    }
}

/// Most requests one shard lets its services work on at once (waiting for a commit
/// to the contact store, later for a dialplan or a database). Beyond it, new
/// out-of-dialog requests are refused with 503 as when the queue is past its
/// high-water mark: each waiting request holds its message and a transaction, and a
/// stalled store must not turn into unbounded memory.
const MAX_ANSWERING: usize = 16_384;

/// A service's answer to a request, ready for its server transaction.
struct Answer<S> {
    key: Key,
    source: S,
    method: Option<Method>,
    response: Message,
}

type Answering<S> = Pin<Box<dyn Future<Output = Answer<S>> + Send>>;

/// One shard's state: its transaction table and the client transactions waiting for
/// an answer.
struct Shard<W: Wire> {
    shared: Arc<Shared<W>>,
    table: Transactions<Dest<W::Source>>,
    pending: HashMap<Key, Pending>,
    /// Requests whose services are still working (a registrar waiting for its
    /// commit): the shard goes on with other messages meanwhile, so one slow request
    /// does not hold up every call hashed here, and waiting requests can share a
    /// commit. Polled by the shard's own task, so no task or channel per request.
    answering: FuturesUnordered<Answering<W::Source>>,
    me: mpsc::WeakSender<Work<W::Source>>,
}

impl<W: Wire> Shard<W> {
    async fn on_work(&mut self, work: Work<W::Source>) {
        match work {
            Work::Message {
                message,
                source,
                overloaded,
            } => {
                if message.is_request() {
                    self.on_request(message, source, overloaded).await;
                } else {
                    self.on_response(message).await;
                }
            }
            Work::Request(attempt) => self.start_client(*attempt).await,
            Work::SendFailed { key, error } => self.transport_error(&key, error),
        }
    }

    /// Sends for transaction `key` (none for stateless answers). Over a stream (TCP,
    /// TLS) the send runs on a task of its own: a slow or dead peer (a connect that
    /// times out, a full socket) must not hold up the shard, which serves every call
    /// hashed to it; a failure comes back as [`Work::SendFailed`]. A UDP send
    /// completes at once, so it is done in place (a task per datagram cost 12% of the
    /// OPTIONS rate). Stream sends to one peer may overtake each other; that matters
    /// only for a provisional and a final response in quick succession, which
    /// sessions will order themselves.
    ///
    /// A failed send is a transport error for the transaction (RFC 3261 §17.1.4,
    /// §17.2.4): a client transaction ends and its request fails over.
    async fn send(&mut self, key: Option<&Key>, transmit: Transmit<Dest<W::Source>>) {
        let reliable = match &transmit.dest {
            Dest::Peer(s) => W::reliable(s),
            Dest::Target(t) => t.transport.is_reliable(),
        };
        if reliable {
            let wire = Arc::clone(&self.shared.wire);
            let me = self.me.clone();
            let key = key.cloned();
            tokio::spawn(async move {
                if let Err(e) = send_on(&*wire, &transmit.dest, transmit.bytes).await {
                    tracing::warn!("sending to {:?} failed: {e}", transmit.dest);
                    if let (Some(key), Some(queue)) = (key, me.upgrade()) {
                        let work = Work::SendFailed {
                            key,
                            error: e.to_string(),
                        };
                        let _ = queue.send(work).await;
                    }
                }
            });
        } else if let Err(e) = send_on(&*self.shared.wire, &transmit.dest, transmit.bytes).await {
            tracing::warn!("sending to {:?} failed: {e}", transmit.dest);
            if let Some(key) = key {
                self.transport_error(key, e.to_string());
            }
        }
    }

    /// Tells transaction `key` that the transport failed, and its TU.
    fn transport_error(&mut self, key: &Key, error: String) {
        if let Some(p) = self.pending.get_mut(key) {
            p.error = Some(error);
        }
        let events = self.table.transport_error(key);
        self.settle(events);
    }

    /// Handles what the table reports after timers fire: sends, then endings.
    async fn handle_events(&mut self, events: Vec<Event<Dest<W::Source>>>) {
        let mut rest = Vec::new();
        for event in events {
            match event {
                Event::Send { key, transmit, .. } => self.send(Some(&key), transmit).await,
                other => rest.push(other),
            }
        }
        self.settle(rest);
    }

    /// Timeouts, transport errors and endings: the waiting client gets its outcome.
    fn settle(&mut self, events: Vec<Event<Dest<W::Source>>>) {
        for event in events {
            match event {
                Event::Send { key, .. } => {
                    // Only timers send; they are handled in `handle_events`.
                    tracing::error!("transaction {key:?}: a send was not carried out");
                }
                Event::Timeout { key, timer } => {
                    tracing::debug!("transaction {key:?}: timer {timer:?} fired");
                    if let Some(p) = self.pending.remove(&key) {
                        let _ = p.reply.send(AttemptResult::Timeout);
                    }
                }
                Event::TransportError { key } => {
                    tracing::debug!("transaction {key:?}: transport error");
                    if let Some(p) = self.pending.remove(&key) {
                        let error = p.error.unwrap_or_else(|| "transport error".into());
                        let _ = p.reply.send(AttemptResult::TransportError(error));
                    }
                }
                Event::Terminated { key } => {
                    // A client transaction that ends without a final response, timeout
                    // or transport error reported (it cannot, today) still answers.
                    if let Some(p) = self.pending.remove(&key) {
                        let _ = p
                            .reply
                            .send(AttemptResult::TransportError("transaction ended".into()));
                    }
                }
            }
        }
    }

    /// Starts a client transaction and sends its request.
    async fn start_client(&mut self, attempt: Attempt) {
        let Attempt {
            message,
            target,
            sent_by,
            default_port,
            reply,
            provisional,
        } = attempt;
        let reliable = target.transport.is_reliable();
        match self
            .table
            .send_request(&message, Dest::Target(target), now(), reliable)
        {
            Ok((key, transmit)) => {
                self.pending.insert(
                    key.clone(),
                    Pending {
                        reply,
                        provisional,
                        sent_by,
                        default_port,
                        error: None,
                    },
                );
                self.send(Some(&key), transmit).await;
            }
            Err(e) => {
                let _ = reply.send(AttemptResult::Refused(e.to_string()));
            }
        }
    }

    async fn on_request(&mut self, message: Message, source: W::Source, overloaded: bool) {
        if self.table.len() >= self.shared.max_transactions
            && !has_transaction(&self.table, &message)
        {
            // The table is full: a new transaction would store this request for Timer
            // J/H, so it is refused without one. Its retransmissions get the same
            // decision again until the table has room.
            let response = unavailable(&self.shared, &message);
            stateless(&self.shared, response, &source).await;
            return;
        }
        let reliable = W::reliable(&source);
        match self
            .table
            .on_request(message, Dest::Peer(source.clone()), now(), reliable)
        {
            RequestOutcome::New { key, request } => {
                let out_of_dialog = request.to().map(|t| t.tag().is_none()).unwrap_or(true);
                let method = request.method().cloned();
                let overloaded = overloaded || self.answering.len() >= MAX_ANSWERING;
                if overloaded && out_of_dialog {
                    // Past the high-water mark new work is refused with 503 + Retry-After,
                    // also over UDP (Asterisk drops silently; a 503 tells a well-behaved
                    // client to back off or try another server at once, RFC 3261 §21.5.4).
                    let response = unavailable(&self.shared, &request);
                    self.respond(Answer {
                        key,
                        source,
                        method,
                        response,
                    })
                    .await;
                    return;
                }
                let shared = Arc::clone(&self.shared);
                let mut answering: Answering<W::Source> = Box::pin(async move {
                    let incoming = IncomingRequest {
                        message: request,
                        source: source.clone(),
                    };
                    let response = answer(&shared, incoming).await;
                    Answer {
                        key,
                        source,
                        method,
                        response,
                    }
                });
                // Most answers need no waiting (OPTIONS, a challenge): sent at once.
                match (&mut answering).now_or_never() {
                    Some(done) => self.respond(done).await,
                    None => self.answering.push(answering),
                }
            }
            RequestOutcome::Retransmission { key, resend } => {
                if let Some(t) = resend {
                    self.send(Some(&key), t).await;
                }
            }
            RequestOutcome::AckAbsorbed { .. } => {}
            RequestOutcome::AckToTu { request, .. } => {
                // No dialogs yet: an ACK for a 2xx we did not send is nobody's.
                tracing::debug!(
                    "ACK outside any dialog dropped: {:?}",
                    request.call_id().ok()
                );
            }
            RequestOutcome::Cancel {
                key,
                invite,
                request,
            } => {
                let (code, reason) = match &invite {
                    Some(_) => (200, None),
                    None => (481, Some("Call/Transaction Does Not Exist")),
                };
                let response = reply(&request, code, reason, &[]);
                match self.table.respond(&key, &response, now()) {
                    Ok(t) => self.send(Some(&key), t).await,
                    Err(e) => tracing::error!("cannot answer CANCEL {key:?}: {e:?}"),
                }
                // An INVITE whose service is still working gets its 487 from the
                // sessions, which will cancel their own work (no service takes
                // INVITE yet).
            }
            RequestOutcome::Merged { request, .. } => {
                let response = reply(&request, 482, Some("Loop Detected"), &[]);
                stateless(&self.shared, response, &source).await;
            }
            RequestOutcome::Invalid {
                request, reason, ..
            } => {
                if request.method() == Some(&Method::Ack) {
                    return; // never answer an ACK
                }
                let response = reply(&request, 400, Some(&phrase(&reason)), &[]);
                stateless(&self.shared, response, &source).await;
            }
        }
    }

    /// Sends a service's final response through its server transaction.
    async fn respond(&mut self, done: Answer<W::Source>) {
        let Answer {
            key,
            source,
            method,
            mut response,
        } = done;
        if let Some(method) = method {
            external_contact(&*self.shared.wire, &source, &method, &mut response);
        }
        match self.table.respond(&key, &response, now()) {
            Ok(transmit) => self.send(Some(&key), transmit).await,
            // The transaction ended while its service worked (a transport error).
            Err(e) => tracing::warn!("cannot answer {key:?}: {e:?}"),
        }
    }

    async fn on_response(&mut self, message: Message) {
        // RFC 3261 §18.1.2: a response whose top Via sent-by is not what we wrote for
        // the request it claims to answer is not for us (misrouted, or forged by
        // someone who guessed a branch): discarded before the transaction sees it.
        if let Ok(key) = Key::client_for_response(&message) {
            if let Some(p) = self.pending.get(&key) {
                let ours = message
                    .top_via()
                    .is_ok_and(|v| p.sent_by.matches(v.host(), v.port(), p.default_port));
                if !ours {
                    tracing::info!(
                        "response {:?} dropped: its top Via {:?} does not carry our sent-by {} (RFC 3261 §18.1.2)",
                        message.status(),
                        message.top_via().map(|v| v.as_str().to_owned()).ok(),
                        p.sent_by
                    );
                    return;
                }
            }
        }
        match self.table.on_response(message, now()) {
            ResponseOutcome::Deliver {
                key,
                response,
                send: ack,
            } => {
                if let Some(t) = ack {
                    self.send(Some(&key), t).await;
                }
                let provisional = response.status().is_some_and(|c| c < 200);
                if provisional {
                    if let Some(tx) = self.pending.get(&key).and_then(|p| p.provisional.as_ref()) {
                        let _ = tx.send(response);
                    }
                } else if let Some(p) = self.pending.remove(&key) {
                    let _ = p.reply.send(AttemptResult::Final(Box::new(response)));
                } else {
                    tracing::debug!("response for {key:?}, whose client is gone");
                }
            }
            ResponseOutcome::Absorbed { key, resend } => {
                if let Some(t) = resend {
                    self.send(Some(&key), t).await;
                }
            }
            ResponseOutcome::Stray { response } => {
                tracing::debug!(
                    "stray response {:?} dropped (RFC 3261 §17.1.3)",
                    response.status()
                );
            }
        }
    }
}

/// Sends `bytes` toward a transaction's destination.
async fn send_on<W: Wire>(
    wire: &W,
    dest: &Dest<W::Source>,
    bytes: bytes::Bytes,
) -> std::io::Result<()> {
    match dest {
        Dest::Peer(s) => wire.send_response(s, bytes).await,
        Dest::Target(t) => wire.send_request(t, bytes).await,
    }
}

/// Writes the transport's external address into the Contacts of a response to a
/// `method` request from `source`, when the peer is outside `local_net` and the
/// Contacts are ours (spec §2.1; see [`crate::nat`]).
fn external_contact<W: Wire>(
    wire: &W,
    source: &W::Source,
    method: &Method,
    response: &mut Message,
) {
    if !response.has(HeaderKind::Contact) {
        return;
    }
    let code = response.status().unwrap_or(0);
    if !response_contact_is_ours(method, code) {
        return;
    }
    let Some((local, remote)) = wire.path_of(source) else {
        return;
    };
    if let Some(to) = local.nat.external_for(local.addr.port(), remote.ip()) {
        if let Err(e) = rewrite_contacts(response, &to) {
            tracing::warn!("Contact of a {code} not rewritten for NAT: {e}");
        }
    }
}

/// Sends a response with no transaction: a UDP send in place, a stream send on a
/// task of its own (see [`Shard::send`]); a failure is logged.
async fn send_stateless<W: Wire>(shared: &Shared<W>, dest: &W::Source, bytes: bytes::Bytes) {
    if W::reliable(dest) {
        spawn_send(&shared.wire, dest.clone(), bytes);
    } else if let Err(e) = shared.wire.send_response(dest, bytes).await {
        tracing::warn!("sending to {dest:?} failed: {e}");
    }
}

/// Sends `bytes` toward `dest` on a task of its own; a failure is logged.
pub(crate) fn spawn_send<W: Wire>(wire: &Arc<W>, dest: W::Source, bytes: bytes::Bytes) {
    let wire = Arc::clone(wire);
    tokio::spawn(async move {
        if let Err(e) = wire.send_response(&dest, bytes).await {
            tracing::warn!("sending to {dest:?} failed: {e}");
        }
    });
}

/// Answers a request that has no transaction (400, 482): straight to the wire.
pub(crate) async fn stateless<W: Wire>(shared: &Shared<W>, response: Message, source: &W::Source) {
    send_stateless(shared, source, response.to_bytes()).await;
}

/// Whether `request` needs no new transaction: an ACK (never gets one), a request
/// that cannot make one (the table answers it 400 without storing it), a
/// retransmission, or a CANCEL of an INVITE in progress (never refused for load: the
/// INVITE would go on ringing).
fn has_transaction<D: Clone>(table: &Transactions<D>, request: &Message) -> bool {
    if request.method() == Some(&Method::Ack) {
        return true;
    }
    let Ok(key) = Key::server_for_request(request) else {
        return true;
    };
    if table.state(&key).is_some() {
        return true;
    }
    request.method() == Some(&Method::Cancel)
        && table.state(&key.with_method(Method::Invite)).is_some()
}

/// The overload answer: 503 with Retry-After, counted.
fn unavailable<W: Wire>(shared: &Shared<W>, request: &Message) -> Message {
    shared
        .counters
        .overloaded
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let retry = shared.retry_after.to_string();
    reply(
        request,
        503,
        Some("Service Unavailable"),
        &[(HeaderKind::RetryAfter, &retry)],
    )
}

/// The services' answer, or 405/501 when none claims the request (RFC 3261 §8.2.1).
async fn answer<W: Wire>(shared: &Shared<W>, mut request: IncomingRequest<W::Source>) -> Message {
    // RFC 3261 §8.2.2.3: an extension the request requires and we do not support is
    // refused with 420 listing it (ACK and CANCEL never carry requirements that bind).
    // No extension is implemented yet, so every Require tag is unsupported.
    if !matches!(request.method(), Some(Method::Ack | Method::Cancel)) {
        let required = request.message.require().unwrap_or_default();
        if !required.is_empty() {
            let tags: Vec<&str> = required.iter().map(|t| t.as_ref()).collect();
            return reply(
                &request.message,
                420,
                Some("Bad Extension"),
                &[(HeaderKind::Unsupported, &tags.join(", "))],
            );
        }
    }
    for service in &shared.services {
        match service.handle(request).await {
            Handled::Answered(response) => return response,
            Handled::Declined(back) => request = back,
        }
    }
    let known = request
        .method()
        .is_some_and(|m| !matches!(m, Method::Extension(_)));
    let (code, reason) = if known {
        (405, "Method Not Allowed")
    } else {
        (501, "Not Implemented")
    };
    reply(
        &request.message,
        code,
        Some(reason),
        &[(HeaderKind::Allow, &shared.allow)],
    )
}
