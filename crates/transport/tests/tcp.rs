//! TCP over real loopback sockets: framing, keep-alive, answering on the same
//! connection or a new one, limits, reuse, IPv6, and the report of each connection's
//! end.

mod common;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::*;
use sip_message::{Frame, Message, StreamFramer};
use sip_transport::{Inbound, Protocol, TransportLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn connect(server: std::net::SocketAddr) -> TcpStream {
    let s = tokio::time::timeout(WAIT, TcpStream::connect(server))
        .await
        .expect("connect timed out")
        .expect("connect");
    s.set_nodelay(true).unwrap();
    s
}

fn tcp_request(call_id: &str) -> String {
    request("SIP/2.0/TCP 192.0.2.33:5060;branch=z9hG4bK-t", call_id)
}

#[tokio::test]
async fn request_split_across_writes() {
    let (_t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let mut c = connect(server).await;
    let body = "v=0\r\no=- 1 1 IN IP4 192.0.2.33\r\n";
    let req = tcp_request("split").replace(
        "Content-Length: 0\r\n",
        &format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n",
            body.len()
        ),
    ) + body;
    let bytes = req.as_bytes();
    // Pieces that cut the start line, a header, the blank line and the body.
    for piece in [
        &bytes[..5],
        &bytes[5..60],
        &bytes[60..bytes.len() - 20],
        &bytes[bytes.len() - 20..bytes.len() - 3],
        &bytes[bytes.len() - 3..],
    ] {
        c.write_all(piece).await.unwrap();
        c.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (m, src) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "split");
    assert_eq!(&m.body()[..], body.as_bytes());
    assert_eq!(src.protocol, Protocol::Tcp);
    assert_eq!(src.remote, c.local_addr().unwrap());
    assert!(src.connection.is_some());
    // Stamped like UDP: the sent-by is not the source.
    assert_eq!(m.top_via().unwrap().received(), Some("127.0.0.1"));
}

#[tokio::test]
async fn two_requests_in_one_write() {
    let (_t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let mut c = connect(server).await;
    let both = tcp_request("one") + &tcp_request("two");
    c.write_all(both.as_bytes()).await.unwrap();
    let (a, sa) = next_message(&mut rx).await;
    let (b, sb) = next_message(&mut rx).await;
    assert_eq!(a.call_id().unwrap().as_str(), "one");
    assert_eq!(b.call_id().unwrap().as_str(), "two");
    assert_eq!(sa.connection, sb.connection);
}

#[tokio::test]
async fn crlf_ping_gets_a_crlf_pong() {
    let (_t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let mut c = connect(server).await;
    c.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    tokio::time::timeout(WAIT, c.read_exact(&mut pong))
        .await
        .expect("no pong")
        .unwrap();
    assert_eq!(&pong, b"\r\n");
    // A ping split across writes is still a ping, and messages go on after it.
    c.write_all(b"\r\n").await.unwrap();
    c.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    c.write_all(format!("\r\n{}", tcp_request("after-ping")).as_bytes())
        .await
        .unwrap();
    tokio::time::timeout(WAIT, c.read_exact(&mut pong))
        .await
        .expect("no second pong")
        .unwrap();
    assert_eq!(&pong, b"\r\n");
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "after-ping");
}

#[tokio::test]
async fn response_goes_back_on_the_same_connection() {
    let (t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let mut c = connect(server).await;
    c.write_all(tcp_request("same").as_bytes()).await.unwrap();
    let (m, src) = next_message(&mut rx).await;
    t.send_response(&src, &Message::response_to(&m, 200, None))
        .await
        .unwrap();
    let got = read_message(&mut c).await;
    assert_eq!(got.status(), Some(200));
    assert_eq!(got.call_id().unwrap().as_str(), "same");
    assert_eq!(t.connection_count(), 1);
}

#[tokio::test]
async fn response_opens_a_new_connection_when_the_old_one_is_gone() {
    let (t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    // The client listens where its Via says, and sends from another (ephemeral) port.
    let client_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lport = client_listener.local_addr().unwrap().port();
    let mut c = connect(server).await;
    let req = request(
        &format!("SIP/2.0/TCP 127.0.0.1:{lport};branch=z9hG4bK-n"),
        "new-conn",
    );
    c.write_all(req.as_bytes()).await.unwrap();
    let (m, src) = next_message(&mut rx).await;
    drop(c);
    eventually("the server noticed the close", || t.connection_count() == 0).await;
    t.send_response(&src, &Message::response_to(&m, 200, None))
        .await
        .unwrap();
    let (mut s, _) = tokio::time::timeout(WAIT, client_listener.accept())
        .await
        .expect("no new connection")
        .unwrap();
    let got = read_message(&mut s).await;
    assert_eq!(got.status(), Some(200));
    assert_eq!(got.call_id().unwrap().as_str(), "new-conn");
}

#[tokio::test]
async fn oversize_message_closes_the_connection() {
    let limits = TransportLimits {
        max_message_size: 1000,
        ..TransportLimits::default()
    };
    let (t, mut rx, server) = bind_with(Protocol::Tcp, "127.0.0.1:0", limits).await;
    // Content-Length announcing more than the limit.
    let mut c = connect(server).await;
    let first = c.local_addr().unwrap();
    let req = tcp_request("big").replace("Content-Length: 0", "Content-Length: 5000");
    c.write_all(req.as_bytes()).await.unwrap();
    closed(&mut c).await;
    assert_eq!(next_closed(&mut rx).await.remote, first);
    // A header section that never ends.
    let mut c = connect(server).await;
    let second = c.local_addr().unwrap();
    c.write_all(b"OPTIONS sip:a@example.com SIP/2.0\r\n")
        .await
        .unwrap();
    let pad = format!("X-Pad: {}\r\n", "p".repeat(100));
    for _ in 0..12 {
        if c.write_all(pad.as_bytes()).await.is_err() {
            break;
        }
    }
    closed(&mut c).await;
    assert_eq!(next_closed(&mut rx).await.remote, second);
    nothing(&mut rx).await;
    eventually("both connections are forgotten", || {
        t.connection_count() == 0
    })
    .await;
    // The listener still accepts.
    let mut c = connect(server).await;
    c.write_all(tcp_request("small").as_bytes()).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "small");
}

#[tokio::test]
async fn too_many_buffered_bytes_close_the_connection() {
    let limits = TransportLimits {
        max_buffered: 300,
        ..TransportLimits::default()
    };
    let (_t, _rx, server) = bind_with(Protocol::Tcp, "127.0.0.1:0", limits).await;
    let mut c = connect(server).await;
    let req = tcp_request("buffered").replace("Content-Length: 0", "Content-Length: 2000");
    c.write_all(req.as_bytes()).await.unwrap();
    let _ = c.write_all(&[b'x'; 600]).await;
    closed(&mut c).await;
}

#[tokio::test]
async fn malformed_request_is_reported_and_can_be_answered() {
    let (t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let mut c = connect(server).await;
    let req = tcp_request("bad-cl").replace("Content-Length: 0", "Content-Length: 1, 2");
    c.write_all(req.as_bytes()).await.unwrap();
    let (head, reason, src) = match next(&mut rx).await {
        Inbound::Malformed {
            head,
            reason,
            source,
        } => (head, reason, source),
        other => panic!("expected Malformed, got {other:?}"),
    };
    assert!(!reason.is_empty());
    assert_eq!(head.call_id().unwrap().as_str(), "bad-cl");
    // The connection stays writable long enough for the 400.
    t.send_response(&src, &Message::response_to(&head, 400, Some(&reason)))
        .await
        .unwrap();
    let got = read_message(&mut c).await;
    assert_eq!(got.status(), Some(400));
}

#[tokio::test]
async fn garbage_closes_only_its_connection() {
    let (_t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let mut bad = connect(server).await;
    bad.write_all(b"garbage\r\n\r\n").await.unwrap();
    closed(&mut bad).await;
    // Nothing of it is delivered but its end.
    assert_eq!(next_closed(&mut rx).await.remote, bad.local_addr().unwrap());
    let mut good = connect(server).await;
    good.write_all(tcp_request("good").as_bytes())
        .await
        .unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "good");
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let limits = TransportLimits {
        idle_timeout: Duration::from_millis(200),
        ..TransportLimits::default()
    };
    let (t, mut rx, server) = bind_with(Protocol::Tcp, "127.0.0.1:0", limits).await;
    let mut c = connect(server).await;
    eventually("the connection is registered", || t.connection_count() == 1).await;
    closed(&mut c).await;
    eventually("the connection is forgotten", || t.connection_count() == 0).await;
    assert_eq!(next_closed(&mut rx).await.remote, c.local_addr().unwrap());
}

#[tokio::test]
async fn send_to_reuses_an_accepted_connection() {
    let (t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let mut c = connect(server).await;
    c.write_all(tcp_request("reuse").as_bytes()).await.unwrap();
    let (_, src) = next_message(&mut rx).await;
    // A request from us to the peer's address goes over the connection it opened.
    let req = request("SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-out", "to-peer");
    t.send_to(Protocol::Tcp, src.remote, Bytes::from(req))
        .await
        .unwrap();
    let got = read_message(&mut c).await;
    assert_eq!(got.call_id().unwrap().as_str(), "to-peer");
    assert_eq!(t.connection_count(), 1);
}

#[tokio::test]
async fn send_to_opens_then_reuses_a_connection_that_also_receives() {
    let (t, mut rx, _server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let first = request("SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-1", "first");
    t.send_to(Protocol::Tcp, peer_addr, Bytes::from(first))
        .await
        .unwrap();
    let (mut s, _) = tokio::time::timeout(WAIT, peer.accept())
        .await
        .expect("no connection")
        .unwrap();
    let second = request("SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-2", "second");
    t.send_to(Protocol::Tcp, peer_addr, Bytes::from(second))
        .await
        .unwrap();
    let mut framer = StreamFramer::default();
    let mut buf = BytesMut::new();
    for want in ["first", "second"] {
        match read_frame(&mut s, &mut framer, &mut buf).await {
            Frame::Message(m) => assert_eq!(m.call_id().unwrap().as_str(), want),
            other => panic!("expected a message, got {other:?}"),
        }
    }
    // No second connection was opened.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), peer.accept())
            .await
            .is_err()
    );
    assert_eq!(t.connection_count(), 1);
    // The peer's response comes back in on that connection.
    let resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-2\r\n\
                From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:server@example.com>;tag=b\r\n\
                Call-ID: second\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    s.write_all(resp.as_bytes()).await.unwrap();
    let (m, src) = next_message(&mut rx).await;
    assert_eq!(m.status(), Some(200));
    assert_eq!(src.remote, peer_addr);
    assert!(src.connection.is_some());
}

#[tokio::test]
async fn send_to_a_closed_port_fails() {
    let (t, _rx, _server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = gone.local_addr().unwrap();
    drop(gone);
    let r = t
        .send_to(Protocol::Tcp, addr, Bytes::from_static(b"x"))
        .await;
    assert!(r.is_err());
    assert_eq!(t.connection_count(), 0);
}

#[tokio::test]
async fn ipv6_request_and_response() {
    let (t, mut rx, server) = bind(Protocol::Tcp, "[::1]:0").await;
    assert!(server.is_ipv6());
    let mut c = connect(server).await;
    let req = request("SIP/2.0/TCP [2001:db8::1];rport;branch=z9hG4bK-6", "v6");
    c.write_all(req.as_bytes()).await.unwrap();
    let (m, src) = next_message(&mut rx).await;
    let v = m.top_via().unwrap();
    assert_eq!(v.received(), Some("::1"));
    assert_eq!(v.rport(), Some(Some(c.local_addr().unwrap().port())));
    t.send_response(&src, &Message::response_to(&m, 200, None))
        .await
        .unwrap();
    assert_eq!(read_message(&mut c).await.status(), Some(200));
}

#[tokio::test]
async fn dropping_the_transports_closes_connections() {
    let (t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let mut c = connect(server).await;
    eventually("the connection is registered", || t.connection_count() == 1).await;
    drop(t);
    closed(&mut c).await;
    // Shutting down is not reported connection by connection: the channel just ends.
    let end = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("the channel ends");
    assert!(end.is_none(), "unexpected inbound: {end:?}");
}

#[tokio::test]
async fn connections_beyond_the_per_ip_limit_are_closed_at_once() {
    let limits = TransportLimits {
        max_connections_per_ip: 2,
        ..TransportLimits::default()
    };
    let (t, mut rx, server) = bind_with(Protocol::Tcp, "127.0.0.1:0", limits).await;
    let _a = connect(server).await;
    let _b = connect(server).await;
    eventually("two connections open", || t.connection_count() == 2).await;
    let mut c = connect(server).await;
    closed(&mut c).await;
    assert_eq!(t.refused_connections(), 1);
    // The admitted ones still work.
    let mut a = _a;
    a.write_all(tcp_request("still").as_bytes()).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "still");
}

#[tokio::test]
async fn a_bad_message_with_a_known_end_is_answerable_and_the_connection_reads_on() {
    let (t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let mut c = connect(server).await;
    let bad = tcp_request("bad-line").replace("Max-Forwards: 70\r\n", "Max-Forwards 70\r\n");
    let garbled_start = tcp_request("bad-start").replace("OPTIONS ", "OPTIONS  ");
    let all = bad + &garbled_start + &tcp_request("after");
    c.write_all(all.as_bytes()).await.unwrap();
    let (head, reason, src) = match next(&mut rx).await {
        Inbound::Malformed {
            head,
            reason,
            source,
        } => (head, reason, source),
        other => panic!("expected Malformed, got {other:?}"),
    };
    assert!(reason.contains("Max-Forwards"), "{reason}");
    assert_eq!(head.call_id().unwrap().as_str(), "bad-line");
    assert_eq!(head.top_via().unwrap().received(), Some("127.0.0.1"));
    // The request with a bad start line cannot be answered: it is dropped, and the
    // next one arrives on the same connection.
    let (m, src2) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "after");
    assert_eq!(src.connection, src2.connection);
    t.send_response(&src, &Message::response_to(&head, 400, Some(&reason)))
        .await
        .unwrap();
    assert_eq!(read_message(&mut c).await.status(), Some(400));
    assert_eq!(t.connection_count(), 1);
}

#[tokio::test]
async fn a_silent_accepted_connection_is_closed_after_the_first_message_timeout() {
    let limits = TransportLimits {
        first_message_timeout: Duration::from_millis(300),
        ..TransportLimits::default()
    };
    let (t, mut rx, server) = bind_with(Protocol::Tcp, "127.0.0.1:0", limits).await;
    let started = tokio::time::Instant::now();
    let mut silent = connect(server).await;
    // Keep-alive pings are answered but do not count as a first message.
    let mut pinging = connect(server).await;
    pinging.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    tokio::time::timeout(WAIT, pinging.read_exact(&mut pong))
        .await
        .expect("pong")
        .unwrap();
    // A head trickled a byte at a time never completes a message either.
    let mut trickling = connect(server).await;
    let trickle = tokio::spawn(async move {
        for b in b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: ".iter().cycle() {
            if trickling.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let mut talking = connect(server).await;
    talking
        .write_all(tcp_request("first").as_bytes())
        .await
        .unwrap();
    let _ = next_message(&mut rx).await;
    closed(&mut silent).await;
    closed(&mut pinging).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed by the first-message limit, not the idle timeout"
    );
    tokio::time::timeout(WAIT, trickle)
        .await
        .expect("the trickling connection is closed too")
        .unwrap();
    // The one that sent a message stays: the idle timeout (300 s) applies to it.
    still_open(&mut talking, Duration::from_millis(400)).await;
    eventually("only the talking connection is left", || {
        t.connection_count() == 1
    })
    .await;
}

#[tokio::test]
async fn the_first_message_timeout_does_not_apply_to_connections_we_open() {
    let limits = TransportLimits {
        first_message_timeout: Duration::from_millis(100),
        ..TransportLimits::default()
    };
    let (t, _rx, _server) = bind_with(Protocol::Tcp, "127.0.0.1:0", limits).await;
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let req = request("SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-o", "out");
    t.send_to(Protocol::Tcp, peer.local_addr().unwrap(), Bytes::from(req))
        .await
        .unwrap();
    let (mut s, _) = peer.accept().await.unwrap();
    let _ = read_message(&mut s).await;
    // The peer never sends anything back; the connection is ours and stays.
    still_open(&mut s, Duration::from_millis(400)).await;
    assert_eq!(t.connection_count(), 1);
}

#[tokio::test]
async fn the_end_of_a_connection_is_reported_once_after_its_messages() {
    let (t, mut rx, server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let mut c = connect(server).await;
    let mut two = tcp_request("one");
    two.push_str(&tcp_request("two"));
    c.write_all(two.as_bytes()).await.unwrap();
    let (_, src) = next_message(&mut rx).await;
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "two");
    let ours = c.local_addr().unwrap();
    drop(c);
    let end = next_closed(&mut rx).await;
    assert_eq!(
        end,
        Closed {
            protocol: Protocol::Tcp,
            local: src.local,
            remote: ours,
            connection: src
                .connection
                .expect("a stream source names its connection"),
        }
    );
    assert_eq!(end.local, server);
    nothing(&mut rx).await;
    assert_eq!(t.connection_count(), 0);
}

#[tokio::test]
async fn a_connection_we_opened_reports_its_end_too() {
    let (t, mut rx, _server) = bind(Protocol::Tcp, "127.0.0.1:0").await;
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dest = peer.local_addr().unwrap();
    let req = request("SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-o", "out");
    t.send_to(Protocol::Tcp, dest, Bytes::from(req))
        .await
        .unwrap();
    let (mut s, _) = peer.accept().await.unwrap();
    let _ = read_message(&mut s).await;
    drop(s);
    let end = next_closed(&mut rx).await;
    assert_eq!((end.protocol, end.remote), (Protocol::Tcp, dest));
    nothing(&mut rx).await;
}

#[tokio::test]
async fn a_write_that_times_out_closes_the_connection_and_reports_it() {
    let limits = TransportLimits {
        write_timeout: Duration::from_millis(200),
        ..TransportLimits::default()
    };
    let (t, mut rx, server) = bind_with(Protocol::Tcp, "127.0.0.1:0", limits).await;
    let mut c = connect(server).await;
    c.write_all(tcp_request("slow-reader").as_bytes())
        .await
        .unwrap();
    let (_, src) = next_message(&mut rx).await;
    // The client never reads: once the socket buffers are full a write times out,
    // which closes the connection from the sending side (its read loop is stopped).
    let big = Bytes::from(vec![b' '; 60_000]);
    let mut failed = false;
    for _ in 0..2000 {
        if t.send_to(Protocol::Tcp, src.remote, big.clone())
            .await
            .is_err()
        {
            failed = true;
            break;
        }
        if t.connection_count() == 0 {
            break;
        }
    }
    assert!(
        failed || t.connection_count() == 0,
        "no write ever timed out"
    );
    let end = next_closed(&mut rx).await;
    assert_eq!(end.connection, src.connection.unwrap());
    assert_eq!(end.remote, src.remote);
    drop(c);
}
