//! SIP over WebSocket (RFC 7118): connections that a client opened with an HTTP
//! Upgrade on the HTTP server, handed over here once the handshake is done.
//!
//! Framing is WebSocket's: each WebSocket message (text or binary) holds exactly one
//! SIP message (RFC 7118 §5), so a message is parsed like a UDP datagram — no
//! Content-Length needed, and a bad message costs only itself, never the connection.
//! Messages we send go out as text frames when they are UTF-8 (what browsers' SIP
//! stacks expect), else binary. WebSocket pings are answered by tungstenite; empty or
//! whitespace-only messages (some clients' keep-alives) are ignored.
//!
//! The server never opens WebSocket connections: a response or request for a peer
//! whose connection has closed fails (see [`crate::Protocol::can_connect`]).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::SplitStream;
use futures_util::StreamExt;
use sip_message::Message;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::connections::{Connection, Writer};
use crate::inbound::{classify, is_keepalive};
use crate::tcp::{finish, End};
use crate::{Protocol, Shared, Source};

/// The `Sec-WebSocket-Accept` value answering a client's `Sec-WebSocket-Key`
/// (RFC 6455 §4.2.2), for the HTTP server that performs the upgrade.
pub fn accept_key(client_key: &[u8]) -> String {
    tungstenite::handshake::derive_accept_key(client_key)
}

/// One SIP message as a WebSocket message.
pub(crate) fn frame(bytes: Bytes) -> tungstenite::Message {
    // The clone is a reference count, not a copy.
    match Utf8Bytes::try_from(bytes.clone()) {
        Ok(text) => tungstenite::Message::Text(text),
        Err(_) => tungstenite::Message::Binary(bytes),
    }
}

/// A WebSocket error as the I/O error the send paths report.
pub(crate) fn io_error(e: tungstenite::Error) -> io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            io::Error::new(io::ErrorKind::NotConnected, "WebSocket connection closed")
        }
        other => io::Error::other(other),
    }
}

/// Takes over an upgraded connection: registers it for responses and reuse, and
/// spawns its read loop.
pub(crate) async fn start<S>(
    shared: &Arc<Shared>,
    io: S,
    protocol: Protocol,
    local: SocketAddr,
    remote: SocketAddr,
) -> Arc<Connection>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // A SIP message is one WebSocket message, so the message limit bounds both the
    // frame and the reassembled message, and nothing larger is ever buffered.
    let config = WebSocketConfig::default()
        .max_message_size(Some(shared.limits.max_message_size))
        .max_frame_size(Some(shared.limits.max_message_size));
    let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (sink, stream) = socket.split();
    let conn = shared
        .connections
        .insert(protocol, local, remote, Writer::Frames(Box::pin(sink)));
    let task = tokio::spawn(run(shared.clone(), conn.clone(), stream));
    conn.set_task(task.abort_handle());
    conn
}

async fn run<S>(shared: Arc<Shared>, conn: Arc<Connection>, stream: SplitStream<WebSocketStream<S>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // As for TCP: dropping the transports ends the loop even if the connection
    // was registered after the table was emptied.
    let why = tokio::select! {
        why = read_loop(&shared, &conn, stream) => why,
        () = shared.closed() => End::ReceiverGone,
    };
    finish(&shared, &conn, why).await;
}

async fn read_loop<S>(
    shared: &Shared,
    conn: &Connection,
    mut stream: SplitStream<WebSocketStream<S>>,
) -> End
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let source = Source {
        protocol: conn.protocol,
        local: conn.local,
        remote: conn.remote,
        connection: Some(conn.id),
    };
    loop {
        let wait = shared.limits.idle_timeout.saturating_sub(conn.idle_for());
        let data = match tokio::time::timeout(wait, stream.next()).await {
            Err(_) => {
                if conn.idle_for() >= shared.limits.idle_timeout {
                    return End::Idle;
                }
                continue;
            }
            Ok(None) => return End::Eof,
            Ok(Some(Err(tungstenite::Error::Capacity(e)))) => {
                tracing::debug!(conn = ?conn.id, error = %e, "WebSocket message too large");
                return End::TooLarge;
            }
            Ok(Some(Err(tungstenite::Error::ConnectionClosed))) => return End::Eof,
            Ok(Some(Err(e))) => return End::Error(io_error(e)),
            Ok(Some(Ok(message))) => {
                conn.touch();
                match message {
                    tungstenite::Message::Text(text) => Bytes::from(text),
                    tungstenite::Message::Binary(bytes) => bytes,
                    tungstenite::Message::Close(_) => return End::Eof,
                    // Pings are answered by tungstenite itself; pongs and raw frames
                    // carry nothing for SIP.
                    _ => continue,
                }
            }
        };
        if is_keepalive(&data) {
            tracing::trace!(conn = ?conn.id, "WebSocket keep-alive");
            continue;
        }
        let parsed = Message::parse_with_limits(data, &shared.parse_limits);
        if let Some(inbound) = classify(parsed, source.clone()) {
            if !shared.deliver(inbound) {
                return End::ReceiverGone;
            }
        }
    }
}
