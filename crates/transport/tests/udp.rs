//! UDP over real loopback sockets: stamping, response routing, malformed input,
//! overload, IPv6.

mod common;

use bytes::Bytes;
use common::*;
use sip_message::Message;
use sip_transport::{Inbound, Protocol, TransportLimits};
use tokio::net::UdpSocket;

async fn client(addr: &str) -> UdpSocket {
    UdpSocket::bind(addr).await.expect("client socket")
}

async fn recv_datagram(sock: &UdpSocket) -> Message {
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("timed out waiting for a datagram")
        .expect("recv");
    Message::parse(buf[..n].to_vec()).expect("a SIP message")
}

#[tokio::test]
async fn rport_requested_is_filled_with_received() {
    let (_t, mut rx, server) = bind(Protocol::Udp, "127.0.0.1:0").await;
    let c = client("127.0.0.1:0").await;
    let port = c.local_addr().unwrap().port();
    let req = request("SIP/2.0/UDP 192.0.2.33:5060;rport;branch=z9hG4bK-r1", "c1");
    c.send_to(req.as_bytes(), server).await.unwrap();
    let (m, src) = next_message(&mut rx).await;
    assert_eq!(src.protocol, Protocol::Udp);
    assert_eq!(src.remote, c.local_addr().unwrap());
    assert_eq!(src.local, server);
    assert_eq!(src.connection, None);
    let v = m.top_via().unwrap();
    assert_eq!(v.received(), Some("127.0.0.1"));
    assert_eq!(v.rport(), Some(Some(port)));
    assert_eq!(v.branch(), Some("z9hG4bK-r1"));
}

#[tokio::test]
async fn no_rport_requested_gets_only_received() {
    let (_t, mut rx, server) = bind(Protocol::Udp, "127.0.0.1:0").await;
    let c = client("127.0.0.1:0").await;
    let req = request("SIP/2.0/UDP 192.0.2.33:5060;branch=z9hG4bK-r2", "c2");
    c.send_to(req.as_bytes(), server).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    let v = m.top_via().unwrap();
    assert_eq!(v.received(), Some("127.0.0.1"));
    assert_eq!(v.rport(), None);
}

#[tokio::test]
async fn sent_by_equal_to_source_is_left_alone() {
    let (_t, mut rx, server) = bind(Protocol::Udp, "127.0.0.1:0").await;
    let c = client("127.0.0.1:0").await;
    let port = c.local_addr().unwrap().port();
    let req = request(
        &format!("SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-r3"),
        "c3",
    );
    c.send_to(req.as_bytes(), server).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert!(!m.is_modified());
    assert_eq!(m.top_via().unwrap().received(), None);
    assert_eq!(m.to_bytes(), Bytes::from(req));
}

#[tokio::test]
async fn response_goes_to_received_and_rport() {
    let (t, mut rx, server) = bind(Protocol::Udp, "127.0.0.1:0").await;
    let c = client("127.0.0.1:0").await;
    // The sent-by is unreachable: only received/rport lead back to the client.
    let req = request("SIP/2.0/UDP 192.0.2.33:5060;rport;branch=z9hG4bK-r4", "c4");
    c.send_to(req.as_bytes(), server).await.unwrap();
    let (m, src) = next_message(&mut rx).await;
    let resp = Message::response_to(&m, 200, None);
    t.send_response(&src, &resp).await.unwrap();
    let got = recv_datagram(&c).await;
    assert_eq!(got.status(), Some(200));
    assert_eq!(got.call_id().unwrap().as_str(), "c4");
    let v = got.top_via().unwrap();
    assert_eq!(v.received(), Some("127.0.0.1"));
    assert_eq!(v.rport(), Some(Some(c.local_addr().unwrap().port())));
}

