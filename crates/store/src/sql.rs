//! Realtime SQL tables: the `ps_*` tables Asterisk's realtime drivers read, served from
//! SQLite, PostgreSQL or MySQL/MariaDB by one code path (sqlx's `Any` driver), and the
//! `db migrate` that creates or completes them.
//!
//! Rows come back as [`RawObject`]s, exactly like a `pjsip.conf` section, so the typed
//! objects are built by the same code whatever holds them. The conversion follows the
//! Asterisk drivers (spec §4): the `id` column is the id, NULL and empty columns are
//! absent, values are split on `;` into repeated fields (how several `allow`, `match` or
//! `set_var` lines are stored), and `^XX` escapes (`^3B` = `;`, `^5E` = `^`) are decoded
//! after splitting, in ids too: contact ids contain `;`.
//!
//! Every column is read cast to text, so enum types, integers and floats all arrive as
//! strings and the table may have any subset of the columns, in any version.
//! Comparisons are exact (byte for byte) on every database, including MySQL, whose default
//! collations would otherwise match ids case-insensitively.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use asterisk_conf::Origin;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection, Row};

use crate::raw::RawObject;
use crate::schema::{self, Dialect};

/// Connections per database. Realtime lookups are short and a SIP server has few
/// concurrent ones; a small pool keeps the load on a shared database server low.
const POOL_SIZE: u32 = 4;

/// How long connecting may take before it is reported as failed (an unreachable host
/// would otherwise wait for the system's TCP timeout, minutes).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a query waits for a free connection before failing, so a database that went
/// away turns into an error instead of a request that hangs.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong, with the table and the (password-masked) URL it concerns.
#[derive(Debug, Clone)]
pub struct SqlError {
    url: String,
    table: Option<String>,
    kind: SqlErrorKind,
}

/// The kinds of [`SqlError`], for callers that react differently to each.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqlErrorKind {
    /// The URL names no supported database (`sqlite:`, `postgres:`, `mysql:`), or the
    /// driver rejected it.
    BadUrl(String),
    /// The database could not be reached or refused the login; the driver's message.
    Connect(String),
    /// The table does not exist (or has no columns the login can see).
    NoSuchTable,
    /// The table has no `id` column, so its rows cannot be sorcery objects.
    NoIdColumn,
    /// The caller named columns the table does not have.
    UnknownColumns(Vec<String>),
    /// A field list for a write also named `id`, which is given separately.
    IdAsField,
    /// A statement failed: what was being done and the driver's message.
    Query {
        /// What was being done (`reading`, `updating`, …).
        action: String,
        /// The driver's message.
        message: String,
    },
}

impl SqlError {
    /// The kind of failure.
    pub fn kind(&self) -> &SqlErrorKind {
        &self.kind
    }

    /// The table concerned, if any.
    pub fn table(&self) -> Option<&str> {
        self.table.as_deref()
    }

    /// The database URL with its password masked, safe to log.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = self.table.as_deref().unwrap_or("?");
        match &self.kind {
            SqlErrorKind::BadUrl(m) => write!(f, "unusable database URL {}: {m}", self.url),
            SqlErrorKind::Connect(m) => write!(f, "cannot connect to {}: {m}", self.url),
            SqlErrorKind::NoSuchTable => {
                write!(f, "table {table} does not exist in {}", self.url)
            }
            SqlErrorKind::NoIdColumn => {
                write!(f, "table {table} in {} has no id column", self.url)
            }
            SqlErrorKind::UnknownColumns(c) => write!(
                f,
                "table {table} in {} has no column{} {}",
                self.url,
                if c.len() == 1 { "" } else { "s" },
                c.join(", ")
            ),
            SqlErrorKind::IdAsField => write!(
                f,
                "writing to table {table} in {}: id is given separately, not as a field",
                self.url
            ),
            SqlErrorKind::Query { action, message } => match &self.table {
                Some(t) => write!(f, "{action} table {t} in {}: {message}", self.url),
                None => write!(f, "{action} in {}: {message}", self.url),
            },
        }
    }
}

impl std::error::Error for SqlError {}

/// The URL with any password replaced by `***` (in the user part and in a `password=`
/// query parameter), so it can appear in errors and logs.
pub fn mask_url(url: &str) -> String {
    let (masked, _) = mask(url);
    masked
}

