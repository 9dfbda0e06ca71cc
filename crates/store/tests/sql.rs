//! The realtime SQL tables and `db migrate` against real databases: SQLite (a temporary
//! file), PostgreSQL and MariaDB on the loopback. Each test works in its own scratch schema
//! or database, so the tests run in parallel without seeing each other's tables.
//!
//! PostgreSQL and MariaDB are found at `postgres://postgres@127.0.0.1:5432/test` and
//! `mysql://root@127.0.0.1:3306/test` (override with `SWITCHBOARD_TEST_POSTGRES` and
//! `SWITCHBOARD_TEST_MYSQL`). When one is not reachable its tests fail if `CI` is set and
//! are skipped, loudly, otherwise.

use std::future::Future;

use sorcery::raw::RawObject;
use sorcery::sql::{self, Database, SqlErrorKind, SqlTable};
use sqlx::Row;

#[path = "support/scratch.rs"]
mod scratch;
use scratch::*;

/// The value of one column of one row, as text, straight from the database.
async fn stored(url: &str, backend: Backend, sql_text: &str) -> Option<String> {
    let pool = match admin_pool(url).await {
        Ok(p) => p,
        Err(e) => panic!("connecting to {}: {e}", sql::mask_url(url)),
    };
    let _ = backend;
    let row = match sqlx::query(sql_text).fetch_optional(&pool).await {
        Ok(r) => r,
        Err(e) => panic!("{sql_text}: {e}"),
    };
    pool.close().await;
    row.and_then(|r| r.try_get::<Option<String>, _>(0).ok().flatten())
}

fn fields(o: &RawObject) -> Vec<(&str, &str)> {
    o.fields
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect()
}