#[tokio::test]
async fn response_without_rport_goes_to_sent_by_port() {
    let (t, mut rx, server) = bind(Protocol::Udp, "127.0.0.1:0").await;
    // The client sends from one socket but listens on another, named in its Via.
    let sender = client("127.0.0.1:0").await;
    let listener = client("127.0.0.1:0").await;
    let lport = listener.local_addr().unwrap().port();
    let req = request(
        &format!("SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK-r5"),
        "c5",
    );
    sender.send_to(req.as_bytes(), server).await.unwrap();
    let (m, src) = next_message(&mut rx).await;
    t.send_response(&src, &Message::response_to(&m, 200, None))
        .await
        .unwrap();
    assert_eq!(recv_datagram(&listener).await.status(), Some(200));
}

#[tokio::test]
async fn malformed_request_with_a_head_is_reported_with_a_reason() {
    let (t, mut rx, server) = bind(Protocol::Udp, "127.0.0.1:0").await;
    let c = client("127.0.0.1:0").await;
    let req = request("SIP/2.0/UDP 192.0.2.33;rport;branch=z9hG4bK-m1", "m1")
        .replace("Content-Length: 0", "Content-Length: abc");
    c.send_to(req.as_bytes(), server).await.unwrap();
    let (head, reason, src) = match next(&mut rx).await {
        Inbound::Malformed {
            head,
            reason,
            source,
        } => (head, reason, source),
        other => panic!("expected Malformed, got {other:?}"),
    };
    assert!(!reason.is_empty());
    assert!(
        reason.to_ascii_lowercase().contains("content-length"),
        "{reason}"
    );
    assert_eq!(head.call_id().unwrap().as_str(), "m1");
    // Stamped too, so the 400 follows the NAT binding.
    assert_eq!(
        head.top_via().unwrap().rport(),
        Some(Some(c.local_addr().unwrap().port()))
    );
    let resp = Message::response_to(&head, 400, Some(&reason));
    t.send_response(&src, &resp).await.unwrap();
    assert_eq!(recv_datagram(&c).await.status(), Some(400));
}

#[tokio::test]
async fn request_with_a_bad_via_is_malformed() {
    let (_t, mut rx, server) = bind(Protocol::Udp, "127.0.0.1:0").await;
    let c = client("127.0.0.1:0").await;
    let req = request("SIP/2.0/UDP ;;;", "m2");
    c.send_to(req.as_bytes(), server).await.unwrap();
    match next(&mut rx).await {
        Inbound::Malformed { reason, .. } => assert!(reason.contains("Via"), "{reason}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[tokio::test]
async fn garbage_and_bad_responses_are_dropped_and_the_loop_goes_on() {
    let limits = TransportLimits {
        max_message_size: 2000,
        ..TransportLimits::default()
    };
    let (_t, mut rx, server) = bind_with(Protocol::Udp, "127.0.0.1:0", limits).await;
    let c = client("127.0.0.1:0").await;
    for junk in [
        &b"garbage\r\n\r\n"[..],
        &b"\x00\x01\x02\xff"[..],
        &b"\r\n\r\n"[..],
        &b""[..],
        // A response whose body cannot be framed: dropped, never answered.
        &b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\nContent-Length: x\r\n\r\n"[..],
    ] {
        c.send_to(junk, server).await.unwrap();
    }
    // A good request over the size limit: dropped too (not truncated into something
    // that parses).
    let big = request("SIP/2.0/UDP 192.0.2.33;branch=z9hG4bK-big", "big").replace(
        "Max-Forwards: 70\r\n",
        &format!("Max-Forwards: 70\r\nX-Pad: {}\r\n", "p".repeat(3000)),
    );
    c.send_to(big.as_bytes(), server).await.unwrap();
    let req = request("SIP/2.0/UDP 192.0.2.33;branch=z9hG4bK-g1", "after-garbage");
    c.send_to(req.as_bytes(), server).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "after-garbage");
    nothing(&mut rx).await;
}

#[tokio::test]
async fn responses_are_delivered_unstamped() {
    let (_t, mut rx, server) = bind(Protocol::Udp, "127.0.0.1:0").await;
    let c = client("127.0.0.1:0").await;
    let resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bKx\r\n\
                From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n\
                Call-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    c.send_to(resp.as_bytes(), server).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.status(), Some(200));
    assert!(!m.is_modified());
}

#[tokio::test]
async fn full_channel_drops_and_counts() {
    let limits = TransportLimits {
        channel_capacity: 1,
        ..TransportLimits::default()
    };
    let (t, mut rx, server) = bind_with(Protocol::Udp, "127.0.0.1:0", limits).await;
    let c = client("127.0.0.1:0").await;
    for i in 0..3 {
        let req = request("SIP/2.0/UDP 192.0.2.33;branch=z9hG4bK-f", &format!("f{i}"));
        c.send_to(req.as_bytes(), server).await.unwrap();
    }
    eventually("two messages were dropped", || t.dropped() == 2).await;
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "f0");
    // The loop is still alive once there is room again.
    let req = request("SIP/2.0/UDP 192.0.2.33;branch=z9hG4bK-f", "f3");
    c.send_to(req.as_bytes(), server).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "f3");
}

