//! Whole-server tests: the real `switchboard serve` on 127.0.0.1 with a free port,
//! driven by SIPp and by a small client of our own, stopped by PID.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::{config_dir, free_port, options, read_responses, Server};

/// A server with UDP and TCP on one free port.
fn start(tag: &str) -> Server {
    let port = free_port();
    let dir = config_dir(tag);
    std::fs::write(
        dir.join("pjsip.conf"),
        format!(
            "[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n\n\
             [tcp]\ntype=transport\nprotocol=tcp\nbind=127.0.0.1:{port}\n\n{}",
            support::ANONYMOUS
        ),
    )
    .expect("write pjsip.conf");
    Server::start(dir, port)
}

fn udp_exchange(server: &Server, datagram: &[u8]) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    sock.set_read_timeout(Some(Duration::from_secs(2))).ok();
    sock.send_to(datagram, server.addr()).expect("send");
    let mut buf = vec![0u8; 65536];
    let (len, _) = sock.recv_from(&mut buf).ok()?;
    buf.truncate(len);
    Some(buf)
}

fn sipp_or_skip() -> bool {
    if Command::new("sipp").arg("-v").output().is_ok() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("sipp (Debian package sip-tester) is not installed; scripts/test installs it");
    }
    eprintln!("\n*** SKIP *** sipp is not installed (apt-get install sip-tester): SIPp tests did not run\n");
    false
}

