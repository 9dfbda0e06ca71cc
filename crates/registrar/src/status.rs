//! Qualify status of a contact (spec §10), as far as the registrar needs it:
//! `remove_unavailable` deletes Unreachable contacts first.

/// The qualify state of one contact. New contacts start `NonQualified` (spec §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[repr(u8)]
pub enum ContactStatus {
    /// Qualify timed out or failed on transport (`Unreachable` / `Unavail`).
    Unreachable = 0,
    /// Answered the last qualify (`Reachable` / `Avail`).
    Reachable = 1,
    /// Not yet known (`Unknown`).
    Unknown = 2,
    /// Qualify is off for this contact; also every new contact's first state.
    #[default]
    NonQualified = 3,
    /// Being removed (`Removed`).
    Removed = 4,
}

impl ContactStatus {
    /// The long label of AMI `ContactStatus` and the log line.
    pub fn label(self) -> &'static str {
        match self {
            ContactStatus::Unreachable => "Unreachable",
            ContactStatus::Reachable => "Reachable",
            ContactStatus::Unknown => "Unknown",
            ContactStatus::NonQualified => "NonQualified",
            ContactStatus::Removed => "Removed",
        }
    }

    /// The short label of the CLI (`pjsip show contacts`).
    pub fn short_label(self) -> &'static str {
        match self {
            ContactStatus::Unreachable => "Unavail",
            ContactStatus::Reachable => "Avail",
            ContactStatus::Unknown => "Unknown",
            ContactStatus::NonQualified => "NonQual",
            ContactStatus::Removed => "Removed",
        }
    }

    /// What `remove_unavailable` treats as unavailable: only a failed qualify. A contact
    /// that was never probed is not known to be dead, so it is not preferred for removal.
    pub fn is_unavailable(self) -> bool {
        self == ContactStatus::Unreachable
    }

    pub(crate) fn from_u8(v: u8) -> ContactStatus {
        match v {
            0 => ContactStatus::Unreachable,
            1 => ContactStatus::Reachable,
            2 => ContactStatus::Unknown,
            4 => ContactStatus::Removed,
            _ => ContactStatus::NonQualified,
        }
    }
}