fn ok<T>(what: &str, r: Result<T, sql::SqlError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

async fn table(db: &Database, name: &str, object_type: &str) -> SqlTable {
    ok(name, db.table(name, object_type).await)
}

/// migrate twice, the Asterisk realtime tutorial's rows, and every read and write.
async fn realtime(url: String, backend: Backend) {
    let first = ok("first migrate", sql::migrate(&url).await);
    for t in [
        "ps_aors",
        "ps_auths",
        "ps_contacts",
        "ps_endpoints",
        "ps_endpoint_id_ips",
    ] {
        assert!(
            first.created_tables.iter().any(|c| c == t),
            "{t} not created: {first}"
        );
    }
    assert!(first.added_columns.is_empty(), "{first}");
    assert!(!first.asterisk_database, "{first}");
    let second = ok("second migrate", sql::migrate(&url).await);
    assert!(second.is_empty(), "second migrate did something: {second}");
    assert!(!second.asterisk_database, "{second}");
    assert!(second.to_string().contains("nothing to do"), "{second}");

    // The tutorial's inserts, as plain SQL.
    let pool = match admin_pool(&url).await {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    exec(
        &pool,
        "INSERT INTO ps_aors (id, max_contacts) VALUES ('101', 1), ('102', 1)",
    )
    .await;
    exec(
        &pool,
        "INSERT INTO ps_auths (id, auth_type, password, username) VALUES \
         ('101', 'userpass', '101', '101'), ('102', 'userpass', '102', '102')",
    )
    .await;
    exec(
        &pool,
        "INSERT INTO ps_endpoints (id, transport, aors, auth, context, disallow, allow, \
         direct_media) VALUES \
         ('101', 'transport-udp', '101', '101', 'testing', 'all', 'g722', 'no'), \
         ('102', 'transport-udp', '102', '102', 'testing', 'all', 'g722', 'no')",
    )
    .await;

    let db = ok("connect", Database::connect(&url).await);
    let aors = table(&db, "ps_aors", "aor").await;
    let auths = table(&db, "ps_auths", "auth").await;
    let endpoints = table(&db, "ps_endpoints", "endpoint").await;
    let contacts = table(&db, "ps_contacts", "contact").await;

    let all = ok("aors", aors.fetch_all().await);
    assert_eq!(
        all.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["101", "102"]
    );
    for o in &all {
        assert_eq!(o.object_type, "aor");
        assert_eq!(fields(o), [("max_contacts", "1")]);
    }

    let auth = ok("auth", auths.fetch("101").await);
    let auth = auth.unwrap_or_else(|| panic!("auth 101 missing"));
    assert_eq!(
        fields(&auth),
        [
            ("auth_type", "userpass"),
            ("password", "101"),
            ("username", "101")
        ]
    );

    let ep = ok("endpoint", endpoints.fetch("102").await);
    let ep = ep.unwrap_or_else(|| panic!("endpoint 102 missing"));
    assert_eq!(ep.object_type, "endpoint");
    assert_eq!(ep.id, "102");
    assert_eq!(&*ep.origin.file, "ps_endpoints (realtime)");
    assert_eq!(ep.origin.line, 0);
    assert_eq!(
        fields(&ep),
        [
            ("transport", "transport-udp"),
            ("aors", "102"),
            ("auth", "102"),
            ("context", "testing"),
            ("disallow", "all"),
            ("allow", "g722"),
            ("direct_media", "no"),
        ]
    );
    assert!(ep.fields.iter().all(|v| v.origin == ep.origin));
    assert_eq!(ok("missing", endpoints.fetch("103").await), None);
    // Exact ids on every database (MySQL's collation would match these).
    assert_eq!(ok("padded", endpoints.fetch("101 ").await), None);

    // A `;` list in a column is several fields of the same name.
    exec(
        &pool,
        "UPDATE ps_endpoints SET allow = 'ulaw;alaw' WHERE id = '101'",
    )
    .await;
    let ep = ok("endpoint", endpoints.fetch("101").await);
    let ep = ep.unwrap_or_else(|| panic!("endpoint 101 missing"));
    let allow: Vec<_> = fields(&ep)
        .into_iter()
        .filter(|(n, _)| *n == "allow")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(allow, ["ulaw", "alaw"]);
    // …and several fields of one name are written as one `;` list.
    let created = ok(
        "upsert endpoint",
        endpoints
            .upsert(
                "101",
                &[("allow", "g722".to_owned()), ("allow", "opus".to_owned())],
            )
            .await,
    );
    assert!(!created);
    assert_eq!(
        stored(
            &url,
            backend,
            "SELECT allow FROM ps_endpoints WHERE id = '101'"
        )
        .await,
        Some("g722;opus".to_owned())
    );

    // A contact id with `;` is stored escaped and comes back as it was.
    let id = "alice;@abc";
    let created = ok(
        "upsert contact",
        contacts
            .upsert(
                id,
                &[
                    ("uri", "sip:alice@192.0.2.1:5060;transport=udp".to_owned()),
                    ("expiration_time", "1700000000".to_owned()),
                    ("qualify_timeout", "2.5".to_owned()),
                    ("prune_on_boot", "yes".to_owned()),
                    ("endpoint", "101".to_owned()),
                    ("user_agent", String::new()),
                ],
            )
            .await,
    );
    assert!(created);
    assert_eq!(
        stored(
            &url,
            backend,
            "SELECT uri FROM ps_contacts WHERE id = 'alice^3B@abc'"
        )
        .await,
        Some("sip:alice@192.0.2.1:5060^3Btransport=udp".to_owned())
    );
    let contact = ok("contact", contacts.fetch(id).await);
    let contact = contact.unwrap_or_else(|| panic!("contact missing"));
    assert_eq!(contact.id, id);
    assert_eq!(contact.object_type, "contact");
    assert_eq!(
        fields(&contact),
        [
            ("uri", "sip:alice@192.0.2.1:5060;transport=udp"),
            ("expiration_time", "1700000000"),
            ("qualify_timeout", "2.5"),
            ("endpoint", "101"),
            ("prune_on_boot", "yes"),
        ]
    );
    // Updating an existing row, with the same values (MySQL counts it as unchanged).
    let created = ok(
        "upsert contact again",
        contacts.upsert(id, &[("endpoint", "101".to_owned())]).await,
    );
    assert!(!created);
    let created = ok("upsert contact, no fields", contacts.upsert(id, &[]).await);
    assert!(!created);

    // Prefix reads: escaped `;`, LIKE characters taken literally, case exact.
    let hits = ok("prefix", contacts.fetch_prefix("alice;").await);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, id);
    assert!(ok("prefix %", contacts.fetch_prefix("alice%").await).is_empty());
    assert!(ok("prefix _", contacts.fetch_prefix("alic_").await).is_empty());
    assert!(ok("prefix case", contacts.fetch_prefix("ALICE").await).is_empty());

    // Field reads: the registrar's contacts of one endpoint.
    for (cid, endpoint) in [("bob;@1", "102"), ("carol;@2", "101")] {
        ok(
            "upsert contact",
            contacts
                .upsert(
                    cid,
                    &[
                        ("uri", format!("sip:{cid}")),
                        ("endpoint", endpoint.to_owned()),
                    ],
                )
                .await,
        );
    }
    let of_101 = ok("fetch_where", contacts.fetch_where("endpoint", "101").await);
    assert_eq!(
        of_101.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["alice;@abc", "carol;@2"]
    );
    let by_context = ok(
        "fetch_where",
        endpoints.fetch_where("context", "testing").await,
    );
    assert_eq!(by_context.len(), 2);
    match endpoints.fetch_where("no_such_column", "x").await {
        Err(e) => {
            assert_eq!(
                e.kind(),
                &SqlErrorKind::UnknownColumns(vec!["no_such_column".to_owned()])
            );
            assert!(e.to_string().contains("ps_endpoints"), "{e}");
        }
        Ok(v) => panic!("fetch_where on a missing column gave {v:?}"),
    }
    match contacts
        .upsert(
            "x",
            &[("nope", "1".to_owned()), ("uri", "sip:x".to_owned())],
        )
        .await
    {
        Err(e) => assert_eq!(
            e.kind(),
            &SqlErrorKind::UnknownColumns(vec!["nope".to_owned()])
        ),
        Ok(_) => panic!("upsert with an unknown column succeeded"),
    }

    // Deletes.
    assert!(ok("delete", contacts.delete(id).await));
    assert!(!ok("delete again", contacts.delete(id).await));
    assert_eq!(ok("fetch deleted", contacts.fetch(id).await), None);
    assert_eq!(
        ok(
            "delete_where",
            contacts.delete_where("endpoint", "102").await
        ),
        1
    );
    assert_eq!(
        ok("remaining", contacts.fetch_all().await)
            .iter()
            .map(|o| o.id.as_str())
            .collect::<Vec<_>>(),
        ["carol;@2"]
    );

    // A missing table names the table and the URL.
    match db.table("ps_no_such_table", "endpoint").await {
        Err(e) => {
            assert_eq!(e.kind(), &SqlErrorKind::NoSuchTable);
            let m = e.to_string();
            assert!(m.contains("ps_no_such_table"), "{m}");
            assert!(m.contains(&sql::mask_url(&url)), "{m}");
        }
        Ok(_) => panic!("opened a missing table"),
    }
    // A table opened on its own connects by itself.
    let single = ok("open", SqlTable::open(&url, "ps_aors", "aor").await);
    assert_eq!(ok("fetch", single.fetch_all().await).len(), 2);
    single.database().close().await;

    db.close().await;
    pool.close().await;
}

/// An old Asterisk database: `alembic_version` and a `ps_aors` with only a few columns.
async fn old_asterisk(url: String, backend: Backend) {
    // SQLite's file does not exist yet; connecting creates it.
    let db = ok("connect", Database::connect(&url).await);
    db.close().await;
    let pool = match admin_pool(&url).await {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    exec(
        &pool,
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
    )
    .await;
    exec(&pool, "INSERT INTO alembic_version VALUES ('43956d550a44')").await;
    exec(
        &pool,
        "CREATE TABLE ps_aors (id VARCHAR(40) NOT NULL, contact VARCHAR(255), \
         max_contacts INTEGER)",
    )
    .await;
    exec(
        &pool,
        "INSERT INTO ps_aors (id, contact, max_contacts) VALUES ('200', 'sip:200@192.0.2.9', 2)",
    )
    .await;
    pool.close().await;

    // By default an Alembic-managed database is only inspected: Asterisk's own
    // migrations own its schema.
    let refused = ok("migrate", sql::migrate(&url).await);
    assert!(!refused.applied, "{refused}");
    assert!(
        refused.to_string().contains("nothing was changed"),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("ps_aors.qualify_frequency"),
        "{refused}"
    );
    let still = ok("migrate", sql::migrate(&url).await);
    assert_eq!(
        still.created_tables, refused.created_tables,
        "nothing was created"
    );

    let report = ok(
        "migrate",
        sql::migrate_with(
            &url,
            sql::MigrateOptions {
                alter_alembic_schema: true,
            },
        )
        .await,
    );
    assert!(report.applied, "{report}");
    assert!(report.asterisk_database, "{report}");
    assert!(
        !report.created_tables.iter().any(|t| t == "ps_aors"),
        "{report}"
    );
    assert!(
        report.created_tables.iter().any(|t| t == "ps_endpoints"),
        "{report}"
    );
    let added: Vec<&str> = report
        .added_columns
        .iter()
        .map(|(t, c)| {
            assert_eq!(t, "ps_aors");
            c.as_str()
        })
        .collect();
    for c in [
        "qualify_frequency",
        "remove_existing",
        "qualify_timeout",
        "support_path",
    ] {
        assert!(added.contains(&c), "{c} not added: {report}");
    }
    for c in ["id", "contact", "max_contacts"] {
        assert!(!added.contains(&c), "{c} added again: {report}");
    }
    assert_eq!(added.len(), 13, "{report}");
    assert!(report.to_string().contains("Asterisk"), "{report}");

    let again = ok("migrate again", sql::migrate(&url).await);
    assert!(again.is_empty(), "{again}");
    assert!(again.asterisk_database, "{again}");

    // The hand-inserted row survived, and the new columns are usable.
    let db = ok("connect", Database::connect(&url).await);
    let aors = table(&db, "ps_aors", "aor").await;
    let row = ok("fetch", aors.fetch("200").await);
    let row = row.unwrap_or_else(|| panic!("row 200 lost"));
    assert_eq!(
        fields(&row),
        [("contact", "sip:200@192.0.2.9"), ("max_contacts", "2")]
    );
    ok(
        "upsert",
        aors.upsert("200", &[("remove_existing", "yes".to_owned())])
            .await,
    );
    let row = ok("fetch", aors.fetch("200").await);
    assert_eq!(
        row.as_ref().and_then(|r| r.last("remove_existing")),
        Some("yes")
    );
    db.close().await;
    let _ = backend;
}

async fn run<F, Fut>(backend: Backend, tag: &str, test: F)
where
    F: FnOnce(String, Backend) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Some(scratch) = Scratch::new(backend, tag).await {
        scratch.run(test).await;
    }
}

#[tokio::test]
async fn sqlite_realtime() {
    run(Backend::Sqlite, "rt", realtime).await;
}

#[tokio::test]
async fn sqlite_old_asterisk_database() {
    run(Backend::Sqlite, "old", old_asterisk).await;
}

#[tokio::test]
async fn postgres_realtime() {
    run(Backend::Postgres, "rt", realtime).await;
}

#[tokio::test]
async fn postgres_old_asterisk_database() {
    run(Backend::Postgres, "old", old_asterisk).await;
}

#[tokio::test]
async fn mariadb_realtime() {
    run(Backend::MariaDb, "rt", realtime).await;
}

#[tokio::test]
async fn mariadb_old_asterisk_database() {
    run(Backend::MariaDb, "old", old_asterisk).await;
}

#[test]
fn passwords_are_masked() {
    assert_eq!(
        sql::mask_url("postgres://asterisk:s3cret@db.example:5432/asterisk"),
        "postgres://asterisk:***@db.example:5432/asterisk"
    );
    assert_eq!(
        sql::mask_url("mysql://root@127.0.0.1/test?password=s3cret&ssl-mode=disabled"),
        "mysql://root@127.0.0.1/test?password=***&ssl-mode=disabled"
    );
    assert_eq!(
        sql::mask_url("sqlite:///var/lib/switchboard/realtime.db"),
        "sqlite:///var/lib/switchboard/realtime.db"
    );
}

#[test]
fn realtime_escapes() {
    assert_eq!(sql::encode("a;b^c"), "a^3Bb^5Ec");
    assert_eq!(sql::decode("a^3Bb^5Ec"), "a;b^c");
    // Asterisk decodes any `^` and two upper-case hex digits; anything else stays.
    assert_eq!(sql::decode("^41^3b^"), "A^3b^");
}

#[tokio::test]
async fn unusable_urls_are_clear_errors() {
    match Database::connect("oracle://scott:tiger@db/orcl").await {
        Err(e) => {
            assert!(matches!(e.kind(), SqlErrorKind::BadUrl(_)));
            assert!(!e.to_string().contains("tiger"), "{e}");
        }
        Ok(_) => panic!("connected to oracle"),
    }
}

/// The server runs lookups on tokio's multi-threaded runtime, so every future must be
/// `Send` (a compile-time check: this never runs).
#[allow(dead_code)]
fn futures_are_send(db: &Database, t: &SqlTable, fields: &[(&str, String)]) {
    fn send<T: Send>(_: T) {}
    send(Database::connect("sqlite::memory:"));
    send(sql::migrate("sqlite::memory:"));
    send(db.table("ps_aors", "aor"));
    send(db.migrate());
    send(t.fetch("id"));
    send(t.fetch_all());
    send(t.fetch_where("endpoint", "101"));
    send(t.fetch_prefix("a"));
    send(t.upsert("id", fields));
    send(t.delete("id"));
    send(t.delete_where("endpoint", "101"));
}
