//! Qualify (spec §10): OPTIONS to every contact of an AOR with `qualify_frequency > 0`,
//! every `qualify_frequency` seconds, each answer or silence turned into a contact
//! status (Reachable / Unreachable) and a round-trip time.
//!
//! # Shape
//!
//! * **One task, one timeline.** Every qualified contact is an entry of one ordered
//!   map of due times (`BTreeSet<(Instant, seq, id)>`), driven by one task that sleeps
//!   until the first due time. Scheduling, rescheduling and dropping a contact are
//!   O(log n); a million contacts cost a million small entries, not a million tasks
//!   and timers. The probes in flight are futures polled by the same task
//!   (`FuturesUnordered`), at most [`QualifyOptions::max_in_flight`] at once, so a
//!   start with many contacts cannot flood the network or the transaction table.
//! * **Learning about contacts.** The registrar tells the scheduler which AOR changed
//!   ([`QualifyNotifier::changed`], a bounded channel; a full channel drops the note
//!   rather than slow a REGISTER). The scheduler then re-reads that AOR from the
//!   location service and the store: a new contact is probed at once (spec: "a new
//!   registration triggers an immediate round"). A contact that expired or was removed
//!   is noticed when it falls due (it is no longer in the location service) and dropped
//!   there, so expiry needs no second notification path. Every
//!   [`QualifyOptions::rescan`] the scheduler re-reads every AOR with qualify on (and
//!   every AOR it tracks): that picks up static contacts and qualify settings changed
//!   by a reload, contacts loaded from the store at start, and any note a full channel
//!   dropped. Notes are a fast path; the rescan is what makes the state converge.
//! * **Statuses** of dynamic contacts are written to the [`Location`] (where
//!   `remove_unavailable` reads them); statuses and RTTs of every qualified contact,
//!   static ones included, are kept in [`QualifyResults`] for the CLI and tests.
//! * **Sending** goes through [`OptionsSender`], implemented for the endpoint
//!   (`Arc<Endpoint<W>>`), and by a fake in the tests, so the scheduler runs in paused
//!   tokio time without sockets.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use sip_digest::Algorithm;
use sip_endpoint::responses::new_tag;
use sip_endpoint::{
    BoxFuture, ClientError, ClientResponse, Destination, Endpoint, OutgoingRequest, Wire,
};
use sip_message::{Message, SipUri};
use sip_registrar::{static_contacts, ContactStatus, Location, ORIG_HOST_PARAM};
use sorcery::objects::Objects;
use sorcery::types::auth::Auth as AuthObject;
use sorcery::types::{Aor, Contact};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::outbound_auth::answer_challenge;
use crate::registrar::unix_now;

/// How OPTIONS leave the server: [`Endpoint::send_request`] in production, a fake in
/// tests. The future owns what it needs (`'static`) so that the scheduler can keep
/// many in flight in one task.
pub trait OptionsSender: Send + Sync + 'static {
    /// Sends `request` and resolves with its final response or why there is none.
    fn send(
        &self,
        request: OutgoingRequest,
    ) -> BoxFuture<'static, Result<ClientResponse, ClientError>>;
}

impl<W: Wire> OptionsSender for Arc<Endpoint<W>> {
    fn send(
        &self,
        request: OutgoingRequest,
    ) -> BoxFuture<'static, Result<ClientResponse, ClientError>> {
        let endpoint = Arc::clone(self);
        Box::pin(async move { endpoint.send_request(request).await })
    }
}

/// Scheduler settings.
#[derive(Debug, Clone)]
pub struct QualifyOptions {
    /// How often every AOR with qualify on is re-read (static contacts, settings
    /// changed by a reload, contacts a dropped note missed). Default 30 s, Asterisk's
    /// `contact_expiration_check_interval`, the other periodic sweep of contacts.
    pub rescan: Duration,
    /// Probes in flight at once (default 1024).
    pub max_in_flight: usize,
    /// The `global` `max_initial_qualify_time` (0 = none): the first probe of a
    /// contact found at start or by a rescan is at a random time within
    /// `min(qualify_frequency, this)`, so that a restart does not probe every phone
    /// in the same second.
    pub max_initial_qualify_time: Duration,
    /// The user part of our From (`global` `default_from_user`, "asterisk").
    pub from_user: String,
}

