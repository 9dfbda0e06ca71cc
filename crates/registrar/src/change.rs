//! What the registrar decided to do to the stored contacts.

use sorcery::types::Contact;

use crate::status::ContactStatus;

/// One dynamic contact currently bound to the AOR, as the location service holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    /// The stored record.
    pub contact: Contact,
    /// Its qualify status (`remove_unavailable` reads it).
    pub status: ContactStatus,
}

/// Add, refresh or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new binding.
    Add,
    /// An existing binding refreshed: new expiry, and every other field re-copied.
    Update,
    /// A binding removed.
    Delete,
}

/// Why a change was made; the words of Asterisk's log line "Removed contact … due to
/// <reason>" (spec §6.10), so log-watching scripts keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeReason {
    /// Asked for by the REGISTER (add, refresh, expires=0, `*`).
    Request,
    /// Made room under `max_contacts` with `remove_existing=yes`.
    RemoveExisting,
    /// Made room under `max_contacts` with `remove_unavailable=yes`.
    RemoveUnavailable,
    /// Passed its expiration time (the location service's `expire`).
    Expiration,
    /// The connection it was bound to closed (a `prune_on_boot` contact, spec §6.7;
    /// the location service's `connection_closed`). Asterisk's word for a contact
    /// removed by its transport's shutdown.
    Shutdown,
}

impl ChangeReason {
    /// The log word: `request`, `remove existing`, `remove unavailable`, `expiration`,
    /// `shutdown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeReason::Request => "request",
            ChangeReason::RemoveExisting => "remove existing",
            ChangeReason::RemoveUnavailable => "remove unavailable",
            ChangeReason::Expiration => "expiration",
            ChangeReason::Shutdown => "shutdown",
        }
    }
}

/// One change to apply to the store and the location service.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Add, update or delete.
    pub kind: ChangeKind,
    /// Why, for the log line.
    pub reason: ChangeReason,
    /// The full record: for Add/Update every field of spec §6.7 filled; for Delete the
    /// record as it was stored.
    pub contact: Contact,
    /// Seconds granted, for "Added contact … with expiration of N seconds" (0 on Delete).
    pub expires_in: u32,
}
