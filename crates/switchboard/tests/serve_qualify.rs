//! Qualify with the whole server (spec §10): an AOR with `qualify_frequency=1` and a
//! static contact on a UDP socket this test owns. The test answers the server's
//! OPTIONS with 200 and sees one about every second and the contact logged
//! Reachable; then it stops answering and sees the contact logged Unreachable. A
//! phone that registers is probed at once, not at the end of a first period.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use sip_message::{Message, Method};

mod support;
use support::{answer_challenge, config_dir, free_port, udp_config, Server, UdpClient};

/// Receives the next OPTIONS (retransmissions included) within `wait`, with its
/// source address.
fn next_options(sock: &UdpSocket, wait: Duration) -> Option<(Message, std::net::SocketAddr)> {
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65536];
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok();
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let Ok(m) = Message::parse(buf[..n].to_vec()) else {
            continue;
        };
        if m.method() == Some(&Method::Options) {
            return Some((m, from));
        }
    }
    None
}

fn wait_for_log(server: &Server, needle: &str, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if server.log().contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn a_static_contact_is_qualified_every_second_and_found_unreachable_when_it_stops_answering() {
    let dir = config_dir("qualify");
    let port = free_port();
    let peer = UdpSocket::bind("127.0.0.1:0").expect("peer socket");
    let peer_port = peer.local_addr().expect("addr").port();
    let contact = format!("sip:phone@127.0.0.1:{peer_port}");
    std::fs::write(
        dir.join("pjsip.conf"),
        format!(
            "[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n\n\
             [phone]\ntype=aor\ncontact={contact}\nqualify_frequency=1\nqualify_timeout=0.5\n"
        ),
    )
    .expect("write pjsip.conf");
    let server = Server::start(dir, port);

    // Answer every OPTIONS for a while; record when each new one (new Call-ID) came.
    let mut arrivals: Vec<(Instant, String)> = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(4500) {
        let Some((m, from)) = next_options(&peer, Duration::from_millis(500)) else {
            continue;
        };
        assert_eq!(m.request_uri().map(|u| u.as_str()), Some(contact.as_str()));
        let call_id = m.call_id().expect("Call-ID").as_str().to_owned();
        if !arrivals.iter().any(|(_, c)| *c == call_id) {
            arrivals.push((Instant::now(), call_id));
        }
        let mut ok = Message::response_to(&m, 200, None);
        ok.set_to_tag("peer").expect("To tag");
        peer.send_to(&ok.to_bytes(), from).expect("answer");
    }
    assert!(
        arrivals.len() >= 3,
        "{} OPTIONS in 4.5 s:\n{}",
        arrivals.len(),
        server.log()
    );
    for pair in arrivals.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap > Duration::from_millis(700) && gap < Duration::from_millis(1300),
            "OPTIONS {gap:?} apart"
        );
    }
    let reachable = format!("Contact phone/{contact} is now Reachable.  RTT: ");
    assert!(
        wait_for_log(&server, &reachable, Duration::from_secs(1)),
        "no '{reachable}' in:\n{}",
        server.log()
    );

    // Silence: within a period plus qualify_timeout (and some slack) it is Unreachable.
    let unreachable = format!("Contact phone/{contact} is now Unreachable.  RTT: 0.000 msec");
    assert!(
        wait_for_log(&server, &unreachable, Duration::from_secs(4)),
        "no '{unreachable}' in:\n{}",
        server.log()
    );
    // And back: answering again makes it Reachable again. Everything is answered,
    // retransmissions of probes that already timed out included: those transactions
    // live on until Timer F (the endpoint has no per-request timeout yet), so the
    // first OPTIONS read now may be an old one.
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline && server.log().matches(&reachable).count() < 2 {
        if let Some((m, from)) = next_options(&peer, Duration::from_millis(200)) {
            let mut ok = Message::response_to(&m, 200, None);
            ok.set_to_tag("peer").expect("To tag");
            peer.send_to(&ok.to_bytes(), from).expect("answer");
        }
    }
    assert_eq!(
        server.log().matches(&reachable).count(),
        2,
        "{}",
        server.log()
    );
    server.stop();
}

/// A REGISTER from 101 binding `contact`, with `extra` headers.
fn register(call_id: &str, cseq: u32, me: u16, contact: &str, extra: &str) -> String {
    format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{call_id}-{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:101@127.0.0.1>;tag=f{call_id}\r\n\
         To: <sip:101@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <{contact}>\r\n\
         Expires: 600\r\n{extra}\
         Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn a_registered_contact_is_probed_at_once() {
    let (dir, port) = udp_config(
        "qualify-reg",
        "[101]\ntype=endpoint\nauth=101\naors=101\n\n\
         [101]\ntype=auth\nusername=101\npassword=101\n\n\
         [101]\ntype=aor\nmax_contacts=1\nqualify_frequency=600\n",
    );
    let server = Server::start(dir, port);
    let phone = UdpSocket::bind("127.0.0.1:0").expect("phone socket");
    let contact = format!(
        "sip:101@127.0.0.1:{}",
        phone.local_addr().expect("addr").port()
    );

    let c = UdpClient::new(&server);
    let me = c.port();
    let first = c.ask(&register("q1", 1, me, &contact, ""));
    assert_eq!(first.status(), Some(401), "{first:?}");
    let authz = answer_challenge(&first, "REGISTER", "101", "101");
    let registered = Instant::now();
    let ok = c.ask(&register(
        "q1",
        2,
        me,
        &contact,
        &format!("Authorization: {authz}\r\n"),
    ));
    assert_eq!(ok.status(), Some(200), "{ok:?}\n{}", server.log());

    // qualify_frequency is 600 s: only the registration can explain a probe now.
    let Some((m, from)) = next_options(&phone, Duration::from_secs(3)) else {
        panic!("no OPTIONS after the registration:\n{}", server.log());
    };
    assert!(registered.elapsed() < Duration::from_secs(2));
    assert_eq!(m.request_uri().map(|u| u.as_str()), Some(contact.as_str()));
    let mut answer = Message::response_to(&m, 200, None);
    answer.set_to_tag("phone").expect("To tag");
    phone.send_to(&answer.to_bytes(), from).expect("answer");
    let reachable = format!("Contact 101/{contact} is now Reachable.  RTT: ");
    assert!(
        wait_for_log(&server, &reachable, Duration::from_secs(2)),
        "no '{reachable}' in:\n{}",
        server.log()
    );
    server.stop();
}
