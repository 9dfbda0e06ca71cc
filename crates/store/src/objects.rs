//! The whole object store of a server: one [`TypeStore`] per res_pjsip type, its
//! layers built from the sorcery mapping, file layers loaded from the configuration
//! directory (pjsip.conf and the config wizard's pjsip_wizard.conf), and reload.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use asterisk_conf::{load, LoadOptions, Source};

use crate::load::{load_type, unknown_types, Buckets};
use crate::mapping::{load_mapping, Connection, Mapping, Wizard};
use crate::raw::RawObject;
use crate::store::{BoxFuture, CachePolicy, Layer, ReloadCount, TableBackend, TypeStore};
use crate::types::*;
use crate::wizard;

/// The file the config wizard reads.
pub const WIZARD_FILE: &str = "pjsip_wizard.conf";

/// The types the config wizard generates, in the order it generates them.
const WIZARD_TYPES: [&str; 6] = [
    "endpoint",
    "aor",
    "auth",
    "identify",
    "registration",
    "phoneprov",
];

/// Opens database tables for realtime and local-store layers (implemented over SQL by
/// the `sql` module; a trait so the store's rules can be tested without a database).
pub trait TableOpener: Send + Sync {
    /// Opens the table `connection.table` holding objects of `object_type`.
    fn open<'a>(
        &'a self,
        connection: &'a Connection,
        object_type: &'static str,
    ) -> BoxFuture<'a, Result<Box<dyn TableBackend>, String>>;
}

/// Where a snapshot layer's objects come from.
#[derive(Debug, Clone)]
enum SnapshotSource {
    File {
        file: String,
        criteria: Vec<(String, String)>,
        explicit_name: Option<String>,
        single_object: bool,
        /// `integrity=file`: one bad object rejects the type's whole load from the file.
        integrity_file: bool,
    },
    Wizard,
}

/// Everything a load or reload found worth telling.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Problems that dropped something (an object, a type's file objects, a file),
    /// each naming file:line, object, option and why.
    pub errors: Vec<String>,
    /// Problems that dropped nothing (skipped lines, unknown types).
    pub warnings: Vec<String>,
    /// Objects loaded from files and the wizard, per type.
    pub loaded: BTreeMap<&'static str, usize>,
    /// Objects that failed to load, per type.
    pub dropped: BTreeMap<&'static str, usize>,
    /// What changed per type (on reload).
    pub changes: BTreeMap<&'static str, ReloadCount>,
}

impl LoadReport {
    /// Whether any object, type or file was dropped.
    pub fn dropped_any(&self) -> bool {
        !self.errors.is_empty()
    }
}

macro_rules! each_type {
    ($m:ident) => {
        $m!(endpoint, Endpoint);
        $m!(aor, Aor);
        $m!(auth, Auth);
        $m!(contact, Contact);
        $m!(transport, Transport);
        $m!(identify, Identify);
        $m!(registration, Registration);
        $m!(domain_alias, DomainAlias);
        $m!(acl, AclObject);
        $m!(global, Global);
        $m!(system, System);
        $m!(resource_list, ResourceList);
        $m!(phoneprov, PhoneProv);
    };
}

/// Every object type a server uses, with its layers.
pub struct Objects {
    source: Arc<dyn Source + Send + Sync>,
    mapping: Mapping,
    snapshots: HashMap<&'static str, Vec<(usize, SnapshotSource)>>,
    reload_lock: std::sync::Mutex<()>,
    /// pjsip_wizard.conf existed at some load (so its disappearing is worth an error).
    had_wizard_file: std::sync::atomic::AtomicBool,
    /// Endpoints.
    pub endpoint: TypeStore<Endpoint>,
    /// AORs.
    pub aor: TypeStore<Aor>,
    /// Auths.
    pub auth: TypeStore<Auth>,
    /// Contacts (registered and static).
    pub contact: TypeStore<Contact>,
    /// Transports.
    pub transport: TypeStore<Transport>,
    /// Identify rules.
    pub identify: TypeStore<Identify>,
    /// Outbound registrations.
    pub registration: TypeStore<Registration>,
    /// Domain aliases.
    pub domain_alias: TypeStore<DomainAlias>,
    /// Global ACLs.
    pub acl: TypeStore<AclObject>,
    /// The global settings object.
    pub global: TypeStore<Global>,
    /// The system settings object.
    pub system: TypeStore<System>,
    /// Resource lists.
    pub resource_list: TypeStore<ResourceList>,
    /// Phone provisioning.
    pub phoneprov: TypeStore<PhoneProv>,
}