impl Default for QualifyOptions {
    fn default() -> QualifyOptions {
        QualifyOptions {
            rescan: Duration::from_secs(30),
            max_in_flight: 1024,
            max_initial_qualify_time: Duration::ZERO,
            from_user: "asterisk".to_owned(),
        }
    }
}

/// The last qualify outcome of one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// Its status.
    pub status: ContactStatus,
    /// Send → final response, when the last probe made it Reachable; zero otherwise
    /// (spec §10: "0 unless reachable").
    pub rtt: Duration,
}

/// Statuses and RTTs of the contacts being qualified, by contact id (static contacts
/// included, which the location service does not hold). Shared with readers (CLI,
/// tests); written by the scheduler once per probe.
#[derive(Clone, Default)]
pub struct QualifyResults(Arc<Mutex<HashMap<Arc<str>, Observed>>>);

impl QualifyResults {
    /// The last outcome for the contact with this id, if it is being qualified and
    /// was probed at least once.
    pub fn get(&self, contact_id: &str) -> Option<Observed> {
        self.lock().get(contact_id).copied()
    }

    /// How many contacts have an outcome.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no contact has an outcome.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Observed>> {
        // Plain data, consistent between statements: a poisoned lock is still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Notes from the registrar: "the contacts of this AOR changed". Cheap to clone.
#[derive(Clone)]
pub struct QualifyNotifier(mpsc::Sender<Arc<str>>);

impl QualifyNotifier {
    /// Tells the scheduler that `aor`'s contacts changed. Never waits: if the channel
    /// is full the note is dropped and the next rescan finds the change.
    pub fn changed(&self, aor: &str) {
        let _ = self.0.try_send(Arc::from(aor));
    }
}

/// The receiving end of the notes, held until the scheduler starts (the registrar is
/// built before the endpoint that the scheduler sends through).
pub struct QualifyInbox(mpsc::Receiver<Arc<str>>);

/// Notes that may wait for the scheduler (before it starts, or while it is busy).
const NOTE_CAPACITY: usize = 4096;

/// A notifier for the registrar and the inbox the scheduler will read.
pub fn qualify_channel() -> (QualifyNotifier, QualifyInbox) {
    let (tx, rx) = mpsc::channel(NOTE_CAPACITY);
    (QualifyNotifier(tx), QualifyInbox(rx))
}

/// The running scheduler. Dropping it stops qualifying.
pub struct Qualifier {
    results: QualifyResults,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Qualifier {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Qualifier {
    /// Starts the scheduler on the current runtime: contacts come from `location`
    /// (dynamic) and the AORs of `objects` (static), probes go through `sender`.
    pub fn start(
        inbox: QualifyInbox,
        sender: Arc<dyn OptionsSender>,
        objects: Arc<Objects>,
        location: Arc<Location>,
        options: QualifyOptions,
    ) -> Qualifier {
        let results = QualifyResults::default();
        let scheduler = Scheduler {
            sender,
            objects,
            location,
            options,
            results: results.clone(),
            entries: BTreeMap::new(),
            timeline: BTreeSet::new(),
            seq: 0,
            jitter: std::collections::hash_map::RandomState::new(),
        };
        let task = tokio::spawn(scheduler.run(inbox.0));
        Qualifier { results, task }
    }

    /// The statuses and RTTs.
    pub fn results(&self) -> &QualifyResults {
        &self.results
    }
}

/// One qualified contact.
struct Entry {
    /// The record: URI, qualify settings, outbound_proxy, path, endpoint.
    contact: Contact,
    /// Static contacts are not in the location service.
    is_static: bool,
    /// Its place in the timeline.
    slot: (Instant, u64),
    status: ContactStatus,
    in_flight: bool,
}

impl Entry {
    fn frequency(&self) -> Duration {
        Duration::from_secs(u64::from(self.contact.qualify_frequency.max(1)))
    }
}

/// What a finished probe reports back to the scheduler.
struct Done {
    id: Arc<str>,
    outcome: Result<(u16, Duration), String>,
}

/// How a contact entered the scheduler, which decides its first probe.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    /// The registrar said so: probe now.
    Registered,
    /// At start or by a rescan: a random time within the first period.
    Scanned,
}

struct Scheduler {
    sender: Arc<dyn OptionsSender>,
    objects: Arc<Objects>,
    location: Arc<Location>,
    options: QualifyOptions,
    results: QualifyResults,
    /// Contact id → entry. Ordered so that one AOR's contacts (ids start with the AOR
    /// name and `;@` or `@@`) are a range.
    entries: BTreeMap<Arc<str>, Entry>,
    /// (due, seq, id): the one schedule.
    timeline: BTreeSet<(Instant, u64, Arc<str>)>,
    seq: u64,
    jitter: std::collections::hash_map::RandomState,
}

impl Scheduler {
    async fn run(mut self, mut inbox: mpsc::Receiver<Arc<str>>) {
        let mut in_flight: FuturesUnordered<BoxFuture<'static, Done>> = FuturesUnordered::new();
        let mut inbox_open = true;
        let mut next_rescan = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_rescan {
                self.rescan(now).await;
                next_rescan = Instant::now() + self.options.rescan.max(Duration::from_secs(1));
            }
            let now = Instant::now();
            while in_flight.len() < self.options.max_in_flight.max(1) {
                match self.pop_due(now) {
                    Some(probe) => in_flight.push(probe),
                    None => break,
                }
            }
            let full = in_flight.len() >= self.options.max_in_flight.max(1);
            let wake = match self.timeline.first() {
                Some((due, _, _)) if !full => (*due).min(next_rescan),
                _ => next_rescan,
            };
            tokio::select! {
                Some(done) = in_flight.next(), if !in_flight.is_empty() => self.finish(done),
                note = inbox.recv(), if inbox_open => match note {
                    Some(aor) => self.sync_aor(&aor, Found::Registered, Instant::now()).await,
                    None => inbox_open = false,
                },
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Re-reads every AOR with qualify on, and every AOR with a tracked contact.
    async fn rescan(&mut self, now: Instant) {
        let aors = match self.objects.aor.get_all().await {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!("qualify: AORs unavailable ({e}); contacts kept as they are");
                return;
            }
        };
        let mut seen: HashSet<Arc<str>> = HashSet::new();
        for aor in &aors {
            let name: Arc<str> = Arc::from(&*aor.meta.id);
            if aor.qualify_frequency > 0 || self.tracks(&name) {
                self.sync(&name, Some(aor), Found::Scanned, now);
            }
            seen.insert(name);
        }
        // Contacts of AORs that are gone (a reload removed them).
        let orphans: Vec<Arc<str>> = self
            .entries
            .iter()
            .filter(|(_, e)| !seen.contains(e.contact.aor()))
            .map(|(id, _)| Arc::clone(id))
            .collect();
        for id in orphans {
            self.drop_entry(&id, ContactStatus::Removed);
        }
    }

    /// Re-reads one AOR (after a note from the registrar).
    async fn sync_aor(&mut self, name: &str, found: Found, now: Instant) {
        match self.objects.aor.get(name).await {
            Ok(aor) => self.sync(name, aor.as_deref(), found, now),
            Err(e) => tracing::warn!("qualify: AOR '{name}' unavailable ({e})"),
        }
    }

    /// Whether any contact of the AOR is tracked.
    fn tracks(&self, aor: &str) -> bool {
        !self.ids_of(aor).is_empty()
    }

    /// The tracked contact ids of an AOR: those starting `<aor>;@` or `<aor>@@`.
    fn ids_of(&self, aor: &str) -> Vec<Arc<str>> {
        let mut out = Vec::new();
        for sep in [";@", "@@"] {
            let prefix = format!("{aor}{sep}");
            let range = self
                .entries
                .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded));
            for (id, _) in range {
                if !id.starts_with(&prefix) {
                    break;
                }
                out.push(Arc::clone(id));
            }
        }
        out
    }

