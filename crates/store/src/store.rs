//! The store: every object type behind its layers, as `sorcery.conf` orders them.
//!
//! Reads go through the layers in order and the first layer that has the object wins;
//! listing takes the union (first layer wins on equal ids) sorted by id; writes go to
//! every writable layer. Objects from files live in a snapshot that is swapped whole on
//! reload, so the read path takes no lock; an object that did not change across a
//! reload keeps its identity (the same `Arc`), so holders can tell nothing changed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use arc_swap::ArcSwap;

use crate::mapping::UnqualifiedFetch;
use crate::object::{build, HasTables, ObjectError};
use crate::raw::RawObject;
use crate::value::{FastMap, Text};

/// Objects of one type by id.
pub type ObjectMap<T> = FastMap<Text, Arc<T>>;

/// What a change observer is told.
#[derive(Debug, Clone)]
pub enum Change<T> {
    /// An object was created.
    Created(Arc<T>),
    /// An object was replaced by this one.
    Updated(Arc<T>),
    /// An object was deleted.
    Deleted(Arc<T>),
    /// The type's file objects were reloaded (see the reload report for what changed).
    Reloaded,
}

/// A change observer. Called after the change, on the writer's thread; observers must
/// be quick and must not write to the same type.
pub type Observer<T> = Arc<dyn Fn(&Change<T>) + Send + Sync>;

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// No layer of the type accepts writes (files are read-only).
    ReadOnly(&'static str),
    /// The object does not exist.
    NotFound(&'static str, String),
    /// The object given or read is not valid.
    Invalid(ObjectError),
    /// A database layer failed.
    Backend(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::ReadOnly(t) => write!(f, "no writable layer holds {t} objects"),
            StoreError::NotFound(t, id) => write!(f, "{t} '{id}' not found"),
            StoreError::Invalid(e) => write!(f, "{e}"),
            StoreError::Backend(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for StoreError {}

/// A database table that holds objects of one type (a realtime table, or the local
/// store). Implemented over SQL by [`crate::sql`]; a trait so that the store's
/// layering rules do not depend on a database driver.
pub trait TableBackend: Send + Sync {
    /// The row with this id.
    fn fetch(&self, id: &str) -> BoxFuture<'_, Result<Option<RawObject>, String>>;
    /// Every row, by id.
    fn fetch_all(&self) -> BoxFuture<'_, Result<Vec<RawObject>, String>>;
    /// Rows whose `field` equals `value`.
    fn fetch_where<'a>(
        &'a self,
        field: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Vec<RawObject>, String>>;
    /// Inserts or replaces a row; true when it was inserted (there was none).
    fn upsert<'a>(
        &'a self,
        id: &'a str,
        fields: &'a [(&'static str, String)],
    ) -> BoxFuture<'a, Result<bool, String>>;
    /// Deletes a row; false when there was none.
    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, String>>;

    /// Applies `writes` in order, all or none, and returns per write whether the row
    /// existed. SQL tables run them in one transaction (one commit for the lot, which is
    /// what makes group commit cheap). This default, for backends without
    /// transactions, applies them one by one: a failure part-way leaves the earlier
    /// ones applied, which is harmless for retries because every write is idempotent.
    fn write_batch<'a>(
        &'a self,
        writes: &'a [TableWrite<'a>],
    ) -> BoxFuture<'a, Result<Vec<bool>, BatchError>> {
        Box::pin(async move {
            let mut existed = Vec::with_capacity(writes.len());
            for w in writes {
                let done = match w {
                    TableWrite::Upsert { id, fields } => self.upsert(id, fields).await.map(|i| !i),
                    TableWrite::Delete { id } => self.delete(id).await,
                };
                existed.push(done.map_err(BatchError::Rejected)?);
            }
            Ok(existed)
        })
    }
}

/// One write of [`TableBackend::write_batch`].
#[derive(Debug, Clone, Copy)]
pub enum TableWrite<'a> {
    /// Create or replace the row `id` with these fields.
    Upsert {
        /// The object id.
        id: &'a str,
        /// Every option of the object, as [`crate::object::row_fields`] gives them.
        fields: &'a [(&'static str, String)],
    },
    /// Delete the row `id`.
    Delete {
        /// The object id.
        id: &'a str,
    },
}