/// The masked URL and the passwords it contained (to scrub from driver messages).
fn mask(url: &str) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    let mut out = String::with_capacity(url.len());
    let Some(scheme_end) = url.find("://") else {
        return (url.to_owned(), secrets);
    };
    let rest_start = scheme_end + 3;
    out.push_str(&url[..rest_start]);
    let rest = &url[rest_start..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    secrets.push(userinfo[colon + 1..].to_owned());
                    out.push_str(&userinfo[..=colon]);
                    out.push_str("***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[auth_end..];
    match tail.find('?') {
        Some(q) => {
            out.push_str(&tail[..=q]);
            let query = &tail[q + 1..];
            let (query, fragment) = match query.find('#') {
                Some(h) => (&query[..h], &query[h..]),
                None => (query, ""),
            };
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) if k.eq_ignore_ascii_case("password") => {
                        secrets.push(v.to_owned());
                        format!("{k}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
            out.push_str(fragment);
        }
        None => out.push_str(tail),
    }
    // Percent-decoded forms too: a driver may quote the decoded password.
    let decoded: Vec<String> = secrets.iter().map(|s| percent_decode(s)).collect();
    secrets.extend(decoded);
    // Very short "passwords" would mangle every message they happen to occur in.
    secrets.retain(|s| s.len() >= 3);
    (out, secrets)
}

fn percent_decode(s: &str) -> String {
    unescape(s, b'%', hex)
}

/// `s` with every `marker` followed by two digits that `digit` accepts replaced by the
/// byte they spell (URL `%HH` and realtime `^HH` escapes).
fn unescape(s: &str, marker: u8, digit: fn(u8) -> Option<u8>) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == marker && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (digit(b[i + 1]), digit(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The dialect a URL's scheme names.
fn dialect_of(url: &str) -> Option<Dialect> {
    let scheme = url.split(':').next()?.to_ascii_lowercase();
    match scheme.as_str() {
        "sqlite" => Some(Dialect::Sqlite),
        "postgres" | "postgresql" => Some(Dialect::Postgres),
        "mysql" | "mariadb" => Some(Dialect::MySql),
        _ => None,
    }
}

/// A SQLite file is created when missing (`mode=rwc`) unless the URL says otherwise, so
/// `db migrate` can start from nothing.
fn connect_url(url: &str, dialect: Dialect) -> String {
    // sqlx knows MariaDB by the MySQL scheme only.
    if let Some(rest) = url
        .get(..10)
        .filter(|s| s.eq_ignore_ascii_case("mariadb://"))
        .map(|_| &url[10..])
    {
        return format!("mysql://{rest}");
    }
    if dialect != Dialect::Sqlite || url.contains(":memory:") {
        return url.to_owned();
    }
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    if query.split('&').any(|p| p.starts_with("mode=")) {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}mode=rwc")
}

/// A connection pool to one database, shared by every table read from it.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    dialect: Dialect,
    /// The URL with the password masked, for messages.
    url: Arc<str>,
    /// Passwords to scrub from driver messages.
    secrets: Arc<[String]>,
}

impl Database {
    /// Connects to `url` (`sqlite:///abs/path.db`, `sqlite://rel.db`,
    /// `postgres://user:pass@host/db`, `mysql://user:pass@host/db`). One connection is made
    /// now, so a wrong URL or password fails here rather than at the first lookup.
    pub async fn connect(url: &str) -> Result<Database, SqlError> {
        Database::connect_with(url, false).await
    }

    /// [`Database::connect`] for the local store (the astdb role: registered contacts).
    /// On SQLite every connection uses the write-ahead log and `synchronous=FULL`, so a
    /// committed transaction is on disk when the commit returns: it survives `kill -9`
    /// and a power loss. WAL rather than the default rollback journal because a commit
    /// then costs one fsync of the log (not of the journal and the database), and
    /// readers never block the writer. FULL rather than NORMAL because with NORMAL a
    /// commit waits for no fsync (it survives a crashed process, not a crashed
    /// machine), and an acknowledged REGISTER must not be lost; group commit makes
    /// the fsync affordable (see `crate::contacts`). Other databases are connected as
    /// by [`Database::connect`]: their durability is the server's (`synchronous_commit`,
    /// `innodb_flush_log_at_trx_commit`, both durable by default).
    ///
    /// Realtime SQLite files are left in the journal mode their owner chose (WAL is a
    /// property of the file, and Asterisk may share it).
    pub async fn connect_local_store(url: &str) -> Result<Database, SqlError> {
        Database::connect_with(url, true).await
    }

    async fn connect_with(url: &str, local_store: bool) -> Result<Database, SqlError> {
        let (masked, secrets) = mask(url);
        let fail = |kind| SqlError {
            url: masked.clone(),
            table: None,
            kind,
        };
        let Some(dialect) = dialect_of(url) else {
            return Err(fail(SqlErrorKind::BadUrl(
                "expected a sqlite:, postgres: or mysql: URL".to_owned(),
            )));
        };
        sqlx::any::install_default_drivers();
        let url = connect_url(url, dialect);
        let to_error = |e: sqlx::Error| {
            let message = scrub(&e.to_string(), &secrets);
            fail(match e {
                sqlx::Error::Configuration(_) => SqlErrorKind::BadUrl(message),
                _ => SqlErrorKind::Connect(message),
            })
        };
        // One connection on its own first: the pool retries a failed connect until its
        // timeout and then says only "timed out"; this gives the driver's reason (refused,
        // wrong password, no such database) at once.
        let probe = match tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(&url)).await
        {
            Ok(probe) => probe.map_err(to_error)?,
            Err(_) => {
                return Err(fail(SqlErrorKind::Connect(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ))))
            }
        };
        // A failed goodbye does not make the database unusable.
        let _ = probe.close().await;
        let mut options = AnyPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT);
        if local_store && dialect == Dialect::Sqlite && !url.contains(":memory:") {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(&mut *conn, "PRAGMA journal_mode=WAL").await?;
                    sqlx::Executor::execute(&mut *conn, "PRAGMA synchronous=FULL").await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect_lazy(&url).map_err(to_error)?;
        Ok(Database {
            pool,
            dialect,
            url: masked.into(),
            secrets: secrets.into(),
        })
    }

    /// The dialect, from the URL's scheme.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL with its password masked.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Opens `table` (optionally `schema.table`) holding objects of sorcery type
    /// `object_type`, learning which columns it has.
    pub async fn table(&self, table: &str, object_type: &str) -> Result<SqlTable, SqlError> {
        let columns = self.columns(table).await?;
        if columns.is_empty() {
            return Err(self.error(Some(table), SqlErrorKind::NoSuchTable));
        }
        let Some(id_pos) = columns.iter().position(|c| c.name == "id") else {
            return Err(self.error(Some(table), SqlErrorKind::NoIdColumn));
        };
        let mut columns = columns;
        let id = columns.remove(id_pos);
        columns.insert(0, id);
        let select = columns
            .iter()
            .map(|c| self.as_text(&quote(self.dialect, &c.name)))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(SqlTable {
            db: self.clone(),
            name: table.to_owned(),
            quoted: quote(self.dialect, table),
            object_type: object_type.to_owned(),
            origin: Origin {
                file: format!("{table} (realtime)").into(),
                line: 0,
            },
            columns,
            select,
        })
    }

    /// Runs one statement that returns no rows (operators' and tests' own SQL); the
    /// number of rows it changed.
    pub async fn execute(&self, statement: &str) -> Result<u64, SqlError> {
        sqlx::query(statement)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| {
                self.error(
                    None,
                    SqlErrorKind::Query {
                        action: "executing a statement".to_owned(),
                        message: scrub(&e.to_string(), &self.secrets),
                    },
                )
            })
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn error(&self, table: Option<&str>, kind: SqlErrorKind) -> SqlError {
        SqlError {
            url: self.url.to_string(),
            table: table.map(str::to_owned),
            kind,
        }
    }

    fn query_error(&self, table: Option<&str>, action: &str, e: &sqlx::Error) -> SqlError {
        self.error(
            table,
            SqlErrorKind::Query {
                action: action.to_owned(),
                message: scrub(&e.to_string(), &self.secrets),
            },
        )
    }

    /// `expr` cast to the dialect's text type.
    fn as_text(&self, expr: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("{expr}::text"),
            Dialect::MySql => format!("CAST({expr} AS CHAR)"),
            Dialect::Sqlite => format!("CAST({expr} AS TEXT)"),
        }
    }

    /// The columns of `table` in table order (empty if there is no such table).
    async fn columns(&self, table: &str) -> Result<Vec<ColumnInfo>, SqlError> {
        let (schema, bare) = match table.split_once('.') {
            Some((s, t)) => (Some(s), t),
            None => (None, table),
        };
        let mut q = Statement::new(self.dialect);
        match self.dialect {
            Dialect::Sqlite => {
                q.push("SELECT CAST(name AS TEXT) FROM pragma_table_info(");
                q.param(Some(bare.to_owned()), None);
                if let Some(s) = schema {
                    q.push(", ");
                    q.param(Some(s.to_owned()), None);
                }
                q.push(") ORDER BY cid");
            }
            Dialect::Postgres => {
                q.push(
                    "SELECT column_name::text, udt_schema::text, udt_name::text \
                     FROM information_schema.columns WHERE table_schema = ",
                );
                match schema {
                    Some(s) => q.param(Some(s.to_owned()), None),
                    None => q.push("current_schema()"),
                }
                q.push(" AND table_name = ");
                q.param(Some(bare.to_owned()), None);
                q.push(" ORDER BY ordinal_position");
            }
            Dialect::MySql => {
                q.push(
                    "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = ",
                );
                match schema {
                    Some(s) => q.param(Some(s.to_owned()), None),
                    None => q.push("DATABASE()"),
                }
                q.push(" AND TABLE_NAME = ");
                q.param(Some(bare.to_owned()), None);
                q.push(" ORDER BY ORDINAL_POSITION");
            }
        }
        let rows = q
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error(Some(table), "inspecting", &e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let text =
                |i| text_at(row, i).map_err(|e| self.query_error(Some(table), "inspecting", &e));
            let Some(name) = text(0)? else { continue };
            let cast = if self.dialect == Dialect::Postgres {
                match (text(1)?, text(2)?) {
                    (Some(s), Some(t)) => Some(format!(
                        "{}.{}",
                        quote_part(self.dialect, &s),
                        quote_part(self.dialect, &t)
                    )),
                    _ => None,
                }
            } else {
                None
            };
            out.push(ColumnInfo { name, cast });
        }
        Ok(out)
    }

    /// The tables in the current schema/database.
    async fn table_names(&self) -> Result<BTreeSet<String>, SqlError> {
        let sql = match self.dialect {
            Dialect::Sqlite => "SELECT CAST(name AS TEXT) FROM sqlite_master WHERE type = 'table'",
            Dialect::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema()"
            }
            Dialect::MySql => {
                "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE()"
            }
        };
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error(None, "listing the tables", &e))?;
        let mut out = BTreeSet::new();
        for row in &rows {
            if let Some(name) =
                text_at(row, 0).map_err(|e| self.query_error(None, "listing the tables", &e))?
            {
                out.insert(name);
            }
        }
        Ok(out)
    }
}