    /// Makes the tracked contacts of `name` what the location service and the AOR
    /// say: new ones scheduled, changed settings taken, vanished ones dropped.
    fn sync(&mut self, name: &str, aor: Option<&Aor>, found: Found, now: Instant) {
        let current = self.location.contacts(name, unix_now());
        let statics = aor.map(static_contacts).unwrap_or_default();
        // Every contact the AOR has, qualified or not: a tracked one still here but no
        // longer wanted had qualify turned off; one not here is gone.
        let present: HashSet<Arc<str>> = current
            .iter()
            .map(|c| &c.contact)
            .chain(&statics)
            .map(|c| Arc::from(&*c.meta.id))
            .collect();
        let mut wanted: Vec<(Contact, bool, ContactStatus)> = current
            .into_iter()
            .filter(|c| c.contact.qualify_frequency > 0)
            .map(|c| (c.contact, false, c.status))
            .collect();
        if aor.is_some_and(|a| a.qualify_frequency > 0) {
            wanted.extend(
                statics
                    .into_iter()
                    .map(|c| (c, true, ContactStatus::NonQualified)),
            );
        }
        let keep: HashSet<&str> = wanted.iter().map(|(c, _, _)| &*c.meta.id).collect();
        for id in self.ids_of(name) {
            if !keep.contains(&*id) {
                let why = if present.contains(&id) {
                    ContactStatus::NonQualified
                } else {
                    ContactStatus::Removed
                };
                self.drop_entry(&id, why);
            }
        }
        for (contact, is_static, status) in wanted {
            let id: Arc<str> = Arc::from(&*contact.meta.id);
            match self.entries.get_mut(&id) {
                Some(e) => {
                    // Refreshed or reloaded: take the new settings; a shorter period
                    // takes effect now rather than after the old one.
                    let freq = Duration::from_secs(u64::from(contact.qualify_frequency));
                    e.contact = contact;
                    let (due, _) = e.slot;
                    if due > now + freq {
                        self.reschedule(&id, now + freq);
                    }
                }
                None => {
                    let first = match found {
                        Found::Registered => now,
                        Found::Scanned => now + self.initial_delay(contact.qualify_frequency),
                    };
                    let slot = (first, self.next_seq());
                    self.timeline.insert((slot.0, slot.1, Arc::clone(&id)));
                    self.entries.insert(
                        id,
                        Entry {
                            contact,
                            is_static,
                            slot,
                            status,
                            in_flight: false,
                        },
                    );
                }
            }
        }
    }

