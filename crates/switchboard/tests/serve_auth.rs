//! The whole server challenges (spec §7, §8.5): without an anonymous endpoint a
//! stranger's request gets 401, an endpoint with `auth` gets 401 until it answers the
//! challenge, and a wrong password looks exactly like an unknown user — a fresh 401,
//! and a log line fail2ban's asterisk filter matches.

use sip_message::Message;

mod support;
use support::{answer_challenge, config_dir, free_port, udp_config, Server, UdpClient};

fn start() -> Server {
    let (dir, port) = udp_config(
        "auth",
        "[alice]\ntype=endpoint\nauth=alice-auth\n\n\
         [alice-auth]\ntype=auth\nusername=alice\npassword=secret\n\n\
         [open]\ntype=endpoint\n",
    );
    Server::start(dir, port)
}

fn options(user: &str, call_id: &str, cseq: u32, me: u16, authz: Option<&str>) -> String {
    let authz = authz
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{call_id}{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@127.0.0.1>;tag=t{call_id}\r\n\
         To: <sip:{user}@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} OPTIONS\r\n{authz}\
         Content-Length: 0\r\n\r\n"
    )
}

/// The challenge of a 401, with its nonce blanked, for comparing two 401s.
fn challenge_shape(m: &Message) -> Vec<String> {
    m.www_authenticate()
        .expect("WWW-Authenticate decodes")
        .iter()
        .map(|c| {
            c.params()
                .filter(|(k, _)| *k != "nonce")
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

fn answer(m: &Message, password: &str) -> String {
    answer_challenge(m, "OPTIONS", "alice", password)
}

#[test]
fn challenges_success_and_failures_look_the_same_on_the_wire() {
    let server = start();
    let c = UdpClient::new(&server);
    let me = c.port();

    // A stranger: challenged (no anonymous endpoint).
    let stranger = c.ask(&options("mallory", "a1", 1, me, None));
    assert_eq!(stranger.status(), Some(401), "{stranger:?}");
    let shape = challenge_shape(&stranger);
    assert_eq!(shape.len(), 1, "one challenge: {shape:?}");
    assert!(
        shape[0].starts_with("realm=\"asterisk\",opaque=")
            && shape[0].ends_with(",algorithm=MD5,qop=\"auth\""),
        "{shape:?}"
    );

    // alice: challenged, then let in with the right password.
    let first = c.ask(&options("alice", "a2", 1, me, None));
    assert_eq!(first.status(), Some(401));
    assert_eq!(challenge_shape(&first), challenge_shape(&stranger));
    let ok = c.ask(&options(
        "alice",
        "a2",
        2,
        me,
        Some(&answer(&first, "secret")),
    ));
    assert_eq!(ok.status(), Some(200), "{ok:?}");

    // A wrong password: a fresh 401 like the stranger's, and the log line.
    let wrong = c.ask(&options(
        "alice",
        "a3",
        2,
        me,
        Some(&answer(&first, "guess")),
    ));
    assert_eq!(wrong.status(), Some(401));
    assert_eq!(challenge_shape(&wrong), challenge_shape(&stranger));
    // An endpoint without auth needs no credentials.
    let open = c.ask(&options("open", "a4", 1, me, None));
    assert_eq!(open.status(), Some(200));

    let log = server.log();
    assert!(
        log.contains(&format!(
            "Request 'OPTIONS' from '<sip:alice@127.0.0.1>' failed for '127.0.0.1:{me}' (callid: a3) - Failed to authenticate"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "Request 'OPTIONS' from '<sip:mallory@127.0.0.1>' failed for '127.0.0.1:{me}' (callid: a1) - No matching endpoint found"
        )),
        "{log}"
    );
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn right_credentials_on_an_expired_nonce_get_stale_true() {
    let port = free_port();
    let dir = config_dir("auth-stale");
    std::fs::write(
        dir.join("pjsip.conf"),
        format!(
            "[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n\n\
             [alice]\ntype=endpoint\nauth=alice-auth\n\n\
             [alice-auth]\ntype=auth\nusername=alice\npassword=secret\nnonce_lifetime=1\n"
        ),
    )
    .expect("write pjsip.conf");
    let server = Server::start(dir, port);
    let c = UdpClient::new(&server);
    let me = c.port();
    let first = c.ask(&options("alice", "s1", 1, me, None));
    assert_eq!(first.status(), Some(401));
    // Past nonce_lifetime (1 s): the nonce's second and the next one, and a margin.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let late = c.ask(&options(
        "alice",
        "s1",
        2,
        me,
        Some(&answer(&first, "secret")),
    ));
    assert_eq!(late.status(), Some(401), "{late:?}");
    let challenge =
        String::from_utf8_lossy(late.value("WWW-Authenticate").expect("challenge")).into_owned();
    assert!(challenge.contains("stale=true"), "{challenge}");
    // The fresh nonce works at once.
    let ok = c.ask(&options(
        "alice",
        "s1",
        3,
        me,
        Some(&answer(&late, "secret")),
    ));
    assert_eq!(ok.status(), Some(200), "{ok:?}");
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn with_auth_username_unidentified_requests_are_counted_per_source() {
    let (dir, port) = udp_config(
        "auth-unidentified",
        "[global]\ntype=global\nendpoint_identifier_order=auth_username,username\n\
         unidentified_request_count=3\nunidentified_request_period=60\n\n\
         [alice]\ntype=endpoint\nauth=alice-auth\nidentify_by=auth_username,username\n\n\
         [alice-auth]\ntype=auth\nusername=alice\npassword=secret\n",
    );
    let server = Server::start(dir, port);
    let c = UdpClient::new(&server);
    let me = c.port();
    let stranger = |call_id: &str| {
        let r = c.ask(&options("mallory", call_id, 1, me, None));
        assert_eq!(r.status(), Some(401), "{r:?}");
    };
    let reported = |log: &str| {
        log.lines()
            .filter(|l| l.contains("- No matching endpoint found"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let authenticate = |call_id: &str| {
        let first = c.ask(&options("alice", call_id, 1, me, None));
        assert_eq!(first.status(), Some(401));
        let ok = c.ask(&options(
            "alice",
            call_id,
            2,
            me,
            Some(&answer(&first, "secret")),
        ));
        assert_eq!(ok.status(), Some(200), "{ok:?}");
    };
    // Someone at this address authenticates (which also forgets the start-up probe
    // the test harness sent from here); then two unidentified requests from it are
    // challenged but not reported.
    authenticate("a1");
    stranger("u1");
    stranger("u2");
    assert!(reported(&server.log()).is_empty(), "{}", server.log());
    // Authenticating again starts the count again.
    authenticate("a2");
    stranger("u4");
    stranger("u5");
    assert!(reported(&server.log()).is_empty(), "{}", server.log());
    // The third within the period is reported, with the count.
    stranger("u6");
    let lines = reported(&server.log());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!(
            "Request 'OPTIONS' from '<sip:mallory@127.0.0.1>' failed for '127.0.0.1:{me}' (callid: u6) - No matching endpoint found after 3 tries in "
        )) && lines[0].ends_with(" ms"),
        "{lines:?}"
    );
    assert_eq!(server.stop(), Some(0));
}