/// The driver's message with any password from the URL replaced by `***`.
fn scrub(message: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .fold(message.to_owned(), |m, s| m.replace(s.as_str(), "***"))
}

/// One column as found in the database.
#[derive(Debug, Clone)]
struct ColumnInfo {
    name: String,
    /// PostgreSQL: the column's type, `"schema"."udt"`, to cast text parameters to (so
    /// text can be written to enum, integer and float columns alike).
    cast: Option<String>,
}

/// An identifier quoted for the dialect; `a.b` is quoted as schema and table.
fn quote(dialect: Dialect, name: &str) -> String {
    name.split('.')
        .map(|p| quote_part(dialect, p))
        .collect::<Vec<_>>()
        .join(".")
}

fn quote_part(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::MySql => format!("`{}`", name.replace('`', "``")),
        Dialect::Sqlite | Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// Column `i` as text. MySQL reports long text results as blobs, so bytes are accepted too.
fn text_at(row: &AnyRow, i: usize) -> Result<Option<String>, sqlx::Error> {
    match row.try_get::<Option<String>, _>(i) {
        Ok(v) => Ok(v),
        Err(sqlx::Error::ColumnDecode { .. }) => Ok(row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())),
        Err(e) => Err(e),
    }
}

/// A statement being built, with its parameters: placeholders differ per dialect.
struct Statement {
    dialect: Dialect,
    sql: String,
    args: Vec<Option<String>>,
}