    /// The contact's record as the location service holds it now, if it is still
    /// there (not expired, not removed).
    fn in_location(&self, e: &Entry) -> Option<Contact> {
        self.location
            .contacts(e.contact.aor(), unix_now())
            .into_iter()
            .find(|c| c.contact.meta.id == e.contact.meta.id)
            .map(|c| c.contact)
    }

    /// A random delay in `[0, min(frequency, max_initial_qualify_time))`.
    fn initial_delay(&mut self, frequency: u32) -> Duration {
        let mut window = Duration::from_secs(u64::from(frequency.max(1)));
        if !self.options.max_initial_qualify_time.is_zero() {
            window = window.min(self.options.max_initial_qualify_time);
        }
        let n = self.next_seq();
        let r = self.jitter.hash_one(n);
        let ms = window.as_millis().max(1) as u64;
        Duration::from_millis(r % ms)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn reschedule(&mut self, id: &Arc<str>, due: Instant) {
        let seq = self.next_seq();
        if let Some(e) = self.entries.get_mut(id) {
            self.timeline.remove(&(e.slot.0, e.slot.1, Arc::clone(id)));
            e.slot = (due, seq);
            self.timeline.insert((due, seq, Arc::clone(id)));
        }
    }

    /// Stops qualifying a contact, because it is gone (`Removed`) or because qualify
    /// was turned off for it (`NonQualified`, spec §10). The change is logged if the
    /// contact had been qualified, as Asterisk logs every status change.
    fn drop_entry(&mut self, id: &Arc<str>, why: ContactStatus) {
        let Some(e) = self.entries.remove(id) else {
            return;
        };
        self.timeline.remove(&(e.slot.0, e.slot.1, Arc::clone(id)));
        self.results.lock().remove(id);
        if e.status != ContactStatus::NonQualified {
            log_status(&e.contact, why, Duration::ZERO);
        }
        if !e.is_static && why == ContactStatus::NonQualified {
            self.location.set_status(
                e.contact.aor(),
                e.contact.uri.as_str(),
                ContactStatus::NonQualified,
            );
        }
    }

    /// Takes the first due entry, if any is due at `now`, reschedules it one period
    /// on, and returns its probe (or nothing to send if it is still in flight or
    /// gone from the location service, in which case it is dropped).
    fn pop_due(&mut self, now: Instant) -> Option<BoxFuture<'static, Done>> {
        loop {
            let (due, _, id) = self.timeline.first()?.clone();
            if due > now {
                return None;
            }
            let Some(entry) = self.entries.get(&id) else {
                self.timeline.pop_first();
                continue;
            };
            if !entry.is_static {
                match self.in_location(entry) {
                    // Probe with the record as it is now (a refresh may have changed
                    // its settings even if the registrar's note was dropped).
                    Some(c) if c.qualify_frequency > 0 => {
                        if let Some(e) = self.entries.get_mut(&id) {
                            e.contact = c;
                        }
                    }
                    Some(_) => {
                        self.drop_entry(&id, ContactStatus::NonQualified);
                        continue;
                    }
                    None => {
                        // Expired or removed since the last round: nothing to probe.
                        self.drop_entry(&id, ContactStatus::Removed);
                        continue;
                    }
                }
            }
            let Some(entry) = self.entries.get(&id) else {
                continue;
            };
            let next = now + entry.frequency();
            self.reschedule(&id, next);
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            if entry.in_flight {
                // The last probe is still out (qualify_timeout above the period):
                // skip this round rather than stack probes.
                continue;
            }
            let request = match options_for(&entry.contact, &self.options.from_user) {
                Ok(r) => r,
                Err(why) => {
                    let fut: BoxFuture<'static, Done> = Box::pin(std::future::ready(Done {
                        id,
                        outcome: Err(why),
                    }));
                    entry.in_flight = true;
                    return Some(fut);
                }
            };
            entry.in_flight = true;
            let timeout = qualify_timeout(entry.contact.qualify_timeout);
            // A challenge matters only when it would not count as an answer; then it
            // is answered with the endpoint's outbound_auth, once.
            let challenge = entry.contact.qualify_2xx_only.then(|| Challenged {
                objects: Arc::clone(&self.objects),
                sender: Arc::clone(&self.sender),
                endpoint: entry.contact.endpoint.to_string(),
                message: request.message.clone(),
                destination: request.destination.clone(),
            });
            let sent = self.sender.send(request);
            return Some(Box::pin(async move {
                let probe = async move {
                    let first = sent.await?;
                    match challenge {
                        Some(c) if matches!(first.response.status(), Some(401 | 407)) => {
                            c.answer(first).await
                        }
                        _ => Ok(first),
                    }
                };
                let outcome = match tokio::time::timeout(timeout, probe).await {
                    // Only the code and the time leave the future: a Message is
                    // not Sync and need not outlive it.
                    Ok(Ok(r)) => Ok((r.response.status().unwrap_or(0), r.rtt)),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {timeout:?}")),
                };
                Done { id, outcome }
            }));
        }
    }

    /// Records a probe's outcome.
    fn finish(&mut self, done: Done) {
        let Some(entry) = self.entries.get_mut(&done.id) else {
            return; // dropped while in flight
        };
        entry.in_flight = false;
        let (status, rtt) = match &done.outcome {
            Ok((code, rtt)) if counts_as_reachable(*code, entry.contact.qualify_2xx_only) => {
                (ContactStatus::Reachable, *rtt)
            }
            Ok((code, _)) => {
                tracing::debug!(
                    "qualify: {} answered {code} (qualify_2xx_only)",
                    entry.contact.uri.as_str()
                );
                (ContactStatus::Unreachable, Duration::ZERO)
            }
            Err(why) => {
                tracing::debug!("qualify: {}: {why}", entry.contact.uri.as_str());
                (ContactStatus::Unreachable, Duration::ZERO)
            }
        };
        if status != entry.status {
            log_status(&entry.contact, status, rtt);
            entry.status = status;
        }
        if !entry.is_static {
            // Every time, not only on a change: a contact re-added under the same id
            // starts NonQualified in the location service.
            self.location
                .set_status(entry.contact.aor(), entry.contact.uri.as_str(), status);
        }
        self.results
            .lock()
            .insert(Arc::clone(&done.id), Observed { status, rtt });
    }
}

