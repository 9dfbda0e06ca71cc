//! The transaction table: owns every transaction by key, matches incoming messages
//! to them (RFC 3261 §17.1.3, §17.2.3, §9.2), spots merged requests (§8.2.2.2) and
//! runs their timers.
//!
//! Timers live in one binary heap of `(deadline, id, generation)`. A transaction
//! whose earliest deadline changes gets a new generation and a new heap entry; the
//! old entry is skipped when it comes up (lazy deletion). Finding the next deadline
//! is O(1), scheduling O(log n), and the heap is rebuilt when stale entries outnumber
//! live ones.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::time::Instant;

use bytes::Bytes;
use sip_message::{Message, Method};

use crate::client::ClientTx;
use crate::key::{Key, MergeKey, Role};
use crate::server::{AckVerdict, RespondError, ServerTx};
use crate::state::State;
use crate::timers::{Out, Timer, Timers};

/// Bytes to send and where. `D` is the caller's notion of a destination: the
/// address given to [`Transactions::send_request`] for a client transaction, the
/// source given to [`Transactions::on_request`] for a server transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<D> {
    /// Where to send.
    pub dest: D,
    /// What to send.
    pub bytes: Bytes,
}

/// What an incoming request turned out to be.
#[derive(Debug)]
pub enum RequestOutcome<D> {
    /// A new server transaction: hand the request to the TU, which answers it with
    /// [`Transactions::respond`].
    New {
        /// The new transaction.
        key: Key,
        /// The request.
        request: Message,
    },
    /// A retransmission of a request whose transaction exists: absorbed, and the
    /// last response (if any) is to be sent again (§17.2.1, §17.2.2).
    Retransmission {
        /// The transaction it belongs to.
        key: Key,
        /// The response to send again.
        resend: Option<Transmit<D>>,
    },
    /// The ACK for a non-2xx final response we sent (or a retransmission of it):
    /// absorbed by the INVITE server transaction (§17.2.1).
    AckAbsorbed {
        /// The INVITE server transaction.
        key: Key,
    },
    /// An ACK for a 2xx: it is the dialog's, not a transaction's (§17.2.3, RFC 6026
    /// §8.7). `key` is the INVITE transaction when it matched one in Accepted.
    AckToTu {
        /// The INVITE server transaction, when one matched.
        key: Option<Key>,
        /// The ACK.
        request: Message,
    },
    /// A new CANCEL (§9.2). The TU answers the CANCEL with
    /// [`Transactions::respond`] on `key` (481 when `invite` is `None`, 200
    /// otherwise) and, when the INVITE has no final response yet, answers the INVITE
    /// with 487.
    Cancel {
        /// The CANCEL's own server transaction.
        key: Key,
        /// The INVITE server transaction it cancels, if there is one.
        invite: Option<Key>,
        /// The CANCEL.
        request: Message,
    },
    /// A merged request (§8.2.2.2): same From tag, Call-ID and CSeq as a request
    /// that created another server transaction, no To tag. No transaction was made;
    /// answer 482 (Loop Detected) statelessly.
    Merged {
        /// The request.
        request: Message,
        /// Where it came from.
        source: D,
    },
    /// A request that cannot be matched or start a transaction: a required header
    /// (Via, From, To, Call-ID, CSeq) is missing or malformed, or CSeq's method is
    /// not the request's. Answer 400 statelessly, with `reason` as the phrase.
    Invalid {
        /// The request.
        request: Message,
        /// Where it came from.
        source: D,
        /// What is wrong.
        reason: String,
    },
}

/// What an incoming response turned out to be.
#[derive(Debug)]
pub enum ResponseOutcome<D> {
    /// Pass the response to the TU of transaction `key`. For a non-2xx final response
    /// to an INVITE, `send` is the ACK the transaction built (§17.1.1.3).
    Deliver {
        /// The client transaction.
        key: Key,
        /// The response.
        response: Message,
        /// The ACK to send, if any.
        send: Option<Transmit<D>>,
    },
    /// A retransmission absorbed by the transaction; `resend` is the ACK to send
    /// again for a retransmitted non-2xx final response to an INVITE.
    Absorbed {
        /// The client transaction.
        key: Key,
        /// The ACK to send again.
        resend: Option<Transmit<D>>,
    },
    /// No transaction matches (§17.1.3): for a 2xx to an INVITE whose transaction is
    /// gone, the core may still pass it to the dialog; anything else is dropped.
    Stray {
        /// The response.
        response: Message,
    },
}

