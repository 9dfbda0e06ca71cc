//! `switchboard check-config` and `switchboard db migrate`, run as the real binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .output()
        .expect("the switchboard binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("sb-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("dir");
        Dir(p)
    }
    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).expect("write");
    }
    fn arg(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn check_config_passes_a_good_configuration() {
    let dir = Dir::new("good");
    dir.write(
        "pjsip.conf",
        "[t]\ntype=transport\nbind=0.0.0.0\n[6001]\ntype=endpoint\naors=6001\n[6001]\ntype=aor\nmax_contacts=1\n",
    );
    let out = switchboard(&["check-config", "--config-dir", dir.arg()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("endpoint: 1 loaded, 0 dropped"), "{t}");
    assert!(t.contains("aor: 1 loaded, 0 dropped"), "{t}");
    assert!(t.contains("configuration OK"), "{t}");
}

#[test]
fn check_config_names_every_problem_and_fails() {
    let dir = Dir::new("bad");
    dir.write(
        "pjsip.conf",
        "[6001]\ntype=endpoint\ndirect_media=perhaps\n[6002]\ntype=endpoint\n[x]\ntype=aor\nmax_contacts=1\nbogus=1\n",
    );
    dir.write("pjsip_wizard.conf", "[w]\ntype=wizard\naccepts_auth=yes\n");
    let out = switchboard(&["check-config", "--config-dir", dir.arg()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("pjsip.conf:3: endpoint '6001' option 'direct_media'"),
        "{t}"
    );
    assert!(
        t.contains("pjsip.conf:9: aor 'x' option 'bogus': unknown option"),
        "{t}"
    );
    assert!(t.contains("wizard 'w'"), "{t}");
    assert!(t.contains("endpoint: 1 loaded, 1 dropped"), "{t}");
}

#[test]
fn check_config_reports_a_broken_sorcery_conf_and_a_missing_directory() {
    let dir = Dir::new("sorcery");
    dir.write("sorcery.conf", "[res_pjsip]\nendpoint=nosuchwizard\n");
    let out = switchboard(&["check-config", "--config-dir", dir.arg()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("sorcery.conf:2"), "{t}");

    let out = switchboard(&["check-config", "--config-dir", "/nonexistent/sb-config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("does not exist"), "{}", text(&out));
}

#[test]
fn db_migrate_creates_the_schema_once_on_sqlite() {
    let dir = Dir::new("migrate");
    let url = format!("sqlite://{}/realtime.db", dir.arg());
    let out = switchboard(&["db", "migrate", "--url", &url]);
    let first = text(&out);
    assert_eq!(out.status.code(), Some(0), "{first}");
    assert!(first.contains("ps_endpoints"), "{first}");
    let out = switchboard(&["db", "migrate", "--url", &url]);
    let second = text(&out);
    assert_eq!(out.status.code(), Some(0), "{second}");
    assert!(
        !second.contains("ps_endpoints"),
        "second run changes nothing: {second}"
    );

    let out = switchboard(&[
        "db",
        "migrate",
        "--url",
        "postgres://nobody:secret@127.0.0.1:1/x",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(!t.contains("secret"), "the password is masked: {t}");
}

#[test]
fn serve_refuses_to_run_when_no_transport_can_start() {
    let dir = Dir::new("no-transport");
    dir.write(
        "pjsip.conf",
        "[t]\ntype=transport\nprotocol=tls\nbind=127.0.0.1:0\ncert_file=missing.pem\npriv_key_file=missing.key\n",
    );
    let data = format!("{}/data", dir.arg());
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--config-dir", dir.arg(), "--data-dir", &data])
        .output()
        .expect("runs");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("transport 't'"), "{t}");
    assert!(t.contains("no transport could be started"), "{t}");
}
