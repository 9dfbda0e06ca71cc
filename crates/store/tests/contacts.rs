//! Durable registered contacts: group commit (many submitters, few transactions),
//! failures that fail only the submissions concerned, the load at start (expired and
//! prune_on_boot contacts dropped), and no acknowledged contact lost to `kill -9`.
//! On the local store (SQLite) always; on realtime `ps_contacts` in SQLite, PostgreSQL
//! and MariaDB.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use asterisk_conf::FsSource;
use sorcery::contacts::{load_contacts, CommitError, ContactWrite, ContactWriter, WriterOptions};
use sorcery::objects::{Objects, OpenOptions};
use sorcery::sql;
use sorcery::store::Write;
use sorcery::tables::SqlOpener;
use sorcery::types::Contact;

#[path = "support/scratch.rs"]
mod scratch;
use scratch::*;

/// A fresh configuration directory.
fn config_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(tag));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("pjsip.conf"), "[101]\ntype=aor\nmax_contacts=5\n").expect("write");
    dir
}

/// Makes `dir` send contacts to the realtime table `ps_contacts` of `url`.
fn realtime_config(dir: &Path, url: &str) {
    std::fs::write(
        dir.join("sorcery.conf"),
        "[res_pjsip]\ncontact=realtime,ps_contacts\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("extconfig.conf"),
        "[settings]\nps_contacts => odbc,asterisk\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("switchboard.conf"),
        format!("[databases]\nasterisk = {url}\n"),
    )
    .expect("write");
}

/// The local store's URL in `dir` (the data directory of these tests).
fn local_url(dir: &Path) -> String {
    format!("sqlite://{}/switchboard.db", dir.display())
}

async fn open(dir: &Path) -> Arc<Objects> {
    let url = local_url(dir);
    let opener = SqlOpener::new(Some(url.clone()));
    let (objects, report) = Objects::open(OpenOptions {
        source: Arc::new(FsSource::new(dir)),
        local_store_url: Some(url),
        tables: Some(&opener),
    })
    .await
    .expect("mapping");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    Arc::new(objects)
}

fn contact(id: &str, uri: &str, expiration_time: u64) -> Contact {
    let mut c: Contact = sorcery::object::defaults();
    c.meta.id = id.into();
    c.uri = uri.into();
    c.expiration_time = expiration_time;
    c.reg_server = "node-a".into();
    c
}

