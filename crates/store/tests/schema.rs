//! The realtime schema: column counts against spec §5, the enum lists, and the generated
//! DDL — checked as text, then run for real (twice, to prove it idempotent) against the
//! local PostgreSQL, MariaDB and SQLite when their command-line clients are installed.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use sorcery::schema::{
    self, add_column_statement, create_statements, enum_statements, index_statements,
    record_version_statement, table, table_statements, version_table_statement, ColumnType,
    Dialect, ENUMS, INDEXES, SCHEMA_VERSION, TABLES,
};

const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

/// Columns per table: spec §5 for the first ten, the Alembic files for the last five (the
/// spec gives no count for them).
const COUNTS: &[(&str, usize)] = &[
    ("ps_endpoints", 147),
    ("ps_aors", 16),
    ("ps_contacts", 16),
    ("ps_auths", 13),
    ("ps_registrations", 22),
    ("ps_transports", 28),
    ("ps_globals", 29),
    ("ps_systems", 17),
    ("ps_domain_aliases", 2),
    ("ps_endpoint_id_ips", 6),
    ("ps_resource_list", 6),
    ("ps_subscription_persistence", 14),
    ("ps_outbound_publishes", 14),
    ("ps_inbound_publications", 4),
    ("ps_asterisk_publications", 7),
];

