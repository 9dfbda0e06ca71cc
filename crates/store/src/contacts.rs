//! Registered contacts made durable: the group-commit writer the registrar hands its
//! changes to, and the load of the stored contacts at start.
//!
//! A REGISTER is answered 200 only once its contact is durably stored (DESIGN.md,
//! "Durable without being slow"). Committing each REGISTER on its own would cost one
//! fsync each, a few milliseconds on a disk, and cap the registrar at a few hundred
//! per second whatever the CPU. So one writer task takes every change waiting when it
//! is free, writes them all in ONE transaction (one fsync), and only then tells each
//! submitter its change is stored; changes arriving meanwhile wait for the next round.
//! Under load, rounds grow by themselves: the busier the store, the more changes
//! share each fsync; an idle store commits a lone change at once, adding no delay.
//!
//! Where the changes go is what `sorcery.conf` says for `contact` ([`Objects`] builds
//! the layers): the local store (SQLite `ps_contacts` under the data directory, in WAL
//! mode with `synchronous=FULL`, see [`crate::sql::Database::connect_local_store`]) by
//! default, a realtime `ps_contacts` table when mapped there. A change is acknowledged
//! when the database reported its transaction committed.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::objects::Objects;
use crate::store::{BatchError, StoreError, TypeStore, Write};
use crate::types::Contact;

/// A change of the stored contacts.
pub type ContactWrite = Write<Contact>;

/// Sizes of the writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// Submissions that may wait for the writer; beyond this, [`ContactWriter::submit`]
    /// waits for room (backpressure: the registrar slows down rather than queueing
    /// without bound while the database is slow).
    pub queue: usize,
    /// Most changes per transaction. Bounds the time one commit holds the database's
    /// write lock (and a failed batch's retries); a few thousand rows is still one
    /// fsync and a few milliseconds.
    pub max_batch: usize,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            queue: 8192,
            max_batch: 4096,
        }
    }
}

/// Why a submission was not stored. The registrar answers 500 to any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitError {
    /// The database refused the change (e.g. the table is gone); nothing of the
    /// submission was stored.
    Rejected(String),
    /// The database could not be reached; nothing of the submission was stored.
    Unavailable(String),
    /// The submission itself is unusable (a contact without an id).
    Invalid(String),
    /// The writer has stopped (the runtime is shutting down); whether the change was
    /// stored is unknown.
    Stopped,
}

impl fmt::Display for CommitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommitError::Rejected(m) => write!(f, "contact not stored: {m}"),
            CommitError::Unavailable(m) => write!(f, "contact store unavailable: {m}"),
            CommitError::Invalid(m) => write!(f, "contact change not valid: {m}"),
            CommitError::Stopped => f.write_str("the contact writer has stopped"),
        }
    }
}

impl std::error::Error for CommitError {}

/// What the writer has done since it started (for tests, benchmarks and statistics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Submissions received.
    pub submissions: u64,
    /// Transactions committed (each one fsync on a local SQLite store).
    pub commits: u64,
    /// Submissions that failed.
    pub failed: u64,
    /// Changes written, after coalescing repeated ids.
    pub changes: u64,
}

#[derive(Default)]
struct Counters {
    submissions: AtomicU64,
    commits: AtomicU64,
    failed: AtomicU64,
    changes: AtomicU64,
}

struct Submission {
    changes: Vec<ContactWrite>,
    done: oneshot::Sender<Result<(), CommitError>>,
}

/// The handle callers submit contact changes through; cheap to clone. The writer task
/// stops when the last handle is dropped, after committing what was already queued.
#[derive(Clone)]
pub struct ContactWriter {
    queue: mpsc::Sender<Submission>,
    counters: Arc<Counters>,
}

