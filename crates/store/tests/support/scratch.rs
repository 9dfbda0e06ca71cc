//! Scratch databases for tests: a SQLite file, a PostgreSQL schema or a MariaDB
//! database per test, dropped afterwards, so tests run in parallel. Shared by the
//! SQL and realtime tests (`#[path]`-included; not every user needs every item).
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sorcery::sql;
use sqlx::{AnyPool, Connection};

pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const MYSQL: &str = "mysql://root@127.0.0.1:3306/test";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
    MariaDb,
}

/// A name no other test (or earlier run) uses.
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "sb_test_{tag}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn admin_url(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => unreachable!("SQLite needs no server"),
        Backend::Postgres => {
            std::env::var("SWITCHBOARD_TEST_POSTGRES").unwrap_or_else(|_| POSTGRES.to_owned())
        }
        Backend::MariaDb => {
            std::env::var("SWITCHBOARD_TEST_MYSQL").unwrap_or_else(|_| MYSQL.to_owned())
        }
    }
}

pub async fn admin_pool(url: &str) -> Result<AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    // The pool would report a refused connection only as a timeout; one plain
    // connection first gives the reason.
    sqlx::AnyConnection::connect(url).await?.close().await?;
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(url)
        .await
}

/// A scratch space on `backend`: a SQLite file, a PostgreSQL schema or a MariaDB database.
pub struct Scratch {
    pub backend: Backend,
    /// The URL the code under test uses.
    pub url: String,
    /// The name of the scratch schema, database or file.
    name: String,
    /// PostgreSQL/MariaDB: the connection that created the scratch space and drops it.
    admin: Option<AnyPool>,
}

impl Scratch {
    /// `None` (after a loud SKIP line) when the server is not reachable and `CI` is unset.
    pub async fn new(backend: Backend, tag: &str) -> Option<Scratch> {
        let name = unique(tag);
        if backend == Backend::Sqlite {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            let path = path.to_string_lossy().into_owned();
            // An absolute path gives sqlite:///tmp/…, the form the module documents.
            return Some(Scratch {
                backend,
                url: format!("sqlite://{path}"),
                name: path,
                admin: None,
            });
        }
        let admin_url = admin_url(backend);
        let admin = match admin_pool(&admin_url).await {
            Ok(pool) => pool,
            Err(e) => {
                let what = format!(
                    "{backend:?} is not reachable at {}: {e}",
                    sql::mask_url(&admin_url)
                );
                if std::env::var_os("CI").is_some() {
                    panic!("{what} (CI is set, so this is a failure, not a skip)");
                }
                eprintln!(
                    "\n*** SKIP *** {what}\n*** SKIP *** the {backend:?} tests did not run\n"
                );
                return None;
            }
        };
        let url = match backend {
            Backend::Postgres => {
                exec(&admin, &format!("CREATE SCHEMA {name}")).await;
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                format!("{admin_url}{sep}options=-c%20search_path%3D{name}")
            }
            Backend::MariaDb => {
                exec(&admin, &format!("CREATE DATABASE {name}")).await;
                replace_database(&admin_url, &name)
            }
            Backend::Sqlite => unreachable!(),
        };
        Some(Scratch {
            backend,
            url,
            name,
            admin: Some(admin),
        })
    }

    /// Runs `test` on the scratch space and drops the space whether it passed or not.
    pub async fn run<F, Fut>(self, test: F)
    where
        F: FnOnce(String, Backend) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let outcome = tokio::spawn(test(self.url.clone(), self.backend)).await;
        match (&self.admin, self.backend) {
            (Some(admin), Backend::Postgres) => {
                exec(admin, &format!("DROP SCHEMA {} CASCADE", self.name)).await;
                admin.close().await;
            }
            (Some(admin), Backend::MariaDb) => {
                exec(admin, &format!("DROP DATABASE {}", self.name)).await;
                admin.close().await;
            }
            _ => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
                }
            }
        }
        if let Err(e) = outcome {
            match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("test task failed: {e}"),
            }
        }
    }
}

/// `url` with its database name replaced by `database`.
pub fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

pub async fn exec(pool: &AnyPool, statement: &str) {
    if let Err(e) = sqlx::raw_sql(statement).execute(pool).await {
        panic!("{statement}: {e}");
    }
}
