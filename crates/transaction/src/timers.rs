//! Timer values (RFC 3261 §17 and Appendix A, Table 4; RFC 6026 §8.11 for L and M).
//!
//! The machines never read a clock: each value here is a `Duration` that is added to
//! the `Instant` the caller passes in.

use std::time::Duration;

/// The timer values a transaction table uses.
///
/// The defaults are RFC 3261's. Asterisk's `[system]` section sets T1 (`timer_t1`) and
/// Timer B (`timer_b`, which pjproject also uses for Timer F); [`Timers::from_system`]
/// applies the same rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// T1, the round-trip time estimate (500 ms): the first retransmission interval
    /// (Timers A, E, G).
    pub t1: Duration,
    /// T2, the cap on non-INVITE request and INVITE response retransmission
    /// intervals (4 s; Timers E and G).
    pub t2: Duration,
    /// T4, how long a message may stay in the network (5 s; Timers I and K).
    pub t4: Duration,
    /// Timer B (INVITE client gives up) and Timer F (non-INVITE client gives up):
    /// 64×T1 by default.
    pub timer_b: Duration,
    /// Timer D over unreliable transports: how long a client INVITE transaction stays
    /// in Completed to answer retransmitted final responses with ACK (> 32 s; 0 over
    /// reliable transports).
    pub timer_d: Duration,
    /// How long an INVITE server transaction waits for the TU's first response before
    /// sending 100 Trying itself (§17.2.1: 200 ms).
    pub trying_delay: Duration,
    /// Not in RFC 3261: a limit on how long a transaction may wait in a state for
    /// which the RFC defines no timer (client INVITE in Proceeding, server INVITE in
    /// Proceeding, server non-INVITE in Trying or Proceeding), restarted by each
    /// provisional response as Timer C is (§16.6 step 11). `None` (the default) is
    /// the RFC's behaviour: such a transaction lives until its TU or peer acts.
    pub tu_guard: Option<Duration>,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_b: Duration::from_secs(32),
            timer_d: Duration::from_secs(32),
            trying_delay: Duration::from_millis(200),
            tu_guard: None,
        }
    }
}

impl Timers {
    /// Timers with this T1 and Timers B and F at 64×T1, the rest default.
    pub fn with_t1(t1: Duration) -> Timers {
        Timers {
            t1,
            timer_b: t1 * 64,
            ..Timers::default()
        }
    }

    /// The values res_pjsip's `system` object gives: `timer_t1` in milliseconds (at
    /// least 100) and `timer_b` in milliseconds (raised to at least 64×T1).
    pub fn from_system(timer_t1_ms: u32, timer_b_ms: u32) -> Timers {
        let t1 = Duration::from_millis(u64::from(timer_t1_ms.max(100)));
        let b = Duration::from_millis(u64::from(timer_b_ms)).max(t1 * 64);
        Timers {
            t1,
            timer_b: b,
            ..Timers::default()
        }
    }

    /// 64×T1: Timers H, J (unreliable), L and M.
    pub fn t1x64(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D: `timer_d` over unreliable transports, zero over reliable ones.
    pub fn d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.timer_d
        }
    }

    /// Timers I and K: T4 over unreliable transports, zero over reliable ones.
    pub fn t4_or_zero(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }

    /// Timer J: 64×T1 over unreliable transports, zero over reliable ones.
    pub fn j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t1x64()
        }
    }

    /// The longest any transaction can stay alive after its last input: the largest
    /// of all timers that end a transaction.
    pub fn longest(&self) -> Duration {
        [
            self.timer_b,
            self.timer_d,
            self.t1x64(),
            self.t4,
            self.tu_guard.unwrap_or(Duration::ZERO),
        ]
        .into_iter()
        .max()
        .unwrap_or(Duration::ZERO)
    }
}

/// Which timer fired (RFC 3261 §17 names, plus the few this crate adds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// INVITE client request retransmission (§17.1.1.2).
    A,
    /// INVITE client gives up waiting for any response (§17.1.1.2).
    B,
    /// INVITE client leaves Completed (§17.1.1.2).
    D,
    /// Non-INVITE client request retransmission (§17.1.2.2).
    E,
    /// Non-INVITE client gives up (§17.1.2.2).
    F,
    /// INVITE server final response retransmission (§17.2.1).
    G,
    /// INVITE server gives up waiting for the ACK (§17.2.1).
    H,
    /// INVITE server leaves Confirmed (§17.2.1).
    I,
    /// Non-INVITE server leaves Completed (§17.2.2).
    J,
    /// Non-INVITE client leaves Completed (§17.1.2.2).
    K,
    /// INVITE server leaves Accepted (RFC 6026 §8.7).
    L,
    /// INVITE client leaves Accepted (RFC 6026 §8.4).
    M,
    /// The INVITE server sends 100 Trying (§17.2.1, 200 ms).
    Trying,
    /// No final response to an INVITE 64×T1 after it was CANCELled (§9.1).
    Cancel,
    /// [`Timers::tu_guard`] ran out.
    Guard,
}

/// A running retransmission timer (A, E or G): when it fires next and the interval
/// it was last set to (the next interval is computed from it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retransmit {
    pub at: std::time::Instant,
    pub interval: Duration,
}

impl Retransmit {
    /// Started at `now` with interval T1.
    pub fn start(now: std::time::Instant, t1: Duration) -> Retransmit {
        Retransmit {
            at: now + t1,
            interval: t1,
        }
    }

    /// Fired: the next one is `next` after this deadline (not after `now`, so a late
    /// poll does not shift the schedule).
    pub fn again(self, next: Duration) -> Retransmit {
        Retransmit {
            at: self.at + next,
            interval: next,
        }
    }
}

/// What a state machine asks its table to do after a timer or an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Out {
    /// Send these bytes to the peer (a retransmission or 100 Trying).
    Send(bytes::Bytes, Timer),
    /// Tell the TU the transaction timed out (408-equivalent for a client).
    Timeout(Timer),
    /// The transaction is over; remove it.
    Terminated,
}