impl ContactWriter {
    /// Starts the writer task for the contact type of `objects`. Must be called within
    /// a Tokio runtime (it spawns the task there).
    pub fn start(objects: Arc<Objects>, options: WriterOptions) -> ContactWriter {
        let (queue, rx) = mpsc::channel(options.queue.max(1));
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(
            objects,
            rx,
            options.max_batch.max(1),
            Arc::clone(&counters),
        ));
        ContactWriter { queue, counters }
    }

    /// Stores `changes` (applied in order) and resolves once they are durable, or with
    /// the reason they were not stored (then none of them was). Waits for room when
    /// the queue is full. If the caller stops waiting, the changes are still stored.
    pub async fn submit(&self, changes: Vec<ContactWrite>) -> Result<(), CommitError> {
        if let Some(bad) = changes.iter().find(|c| c.id().is_empty()) {
            let what = match bad {
                Write::Put(_) => "put",
                Write::Delete(_) => "delete",
            };
            return Err(CommitError::Invalid(format!(
                "a contact {what} without an id"
            )));
        }
        if changes.is_empty() {
            return Ok(());
        }
        self.counters.submissions.fetch_add(1, Ordering::Relaxed);
        let (done, result) = oneshot::channel();
        if self.queue.send(Submission { changes, done }).await.is_err() {
            return Err(CommitError::Stopped);
        }
        result.await.unwrap_or(Err(CommitError::Stopped))
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> CommitStats {
        let c = &self.counters;
        CommitStats {
            submissions: c.submissions.load(Ordering::Relaxed),
            commits: c.commits.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            changes: c.changes.load(Ordering::Relaxed),
        }
    }
}

/// The writer task: one round per wake-up, each round everything that waited.
async fn run(
    objects: Arc<Objects>,
    mut rx: mpsc::Receiver<Submission>,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    let store = &objects.contact;
    let mut round: Vec<Submission> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut size = first.changes.len();
        round.push(first);
        while size < max_batch {
            match rx.try_recv() {
                Ok(s) => {
                    size += s.changes.len();
                    round.push(s);
                }
                Err(_) => break,
            }
        }
        commit_round(store, &mut round, &counters).await;
    }
}

/// Commits a round in one transaction. If the database rejects it, each submission
/// is retried in its own transaction, so only the ones at fault fail; if it is
/// unreachable, all of them fail at once (retrying each would multiply the wait).
async fn commit_round(
    store: &TypeStore<Contact>,
    round: &mut Vec<Submission>,
    counters: &Counters,
) {
    let batch = coalesce(round.iter().flat_map(|s| s.changes.iter()));
    let error = match store.write_batch(&batch).await {
        Ok(()) => {
            counters.commits.fetch_add(1, Ordering::Relaxed);
            counters
                .changes
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            for s in round.drain(..) {
                // A submitter that stopped waiting does not need telling.
                let _ = s.done.send(Ok(()));
            }
            return;
        }
        Err(e) => e,
    };
    if round.len() == 1 || matches!(error, BatchError::Unavailable(_)) {
        fail_all(round, &error, counters);
        return;
    }
    tracing::warn!(
        "contact store rejected a batch of {} submissions ({error}); retrying them one by one",
        round.len()
    );
    let mut rest = round.drain(..);
    while let Some(s) = rest.next() {
        let own = coalesce(s.changes.iter());
        match store.write_batch(&own).await {
            Ok(()) => {
                counters.commits.fetch_add(1, Ordering::Relaxed);
                counters
                    .changes
                    .fetch_add(own.len() as u64, Ordering::Relaxed);
                let _ = s.done.send(Ok(()));
            }
            Err(e @ BatchError::Unavailable(_)) => {
                let mut left: Vec<Submission> = std::iter::once(s).chain(rest.by_ref()).collect();
                fail_all(&mut left, &e, counters);
                return;
            }
            Err(e) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                let _ = s.done.send(Err(to_commit_error(&e)));
            }
        }
    }
}

fn fail_all(round: &mut Vec<Submission>, error: &BatchError, counters: &Counters) {
    tracing::error!(
        "{} contact change submission(s) not stored: {error}",
        round.len()
    );
    counters
        .failed
        .fetch_add(round.len() as u64, Ordering::Relaxed);
    for s in round.drain(..) {
        let _ = s.done.send(Err(to_commit_error(error)));
    }
}

fn to_commit_error(e: &BatchError) -> CommitError {
    match e {
        BatchError::Unavailable(m) => CommitError::Unavailable(m.clone()),
        BatchError::Rejected(m) => CommitError::Rejected(m.clone()),
    }
}