fn put(id: &str, uri: &str) -> ContactWrite {
    Write::Put(Arc::new(contact(id, uri, 1_900_000_000)))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 64 submitters × 8 submissions at once share a handful of transactions, and every
/// acknowledged contact is stored (read back after reopening the store).
async fn group_commit(dir: &Path) {
    let objects = open(dir).await;
    let writer = ContactWriter::start(Arc::clone(&objects), WriterOptions::default());
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let writer = writer.clone();
            tokio::spawn(async move {
                for k in 0..8 {
                    let id = format!("101;@t{t}k{k}");
                    writer
                        .submit(vec![put(&id, &format!("sip:101@192.0.2.{t}:{k}"))])
                        .await
                        .expect("stored");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("submitter");
    }
    let stats = writer.stats();
    eprintln!("group commit: {stats:?}");
    assert_eq!(stats.submissions, 512);
    assert_eq!(stats.failed, 0);
    assert!(
        stats.commits * 4 <= stats.submissions,
        "submissions should share commits: {stats:?}"
    );

    // Changes of one id in one submission coalesce in order; a later put wins.
    writer
        .submit(vec![
            put("101;@same", "sip:first@192.0.2.1"),
            put("101;@same", "sip:second@192.0.2.1"),
            Write::Delete("101;@t0k0".into()),
        ])
        .await
        .expect("stored");
    // Storing exactly what is stored already is no error (an UPDATE that changes
    // nothing must not be taken for a missing row).
    writer
        .submit(vec![put("101;@same", "sip:second@192.0.2.1")])
        .await
        .expect("identical rewrite");
    drop(writer);
    drop(objects);

    let objects = open(dir).await;
    let all = objects.contact.get_all().await.expect("all");
    assert_eq!(all.len(), 512, "511 left of the 512, plus 101;@same");
    let same = objects
        .contact
        .get("101;@same")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(same.uri.as_str(), "sip:second@192.0.2.1");
    assert!(objects
        .contact
        .get("101;@t0k0")
        .await
        .expect("get")
        .is_none());
    let one = objects
        .contact
        .get("101;@t7k3")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(one.uri.as_str(), "sip:101@192.0.2.7:3");
    assert_eq!(one.expiration_time, 1_900_000_000);
}

/// With the table gone, a submission fails with an error (the registrar's 500); once
/// the table is back, the same writer stores the next ones.
async fn failure_and_recovery(dir: &Path, url: &str) {
    let objects = open(dir).await;
    let writer = ContactWriter::start(Arc::clone(&objects), WriterOptions::default());
    writer
        .submit(vec![put("101;@before", "sip:101@192.0.2.1")])
        .await
        .expect("stored");

    let db = sql::Database::connect(url).await.expect("connect");
    db.execute("DROP TABLE ps_contacts").await.expect("drop");
    let failed = writer
        .submit(vec![put("101;@during", "sip:101@192.0.2.2")])
        .await;
    match failed {
        Err(CommitError::Rejected(m)) => assert!(m.contains("ps_contacts"), "{m}"),
        other => panic!("expected a rejected submission, got {other:?}"),
    }
    assert_eq!(writer.stats().failed, 1);

    sql::migrate(url).await.expect("restore the table");
    writer
        .submit(vec![put("101;@after", "sip:101@192.0.2.3")])
        .await
        .expect("stored once the table is back");
    let back = objects.contact.get_all().await.expect("all");
    let ids: Vec<&str> = back.iter().map(|c| c.meta.id.as_str()).collect();
    assert_eq!(ids, ["101;@after"]);
    db.close().await;
}

async fn on_realtime(url: String, backend: Backend) {
    sql::migrate(&url).await.expect("migrate");
    let dir = config_dir(&format!("rt-{backend:?}"));
    realtime_config(&dir, &url);
    group_commit(&dir).await;
    // The contacts went to the realtime table, not to the local store.
    let db = sql::Database::connect(&url).await.expect("connect");
    let table = db.table("ps_contacts", "contact").await.expect("table");
    assert_eq!(table.fetch_all().await.expect("rows").len(), 512);
    db.close().await;
    failure_and_recovery(&dir, &url).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_on_the_local_store() {
    let dir = config_dir("local");
    group_commit(&dir).await;
    // The local store is in WAL mode (set by the store, kept in the file).
    assert_eq!(journal_mode(&local_url(&dir)).await, "wal");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn journal_mode(url: &str) -> String {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .expect("pragma");
    row.try_get::<String, _>(0).expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_and_recovery_on_the_local_store() {
    let dir = config_dir("local-fail");
    // The local store exists once opened.
    drop(open(&dir).await);
    failure_and_recovery(&dir, &local_url(&dir)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_on_realtime_sqlite() {
    if let Some(s) = Scratch::new(Backend::Sqlite, "contacts").await {
        s.run(on_realtime).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_on_realtime_postgresql() {
    if let Some(s) = Scratch::new(Backend::Postgres, "contacts").await {
        s.run(on_realtime).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_on_realtime_mariadb() {
    if let Some(s) = Scratch::new(Backend::MariaDb, "contacts").await {
        s.run(on_realtime).await;
    }
}

/// A change the database refuses fails its own submission only: the others committed
/// in the same round are stored and acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_submission_fails_alone() {
    let dir = config_dir("reject");
    let objects = open(&dir).await;
    let db = sql::Database::connect(&local_url(&dir))
        .await
        .expect("connect");
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON ps_contacts WHEN NEW.uri = 'sip:bad@192.0.2.9' \
         BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END",
    )
    .await
    .expect("trigger");
    let writer = ContactWriter::start(Arc::clone(&objects), WriterOptions::default());
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let uri = if i == 17 {
                    "sip:bad@192.0.2.9".to_owned()
                } else {
                    format!("sip:101@192.0.2.{i}")
                };
                (
                    i,
                    writer.submit(vec![put(&format!("101;@{i}"), &uri)]).await,
                )
            })
        })
        .collect();
    for t in tasks {
        let (i, result) = t.await.expect("submitter");
        if i == 17 {
            match result {
                Err(CommitError::Rejected(m)) => assert!(m.contains("refused by trigger"), "{m}"),
                other => panic!("expected the bad contact rejected, got {other:?}"),
            }
        } else {
            result.expect("the others are stored");
        }
    }
    assert_eq!(writer.stats().failed, 1);
    assert_eq!(objects.contact.get_all().await.expect("all").len(), 39);
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Expired contacts and this server's prune_on_boot contacts are removed at start;
/// the others come back with their absolute expiration time.
#[tokio::test]
async fn load_drops_expired_and_pruned_contacts() {
    let dir = config_dir("load");
    let objects = open(&dir).await;
    let t = now();
    let mut pruned = contact("101;@ws", "sip:101@192.0.2.5;transport=ws", t + 600);
    pruned.prune_on_boot = true;
    let mut other_node = contact("101;@other", "sip:101@192.0.2.6;transport=tcp", t + 600);
    other_node.prune_on_boot = true;
    other_node.reg_server = "node-b".into();
    let changes = vec![
        Write::Put(Arc::new(contact("101;@live", "sip:101@192.0.2.1", t + 300))),
        Write::Put(Arc::new(contact("101;@gone", "sip:101@192.0.2.2", t - 1))),
        Write::Put(Arc::new(contact("101;@now", "sip:101@192.0.2.3", t))),
        Write::Put(Arc::new(pruned)),
        Write::Put(Arc::new(other_node)),
    ];
    let writer = ContactWriter::start(Arc::clone(&objects), WriterOptions::default());
    writer.submit(changes).await.expect("stored");
    drop(writer);
    drop(objects);

    let objects = open(&dir).await;
    let loaded = load_contacts(&objects.contact, t, "node-a")
        .await
        .expect("load");
    let ids =
        |v: &[Arc<Contact>]| -> Vec<String> { v.iter().map(|c| c.meta.id.to_string()).collect() };
    assert_eq!(ids(&loaded.live), ["101;@live", "101;@other"]);
    assert_eq!(ids(&loaded.expired), ["101;@gone", "101;@now"]);
    assert_eq!(ids(&loaded.pruned), ["101;@ws"]);
    assert_eq!(loaded.delete_error, None);
    assert_eq!(loaded.live[0].expiration_time, t + 300, "lifetime kept");
    drop(objects);

    let objects = open(&dir).await;
    let left = objects.contact.get_all().await.expect("all");
    assert_eq!(
        ids(&left),
        ["101;@live", "101;@other"],
        "removed from the store"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const CHILD_ENV: &str = "SB_CONTACTS_KILL9_CHILD_DIR";

/// Not a test on its own: the child process of `acknowledged_contacts_survive_kill_9`
/// (does nothing unless the environment names its data directory). Submits contacts
/// from 32 tasks forever and prints `ACK <id>` on stdout once each is acknowledged.
#[test]
fn kill9_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let objects = open(Path::new(&dir)).await;
        let writer = ContactWriter::start(objects, WriterOptions::default());
        let tasks: Vec<_> = (0..32)
            .map(|t| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    for k in 0u64.. {
                        let id = format!("101;@c{t}-{k}");
                        if writer
                            .submit(vec![put(&id, &format!("sip:101@192.0.2.{t}:{k}"))])
                            .await
                            .is_ok()
                        {
                            // Straight to the file descriptor, one line per write, so
                            // the test harness's capture cannot hold it back.
                            let mut out = std::io::stdout().lock();
                            let _ = writeln!(out, "ACK {id}");
                            let _ = out.flush();
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    });
}

/// Starts a child that stores contacts as fast as it can, kills it with SIGKILL after
/// 2,000 acknowledgements, and checks that every contact it reported acknowledged is
/// in the store when it is reopened.
#[tokio::test]
async fn acknowledged_contacts_survive_kill_9() {
    let dir = config_dir("kill9");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args(["--exact", "kill9_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut acked: Vec<String> = Vec::new();
    while acked.len() < 2000 {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(id) = line.strip_prefix("ACK ") {
                    acked.push(id.to_owned());
                }
            }
            _ => break,
        }
    }
    // Child::kill is SIGKILL on Unix: no destructor, no flush, no clean shutdown.
    child.kill().expect("kill -9");
    // Acknowledgements already written before the kill count too.
    for line in lines.map_while(Result::ok) {
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.push(id.to_owned());
        }
    }
    let status = child.wait().expect("wait");
    eprintln!("kill -9 after {} acknowledgements", acked.len());
    assert!(!status.success(), "the child was killed");
    assert!(acked.len() >= 2000, "only {} acknowledgements", acked.len());

    let objects = open(&dir).await;
    let stored: std::collections::HashSet<String> = objects
        .contact
        .get_all()
        .await
        .expect("all")
        .iter()
        .map(|c| c.meta.id.to_string())
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged contacts lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A contact table that stands for a database: each batch takes 5 ms (an fsync), and
/// it can be made unreachable.
#[derive(Default)]
struct FakeTable {
    batches: std::sync::atomic::AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

struct FakeOpener(Arc<FakeTable>);

struct FakeHandle(Arc<FakeTable>);

impl sorcery::store::TableBackend for FakeHandle {
    fn fetch(
        &self,
        _: &str,
    ) -> sorcery::store::BoxFuture<'_, Result<Option<sorcery::raw::RawObject>, String>> {
        Box::pin(async { Ok(None) })
    }
    fn fetch_all(
        &self,
    ) -> sorcery::store::BoxFuture<'_, Result<Vec<sorcery::raw::RawObject>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn fetch_where<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> sorcery::store::BoxFuture<'a, Result<Vec<sorcery::raw::RawObject>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn upsert<'a>(
        &'a self,
        _: &'a str,
        _: &'a [(&'static str, String)],
    ) -> sorcery::store::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Ok(true) })
    }
    fn delete<'a>(&'a self, _: &'a str) -> sorcery::store::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Ok(false) })
    }
    fn write_batch<'a>(
        &'a self,
        writes: &'a [sorcery::store::TableWrite<'a>],
    ) -> sorcery::store::BoxFuture<'a, Result<Vec<bool>, sorcery::store::BatchError>> {
        Box::pin(async move {
            use std::sync::atomic::Ordering;
            self.0.batches.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            if self.0.down.load(Ordering::Relaxed) {
                return Err(sorcery::store::BatchError::Unavailable(
                    "connection refused".into(),
                ));
            }
            Ok(vec![false; writes.len()])
        })
    }
}

