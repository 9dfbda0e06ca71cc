//! Client transactions: INVITE (RFC 3261 §17.1.1, with RFC 6026's Accepted state)
//! and non-INVITE (§17.1.2).

use std::time::Instant;

use bytes::Bytes;
use sip_message::Message;

use crate::ack::build_ack;
use crate::state::State;
use crate::timers::{Out, Retransmit, Timer, Timers};

/// What to do with a response that matched this transaction.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    /// Pass the response to the TU.
    pub deliver: bool,
    /// Send these bytes (the ACK for a non-2xx final response).
    pub send: Option<Bytes>,
}

/// One client transaction.
#[derive(Debug)]
pub(crate) struct ClientTx {
    invite: bool,
    state: State,
    reliable: bool,
    /// The INVITE, kept to build the ACK; `None` for non-INVITE.
    invite_request: Option<Message>,
    /// The request as sent, for retransmission.
    bytes: Bytes,
    /// The ACK for the final response, once built (INVITE, Completed).
    ack: Option<Bytes>,
    /// Timer A or E.
    retransmit: Option<Retransmit>,
    /// Timer B or F.
    timeout: Option<Instant>,
    /// Timer D, K or M: the end of Completed or Accepted.
    linger: Option<(Instant, Timer)>,
    /// §9.1's 64×T1 after CANCEL, or [`Timers::tu_guard`].
    guard: Option<(Instant, Timer)>,
}