/// What a probe needs to answer a 401/407 with the contact's endpoint's
/// `outbound_auth` (as Asterisk's qualify does).
struct Challenged {
    objects: Arc<Objects>,
    sender: Arc<dyn OptionsSender>,
    /// The endpoint the contact registered for (empty for static contacts: they are
    /// not answered).
    endpoint: String,
    message: Message,
    destination: Destination,
}

impl Challenged {
    /// Sends the OPTIONS again with credentials; the challenge itself is the outcome
    /// when there are none to give or they were refused.
    async fn answer(self, first: ClientResponse) -> Result<ClientResponse, ClientError> {
        let (auths, default_algorithms) = outbound_auths(&self.objects, &self.endpoint).await;
        let next = match answer_challenge(
            &self.message,
            &first.response,
            &auths,
            &default_algorithms,
            &new_tag(),
        ) {
            Ok(next) => next,
            Err(why) => {
                tracing::debug!("qualify: challenge not answered: {why}");
                return Ok(first);
            }
        };
        self.sender
            .send(OutgoingRequest::new(next).to(self.destination))
            .await
    }
}

/// The `outbound_auth` objects of `endpoint`, in order, and the global
/// `default_auth_algorithms_uac`.
async fn outbound_auths(
    objects: &Objects,
    endpoint: &str,
) -> (Vec<Arc<AuthObject>>, Vec<Algorithm>) {
    let defaults = match objects.global.get("global").await {
        Ok(Some(g)) => crate::auth::algorithms(&g.default_auth_algorithms_uac),
        _ => Vec::new(),
    };
    if endpoint.is_empty() {
        return (Vec::new(), defaults);
    }
    let Ok(Some(e)) = objects.endpoint.get(endpoint).await else {
        return (Vec::new(), defaults);
    };
    let mut auths = Vec::with_capacity(e.outbound_auth.len());
    for name in e.outbound_auth.iter() {
        match objects.auth.get(name).await {
            Ok(Some(a)) => auths.push(a),
            _ => tracing::warn!("endpoint '{endpoint}': outbound_auth '{name}' does not exist"),
        }
    }
    (auths, defaults)
}

