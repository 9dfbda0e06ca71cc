//! Phones register with the whole server (spec §6, §7): digest-authenticated
//! REGISTERs add, list and remove contacts; a contact acknowledged with a 200 survives
//! `kill -9` and a restart with its remaining lifetime; a REGISTER for an AOR the
//! endpoint does not have gets 404.

use std::path::PathBuf;
use std::process::Command;

use sip_message::Message;

mod support;
use support::{answer_challenge, config_dir, free_port, sipp_as, Server, UdpClient};

fn write_config(dir: &std::path::Path, port: u16) {
    std::fs::write(
        dir.join("pjsip.conf"),
        format!(
            "[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n\n\
             [101]\ntype=endpoint\nauth=101\naors=101\n\n\
             [101]\ntype=auth\nusername=101\npassword=101\n\n\
             [101]\ntype=aor\nmax_contacts=2\nmaximum_expiration=3600\n"
        ),
    )
    .expect("write pjsip.conf");
}

/// A REGISTER from 101 for the AOR `user` (the To URI).
fn register(user: &str, call_id: &str, cseq: u32, me: u16, extra: &str) -> String {
    format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{call_id}-{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:101@127.0.0.1>;tag=f{call_id}\r\n\
         To: <sip:{user}@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n{extra}\
         Content-Length: 0\r\n\r\n"
    )
}

/// Sends a REGISTER, answers the 401 with 101's password, returns the final answer.
fn register_authed(c: &UdpClient, user: &str, call_id: &str, cseq: u32, extra: &str) -> Message {
    let me = c.port();
    let first = c.ask(&register(user, call_id, cseq, me, extra));
    assert_eq!(first.status(), Some(401), "{first:?}");
    let authz = answer_challenge(&first, "REGISTER", "101", "101");
    c.ask(&register(
        user,
        call_id,
        cseq + 1,
        me,
        &format!("{extra}Authorization: {authz}\r\n"),
    ))
}

