//! Walking the resolved targets when one fails (RFC 3263 §4.3).
//!
//! RFC 3263 §4.3: when the request to one target fails — the transaction
//! layer reports a transport error or a timeout, or the target answers 503
//! (Service Unavailable) — the client sends a new request (a new client
//! transaction, so a new Via branch) to the next target in the list. Any
//! other response, success or failure, is final: a 404 from one server is
//! the domain's answer, not a reason to ask another.
//!
//! [`Failover`] is a cursor over the list from [`crate::Resolver::resolve`] or
//! [`crate::Planner`]; the caller advances it with what happened.

use crate::transport::Target;

/// What became of a request sent to the current target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The transport could not send (ICMP unreachable, connection refused or
    /// reset, TLS handshake failure): RFC 3261 §8.1.3.1 treats it as a 503.
    TransportError,
    /// The client transaction timed out (Timer B or F, RFC 3261 §17.1): the
    /// server did not answer at all.
    Timeout,
    /// A final response with this status code arrived.
    Response(u16),
}

impl Outcome {
    /// Whether this outcome means "try the next target" (RFC 3263 §4.3).
    pub fn fails_over(self) -> bool {
        match self {
            Outcome::TransportError | Outcome::Timeout => true,
            Outcome::Response(code) => code == 503,
        }
    }
}

/// What the caller does after reporting an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next<'a> {
    /// Send a new request (new branch) to this target.
    Retry(&'a Target),
    /// The outcome is final; pass it on (to the user, or upstream).
    Final,
    /// Every target failed; answer with the last outcome (RFC 3261 §16.7
    /// turns a proxy's timeout / transport error into 408 / 503).
    Exhausted,
}

/// A cursor over targets in failover order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    targets: Vec<Target>,
    pos: usize,
}

impl Failover {
    /// A cursor at the first target.
    pub fn new(targets: Vec<Target>) -> Self {
        Self { targets, pos: 0 }
    }

    /// The target to send to now, or `None` when all have been used up.
    pub fn current(&self) -> Option<&Target> {
        self.targets.get(self.pos)
    }

    /// Moves to the next target unconditionally and returns it.
    pub fn advance(&mut self) -> Option<&Target> {
        if self.pos < self.targets.len() {
            self.pos += 1;
        }
        self.current()
    }

    /// Reports what happened to the request sent to [`Failover::current`]
    /// and says what to do next: advance on a transport error, a timeout or
    /// a 503 (RFC 3263 §4.3), stop on any other response.
    pub fn on_outcome(&mut self, outcome: Outcome) -> Next<'_> {
        if !outcome.fails_over() {
            return Next::Final;
        }
        match self.advance() {
            Some(t) => Next::Retry(t),
            None => Next::Exhausted,
        }
    }

    /// The targets not yet tried, the current one first.
    pub fn remaining(&self) -> &[Target] {
        self.targets.get(self.pos..).unwrap_or(&[])
    }

    /// All the targets, in order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Transport;

    fn t(port: u16) -> Target {
        Target {
            transport: Transport::Udp,
            addr: ([192, 0, 2, 1], port).into(),
            host: "example.com".into(),
        }
    }

    #[test]
    fn advances_on_transport_error_timeout_and_503_only() {
        let mut f = Failover::new(vec![t(1), t(2), t(3), t(4)]);
        assert_eq!(f.current(), Some(&t(1)));
        assert_eq!(f.on_outcome(Outcome::TransportError), Next::Retry(&t(2)));
        assert_eq!(f.on_outcome(Outcome::Response(503)), Next::Retry(&t(3)));
        // Other responses are final and leave the cursor where it is.
        for code in [200, 302, 404, 408, 480, 500, 600] {
            assert_eq!(f.on_outcome(Outcome::Response(code)), Next::Final);
        }
        assert_eq!(f.current(), Some(&t(3)));
        assert_eq!(f.on_outcome(Outcome::Timeout), Next::Retry(&t(4)));
        assert_eq!(f.remaining(), &[t(4)]);
        assert_eq!(f.on_outcome(Outcome::Timeout), Next::Exhausted);
        assert_eq!(f.current(), None);
        assert!(f.remaining().is_empty());
        // Exhausted stays exhausted.
        assert_eq!(f.on_outcome(Outcome::TransportError), Next::Exhausted);
        assert_eq!(f.advance(), None);
        assert_eq!(f.targets().len(), 4);
    }

    #[test]
    fn empty_list_is_exhausted_at_once() {
        let mut f = Failover::new(Vec::new());
        assert_eq!(f.current(), None);
        assert_eq!(f.on_outcome(Outcome::Timeout), Next::Exhausted);
    }
}
