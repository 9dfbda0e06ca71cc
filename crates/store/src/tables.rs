//! The store's database layers over [`crate::sql`]: a [`TableBackend`] for a realtime
//! or local-store table, and a [`TableOpener`] that shares one connection pool per
//! database URL between all the tables that live there.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::local::LocalDb;
use crate::mapping::Connection;
use crate::objects::TableOpener;
use crate::raw::RawObject;
use crate::sql::{migrate, Database, RowWrite, SqlErrorKind, SqlTable};
use crate::store::{BatchError, BoxFuture, TableBackend, TableWrite};

impl TableBackend for SqlTable {
    fn fetch(&self, id: &str) -> BoxFuture<'_, Result<Option<RawObject>, String>> {
        let id = id.to_owned();
        Box::pin(async move { SqlTable::fetch(self, &id).await.map_err(|e| e.to_string()) })
    }

    fn fetch_all(&self) -> BoxFuture<'_, Result<Vec<RawObject>, String>> {
        Box::pin(async move { SqlTable::fetch_all(self).await.map_err(|e| e.to_string()) })
    }

    fn fetch_where<'a>(
        &'a self,
        field: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Vec<RawObject>, String>> {
        Box::pin(async move {
            SqlTable::fetch_where(self, field, value)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn upsert<'a>(
        &'a self,
        id: &'a str,
        fields: &'a [(&'static str, String)],
    ) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            // Options the table has no column for (an older schema) are not stored;
            // everything the table can hold is.
            let kept: Vec<(&str, String)> = fields
                .iter()
                .filter(|(name, _)| self.has_column(name))
                .map(|(n, v)| (*n, v.clone()))
                .collect();
            SqlTable::upsert(self, id, &kept)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move { SqlTable::delete(self, id).await.map_err(|e| e.to_string()) })
    }

    fn write_batch<'a>(
        &'a self,
        writes: &'a [TableWrite<'a>],
    ) -> BoxFuture<'a, Result<Vec<bool>, BatchError>> {
        Box::pin(async move {
            // As in `upsert`: options without a column are not stored.
            let kept: Vec<Vec<(&str, String)>> = writes
                .iter()
                .map(|w| match w {
                    TableWrite::Upsert { fields, .. } => fields
                        .iter()
                        .filter(|(name, _)| self.has_column(name))
                        .map(|(n, v)| (*n, v.clone()))
                        .collect(),
                    TableWrite::Delete { .. } => Vec::new(),
                })
                .collect();
            let rows: Vec<RowWrite<'_>> = writes
                .iter()
                .zip(&kept)
                .map(|(w, fields)| match w {
                    TableWrite::Upsert { id, .. } => RowWrite::Upsert { id, fields },
                    TableWrite::Delete { id } => RowWrite::Delete { id },
                })
                .collect();
            SqlTable::write_batch(self, &rows)
                .await
                .map_err(|e| match e.kind() {
                    SqlErrorKind::Connect(_) => BatchError::Unavailable(e.to_string()),
                    _ => BatchError::Rejected(e.to_string()),
                })
        })
    }
}

/// Opens tables, one pool per URL. The local store's database is created and given
/// the `ps_*` schema on first use; realtime databases are used as they are (their
/// schema belongs to the operator: `switchboard db migrate` creates it on request).
#[derive(Default)]
pub struct SqlOpener {
    pools: Mutex<HashMap<String, Arc<Database>>>,
    local_url: Option<String>,
    /// The local store's thread, once opened.
    local: Mutex<Option<LocalDb>>,
}

impl SqlOpener {
    /// An opener; `local_url` is the local store's URL, migrated when first opened.
    pub fn new(local_url: Option<String>) -> SqlOpener {
        SqlOpener {
            pools: Mutex::new(HashMap::new()),
            local_url,
            local: Mutex::new(None),
        }
    }

    /// The local store's SQLite file, given its `ps_*` tables (sqlx's migration, run
    /// once) and then handed to a thread of its own (see [`crate::local`]). `None`
    /// when `url` is not the local store's, or names no file (an in-memory database
    /// keeps going through sqlx).
    async fn local_db(&self, url: &str) -> Result<Option<LocalDb>, String> {
        if self.local_url.as_deref() != Some(url) {
            return Ok(None);
        }
        let Some(path) = LocalDb::path_of(url) else {
            return Ok(None);
        };
        let mut local = self.local.lock().await;
        if let Some(db) = &*local {
            return Ok(Some(db.clone()));
        }
        migrate(url).await.map_err(|e| e.to_string())?;
        let db = LocalDb::open(&path)?;
        *local = Some(db.clone());
        Ok(Some(db))
    }

    async fn database(&self, url: &str) -> Result<Arc<Database>, String> {
        let mut pools = self.pools.lock().await;
        if let Some(db) = pools.get(url) {
            return Ok(Arc::clone(db));
        }
        if self.local_url.as_deref() == Some(url) {
            migrate(url).await.map_err(|e| e.to_string())?;
        }
        let db = if self.local_url.as_deref() == Some(url) {
            Database::connect_local_store(url).await
        } else {
            Database::connect(url).await
        };
        let db = Arc::new(db.map_err(|e| e.to_string())?);
        pools.insert(url.to_owned(), Arc::clone(&db));
        Ok(db)
    }
}

impl TableOpener for SqlOpener {
    fn open<'a>(
        &'a self,
        connection: &'a Connection,
        object_type: &'static str,
    ) -> BoxFuture<'a, Result<Box<dyn TableBackend>, String>> {
        Box::pin(async move {
            if connection.url.is_empty() {
                return Err(format!("connection '{}' has no URL", connection.name));
            }
            if let Some(local) = self.local_db(&connection.url).await? {
                let table = local.table(&connection.table, object_type).await?;
                return Ok(Box::new(table) as Box<dyn TableBackend>);
            }
            let db = self.database(&connection.url).await?;
            let table = db
                .table(&connection.table, object_type)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Box::new(table) as Box<dyn TableBackend>)
        })
    }
}