#[test]
fn column_counts_match_the_newest_alembic_revision() {
    assert_eq!(TABLES.len(), COUNTS.len());
    for (name, count) in COUNTS {
        let t = table(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(t.columns.len(), *count, "{name}");
    }
}

#[test]
fn every_table_is_keyed_by_id_with_the_spec_length_and_has_unique_column_names() {
    for t in TABLES {
        assert_eq!(t.columns[0].name, "id", "{}", t.name);
        assert!(t.columns[0].is_primary_key());
        assert_eq!(t.columns.iter().filter(|c| c.is_primary_key()).count(), 1);
        let short = [
            "ps_globals",
            "ps_systems",
            "ps_transports",
            "ps_resource_list",
            "ps_subscription_persistence",
            "ps_asterisk_publications",
        ];
        let want = if short.contains(&t.name) { 40 } else { 255 };
        assert_eq!(t.columns[0].ty, ColumnType::Varchar(want), "{}", t.name);
        let mut seen = HashSet::new();
        for c in t.columns {
            assert!(seen.insert(c.name), "{}.{} twice", t.name, c.name);
        }
    }
}

#[test]
fn spot_checks_from_spec_section_5() {
    let col = |t: &str, c: &str| table(t).unwrap().column(c).unwrap().ty;
    assert_eq!(col("ps_contacts", "uri"), ColumnType::Varchar(511));
    assert_eq!(col("ps_contacts", "expiration_time"), ColumnType::BigInt);
    assert_eq!(col("ps_contacts", "path"), ColumnType::Text);
    assert_eq!(col("ps_aors", "qualify_timeout"), ColumnType::Float);
    assert_eq!(col("ps_endpoints", "aors"), ColumnType::Varchar(2048));
    assert_eq!(col("ps_endpoints", "set_var"), ColumnType::Text);
    assert_eq!(col("ps_endpoints", "deny"), ColumnType::Varchar(95));
    assert_eq!(
        col("ps_auths", "supported_algorithms_uac"),
        ColumnType::Varchar(1024)
    );
    let ColumnType::Enum(auth_type) = col("ps_auths", "auth_type") else {
        panic!("auth_type is an enum")
    };
    assert!(!auth_type.values.contains(&"digest"));
    let ColumnType::Enum(protocol) = col("ps_transports", "protocol") else {
        panic!("protocol is an enum")
    };
    assert!(protocol.values.contains(&"flow"));
    let ColumnType::Enum(dtmf) = col("ps_endpoints", "dtmf_mode") else {
        panic!("dtmf_mode is an enum")
    };
    assert_eq!(dtmf.name, "pjsip_dtmf_mode_values_v3");
    assert_eq!(
        col("ps_endpoints", "direct_media"),
        ColumnType::Enum(&schema::AST_BOOL_VALUES)
    );
    assert!(table("ps_systems")
        .unwrap()
        .column("threadpool_max_size")
        .is_some());
    assert!(table("ps_systems")
        .unwrap()
        .column("taskpool_minimum_size")
        .is_some());
    assert!(table("sippeers").is_none());
}

#[test]
fn enums_are_non_empty_distinct_and_exactly_the_ones_the_columns_use() {
    let mut names = HashSet::new();
    for e in ENUMS.iter().copied().chain([&schema::YESNO_VALUES]) {
        assert!(!e.values.is_empty(), "{}", e.name);
        assert!(names.insert(e.name), "{} twice", e.name);
        let distinct: HashSet<_> = e.values.iter().collect();
        assert_eq!(distinct.len(), e.values.len(), "{}", e.name);
    }
    assert_eq!(
        schema::AST_BOOL_VALUES.values,
        ["0", "1", "off", "on", "false", "true", "no", "yes"]
    );
    let used: HashSet<&str> = TABLES
        .iter()
        .flat_map(|t| t.columns)
        .filter_map(|c| match c.ty {
            ColumnType::Enum(e) => Some(e.name),
            _ => None,
        })
        .collect();
    let listed: HashSet<&str> = ENUMS.iter().map(|e| e.name).collect();
    assert_eq!(used, listed);
}

#[test]
fn indexes_name_existing_columns() {
    for i in INDEXES {
        let t = table(i.table).unwrap();
        for c in i.columns {
            assert!(t.column(c).is_some(), "{}: {}.{c}", i.name, i.table);
        }
    }
    assert!(INDEXES
        .iter()
        .any(|i| i.name == "ps_contacts_qualifyfreq_exp"));
}

fn quoted(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::MySql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

#[test]
fn the_ddl_of_every_dialect_names_every_table_and_column() {
    for d in DIALECTS {
        let stmts = table_statements(d);
        assert_eq!(stmts.len(), TABLES.len());
        for (t, stmt) in TABLES.iter().zip(&stmts) {
            assert!(
                stmt.starts_with(&format!(
                    "CREATE TABLE IF NOT EXISTS {} (",
                    quoted(d, t.name)
                )),
                "{stmt}"
            );
            for c in t.columns {
                assert!(
                    stmt.contains(&quoted(d, c.name)),
                    "{d:?} {}.{}",
                    t.name,
                    c.name
                );
            }
        }
        let all = create_statements(d).join(";\n");
        assert!(all.contains(&version_table_statement(d)));
        for i in index_statements(d) {
            assert!(i.contains("INDEX IF NOT EXISTS"), "{i}");
        }
    }
}

#[test]
fn enum_types_per_dialect() {
    let pg = enum_statements(Dialect::Postgres);
    assert_eq!(pg.len(), ENUMS.len());
    assert!(pg.iter().all(|s| s.starts_with("DO $$ BEGIN CREATE TYPE")
        && s.contains("EXCEPTION WHEN duplicate_object THEN null; END $$")));
    assert!(enum_statements(Dialect::MySql).is_empty());
    assert!(enum_statements(Dialect::Sqlite).is_empty());

    let aors = table("ps_aors").unwrap();
    let flag = aors.column("remove_existing").unwrap();
    assert_eq!(
        add_column_statement(Dialect::Postgres, aors, flag),
        "ALTER TABLE \"ps_aors\" ADD COLUMN IF NOT EXISTS \"remove_existing\" \"ast_bool_values\""
    );
    assert_eq!(
        add_column_statement(Dialect::MySql, aors, flag),
        "ALTER TABLE `ps_aors` ADD COLUMN IF NOT EXISTS `remove_existing` \
         ENUM('0', '1', 'off', 'on', 'false', 'true', 'no', 'yes')"
    );
    assert_eq!(
        add_column_statement(Dialect::Sqlite, aors, flag),
        "ALTER TABLE \"ps_aors\" ADD COLUMN \"remove_existing\" TEXT CHECK \
         (\"remove_existing\" IN ('0', '1', 'off', 'on', 'false', 'true', 'no', 'yes'))"
    );
    // An added id carries no key constraint (the table has one already).
    let id = aors.column("id").unwrap();
    assert!(!add_column_statement(Dialect::Sqlite, aors, id).contains("PRIMARY"));
    assert_eq!(SCHEMA_VERSION, 1);
}

// ---------------------------------------------------------------------------------------
// Running the DDL for real
// ---------------------------------------------------------------------------------------

fn have(cli: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {cli}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPED: `{cli}` is not installed, the generated DDL was NOT run.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
    }
    found
}

/// A name no other test run uses.
fn scratch_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("sb_schema_{}_{nanos}", std::process::id())
}

/// Runs `cmd` with `script` on stdin; panics with its output on failure, else returns stdout.
fn run(cmd: &mut Command, script: &str) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{:?} failed ({}):\n{}\n{stdout}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn script(stmts: &[String]) -> String {
    let mut s = stmts.join(";\n");
    s.push_str(";\n");
    s
}

/// The column count of every table the database reports, as `name<TAB>count` lines.
fn counts_from(output: &str) -> BTreeMap<String, usize> {
    output
        .lines()
        .filter_map(|l| {
            let (name, n) = l.trim().split_once(['\t', '|'])?;
            Some((name.trim().to_owned(), n.trim().parse().ok()?))
        })
        .collect()
}

