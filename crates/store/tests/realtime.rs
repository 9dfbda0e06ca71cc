//! The Asterisk realtime tutorial through the whole store: sorcery.conf sends endpoint,
//! auth, aor, domain_alias, contact and identify to `ps_*` tables (extconfig.conf →
//! switchboard.conf `[databases]`), the schema comes from `migrate`, the rows from the
//! tutorial's INSERTs, and the store returns exactly those objects — on SQLite,
//! PostgreSQL and MariaDB.

use std::sync::Arc;

use asterisk_conf::FsSource;
use sorcery::objects::{Objects, OpenOptions};
use sorcery::sql;
use sorcery::tables::SqlOpener;
use sorcery::types::Contact;

#[path = "support/scratch.rs"]
mod scratch;
use scratch::*;

const SORCERY: &str = "\
[res_pjsip]
endpoint=realtime,ps_endpoints
auth=realtime,ps_auths
aor=realtime,ps_aors
domain_alias=realtime,ps_domain_aliases
contact=realtime,ps_contacts

[res_pjsip_endpoint_identifier_ip]
identify=realtime,ps_endpoint_id_ips
";

const EXTCONFIG: &str = "\
[settings]
ps_endpoints => odbc,asterisk
ps_auths => odbc,asterisk
ps_aors => odbc,asterisk
ps_domain_aliases => odbc,asterisk
ps_contacts => odbc,asterisk
ps_endpoint_id_ips => odbc,asterisk
";

const TUTORIAL: &[&str] = &[
    "INSERT INTO ps_aors (id, max_contacts) VALUES ('101', 1)",
    "INSERT INTO ps_aors (id, max_contacts) VALUES ('102', 1)",
    "INSERT INTO ps_auths (id, auth_type, password, username) VALUES ('101', 'userpass', '101', '101')",
    "INSERT INTO ps_auths (id, auth_type, password, username) VALUES ('102', 'userpass', '102', '102')",
    "INSERT INTO ps_endpoints (id, transport, aors, auth, context, disallow, allow, direct_media) \
     VALUES ('101', 'transport-udp', '101', '101', 'testing', 'all', 'g722', 'no')",
    "INSERT INTO ps_endpoints (id, transport, aors, auth, context, disallow, allow, direct_media) \
     VALUES ('102', 'transport-udp', '102', '102', 'testing', 'all', 'g722', 'no')",
    "INSERT INTO ps_endpoint_id_ips (id, endpoint, \"match\") VALUES ('trunk', '102', '192.0.2.0/24;198.51.100.7')",
];

