//! The `switchboard` binary.
//!
//! `--version`, `--help`, `serve`, `check-config` and `db migrate` work; the
//! console (`cli`, `-r`/`-rx`) says plainly that this build does not implement it
//! yet and exits with status 2. We do not pretend:
//! a `serve` that printed "started" and did nothing would be worse than an
//! honest error, for users and for scripts that check exit codes.

use std::process::ExitCode;

use clap::{error::ErrorKind, CommandFactory, Parser};

/// mimalloc: loading 100 000 endpoints is allocation-bound, and with glibc's malloc it
/// took 2.2 s against 0.96 s here (`crates/store/benches/objects.rs`); a server that
/// allocates per message gains the same way. See docs/dependencies.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod check_config;
mod http;
mod http_conf;
mod serve;
mod services;
mod system_name;

use args::{Cli, Command, DbCommand};

/// Exit status for "this build cannot do that" — the same status clap uses
/// for usage errors, so a script sees failure, never a fake success.
const EXIT_NOT_IMPLEMENTED: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();

    match cli.command {
        Some(Command::Serve {
            config_dir,
            data_dir,
        }) => {
            // Held until the server returns: dropping it flushes the queued lines.
            let _flush = init_logging();
            serve::run(&config_dir, &data_dir)
        }
        Some(Command::Cli { .. }) => not_implemented("cli", "console"),
        Some(Command::CheckConfig { config_dir }) => check_config::run(&config_dir),
        Some(Command::Db {
            command:
                DbCommand::Migrate {
                    url,
                    alter_asterisk_schema,
                },
        }) => check_config::migrate(&url, alter_asterisk_schema),
        None if cli.remote || cli.exec.is_some() => not_implemented("-r/-x", "console"),
        // e.g. `switchboard --data-dir /x` alone: nothing asked for.
        None => Cli::command()
            .error(
                ErrorKind::MissingSubcommand,
                "give a subcommand, or -r / -x COMMAND to talk to a running server",
            )
            .exit(),
    }
}

/// Lines the log thread may have queued before a logging call waits for it.
const LOG_QUEUE_LINES: usize = 1 << 16;

/// Logs to stderr (the daemon runs in the foreground; systemd or the shell keeps the
/// output). Level INFO; `RUST_LOG`-style filtering comes with the console's
/// `core set verbose|debug` (operations issue).
///
/// Lines are written by a thread of their own: the SIP workers only queue them. A
/// registrar logs every added contact, and a write to a file on a disk busy with
/// fsyncs can block for a long time (the kernel throttles writers of dirty pages);
/// written in place, that stalled the shards until their queues overflowed. Nothing
/// is dropped: past [`LOG_QUEUE_LINES`] waiting lines a logging call waits, as before.
fn init_logging() -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .init();
    guard
}

/// Says, in one line on stderr, that `what` does not exist in this build yet
/// and which piece of planned work brings it; returns the matching exit code.
fn not_implemented(what: &str, issue: &str) -> ExitCode {
    eprintln!("switchboard: `{what}` is not implemented in this build yet (see issue: {issue})");
    ExitCode::from(EXIT_NOT_IMPLEMENTED)
}