fn expected_counts() -> BTreeMap<String, usize> {
    TABLES
        .iter()
        .map(|t| (t.name.to_owned(), t.columns.len()))
        .collect()
}

/// The statements a `db migrate` runs on a database whose `ps_aors` came from an old
/// Asterisk revision: types and tables (the old table is kept), the missing columns, then
/// indexes and the version.
fn upgrade_script(d: Dialect, existing: &[&str]) -> Vec<String> {
    let aors = table("ps_aors").unwrap();
    let mut stmts = enum_statements(d);
    stmts.extend(table_statements(d));
    for c in aors.columns.iter().filter(|c| !existing.contains(&c.name)) {
        stmts.push(add_column_statement(d, aors, c));
    }
    stmts.extend(index_statements(d));
    stmts.push(version_table_statement(d));
    stmts.push(record_version_statement(d));
    stmts
}

/// The `ps_aors` of the first Asterisk revision (before any column was added).
const OLD_AORS: &str = "CREATE TABLE ps_aors (id VARCHAR(40) NOT NULL UNIQUE, \
     contact VARCHAR(40), default_expiration INTEGER, mailboxes VARCHAR(80), \
     max_contacts INTEGER, minimum_expiration INTEGER, qualify_frequency INTEGER)";
const OLD_AORS_COLUMNS: &[&str] = &[
    "id",
    "contact",
    "default_expiration",
    "mailboxes",
    "max_contacts",
    "minimum_expiration",
    "qualify_frequency",
];

/// A row the way Asterisk writes one, and one with a value no enum allows.
const GOOD_ROW: &str = "INSERT INTO ps_aors (id, max_contacts, remove_existing, qualify_timeout) \
     VALUES ('alice', 1, 'yes', 3.0)";
const BAD_ROW: &str = "INSERT INTO ps_aors (id, remove_existing) VALUES ('bob', 'maybe')";

#[test]
fn postgres_runs_the_ddl_twice_and_upgrades_an_old_table() {
    if !have("psql") {
        return;
    }
    let psql = || {
        let mut c = Command::new("psql");
        c.args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-At",
            "-F",
            "\t",
        ]);
        c
    };
    let d = Dialect::Postgres;
    let fresh = scratch_name();
    let upgraded = scratch_name() + "_old";
    let count_sql = |schema: &str| {
        format!(
            "SELECT table_name, count(*) FROM information_schema.columns \
             WHERE table_schema = '{schema}' AND table_name LIKE 'ps\\_%' GROUP BY table_name"
        )
    };
    let body = |schema: &str| -> Result<(), String> {
        let mut ddl = script(&create_statements(d));
        ddl.push_str(&script(&[record_version_statement(d)]));
        let prelude = format!("CREATE SCHEMA \"{schema}\";\nSET search_path TO \"{schema}\";\n");
        let twice = format!("{prelude}{ddl}{ddl}{GOOD_ROW};\n{};\n", count_sql(schema));
        let counts = counts_from(&run(&mut psql(), &twice)?);
        assert_eq!(counts, expected_counts());
        let versions = run(
            &mut psql(),
            &format!("SELECT count(*) FROM \"{schema}\".switchboard_schema_version"),
        )?;
        assert_eq!(versions.trim(), "1");
        let bad = format!("SET search_path TO \"{schema}\";\n{BAD_ROW};\n");
        assert!(
            run(&mut psql(), &bad).is_err(),
            "an invalid enum value was accepted"
        );
        Ok(())
    };
    let upgrade = |schema: &str| -> Result<(), String> {
        let s = format!(
            "CREATE SCHEMA \"{schema}\";\nSET search_path TO \"{schema}\";\n{OLD_AORS};\n\
             {}{}{};\n",
            // IF NOT EXISTS: adding every column is fine, existing ones are skipped.
            script(&upgrade_script(d, &[])),
            script(&upgrade_script(d, &[])),
            count_sql(schema)
        );
        let counts = counts_from(&run(&mut psql(), &s)?);
        assert_eq!(counts, expected_counts());
        Ok(())
    };
    let r1 = body(&fresh);
    let r2 = upgrade(&upgraded);
    for s in [&fresh, &upgraded] {
        let _ = run(
            &mut psql(),
            &format!("DROP SCHEMA IF EXISTS \"{s}\" CASCADE;\n"),
        );
    }
    r1.unwrap();
    r2.unwrap();
}

