//! The states of RFC 3261 §17 (Figures 5–8) with RFC 6026's Accepted.

/// A transaction's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// INVITE client: request sent, no response yet (§17.1.1.2).
    Calling,
    /// Non-INVITE client: request sent, no response yet (§17.1.2.2); non-INVITE
    /// server: request received, TU has not answered (§17.2.2).
    Trying,
    /// A provisional response was received (client) or sent (server); for an INVITE
    /// server, also the state it starts in.
    Proceeding,
    /// A non-2xx final response (INVITE) or any final response (non-INVITE) was
    /// received (client) or sent (server); retransmissions are absorbed.
    Completed,
    /// INVITE server: the ACK for a non-2xx final response arrived (§17.2.1).
    Confirmed,
    /// INVITE, either side: a 2xx was sent or received (RFC 6026 §7.1, §7.2).
    Accepted,
    /// Over; the table removes a transaction as soon as it gets here.
    Terminated,
}
