//! The whole server over WebSocket (RFC 7118): `switchboard serve` with an
//! `http.conf` that enables the HTTP server (and HTTPS for WSS, certificates made by
//! rcgen), driven by a tokio-tungstenite client that offers the `sip` subprotocol.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sip_transport::rustls::pki_types::ServerName;
use sip_transport::rustls::{self, ClientConfig, RootCertStore};
use sip_transport::tokio_rustls::TlsConnector;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

mod support;
use support::{config_dir, free_port, make_certs, Server};

/// A WebSocket client's OPTIONS: a made-up `.invalid` sent-by, no Content-Length
/// (RFC 7118 §5 makes it optional).
fn ws_options(call_id: &str, transport: &str) -> String {
    format!(
        "OPTIONS sip:switchboard@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} df7jal23ls0d.invalid;branch=z9hG4bK{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@example.invalid>;tag=t{call_id}\r\n\
         To: <sip:switchboard@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\r\n"
    )
}

/// A server with a UDP transport (for readiness) and the HTTP server on `http`
/// (and HTTPS on `https` when given); the roots trusting its certificate.
fn start(tag: &str, https: Option<u16>) -> (Server, u16, RootCertStore) {
    let dir = config_dir(tag);
    let mut roots = RootCertStore::empty();
    let (udp, http) = (free_port(), free_port());
    let mut http_conf = format!("[general]\nenabled=yes\nbindaddr=127.0.0.1\nbindport={http}\n");
    if let Some(port) = https {
        roots.add(make_certs(&dir)).expect("CA");
        http_conf.push_str(&format!(
            "tlsenable=yes\ntlsbindaddr=127.0.0.1:{port}\ntlscertfile=cert.pem\ntlsprivatekey=key.pem\n"
        ));
    }
    std::fs::write(dir.join("http.conf"), http_conf).expect("write http.conf");
    std::fs::write(
        dir.join("pjsip.conf"),
        format!(
            "[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{udp}\n\n\
             [ws]\ntype=transport\nprotocol=ws\nbind=0.0.0.0\n\n\
             [wss]\ntype=transport\nprotocol=wss\nbind=0.0.0.0\n\n{}",
            support::ANONYMOUS
        ),
    )
    .expect("write pjsip.conf");
    (Server::start(dir, udp), http, roots)
}

async fn handshake<S>(stream: S, url: &str) -> Result<WebSocketStream<S>, tungstenite::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
    let (socket, response) = tokio_tungstenite::client_async(request, stream).await?;
    assert_eq!(
        response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.as_bytes()),
        Some(&b"sip"[..]),
        "the server confirms the sip subprotocol"
    );
    Ok(socket)
}

/// The next SIP message received, as text (at most 3 s).
async fn next_sip<S>(socket: &mut WebSocketStream<S>) -> String
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(3), socket.next())
            .await
            .expect("a message within 3 s")
            .expect("connection open")
            .expect("no error");
        match message {
            Message::Text(t) => return t.to_string(),
            Message::Binary(b) => return String::from_utf8_lossy(&b).into_owned(),
            _ => continue,
        }
    }
}

/// Drives one connection: two OPTIONS, a keep-alive, a bad message (answered 400,
/// connection kept), one more OPTIONS.
async fn exchange<S>(socket: &mut WebSocketStream<S>, transport: &str, log: impl Fn() -> String)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    socket
        .send(Message::text(ws_options("ws-1", transport)))
        .await
        .expect("send");
    let text = next_sip(socket).await;
    assert!(text.starts_with("SIP/2.0 200"), "{text}\n{}", log());
    assert!(text.contains("Call-ID: ws-1"), "{text}");
    assert!(
        text.contains(&format!(
            "Via: SIP/2.0/{transport} df7jal23ls0d.invalid;branch=z9hG4bKws-1;rport="
        )) && text.contains("received=127.0.0.1"),
        "the Via is stamped with the real source: {text}"
    );
    // A keep-alive message, then a request as a binary message.
    socket.send(Message::text("\r\n\r\n")).await.expect("send");
    socket
        .send(Message::binary(ws_options("ws-2", transport).into_bytes()))
        .await
        .expect("send");
    let text = next_sip(socket).await;
    assert!(text.contains("Call-ID: ws-2"), "{text}");
    // A request with a broken header costs only itself (one message per frame).
    let bad = ws_options("ws-bad", transport).replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS");
    socket.send(Message::text(bad)).await.expect("send");
    let text = next_sip(socket).await;
    assert!(text.starts_with("SIP/2.0 400"), "{text}");
    socket
        .send(Message::text(ws_options("ws-3", transport)))
        .await
        .expect("send");
    let text = next_sip(socket).await;
    assert!(
        text.starts_with("SIP/2.0 200") && text.contains("Call-ID: ws-3"),
        "{text}"
    );
}

#[tokio::test]
async fn options_over_ws() {
    let (server, http, _) = start("ws", None);
    let tcp = TcpStream::connect(("127.0.0.1", http))
        .await
        .expect("connect");
    let mut socket = handshake(tcp, &format!("ws://127.0.0.1:{http}/ws"))
        .await
        .unwrap_or_else(|e| panic!("upgrade: {e}\n{}", server.log()));
    exchange(&mut socket, "WS", || server.log()).await;
    let log = server.log();
    assert!(
        log.contains("transport 'wss': protocol=wss is carried by the HTTP server"),
        "a wss transport without HTTPS is warned about:\n{log}"
    );
    socket.close(None).await.ok();
    assert_eq!(server.stop(), Some(0));
}

#[tokio::test]
async fn options_over_wss() {
    let https = free_port();
    let (server, _, roots) = start("wss", Some(https));
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    let tcp = TcpStream::connect(("127.0.0.1", https))
        .await
        .expect("connect");
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
        .await
        .unwrap_or_else(|e| panic!("TLS: {e}\n{}", server.log()));
    let mut socket = handshake(tls, &format!("wss://127.0.0.1:{https}/ws"))
        .await
        .unwrap_or_else(|e| panic!("upgrade: {e}\n{}", server.log()));
    exchange(&mut socket, "WSS", || server.log()).await;
    assert!(!server.log().contains("protocol=wss is carried"));
    assert_eq!(server.stop(), Some(0));
}

/// Raw HTTP: what a request gets that is not a proper SIP WebSocket upgrade.
async fn http_status(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf))
        .await
        .expect("an answer within 3 s")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn upgrades_without_sip_or_elsewhere_are_refused() {
    let (server, http, _) = start("ws-refuse", None);
    let addr = SocketAddr::from(([127, 0, 0, 1], http));
    let upgrade = |path: &str, protocol: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{protocol}\r\n"
        )
    };
    assert_eq!(
        http_status(addr, &upgrade("/ws", "")).await,
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        http_status(addr, &upgrade("/ws", "Sec-WebSocket-Protocol: chat\r\n")).await,
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        http_status(addr, &upgrade("/other", "Sec-WebSocket-Protocol: sip\r\n")).await,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        http_status(addr, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await,
        "HTTP/1.1 426 Upgrade Required"
    );
    assert_eq!(
        http_status(addr, &upgrade("/ws", "Sec-WebSocket-Protocol: sip\r\n")).await,
        "HTTP/1.1 101 Switching Protocols"
    );
    assert!(server
        .log()
        .contains("the WebSocket subprotocol 'sip' is required"));
    assert_eq!(server.stop(), Some(0));
}