impl Statement {
    fn new(dialect: Dialect) -> Statement {
        Statement {
            dialect,
            sql: String::new(),
            args: Vec::new(),
        }
    }

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// A parameter; on PostgreSQL cast to `cast` (the text is bound as `text`).
    fn param(&mut self, value: Option<String>, cast: Option<&str>) {
        self.args.push(value);
        match self.dialect {
            Dialect::Postgres => {
                self.sql.push_str(&format!("${}", self.args.len()));
                if let Some(c) = cast {
                    self.sql.push_str("::");
                    self.sql.push_str(c);
                }
            }
            Dialect::MySql | Dialect::Sqlite => self.sql.push('?'),
        }
    }

    /// `column = value`, exact on every dialect. MySQL's usual collations ignore case and
    /// trailing spaces, so it also compares the bytes (the first test still uses the index).
    fn equals(&mut self, column: &ColumnInfo, value: &str) {
        let q = quote_part(self.dialect, &column.name);
        self.push(&q);
        self.push(" = ");
        self.param(Some(value.to_owned()), column.cast.as_deref());
        if self.dialect == Dialect::MySql {
            self.push(" AND BINARY ");
            self.push(&q);
            self.push(" = ");
            self.param(Some(value.to_owned()), None);
        }
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(&self.sql);
        for a in &self.args {
            q = q.bind(a.clone());
        }
        q
    }

    async fn fetch_all(&self, pool: &AnyPool) -> Result<Vec<AnyRow>, sqlx::Error> {
        self.query().fetch_all(pool).await
    }

    /// Runs the statement on a pool or on one connection (a transaction's).
    async fn execute<'c, E>(&self, executor: E) -> Result<u64, sqlx::Error>
    where
        E: sqlx::Executor<'c, Database = sqlx::Any>,
    {
        Ok(self.query().execute(executor).await?.rows_affected())
    }
}

/// One realtime table: reads rows as [`RawObject`]s and writes objects back.
#[derive(Debug, Clone)]
pub struct SqlTable {
    db: Database,
    name: String,
    quoted: String,
    object_type: String,
    origin: Origin,
    /// The columns found at open, `id` first.
    columns: Vec<ColumnInfo>,
    /// The select list: every column as text, in `columns` order.
    select: String,
}

impl SqlTable {
    /// Connects to `url` and opens `table`, whose rows are objects of type `object_type`.
    /// For several tables of one database, connect a [`Database`] once and use
    /// [`Database::table`] so they share its pool.
    pub async fn open(url: &str, table: &str, object_type: &str) -> Result<SqlTable, SqlError> {
        Database::connect(url)
            .await?
            .table(table, object_type)
            .await
    }

    /// The table's name as given at open.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sorcery type of its objects.
    pub fn object_type(&self) -> &str {
        &self.object_type
    }

    /// The database the table lives in.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The column names found when the table was opened, `id` first.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// Whether the table has column `name`.
    pub fn has_column(&self, name: &str) -> bool {
        self.column(name).is_some()
    }

    fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    fn id_column(&self) -> &ColumnInfo {
        // `Database::table` put it first; it refuses tables without one.
        &self.columns[0]
    }

    fn error(&self, kind: SqlErrorKind) -> SqlError {
        self.db.error(Some(&self.name), kind)
    }

    fn query_error(&self, action: &str, e: &sqlx::Error) -> SqlError {
        self.db.query_error(Some(&self.name), action, e)
    }

    fn known_column(&self, name: &str) -> Result<&ColumnInfo, SqlError> {
        self.column(name)
            .ok_or_else(|| self.error(SqlErrorKind::UnknownColumns(vec![name.to_owned()])))
    }

    fn select(&self) -> Statement {
        let mut q = Statement::new(self.db.dialect);
        q.push("SELECT ");
        q.push(&self.select);
        q.push(" FROM ");
        q.push(&self.quoted);
        q
    }

