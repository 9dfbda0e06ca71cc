//! `switchboard check-config`: load everything the server would load, print every
//! problem with its place and reason, and a summary per type. Exit 1 when anything
//! was dropped, so it can gate a deployment.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use asterisk_conf::FsSource;
use sorcery::objects::{Objects, OpenOptions};
use sorcery::tables::SqlOpener;

/// Runs the check; prints to stdout (problems) and returns the exit status.
pub fn run(config_dir: &Path) -> ExitCode {
    if !config_dir.is_dir() {
        eprintln!(
            "switchboard: configuration directory {} does not exist or is not a directory",
            config_dir.display()
        );
        return ExitCode::from(1);
    }
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // Realtime tables are opened (a wrong URL or missing table is a problem worth
    // reporting); the local contact store belongs to the running server and is not.
    let opener = SqlOpener::new(None);
    let opened = runtime.block_on(Objects::open(OpenOptions {
        source: Arc::new(FsSource::new(config_dir)),
        local_store_url: None,
        tables: Some(&opener),
    }));
    let (_objects, report) = match opened {
        Ok(o) => o,
        Err(errors) => {
            for e in &errors {
                println!("error: {e}");
            }
            println!(
                "{} problem(s) in sorcery.conf/extconfig.conf/switchboard.conf; nothing was loaded",
                errors.len()
            );
            return ExitCode::from(1);
        }
    };
    for w in &report.warnings {
        println!("warning: {w}");
    }
    for e in &report.errors {
        println!("error: {e}");
    }
    let mut types: Vec<&str> = report
        .loaded
        .keys()
        .chain(report.dropped.keys())
        .copied()
        .collect();
    types.sort_unstable();
    types.dedup();
    for t in types {
        let loaded = report.loaded.get(t).copied().unwrap_or(0);
        let dropped = report.dropped.get(t).copied().unwrap_or(0);
        if loaded + dropped > 0 {
            println!("{t}: {loaded} loaded, {dropped} dropped");
        }
    }
    if report.dropped_any() {
        println!(
            "{} error(s), {} warning(s): some configuration was not loaded",
            report.errors.len(),
            report.warnings.len()
        );
        ExitCode::from(1)
    } else {
        println!("configuration OK ({} warning(s))", report.warnings.len());
        ExitCode::SUCCESS
    }
}

/// `switchboard db migrate --url URL [--alter-asterisk-schema]`: exit 0 when the
/// schema is complete, 3 when an Asterisk-managed schema was left incomplete on
/// purpose, 1 on error.
pub fn migrate(url: &str, alter_asterisk_schema: bool) -> ExitCode {
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let options = sorcery::sql::MigrateOptions {
        alter_alembic_schema: alter_asterisk_schema,
    };
    match runtime.block_on(sorcery::sql::migrate_with(url, options)) {
        Ok(report) => {
            println!("{report}");
            // Left unchanged on purpose is not a failure, but a script must notice
            // that the schema is still incomplete.
            if report.applied {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            }
        }
        Err(e) => {
            eprintln!("switchboard: db migrate failed: {e}");
            ExitCode::from(1)
        }
    }
}

/// A single-threaded runtime for a one-shot command (exit 1 if it cannot start).
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("switchboard: cannot start the runtime: {e}");
            ExitCode::from(1)
        })
}
