//! Server transactions: INVITE (RFC 3261 §17.2.1, with RFC 6026's Accepted state)
//! and non-INVITE (§17.2.2).

use std::time::Instant;

use bytes::Bytes;
use sip_message::{ByteString, Message, Method, Uri};

use crate::state::State;
use crate::timers::{Out, Retransmit, Timer, Timers};

/// What an ACK that matched an INVITE server transaction means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckVerdict {
    /// The ACK for our non-2xx final response (or a retransmission of it): absorbed.
    Absorbed,
    /// An ACK for a 2xx in Accepted: the dialog's (RFC 6026 §8.7).
    ToTu,
}

/// Why the TU's response was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RespondError {
    /// Not a response, or a status code outside 100–699.
    BadStatus,
    /// The transaction is past the point where it can send this response.
    WrongState(State),
}

/// One server transaction.
#[derive(Debug)]
pub(crate) struct ServerTx {
    invite: bool,
    state: State,
    reliable: bool,
    /// An INVITE, until its final response: the 100 Trying is built from it. Other
    /// requests are not kept: a transaction lives for Timer J (32 s) after its
    /// answer, and a registrar at thousands of requests per second would otherwise
    /// hold every parsed request of the last half-minute.
    request: Option<Message>,
    /// What RFC 2543 matching compares, for a transaction keyed that way.
    rfc2543: Option<Box<Rfc2543>>,
    /// The last response sent, for retransmitted requests (and Timer G).
    last_response: Option<Bytes>,
    /// The To tag of the final response, which an RFC 2543 ACK must carry (§17.2.3).
    final_to_tag: Option<ByteString>,
    /// Timer G.
    retransmit: Option<Retransmit>,
    /// Timer H.
    timeout: Option<Instant>,
    /// Timer I, J or L.
    linger: Option<(Instant, Timer)>,
    /// When to send 100 Trying if the TU has not answered.
    trying: Option<Instant>,
    /// [`Timers::tu_guard`].
    guard: Option<Instant>,
}

/// The parts of the original request that RFC 2543 matching (§17.2.3) needs
/// besides the key: the Request-URI and the To tag.
#[derive(Debug)]
pub(crate) struct Rfc2543 {
    pub request_uri: Option<Uri>,
    pub to_tag: Option<ByteString>,
}