/// Why a batch of writes was not applied. The two cases call for different reactions
/// from a writer that batches other callers' changes together: a rejected batch may
/// owe its failure to one change (retry them separately to find it), an unavailable
/// database fails them all alike (retrying each would only multiply the wait).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// Nothing could be written: the database is unreachable or no layer is writable.
    Unavailable(String),
    /// A statement or the commit failed; nothing of the batch was kept.
    Rejected(String),
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Unavailable(m) | BatchError::Rejected(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for BatchError {}

/// One change of [`TypeStore::write_batch`].
#[derive(Debug, Clone)]
pub enum Write<T> {
    /// Create or replace this object.
    Put(Arc<T>),
    /// Delete the object with this id.
    Delete(Text),
}

impl<T: crate::object::HasMeta> Write<T> {
    /// The id of the object concerned.
    pub fn id(&self) -> &str {
        match self {
            Write::Put(o) => &o.meta().id,
            Write::Delete(id) => id,
        }
    }
}

/// A boxed future (the table backend is used behind `dyn`).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where one layer's objects live.
pub enum Backend<T> {
    /// Objects from files or the config wizard: read-only, replaced whole on reload.
    Snapshot(ArcSwap<ObjectMap<T>>),
    /// Objects in memory, writable (the `memory` wizard, and `memory_cache` layers),
    /// each with the time it was stored (for cache lifetimes).
    Memory(RwLock<FastMap<Text, (Arc<T>, Instant)>>),
    /// A database table (`realtime`, or the local store in the `astdb` role).
    Table(Box<dyn TableBackend>),
}

/// One layer of a type.
pub struct Layer<T> {
    /// Names the layer in reports and `pjsip show` (e.g. `config pjsip.conf`).
    pub name: String,
    /// Where its objects live.
    pub backend: Backend<T>,
    /// A cache layer (filled from the layers after it on reads).
    pub cache: bool,
    /// Whether listing every object may read the whole table (realtime
    /// `allow_unqualified_fetch`; only database layers look at it).
    pub unqualified: UnqualifiedFetch,
    /// Limits of a cache layer (`memory_cache` options).
    pub policy: CachePolicy,
}

/// The `memory_cache` options this store applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CachePolicy {
    /// Most objects kept (0: no limit); the oldest is evicted first.
    pub maximum_objects: usize,
    /// Seconds after which a cached object is dropped (0: never).
    pub object_lifetime_maximum: u64,
    /// Seconds after which a cached object is fetched again (0: never). Asterisk
    /// refreshes stale objects in the background and answers with the stale copy; here
    /// a stale object is fetched again at once, which is never older and costs one
    /// lookup.
    pub object_lifetime_stale: u64,
    /// Empty the cache on reload.
    pub expire_on_reload: bool,
}

impl CachePolicy {
    fn fresh(&self, stored: Instant, now: Instant) -> bool {
        let age = now.saturating_duration_since(stored).as_secs();
        let limit = match (self.object_lifetime_maximum, self.object_lifetime_stale) {
            (0, 0) => return true,
            (0, s) | (s, 0) => s,
            (m, s) => m.min(s),
        };
        age < limit
    }
}

impl<T> Layer<T> {
    /// A read-only layer of file objects, empty until the first load.
    pub fn snapshot(name: impl Into<String>) -> Layer<T> {
        Layer {
            name: name.into(),
            backend: Backend::Snapshot(ArcSwap::from_pointee(FastMap::default())),
            cache: false,
            unqualified: UnqualifiedFetch::Yes,
            policy: CachePolicy::default(),
        }
    }

    /// A writable memory layer.
    pub fn memory(name: impl Into<String>) -> Layer<T> {
        Layer {
            name: name.into(),
            backend: Backend::Memory(RwLock::new(FastMap::default())),
            cache: false,
            unqualified: UnqualifiedFetch::Yes,
            policy: CachePolicy::default(),
        }
    }

    /// A database table layer.
    pub fn table(name: impl Into<String>, table: Box<dyn TableBackend>) -> Layer<T> {
        Layer {
            name: name.into(),
            backend: Backend::Table(table),
            cache: false,
            unqualified: UnqualifiedFetch::Yes,
            policy: CachePolicy::default(),
        }
    }
}

