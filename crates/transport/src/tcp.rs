//! TCP: the accept loop, outgoing connections, and one read loop per connection
//! (also the read loop of TLS connections, see [`crate::tls`]).
//!
//! A stream carries messages back to back, framed by Content-Length (RFC 3261 §18.3),
//! with CRLF keep-alives between them (RFC 5626 §4.4.1: a double-CRLF ping is answered
//! with a single-CRLF pong). Framing is `sip_message::StreamFramer`'s job; this module
//! reads, enforces the limits and closes connections:
//!
//! * a message larger than `max_message_size`, a stream that cannot be framed (no or a
//!   bad Content-Length), or more than `max_buffered` bytes waiting: closed with a log
//!   line — after such an error the next message boundary is unknown;
//! * a message that does not parse but whose end is known (a bad header line or start
//!   line, a valid Content-Length): delivered as [`crate::Inbound::Malformed`] when it
//!   is a request whose head could be read, else dropped — and the connection reads on;
//! * an accepted connection whose first message has not arrived `first_message_timeout`
//!   after it was accepted: closed (a connect-and-say-nothing flood frees its slots
//!   quickly);
//! * no traffic either way for `idle_timeout`: closed.
//!
//! Every read loop also ends when the transports are dropped, even one that started
//! while they were being dropped (see `Shared::closed`).
//!
//! When framing fails after a request's head was read (a bad Content-Length), the head
//! is delivered as [`crate::Inbound::Malformed`] and the connection is kept open for
//! writing for a short grace period so the endpoint's 400 can still reach the peer.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use sip_message::{Frame, StreamFramer};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};

use crate::connections::{Connection, Writer};
use crate::inbound::classify;
use crate::{Protocol, Shared, Source};

/// How long a connection whose framing was lost stays open for the 400 to be written.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Pause after an accept error (EMFILE and the like) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts connections until the transports are dropped (the task is aborted).
///
/// The next accepted connection that the connection limits (`max_connections`,
/// `max_connections_per_ip`) admit; refused ones are closed at once, and a failing
/// `accept` (EMFILE and the like) is retried after a pause. Shared by the TCP and TLS
/// listeners so both enforce the same rules.
pub(crate) async fn accept_admitted(
    shared: &Shared,
    listener: &TcpListener,
    local: SocketAddr,
    protocol: &str,
) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) if shared.admit(remote) => return (stream, remote),
            Ok((stream, _)) => drop(stream),
            Err(e) => {
                tracing::warn!(%local, error = %e, "{protocol} accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, local: SocketAddr) {
    loop {
        let (stream, remote) = accept_admitted(&shared, &listener, local, "TCP").await;
        tracing::debug!(%local, %remote, "TCP connection accepted");
        start(&shared, stream, local, remote, Origin::Accepted);
    }
}

/// Opens a connection to `dest` (RFC 3261 §18.1.1); it is registered for reuse and
/// read like an accepted one, since responses come back on it.
pub(crate) async fn connect(shared: &Arc<Shared>, dest: SocketAddr) -> io::Result<Arc<Connection>> {
    let stream = connect_socket(shared, dest).await?;
    let local = stream.local_addr()?;
    tracing::debug!(%local, remote = %dest, "TCP connection opened");
    Ok(start(shared, stream, local, dest, Origin::Opened))
}

/// Connects a TCP socket to `dest` within the connect timeout (TCP and TLS).
pub(crate) async fn connect_socket(shared: &Shared, dest: SocketAddr) -> io::Result<TcpStream> {
    let stream = tokio::time::timeout(shared.limits.connect_timeout, TcpStream::connect(dest))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect to {dest} timed out"),
            )
        })??;
    // SIP messages are written whole; Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Who opened a connection: only accepted ones must send a first message in time
/// (`first_message_timeout`); on ones we open we speak first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Accepted by one of our listeners.
    Accepted,
    /// Opened by us to send.
    Opened,
}

/// Registers a TCP connection and spawns its read loop.
fn start(
    shared: &Arc<Shared>,
    stream: TcpStream,
    local: SocketAddr,
    remote: SocketAddr,
    origin: Origin,
) -> Arc<Connection> {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    start_split(
        shared,
        Protocol::Tcp,
        read,
        Writer::Bytes(Box::new(write)),
        local,
        remote,
        origin,
    )
}

/// Registers a stream connection of any kind (TCP, or TLS after its handshake) and
/// spawns its read loop: framing is the same for every stream transport (§18.3).
pub(crate) fn start_split<R: AsyncRead + Unpin + Send + 'static>(
    shared: &Arc<Shared>,
    protocol: Protocol,
    read: R,
    write: Writer,
    local: SocketAddr,
    remote: SocketAddr,
    origin: Origin,
) -> Arc<Connection> {
    let conn = shared.connections.insert(protocol, local, remote, write);
    let task = tokio::spawn(run(shared.clone(), conn.clone(), read, origin));
    conn.set_task(task.abort_handle());
    conn
}

/// Reads until the connection ends, then forgets and closes it.
async fn run<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    conn: Arc<Connection>,
    read: R,
    origin: Origin,
) {
    // The transports being dropped abort this task through the connection table, but
    // a connection registered just after the table was emptied is not in it.
    let why = tokio::select! {
        why = read_loop(&shared, &conn, read, origin) => why,
        () = shared.closed() => End::ReceiverGone,
    };
    finish(&shared, &conn, why).await;
}