/// The Contact header values of a response.
fn contacts(m: &Message) -> Vec<String> {
    m.values("Contact")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// The `expires` of the one contact listed.
fn expires(m: &Message) -> u32 {
    let c = contacts(m);
    assert_eq!(c.len(), 1, "{c:?}");
    c[0].rsplit("expires=")
        .next()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no expires in {c:?}"))
}

#[test]
fn register_query_survive_kill9_and_unregister() {
    let port = free_port();
    let dir = config_dir("register");
    write_config(&dir, port);
    let server = Server::start(dir, port);
    let c = UdpClient::new(&server);
    let me = c.port();
    let contact = format!("Contact: <sip:101@127.0.0.1:{me}>\r\nExpires: 600\r\n");

    let ok = register_authed(&c, "101", "r1", 1, &contact);
    assert_eq!(ok.status(), Some(200), "{ok:?}\n{}", server.log());
    assert_eq!(expires(&ok), 600);
    assert!(contacts(&ok)[0].starts_with(&format!("<sip:101@127.0.0.1:{me}>")));
    assert!(server.log().contains(&format!(
        "Added contact 'sip:101@127.0.0.1:{me}' to AOR '101' with expiration of 600 seconds"
    )));

    // An AOR the endpoint does not have (101 is identified, To names 999).
    let nope = register_authed(&c, "999", "r2", 1, &contact);
    assert_eq!(nope.status(), Some(404), "{nope:?}");

    // kill -9, restart on the same directory: the acknowledged contact is there.
    let dir: PathBuf = server.kill9();
    let server = Server::start(dir, port);
    let c = UdpClient::new(&server);
    let query = register_authed(&c, "101", "r3", 1, "");
    assert_eq!(query.status(), Some(200), "{query:?}");
    let left = expires(&query);
    assert!(
        (590..=600).contains(&left),
        "remaining lifetime kept: {left}"
    );
    assert!(
        server.log().contains("1 contacts loaded from the store"),
        "{}",
        server.log()
    );

    // Remove it.
    let gone = register_authed(
        &c,
        "101",
        "r4",
        1,
        &format!("Contact: <sip:101@127.0.0.1:{me}>\r\nExpires: 0\r\n"),
    );
    assert_eq!(gone.status(), Some(200), "{gone:?}");
    assert!(contacts(&gone).is_empty(), "{gone:?}");
    assert_eq!(server.stop(), Some(0));
}

/// Phones 101 and 102 from templates, as the realtime tutorial's users.
const PHONES: &str = "\
[endpoint-tpl](!)\ntype=endpoint\ncontext=default\n\n\
[auth-tpl](!)\ntype=auth\nauth_type=userpass\n\n\
[aor-tpl](!)\ntype=aor\nmax_contacts=1\nremove_existing=yes\n\n\
[101](endpoint-tpl)\nauth=101\naors=101\n[101](auth-tpl)\nusername=101\npassword=101\n[101](aor-tpl)\n\n\
[102](endpoint-tpl)\nauth=102\naors=102\n[102](auth-tpl)\nusername=102\npassword=102\n[102](aor-tpl)\n";

fn assert_sipp_ok(out: &std::process::Output, server: &Server) {
    assert!(
        out.status.success(),
        "sipp failed ({:?}):\n{}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
}

#[test]
fn sipp_phones_register_with_digest_and_are_stored() {
    let port = free_port();
    let dir = config_dir("register-sipp");
    std::fs::write(
        dir.join("pjsip.conf"),
        format!("[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n\n{PHONES}"),
    )
    .expect("write pjsip.conf");
    // The server's name, stamped on its contacts as reg_server.
    std::fs::write(dir.join("asterisk.conf"), "[options]\nsystemname=pbx-a\n")
        .expect("write asterisk.conf");
    let server = Server::start(dir, port);
    for phone in ["101", "102"] {
        assert_sipp_ok(&sipp_as(&server, "register", phone, phone, phone), &server);
    }
    // A wrong password and an unknown user: both get a second 401.
    assert_sipp_ok(
        &sipp_as(&server, "register-rejected", "101", "101", "wrong"),
        &server,
    );
    assert_sipp_ok(
        &sipp_as(&server, "register-rejected", "999", "999", "999"),
        &server,
    );

    // The local store's ps_contacts holds both phones (read while the server runs:
    // the database is in WAL mode).
    let db = server.dir().join("data/switchboard.db");
    let rows = Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT id || ' ' || uri || ' ' || endpoint || ' ' || reg_server FROM ps_contacts ORDER BY id")
        .output()
        .expect("sqlite3 runs (apt-get install sqlite3)");
    let rows = String::from_utf8_lossy(&rows.stdout);
    let rows: Vec<&str> = rows.lines().collect();
    assert_eq!(rows.len(), 2, "{rows:?}\n{}", server.log());
    // Rows as Asterisk's realtime writes them: `;` stored as `^3B`.
    assert!(
        rows[0].starts_with("101^3B@") && rows[0].ends_with(" 101 pbx-a"),
        "{rows:?}"
    );
    assert!(
        rows[1].starts_with("102^3B@")
            && rows[1].contains(" sip:102@127.0.0.1:")
            && rows[1].ends_with("^3Btransport=UDP 102 pbx-a"),
        "{rows:?}"
    );
    let log = server.log();
    assert!(
        log.contains("(callid: ") && log.contains("- Failed to authenticate"),
        "{log}"
    );
    assert!(log.contains("- No matching endpoint found"), "{log}");
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn sipp_phones_from_a_wizard_register() {
    let port = free_port();
    let dir = config_dir("register-wizard");
    std::fs::write(
        dir.join("pjsip.conf"),
        format!("[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n"),
    )
    .expect("write pjsip.conf");
    std::fs::write(
        dir.join("pjsip_wizard.conf"),
        "[phone](!)\ntype=wizard\naccepts_auth=yes\naccepts_registrations=yes\n\
         aor/max_contacts=1\n\n\
         [101](phone)\ninbound_auth/username=101\ninbound_auth/password=101\n\n\
         [102](phone)\ninbound_auth/username=102\ninbound_auth/password=102\n",
    )
    .expect("write pjsip_wizard.conf");
    let server = Server::start(dir, port);
    for phone in ["101", "102"] {
        assert_sipp_ok(&sipp_as(&server, "register", phone, phone, phone), &server);
    }
    assert_sipp_ok(
        &sipp_as(&server, "register-rejected", "102", "102", "101"),
        &server,
    );
    let log = server.log();
    assert!(
        log.contains("to AOR '101' with expiration of 120 seconds"),
        "{log}"
    );
    assert!(
        log.contains("to AOR '102' with expiration of 120 seconds"),
        "{log}"
    );
    assert_eq!(server.stop(), Some(0));
}
