//! SIP over WebSocket connections handed over by an HTTP server
//! (`Transports::accept_websocket`), here a bare TCP connection on which both sides
//! skip the HTTP upgrade: messages in, responses out, and the report of the end.

mod common;

use std::net::SocketAddr;

use common::*;
use futures_util::{SinkExt, StreamExt};
use sip_message::Message;
use sip_transport::{Protocol, TransportLimits, Transports};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::WebSocketStream;

/// A WebSocket client connected to transports that listen on nothing of their own,
/// as the HTTP server hands connections over after the 101.
async fn pair(
    protocol: Protocol,
) -> (
    Transports,
    tokio::sync::mpsc::Receiver<sip_transport::Inbound>,
    WebSocketStream<TcpStream>,
    SocketAddr,
    SocketAddr,
) {
    let (t, rx) = Transports::bind(&[], TransportLimits::default())
        .await
        .expect("bind");
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(http.local_addr().unwrap())
        .await
        .unwrap();
    let (server_side, remote) = http.accept().await.unwrap();
    let local = server_side.local_addr().unwrap();
    t.accept_websocket(server_side, protocol, local, remote)
        .await;
    let ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    (t, rx, ws, local, remote)
}

#[tokio::test]
async fn a_request_is_answered_on_its_websocket_and_its_end_is_reported() {
    let (t, mut rx, mut ws, local, remote) = pair(Protocol::Ws).await;
    let req = request("SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-w", "ws-1");
    ws.send(Frame::text(req)).await.unwrap();
    let (m, src) = next_message(&mut rx).await;
    assert_eq!(src.protocol, Protocol::Ws);
    assert_eq!((src.local, src.remote), (local, remote));
    t.send_response(&src, &Message::response_to(&m, 200, None))
        .await
        .unwrap();
    let answer = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("an answer")
        .expect("a frame")
        .expect("no error");
    assert!(answer.into_text().unwrap().starts_with("SIP/2.0 200"));

    ws.close(None).await.unwrap();
    let end = next_closed(&mut rx).await;
    assert_eq!(
        end,
        Closed {
            protocol: Protocol::Ws,
            local,
            remote,
            connection: src.connection.unwrap(),
        }
    );
    nothing(&mut rx).await;
    assert_eq!(t.connection_count(), 0);
}

#[tokio::test]
async fn a_dropped_secure_websocket_is_reported_too() {
    let (_t, mut rx, ws, local, remote) = pair(Protocol::Wss).await;
    drop(ws);
    let end = next_closed(&mut rx).await;
    assert_eq!(
        (end.protocol, end.local, end.remote),
        (Protocol::Wss, local, remote)
    );
}
