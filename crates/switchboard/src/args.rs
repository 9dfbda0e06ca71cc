//! The command-line contract of the `switchboard` binary.
//!
//! This is the whole surface later work fills in: the subcommands, their
//! flags and defaults are fixed here so scripts, docs and tests can rely on
//! them before the features behind them exist. Parsing only — nothing in
//! this module does any work.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Where `serve` and `check-config` look for `pjsip.conf` and friends.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/switchboard";

/// Where `serve` keeps its state (the contacts database, the console socket).
pub const DEFAULT_DATA_DIR: &str = "/var/lib/switchboard";

/// Switchboard: a SIP server that does what Asterisk's PJSIP stack does and
/// reads the same configuration.
#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    // Bare `switchboard` prints help (and exits 2) rather than guessing.
    arg_required_else_help = true,
    // `-r`/`-x` talk to a running server; they make no sense with a subcommand.
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Connect to the console of a running server (as `asterisk -r`).
    #[arg(short = 'r', long = "remote")]
    pub remote: bool,

    /// Run one console command on a running server and exit
    /// (as `asterisk -rx "COMMAND"`); implies -r.
    #[arg(short = 'x', long = "exec", value_name = "COMMAND")]
    pub exec: Option<String>,

    /// Data directory of the running server to connect to with -r/-x.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands. `main` does not read their fields yet: the features
/// behind them are still to be written.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the SIP server.
    Serve {
        /// Directory holding pjsip.conf, extensions.conf, sorcery.conf, ….
        #[arg(long, value_name = "DIR", default_value = DEFAULT_CONFIG_DIR)]
        config_dir: PathBuf,

        /// Directory for the server's state (contacts database, console socket).
        #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },

    /// Send console commands to a running server (interactive when none given).
    Cli {
        /// Data directory of the running server.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,

        /// The console command, e.g. `pjsip show endpoints`.
        #[arg(
            value_name = "COMMAND",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        command: Vec<String>,
    },

    /// Load the configuration, report every problem found, and exit.
    CheckConfig {
        /// Directory holding pjsip.conf, extensions.conf, sorcery.conf, ….
        #[arg(long, value_name = "DIR", default_value = DEFAULT_CONFIG_DIR)]
        config_dir: PathBuf,
    },

    /// Manage the realtime SQL database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

/// Subcommands of `switchboard db`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create or upgrade the `ps_*` tables in a database.
    Migrate {
        /// Database URL, e.g. `sqlite:///var/lib/switchboard/switchboard.db`
        /// or `postgres://user@host/asterisk`.
        #[arg(long, value_name = "URL")]
        url: String,

        /// Also add missing tables and columns to a database whose schema Asterisk's
        /// Alembic migrations manage (by default such a database is only inspected,
        /// because a column added here makes a later `alembic upgrade` fail).
        #[arg(long)]
        alter_asterisk_schema: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn asterisk_style_rx_parses_as_remote_exec() {
        let cli = Cli::try_parse_from(["switchboard", "-rx", "pjsip show endpoints"])
            .expect("-rx COMMAND parses");
        assert!(cli.remote);
        assert_eq!(cli.exec.as_deref(), Some("pjsip show endpoints"));
        assert_eq!(cli.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert!(cli.command.is_none());
    }

    #[test]
    fn serve_defaults() {
        let cli = Cli::try_parse_from(["switchboard", "serve"]).expect("serve parses");
        match cli.command {
            Some(Command::Serve {
                config_dir,
                data_dir,
            }) => {
                assert_eq!(config_dir, PathBuf::from(DEFAULT_CONFIG_DIR));
                assert_eq!(data_dir, PathBuf::from(DEFAULT_DATA_DIR));
            }
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn cli_takes_the_rest_of_the_line_as_the_command() {
        let cli = Cli::try_parse_from([
            "switchboard",
            "cli",
            "--data-dir",
            "/d",
            "core",
            "show",
            "-v",
        ])
        .expect("cli parses");
        match cli.command {
            Some(Command::Cli { data_dir, command }) => {
                assert_eq!(data_dir, PathBuf::from("/d"));
                assert_eq!(command, ["core", "show", "-v"]);
            }
            other => panic!("expected cli, got {other:?}"),
        }
    }

    #[test]
    fn remote_flags_conflict_with_subcommands() {
        assert!(Cli::try_parse_from(["switchboard", "-r", "serve"]).is_err());
    }

    #[test]
    fn db_migrate_requires_url() {
        assert!(Cli::try_parse_from(["switchboard", "db", "migrate"]).is_err());
    }
}