#[tokio::test]
async fn ipv6_request_and_response() {
    let (t, mut rx, server) = bind(Protocol::Udp, "[::1]:0").await;
    assert!(server.is_ipv6());
    let c = client("[::1]:0").await;
    let port = c.local_addr().unwrap().port();
    let req = request(
        &format!("SIP/2.0/UDP [::1]:{port};rport;branch=z9hG4bK-6"),
        "v6",
    );
    c.send_to(req.as_bytes(), server).await.unwrap();
    let (m, src) = next_message(&mut rx).await;
    let v = m.top_via().unwrap();
    // rport asked for: received is added even though the host matches.
    assert_eq!(v.received(), Some("::1"));
    assert_eq!(v.rport(), Some(Some(port)));
    t.send_response(&src, &Message::response_to(&m, 200, None))
        .await
        .unwrap();
    assert_eq!(recv_datagram(&c).await.status(), Some(200));
}

#[tokio::test]
async fn send_to_sends_a_datagram() {
    let (t, _rx, _server) = bind(Protocol::Udp, "127.0.0.1:0").await;
    let c = client("127.0.0.1:0").await;
    let req = request("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-s", "s1");
    t.send_to(Protocol::Udp, c.local_addr().unwrap(), Bytes::from(req))
        .await
        .unwrap();
    let got = recv_datagram(&c).await;
    assert_eq!(got.call_id().unwrap().as_str(), "s1");
    // No socket for the other family: an error, not a panic.
    let err = t
        .send_to(
            Protocol::Udp,
            "[::1]:5060".parse().unwrap(),
            Bytes::from_static(b"x"),
        )
        .await;
    assert!(err.is_err());
}

#[tokio::test]
async fn local_addr_for_names_the_listener_and_makes_wildcards_concrete() {
    let listen = [
        sip_transport::ListenConfig::new(Protocol::Udp, "0.0.0.0:0".parse().unwrap()),
        sip_transport::ListenConfig::new(Protocol::Tcp, "127.0.0.1:0".parse().unwrap()),
    ];
    let (t, _rx) = sip_transport::Transports::bind(&listen, TransportLimits::default())
        .await
        .unwrap();
    let addrs = t.local_addrs();
    let dest: std::net::SocketAddr = "127.0.0.1:5060".parse().unwrap();
    let udp = t.local_addr_for(Protocol::Udp, dest).unwrap();
    assert_eq!(
        udp.ip().to_string(),
        "127.0.0.1",
        "the route's source, not 0.0.0.0"
    );
    assert_eq!(udp.port(), addrs[0].1.port());
    let tcp = t.local_addr_for(Protocol::Tcp, dest).unwrap();
    assert_eq!(tcp, addrs[1].1, "the listener, not an ephemeral port");
    assert!(
        t.local_addr_for(Protocol::Tls, dest).is_err(),
        "no TLS listener"
    );
}