impl<T: HasTables> Layer<T> {
    /// A memory layer's object, if present and (for a cache) still fresh; an expired
    /// cache entry is removed.
    fn live(&self, m: &RwLock<FastMap<Text, (Arc<T>, Instant)>>, id: &str) -> Option<Arc<T>> {
        let (object, at) = read(m).get(id).cloned()?;
        if !self.cache || self.policy.fresh(at, Instant::now()) {
            return Some(object);
        }
        write(m).remove(id);
        None
    }

    /// Stores an object in a cache layer, evicting the oldest beyond maximum_objects.
    fn cache_insert(&self, object: &Arc<T>) {
        let Backend::Memory(m) = &self.backend else {
            return;
        };
        let mut map = write(m);
        map.insert(
            object.meta().id.clone(),
            (Arc::clone(object), Instant::now()),
        );
        let max = self.policy.maximum_objects;
        while max > 0 && map.len() > max {
            let oldest = map
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    map.remove(&k);
                }
                None => break,
            }
        }
    }
}

/// Every object of one type, behind its layers.
pub struct TypeStore<T> {
    layers: Vec<Layer<T>>,
    observers: RwLock<Vec<Observer<T>>>,
}

fn read<M>(lock: &RwLock<M>) -> std::sync::RwLockReadGuard<'_, M> {
    // A panic while holding the lock cannot leave a map half-written (inserts and
    // removes are single calls), so a poisoned lock is still safe to read.
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<M>(lock: &RwLock<M>) -> std::sync::RwLockWriteGuard<'_, M> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl<T: HasTables> TypeStore<T> {
    /// A type with these layers, in order.
    pub fn new(layers: Vec<Layer<T>>) -> TypeStore<T> {
        TypeStore {
            layers,
            observers: RwLock::new(Vec::new()),
        }
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Layer<T>] {
        &self.layers
    }

    /// Registers an observer of changes.
    pub fn observe(&self, observer: Observer<T>) {
        write(&self.observers).push(observer);
    }

    fn notify(&self, change: Change<T>) {
        let observers = read(&self.observers).clone();
        for o in observers {
            o(&change);
        }
    }

    /// Types a database row the way Asterisk's realtime wizard does: columns that are
    /// not options of the type are dropped (admin columns, newer Asterisk revisions),
    /// and a row that still fails is a miss for this layer, logged with its table.
    fn typed_row(layer: &Layer<T>, mut raw: RawObject) -> Option<Arc<T>> {
        raw.fields
            .retain(|f| f.name.starts_with('@') || crate::object::option::<T>(&f.name).is_some());
        match build::<T>(&raw) {
            Ok(o) => Some(Arc::new(o)),
            Err(e) => {
                tracing::error!("{}: {e}", layer.name);
                None
            }
        }
    }

    /// The object with this id from the first layer that has it. Lock-free for file
    /// objects. A database layer that fails (unreachable, bad row) is logged and
    /// skipped, so the layers after it still answer (as in Asterisk).
    pub async fn get(&self, id: &str) -> Result<Option<Arc<T>>, StoreError> {
        for (i, layer) in self.layers.iter().enumerate() {
            let found = match &layer.backend {
                Backend::Snapshot(s) => s.load().get(id).cloned(),
                Backend::Memory(m) => layer.live(m, id),
                Backend::Table(t) => match t.fetch(id).await {
                    Ok(Some(raw)) => Self::typed_row(layer, raw),
                    Ok(None) => None,
                    Err(e) => {
                        tracing::error!("{}: {e}", layer.name);
                        None
                    }
                },
            };
            if let Some(o) = found {
                self.fill_caches(i, &o);
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// Adds a table's rows to a listing where no earlier layer gave the id; a failed
    /// read or a bad row is logged and skipped.
    fn merge_rows(
        layer: &Layer<T>,
        rows: Result<Vec<RawObject>, String>,
        all: &mut BTreeMap<Text, Arc<T>>,
    ) {
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!("{}: {e}", layer.name);
                return;
            }
        };
        for raw in rows {
            if !all.contains_key(raw.id.as_str()) {
                let id: Text = raw.id.as_str().into();
                if let Some(o) = Self::typed_row(layer, raw) {
                    all.insert(id, o);
                }
            }
        }
    }

    /// Copies an object found in a lower layer into the cache layers above it.
    fn fill_caches(&self, found_at: usize, object: &Arc<T>) {
        for layer in self.layers[..found_at].iter().filter(|l| l.cache) {
            layer.cache_insert(object);
        }
    }

    /// Empties the cache layers that ask for it on reload.
    pub fn expire_caches_on_reload(&self) {
        for layer in self
            .layers
            .iter()
            .filter(|l| l.cache && l.policy.expire_on_reload)
        {
            if let Backend::Memory(m) = &layer.backend {
                write(m).clear();
            }
        }
    }

    /// Every object, de-duplicated (first layer wins) and sorted by id.
    pub async fn get_all(&self) -> Result<Vec<Arc<T>>, StoreError> {
        let mut all: BTreeMap<Text, Arc<T>> = BTreeMap::new();
        for layer in &self.layers {
            match &layer.backend {
                Backend::Snapshot(s) => {
                    for (k, v) in s.load().iter() {
                        all.entry(k.clone()).or_insert_with(|| Arc::clone(v));
                    }
                }
                Backend::Memory(m) => {
                    let now = Instant::now();
                    for (k, (v, at)) in read(m).iter() {
                        if !layer.cache || layer.policy.fresh(*at, now) {
                            all.entry(k.clone()).or_insert_with(|| Arc::clone(v));
                        }
                    }
                }
                Backend::Table(t) => {
                    // Asterisk's rules for listing a whole realtime table.
                    match layer.unqualified {
                        UnqualifiedFetch::Yes => {}
                        UnqualifiedFetch::No => continue,
                        UnqualifiedFetch::Error => {
                            tracing::error!("unqualified fetch prevented on {}", layer.name);
                            continue;
                        }
                        UnqualifiedFetch::Warn => {
                            tracing::warn!("unqualified fetch requested on {}", layer.name);
                        }
                    }
                    Self::merge_rows(layer, t.fetch_all().await, &mut all);
                }
            }
            if layer.cache && !all.is_empty() {
                break;
            }
        }
        Ok(all.into_values().collect())
    }

    /// Objects whose option `field` shows as `value` (e.g. contacts with
    /// `endpoint=alice`), sorted by id.
    pub async fn find(&self, field: &str, value: &str) -> Result<Vec<Arc<T>>, StoreError> {
        let opt = crate::object::option::<T>(field);
        let matches = |o: &T| {
            opt.is_some_and(|opt| {
                let mut s = String::new();
                (opt.show)(o, &mut s);
                s == value
            })
        };
        let mut all: BTreeMap<Text, Arc<T>> = BTreeMap::new();
        for layer in &self.layers {
            match &layer.backend {
                Backend::Snapshot(s) => {
                    for (k, v) in s.load().iter().filter(|(_, v)| matches(v)) {
                        all.entry(k.clone()).or_insert_with(|| Arc::clone(v));
                    }
                }
                Backend::Memory(m) => {
                    let now = Instant::now();
                    for (k, (v, at)) in read(m).iter() {
                        if matches(v) && (!layer.cache || layer.policy.fresh(*at, now)) {
                            all.entry(k.clone()).or_insert_with(|| Arc::clone(v));
                        }
                    }
                }
                Backend::Table(t) => {
                    Self::merge_rows(layer, t.fetch_where(field, value).await, &mut all);
                }
            }
        }
        Ok(all.into_values().collect())
    }

    /// Writes an object to every writable layer (memory and tables), then, if any
    /// accepted it, to the cache layers. Every option is written, empty ones too, so a
    /// field cleared since the last write is cleared in a table as well.
    pub async fn put(&self, object: T) -> Result<Arc<T>, StoreError> {
        let object = Arc::new(object);
        let id: Text = object.meta().id.clone();
        let row = crate::object::row_fields(&*object);
        let mut written = false;
        let mut existed = false;
        let mut last_error = None;
        for layer in self.layers.iter().filter(|l| !l.cache) {
            match &layer.backend {
                Backend::Snapshot(_) => {}
                Backend::Memory(m) => {
                    existed |= write(m)
                        .insert(id.clone(), (Arc::clone(&object), Instant::now()))
                        .is_some();
                    written = true;
                }
                Backend::Table(t) => match t.upsert(&id, &row).await {
                    Ok(inserted) => {
                        existed |= !inserted;
                        written = true;
                    }
                    Err(e) => last_error = Some(e),
                },
            }
        }
        if !written {
            return Err(match last_error {
                Some(e) => StoreError::Backend(e),
                None => StoreError::ReadOnly(T::TYPE),
            });
        }
        if let Some(e) = last_error {
            tracing::error!("{} '{id}' not written to every layer: {e}", T::TYPE);
        }
        for layer in self.layers.iter().filter(|l| l.cache) {
            layer.cache_insert(&object);
        }
        self.notify(if existed {
            Change::Updated(Arc::clone(&object))
        } else {
            Change::Created(Arc::clone(&object))
        });
        Ok(object)
    }

    /// Deletes an object from every writable layer (and the caches). Fails with
    /// `NotFound` when no layer had it, `ReadOnly` when only file layers do.
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let existing = self.get(id).await?;
        let mut deleted = false;
        let mut last_error = None;
        for layer in &self.layers {
            match &layer.backend {
                Backend::Snapshot(_) => {}
                Backend::Memory(m) => deleted |= write(m).remove(id).is_some() && !layer.cache,
                Backend::Table(t) => match t.delete(id).await {
                    Ok(d) => deleted |= d,
                    Err(e) => last_error = Some(e),
                },
            }
        }
        if deleted {
            if let Some(o) = existing {
                self.notify(Change::Deleted(o));
            }
            return Ok(());
        }
        if let Some(e) = last_error {
            return Err(StoreError::Backend(e));
        }
        match existing {
            Some(_) => Err(StoreError::ReadOnly(T::TYPE)),
            None => Err(StoreError::NotFound(T::TYPE, id.to_owned())),
        }
    }

    /// Applies `writes` (at most one per id, in order) to every writable table layer in
    /// one batch each (one transaction on SQL), then, if any table layer took them
    /// (or there is none but a memory layer), to the memory and cache layers, and
    /// tells the observers. As for [`TypeStore::put`], success in one writable layer is
    /// success (sorcery's rule); failures of the other layers are logged.
    ///
    /// Unlike `put`, nothing is written to memory when the tables failed, so the caller
    /// can retry the same writes without double notifications.
    pub async fn write_batch(&self, writes: &[Write<T>]) -> Result<(), BatchError> {
        if writes.is_empty() {
            return Ok(());
        }
        let rows: Vec<Option<Vec<(&'static str, String)>>> = writes
            .iter()
            .map(|w| match w {
                Write::Put(o) => Some(crate::object::row_fields(&**o)),
                Write::Delete(_) => None,
            })
            .collect();
        let table_writes: Vec<TableWrite<'_>> = writes
            .iter()
            .zip(&rows)
            .map(|(w, row)| match (w, row) {
                (Write::Put(o), Some(fields)) => TableWrite::Upsert {
                    id: &o.meta().id,
                    fields,
                },
                _ => TableWrite::Delete { id: w.id() },
            })
            .collect();
        let mut existed = vec![false; writes.len()];
        let mut any_table = false;
        let mut written = false;
        let mut last_error = None;
        for layer in self.layers.iter().filter(|l| !l.cache) {
            let Backend::Table(t) = &layer.backend else {
                continue;
            };
            any_table = true;
            match t.write_batch(&table_writes).await {
                Ok(e) => {
                    for (slot, e) in existed.iter_mut().zip(e) {
                        *slot |= e;
                    }
                    written = true;
                }
                Err(e) => {
                    if written || last_error.is_some() {
                        tracing::error!("{}: {e}", layer.name);
                    }
                    last_error = Some(match e {
                        BatchError::Unavailable(m) => {
                            BatchError::Unavailable(format!("{}: {m}", layer.name))
                        }
                        BatchError::Rejected(m) => {
                            BatchError::Rejected(format!("{}: {m}", layer.name))
                        }
                    });
                }
            }
        }
        let has_memory = self
            .layers
            .iter()
            .any(|l| !l.cache && matches!(l.backend, Backend::Memory(_)));
        if !written && (any_table || !has_memory) {
            return Err(last_error.unwrap_or_else(|| {
                BatchError::Unavailable(format!("no writable layer holds {} objects", T::TYPE))
            }));
        }
        if let Some(e) = &last_error {
            tracing::error!("{} batch not written to every layer: {e}", T::TYPE);
        }
        let mut changes = Vec::with_capacity(writes.len());
        for (w, table_existed) in writes.iter().zip(existed) {
            let mut was = table_existed;
            let mut previous = None;
            for layer in &self.layers {
                let Backend::Memory(m) = &layer.backend else {
                    continue;
                };
                match w {
                    Write::Put(o) => {
                        if layer.cache {
                            layer.cache_insert(o);
                        } else {
                            was |= write(m)
                                .insert(o.meta().id.clone(), (Arc::clone(o), Instant::now()))
                                .is_some();
                        }
                    }
                    Write::Delete(id) => {
                        if let Some((old, _)) = write(m).remove(&**id) {
                            was |= !layer.cache;
                            previous.get_or_insert(old);
                        }
                    }
                }
            }
            changes.push(match w {
                Write::Put(o) if was => Change::Updated(Arc::clone(o)),
                Write::Put(o) => Change::Created(Arc::clone(o)),
                // A deleted row the store holds no copy of is told as a deletion of an
                // object with only its id.
                Write::Delete(id) if was => Change::Deleted(previous.unwrap_or_else(|| {
                    let mut gone: T = crate::object::defaults();
                    gone.meta_mut().id = id.clone();
                    Arc::new(gone)
                })),
                Write::Delete(_) => continue,
            });
        }
        for c in changes {
            self.notify(c);
        }
        Ok(())
    }

    /// The ids of the objects of snapshot layer `index` that satisfy `pred`.
    pub fn snapshot_ids(&self, index: usize, pred: impl Fn(&T) -> bool) -> Vec<String> {
        match self.layers.get(index).map(|l| &l.backend) {
            Some(Backend::Snapshot(s)) => s
                .load()
                .values()
                .filter(|o| pred(o))
                .map(|o| o.id().to_owned())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Replaces the objects of snapshot layer `index` with a new load, keeping the
    /// identity of unchanged objects and, for objects that failed to load this time,
    /// their previous version (Asterisk's reload rule). Returns how many objects
    /// changed.
    pub fn replace_snapshot(
        &self,
        index: usize,
        objects: Vec<T>,
        failed_ids: &[String],
    ) -> ReloadCount {
        let Some(Layer {
            backend: Backend::Snapshot(snap),
            ..
        }) = self.layers.get(index)
        else {
            return ReloadCount::default();
        };
        let old = snap.load_full();
        let mut next: ObjectMap<T> =
            FastMap::with_capacity_and_hasher(objects.len(), Default::default());
        let mut count = ReloadCount::default();
        for o in objects {
            // The key shares the object's id text (no second copy).
            let id: Text = o.meta().id.clone();
            match old.get(&id) {
                Some(prev) if **prev == o => {
                    next.insert(id, Arc::clone(prev));
                    count.unchanged += 1;
                }
                Some(_) => {
                    next.insert(id, Arc::new(o));
                    count.changed += 1;
                }
                None => {
                    next.insert(id, Arc::new(o));
                    count.added += 1;
                }
            }
        }
        for id in failed_ids {
            if let Some(prev) = old.get(id.as_str()) {
                next.entry(id.as_str().into()).or_insert_with(|| {
                    count.kept_previous += 1;
                    Arc::clone(prev)
                });
            }
        }
        count.removed = old.keys().filter(|k| !next.contains_key(*k)).count();
        snap.store(Arc::new(next));
        self.notify(Change::Reloaded);
        count
    }
}

/// What a reload did to one layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloadCount {
    /// New objects.
    pub added: usize,
    /// Objects whose options changed.
    pub changed: usize,
    /// Objects that are the same as before (same `Arc`).
    pub unchanged: usize,
    /// Objects gone from the source.
    pub removed: usize,
    /// Objects that failed to load and kept their previous version.
    pub kept_previous: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn cache_lifetimes() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let forever = CachePolicy::default();
        assert!(forever.fresh(t0, at(1_000_000)));
        let max = CachePolicy {
            object_lifetime_maximum: 60,
            ..CachePolicy::default()
        };
        assert!(max.fresh(t0, at(59)));
        assert!(!max.fresh(t0, at(60)));
        let both = CachePolicy {
            object_lifetime_maximum: 60,
            object_lifetime_stale: 10,
            ..CachePolicy::default()
        };
        assert!(both.fresh(t0, at(9)));
        assert!(!both.fresh(t0, at(10)), "stale objects are fetched again");
    }
}