impl sorcery::objects::TableOpener for FakeOpener {
    fn open<'a>(
        &'a self,
        _: &'a sorcery::Connection,
        _: &'static str,
    ) -> sorcery::store::BoxFuture<'a, Result<Box<dyn sorcery::store::TableBackend>, String>> {
        let table = Arc::clone(&self.0);
        Box::pin(
            async move { Ok(Box::new(FakeHandle(table)) as Box<dyn sorcery::store::TableBackend>) },
        )
    }
}

async fn open_fake(dir: &Path, table: &Arc<FakeTable>) -> Arc<Objects> {
    let opener = FakeOpener(Arc::clone(table));
    let (objects, report) = Objects::open(OpenOptions {
        source: Arc::new(FsSource::new(dir)),
        local_store_url: Some("sqlite:///nowhere.db".into()),
        tables: Some(&opener),
    })
    .await
    .expect("mapping");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    Arc::new(objects)
}

/// An unreachable database fails every submission of a round at once, without
/// retrying them one by one; the writer goes on once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_fails_the_round_without_retries() {
    use std::sync::atomic::Ordering;
    let dir = config_dir("down");
    let table = Arc::new(FakeTable::default());
    table.down.store(true, Ordering::Relaxed);
    let objects = open_fake(&dir, &table).await;
    let writer = ContactWriter::start(objects, WriterOptions::default());
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .submit(vec![put(&format!("101;@{i}"), "sip:101@192.0.2.1")])
                    .await
            })
        })
        .collect();
    for t in tasks {
        match t.await.expect("submitter") {
            Err(CommitError::Unavailable(m)) => assert!(m.contains("connection refused"), "{m}"),
            other => panic!("expected unavailable, got {other:?}"),
        }
    }
    let stats = writer.stats();
    assert_eq!(stats.failed, 100);
    let batches = table.batches.load(Ordering::Relaxed);
    assert!(
        batches < 50,
        "{batches} batches for 100 submissions: retried one by one?"
    );

    table.down.store(false, Ordering::Relaxed);
    writer
        .submit(vec![put("101;@back", "sip:101@192.0.2.1")])
        .await
        .expect("stored once the database is back");
    let _ = std::fs::remove_dir_all(&dir);
}

/// With a queue of one submission, 200 submitters wait for room (backpressure) rather
/// than fail, and all are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_makes_submitters_wait() {
    let dir = config_dir("queue");
    let table = Arc::new(FakeTable::default());
    let objects = open_fake(&dir, &table).await;
    let writer = ContactWriter::start(
        objects,
        WriterOptions {
            queue: 1,
            max_batch: 16,
        },
    );
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .submit(vec![put(&format!("101;@{i}"), "sip:101@192.0.2.1")])
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("submitter").expect("stored");
    }
    let stats = writer.stats();
    assert_eq!(stats.failed, 0);
    assert_eq!(stats.changes, 200);
    let _ = std::fs::remove_dir_all(&dir);
}