/// Spec §10: any final response means Reachable, or only a 2xx with qualify_2xx_only.
/// With qualify_2xx_only a 401/407 is first answered with outbound_auth (above).
fn counts_as_reachable(code: u16, two_xx_only: bool) -> bool {
    if two_xx_only {
        (200..300).contains(&code)
    } else {
        (200..700).contains(&code)
    }
}

/// `qualify_timeout` (seconds, fractional; Asterisk's default 3.0) as a duration. A
/// value that is not a positive number falls back to the default rather than probe
/// with no deadline.
fn qualify_timeout(secs: f64) -> Duration {
    if secs.is_finite() && secs > 0.0 {
        Duration::from_secs_f64(secs.min(86_400.0))
    } else {
        Duration::from_secs(3)
    }
}

/// Asterisk's line for a status change (spec §10), with its two spaces.
fn log_status(contact: &Contact, status: ContactStatus, rtt: Duration) {
    tracing::info!(
        "Contact {}/{} is now {}.  RTT: {:.3} msec",
        contact.aor(),
        contact.uri.as_str(),
        status.label(),
        rtt.as_secs_f64() * 1000.0
    );
}

/// The contact URI as the Request-URI: a stored `x-ast-orig-host` (NAT rewrite,
/// spec §6.9) is ours, not the phone's, and is removed.
fn request_uri(contact: &Contact) -> Result<SipUri, String> {
    let uri = SipUri::parse(contact.uri.as_str()).map_err(|e| e.to_string())?;
    if uri.param(ORIG_HOST_PARAM).is_none() {
        return Ok(uri);
    }
    let mut text = uri.without_params();
    for (name, value) in uri.params() {
        if name.eq_ignore_ascii_case(ORIG_HOST_PARAM) {
            continue;
        }
        text.push(';');
        text.push_str(name);
        if let Some(v) = value {
            text.push('=');
            text.push_str(v);
        }
    }
    if let Some(h) = uri.headers_str() {
        text.push('?');
        text.push_str(h);
    }
    SipUri::parse(&text).map_err(|e| e.to_string())
}

