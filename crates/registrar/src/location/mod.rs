//! The location service: every AOR's dynamic bindings in memory, and their expiry.
//!
//! * **Sharded**: AORs are spread over independent shards by a hash of the AOR name,
//!   each behind its own mutex, so REGISTERs and lookups for different AORs rarely
//!   meet on a lock and no lock is global. A shard's lock is held for one map
//!   operation, never across I/O.
//! * **Expiry without a task per contact**: each shard keeps an ordered set of
//!   `(expiration time, AOR)`; scheduling, refreshing and cancelling are O(log n),
//!   [`Location::next_expiry`] reads the first entry of each shard, and
//!   [`Location::expire`] pops what is due. Time is an argument (sans-IO): the driver
//!   sleeps until `next_expiry()` and then calls `expire(now)`.
//! * **Compact**: see [`binding`]; the `benches/memory.rs` report and the
//!   `memory_per_contact` test measure bytes per contact.
//! * **Connection-bound contacts** (spec §6.7: `prune_on_boot`, registered over a
//!   TCP, TLS or WebSocket connection that they die with): each shard indexes them by
//!   the connection their latest REGISTER came on ([`Location::apply_on`]), so
//!   [`Location::connection_closed`] finds them with one map lookup per shard instead
//!   of a scan. Only such contacts are in the index; a binding records its entry in
//!   a `u32` that fits the binding's padding, so the others cost nothing.
//!
//! The store stays the durable copy; this is the copy lookups and the registrar read.

mod binding;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};

use sorcery::types::Contact;

use crate::change::{Change, ChangeKind, Current};
use crate::status::ContactStatus;
use binding::{Binding, Interner};

type RandomState = foldhash::fast::RandomState;

/// Default number of shards: enough that two cores (or sixteen) rarely contend.
const DEFAULT_SHARDS: usize = 64;

#[derive(Default)]
struct Shard {
    /// AOR name → its bindings, sorted by URI text. A boxed slice, not a `Vec`: most
    /// AORs hold one binding, and the slice saves the capacity word and any slack.
    aors: HashMap<Arc<str>, Box<[Binding]>, RandomState>,
    /// (expiration time, AOR) for every AOR with a binding expiring then.
    expiry: BTreeSet<(u64, Arc<str>)>,
    /// Shared strings (endpoint, User-Agent, reg_server, outbound_proxy).
    strings: HashSet<Arc<str>, RandomState>,
    contacts: usize,
    /// The bindings that die with a connection, by connection.
    bound: Bound,
}

/// A shard's index of the bindings bound to a connection (`prune_on_boot` contacts
/// registered over it): connection → slot → the AOR of each binding, and each such
/// binding holds its slot number (`Binding::slot`, in what was padding). The AOR names
/// are the shard's own `Arc<str>` keys, so an entry costs a pointer, not a copy.
///
/// When, as usual, a connection carries one registration, a bound binding costs one
/// `by_connection` entry (16 bytes in a hash table) and one 24-byte `Slot`; a second
/// AOR on the same connection goes to `extra`. Slots are reused through `free`; the
/// tables do not shrink after a mass disconnect (their size follows the peak number
/// of bound connections).
#[derive(Default)]
struct Bound {
    /// Connection number → its slot (1-based index into `slots`).
    by_connection: HashMap<u64, u32, RandomState>,
    slots: Vec<Slot>,
    /// The AORs of a slot's bindings beyond the first (one entry per binding); only
    /// for slots whose `aor` is set.
    extra: HashMap<u32, Vec<Arc<str>>, RandomState>,
    /// Slots whose `aor` is empty, for reuse.
    free: Vec<u32>,
    /// Bindings bound.
    count: usize,
}

/// One connection with bound bindings.
struct Slot {
    connection: u64,
    /// The AOR of its first binding (`None`: a free slot).
    aor: Option<Arc<str>>,
}

