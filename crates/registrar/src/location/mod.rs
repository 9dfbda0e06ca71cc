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
//!
//! The store stays the durable copy; this is the copy lookups and the registrar read.

mod binding;

use std::collections::{BTreeSet, HashMap, HashSet};
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
        Some(b)
    }

    fn upsert(&mut self, aor: &str, contact: &Contact, status: Option<ContactStatus>) {
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
        let b = Binding::new(aor, contact, status, &mut self.strings);
        // (the interner is per shard, so shared strings cost one allocation per shard)
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
}

/// Counts for `pjsip show contacts` summaries and memory reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LocationStats {
    /// AORs with at least one binding.
    pub aors: usize,
    /// Bindings.
    pub contacts: usize,
}

/// Every AOR's dynamic contacts, sharded by AOR name. Shared between threads by `&`.
pub struct Location {
    shards: Box<[Mutex<Shard>]>,
    pick: foldhash::fast::FixedState,
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
    /// update keeps the binding's qualify status; an add starts `NonQualified`.
    pub fn apply(&self, changes: &[Change]) {
        for ch in changes {
            let aor = ch.contact.aor();
            let mut shard = self.shard(aor);
            match ch.kind {
                ChangeKind::Add => {
                    shard.upsert(aor, &ch.contact, Some(ContactStatus::NonQualified))
                }
                ChangeKind::Update => shard.upsert(aor, &ch.contact, None),
                ChangeKind::Delete => {
                    shard.delete(aor, &ch.contact.meta.id);
                }
            }
        }
    }

    /// Puts a stored contact back (at start, from the store), replacing one with the
    /// same id.
    pub fn load(&self, contact: &Contact, status: ContactStatus) {
        let aor = contact.aor();
        self.shard(aor).upsert(aor, contact, Some(status));
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

/// A poisoned shard lock only means another thread panicked mid-update of plain data
/// whose invariants hold between statements; keep serving rather than panic too.
fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
