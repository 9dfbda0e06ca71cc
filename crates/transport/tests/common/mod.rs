//! Helpers shared by the socket tests: real sockets on loopback, bounded waits.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use sip_message::{Frame, Message, StreamFramer};
use sip_transport::{ConnectionId, Inbound, ListenConfig, Protocol, TransportLimits, Transports};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc::Receiver;

/// Upper bound for anything a test waits on.
pub const WAIT: Duration = Duration::from_secs(5);

pub async fn bind(protocol: Protocol, addr: &str) -> (Transports, Receiver<Inbound>, SocketAddr) {
    bind_with(protocol, addr, TransportLimits::default()).await
}

pub async fn bind_with(
    protocol: Protocol,
    addr: &str,
    limits: TransportLimits,
) -> (Transports, Receiver<Inbound>, SocketAddr) {
    let listen = [ListenConfig::new(protocol, addr.parse().expect("address"))];
    let (t, rx) = Transports::bind(&listen, limits).await.expect("bind");
    let local = t.local_addrs()[0].1;
    assert_ne!(local.port(), 0);
    (t, rx, local)
}

/// An OPTIONS request with the given top Via value.
pub fn request(via: &str, call_id: &str) -> String {
    format!(
        "OPTIONS sip:server@example.com SIP/2.0\r\n\
         Via: {via}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@example.com>;tag=a1\r\n\
         To: <sip:server@example.com>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

pub async fn next(rx: &mut Receiver<Inbound>) -> Inbound {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("timed out waiting for an inbound message")
        .expect("channel closed")
}

pub async fn next_message(rx: &mut Receiver<Inbound>) -> (Message, sip_transport::Source) {
    match next(rx).await {
        Inbound::Message { message, source } => (message, source),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The end of a connection, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    pub protocol: Protocol,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub connection: ConnectionId,
}

/// The next inbound event, which must be the end of a connection.
pub async fn next_closed(rx: &mut Receiver<Inbound>) -> Closed {
    match next(rx).await {
        Inbound::Closed {
            protocol,
            local,
            remote,
            connection,
        } => Closed {
            protocol,
            local,
            remote,
            connection,
        },
        other => panic!("expected a connection's end, got {other:?}"),
    }
}

/// Asserts nothing arrives for a short while.
pub async fn nothing(rx: &mut Receiver<Inbound>) {
    if let Ok(Some(i)) = tokio::time::timeout(Duration::from_millis(150), rx.recv()).await {
        panic!("unexpected inbound: {i:?}");
    }
}

/// Reads one SIP message (or keep-alive) from a client stream.
pub async fn read_frame(
    stream: &mut TcpStream,
    framer: &mut StreamFramer,
    buf: &mut BytesMut,
) -> Frame {
    loop {
        if let Some(f) = framer.next(buf).expect("peer sent something unframeable") {
            return f;
        }
        let n = tokio::time::timeout(WAIT, stream.read_buf(buf))
            .await
            .expect("timed out reading")
            .expect("read");
        assert!(n > 0, "connection closed while waiting for a frame");
    }
}

pub async fn read_message(stream: &mut TcpStream) -> Message {
    let mut framer = StreamFramer::default();
    let mut buf = BytesMut::new();
    match read_frame(stream, &mut framer, &mut buf).await {
        Frame::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Waits until the server has closed the stream (read returns 0 or an error).
pub async fn closed<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) {
    let mut sink = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Err(_) => panic!("connection still open"),
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => continue,
        }
    }
}

/// Asserts the server keeps the stream open for `long` (nothing to read, no close).
pub async fn still_open<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, long: Duration) {
    let mut sink = [0u8; 64];
    match tokio::time::timeout(long, stream.read(&mut sink)).await {
        Err(_) => {}
        Ok(Ok(0)) | Ok(Err(_)) => panic!("the connection was closed"),
        Ok(Ok(n)) => panic!("unexpected bytes: {:?}", &sink[..n]),
    }
}

/// Polls `cond` every few milliseconds until it holds, for at most [`WAIT`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