fn run_sipp(server: &Server, transport: &str, calls: u32) {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/options.xml");
    let out = Command::new("sipp")
        .arg("-sf")
        .arg(&scenario)
        .args(["-t", transport, "-i", "127.0.0.1", "-p"])
        .arg(free_port().to_string())
        .args([
            "-m",
            &calls.to_string(),
            "-r",
            "50",
            "-timeout",
            "20s",
            "-nostdin",
        ])
        .arg(server.addr().to_string())
        .stdin(Stdio::null())
        .output()
        .expect("sipp runs");
    assert!(
        out.status.success(),
        "sipp over {transport} failed ({:?}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sipp_gets_200_to_options_over_udp_and_tcp() {
    if !sipp_or_skip() {
        return;
    }
    let server = start("sipp");
    run_sipp(&server, "u1", 50);
    run_sipp(&server, "t1", 50);
    assert_eq!(server.stop(), Some(0), "SIGTERM stops the server cleanly");
}

#[test]
fn a_retransmitted_request_gets_the_same_answer() {
    let server = start("retrans");
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    sock.set_read_timeout(Some(Duration::from_secs(2))).ok();
    let me = sock.local_addr().unwrap().port();
    let req = options("rt1", "rt1", me, "UDP");
    let mut answers = Vec::new();
    for _ in 0..2 {
        sock.send_to(req.as_bytes(), server.addr()).unwrap();
        let mut buf = vec![0u8; 4096];
        let (len, _) = sock.recv_from(&mut buf).expect("answer");
        answers.push(buf[..len].to_vec());
    }
    assert!(answers[0].starts_with(b"SIP/2.0 200"));
    assert_eq!(
        answers[0], answers[1],
        "the transaction resends its response"
    );
    // Allow names what the server answers: OPTIONS and the registrar's REGISTER.
    let text = String::from_utf8_lossy(&answers[0]);
    assert!(text.contains("\r\nAllow: OPTIONS, REGISTER\r\n"), "{text}");
}

#[test]
fn tcp_requests_split_across_segments_and_two_in_one() {
    let server = start("tcp");
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream.set_nodelay(true).ok();
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok();
    let me = stream.local_addr().unwrap().port();
    let req = options("sp1", "sp1", me, "TCP");
    let bytes = req.as_bytes();
    for chunk in [&bytes[..10], &bytes[10..60], &bytes[60..]] {
        stream.write_all(chunk).unwrap();
        stream.flush().unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
    let text = read_responses(&mut stream, 1);
    assert!(text.contains("SIP/2.0 200"), "{text}");
    assert!(text.contains("Call-ID: sp1"), "{text}");

    let two = format!(
        "{}{}",
        options("tw1", "tw1", me, "TCP"),
        options("tw2", "tw2", me, "TCP")
    );
    stream.write_all(two.as_bytes()).unwrap();
    let text = read_responses(&mut stream, 2);
    assert_eq!(text.matches("SIP/2.0 200").count(), 2, "{text}");
    assert!(
        text.contains("Call-ID: tw1") && text.contains("Call-ID: tw2"),
        "{text}"
    );
}

#[test]
fn a_bad_header_over_tcp_gets_400_and_the_connection_serves_the_next_request() {
    let server = start("tcp-bad");
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream.set_nodelay(true).ok();
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok();
    let me = stream.local_addr().unwrap().port();
    let bad = options("bad1", "bad1", me, "TCP").replace("Max-Forwards: 70", "Max-Forwards 70");
    let both = bad + &options("good1", "good1", me, "TCP");
    stream.write_all(both.as_bytes()).unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    while !(text.contains("SIP/2.0 400") && text.contains("SIP/2.0 200")) {
        match std::io::Read::read(&mut stream, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    // Both answers came back on the one connection. Their order is not asserted: the
    // endpoint writes stream responses from tasks of their own (see its shard module).
    let responses: Vec<&str> = text.split("SIP/2.0 ").filter(|r| !r.is_empty()).collect();
    let bad = responses
        .iter()
        .find(|r| r.starts_with("400 "))
        .unwrap_or_else(|| panic!("no 400: {text}"));
    assert!(bad.contains("Call-ID: bad1"), "{text}");
    assert!(
        bad.lines().next().unwrap_or("").contains("Max-Forwards"),
        "the reason says what was wrong: {text}"
    );
    let good = responses
        .iter()
        .find(|r| r.starts_with("200 "))
        .unwrap_or_else(|| panic!("no 200: {text}"));
    assert!(good.contains("Call-ID: good1"), "{text}");
    // And it is still open for more.
    stream
        .write_all(options("good2", "good2", me, "TCP").as_bytes())
        .unwrap();
    let text = read_responses(&mut stream, 1);
    assert!(text.contains("Call-ID: good2"), "{text}");
    assert_eq!(server.stop(), Some(0));
}

fn corpus_dir() -> PathBuf {
    match std::env::var_os("SWITCHBOARD_SHARED") {
        Some(d) => PathBuf::from(d).join("corpus/rfc4475"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/rfc4475"),
    }
}

/// The corpus message with `;rport` on its top Via, so the answer comes back to the
/// sending socket (without it RFC 3261 §18.2.2 sends it to the Via's sent-by port).
fn with_rport(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let Some(at) = text.find("\r\nVia:").or_else(|| text.find("\r\nv:")) else {
        return raw.to_vec();
    };
    let line_end = text[at + 2..]
        .find("\r\n")
        .map_or(text.len(), |e| at + 2 + e);
    let mut out = text[..line_end].to_owned();
    out.push_str(";rport");
    out.push_str(&text[line_end..]);
    out.into_bytes()
}

#[test]
fn every_rfc4475_message_over_udp_leaves_the_server_answering() {
    let server = start("torture");
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus at {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sip"))
        .collect();
    files.sort();
    assert!(files.len() >= 37, "corpus incomplete: {}", files.len());
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for f in &files {
        let raw = std::fs::read(f).expect("read");
        // Exactly as in the corpus: whatever the server does, it must survive.
        let _ = sock.send_to(&raw, server.addr());
    }
    // The server still answers.
    let me = sock.local_addr().unwrap().port();
    sock.set_read_timeout(Some(Duration::from_secs(3))).ok();
    sock.send_to(
        options("after", "after", me, "UDP").as_bytes(),
        server.addr(),
    )
    .unwrap();
    let mut buf = vec![0u8; 65536];
    let mut answered = false;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        match sock.recv_from(&mut buf) {
            Ok((len, _)) if String::from_utf8_lossy(&buf[..len]).contains("Call-ID: after") => {
                answered = true;
                break;
            }
            Ok(_) => continue, // answers to corpus messages that had rport
            Err(_) => break,
        }
    }
    assert!(
        answered,
        "the server stopped answering after the torture messages"
    );

    // The invalid requests the manifest says deserve a 400 get one, with a reason.
    for name in ["clerr", "ncl", "scalar02"] {
        let raw = std::fs::read(dir.join(format!("{name}.sip"))).expect("read");
        let reply =
            udp_exchange(&server, &with_rport(&raw)).unwrap_or_else(|| panic!("{name}: no answer"));
        let text = String::from_utf8_lossy(&reply);
        assert!(text.starts_with("SIP/2.0 400 "), "{name}: {text}");
        let reason = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("SIP/2.0 400 ");
        assert!(
            reason.len() > 3,
            "{name}: a reason phrase that says something: {text}"
        );
    }
    // Stray responses get silence.
    for name in ["unreason", "noreason"] {
        let raw = std::fs::read(dir.join(format!("{name}.sip"))).expect("read");
        assert!(
            udp_exchange(&server, &raw).is_none(),
            "{name}: a response must not be answered"
        );
    }
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn a_udp_request_with_a_broken_header_line_gets_400() {
    let server = start("udp-bad-line");
    // The Via's port is not where the answer goes: rport sends it to the source.
    let request = options("badline", "badline", 9, "UDP").replace(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nthis line has no colon\r\n",
    );
    let answer = udp_exchange(&server, request.as_bytes()).expect("an answer");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("SIP/2.0 400 "), "{text}");
    assert!(text.contains("Call-ID: badline"), "{text}");
    assert_eq!(server.stop(), Some(0));
}