    /// Runs a select and converts its rows, sorted by id as sorcery's multi-object reads are.
    async fn objects(&self, q: Statement) -> Result<Vec<RawObject>, SqlError> {
        let rows = q
            .fetch_all(&self.db.pool)
            .await
            .map_err(|e| self.query_error("reading", &e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(o) = self.object(row)? {
                out.push(o);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// One row as an object; `None` for a row without an id.
    fn object(&self, row: &AnyRow) -> Result<Option<RawObject>, SqlError> {
        let mut values = Vec::with_capacity(self.columns.len());
        for i in 0..self.columns.len() {
            values.push(text_at(row, i).map_err(|e| self.query_error("reading", &e))?);
        }
        let names = self.columns.iter().map(|c| c.name.as_str());
        Ok(row_object(
            &self.object_type,
            &self.origin,
            names.zip(values),
        ))
    }

    /// The object with id `id`, if there is one.
    pub async fn fetch(&self, id: &str) -> Result<Option<RawObject>, SqlError> {
        let mut q = self.select();
        q.push(" WHERE ");
        q.equals(self.id_column(), &encode(id));
        Ok(self.objects(q).await?.into_iter().next())
    }

    /// Every object, sorted by id.
    pub async fn fetch_all(&self) -> Result<Vec<RawObject>, SqlError> {
        let mut q = self.select();
        q.push(" ORDER BY ");
        q.push(&quote_part(self.db.dialect, "id"));
        self.objects(q).await
    }

    /// The objects whose column `field` holds exactly `value` (as written: a multi-valued
    /// column matches only its whole stored list), sorted by id. Naming a column the table
    /// lacks is an error rather than an empty answer, so a typo does not look like "none".
    pub async fn fetch_where(&self, field: &str, value: &str) -> Result<Vec<RawObject>, SqlError> {
        let column = self.known_column(field)?;
        let mut q = self.select();
        q.push(" WHERE ");
        q.equals(column, &encode(value));
        self.objects(q).await
    }

    /// The objects whose id starts with `prefix`, sorted by id.
    pub async fn fetch_prefix(&self, prefix: &str) -> Result<Vec<RawObject>, SqlError> {
        let encoded = encode(prefix);
        let mut pattern = String::with_capacity(encoded.len() + 1);
        for c in encoded.chars() {
            if matches!(c, '!' | '%' | '_') {
                pattern.push('!');
            }
            pattern.push(c);
        }
        pattern.push('%');
        let mut q = self.select();
        q.push(" WHERE ");
        q.push(&quote_part(self.db.dialect, "id"));
        q.push(" LIKE ");
        q.param(Some(pattern), None);
        q.push(" ESCAPE '!'");
        // SQLite's and MySQL's LIKE ignore case; the prefix must match exactly.
        let mut out = self.objects(q).await?;
        out.retain(|o| o.id.starts_with(prefix));
        Ok(out)
    }

    /// Creates or updates the object `id`: the columns named in `fields` are set, the others
    /// left as they are. Repeated names are joined with `;` into one column (how the realtime
    /// drivers store several `allow` lines); `;` and `^` inside a value are escaped. An empty
    /// value writes NULL. Returns whether a new row was inserted.
    pub async fn upsert(&self, id: &str, fields: &[(&str, String)]) -> Result<bool, SqlError> {
        let columns = self.group(fields)?;
        let id = encode(id);
        let pool = &self.db.pool;
        if !columns.is_empty() && self.update(pool, &id, &columns).await? > 0 {
            return Ok(false);
        }
        if columns.is_empty() && self.exists(&id).await? {
            return Ok(false);
        }
        match self.insert(pool, &id, &columns).await {
            Ok(()) => Ok(true),
            // Another writer inserted the row since our update found nothing.
            Err(e) if is_unique_violation(&e) && !columns.is_empty() => {
                self.update(pool, &id, &columns).await?;
                Ok(false)
            }
            Err(e) => Err(self.query_error("inserting into", &e)),
        }
    }

    /// `fields` as (column, stored value) pairs, in order of first appearance.
    fn group<'a>(
        &'a self,
        fields: &[(&str, String)],
    ) -> Result<Vec<(&'a ColumnInfo, Option<String>)>, SqlError> {
        check_fields(fields, |name| self.has_column(name)).map_err(|e| self.error(e))?;
        join_fields(fields)
            .into_iter()
            .map(|(name, value)| Ok((self.known_column(name)?, value)))
            .collect()
    }

    async fn update<'c, E>(
        &self,
        executor: E,
        id: &str,
        columns: &[(&ColumnInfo, Option<String>)],
    ) -> Result<u64, SqlError>
    where
        E: sqlx::Executor<'c, Database = sqlx::Any>,
    {
        let mut q = Statement::new(self.db.dialect);
        q.push("UPDATE ");
        q.push(&self.quoted);
        q.push(" SET ");
        for (i, (column, value)) in columns.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push(&quote_part(self.db.dialect, &column.name));
            q.push(" = ");
            q.param(value.clone(), column.cast.as_deref());
        }
        q.push(" WHERE ");
        q.equals(self.id_column(), id);
        q.execute(executor)
            .await
            .map_err(|e| self.query_error("updating", &e))
    }

    async fn exists(&self, id: &str) -> Result<bool, SqlError> {
        let mut q = Statement::new(self.db.dialect);
        q.push("SELECT 1 FROM ");
        q.push(&self.quoted);
        q.push(" WHERE ");
        q.equals(self.id_column(), id);
        let rows = q
            .fetch_all(&self.db.pool)
            .await
            .map_err(|e| self.query_error("reading", &e))?;
        Ok(!rows.is_empty())
    }

    async fn insert<'c, E>(
        &self,
        executor: E,
        id: &str,
        columns: &[(&ColumnInfo, Option<String>)],
    ) -> Result<(), sqlx::Error>
    where
        E: sqlx::Executor<'c, Database = sqlx::Any>,
    {
        let d = self.db.dialect;
        let mut q = Statement::new(d);
        q.push("INSERT INTO ");
        q.push(&self.quoted);
        q.push(" (");
        q.push(&quote_part(d, "id"));
        for (column, _) in columns {
            q.push(", ");
            q.push(&quote_part(d, &column.name));
        }
        q.push(") VALUES (");
        q.param(Some(id.to_owned()), self.id_column().cast.as_deref());
        for (column, value) in columns {
            q.push(", ");
            q.param(value.clone(), column.cast.as_deref());
        }
        q.push(")");
        q.execute(executor).await.map(|_| ())
    }