impl ServerTx {
    /// Starts the transaction for a request just received; `rfc2543` when its key is
    /// an RFC 2543 one (no magic-cookie branch).
    pub fn start(
        request: &Message,
        rfc2543: bool,
        reliable: bool,
        now: Instant,
        timers: &Timers,
    ) -> ServerTx {
        let invite = matches!(request.method(), Some(Method::Invite));
        let rfc2543 = rfc2543.then(|| {
            Box::new(Rfc2543 {
                request_uri: request.request_uri().cloned(),
                to_tag: request
                    .to()
                    .ok()
                    .and_then(|t| t.tag())
                    .map(ByteString::from),
            })
        });
        ServerTx {
            invite,
            // §17.2.1: an INVITE server transaction starts in Proceeding; §17.2.2: a
            // non-INVITE one in Trying.
            state: if invite {
                State::Proceeding
            } else {
                State::Trying
            },
            reliable,
            request: invite.then(|| request.clone()),
            rfc2543,
            last_response: None,
            final_to_tag: None,
            retransmit: None,
            timeout: None,
            linger: None,
            trying: invite.then(|| now + timers.trying_delay),
            guard: timers.tu_guard.map(|g| now + g),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// For an RFC 2543 keyed transaction, what its request said.
    pub fn rfc2543(&self) -> Option<&Rfc2543> {
        self.rfc2543.as_deref()
    }

    pub fn final_to_tag(&self) -> Option<&str> {
        self.final_to_tag.as_deref()
    }

    /// The request was retransmitted: what to send back. §17.2.1: in Proceeding the
    /// last provisional, in Completed the final response; Confirmed and Accepted
    /// (RFC 6026 §8.7) absorb it. §17.2.2: in Trying nothing, in Proceeding and
    /// Completed the last response.
    pub fn on_retransmission(&self) -> Option<Bytes> {
        match self.state {
            State::Proceeding | State::Completed => self.last_response.clone(),
            _ => None,
        }
    }

    /// An ACK matched this INVITE transaction.
    pub fn on_ack(&mut self, now: Instant, timers: &Timers) -> AckVerdict {
        match self.state {
            State::Completed => {
                // §17.2.1: Confirmed; Timer G and H stop; Timer I starts.
                self.state = State::Confirmed;
                self.retransmit = None;
                self.timeout = None;
                self.linger = Some((now + timers.t4_or_zero(self.reliable), Timer::I));
                AckVerdict::Absorbed
            }
            State::Accepted => AckVerdict::ToTu,
            _ => AckVerdict::Absorbed,
        }
    }

    /// The TU sends `response`; returns the bytes to send.
    pub fn respond(
        &mut self,
        response: &Message,
        now: Instant,
        timers: &Timers,
    ) -> Result<Bytes, RespondError> {
        let code = match response.status() {
            Some(c @ 100..=699) => c,
            _ => return Err(RespondError::BadStatus),
        };
        let bytes = response.to_bytes();
        if self.invite {
            match (self.state, code) {
                (State::Proceeding, 100..=199) => {
                    self.trying = None;
                    self.guard = timers.tu_guard.map(|g| now + g);
                }
                (State::Proceeding, 200..=299) => {
                    // RFC 6026 §8.5: Accepted, Timer L; the TU retransmits the 2xx.
                    self.enter_final(response);
                    self.state = State::Accepted;
                    self.linger = Some((now + timers.t1x64(), Timer::L));
                }
                (State::Proceeding, _) => {
                    // §17.2.1: Completed; Timer G over unreliable transports; Timer H.
                    self.enter_final(response);
                    self.state = State::Completed;
                    if !self.reliable {
                        self.retransmit = Some(Retransmit::start(now, timers.t1));
                    }
                    self.timeout = Some(now + timers.t1x64());
                }
                // RFC 6026 §8.6: 2xx retransmissions from the TU pass through.
                (State::Accepted, 200..=299) => return Ok(bytes),
                (s, _) => return Err(RespondError::WrongState(s)),
            }
        } else {
            match (self.state, code) {
                (State::Trying | State::Proceeding, 100..=199) => {
                    self.state = State::Proceeding;
                    self.guard = timers.tu_guard.map(|g| now + g);
                }
                (State::Trying | State::Proceeding, _) => {
                    // §17.2.2: Completed, Timer J.
                    self.enter_final(response);
                    self.state = State::Completed;
                    self.linger = Some((now + timers.j(self.reliable), Timer::J));
                }
                (s, _) => return Err(RespondError::WrongState(s)),
            }
        }
        self.last_response = Some(bytes.clone());
        Ok(bytes)
    }

    fn enter_final(&mut self, response: &Message) {
        self.trying = None;
        self.guard = None;
        self.request = None;
        self.final_to_tag = response
            .to()
            .ok()
            .and_then(|t| t.tag())
            .map(ByteString::from);
    }

    /// The earliest running timer.
    pub fn deadline(&self) -> Option<Instant> {
        [
            self.timeout,
            self.linger.map(|l| l.0),
            self.guard,
            self.trying,
            self.retransmit.map(|r| r.at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires every timer due at `now`, in deadline order; a timer that ends the
    /// transaction wins a tie.
    pub fn on_timer(&mut self, now: Instant, timers: &Timers, out: &mut Vec<Out>) {
        while self.state != State::Terminated {
            let ends = [
                self.timeout.map(|t| (t, Timer::H, true)),
                self.guard.map(|t| (t, Timer::Guard, true)),
                self.linger.map(|(t, which)| (t, which, false)),
            ]
            .into_iter()
            .flatten()
            .filter(|e| e.0 <= now)
            .min_by_key(|e| e.0);
            let sends = [
                self.trying.map(|t| (t, Timer::Trying)),
                self.retransmit.map(|r| (r.at, Timer::G)),
            ]
            .into_iter()
            .flatten()
            .filter(|s| s.0 <= now)
            .min_by_key(|s| s.0);
            match (ends, sends) {
                (Some(end), Some(send)) if send.0 < end.0 => self.fire_send(send.1, timers, out),
                (Some((_, which, timeout)), _) => {
                    if timeout {
                        out.push(Out::Timeout(which));
                    }
                    self.state = State::Terminated;
                    self.retransmit = None;
                    self.timeout = None;
                    self.linger = None;
                    self.trying = None;
                    self.guard = None;
                    out.push(Out::Terminated);
                }
                (None, Some(send)) => self.fire_send(send.1, timers, out),
                (None, None) => break,
            }
        }
    }

    fn fire_send(&mut self, which: Timer, timers: &Timers, out: &mut Vec<Out>) {
        if which == Timer::Trying {
            // §17.2.1: the TU has not answered within 200 ms; 100 Trying (which gets
            // no To tag, §8.2.6.1) becomes the response to resend.
            self.trying = None;
            let request = self.request.as_ref();
            if let Some(request) =
                request.filter(|_| self.state == State::Proceeding && self.last_response.is_none())
            {
                let trying = Message::response_to(request, 100, None).to_bytes();
                self.last_response = Some(trying.clone());
                out.push(Out::Send(trying, Timer::Trying));
            }
            return;
        }
        if let Some(r) = self.retransmit {
            // §17.2.1: Timer G doubles up to T2.
            self.retransmit = Some(r.again(std::cmp::min(r.interval * 2, timers.t2)));
            if let Some(b) = &self.last_response {
                out.push(Out::Send(b.clone(), Timer::G));
            }
        }
    }
}