impl Bound {
    /// Binds one binding of `aor` to `connection`; returns the slot to record in the
    /// binding (0 if the shard has run out of slot numbers, which would take four
    /// billion bound connections: the binding then stays unbound).
    fn bind(&mut self, connection: u64, aor: Arc<str>) -> u32 {
        let slot = match self.by_connection.get(&connection) {
            Some(&s) => s,
            None => {
                let s = match self.free.pop() {
                    Some(s) => s,
                    None => {
                        let Ok(s) = u32::try_from(self.slots.len() + 1) else {
                            return 0;
                        };
                        if self.slots.len() == self.slots.capacity() {
                            // Grow by an eighth, not double: a slot per phone on a
                            // connection is worth keeping tight at a million phones.
                            self.slots.reserve_exact(self.slots.len() / 8 + 16);
                        }
                        self.slots.push(Slot {
                            connection,
                            aor: None,
                        });
                        s
                    }
                };
                self.slots[s as usize - 1].connection = connection;
                self.by_connection.insert(connection, s);
                s
            }
        };
        let entry = &mut self.slots[slot as usize - 1];
        if entry.aor.is_none() {
            entry.aor = Some(aor);
        } else {
            self.extra.entry(slot).or_default().push(aor);
        }
        self.count += 1;
        slot
    }

    /// Unbinds one binding of `aor` that recorded `slot` (nothing for slot 0); the
    /// slot is freed with its last binding.
    fn unbind(&mut self, slot: u32, aor: &str) {
        let Some(entry) = (slot as usize)
            .checked_sub(1)
            .and_then(|i| self.slots.get_mut(i))
        else {
            return;
        };
        if entry.aor.as_deref() == Some(aor) {
            // The first goes; an extra one, if any, takes its place.
            entry.aor = None;
            if let Some(more) = self.extra.get_mut(&slot) {
                entry.aor = more.pop();
                if more.is_empty() {
                    self.extra.remove(&slot);
                }
            }
        } else {
            let Some(more) = self.extra.get_mut(&slot) else {
                return;
            };
            let Some(i) = more.iter().position(|a| &**a == aor) else {
                return;
            };
            more.swap_remove(i);
            if more.is_empty() {
                self.extra.remove(&slot);
            }
        }
        self.count -= 1;
        if entry.aor.is_none() {
            self.by_connection.remove(&entry.connection);
            self.free.push(slot);
        }
    }

    /// The slot of `connection` and the AORs with a binding bound to it, each once.
    fn find(&self, connection: u64) -> Option<(u32, Vec<Arc<str>>)> {
        let slot = *self.by_connection.get(&connection)?;
        let first = self.slots.get(slot as usize - 1)?.aor.clone();
        let mut aors: Vec<Arc<str>> = first.into_iter().collect();
        for a in self.extra.get(&slot).into_iter().flatten() {
            if !aors.contains(a) {
                aors.push(a.clone());
            }
        }
        Some((slot, aors))
    }
}

impl Interner for HashSet<Arc<str>, RandomState> {
    fn intern(&mut self, s: &str) -> Option<Arc<str>> {
        if s.is_empty() {
            return None;
        }
        if let Some(a) = self.get(s) {
            return Some(a.clone());
        }
        let a: Arc<str> = Arc::from(s);
        self.insert(a.clone());
        Some(a)
    }
}

impl Shard {
    /// Drops interned strings no binding uses any more (the set's own reference and
    /// the binding being removed are the last two).
    fn release(&mut self, b: &Binding) {
        for s in b.shared().into_iter().flatten() {
            if Arc::strong_count(s) <= 2 {
                self.strings.remove(&**s);
            }
        }
    }

    /// Removes `(t, aor)` from the schedule unless another binding of the AOR still
    /// expires at `t`.
    fn unschedule(&mut self, aor: &Arc<str>, t: u64) {
        let still = self
            .aors
            .get(aor)
            .is_some_and(|v| v.iter().any(|b| b.expires_at == t));
        if !still {
            self.expiry.remove(&(t, aor.clone()));
        }
    }

    fn key(&self, aor: &str) -> Arc<str> {
        match self.aors.get_key_value(aor) {
            Some((k, _)) => k.clone(),
            None => Arc::from(aor),
        }
    }

    fn remove_at(&mut self, aor: &Arc<str>, index: usize) -> Option<Binding> {
        let list = self.aors.get_mut(aor)?;
        if index >= list.len() {
            return None;
        }
        let mut v = std::mem::take(list).into_vec();
        let b = v.remove(index);
        if v.is_empty() {
            self.aors.remove(aor);
        } else {
            *list = v.into_boxed_slice();
        }
        self.contacts -= 1;
        self.unschedule(aor, b.expires_at);
        self.release(&b);
        self.bound.unbind(b.slot, aor);
        Some(b)
    }