/// One write per id: a later change of the same contact replaces the earlier one (in
/// its place; rows of different ids are independent, so only the last value of each
/// matters). Keeps a transaction from touching a row twice.
fn coalesce<'a>(changes: impl Iterator<Item = &'a ContactWrite>) -> Vec<ContactWrite> {
    let mut out: Vec<ContactWrite> = Vec::new();
    let mut at: HashMap<&'a str, usize> = HashMap::new();
    for c in changes {
        match at.get(c.id()) {
            Some(&i) => out[i] = c.clone(),
            None => {
                at.insert(c.id(), out.len());
                out.push(c.clone());
            }
        }
    }
    out
}

/// The stored contacts at start, sorted out.
#[derive(Debug, Default)]
pub struct LoadedContacts {
    /// Contacts to serve, each with its stored absolute `expiration_time`, so its
    /// remaining lifetime is what it was before the restart (0 = never expires).
    pub live: Vec<Arc<Contact>>,
    /// Contacts whose time had passed (`expiration_time` ≤ now): removed.
    pub expired: Vec<Arc<Contact>>,
    /// Contacts tied to a connection of this server that no longer exists
    /// (`prune_on_boot=yes`, spec §6.7): removed.
    pub pruned: Vec<Arc<Contact>>,
    /// Why removing the expired and pruned contacts from the store failed, if it did
    /// (they are left out of `live` anyway, and removed at the next start).
    pub delete_error: Option<String>,
}

/// Reads every stored contact (as listing the `contact` type reads them: all layers,
/// honouring a realtime table's `allow_unqualified_fetch`), deletes from the store
/// those that expired while the server was down and those with `prune_on_boot=yes`
/// that this server registered (`reg_server` equal to `reg_server`: on a database
/// shared by several servers, another server's connection-bound contacts are still
/// alive), and returns the rest. `now` is UNIX seconds. Each removal is logged.
pub async fn load_contacts(
    store: &TypeStore<Contact>,
    now: u64,
    reg_server: &str,
) -> Result<LoadedContacts, StoreError> {
    let mut loaded = LoadedContacts::default();
    for c in store.get_all().await? {
        if c.expiration_time != 0 && c.expiration_time <= now {
            tracing::info!(
                "Removed contact '{}' from AOR '{}' due to expiration",
                c.uri.as_str(),
                c.aor()
            );
            loaded.expired.push(c);
        } else if c.prune_on_boot && c.reg_server.as_str() == reg_server {
            tracing::info!(
                "Removed contact '{}' from AOR '{}' due to system boot",
                c.uri.as_str(),
                c.aor()
            );
            loaded.pruned.push(c);
        } else {
            loaded.live.push(c);
        }
    }
    let gone: Vec<ContactWrite> = loaded
        .expired
        .iter()
        .chain(&loaded.pruned)
        .map(|c| Write::Delete(c.meta.id.clone()))
        .collect();
    if let Err(e) = store.write_batch(&gone).await {
        tracing::error!("expired and pruned contacts not removed from the store: {e}");
        loaded.delete_error = Some(e.to_string());
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(id: &str, uri: &str) -> ContactWrite {
        let mut c: Contact = crate::object::defaults();
        c.meta.id = id.into();
        c.uri = uri.into();
        Write::Put(Arc::new(c))
    }

    #[test]
    fn coalescing_keeps_the_last_change_of_each_id() {
        let changes = [
            put("a;@1", "sip:a@one"),
            put("b;@1", "sip:b@one"),
            put("a;@1", "sip:a@two"),
            Write::Delete("b;@1".into()),
            put("c;@1", "sip:c@one"),
        ];
        let out = coalesce(changes.iter());
        assert_eq!(out.len(), 3);
        match &out[0] {
            Write::Put(c) => assert_eq!(c.uri.as_str(), "sip:a@two"),
            other => panic!("expected a put, got {other:?}"),
        }
        assert!(matches!(&out[1], Write::Delete(id) if id.as_str() == "b;@1"));
        assert_eq!(out[2].id(), "c;@1");
    }
}