#[test]
fn mariadb_runs_the_ddl_twice_and_upgrades_an_old_table() {
    if !have("mariadb") {
        return;
    }
    let mariadb = || {
        let mut c = Command::new("mariadb");
        c.args(["-h", "127.0.0.1", "-u", "root", "-N", "-B"]);
        c
    };
    let d = Dialect::MySql;
    let fresh = scratch_name();
    let upgraded = scratch_name() + "_old";
    let count_sql = |db: &str| {
        format!(
            "SELECT table_name, count(*) FROM information_schema.columns \
             WHERE table_schema = '{db}' AND table_name LIKE 'ps\\_%' GROUP BY table_name"
        )
    };
    let body = |db: &str| -> Result<(), String> {
        let mut ddl = script(&create_statements(d));
        ddl.push_str(&script(&[record_version_statement(d)]));
        let s = format!(
            "CREATE DATABASE `{db}`;\nUSE `{db}`;\n{ddl}{ddl}{GOOD_ROW};\n{};\n",
            count_sql(db)
        );
        let counts = counts_from(&run(&mut mariadb(), &s)?);
        assert_eq!(counts, expected_counts());
        let versions = run(
            &mut mariadb(),
            &format!("SELECT count(*) FROM `{db}`.switchboard_schema_version"),
        )?;
        assert_eq!(versions.trim(), "1");
        Ok(())
    };
    let upgrade = |db: &str| -> Result<(), String> {
        let s = format!(
            "CREATE DATABASE `{db}`;\nUSE `{db}`;\n{OLD_AORS};\n{}{}{};\n",
            script(&upgrade_script(d, &[])),
            script(&upgrade_script(d, &[])),
            count_sql(db)
        );
        let counts = counts_from(&run(&mut mariadb(), &s)?);
        assert_eq!(counts, expected_counts());
        Ok(())
    };
    let r1 = body(&fresh);
    let r2 = upgrade(&upgraded);
    for db in [&fresh, &upgraded] {
        let _ = run(
            &mut mariadb(),
            &format!("DROP DATABASE IF EXISTS `{db}`;\n"),
        );
    }
    r1.unwrap();
    r2.unwrap();
}

#[test]
fn sqlite_runs_the_ddl_twice_and_upgrades_an_old_table() {
    if !have("sqlite3") {
        return;
    }
    let d = Dialect::Sqlite;
    let dir = std::env::temp_dir();
    let fresh = dir.join(format!("{}.sqlite", scratch_name()));
    let upgraded = dir.join(format!("{}_old.sqlite", scratch_name()));
    let sqlite = |file: &std::path::Path| {
        let mut c = Command::new("sqlite3");
        c.args(["-bail", "-batch", "-separator", "\t"]).arg(file);
        c
    };
    const COUNT_SQL: &str = "SELECT m.name, count(*) FROM sqlite_master m, \
         pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name LIKE 'ps\\_%' ESCAPE '\\' \
         GROUP BY m.name";
    let body = || -> Result<(), String> {
        let mut ddl = script(&create_statements(d));
        ddl.push_str(&script(&[record_version_statement(d)]));
        let s = format!("{ddl}{ddl}{GOOD_ROW};\n{COUNT_SQL};\n");
        let counts = counts_from(&run(&mut sqlite(&fresh), &s)?);
        assert_eq!(counts, expected_counts());
        let versions = run(
            &mut sqlite(&fresh),
            "SELECT count(*) FROM switchboard_schema_version;\n",
        )?;
        assert_eq!(versions.trim(), "1");
        assert!(
            run(&mut sqlite(&fresh), &format!("{BAD_ROW};\n")).is_err(),
            "an invalid enum value was accepted"
        );
        Ok(())
    };
    let upgrade = || -> Result<(), String> {
        // No IF NOT EXISTS on SQLite's ADD COLUMN: only the missing columns are added.
        let s = format!(
            "{OLD_AORS};\nINSERT INTO ps_aors (id) VALUES ('old');\n{}{COUNT_SQL};\n",
            script(&upgrade_script(d, OLD_AORS_COLUMNS))
        );
        let counts = counts_from(&run(&mut sqlite(&upgraded), &s)?);
        assert_eq!(counts, expected_counts());
        // The second run has nothing left to add.
        let again = format!(
            "{}{COUNT_SQL};\n",
            script(&upgrade_script(
                d,
                &table("ps_aors")
                    .unwrap()
                    .columns
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
            ))
        );
        let counts = counts_from(&run(&mut sqlite(&upgraded), &again)?);
        assert_eq!(counts, expected_counts());
        Ok(())
    };
    let r1 = body();
    let r2 = upgrade();
    let _ = std::fs::remove_file(&fresh);
    let _ = std::fs::remove_file(&upgraded);
    r1.unwrap();
    r2.unwrap();
}