/// Something the table did or wants done, from [`Transactions::handle_timeout`] and
/// [`Transactions::transport_error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<D> {
    /// Send bytes: a retransmission (Timer A, E, G) or 100 Trying.
    Send {
        /// The transaction.
        key: Key,
        /// Which timer fired.
        timer: Timer,
        /// What to send and where.
        transmit: Transmit<D>,
    },
    /// The transaction gave up: Timer B or F (the TU acts as if it got 408,
    /// §8.1.3.1), Timer H (the ACK never came), §9.1's CANCEL timeout, or the guard.
    /// A [`Event::Terminated`] follows.
    Timeout {
        /// The transaction.
        key: Key,
        /// Which timer.
        timer: Timer,
    },
    /// The transport reported a failure for this transaction (§17.1.1.2, §17.1.2.2,
    /// §17.2.1, §17.2.2); a [`Event::Terminated`] follows unless the transaction is
    /// in Accepted.
    TransportError {
        /// The transaction.
        key: Key,
    },
    /// The transaction is over and has been removed from the table.
    Terminated {
        /// The transaction.
        key: Key,
    },
}

/// Why a call on the table was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No transaction has this key (it may have terminated).
    UnknownTransaction,
    /// [`Transactions::respond`] was called with a client transaction's key.
    NotAServerTransaction,
    /// A client transaction with this key exists already (reused branch).
    Duplicate,
    /// ACK is never a client transaction (§17.1.1.3; the ACK for a 2xx is the
    /// dialog's to send).
    AckIsNotATransaction,
    /// The message lacks what the transaction needs (text says what).
    InvalidMessage(String),
    /// Not a response, or a status outside 100–699.
    BadStatus,
    /// The transaction is in a state that cannot send this response (for example a
    /// second final response).
    WrongState(State),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownTransaction => f.write_str("no such transaction"),
            Error::NotAServerTransaction => f.write_str("not a server transaction"),
            Error::Duplicate => f.write_str("a client transaction with this branch exists"),
            Error::AckIsNotATransaction => f.write_str("ACK does not start a transaction"),
            Error::InvalidMessage(m) => write!(f, "invalid message: {m}"),
            Error::BadStatus => f.write_str("not a response with a status of 100 to 699"),
            Error::WrongState(s) => write!(f, "the transaction is {s:?}"),
        }
    }
}

impl std::error::Error for Error {}

#[derive(Debug)]
enum Machine {
    Client(ClientTx),
    Server(ServerTx),
}

impl Machine {
    fn state(&self) -> State {
        match self {
            Machine::Client(c) => c.state(),
            Machine::Server(s) => s.state(),
        }
    }
    fn deadline(&self) -> Option<Instant> {
        match self {
            Machine::Client(c) => c.deadline(),
            Machine::Server(s) => s.deadline(),
        }
    }
}

#[derive(Debug)]
struct Entry<D> {
    key: Key,
    peer: D,
    machine: Machine,
    merge: Option<MergeKey>,
    generation: u64,
    scheduled: Option<Instant>,
}

/// Every transaction of one SIP endpoint, by key. Sans-IO: the caller passes in
/// messages, the current time and whether the transport is reliable, and sends what
/// comes back.
#[derive(Debug)]
pub struct Transactions<D> {
    timers: Timers,
    next_id: u64,
    /// Boxed: a finished transaction lingers for Timer J (32 s), so at thousands of
    /// requests per second the table holds hundreds of thousands of entries, and
    /// growing the map moves every value. Boxed, a resize moves 16 bytes per entry
    /// instead of a whole transaction (a resize of unboxed entries stalled a shard
    /// long enough to overflow its queue), and the slots a burst left behind cost 16
    /// bytes each, not a transaction's size.
    entries: HashMap<u64, Box<Entry<D>>>,
    index: HashMap<Key, u64>,
    merge: HashMap<MergeKey, u64>,
    heap: BinaryHeap<Reverse<(Instant, u64, u64)>>,
}

impl<D: Clone> Default for Transactions<D> {
    fn default() -> Self {
        Transactions::new(Timers::default())
    }
}