    /// Deletes the object `id`; whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool, SqlError> {
        let mut q = Statement::new(self.db.dialect);
        q.push("DELETE FROM ");
        q.push(&self.quoted);
        q.push(" WHERE ");
        q.equals(self.id_column(), &encode(id));
        let n = q
            .execute(&self.db.pool)
            .await
            .map_err(|e| self.query_error("deleting from", &e))?;
        Ok(n > 0)
    }

    /// Applies `writes` in order in ONE transaction: all of them are committed or none
    /// (one commit, so one fsync, however many rows: what group commit relies on).
    /// Returns, per write, whether the row existed before. Fields the table has no column
    /// for must have been left out by the caller (as [`SqlTable::upsert`] requires).
    ///
    /// An upsert is an UPDATE and, when it changed nothing, an INSERT: no dialect's
    /// `ON CONFLICT`/`ON DUPLICATE KEY`, because a table made by Asterisk's Alembic
    /// scripts may have no unique key on `id` alone. A row inserted by another writer
    /// between the two fails the transaction with a unique violation; the caller may
    /// simply retry (every write here is idempotent).
    ///
    /// Errors: [`SqlErrorKind::Connect`] when no transaction could be started (the
    /// database is unreachable: retrying write by write would not help), otherwise
    /// [`SqlErrorKind::Query`] naming the statement that failed (or the commit).
    pub async fn write_batch(&self, writes: &[RowWrite<'_>]) -> Result<Vec<bool>, SqlError> {
        let mut tx = self.db.pool.begin().await.map_err(|e| {
            self.error(SqlErrorKind::Connect(scrub(
                &e.to_string(),
                &self.db.secrets,
            )))
        })?;
        let mut existed = Vec::with_capacity(writes.len());
        for write in writes {
            match write {
                RowWrite::Upsert { id, fields } => {
                    let columns = self.group(fields)?;
                    let id = encode(id);
                    let updated = if columns.is_empty() {
                        u64::from(self.exists_on(&mut tx, &id).await?)
                    } else {
                        self.update(&mut *tx, &id, &columns).await?
                    };
                    if updated == 0 {
                        self.insert(&mut *tx, &id, &columns)
                            .await
                            .map_err(|e| self.query_error("inserting into", &e))?;
                    }
                    existed.push(updated > 0);
                }
                RowWrite::Delete { id } => {
                    let mut q = Statement::new(self.db.dialect);
                    q.push("DELETE FROM ");
                    q.push(&self.quoted);
                    q.push(" WHERE ");
                    q.equals(self.id_column(), &encode(id));
                    let n = q
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| self.query_error("deleting from", &e))?;
                    existed.push(n > 0);
                }
            }
        }
        tx.commit()
            .await
            .map_err(|e| self.query_error("committing to", &e))?;
        Ok(existed)
    }

    async fn exists_on(&self, conn: &mut AnyConnection, id: &str) -> Result<bool, SqlError> {
        let mut q = Statement::new(self.db.dialect);
        q.push("SELECT 1 FROM ");
        q.push(&self.quoted);
        q.push(" WHERE ");
        q.equals(self.id_column(), id);
        let rows = q
            .query()
            .fetch_all(conn)
            .await
            .map_err(|e| self.query_error("reading", &e))?;
        Ok(!rows.is_empty())
    }

    /// Deletes the objects whose column `field` holds exactly `value`; how many.
    pub async fn delete_where(&self, field: &str, value: &str) -> Result<u64, SqlError> {
        let column = self.known_column(field)?;
        let mut q = Statement::new(self.db.dialect);
        q.push("DELETE FROM ");
        q.push(&self.quoted);
        q.push(" WHERE ");
        q.equals(column, &encode(value));
        q.execute(&self.db.pool)
            .await
            .map_err(|e| self.query_error("deleting from", &e))
    }
}

