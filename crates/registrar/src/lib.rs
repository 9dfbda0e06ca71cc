//! The registrar of Switchboard (spec §6): what to answer to a REGISTER and which
//! contact bindings to add, refresh and remove, plus the in-memory location service
//! that holds the bindings and expires them.
//!
//! Sans-IO, like the rest of the protocol core: the rules are pure functions of the
//! request, the AOR, the contacts currently bound, the packet's source and *the time*,
//! passed in as UNIX seconds. Nothing here reads a clock, touches a socket or spawns a
//! task, so every rule is tested to the second in microseconds, and the driver above
//! decides where durability (the store) and concurrency (per-AOR serializers) happen.
//!
//! The flow for one REGISTER that identification and authentication accepted:
//!
//! 1. [`find_aor`] picks the AOR name from the To URI and the endpoint's `aors` (§6.3).
//! 2. The driver loads that [`Aor`](sorcery::types::Aor) from the store (missing ⇒
//!    [`Reply::aor_not_found`]) and the AOR's current dynamic contacts from the
//!    [`Location`] service.
//! 3. [`register`] applies §6.2–6.9 and returns a [`Decision`]: the [`Reply`] and the
//!    [`Change`]s, each a full `sorcery` [`Contact`](sorcery::types::Contact) record
//!    with the reason to log.
//! 4. The driver writes the changes to the store, applies them to the [`Location`]
//!    ([`Location::apply`]), and only then sends the reply (a 200 means "stored").
//!
//! Steps 2–4 for one AOR must run in order (on the AOR's serializer, spec §13): the
//! decision is computed from a snapshot of the AOR's contacts.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod aor_lookup;
mod change;
mod contact_id;
mod expiration;
mod location;
mod nat;
mod register;
mod reply;
mod status;

pub use aor_lookup::{find_aor, AorQuery};
pub use change::{Change, ChangeKind, ChangeReason, Current};
pub use contact_id::{dynamic_contact_id, static_contact_id};
pub use expiration::{clamp_expiration, ExpirationLimits};
pub use location::{Location, LocationStats};
pub use nat::{restore_orig_host, rewrite_contact_uri, Source, TransportKind, ORIG_HOST_PARAM};
pub use register::{
    register, static_contacts, Decision, Registration, MAX_CONTACT_HOST_LEN, MAX_CONTACT_URI_LEN,
};
pub use reply::Reply;
pub use status::ContactStatus;