/// Logs why a connection's read loop ended, then forgets (reporting
/// [`crate::Inbound::Closed`]) and closes the connection (every stream transport ends
/// this way, unless a failed write closed it first: `Shared::close_connection`).
pub(crate) async fn finish(shared: &Shared, conn: &Connection, why: End) {
    match &why {
        End::Eof | End::ReceiverGone | End::NoFirstMessage => {
            tracing::debug!(conn = ?conn.id, remote = %conn.remote, reason = why.as_str(), "connection closed")
        }
        _ => {
            tracing::info!(conn = ?conn.id, remote = %conn.remote, reason = why.as_str(), "connection closed")
        }
    }
    if matches!(why, End::Unframeable { answerable: true }) {
        tokio::select! {
            () = tokio::time::sleep(CLOSE_GRACE) => {}
            () = shared.closed() => {}
        }
    }
    shared.forget(conn.id);
    conn.shutdown().await;
}

/// Why a read loop ended.
pub(crate) enum End {
    Eof,
    Error(io::Error),
    Idle,
    /// An accepted connection sent no message within `first_message_timeout`; logged
    /// at debug level, since a flood of them is exactly what the limit is for.
    NoFirstMessage,
    TooLarge,
    Overbuffered,
    /// Framing was lost; `answerable` when a Malformed request was delivered, which
    /// the endpoint will want to answer before the connection closes.
    Unframeable {
        answerable: bool,
    },
    ReceiverGone,
}

impl End {
    fn as_str(&self) -> &'static str {
        match self {
            End::Eof => "closed by peer",
            End::Error(e) if e.kind() == io::ErrorKind::ConnectionReset => "reset by peer",
            End::Error(_) => "read error",
            End::Idle => "idle timeout",
            End::NoFirstMessage => "no message within the first-message timeout",
            End::TooLarge => "message too large",
            End::Overbuffered => "too many bytes buffered",
            End::Unframeable { .. } => "stream cannot be framed",
            End::ReceiverGone => "transports shut down",
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    shared: &Shared,
    conn: &Connection,
    mut read: R,
    origin: Origin,
) -> End {
    let limits = &shared.limits;
    // Until the first message has arrived (accepted connections only).
    let mut first_by = (origin == Origin::Accepted)
        .then(|| tokio::time::Instant::now() + limits.first_message_timeout);
    let mut framer = StreamFramer::new(shared.parse_limits);
    let mut buf = BytesMut::with_capacity(4096);
    let source = Source {
        protocol: conn.protocol,
        local: conn.local,
        remote: conn.remote,
        connection: Some(conn.id),
    };
    loop {
        // Take every complete frame off the buffer before reading more.
        loop {
            match framer.next(&mut buf) {
                Ok(Some(Frame::Message(m))) => {
                    first_by = None;
                    if let Some(inbound) = classify(Ok(m), source.clone()) {
                        if !shared.deliver(inbound) {
                            return End::ReceiverGone;
                        }
                    }
                }
                Ok(Some(Frame::Malformed(e))) => {
                    // The message's end was known: answer it if it can be answered and
                    // read on. It counts as a first message: the peer speaks SIP.
                    first_by = None;
                    if let Some(inbound) = classify(Err(e), source.clone()) {
                        if !shared.deliver(inbound) {
                            return End::ReceiverGone;
                        }
                    }
                }
                Ok(Some(Frame::Ping)) => {
                    // RFC 5626 §4.4.1: answer a double-CRLF ping with a single CRLF.
                    if let Err(e) = conn
                        .write(Bytes::from_static(b"\r\n"), limits.write_timeout)
                        .await
                    {
                        return End::Error(e);
                    }
                }
                Ok(Some(Frame::Pong)) => tracing::trace!(conn = ?conn.id, "pong"),
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(conn = ?conn.id, error = %e, "framing failed");
                    let too_large = e.kind() == sip_message::ParseErrorKind::TooLarge;
                    let answerable = match classify(Err(e), source.clone()) {
                        Some(inbound) => shared.deliver(inbound),
                        None => false,
                    };
                    return if too_large {
                        End::TooLarge
                    } else {
                        End::Unframeable { answerable }
                    };
                }
            }
        }
        if buf.len() > limits.max_buffered {
            return End::Overbuffered;
        }
        buf.reserve(4096);
        // The idle clock counts writes too: a connection we keep sending on is not idle.
        let mut wait = limits.idle_timeout.saturating_sub(conn.idle_for());
        if let Some(by) = first_by {
            // Checked before every read, not only when one times out: a peer that
            // trickles a head a byte at a time never lets a read time out.
            let left = by.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return End::NoFirstMessage;
            }
            wait = wait.min(left);
        }
        match tokio::time::timeout(wait, read.read_buf(&mut buf)).await {
            Ok(Ok(0)) => return End::Eof,
            Ok(Ok(_)) => conn.touch(),
            Ok(Err(e)) => return End::Error(e),
            Err(_) => {
                if first_by.is_some_and(|by| tokio::time::Instant::now() >= by) {
                    return End::NoFirstMessage;
                }
                if conn.idle_for() >= limits.idle_timeout {
                    return End::Idle;
                }
            }
        }
    }
}