/// Refuses what no table can store: `id` as a field (it is the row's key) and fields
/// `has_column` does not know (named, sorted, in the error).
pub(crate) fn check_fields(
    fields: &[(&str, String)],
    has_column: impl Fn(&str) -> bool,
) -> Result<(), SqlErrorKind> {
    if fields.iter().any(|(name, _)| *name == "id") {
        return Err(SqlErrorKind::IdAsField);
    }
    let unknown: BTreeSet<String> = fields
        .iter()
        .filter(|(name, _)| !has_column(name))
        .map(|(name, _)| (*name).to_owned())
        .collect();
    if !unknown.is_empty() {
        return Err(SqlErrorKind::UnknownColumns(unknown.into_iter().collect()));
    }
    Ok(())
}

/// `fields` as (column, stored value) pairs in order of first appearance: repeated
/// names joined with `;` into one column (how the realtime drivers store several
/// `allow` lines), each value [`encode`]d, empty values left out (a column with none
/// is NULL).
pub(crate) fn join_fields<'f>(fields: &[(&'f str, String)]) -> Vec<(&'f str, Option<String>)> {
    let mut out: Vec<(&'f str, Option<String>)> = Vec::new();
    for (name, value) in fields {
        let i = match out.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                out.push((*name, None));
                out.len() - 1
            }
        };
        if value.is_empty() {
            continue;
        }
        let encoded = encode(value);
        match &mut out[i].1 {
            Some(s) => {
                s.push(';');
                s.push_str(&encoded);
            }
            slot @ None => *slot = Some(encoded),
        }
    }
    out
}

/// One row as an object: `values` are (column, text) in table order, `id` first;
/// multi-valued columns are split on `;` and every chunk [`decode`]d. `None` for a
/// row without an id.
pub(crate) fn row_object<'n>(
    object_type: &str,
    origin: &Origin,
    mut values: impl Iterator<Item = (&'n str, Option<String>)>,
) -> Option<RawObject> {
    let id = match values.next() {
        Some((_, Some(id))) if !id.is_empty() => decode(&id),
        _ => return None,
    };
    let mut object = RawObject::new(object_type, &id, origin.clone());
    for (name, value) in values {
        let Some(value) = value else { continue };
        for chunk in value.split(';') {
            let chunk = decode(chunk.trim());
            if !chunk.is_empty() {
                object.push(name, &chunk, origin.clone());
            }
        }
    }
    Some(object)
}

/// One write of [`SqlTable::write_batch`].
#[derive(Debug, Clone, Copy)]
pub enum RowWrite<'a> {
    /// Create or update the row `id` with these fields (as [`SqlTable::upsert`]).
    Upsert {
        /// The object id.
        id: &'a str,
        /// The fields to set.
        fields: &'a [(&'a str, String)],
    },
    /// Delete the row `id` (a missing row is not an error).
    Delete {
        /// The object id.
        id: &'a str,
    },
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Escapes a value for storage as the realtime drivers do (`ast_realtime_encode_chunk`):
/// `^` → `^5E`, `;` → `^3B`, so a stored `;` always separates values.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '^' => out.push_str("^5E"),
            ';' => out.push_str("^3B"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`encode`]. Like Asterisk's `ast_realtime_decode_chunk` it turns any `^` and two
/// upper-case hex digits into that byte, so rows written by Asterisk read the same.
pub fn decode(value: &str) -> String {
    if !value.contains('^') {
        return value.to_owned();
    }
    unescape(value, b'^', upper_hex)
}

fn upper_hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' | b'A'..=b'F' => hex(c),
        _ => None,
    }
}

/// What [`migrate`] did. Empty lists mean the database already had everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateReport {
    /// Realtime tables that did not exist and were created.
    pub created_tables: Vec<String>,
    /// Columns (table, column) that existing tables lacked and were added.
    pub added_columns: Vec<(String, String)>,
    /// Whether the database looked managed by Asterisk's own tooling: it has Alembic's
    /// version table, or `ps_*` tables that Switchboard did not create. Such a database was
    /// only completed, never altered.
    pub asterisk_database: bool,
    /// False when the database is managed by Asterisk's Alembic migrations and
    /// changing it was not allowed ([`MigrateOptions::alter_alembic_schema`]): the
    /// lists then say what is missing, and nothing was changed.
    pub applied: bool,
}

/// How [`migrate_with`] treats a database Asterisk's Alembic migrations manage.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigrateOptions {
    /// Add missing tables and columns even when the database has Alembic's version
    /// table. Off by default: a column Switchboard adds ahead of Asterisk's own
    /// migration makes a later `alembic upgrade` fail with a duplicate column, so on
    /// such a database the operator chooses (upgrade with Asterisk's tooling, or let
    /// Switchboard complete it).
    pub alter_alembic_schema: bool,
}

impl MigrateReport {
    /// Whether nothing was created or added.
    pub fn is_empty(&self) -> bool {
        self.created_tables.is_empty() && self.added_columns.is_empty()
    }
}

