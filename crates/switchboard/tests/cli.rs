//! Runs the built `switchboard` binary and checks its command-line contract:
//! what works now (`--version`, `--help`) and that everything else fails
//! honestly, with exit status 2 and a message a person can act on.

use std::process::{Command, Output};

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .output()
        .expect("the switchboard binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn version_prints_name_and_version() {
    let out = switchboard(&["--version"]);
    assert!(out.status.success(), "status {:?}", out.status);
    assert_eq!(stdout(&out), "switchboard 0.1.0\n");
}

#[test]
fn help_lists_the_subcommands() {
    let out = switchboard(&["--help"]);
    assert!(out.status.success(), "status {:?}", out.status);
    let help = stdout(&out);
    for sub in ["serve", "cli", "check-config", "db"] {
        assert!(help.contains(sub), "--help does not mention {sub}:\n{help}");
    }
}

/// Asserts the command fails with status 2 and one clear line naming `what`.
fn assert_not_implemented(args: &[&str], what: &str) {
    let out = switchboard(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: status {:?}",
        out.status
    );
    assert!(
        stdout(&out).is_empty(),
        "{args:?}: unexpected stdout {:?}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?}: expected one line, got {err:?}"
    );
    assert!(
        err.starts_with(&format!(
            "switchboard: `{what}` is not implemented in this build yet"
        )),
        "{args:?}: unclear message {err:?}"
    );
}

#[test]
fn other_commands_are_not_implemented_yet() {
    assert_not_implemented(
        &["cli", "--data-dir", "/tmp/sb", "pjsip", "show", "endpoints"],
        "cli",
    );
    assert_not_implemented(&["-rx", "core show version"], "-r/-x");
    assert_not_implemented(&["-r", "--data-dir", "/tmp/sb"], "-r/-x");
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let out = switchboard(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "status {:?}", out.status);
    let err = stderr(&out);
    assert!(
        err.contains("unrecognized subcommand 'frobnicate'"),
        "{err}"
    );
    assert!(err.contains("Usage:"), "{err}");
}

#[test]
fn no_arguments_shows_help_and_fails() {
    let out = switchboard(&[]);
    assert_eq!(out.status.code(), Some(2), "status {:?}", out.status);
    assert!(stderr(&out).contains("Usage:"), "{}", stderr(&out));
}
