//! The local store's SQLite file, owned by one thread of its own.
//!
//! The local store (the astdb role: registered contacts by default) is written on the
//! registrar's path: a REGISTER is answered only once its contact is committed. Through
//! sqlx every statement of a commit was a round trip to sqlx's SQLite worker thread
//! (BEGIN, an UPDATE and maybe an INSERT per row, COMMIT), each a channel hand-off and
//! a context switch, plus a pool checkout; measured, that was most of the server's CPU
//! per registration (docs/benchmarks.md). Here one thread owns one connection for the
//! server's lifetime: a whole batch is one job (one hand-off there, one back), its
//! statements are prepared once and cached, and the connection keeps its page cache
//! warm between commits.
//!
//! The file is the same `ps_*` schema (created by [`crate::sql::migrate`] before the
//! thread opens it) in WAL mode with `synchronous=FULL`, for the reasons given at
//! [`crate::sql::Database::connect_local_store`]; values are stored exactly as
//! [`crate::sql::SqlTable`] stores them, so either can read what the other wrote
//! (`switchboard db` commands still use sqlx on the same file).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use asterisk_conf::Origin;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use tokio::sync::oneshot;

use crate::raw::RawObject;
use crate::sql::{check_fields, encode, join_fields, row_object, SqlErrorKind};
use crate::store::{BatchError, BoxFuture, TableBackend, TableWrite};

/// How long a statement waits for a lock another process holds on the file (an
/// operator's `sqlite3` shell, `switchboard db`) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Statements kept prepared per connection (a handful per table).
const STATEMENT_CACHE: usize = 64;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The thread that owns the connection; cheap to clone. The thread ends when the
/// last handle (and every table opened from it) is dropped, after the jobs already
/// queued.
#[derive(Clone)]
pub struct LocalDb {
    jobs: mpsc::Sender<Job>,
    path: Arc<Path>,
    /// Held only so the checkpointer sees when the last handle is gone.
    _checkpointer: mpsc::Sender<()>,
}

impl std::fmt::Debug for LocalDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDb").field("path", &self.path).finish()
    }
}

