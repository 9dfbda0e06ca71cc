//! Qualify with the whole server (spec §10): an AOR with `qualify_frequency=1` and a
//! static contact on a UDP socket this test owns. The test answers the server's
//! OPTIONS with 200 and sees one about every second and the contact logged
//! Reachable; then it stops answering and sees the contact logged Unreachable.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use sip_message::{Message, Method};

mod support;
use support::{config_dir, free_port, Server};

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