/// The route set for a contact: its `outbound_proxy` (made loose-routing, as Asterisk
/// does) first, then the Path the phone registered through (stored as the Path values
/// joined by `,`, which is a valid Route value as it is).
fn route_values(contact: &Contact) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let proxy = contact.outbound_proxy.trim();
    if !proxy.is_empty() {
        let bare = proxy
            .strip_prefix('<')
            .and_then(|p| p.split_once('>'))
            .map_or(proxy, |(u, _)| u);
        let uri = SipUri::parse(bare)
            .map_err(|e| format!("outbound_proxy '{proxy}' is not a SIP URI: {e}"))?;
        let uri = if uri.lr() {
            uri
        } else {
            uri.with_param("lr", None)
        };
        out.push(format!("<{}>", uri.as_str()));
    }
    let path = contact.path.trim();
    if !path.is_empty() {
        out.push(path.to_owned());
    }
    Ok(out)
}

/// The OPTIONS for one probe: a fresh Call-ID and From tag each time, the contact's
/// route set as Route headers, sent to the first route's URI (loose routing) or else
/// to the contact itself.
pub fn options_for(contact: &Contact, from_user: &str) -> Result<OutgoingRequest, String> {
    let ruri = request_uri(contact)?;
    let routes = route_values(contact)?;
    let host = ruri.host();
    let mut text = format!("OPTIONS {} SIP/2.0\r\n", ruri.as_str());
    for r in &routes {
        text.push_str(&format!("Route: {r}\r\n"));
    }
    text.push_str(&format!(
        "From: <sip:{from_user}@{host}>;tag={tag}\r\n\
         To: <{ruri}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n",
        ruri = ruri.as_str(),
        tag = new_tag(),
        call_id = new_tag(),
    ));
    let message = Message::parse(Bytes::from(text)).map_err(|e| e.to_string())?;
    let destination = match message.route() {
        Ok(set) => match set.first() {
            Some(first) => Destination::Uri(first.uri().clone()),
            None => Destination::RequestUri,
        },
        Err(e) => return Err(format!("route set: {e}")),
    };
    Ok(OutgoingRequest::new(message).to(destination))
}