impl LocalDb {
    /// Opens (creating if missing) the SQLite file at `path` and starts its thread.
    pub fn open(path: &Path) -> Result<LocalDb, String> {
        let fail = |e: rusqlite::Error| format!("local store {}: {e}", path.display());
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
        // `journal_mode` answers with the mode in force; the others answer nothing.
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!(
                "local store {}: cannot use the write-ahead log (journal mode stays '{mode}')",
                path.display()
            ));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        // Checkpoints run on their own connection and thread (below), never inside a
        // commit: the commit that crossed SQLite's automatic threshold used to copy
        // the log into the file and fsync it, stalling every REGISTER waiting behind
        // it for hundreds of milliseconds.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(fail)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let checkpointer = start_checkpointer(path)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        std::thread::Builder::new()
            .name("local-store".into())
            .spawn(move || {
                let mut conn = conn;
                for job in queue {
                    job(&mut conn);
                    reset_wal_if_large(&conn, &wal);
                }
            })
            .map_err(|e| format!("local store {}: no thread: {e}", path.display()))?;
        Ok(LocalDb {
            jobs,
            path: path.into(),
            _checkpointer: checkpointer,
        })
    }

    /// The local store's file for a `sqlite://PATH` URL (`sqlite:///abs` or
    /// `sqlite://relative`, any `?options` ignored); `None` for anything else,
    /// including an in-memory database (which one thread's connection could not
    /// share with the migration that creates its tables).
    pub fn path_of(url: &str) -> Option<PathBuf> {
        let rest = url
            .get(..9)
            .filter(|s| s.eq_ignore_ascii_case("sqlite://"))
            .map(|_| &url[9..])?;
        let path = rest.split('?').next().unwrap_or("");
        if path.is_empty() || path.contains(":memory:") {
            return None;
        }
        Some(PathBuf::from(path))
    }

    /// Runs `f` on the thread and returns what it returned.
    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> R + Send + 'static,
    ) -> Result<R, String> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // Whoever asked may have stopped waiting.
            let _ = done.send(f(conn));
        });
        let stopped = || {
            format!(
                "local store {}: its thread has stopped",
                self.path.display()
            )
        };
        self.jobs.send(job).map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())
    }

    /// Opens `table`, holding objects of sorcery type `object_type`, learning its
    /// columns (`id` first).
    pub async fn table(&self, table: &str, object_type: &str) -> Result<LocalTable, String> {
        let name = table.to_owned();
        let columns = self
            .run(move |conn| -> rusqlite::Result<Vec<String>> {
                let mut q = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
                let rows = q.query_map([&name], |r| r.get::<_, String>(0))?;
                rows.collect()
            })
            .await?
            .map_err(|e| {
                format!(
                    "local store {}: inspecting {table}: {e}",
                    self.path.display()
                )
            })?;
        if columns.is_empty() {
            return Err(format!(
                "local store {}: no table {table}",
                self.path.display()
            ));
        }
        let Some(id_at) = columns.iter().position(|c| c == "id") else {
            return Err(format!(
                "local store {}: table {table} has no id column",
                self.path.display()
            ));
        };
        let mut columns = columns;
        let id = columns.remove(id_at);
        columns.insert(0, id);
        let quoted = quote(table);
        let select = format!(
            "SELECT {} FROM {quoted}",
            columns
                .iter()
                .map(|c| format!("CAST({} AS TEXT)", quote(c)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(LocalTable {
            db: self.clone(),
            name: table.to_owned(),
            quoted,
            object_type: object_type.to_owned(),
            origin: Origin {
                file: format!("{table} (local store)").into(),
                line: 0,
            },
            columns: columns.into(),
            select: select.into(),
        })
    }
}

/// How often the checkpointer copies the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Starts the checkpointer: a thread with its own connection that runs a PASSIVE
/// checkpoint every [`CHECKPOINT_EVERY`]. A passive checkpoint never blocks the writer
/// (it copies what no reader still needs and leaves the rest for the next round); once
/// everything is copied, the writer's next commit starts the log from its beginning,
/// so the log stays as small as a half-second of commits. The thread stops when the
/// returned sender (held by every [`LocalDb`] handle) is dropped.
fn start_checkpointer(path: &Path) -> Result<mpsc::Sender<()>, String> {
    let fail = |e: rusqlite::Error| format!("local store {} (checkpointer): {e}", path.display());
    let conn = Connection::open(path).map_err(fail)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
    let (stop, stopped) = mpsc::channel::<()>();
    let shown = path.display().to_string();
    std::thread::Builder::new()
        .name("local-checkpoint".into())
        .spawn(move || {
            let mut failing = false;
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                match result {
                    Ok(()) if failing => {
                        tracing::info!("local store {shown}: checkpoints work again");
                        failing = false;
                    }
                    Ok(()) => {}
                    // Logged once per failure streak: the log keeps growing meanwhile
                    // (nothing is lost), and the operator must hear of it.
                    Err(e) if !failing => {
                        tracing::error!("local store {shown}: checkpoint failed, the write-ahead log grows until one succeeds: {e}");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
            // A last checkpoint leaves a small log for the next start to replay.
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        })
        .map_err(|e| format!("local store {}: no checkpoint thread: {e}", path.display()))?;
    Ok(stop)
}

/// Size of the write-ahead log past which the writer empties it.
const WAL_RESET_BYTES: u64 = 64 << 20;

/// Empties the write-ahead log when it has grown past [`WAL_RESET_BYTES`]; run by the
/// writer thread between jobs.
///
/// The checkpointer's PASSIVE rounds copy the log into the database but, under a
/// steady stream of commits, never let it start over: SQLite restarts the log only
/// when a writer finds every frame already copied, and there are always new ones. In
/// a 1,000,000-registration run it grew past 3 GB (disk, and replay time at the next
/// start). A TRUNCATE checkpoint resets it, but run from the checkpointer it made the
/// writer wait behind SQLite's busy-handler sleeps (registrations were refused with
/// 503). Run here, between two commits, there is no other writer to wait for: it copies
/// the little the last passive round left (half a second of commits), fsyncs and
/// empties the file, a pause of a few tens of milliseconds every few seconds under a
/// registration storm and never otherwise.
fn reset_wal_if_large(conn: &Connection, wal: &Path) {
    let large = std::fs::metadata(wal).is_ok_and(|m| m.len() > WAL_RESET_BYTES);
    if !large {
        return;
    }
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        tracing::warn!("local store: the write-ahead log could not be emptied (tried again after the next commit): {e}");
    }
}

/// `name` as a quoted SQLite identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One table of the local store.
pub struct LocalTable {
    db: LocalDb,
    name: String,
    quoted: String,
    object_type: String,
    origin: Origin,
    /// The columns found at open, `id` first.
    columns: Arc<[String]>,
    /// Every column as text, in `columns` order.
    select: Arc<str>,
}

/// One write as the thread applies it: the id and every value encoded.
enum Prepared {
    Upsert {
        id: String,
        columns: Vec<(String, Option<String>)>,
    },
    Delete {
        id: String,
    },
}

impl LocalTable {
    fn fail(&self, action: &str, e: impl std::fmt::Display) -> String {
        format!(
            "local store {}: {action} {}: {e}",
            self.db.path.display(),
            self.name
        )
    }

    fn has_column(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c == name)
    }

    /// Rows of `sql` (the select list, then a condition) with `param`, as objects
    /// sorted by id.
    async fn objects(
        &self,
        condition: &str,
        param: Option<String>,
    ) -> Result<Vec<RawObject>, String> {
        let sql = format!("{}{condition}", self.select);
        let columns = Arc::clone(&self.columns);
        let object_type = self.object_type.clone();
        let origin = self.origin.clone();
        let rows = self
            .db
            .run(move |conn| -> rusqlite::Result<Vec<RawObject>> {
                let mut q = conn.prepare_cached(&sql)?;
                let mut rows = q.query(params_from_iter(param.iter()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(columns.len());
                    for i in 0..columns.len() {
                        values.push(row.get::<_, Option<String>>(i)?);
                    }
                    let names = columns.iter().map(String::as_str);
                    out.extend(row_object(&object_type, &origin, names.zip(values)));
                }
                Ok(out)
            })
            .await?
            .map_err(|e| self.fail("reading", e))?;
        let mut rows = rows;
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(rows)
    }

    /// `writes` checked and encoded for the thread. Options the table has no column
    /// for are left out (an older schema), as for realtime tables.
    fn prepare(&self, writes: &[TableWrite<'_>]) -> Result<Vec<Prepared>, String> {
        writes
            .iter()
            .map(|w| match w {
                TableWrite::Upsert { id, fields } => {
                    let kept: Vec<(&str, String)> = fields
                        .iter()
                        .filter(|(name, _)| self.has_column(name))
                        .map(|(n, v)| (*n, v.clone()))
                        .collect();
                    // Only `id` as a field can fail here: unknown options were left out.
                    check_fields(&kept, |n| self.has_column(n)).map_err(|e| {
                        let why = match e {
                            SqlErrorKind::IdAsField => {
                                "id is given separately, not as a field".to_owned()
                            }
                            other => format!("{other:?}"),
                        };
                        self.fail("writing to", why)
                    })?;
                    Ok(Prepared::Upsert {
                        id: encode(id),
                        columns: join_fields(&kept)
                            .into_iter()
                            .map(|(n, v)| (n.to_owned(), v))
                            .collect(),
                    })
                }
                TableWrite::Delete { id } => Ok(Prepared::Delete { id: encode(id) }),
            })
            .collect()
    }
}

/// Applies `writes` in one transaction; per write, whether its row existed.
fn apply(conn: &mut Connection, quoted: &str, writes: &[Prepared]) -> rusqlite::Result<Vec<bool>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut existed = Vec::with_capacity(writes.len());
    for w in writes {
        match w {
            Prepared::Upsert { id, columns } => {
                let found = if columns.is_empty() {
                    tx.prepare_cached(&format!("SELECT 1 FROM {quoted} WHERE \"id\" = ?1"))?
                        .query_row([id], |_| Ok(()))
                        .optional()?
                        .is_some()
                } else {
                    let sets = columns
                        .iter()
                        .enumerate()
                        .map(|(i, (c, _))| format!("{} = ?{}", quote(c), i + 2))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!("UPDATE {quoted} SET {sets} WHERE \"id\" = ?1");
                    let values = std::iter::once(Some(id.as_str()))
                        .chain(columns.iter().map(|(_, v)| v.as_deref()));
                    tx.prepare_cached(&sql)?.execute(params_from_iter(values))? > 0
                };
                if !found {
                    let names = std::iter::once("\"id\"".to_owned())
                        .chain(columns.iter().map(|(c, _)| quote(c)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let marks = (1..=columns.len() + 1)
                        .map(|i| format!("?{i}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!("INSERT INTO {quoted} ({names}) VALUES ({marks})");
                    let values = std::iter::once(Some(id.as_str()))
                        .chain(columns.iter().map(|(_, v)| v.as_deref()));
                    tx.prepare_cached(&sql)?.execute(params_from_iter(values))?;
                }
                existed.push(found);
            }
            Prepared::Delete { id } => {
                let sql = format!("DELETE FROM {quoted} WHERE \"id\" = ?1");
                existed.push(tx.prepare_cached(&sql)?.execute([id])? > 0);
            }
        }
    }
    tx.commit()?;
    Ok(existed)
}

/// Whether an error means the file cannot be used at all (rather than this batch
/// being refused): retrying the batch's writes one by one would not help.
fn unavailable(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        e.sqlite_error_code(),
        Some(
            CannotOpen
                | NotADatabase
                | DiskFull
                | SystemIoFailure
                | ReadOnly
                | DatabaseBusy
                | DatabaseLocked
        )
    )
}

impl TableBackend for LocalTable {
    fn fetch(&self, id: &str) -> BoxFuture<'_, Result<Option<RawObject>, String>> {
        let id = encode(id);
        Box::pin(async move {
            Ok(self
                .objects(" WHERE \"id\" = ?1", Some(id))
                .await?
                .into_iter()
                .next())
        })
    }

    fn fetch_all(&self) -> BoxFuture<'_, Result<Vec<RawObject>, String>> {
        Box::pin(self.objects(" ORDER BY \"id\"", None))
    }

    fn fetch_where<'a>(
        &'a self,
        field: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Vec<RawObject>, String>> {
        Box::pin(async move {
            if !self.has_column(field) {
                return Err(self.fail("reading", format!("no column {field}")));
            }
            let condition = format!(" WHERE {} = ?1", quote(field));
            self.objects(&condition, Some(encode(value))).await
        })
    }

    fn upsert<'a>(
        &'a self,
        id: &'a str,
        fields: &'a [(&'static str, String)],
    ) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let existed = self
                .write_batch(&[TableWrite::Upsert { id, fields }])
                .await
                .map_err(|e| e.to_string())?;
            Ok(!existed.first().copied().unwrap_or(false))
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let existed = self
                .write_batch(&[TableWrite::Delete { id }])
                .await
                .map_err(|e| e.to_string())?;
            Ok(existed.first().copied().unwrap_or(false))
        })
    }

    fn write_batch<'a>(
        &'a self,
        writes: &'a [TableWrite<'a>],
    ) -> BoxFuture<'a, Result<Vec<bool>, BatchError>> {
        Box::pin(async move {
            if writes.is_empty() {
                return Ok(Vec::new());
            }
            let prepared = self.prepare(writes).map_err(BatchError::Rejected)?;
            let quoted = self.quoted.clone();
            let outcome = self
                .db
                .run(move |conn| apply(conn, &quoted, &prepared))
                .await
                .map_err(BatchError::Unavailable)?;
            outcome.map_err(|e| {
                let message = self.fail("writing to", &e);
                if unavailable(&e) {
                    BatchError::Unavailable(message)
                } else {
                    BatchError::Rejected(message)
                }
            })
        })
    }
}