async fn tutorial(url: String, backend: Backend) {
    let dir = std::env::temp_dir().join(format!("sb-realtime-{backend:?}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("sorcery.conf"), SORCERY).expect("write");
    std::fs::write(dir.join("extconfig.conf"), EXTCONFIG).expect("write");
    std::fs::write(
        dir.join("switchboard.conf"),
        format!("[databases]\nasterisk = {url}\n"),
    )
    .expect("write");
    std::fs::write(
        dir.join("pjsip.conf"),
        "[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0\n",
    )
    .expect("write");

    let report = sql::migrate(&url).await.expect("migrate");
    assert!(
        report.created_tables.iter().any(|t| t == "ps_endpoints"),
        "{report}"
    );
    let db = sql::Database::connect(&url).await.expect("connect");
    for statement in TUTORIAL {
        let statement = if backend == Backend::MariaDb {
            statement.replace("\"match\"", "`match`")
        } else {
            statement.to_string()
        };
        db.execute(&statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    let opener = SqlOpener::new(None);
    let (objects, load) = Objects::open(OpenOptions {
        source: Arc::new(FsSource::new(&dir)),
        local_store_url: None,
        tables: Some(&opener),
    })
    .await
    .expect("mapping");
    assert!(load.errors.is_empty(), "{:?}", load.errors);

    let endpoints = objects.endpoint.get_all().await.expect("endpoints");
    let ids: Vec<&str> = endpoints.iter().map(|e| &*e.meta.id).collect();
    assert_eq!(ids, ["101", "102"]);
    for e in &endpoints {
        let id = &*e.meta.id;
        assert_eq!(&*e.transport, "transport-udp");
        assert_eq!(&*e.context, "testing");
        assert_eq!(&*e.aors, &[sorcery::value::Text::from(id)]);
        assert_eq!(&*e.auth, &[sorcery::value::Text::from(id)]);
        assert_eq!(e.settings.codecs.0, vec!["g722"]);
        assert!(!e.settings.direct_media);
        assert!(
            e.settings.force_rport,
            "unset columns take the option defaults"
        );
        let aor = objects.aor.get(id).await.expect("aor").expect("exists");
        assert_eq!(aor.max_contacts, 1);
        assert_eq!(aor.default_expiration, 3600);
        let auth = objects.auth.get(id).await.expect("auth").expect("exists");
        assert_eq!((&*auth.username, &*auth.password), (id, id));
    }
    let identify = objects
        .identify
        .get("trunk")
        .await
        .expect("identify")
        .expect("exists");
    assert_eq!(
        identify.r#match.len(),
        2,
        "a ;-list column is several match lines"
    );
    // The file layer still serves the types sorcery.conf did not map.
    assert!(objects
        .transport
        .get("transport-udp")
        .await
        .expect("t")
        .is_some());

    // A registrar-style write goes to ps_contacts and comes back by field.
    let mut c: Contact = sorcery::object::defaults();
    c.meta.id = "101;@4f0a9c".into();
    c.uri = "sip:101@192.0.2.10:5060;transport=udp".into();
    c.endpoint = "101".into();
    c.expiration_time = 1_900_000_000;
    c.user_agent = "Phone; v1.0".into();
    objects.contact.put(c).await.expect("put contact");
    let found = objects.contact.find("endpoint", "101").await.expect("find");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].aor(), "101");
    assert_eq!(&*found[0].user_agent, "Phone; v1.0", "';' survives as ^3B");
    assert_eq!(found[0].expiration_time, 1_900_000_000);
    objects.contact.delete("101;@4f0a9c").await.expect("delete");
    assert!(objects
        .contact
        .get("101;@4f0a9c")
        .await
        .expect("get")
        .is_none());

    // A put writes every field, so one cleared since the last write is cleared.
    let mut c: Contact = sorcery::object::defaults();
    c.meta.id = "102;@1".into();
    c.uri = "sip:102@192.0.2.11".into();
    c.path = "<sip:edge.example.com;lr>".into();
    objects.contact.put(c.clone()).await.expect("put");
    c.path = "".into();
    objects.contact.put(c).await.expect("put again");
    let back = objects
        .contact
        .get("102;@1")
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(&*back.path, "", "path cleared in the row");
    objects.contact.delete("102;@1").await.expect("delete");

    // Line-valued options survive a row: set_var lines, digests per algorithm, codecs.
    let mut e: sorcery::types::Endpoint = sorcery::object::defaults();
    e.meta.id = "103".into();
    e.set_var = sorcery::value::Lines(vec!["A=1".into(), "B=x;y".into()].into_boxed_slice());
    e.settings.codecs.0 = vec!["alaw", "g722"];
    objects.endpoint.put(e).await.expect("put endpoint");
    let back = objects
        .endpoint
        .get("103")
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(back.set_var.len(), 2);
    assert_eq!(&*back.set_var[1], "B=x;y");
    assert_eq!(back.settings.codecs.0, vec!["alaw", "g722"]);

    // A bad row is a miss for its layer (logged with its table); the rest still read.
    db.execute("INSERT INTO ps_aors (id, max_contacts) VALUES ('bad', 'many')")
        .await
        .ok();
    db.execute("UPDATE ps_aors SET qualify_frequency = 100000 WHERE id = '102'")
        .await
        .expect("update");
    assert!(objects.aor.get("102").await.expect("get").is_none());
    let aors = objects
        .aor
        .get_all()
        .await
        .expect("listing survives a bad row");
    assert!(aors.iter().any(|a| &*a.meta.id == "101"));
    assert!(!aors.iter().any(|a| &*a.meta.id == "102"));
    // A column that is no option (an administrator's own) is ignored, as in Asterisk.
    let alter = if backend == Backend::Postgres {
        "ALTER TABLE ps_aors ADD COLUMN notes VARCHAR(40)"
    } else {
        "ALTER TABLE ps_aors ADD notes VARCHAR(40)"
    };
    db.execute(alter).await.expect("alter");
    db.execute("UPDATE ps_aors SET notes = 'front desk' WHERE id = '101'")
        .await
        .expect("update");
    let a = objects
        .aor
        .get("101")
        .await
        .expect("get")
        .expect("still read");
    assert_eq!(a.max_contacts, 1);
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn realtime_tutorial_on_sqlite() {
    if let Some(s) = Scratch::new(Backend::Sqlite, "rt").await {
        s.run(tutorial).await;
    }
}

#[tokio::test]
async fn realtime_tutorial_on_postgresql() {
    if let Some(s) = Scratch::new(Backend::Postgres, "rt").await {
        s.run(tutorial).await;
    }
}

#[tokio::test]
async fn realtime_tutorial_on_mariadb() {
    if let Some(s) = Scratch::new(Backend::MariaDb, "rt").await {
        s.run(tutorial).await;
    }
}

/// Without sorcery.conf, contacts go to the local store: a SQLite file created (with
/// the ps_contacts schema) on first use, which keeps them across a restart.
#[tokio::test]
async fn contacts_persist_in_the_local_store_without_sorcery_conf() {
    let dir = std::env::temp_dir().join(format!("sb-local-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("pjsip.conf"), "[101]\ntype=aor\nmax_contacts=2\n").expect("write");
    let url = format!("sqlite://{}/switchboard.db", dir.display());

    let open = || async {
        let opener = SqlOpener::new(Some(url.clone()));
        let (objects, report) = Objects::open(OpenOptions {
            source: Arc::new(FsSource::new(&dir)),
            local_store_url: Some(url.clone()),
            tables: Some(&opener),
        })
        .await
        .expect("mapping");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        objects
    };

    let objects = open().await;
    let mut c: Contact = sorcery::object::defaults();
    c.meta.id = "101;@abc".into();
    c.uri = "sip:101@192.0.2.10".into();
    c.expiration_time = 1_900_000_000;
    objects.contact.put(c).await.expect("put");
    drop(objects);

    let objects = open().await;
    let back = objects
        .contact
        .get("101;@abc")
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(&*back.uri, "sip:101@192.0.2.10");
    assert_eq!(back.aor(), "101");
    assert_eq!(
        objects.contact.get_all().await.expect("all").len(),
        1,
        "one contact, from the local store"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `allow_unqualified_fetch=no` keeps listing from reading the whole table (lookups by
/// id still work); the default (yes) lists every row.
#[tokio::test]
async fn allow_unqualified_fetch_no_stops_listing_but_not_lookups() {
    let dir = std::env::temp_dir().join(format!("sb-unqualified-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let url = format!("sqlite://{}/rt.db", dir.display());
    sql::migrate(&url).await.expect("migrate");
    let db = sql::Database::connect(&url).await.expect("connect");
    db.execute("INSERT INTO ps_endpoints (id, context) VALUES ('101', 'a')")
        .await
        .expect("insert");
    db.execute("INSERT INTO ps_aors (id, max_contacts) VALUES ('101', 1)")
        .await
        .expect("insert");
    db.close().await;
    std::fs::write(
        dir.join("sorcery.conf"),
        "[res_pjsip]\nendpoint=realtime,ps_endpoints,allow_unqualified_fetch=no\naor=realtime,ps_aors\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("extconfig.conf"),
        "[settings]\nps_endpoints => sqlite3,rt\nps_aors => sqlite3,rt\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("switchboard.conf"),
        format!("[databases]\nrt = {url}\n"),
    )
    .expect("write");
    let opener = SqlOpener::new(None);
    let (objects, report) = Objects::open(OpenOptions {
        source: Arc::new(FsSource::new(&dir)),
        local_store_url: None,
        tables: Some(&opener),
    })
    .await
    .expect("mapping");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(objects.endpoint.get_all().await.expect("list").is_empty());
    assert!(objects.endpoint.get("101").await.expect("get").is_some());
    assert_eq!(objects.aor.get_all().await.expect("list").len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