    /// Adds or replaces the binding of `contact`; with a `connection`, a
    /// `prune_on_boot` contact is bound to it (any earlier binding of the same contact,
    /// to this or another connection, went with the replaced binding).
    fn upsert(
        &mut self,
        aor: &str,
        contact: &Contact,
        status: Option<ContactStatus>,
        connection: Option<u64>,
    ) {
        let key = self.key(aor);
        let id = contact.meta.id.as_str();
        let old = self
            .aors
            .get(&key)
            .and_then(|v| v.iter().position(|b| b.id(aor) == id));
        let status = match (status, old) {
            (Some(s), _) => s,
            (None, Some(i)) => self
                .aors
                .get(&key)
                .and_then(|v| v.get(i))
                .map_or(ContactStatus::NonQualified, Binding::status),
            (None, None) => ContactStatus::NonQualified,
        };
        if let Some(i) = old {
            self.remove_at(&key, i);
        }
        let mut b = Binding::new(aor, contact, status, &mut self.strings);
        // (the interner is per shard, so shared strings cost one allocation per shard)
        if let (true, Some(connection)) = (b.prune_on_boot(), connection) {
            b.slot = self.bound.bind(connection, key.clone());
        }
        if b.expires_at != 0 {
            self.expiry.insert((b.expires_at, key.clone()));
        }
        let list = self.aors.entry(key).or_default();
        let mut v = std::mem::take(list).into_vec();
        let at = v.partition_point(|x| x.uri() <= b.uri());
        v.insert(at, b);
        *list = v.into_boxed_slice();
        self.contacts += 1;
    }

    fn delete(&mut self, aor: &str, id: &str) -> Option<Binding> {
        let key = self.key(aor);
        let i = self.aors.get(&key)?.iter().position(|b| b.id(aor) == id)?;
        self.remove_at(&key, i)
    }

    /// Removes the bindings bound to `connection`.
    fn take_bound(&mut self, connection: u64, out: &mut Vec<Contact>) {
        let Some((slot, aors)) = self.bound.find(connection) else {
            return;
        };
        for aor in aors {
            while let Some(i) = self
                .aors
                .get(&aor)
                .and_then(|v| v.iter().position(|b| b.slot == slot))
            {
                match self.remove_at(&aor, i) {
                    Some(b) => out.push(b.to_contact(&aor)),
                    None => break,
                }
            }
        }
    }

    /// The bindings bound to `connection`, left in place.
    fn bound_to(&self, connection: u64, out: &mut Vec<Contact>) {
        let Some((slot, aors)) = self.bound.find(connection) else {
            return;
        };
        for aor in aors {
            let list = self.aors.get(&aor).map_or(&[][..], |v| &v[..]);
            out.extend(
                list.iter()
                    .filter(|b| b.slot == slot)
                    .map(|b| b.to_contact(&aor)),
            );
        }
    }
}

/// How many closed connections [`Location`] remembers (see
/// [`Location::apply_on`]): enough for the closes of the few moments a REGISTER
/// spends between its arrival and its commit even in a disconnect storm, at about
/// 100 KB.
const CLOSED_REMEMBERED: usize = 4096;

/// The connections closed most recently, oldest first.
#[derive(Default)]
struct RecentlyClosed {
    order: VecDeque<u64>,
    set: HashSet<u64, RandomState>,
}

impl RecentlyClosed {
    fn insert(&mut self, connection: u64) {
        if !self.set.insert(connection) {
            return;
        }
        self.order.push_back(connection);
        if self.order.len() > CLOSED_REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    fn contains(&self, connection: u64) -> bool {
        self.set.contains(&connection)
    }
}

/// Counts for `pjsip show contacts` summaries and memory reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LocationStats {
    /// AORs with at least one binding.
    pub aors: usize,
    /// Bindings.
    pub contacts: usize,
    /// Bindings bound to a connection (`prune_on_boot` contacts that
    /// [`Location::connection_closed`] would remove).
    pub bound: usize,
}