impl ClientTx {
    /// Starts the transaction for `request`, just sent as `bytes` (§17.1.1.2: Timer A
    /// and B; §17.1.2.2: Timer E and F; A and E only over unreliable transports).
    pub fn start(
        request: &Message,
        bytes: Bytes,
        reliable: bool,
        now: Instant,
        timers: &Timers,
    ) -> ClientTx {
        let invite = matches!(request.method(), Some(sip_message::Method::Invite));
        ClientTx {
            invite,
            state: if invite {
                State::Calling
            } else {
                State::Trying
            },
            reliable,
            invite_request: invite.then(|| request.clone()),
            bytes,
            ack: None,
            retransmit: (!reliable).then(|| Retransmit::start(now, timers.t1)),
            timeout: Some(now + timers.timer_b),
            linger: None,
            guard: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// A CANCEL for this INVITE was sent: if no final response comes within 64×T1,
    /// give up (§9.1).
    pub fn cancelled(&mut self, now: Instant, timers: &Timers) {
        if self.invite && matches!(self.state, State::Calling | State::Proceeding) {
            self.guard = Some((now + timers.t1x64(), Timer::Cancel));
        }
    }

    /// A response matched this transaction.
    pub fn on_response(&mut self, response: &Message, now: Instant, timers: &Timers) -> Verdict {
        let Some(code) = response.status() else {
            return Verdict::default();
        };
        if self.invite {
            self.invite_response(code, response, now, timers)
        } else {
            self.non_invite_response(code, now, timers)
        }
    }

    fn invite_response(
        &mut self,
        code: u16,
        response: &Message,
        now: Instant,
        timers: &Timers,
    ) -> Verdict {
        match (self.state, code) {
            (State::Calling | State::Proceeding, 100..=199) => {
                // §17.1.1.2: no more retransmissions, and Timer B only applies in
                // Calling.
                self.state = State::Proceeding;
                self.retransmit = None;
                self.timeout = None;
                if let Some(g) = timers.tu_guard {
                    if !matches!(self.guard, Some((_, Timer::Cancel))) {
                        self.guard = Some((now + g, Timer::Guard));
                    }
                }
                Verdict {
                    deliver: true,
                    send: None,
                }
            }
            (State::Calling | State::Proceeding, 200..=299) => {
                // RFC 6026 §8.4: Accepted, Timer M; the TU sends the ACK.
                self.state = State::Accepted;
                self.clear();
                self.linger = Some((now + timers.t1x64(), Timer::M));
                Verdict {
                    deliver: true,
                    send: None,
                }
            }
            (State::Calling | State::Proceeding, 300..=699) => {
                // §17.1.1.2: ACK, Completed, Timer D.
                self.state = State::Completed;
                self.clear();
                self.linger = Some((now + timers.d(self.reliable), Timer::D));
                self.ack = self
                    .invite_request
                    .as_ref()
                    .and_then(|inv| build_ack(inv, response).ok())
                    .map(|a| a.to_bytes());
                Verdict {
                    deliver: true,
                    send: self.ack.clone(),
                }
            }
            (State::Completed, 300..=699) => Verdict {
                // A retransmitted final response: ACK again, TU not told.
                deliver: false,
                send: self.ack.clone(),
            },
            // RFC 6026 §8.4: retransmitted 2xx go to the TU, which ACKs each.
            (State::Accepted, 200..=299) => Verdict {
                deliver: true,
                send: None,
            },
            _ => Verdict::default(),
        }
    }

    fn non_invite_response(&mut self, code: u16, now: Instant, timers: &Timers) -> Verdict {
        match (self.state, code) {
            (State::Trying | State::Proceeding, 100..=199) => {
                // §17.1.2.2: Proceeding; Timer E keeps running and is reset to T2 when
                // it fires next.
                self.state = State::Proceeding;
                Verdict {
                    deliver: true,
                    send: None,
                }
            }
            (State::Trying | State::Proceeding, 200..=699) => {
                self.state = State::Completed;
                self.clear();
                self.linger = Some((now + timers.t4_or_zero(self.reliable), Timer::K));
                Verdict {
                    deliver: true,
                    send: None,
                }
            }
            _ => Verdict::default(),
        }
    }

    fn clear(&mut self) {
        self.retransmit = None;
        self.timeout = None;
        self.guard = None;
    }

    /// The earliest running timer. On equal deadlines a timer that ends the
    /// transaction wins over a retransmission, which would be pointless.
    pub fn deadline(&self) -> Option<Instant> {
        [
            self.timeout,
            self.linger.map(|l| l.0),
            self.guard.map(|g| g.0),
            self.retransmit.map(|r| r.at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires every timer due at `now`, in deadline order.
    pub fn on_timer(&mut self, now: Instant, timers: &Timers, out: &mut Vec<Out>) {
        while self.state != State::Terminated {
            let ends = [
                self.timeout
                    .map(|t| (t, if self.invite { Timer::B } else { Timer::F }, true)),
                self.guard.map(|(t, which)| (t, which, true)),
                self.linger.map(|(t, which)| (t, which, false)),
            ]
            .into_iter()
            .flatten()
            .filter(|e| e.0 <= now)
            .min_by_key(|e| e.0);
            let resend = self.retransmit.filter(|r| r.at <= now);
            match (ends, resend) {
                (Some(end), Some(r)) if r.at < end.0 => self.fire_retransmit(r, timers, out),
                (Some((_, which, timeout)), _) => {
                    if timeout {
                        out.push(Out::Timeout(which));
                    }
                    self.terminate(out);
                }
                (None, Some(r)) => self.fire_retransmit(r, timers, out),
                (None, None) => break,
            }
        }
    }

    fn fire_retransmit(&mut self, r: Retransmit, timers: &Timers, out: &mut Vec<Out>) {
        let (next, which) = if self.invite {
            // §17.1.1.2: Timer A doubles, with no cap (Timer B ends it).
            (r.interval * 2, Timer::A)
        } else if self.state == State::Proceeding {
            // §17.1.2.2: in Proceeding, Timer E is reset to T2.
            (timers.t2, Timer::E)
        } else {
            (std::cmp::min(r.interval * 2, timers.t2), Timer::E)
        };
        out.push(Out::Send(self.bytes.clone(), which));
        self.retransmit = Some(r.again(next));
    }

    fn terminate(&mut self, out: &mut Vec<Out>) {
        self.state = State::Terminated;
        self.clear();
        self.linger = None;
        out.push(Out::Terminated);
    }
}