/// Options for [`Objects::open`].
pub struct OpenOptions<'a> {
    /// The configuration files.
    pub source: Arc<dyn Source + Send + Sync>,
    /// URL of the local store (the `astdb` role), e.g.
    /// `sqlite:///var/lib/switchboard/switchboard.db`; `None` leaves the local-store
    /// layers out (checking files only).
    pub local_store_url: Option<String>,
    /// Opens database tables; `None` makes realtime and local-store layers fail with a
    /// clear error (useful to check files alone).
    pub tables: Option<&'a dyn TableOpener>,
}

impl Objects {
    /// Builds the layers from `sorcery.conf`/`extconfig.conf`/`switchboard.conf` and
    /// loads the file objects. Fails only when the mapping itself is broken (without
    /// it no object can be found); everything else goes into the report.
    pub async fn open(opts: OpenOptions<'_>) -> Result<(Objects, LoadReport), Vec<String>> {
        let mapping = load_mapping(opts.source.as_ref())
            .map_err(|errs| errs.into_iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
        let mut report = LoadReport {
            warnings: mapping.warnings.clone(),
            ..LoadReport::default()
        };
        let mut snapshots: HashMap<&'static str, Vec<(usize, SnapshotSource)>> = HashMap::new();

        let mut objects = Objects {
            source: Arc::clone(&opts.source),
            mapping: Mapping::defaults(),
            snapshots: HashMap::new(),
            reload_lock: std::sync::Mutex::new(()),
            had_wizard_file: std::sync::atomic::AtomicBool::new(false),
            endpoint: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            aor: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            auth: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            contact: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            transport: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            identify: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            registration: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            domain_alias: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            acl: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            global: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            system: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            resource_list: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
            phoneprov: build_type(&mapping, &opts, &mut report, &mut snapshots).await,
        };
        objects.mapping = mapping;
        objects.snapshots = snapshots;
        objects.load_files(&mut report, true);
        Ok((objects, report))
    }

    /// The sorcery mapping in use.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// Re-reads every file and replaces the file objects. A file that cannot be parsed
    /// keeps its previous objects; a type that fails (duplicate names) keeps its
    /// previous objects; an object that fails keeps its previous version. Database
    /// layers are not touched (they are read live). The layering itself (sorcery.conf)
    /// is read at start only.
    pub fn reload(&self) -> LoadReport {
        // One reload at a time: two interleaved ones could mix file versions between
        // types. A poisoned lock only means an earlier reload panicked; the snapshots
        // are whole either way.
        let _one_at_a_time = self.reload_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut report = LoadReport::default();
        self.load_files(&mut report, false);
        macro_rules! expire {
            ($field:ident, $ty:ty) => {
                self.$field.expire_caches_on_reload();
            };
        }
        each_type!(expire);
        report
    }

    fn load_files(&self, report: &mut LoadReport, first: bool) {
        // Equal option text across every object of this load shares one allocation
        // (ids repeated by endpoint, aor and auth; template values).
        let _interning = crate::value::InternScope::new();
        let opts = LoadOptions::default();
        // Every file named by a snapshot layer, parsed once.
        let mut files: HashMap<String, Option<Buckets>> = HashMap::new();
        // How many layers read each (file, type): the last one takes the sections.
        let mut uses: HashMap<(String, String), usize> = HashMap::new();
        for (object_type, specs) in &self.snapshots {
            for (_, spec) in specs {
                if let SnapshotSource::File { file, criteria, .. } = spec {
                    let t = type_criterion(criteria).unwrap_or(object_type);
                    *uses.entry((file.clone(), t.to_owned())).or_default() += 1;
                }
            }
        }
        for specs in self.snapshots.values() {
            for (_, spec) in specs {
                if let SnapshotSource::File { file, .. } = spec {
                    if files.contains_key(file) {
                        continue;
                    }
                    let parsed = match self.source.resolve(file) {
                        Ok(found) if found.is_empty() && first => {
                            report
                                .warnings
                                .push(format!("{file}: not found; no objects from it"));
                            Some(Buckets::default())
                        }
                        Ok(found) if found.is_empty() => {
                            // A file gone at reload is far more often a mistake (a
                            // rename, a deployment half done) than a wish to drop every
                            // object; empty it to do that.
                            report.errors.push(format!(
                                "{file}: not found; its previous objects are kept (empty the file to remove them)"
                            ));
                            None
                        }
                        _ => match load(self.source.as_ref(), file, &opts) {
                            Ok(c) => {
                                report
                                    .warnings
                                    .extend(c.warnings.iter().map(|w| w.to_string()));
                                let known: Vec<&str> =
                                    crate::mapping::TYPES.iter().map(|(t, _)| *t).collect();
                                let mut known = known;
                                known.push("wizard");
                                let buckets = Buckets::new(c);
                                report.warnings.extend(unknown_types(&buckets, &known));
                                Some(buckets)
                            }
                            Err(e) => {
                                report.errors.push(format!(
                                    "{e}; the whole file was not applied (previous objects kept)"
                                ));
                                None
                            }
                        },
                    };
                    files.insert(file.clone(), parsed);
                }
            }
        }
        // The config wizard's objects, and the wizards that failed (their previous
        // objects are kept, as for any object that fails on reload).
        let mut failed_wizards: Vec<String> = Vec::new();
        let wizard_objects: Option<Vec<RawObject>> = match self.source.resolve(WIZARD_FILE) {
            Ok(found) if !found.is_empty() => {
                self.had_wizard_file
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                match load(self.source.as_ref(), WIZARD_FILE, &opts) {
                    Ok(c) => {
                        report
                            .warnings
                            .extend(c.warnings.iter().map(|w| w.to_string()));
                        let expansion = wizard::expand(&c);
                        failed_wizards.extend(expansion.errors.iter().map(|e| e.wizard.clone()));
                        report.errors.extend(
                            expansion
                                .errors
                                .iter()
                                .map(|e| format!("{e} (wizard not applied)")),
                        );
                        Some(expansion.objects)
                    }
                    Err(e) => {
                        report.errors.push(format!(
                            "{e}; the whole file was not applied (previous objects kept)"
                        ));
                        None
                    }
                }
            }
            Ok(_)
                if !first
                    && self
                        .had_wizard_file
                        .load(std::sync::atomic::Ordering::Relaxed) =>
            {
                report.errors.push(format!(
                    "{WIZARD_FILE}: not found; the wizards' previous objects are kept (empty the file to remove them)"
                ));
                None
            }
            _ => Some(Vec::new()),
        };

        macro_rules! load_layers {
            ($field:ident, $ty:ty) => {{
                let t = <$ty as crate::object::Object>::TYPE;
                for (index, spec) in self.snapshots.get(t).map(Vec::as_slice).unwrap_or(&[]) {
                    let mut keep: Vec<String> = Vec::new();
                    let (raws, single, whole_file) = match spec {
                        SnapshotSource::File {
                            file,
                            criteria,
                            explicit_name,
                            single_object,
                            integrity_file,
                        } => {
                            let Some(Some(buckets)) = files.get_mut(file) else {
                                continue;
                            };
                            let key = (
                                file.clone(),
                                type_criterion(criteria).unwrap_or(t).to_owned(),
                            );
                            let left = uses.entry(key).or_insert(1);
                            *left = left.saturating_sub(1);
                            let take = *left == 0;
                            (
                                select_by::<$ty>(
                                    buckets,
                                    t,
                                    criteria,
                                    explicit_name.as_deref(),
                                    take,
                                ),
                                *single_object,
                                *integrity_file,
                            )
                        }
                        SnapshotSource::Wizard => {
                            let Some(all) = &wizard_objects else { continue };
                            let raws: Vec<RawObject> =
                                all.iter().filter(|r| r.object_type == t).cloned().collect();
                            if !failed_wizards.is_empty() {
                                keep = self.$field.snapshot_ids(*index, |o| {
                                    o.meta
                                        .extended(&wizard::WIZARD_TAG[1..])
                                        .is_some_and(|w| failed_wizards.iter().any(|f| f == w))
                                });
                            }
                            (raws, false, false)
                        }
                    };
                    let mut loaded = load_type::<$ty>(&raws, single);
                    if whole_file && loaded.failed.is_none() && !loaded.errors.is_empty() {
                        *report.dropped.entry(t).or_default() += loaded.errors.len();
                        report.errors.extend(loaded.errors.iter().map(|e| e.to_string()));
                        loaded.failed = Some(format!(
                            "integrity=file: {} {t} object(s) failed, so no {t} objects were loaded from this file",
                            loaded.errors.len()
                        ));
                    }
                    if let Some(why) = loaded.failed {
                        report
                            .errors
                            .push(format!("{why} (previous {t} objects kept)"));
                        continue;
                    }
                    let mut failed_ids: Vec<String> =
                        loaded.errors.iter().map(|e| e.id.clone()).collect();
                    failed_ids.extend(keep);
                    *report.dropped.entry(t).or_default() += loaded.errors.len();
                    report
                        .errors
                        .extend(loaded.errors.iter().map(|e| e.to_string()));
                    *report.loaded.entry(t).or_default() += loaded.objects.len();
                    let count = self
                        .$field
                        .replace_snapshot(*index, loaded.objects, &failed_ids);
                    let total = report.changes.entry(t).or_default();
                    total.added += count.added;
                    total.changed += count.changed;
                    total.unchanged += count.unchanged;
                    total.removed += count.removed;
                    total.kept_previous += count.kept_previous;
                }
            }};
        }
        each_type!(load_layers);
    }
}

async fn build_type<T: crate::object::HasTables>(
    mapping: &Mapping,
    opts: &OpenOptions<'_>,
    report: &mut LoadReport,
    snapshots: &mut HashMap<&'static str, Vec<(usize, SnapshotSource)>>,
) -> TypeStore<T> {
    let t = T::TYPE;
    let mut layers: Vec<Layer<T>> = Vec::new();
    let mut specs = Vec::new();
    for layer in mapping.layers(t) {
        let built = match &layer.wizard {
            Wizard::Config {
                file,
                criteria,
                explicit_name,
                single_object,
                integrity_file,
            } => {
                specs.push((
                    layers.len(),
                    SnapshotSource::File {
                        file: file.clone(),
                        criteria: criteria.clone(),
                        explicit_name: explicit_name.clone(),
                        single_object: *single_object,
                        integrity_file: *integrity_file,
                    },
                ));
                Some(Layer::snapshot(format!("config {file}")))
            }
            Wizard::Memory => {
                let mut l = Layer::memory("memory");
                l.cache = layer.cache;
                Some(l)
            }
            Wizard::MemoryCache { options } => {
                let mut l = Layer::memory("memory_cache");
                l.cache = true;
                l.policy = cache_policy(t, options, report);
                Some(l)
            }
            Wizard::Astdb { prefix } => {
                let Some(url) = &opts.local_store_url else {
                    report.warnings.push(format!(
                        "{t}: the local store is not opened in this run (its objects are not checked)"
                    ));
                    continue;
                };
                let conn = Connection {
                    driver: "sqlite3".into(),
                    name: format!("local store ({prefix})"),
                    url: url.clone(),
                    table: format!("ps_{t}s"),
                };
                open_table(opts, &conn, t, report)
                    .await
                    .map(|b| Layer::table(format!("local {}", conn.table), b))
            }
            Wizard::Realtime {
                connection,
                unqualified,
                ..
            } => open_table(opts, connection, t, report).await.map(|b| {
                let mut l = Layer::table(format!("realtime {}", connection.table), b);
                l.unqualified = *unqualified;
                l
            }),
        };
        if let Some(l) = built {
            layers.push(l);
        }
    }
    if WIZARD_TYPES.contains(&t) {
        specs.push((layers.len(), SnapshotSource::Wizard));
        layers.push(Layer::snapshot(format!("config wizard {WIZARD_FILE}")));
    }
    snapshots.insert(t, specs);
    TypeStore::new(layers)
}

/// Reads the `memory_cache` options Switchboard applies; a bad value is reported and
/// that option left at its default.
fn cache_policy(t: &str, options: &[(String, String)], report: &mut LoadReport) -> CachePolicy {
    let mut p = CachePolicy::default();
    for (name, value) in options {
        let number = || value.trim().parse::<u64>().ok();
        let ok = match name.as_str() {
            "name" => true,
            "maximum_objects" => number().map(|n| p.maximum_objects = n as usize).is_some(),
            "object_lifetime_maximum" => number().map(|n| p.object_lifetime_maximum = n).is_some(),
            "object_lifetime_stale" => number().map(|n| p.object_lifetime_stale = n).is_some(),
            "expire_on_reload" => crate::value::parse_bool(value)
                .map(|b| p.expire_on_reload = b)
                .is_some(),
            "full_backend_cache" => {
                if crate::value::parse_bool(value) == Some(true) {
                    report.warnings.push(format!(
                        "{t}: memory_cache full_backend_cache is not supported; objects are cached as they are read"
                    ));
                }
                true
            }
            _ => {
                report
                    .errors
                    .push(format!("{t}: unknown memory_cache option '{name}'"));
                continue;
            }
        };
        if !ok {
            report.errors.push(format!(
                "{t}: memory_cache option {name}='{value}' is not valid; default kept"
            ));
        }
    }
    p
}

async fn open_table(
    opts: &OpenOptions<'_>,
    connection: &Connection,
    object_type: &'static str,
    report: &mut LoadReport,
) -> Option<Box<dyn TableBackend>> {
    let Some(opener) = opts.tables else {
        report.warnings.push(format!(
            "{object_type}: table {} ({}) not opened: no database access in this run",
            connection.table, connection.name
        ));
        return None;
    };
    match opener.open(connection, object_type).await {
        Ok(t) => Some(t),
        Err(e) => {
            report.errors.push(format!(
                "{object_type}: cannot open table {} of connection '{}': {e}",
                connection.table, connection.name
            ));
            None
        }
    }
}

/// The `type=` criterion of a config layer, if it has one.
fn type_criterion(criteria: &[(String, String)]) -> Option<&str> {
    criteria
        .iter()
        .find(|(k, _)| k == "type")
        .map(|(_, v)| v.as_str())
}

/// Sections selected by the config wizard's criteria: `type=<t>` is the usual one (and
/// the default); other `name=value` pairs must all match the section's first line of
/// that name.
fn select_by<T: crate::object::HasTables>(
    buckets: &mut Buckets,
    object_type: &str,
    criteria: &[(String, String)],
    explicit_name: Option<&str>,
    take: bool,
) -> Vec<RawObject> {
    let wanted = type_criterion(criteria).unwrap_or(object_type);
    let mut raws = buckets.typed(wanted, take);
    if let Some(name) = explicit_name {
        if !raws.iter().any(|r| r.id == name) {
            raws.extend(buckets.explicit::<T>(name));
        }
    }
    let others: Vec<&(String, String)> = criteria.iter().filter(|(k, _)| k != "type").collect();
    if !others.is_empty() {
        raws.retain(|r| {
            others.iter().all(|(k, v)| {
                r.fields
                    .iter()
                    .find(|f| &f.name == k)
                    .is_some_and(|f| &f.value == v)
            })
        });
    }
    for r in &mut raws {
        r.object_type = object_type.to_owned();
    }
    raws
}

/// Reloads `objects` on every SIGHUP until the returned task is aborted; each report is
/// handed to `on_report` (the daemon logs it). The handler is installed before this
/// returns, so a SIGHUP sent afterwards never takes the default action (exit).
#[cfg(unix)]
pub fn reload_on_sighup(
    objects: Arc<Objects>,
    on_report: impl Fn(LoadReport) + Send + 'static,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let objects = Arc::clone(&objects);
            // File reading and parsing block; keep them off the async workers.
            match tokio::task::spawn_blocking(move || objects.reload()).await {
                Ok(report) => on_report(report),
                Err(e) => tracing::error!("reload failed: {e}"),
            }
        }
    }))
}