/// Every AOR's dynamic contacts, sharded by AOR name. Shared between threads by `&`.
pub struct Location {
    shards: Box<[Mutex<Shard>]>,
    pick: foldhash::fast::FixedState,
    closed: Mutex<RecentlyClosed>,
}

impl Default for Location {
    fn default() -> Location {
        Location::new()
    }
}

impl Location {
    /// An empty location service with the default number of shards.
    pub fn new() -> Location {
        Location::with_shards(DEFAULT_SHARDS)
    }

    /// An empty location service with `n` shards (at least one).
    pub fn with_shards(n: usize) -> Location {
        Location {
            shards: (0..n.max(1)).map(|_| Mutex::default()).collect(),
            pick: foldhash::fast::FixedState::with_seed(0x5b5b_0a0a),
            closed: Mutex::default(),
        }
    }

    fn shard(&self, aor: &str) -> MutexGuard<'_, Shard> {
        let i = (self.pick.hash_one(aor) % self.shards.len() as u64) as usize;
        lock(&self.shards[i])
    }

    /// The AOR's bindings still valid at `now`, sorted by URI, with their status.
    pub fn contacts(&self, aor: &str, now: u64) -> Vec<Current> {
        let shard = self.shard(aor);
        shard.aors.get(aor).map_or_else(Vec::new, |list| {
            list.iter()
                .filter(|b| b.expires_at == 0 || b.expires_at > now)
                .map(|b| Current {
                    contact: b.to_contact(aor),
                    status: b.status(),
                })
                .collect()
        })
    }

    /// How many bindings the AOR has (expired ones not yet collected included).
    pub fn count(&self, aor: &str) -> usize {
        self.shard(aor).aors.get(aor).map_or(0, |l| l.len())
    }

    /// Applies the registrar's changes (each contact's AOR is read from its id). An
    /// update keeps the binding's qualify status; an add starts `NonQualified`. No
    /// contact is bound to a connection: see [`Location::apply_on`].
    pub fn apply(&self, changes: &[Change]) {
        self.apply_on(changes, None);
    }

    /// [`Location::apply`] for the changes of a REGISTER that arrived on
    /// `connection` (the transport's number for it, never reused while the process
    /// runs; `None` over UDP): its added and refreshed `prune_on_boot` contacts are
    /// bound to that connection, and [`Location::connection_closed`] removes them. A
    /// refresh rebinds a contact to the connection the refresh came on; a contact
    /// refreshed without `prune_on_boot`, or deleted, is unbound.
    ///
    /// The connection may have closed while the REGISTER was being decided and
    /// stored, and its close found nothing to remove then: if it is among the last
    /// few thousand connections closed, the contacts just bound to it are removed
    /// again at once and returned, for the caller to delete from the store as
    /// `connection_closed` would have. Usually the result is empty.
    pub fn apply_on(&self, changes: &[Change], connection: Option<u64>) -> Vec<Contact> {
        let mut bound = false;
        for ch in changes {
            let aor = ch.contact.aor();
            let mut shard = self.shard(aor);
            match ch.kind {
                ChangeKind::Add => shard.upsert(
                    aor,
                    &ch.contact,
                    Some(ContactStatus::NonQualified),
                    connection,
                ),
                ChangeKind::Update => shard.upsert(aor, &ch.contact, None, connection),
                ChangeKind::Delete => {
                    shard.delete(aor, &ch.contact.meta.id);
                }
            }
            bound |= ch.kind != ChangeKind::Delete && ch.contact.prune_on_boot;
        }
        // The close records the connection before it looks for bindings, and this
        // looks for the record after binding: one of the two sees the other.
        match connection {
            Some(c) if bound && lock(&self.closed).contains(c) => self.take_bound(c),
            _ => Vec::new(),
        }
    }

    /// Removes and returns the contacts bound to `connection` (see
    /// [`Location::apply_on`]), which has closed (spec §6.7: a `prune_on_boot`
    /// contact is deleted when its connection closes), sorted by AOR and URI. Costs
    /// one lookup per shard, whatever the number of contacts. The connection is
    /// remembered as closed, so that a REGISTER that came on it and is applied later
    /// does not leave contacts bound to it.
    pub fn connection_closed(&self, connection: u64) -> Vec<Contact> {
        lock(&self.closed).insert(connection);
        self.take_bound(connection)
    }

    /// The contacts bound to `connection`, sorted by AOR and URI (left in place).
    pub fn bound_to(&self, connection: u64) -> Vec<Contact> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            lock(s).bound_to(connection, &mut out);
        }
        sort_by_aor_and_uri(&mut out);
        out
    }

    fn take_bound(&self, connection: u64) -> Vec<Contact> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            lock(s).take_bound(connection, &mut out);
        }
        sort_by_aor_and_uri(&mut out);
        out
    }

    /// Puts a stored contact back (at start, from the store), replacing one with the
    /// same id. It is bound to no connection: those it could have been bound to are
    /// gone with the process that accepted them (a `prune_on_boot` contact loaded
    /// from a shared store belongs to another node's connection).
    pub fn load(&self, contact: &Contact, status: ContactStatus) {
        let aor = contact.aor();
        self.shard(aor).upsert(aor, contact, Some(status), None);
    }

    /// Removes one contact by id; returns it if it was there.
    pub fn remove(&self, contact_id: &str) -> Option<Contact> {
        let aor = aor_of(contact_id);
        self.shard(aor)
            .delete(aor, contact_id)
            .map(|b| b.to_contact(aor))
    }

    /// Records a qualify result; false if the AOR has no binding with that URI.
    pub fn set_status(&self, aor: &str, uri: &str, status: ContactStatus) -> bool {
        let mut shard = self.shard(aor);
        let Some(list) = shard.aors.get_mut(aor) else {
            return false;
        };
        match list.iter_mut().find(|b| b.uri() == uri) {
            Some(b) => {
                b.set_status(status);
                true
            }
            None => false,
        }
    }

    /// The earliest expiration time of any binding: when the driver should next call
    /// [`Location::expire`].
    pub fn next_expiry(&self) -> Option<u64> {
        self.shards
            .iter()
            .filter_map(|s| lock(s).expiry.first().map(|(t, _)| *t))
            .min()
    }

    /// Removes every binding whose expiration time is at or before `now` and returns
    /// them, earliest first, for the store and the "due to expiration" log line.
    pub fn expire(&self, now: u64) -> Vec<Contact> {
        let mut out: Vec<(u64, Contact)> = Vec::new();
        for s in self.shards.iter() {
            let mut shard = lock(s);
            while let Some((t, aor)) = shard.expiry.first().cloned() {
                if t > now {
                    break;
                }
                shard.expiry.pop_first();
                while let Some(i) = shard.aors.get(&aor).and_then(|v| {
                    v.iter()
                        .position(|b| b.expires_at != 0 && b.expires_at <= now)
                }) {
                    if let Some(b) = shard.remove_at(&aor, i) {
                        out.push((b.expires_at, b.to_contact(&aor)));
                    }
                }
            }
        }
        // Each shard's entries came out in time order; a stable sort by time merges them.
        out.sort_by_key(|(t, _)| *t);
        out.into_iter().map(|(_, c)| c).collect()
    }

    /// AOR and binding counts.
    pub fn stats(&self) -> LocationStats {
        self.shards.iter().fold(LocationStats::default(), |acc, s| {
            let s = lock(s);
            LocationStats {
                aors: acc.aors + s.aors.len(),
                contacts: acc.contacts + s.contacts,
                bound: acc.bound + s.bound.count,
            }
        })
    }
}

/// The AOR part of a contact id (`<aor>;@<hash>` or `<aor>@@<hash>`), as
/// `Contact::aor` reads it.
fn aor_of(id: &str) -> &str {
    id.find(";@")
        .or_else(|| id.find("@@"))
        .map_or(id, |i| &id[..i])
}

fn sort_by_aor_and_uri(contacts: &mut [Contact]) {
    contacts.sort_by(|a, b| (a.aor(), a.uri.as_str()).cmp(&(b.aor(), b.uri.as_str())));
}

/// A poisoned lock only means another thread panicked mid-update of plain data whose
/// invariants hold between statements; keep serving rather than panic too.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    /// What docs/registrar.md and `Bound`'s comment count per bound connection.
    #[test]
    fn a_slot_is_24_bytes() {
        assert_eq!(std::mem::size_of::<super::Slot>(), 24);
    }
}
