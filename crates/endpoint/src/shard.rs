//! One serializer: a task that owns a transaction table and handles, in arrival order,
//! every message whose key (Call-ID) hashes to it. Messages of one call are therefore
//! handled in order while other shards run in parallel; the table needs no lock.

use std::sync::Arc;
use std::time::Instant;

use sip_message::{HeaderKind, Message, Method};
use sip_transaction::{Event, Key, RequestOutcome, ResponseOutcome, Transactions, Transmit};
use tokio::sync::mpsc;

use crate::responses::{phrase, reply};
use crate::service::{Handled, IncomingRequest, Service};
use crate::wire::Wire;

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
    /// Transactions one shard may hold before new ones are refused statelessly.
    pub max_transactions: usize,
    /// Counters the operator reads.
    pub counters: Arc<crate::endpoint::Counters>,
}

/// Runs one shard until its queue closes.
pub async fn run<W: Wire>(
    shared: Arc<Shared<W>>,
    mut table: Transactions<W::Source>,
    mut queue: mpsc::Receiver<Work<W::Source>>,
) {
    loop {
        let deadline = table.poll_timeout();
        let work = match deadline {
            Some(at) => {
                tokio::select! {
                    w = queue.recv() => w,
                    () = tokio::time::sleep_until(at.into()) => {
                        let events = table.handle_timeout(Instant::now());
                        handle_events(&shared, events).await;
                        continue;
                    }
                }
            }
            None => queue.recv().await,
        };
        let Some(Work::Message {
            message,
            source,
            overloaded,
        }) = work
        else {
            return;
        };
        if message.is_request() {
            on_request(&shared, &mut table, message, source, overloaded).await;
        } else {
            on_response(&shared, &mut table, message).await;
        }
    }
}

/// Sends a response. Over a stream (TCP, TLS) the send runs on a task of its own: a
/// slow or dead peer (a connect that times out, a full socket) must not hold up the
/// shard, which serves every call hashed to it. A UDP send completes at once, so it is
/// done in place (a task per datagram cost 12% of the OPTIONS rate). Stream sends to
/// one peer may overtake each other; that matters only for a provisional and a final
/// response in quick succession, which sessions will order themselves.
async fn send<W: Wire>(shared: &Shared<W>, transmit: Transmit<W::Source>) {
    if W::reliable(&transmit.dest) {
        spawn_send(&shared.wire, transmit.dest, transmit.bytes);
    } else if let Err(e) = shared
        .wire
        .send_response(&transmit.dest, transmit.bytes)
        .await
    {
        tracing::warn!("sending to {:?} failed: {e}", transmit.dest);
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

async fn handle_events<W: Wire>(shared: &Shared<W>, events: Vec<Event<W::Source>>) {
    for event in events {
        match event {
            Event::Send { transmit, .. } => send(shared, transmit).await,
            Event::Timeout { key, timer } => {
                tracing::debug!("transaction {key:?}: timer {timer:?} fired")
            }
            Event::TransportError { key } => {
                tracing::debug!("transaction {key:?}: transport error")
            }
            Event::Terminated { .. } => {}
        }
    }
}

/// Answers a request that has no transaction (400, 482): straight to the wire.
pub(crate) async fn stateless<W: Wire>(shared: &Shared<W>, response: Message, source: &W::Source) {
    let transmit = Transmit {
        dest: source.clone(),
        bytes: response.to_bytes(),
    };
    send(shared, transmit).await;
}

async fn on_request<W: Wire>(
    shared: &Shared<W>,
    table: &mut Transactions<W::Source>,
    message: Message,
    source: W::Source,
    overloaded: bool,
) {
    if table.len() >= shared.max_transactions && !has_transaction(table, &message) {
        // The table is full: a new transaction would store this request for Timer J/H,
        // so it is refused without one. Its retransmissions get the same decision again
        // until the table has room.
        let response = unavailable(shared, &message);
        stateless(shared, response, &source).await;
        return;
    }
    let now = Instant::now();
    let reliable = W::reliable(&source);
    match table.on_request(message, source.clone(), now, reliable) {
        RequestOutcome::New { key, request } => {
            let out_of_dialog = request.to().map(|t| t.tag().is_none()).unwrap_or(true);
            let response = if overloaded && out_of_dialog {
                // Past the high-water mark new work is refused with 503 + Retry-After,
                // also over UDP (Asterisk drops silently; a 503 tells a well-behaved
                // client to back off or try another server at once, RFC 3261 §21.5.4).
                unavailable(shared, &request)
            } else {
                let incoming = IncomingRequest {
                    message: request,
                    source,
                };
                answer(shared, incoming).await
            };
            match table.respond(&key, &response, Instant::now()) {
                Ok(transmit) => send(shared, transmit).await,
                Err(e) => tracing::error!("cannot answer {key:?}: {e:?}"),
            }
        }
        RequestOutcome::Retransmission { resend, .. } => {
            if let Some(t) = resend {
                send(shared, t).await;
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
            match table.respond(&key, &response, Instant::now()) {
                Ok(t) => send(shared, t).await,
                Err(e) => tracing::error!("cannot answer CANCEL {key:?}: {e:?}"),
            }
            // Services answer every request at once today, so an INVITE still
            // waiting for its final response does not exist yet; when sessions
            // arrive they answer it with 487 here.
        }
        RequestOutcome::Merged { request, source } => {
            let response = reply(&request, 482, Some("Loop Detected"), &[]);
            stateless(shared, response, &source).await;
        }
        RequestOutcome::Invalid {
            request,
            source,
            reason,
        } => {
            if request.method() == Some(&Method::Ack) {
                return; // never answer an ACK
            }
            let response = reply(&request, 400, Some(&phrase(&reason)), &[]);
            stateless(shared, response, &source).await;
        }
    }
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

async fn on_response<W: Wire>(
    shared: &Shared<W>,
    table: &mut Transactions<W::Source>,
    message: Message,
) {
    match table.on_response(message, Instant::now()) {
        ResponseOutcome::Deliver { key, send: ack, .. } => {
            // No client transactions are started yet (qualify, outbound registration
            // and calls will); only their ACKs would be sent here.
            tracing::debug!("response for {key:?}");
            if let Some(t) = ack {
                send(shared, t).await;
            }
        }
        ResponseOutcome::Absorbed { resend, .. } => {
            if let Some(t) = resend {
                send(shared, t).await;
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