impl<D: Clone> Transactions<D> {
    /// An empty table using these timer values.
    pub fn new(timers: Timers) -> Self {
        Transactions {
            timers,
            next_id: 0,
            entries: HashMap::new(),
            index: HashMap::new(),
            merge: HashMap::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// The timer values in use.
    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    /// How many transactions are alive.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many transactions the table has room for without growing (for statistics;
    /// it shrinks again after a burst).
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Whether no transaction is alive.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The state of a transaction; `None` once it has terminated.
    pub fn state(&self, key: &Key) -> Option<State> {
        let id = self.index.get(key)?;
        self.entries.get(id).map(|e| e.machine.state())
    }

    /// A request arrived from `source` over a transport that is `reliable` (or not).
    pub fn on_request(
        &mut self,
        request: Message,
        source: D,
        now: Instant,
        reliable: bool,
    ) -> RequestOutcome<D> {
        if let Err(reason) = check_request(&request) {
            return RequestOutcome::Invalid {
                request,
                source,
                reason,
            };
        }
        let key = match Key::server_for_request(&request) {
            Ok(k) => k,
            Err(reason) => {
                return RequestOutcome::Invalid {
                    request,
                    source,
                    reason,
                }
            }
        };
        let is_ack = matches!(request.method(), Some(Method::Ack));
        let mut clash = false;
        if let Some(&id) = self.index.get(&key) {
            if self.rfc2543_matches(id, &request, is_ack) {
                return self.matched(id, key, request, source, is_ack, now);
            }
            clash = true;
        }
        if is_ack {
            return RequestOutcome::AckToTu { key: None, request };
        }
        let merge = MergeKey::of(&request);
        if clash || merge.as_ref().is_some_and(|m| self.merge.contains_key(m)) {
            if !clash || merge.is_some() {
                return RequestOutcome::Merged { request, source };
            }
            return RequestOutcome::Invalid {
                request,
                source,
                reason: "conflicts with an RFC 2543 transaction".into(),
            };
        }
        let is_cancel = matches!(request.method(), Some(Method::Cancel));
        let invite = if is_cancel {
            let invite_key = key.with_method(Method::Invite);
            self.index
                .get(&invite_key)
                .copied()
                .filter(|&id| self.rfc2543_matches(id, &request, false))
                .filter(|id| {
                    self.entries
                        .get(id)
                        .is_some_and(|e| matches!(e.machine, Machine::Server(_)))
                })
                .map(|_| invite_key)
        } else {
            None
        };
        let tx = ServerTx::start(&request, key.is_rfc2543(), reliable, now, &self.timers);
        let id = self.insert(key.clone(), source, Machine::Server(tx), merge);
        self.reschedule(id);
        if is_cancel {
            RequestOutcome::Cancel {
                key,
                invite,
                request,
            }
        } else {
            RequestOutcome::New { key, request }
        }
    }

    /// For an RFC 2543 key, the checks that the key cannot hold (§17.2.3): the
    /// Request-URI (compared as URIs) and the To tag, which for an ACK is the tag of
    /// the response we sent. RFC 3261 keys always match.
    fn rfc2543_matches(&self, id: u64, request: &Message, is_ack: bool) -> bool {
        let Some(entry) = self.entries.get(&id) else {
            return false;
        };
        if !entry.key.is_rfc2543() {
            return true;
        }
        let Machine::Server(tx) = &entry.machine else {
            return false;
        };
        let Some(original) = tx.rfc2543() else {
            return false;
        };
        let same_uri = match (&original.request_uri, request.request_uri()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        let tag = request.to().ok().and_then(|t| t.tag());
        let want = if is_ack {
            tx.final_to_tag()
        } else {
            original.to_tag.as_deref()
        };
        same_uri && tag == want
    }

    fn matched(
        &mut self,
        id: u64,
        key: Key,
        request: Message,
        source: D,
        is_ack: bool,
        now: Instant,
    ) -> RequestOutcome<D> {
        let timers = self.timers;
        let Some(entry) = self.entries.get_mut(&id) else {
            return RequestOutcome::AckToTu { key: None, request };
        };
        let Machine::Server(tx) = &mut entry.machine else {
            return RequestOutcome::AckToTu { key: None, request };
        };
        if is_ack {
            let verdict = tx.on_ack(now, &timers);
            self.reschedule(id);
            return match verdict {
                AckVerdict::Absorbed => RequestOutcome::AckAbsorbed { key },
                AckVerdict::ToTu => RequestOutcome::AckToTu {
                    key: Some(key),
                    request,
                },
            };
        }
        // Sent to where this copy came from: over TCP the first connection may be
        // gone and the client may have opened another (§18.2.2).
        let resend = tx.on_retransmission().map(|bytes| Transmit {
            dest: source,
            bytes,
        });
        RequestOutcome::Retransmission { key, resend }
    }

    /// A response arrived (§17.1.3 matching, then the client machine).
    pub fn on_response(&mut self, response: Message, now: Instant) -> ResponseOutcome<D> {
        let Ok(key) = Key::client_for_response(&response) else {
            return ResponseOutcome::Stray { response };
        };
        let Some(&id) = self.index.get(&key) else {
            return ResponseOutcome::Stray { response };
        };
        let timers = self.timers;
        let Some(entry) = self.entries.get_mut(&id) else {
            return ResponseOutcome::Stray { response };
        };
        let Machine::Client(tx) = &mut entry.machine else {
            return ResponseOutcome::Stray { response };
        };
        let verdict = tx.on_response(&response, now, &timers);
        let send = verdict.send.map(|bytes| Transmit {
            dest: entry.peer.clone(),
            bytes,
        });
        self.reschedule(id);
        if verdict.deliver {
            ResponseOutcome::Deliver {
                key,
                response,
                send,
            }
        } else {
            ResponseOutcome::Absorbed { key, resend: send }
        }
    }

    /// Starts a client transaction for `request` (which must carry a top Via with an
    /// RFC 3261 branch) to `dest`; returns its key and the first transmission. Sending
    /// a CANCEL also arms §9.1's 64×T1 limit on the INVITE it cancels.
    pub fn send_request(
        &mut self,
        request: &Message,
        dest: D,
        now: Instant,
        reliable: bool,
    ) -> Result<(Key, Transmit<D>), Error> {
        match request.method() {
            None => return Err(Error::InvalidMessage("not a request".into())),
            Some(Method::Ack) => return Err(Error::AckIsNotATransaction),
            Some(_) => {}
        }
        let key = Key::client_for_request(request).map_err(Error::InvalidMessage)?;
        if self.index.contains_key(&key) {
            return Err(Error::Duplicate);
        }
        let bytes = request.to_bytes();
        let tx = ClientTx::start(request, bytes.clone(), reliable, now, &self.timers);
        if matches!(request.method(), Some(Method::Cancel)) {
            let invite_key = key.with_method(Method::Invite);
            if let Some(&inv) = self.index.get(&invite_key) {
                let timers = self.timers;
                if let Some(Machine::Client(c)) = self.entries.get_mut(&inv).map(|e| &mut e.machine)
                {
                    c.cancelled(now, &timers);
                }
                self.reschedule(inv);
            }
        }
        let id = self.insert(key.clone(), dest.clone(), Machine::Client(tx), None);
        self.reschedule(id);
        Ok((key, Transmit { dest, bytes }))
    }

    /// The TU answers the request of server transaction `key`; returns what to send,
    /// to where the request came from.
    pub fn respond(
        &mut self,
        key: &Key,
        response: &Message,
        now: Instant,
    ) -> Result<Transmit<D>, Error> {
        if key.role() != Role::Server {
            return Err(Error::NotAServerTransaction);
        }
        let &id = self.index.get(key).ok_or(Error::UnknownTransaction)?;
        let timers = self.timers;
        let entry = self.entries.get_mut(&id).ok_or(Error::UnknownTransaction)?;
        let Machine::Server(tx) = &mut entry.machine else {
            return Err(Error::NotAServerTransaction);
        };
        let bytes = tx.respond(response, now, &timers).map_err(|e| match e {
            RespondError::BadStatus => Error::BadStatus,
            RespondError::WrongState(s) => Error::WrongState(s),
        })?;
        let dest = entry.peer.clone();
        self.reschedule(id);
        Ok(Transmit { dest, bytes })
    }

    /// The transport could not send for transaction `key`: the transaction ends and
    /// the TU is told (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2). In Accepted the
    /// transaction stays, to keep absorbing retransmitted INVITEs (RFC 6026): the
    /// failure concerns a 2xx the TU sent, which the TU handles.
    pub fn transport_error(&mut self, key: &Key) -> Vec<Event<D>> {
        let Some(&id) = self.index.get(key) else {
            return Vec::new();
        };
        let mut events = vec![Event::TransportError { key: key.clone() }];
        let accepted = self
            .entries
            .get(&id)
            .is_some_and(|e| e.machine.state() == State::Accepted);
        if !accepted {
            self.remove(id);
            events.push(Event::Terminated { key: key.clone() });
        }
        events
    }

    /// The earliest instant at which [`Transactions::handle_timeout`] has work.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, id, generation))) = self.heap.peek() {
            if self.is_current(id, generation) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Fires every timer due at `now`: retransmissions and 100 Trying to send,
    /// timeouts to report, and transactions that end.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Event<D>> {
        let timers = self.timers;
        let mut events = Vec::new();
        let mut outs = Vec::new();
        while let Some(&Reverse((at, id, generation))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            if !self.is_current(id, generation) {
                continue;
            }
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            entry.scheduled = None;
            outs.clear();
            match &mut entry.machine {
                Machine::Client(c) => c.on_timer(now, &timers, &mut outs),
                Machine::Server(s) => s.on_timer(now, &timers, &mut outs),
            }
            let mut ended = false;
            for out in outs.drain(..) {
                match out {
                    Out::Send(bytes, timer) => events.push(Event::Send {
                        key: entry.key.clone(),
                        timer,
                        transmit: Transmit {
                            dest: entry.peer.clone(),
                            bytes,
                        },
                    }),
                    Out::Timeout(timer) => events.push(Event::Timeout {
                        key: entry.key.clone(),
                        timer,
                    }),
                    Out::Terminated => ended = true,
                }
            }
            if ended {
                let key = entry.key.clone();
                self.remove(id);
                events.push(Event::Terminated { key });
            } else {
                self.reschedule(id);
            }
        }
        self.shrink_if_sparse();
        events
    }

    fn is_current(&self, id: u64, generation: u64) -> bool {
        self.entries
            .get(&id)
            .is_some_and(|e| e.generation == generation)
    }

    fn insert(&mut self, key: Key, peer: D, machine: Machine, merge: Option<MergeKey>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.index.insert(key.clone(), id);
        let merge = merge.filter(|m| !self.merge.contains_key(m));
        if let Some(m) = &merge {
            self.merge.insert(m.clone(), id);
        }
        self.entries.insert(
            id,
            Box::new(Entry {
                key,
                peer,
                machine,
                merge,
                generation: 0,
                scheduled: None,
            }),
        );
        id
    }

    /// Gives memory back after a burst: maps never shrink by themselves, and a peak
    /// of transactions (a registration storm) would otherwise keep its capacity for
    /// good. Shrinks when under a quarter full, to twice what is alive (so the next
    /// growth is far off); each shrink rehashes only the live entries.
    fn shrink_if_sparse(&mut self) {
        const FLOOR: usize = 4096;
        let live = self.entries.len();
        if self.entries.capacity() > FLOOR && live * 4 < self.entries.capacity() {
            let keep = (live * 2).max(FLOOR);
            self.entries.shrink_to(keep);
            self.index.shrink_to(keep);
            self.merge.shrink_to(keep);
            self.heap.shrink_to(keep);
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some(e) = self.entries.remove(&id) {
            if self.index.get(&e.key) == Some(&id) {
                self.index.remove(&e.key);
            }
            if let Some(m) = e.merge {
                if self.merge.get(&m) == Some(&id) {
                    self.merge.remove(&m);
                }
            }
        }
    }

    /// Puts the transaction's earliest deadline in the heap if it changed.
    fn reschedule(&mut self, id: u64) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let deadline = entry.machine.deadline();
        if deadline == entry.scheduled {
            return;
        }
        entry.generation += 1;
        entry.scheduled = deadline;
        if let Some(at) = deadline {
            self.heap.push(Reverse((at, id, entry.generation)));
        }
        if self.heap.len() > 64 + 4 * self.entries.len() {
            self.compact();
        }
    }

    /// Drops stale heap entries.
    fn compact(&mut self) {
        let entries = &self.entries;
        self.heap.retain(|Reverse((_, id, generation))| {
            entries.get(id).is_some_and(|e| e.generation == *generation)
        });
    }
}

/// What every request needs before it can be matched or start a transaction.
fn check_request(request: &Message) -> Result<(), String> {
    let method = request.method().ok_or("not a request")?;
    request.top_via().map_err(|e| e.to_string())?;
    request.from().map_err(|e| e.to_string())?;
    request.to().map_err(|e| e.to_string())?;
    request.call_id().map_err(|e| e.to_string())?;
    let cseq = request.cseq().map_err(|e| e.to_string())?;
    if &cseq.method != method {
        return Err("CSeq method does not match the request method".into());
    }
    Ok(())
}