impl fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.applied {
            let mut missing: Vec<String> = self.created_tables.clone();
            missing.extend(self.added_columns.iter().map(|(t, c)| format!("{t}.{c}")));
            return write!(
                f,
                "this database's schema is managed by Asterisk (Alembic); nothing was changed. \
                 Missing for Switchboard: {}. Upgrade it with Asterisk's contrib/ast-db-manage \
                 (alembic upgrade head), or run `switchboard db migrate --alter-asterisk-schema` \
                 to add them here.",
                missing.join(", ")
            );
        }
        if self.is_empty() {
            write!(
                f,
                "schema up to date (version {}): nothing to do",
                schema::SCHEMA_VERSION
            )?;
        } else {
            let mut parts = Vec::new();
            if !self.created_tables.is_empty() {
                parts.push(format!(
                    "created {} table{}: {}",
                    self.created_tables.len(),
                    plural(self.created_tables.len()),
                    self.created_tables.join(", ")
                ));
            }
            if !self.added_columns.is_empty() {
                let columns: Vec<String> = self
                    .added_columns
                    .iter()
                    .map(|(t, c)| format!("{t}.{c}"))
                    .collect();
                parts.push(format!(
                    "added {} column{}: {}",
                    columns.len(),
                    plural(columns.len()),
                    columns.join(", ")
                ));
            }
            write!(
                f,
                "{}; schema version {} recorded",
                parts.join("; "),
                schema::SCHEMA_VERSION
            )?;
        }
        if self.asterisk_database {
            write!(
                f,
                " (an Asterisk-managed database: only missing tables and columns were added, \
                 nothing was altered or dropped)"
            )?;
        }
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Creates the realtime tables `url` lacks and adds the columns its existing tables lack
/// (tables from an older Asterisk revision), then records [`schema::SCHEMA_VERSION`].
/// Existing tables, columns, types and rows are never altered or dropped, so it is safe on
/// a database Asterisk also uses; run again, it does nothing.
pub async fn migrate(url: &str) -> Result<MigrateReport, SqlError> {
    migrate_with(url, MigrateOptions::default()).await
}

/// [`migrate`] with options.
pub async fn migrate_with(url: &str, options: MigrateOptions) -> Result<MigrateReport, SqlError> {
    let db = Database::connect(url).await?;
    let report = db.migrate_with(options).await;
    db.close().await;
    report
}

impl Database {
    /// [`migrate`] on this database.
    pub async fn migrate(&self) -> Result<MigrateReport, SqlError> {
        self.migrate_with(MigrateOptions::default()).await
    }

    /// [`migrate_with`] on this database.
    pub async fn migrate_with(&self, options: MigrateOptions) -> Result<MigrateReport, SqlError> {
        let d = self.dialect;
        let before = self.table_names().await?;
        let ours = before.contains(schema::VERSION_TABLE);
        let asterisk_database = before.contains(schema::ALEMBIC_VERSION_TABLE)
            || (!ours && schema::TABLES.iter().any(|t| before.contains(t.name)));

        let alembic = before.contains(schema::ALEMBIC_VERSION_TABLE);
        let mut report = MigrateReport {
            asterisk_database,
            applied: true,
            ..MigrateReport::default()
        };
        let mut statements = schema::enum_statements(d);
        for table in schema::TABLES {
            if !before.contains(table.name) {
                statements.push(schema::create_table_statement(d, table));
                report.created_tables.push(table.name.to_owned());
                continue;
            }
            let present = self.columns(table.name).await?;
            for column in table.columns {
                let found = present.iter().any(|c| match d {
                    // PostgreSQL names are case-sensitive once quoted; the others' are not.
                    Dialect::Postgres => c.name == column.name,
                    Dialect::Sqlite | Dialect::MySql => c.name.eq_ignore_ascii_case(column.name),
                });
                if !found {
                    statements.push(schema::add_column_statement(d, table, column));
                    report
                        .added_columns
                        .push((table.name.to_owned(), column.name.to_owned()));
                }
            }
        }
        if alembic && !options.alter_alembic_schema && !report.is_empty() {
            report.applied = false;
            return Ok(report);
        }
        statements.extend(schema::index_statements(d));
        statements.push(schema::version_table_statement(d));
        statements.push(schema::record_version_statement(d));

        if let Err((e, at)) = run_script(&self.pool, &statements).await {
            let mut err = self.query_error(None, "migrating", &e);
            if let (SqlErrorKind::Query { message, .. }, Some(at)) = (&mut err.kind, at) {
                message.push_str(&format!(" (statement: {})", first_line(&statements[at])));
            }
            return Err(err);
        }
        Ok(report)
    }
}

/// Runs `statements` in one transaction where DDL is transactional (SQLite, PostgreSQL), so
/// a failure leaves the database as it was; MySQL commits each DDL statement on its own.
/// On failure, the driver's error and the index of the failing statement.
async fn run_script(
    pool: &AnyPool,
    statements: &[String],
) -> Result<(), (sqlx::Error, Option<usize>)> {
    let mut tx = pool.begin().await.map_err(|e| (e, None))?;
    for (i, statement) in statements.iter().enumerate() {
        let conn: &mut sqlx::AnyConnection = &mut tx;
        // A plain string has no parameters, so it goes over the simple query protocol,
        // which PostgreSQL's `DO` blocks need.
        sqlx::Executor::execute(conn, statement.as_str())
            .await
            .map_err(|e| (e, Some(i)))?;
    }
    tx.commit().await.map_err(|e| (e, None))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
