//! SIP transports over tokio: UDP, TCP and TLS listeners, stream framing, the connection
//! table, and the RFC 3261 §18 rules for stamping requests and routing responses.
//!
//! This is the thin async driver under the sans-IO layers: it owns sockets and nothing
//! else. Everything that can be decided without a socket lives in pure modules —
//! [`stamp`] (RFC 3261 §18.2.1 / RFC 3581 §4: `received` and `rport`) and [`route`]
//! (§18.2.2: where a response goes) — so it is unit-tested without I/O.
//!
//! Received messages are parsed here and delivered on one bounded channel as
//! [`Inbound`], with the end of every stream connection ([`Inbound::Closed`]). The
//! socket loops never wait on that channel: when it is full the message
//! is dropped and counted ([`Transports::dropped`]), because a socket loop that blocks
//! makes the kernel drop packets blindly and starves every other peer; the endpoint
//! above decides how to shed load (503, RFC 3261 §21.5.4).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sip_transport::{ListenConfig, Protocol, TransportLimits, Transports, Inbound};
//! let listen = [ListenConfig::new(Protocol::Udp, "0.0.0.0:5060".parse().unwrap())];
//! let (transports, mut inbound) = Transports::bind(&listen, TransportLimits::default()).await?;
//! while let Some(event) = inbound.recv().await {
//!     match event {
//!         Inbound::Message { message, source } => {
//!             // hand to the transaction layer; answer with transports.send_response(&source, &resp)
//! #           let _ = (&message, &source, &transports);
//!         }
//!         Inbound::Malformed { .. } => { /* answer 400 */ }
//!         Inbound::Closed { .. } => { /* forget what was bound to the connection */ }
//!     }
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connections;
mod inbound;
pub mod route;
pub mod stamp;
mod tcp;
mod tls;
mod udp;
mod ws;

pub use tls::{TlsConfig, TlsError, TlsSettings, TlsVersions};
/// The tokio binding of rustls, for the HTTP server that accepts WSS connections
/// with a [`TlsConfig`]'s server side before handing them to
/// [`Transports::accept_websocket`].
pub use tokio_rustls;
/// The rustls in use, for callers that build a [`TlsConfig`] themselves
/// ([`TlsConfig::from_rustls`]) or need a TLS client of their own (tests).
pub use tokio_rustls::rustls;
pub use ws::accept_key as websocket_accept_key;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sip_message::{Limits, Message};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::connections::ConnectionTable;
use crate::route::Target;

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// UDP: one message per datagram, unreliable (RFC 3261 §18).
    Udp,
    /// TCP: a byte stream framed by Content-Length (RFC 3261 §18.3).
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2.1, `sips:`): framed like TCP.
    Tls,
    /// SIP over WebSocket (RFC 7118): one message per WebSocket message, on a
    /// connection a client opened through the HTTP server.
    Ws,
    /// SIP over secure WebSocket (RFC 7118, `wss:` on an HTTPS server).
    Wss,
}

impl Protocol {
    /// Whether messages travel over connections (responses go back on the connection
    /// the request came on, RFC 3261 §18.2.2).
    pub fn is_stream(self) -> bool {
        match self {
            Protocol::Udp => false,
            Protocol::Tcp | Protocol::Tls | Protocol::Ws | Protocol::Wss => true,
        }
    }

    /// Whether this server can open a connection of this kind to a peer. WebSocket
    /// connections are only ever opened by clients (RFC 7118 §5: the server side
    /// cannot reach a browser); a message for a WebSocket peer whose connection is
    /// gone cannot be delivered.
    pub fn can_connect(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Tls)
    }

    /// Whether the transport is reliable: RFC 3261 §17 then skips retransmissions.
    pub fn is_reliable(self) -> bool {
        self.is_stream()
    }

    /// The port used when a Via or URI names none (RFC 3261 §19.1.2: 5060, 5061 for
    /// TLS; the HTTP ports 80 and 443 for WS and WSS, RFC 7118 §5).
    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Tls => 5061,
            Protocol::Udp | Protocol::Tcp => 5060,
            Protocol::Ws => 80,
            Protocol::Wss => 443,
        }
    }

    /// The Via transport token (`UDP`, `TCP`, `TLS`, `WS`, `WSS`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Udp => "UDP",
            Protocol::Tcp => "TCP",
            Protocol::Tls => "TLS",
            Protocol::Ws => "WS",
            Protocol::Wss => "WSS",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One socket to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenConfig {
    /// UDP, TCP or TLS.
    pub protocol: Protocol,
    /// The address to bind; port 0 picks a free port (see [`Transports::local_addrs`]).
    pub bind: SocketAddr,
    /// Certificates and verification for [`Protocol::Tls`] (required for it, with a
    /// server side); ignored for other protocols. The first TLS listener's client side
    /// is also used for the TLS connections we open.
    pub tls: Option<TlsConfig>,
}

impl ListenConfig {
    /// A listener without TLS settings (UDP, TCP).
    pub fn new(protocol: Protocol, bind: SocketAddr) -> ListenConfig {
        ListenConfig {
            protocol,
            bind,
            tls: None,
        }
    }

    /// A TLS listener.
    pub fn tls(bind: SocketAddr, tls: TlsConfig) -> ListenConfig {
        ListenConfig {
            protocol: Protocol::Tls,
            bind,
            tls: Some(tls),
        }
    }
}

/// Identifies one stream connection for as long as the process runs (never reused).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

impl ConnectionId {
    pub(crate) fn from_raw(n: u64) -> ConnectionId {
        ConnectionId(n)
    }

    /// The number, for logs and metrics.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// Where a message came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    /// The transport it arrived on.
    pub protocol: Protocol,
    /// Our address it arrived at (a UDP socket bound to a wildcard address reports the
    /// wildcard: the real destination IP would need `IP_PKTINFO`, not read yet).
    pub local: SocketAddr,
    /// The peer's address as the socket reports it.
    pub remote: SocketAddr,
    /// The connection it arrived on (stream transports only).
    pub connection: Option<ConnectionId>,
}

/// A message received by a transport.
#[derive(Debug)]
pub enum Inbound {
    /// A parsed message. Requests are already stamped per RFC 3261 §18.2.1 / RFC 3581 §4:
    /// `received=` when the top Via's sent-by host differs from the source IP,
    /// `rport=<source port>` filled when the request asked for it (empty rport param) —
    /// and always `received` when rport is filled.
    Message {
        /// The message.
        message: Message,
        /// Where it came from.
        source: Source,
    },
    /// A request that could not be parsed but whose start line and headers could
    /// ([`sip_message::ParseError::head`]), or whose top Via is missing or undecodable:
    /// the endpoint answers 400 with `reason`. The head's top Via is stamped when it can
    /// be; [`Transports::send_response`] falls back to the source address when it cannot.
    Malformed {
        /// The start line and headers (empty body).
        head: Message,
        /// What was wrong, fit for a reason phrase.
        reason: String,
        /// Where it came from.
        source: Source,
    },
    /// A stream connection (TCP, TLS, WS or WSS; accepted, opened by us, or handed
    /// over by [`Transports::accept_websocket`]) has ended, for whatever reason: the
    /// peer closed or reset it, it was idle too long, a limit was exceeded, its
    /// framing was lost, a write failed or timed out. Sent once per connection, after
    /// every message that arrived on it, and never while the [`Transports`] are
    /// being dropped (at shutdown every connection ends at once and nobody is left to
    /// care). Messages sent to the peer afterwards go on a new connection (TCP, TLS)
    /// or cannot be sent (WS, WSS).
    ///
    /// Like messages, the event is not waited for: if the inbound channel is full
    /// when the connection ends, it is dropped, counted in [`Transports::dropped`]
    /// and logged with the dropped messages, and the consumer never learns of this
    /// close (state it keeps per connection — the registrar's `prune_on_boot`
    /// contacts — then lasts until it expires by itself).
    Closed {
        /// The connection's transport.
        protocol: Protocol,
        /// Our end of the connection.
        local: SocketAddr,
        /// The peer's end, as the socket reported it.
        remote: SocketAddr,
        /// The connection, as [`Source::connection`] named it on its messages.
        connection: ConnectionId,
    },
}

/// Bounds that keep a hostile or broken peer from costing unbounded memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportLimits {
    /// Largest message: a UDP datagram, or one message on a stream (default 65535).
    pub max_message_size: usize,
    /// Most bytes buffered for one TCP connection while a message is incomplete
    /// (default 128 KiB).
    pub max_buffered: usize,
    /// A TCP connection with no traffic either way for this long is closed (default 300 s).
    pub idle_timeout: Duration,
    /// An accepted connection that has not delivered its first whole message this long
    /// after it was accepted (after the TLS handshake, which has its own limit) is
    /// closed (default 10 s). A client connects because it has a message to send and
    /// sends it within a round trip; without this, a connect-and-say-nothing flood (or
    /// a head sent a byte a minute) would hold each slot for the whole `idle_timeout`.
    /// Keep-alive pings do not count as a message. Connections we open are exempt:
    /// we speak first on them, and the peer may only ever answer.
    pub first_message_timeout: Duration,
    /// Capacity of the inbound channel; beyond it messages are dropped and counted
    /// (default 8192).
    pub channel_capacity: usize,
    /// Longest wait for a TCP connection to be established (default 10 s).
    pub connect_timeout: Duration,
    /// Longest wait for one message to be written to a TCP connection; a peer that does
    /// not read is cut off rather than stalling every sender (default 10 s).
    pub write_timeout: Duration,
    /// Longest a TLS handshake may take, accepted or opened; a client that connects and
    /// then says nothing is dropped after it (default 10 s).
    pub handshake_timeout: Duration,
    /// Most accepted stream connections at once (TLS handshakes in progress count);
    /// beyond it new ones are closed at once, so a flood of idle connections cannot use
    /// up the process's file descriptors (default 10 000).
    pub max_connections: usize,
    /// Most accepted stream connections from one IP address (default 200: a NAT or an
    /// SBC carries many phones, a single attacker should not get the whole table).
    pub max_connections_per_ip: usize,
}

impl Default for TransportLimits {
    fn default() -> Self {
        TransportLimits {
            max_message_size: 65_535,
            max_buffered: 128 * 1024,
            idle_timeout: Duration::from_secs(300),
            first_message_timeout: Duration::from_secs(10),
            channel_capacity: 8192,
            connect_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_connections_per_ip: 200,
        }
    }
}

/// State shared by the socket tasks and the [`Transports`] handles.
pub(crate) struct Shared {
    pub(crate) limits: TransportLimits,
    pub(crate) parse_limits: Limits,
    inbound: mpsc::Sender<Inbound>,
    dropped: AtomicU64,
    udp: Vec<(SocketAddr, Arc<UdpSocket>)>,
    pub(crate) connections: ConnectionTable,
    /// The client side for TLS connections we open (from the first TLS listener).
    pub(crate) tls_client: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    /// Failed TLS handshakes on accepted connections.
    pub(crate) tls_failures: AtomicU64,
    /// TLS handshakes in progress (not yet in the connection table).
    pub(crate) handshaking: std::sync::atomic::AtomicUsize,
    /// Accepted connections closed at once because a limit was reached.
    pub(crate) refused: AtomicU64,
    /// Set to `true` when the transports are dropped. Every task that holds a socket
    /// (handshakes, read loops) also waits on it, so one started while the
    /// transports were being dropped (after the connection table was emptied, where
    /// aborting cannot reach it) still ends at once.
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    /// Whether an accepted connection from `remote` may stay (the connection limits).
    pub(crate) fn admit(&self, remote: SocketAddr) -> bool {
        let open = self.connections.len() + self.handshaking.load(Ordering::Relaxed);
        let ok = open < self.limits.max_connections
            && self.connections.count_from(remote.ip()) < self.limits.max_connections_per_ip;
        if !ok {
            let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
            if n == 1 || n.is_multiple_of(1000) {
                tracing::warn!(%remote, refused = n, open, "connection limit reached: connection closed");
            }
        }
        ok
    }
}

impl Shared {
    /// Completes once the transports are dropped (at once if they already are).
    pub(crate) async fn closed(&self) {
        let mut rx = self.shutdown.subscribe();
        // Err only if the sender is gone, which cannot be while `self` lives.
        let _ = rx.wait_for(|closed| *closed).await;
    }

    /// Forgets a connection whose task is ending by itself (its read loop ended) and
    /// reports [`Inbound::Closed`]. Every stream connection leaves the table through
    /// here or [`Shared::close_connection`], so the end of each is reported once; none
    /// is reported once the transports are being dropped (`close_all` has emptied the
    /// table, and a connection registered after that is not reported either).
    pub(crate) fn forget(&self, id: ConnectionId) -> Option<Arc<connections::Connection>> {
        let conn = self.connections.remove(id)?;
        if !*self.shutdown.borrow() {
            self.deliver(Inbound::Closed {
                protocol: conn.protocol,
                local: conn.local,
                remote: conn.remote,
                connection: conn.id,
            });
        }
        Some(conn)
    }

    /// Forgets a connection (reporting [`Inbound::Closed`], see [`Shared::forget`])
    /// and stops its task, which drops the socket: a write failed, so its framing is
    /// unknown.
    pub(crate) fn close_connection(&self, id: ConnectionId) {
        if let Some(conn) = self.forget(id) {
            conn.abort();
        }
    }

    /// Hands a message to the endpoint without waiting. Returns `false` once the
    /// receiver is gone (the loops then stop).
    pub(crate) fn deliver(&self, inbound: Inbound) -> bool {
        match self.inbound.try_send(inbound) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                // Log the first and then every 1000th, not every one: under overload a
                // line per drop would make things worse.
                if n == 1 || n.is_multiple_of(1000) {
                    tracing::warn!(dropped = n, "inbound channel full: message dropped");
                }
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// The UDP socket to send to `dest` from: the one bound at `local` if given and of
    /// a usable family, else the first of the same family, else the first IPv6 one
    /// (dual-stack, IPv4-mapped).
    fn udp_socket(
        &self,
        local: Option<SocketAddr>,
        dest: SocketAddr,
    ) -> Option<&(SocketAddr, Arc<UdpSocket>)> {
        let usable = |a: &SocketAddr| a.is_ipv6() || dest.is_ipv4();
        local
            .and_then(|l| self.udp.iter().find(|(a, _)| *a == l && usable(a)))
            .or_else(|| self.udp.iter().find(|(a, _)| a.is_ipv4() == dest.is_ipv4()))
            .or_else(|| self.udp.iter().find(|(a, _)| a.is_ipv6()))
    }

    async fn send_udp(
        &self,
        local: Option<SocketAddr>,
        dest: SocketAddr,
        bytes: &[u8],
    ) -> io::Result<()> {
        let (socket_addr, socket) = self.udp_socket(local, dest).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("no UDP socket can send to {dest}"),
            )
        })?;
        let dest = udp::fit_family(*socket_addr, dest);
        let n = socket.send_to(bytes, dest).await?;
        if n != bytes.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "datagram truncated on send",
            ));
        }
        Ok(())
    }

    /// Writes over an existing connection to `dest` if there is one, else opens one
    /// (for TLS presenting `host`, when given, as the server name). WebSocket peers
    /// can only be reached over the connection they opened.
    async fn send_stream(
        self: &Arc<Self>,
        protocol: Protocol,
        dest: SocketAddr,
        host: Option<&str>,
        bytes: Bytes,
    ) -> io::Result<()> {
        if let Some(conn) = self.connections.by_remote(protocol, dest) {
            match conn.write(bytes.clone(), self.limits.write_timeout).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::debug!(conn = ?conn.id, %dest, error = %e, "write failed; reconnecting");
                    self.close_connection(conn.id);
                }
            }
        }
        let conn = match protocol {
            Protocol::Tls => tls::connect(self, dest, host).await?,
            Protocol::Tcp => tcp::connect(self, dest).await?,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    format!("no {protocol} connection from {dest}: only the client can open one"),
                ))
            }
        };
        let result = conn.write(bytes, self.limits.write_timeout).await;
        if result.is_err() {
            self.close_connection(conn.id);
        }
        result
    }
}

/// Owns the listener tasks; when the last [`Transports`] clone is dropped, every socket
/// and connection is closed.
struct Handle {
    shared: Arc<Shared>,
    local: Vec<(Protocol, SocketAddr)>,
    tasks: Vec<AbortHandle>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        for t in &self.tasks {
            t.abort();
        }
        self.shared.connections.close_all();
    }
}

/// The running transports: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Transports {
    inner: Arc<Handle>,
}

impl fmt::Debug for Transports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transports")
            .field("local", &self.inner.local)
            .field("connections", &self.inner.shared.connections.len())
            .finish()
    }
}

impl Transports {
    /// Binds every listener and starts its loop. Received messages arrive on the returned
    /// channel. Fails (and binds nothing) if any address cannot be bound.
    ///
    /// Must be called within a tokio runtime.
    pub async fn bind(
        listen: &[ListenConfig],
        limits: TransportLimits,
    ) -> io::Result<(Transports, mpsc::Receiver<Inbound>)> {
        let mut udp_sockets = Vec::new();
        let mut tcp_listeners = Vec::new();
        let mut tls_listeners = Vec::new();
        let mut tls_client = None;
        let mut local = Vec::new();
        for l in listen {
            match l.protocol {
                Protocol::Udp => {
                    let s = UdpSocket::bind(l.bind).await?;
                    let addr = s.local_addr()?;
                    grow_receive_buffer(&s, addr);
                    local.push((Protocol::Udp, addr));
                    udp_sockets.push((addr, Arc::new(s)));
                }
                Protocol::Tcp => {
                    let s = TcpListener::bind(l.bind).await?;
                    let addr = s.local_addr()?;
                    local.push((Protocol::Tcp, addr));
                    tcp_listeners.push((addr, s));
                }
                Protocol::Tls => {
                    let tls = l.tls.as_ref().ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("TLS listener {} has no TLS configuration", l.bind),
                        )
                    })?;
                    let server = tls.server.clone().ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("TLS listener {} has no certificate", l.bind),
                        )
                    })?;
                    let s = TcpListener::bind(l.bind).await?;
                    let addr = s.local_addr()?;
                    local.push((Protocol::Tls, addr));
                    tls_client.get_or_insert_with(|| tls.client.clone());
                    tls_listeners.push((addr, s, server));
                }
                p => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "{p} is not a listener of its own: WebSocket connections arrive through the HTTP server (Transports::accept_websocket)"
                        ),
                    ))
                }
            }
        }
        let (tx, rx) = mpsc::channel(limits.channel_capacity.max(1));
        let shared = Arc::new(Shared {
            limits,
            parse_limits: Limits {
                max_message_size: limits.max_message_size,
                ..Limits::DEFAULT
            },
            inbound: tx,
            dropped: AtomicU64::new(0),
            udp: udp_sockets,
            connections: ConnectionTable::new(),
            tls_client,
            tls_failures: AtomicU64::new(0),
            handshaking: std::sync::atomic::AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            shutdown: tokio::sync::watch::Sender::new(false),
        });
        let mut tasks = Vec::new();
        for (addr, socket) in &shared.udp {
            let task = tokio::spawn(udp::recv_loop(shared.clone(), socket.clone(), *addr));
            tasks.push(task.abort_handle());
        }
        for (addr, listener) in tcp_listeners {
            let task = tokio::spawn(tcp::accept_loop(shared.clone(), listener, addr));
            tasks.push(task.abort_handle());
        }
        for (addr, listener, config) in tls_listeners {
            let task = tokio::spawn(tls::accept_loop(shared.clone(), listener, addr, config));
            tasks.push(task.abort_handle());
        }
        for (p, a) in &local {
            tracing::info!(protocol = %p, addr = %a, "listening");
        }
        let handle = Handle {
            shared,
            local,
            tasks,
        };
        Ok((
            Transports {
                inner: Arc::new(handle),
            },
            rx,
        ))
    }

    /// The bound addresses, in the order they were configured (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<(Protocol, SocketAddr)> {
        self.inner.local.clone()
    }

    /// Our address for a request sent to `dest` over `protocol`: what goes into the Via
    /// sent-by (RFC 3261 §18.1.1). For UDP it is the socket [`Transports::send_to`]
    /// sends from (same family as `dest`, else an IPv6 one); for TCP and TLS the
    /// listener of that protocol chosen the same way — its port, not the connection's
    /// ephemeral one, because a server that must open a new connection for a response
    /// opens it to the sent-by (§18.2.2). A listener bound to a wildcard address
    /// (`0.0.0.0`, `::`) gives the address the system routes toward `dest` from,
    /// found without sending anything (a connected, unused UDP socket).
    ///
    /// Fails when no listener of `protocol` can reach `dest`'s address family.
    pub fn local_addr_for(&self, protocol: Protocol, dest: SocketAddr) -> io::Result<SocketAddr> {
        let found = match protocol {
            Protocol::Udp => self.inner.shared.udp_socket(None, dest).map(|(a, _)| *a),
            p => {
                let of = || self.inner.local.iter().filter(move |(q, _)| *q == p);
                of().find(|(_, a)| a.is_ipv4() == dest.is_ipv4())
                    .or_else(|| of().find(|(_, a)| a.is_ipv6()))
                    .map(|(_, a)| *a)
            }
        };
        let local = found.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("no {protocol} transport can send to {dest}"),
            )
        })?;
        if !local.ip().is_unspecified() {
            return Ok(local);
        }
        Ok(SocketAddr::new(route_source(dest)?, local.port()))
    }

    /// How many received messages (and [`Inbound::Closed`] events) were dropped
    /// because the inbound channel was full.
    pub fn dropped(&self) -> u64 {
        self.inner.shared.dropped.load(Ordering::Relaxed)
    }

    /// How many TLS handshakes with accepting clients failed (bad or untrusted
    /// certificates, version mismatch, timeouts, plain text on the TLS port).
    pub fn tls_handshake_failures(&self) -> u64 {
        self.inner.shared.tls_failures.load(Ordering::Relaxed)
    }

    /// How many accepted connections were closed at once because a connection limit
    /// was reached.
    pub fn refused_connections(&self) -> u64 {
        self.inner.shared.refused.load(Ordering::Relaxed)
    }

    /// How many stream connections are open (accepted and opened by us).
    pub fn connection_count(&self) -> usize {
        self.inner.shared.connections.len()
    }

    /// Whether a new connection from `remote` is within the connection limits
    /// (`max_connections`, `max_connections_per_ip`). The HTTP server asks before it
    /// accepts a WebSocket upgrade, so it can refuse with an HTTP error instead.
    pub fn admits(&self, remote: SocketAddr) -> bool {
        self.inner.shared.admit(remote)
    }

    /// Takes over a connection on which the HTTP server has completed a WebSocket
    /// upgrade with the `sip` subprotocol (RFC 7118 §4): from now on it carries SIP,
    /// one message per WebSocket message, and is read and written like any other
    /// stream connection. `protocol` is [`Protocol::Ws`] or [`Protocol::Wss`];
    /// `local` and `remote` are the addresses of the underlying TCP connection.
    pub async fn accept_websocket<S>(
        &self,
        io: S,
        protocol: Protocol,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> ConnectionId
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        debug_assert!(matches!(protocol, Protocol::Ws | Protocol::Wss));
        let conn = ws::start(&self.inner.shared, io, protocol, local, remote).await;
        tracing::debug!(conn = ?conn.id, %local, %remote, "{protocol} connection accepted");
        conn.id
    }

    /// Sends a response to the request that arrived from `request_source`, as RFC 3261
    /// §18.2.2 (with RFC 3581 §4) says — see [`route`] for the rules:
    ///
    /// * over a stream, the connection the request came on if still open, else a new
    ///   connection to `received` (else the sent-by host) at the sent-by port;
    /// * over UDP, from the socket the request arrived on, to `received`:`rport`, else
    ///   `received` and the sent-by port, else the sent-by host and port.
    ///
    /// `maddr` is ignored (see [`route`]). A sent-by host name is resolved with A/AAAA
    /// only (no SRV).
    ///
    /// The route and the bytes are taken from `response` before the returned future
    /// runs, so the future does not borrow the message: messages cache decoded headers
    /// without locks and are `Send` but not `Sync`, and the endpoint sends from tasks
    /// that move between threads.
    pub fn send_response(
        &self,
        request_source: &Source,
        response: &Message,
    ) -> impl std::future::Future<Output = io::Result<()>> + Send + '_ {
        let route = route::response_route(response.top_via().ok(), request_source);
        let bytes = response.to_bytes();
        let source = request_source.clone();
        async move { self.send_routed(&source, route, bytes).await }
    }

    /// Sends response bytes along a route computed earlier with
    /// [`route::response_route`] — from the request's top Via when it arrived, which
    /// the response copies (§8.2.6.2) — so retransmissions need no parsing.
    pub async fn send_routed(
        &self,
        request_source: &Source,
        route: route::ResponseRoute,
        bytes: Bytes,
    ) -> io::Result<()> {
        let shared = &self.inner.shared;
        if let Some(id) = route.connection {
            if let Some(conn) = shared.connections.get(id) {
                match conn.write(bytes.clone(), shared.limits.write_timeout).await {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        tracing::debug!(conn = ?id, error = %e, "response write failed; trying a new connection");
                        shared.close_connection(id);
                    }
                }
            }
        }
        if request_source.protocol.is_stream() && !request_source.protocol.can_connect() {
            // A WebSocket client's Via names a made-up `.invalid` host (RFC 7118 §5):
            // with its connection gone there is nowhere to send.
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!(
                    "{} connection from {} is closed: the response cannot be delivered",
                    request_source.protocol, request_source.remote
                ),
            ));
        }
        let dest = resolve(&route.target).await?;
        let host = match &route.target {
            Target::Name { host, .. } => Some(host.as_str()),
            Target::Addr(_) => None,
        };
        match request_source.protocol {
            Protocol::Udp => {
                shared
                    .send_udp(Some(request_source.local), dest, &bytes)
                    .await
            }
            p => shared.send_stream(p, dest, host, bytes).await,
        }
    }

    /// Sends bytes to a destination (client side): a UDP datagram, or over an existing
    /// connection to that address (reuse, RFC 3261 §18.1.1) else a new TCP or TLS
    /// connection, which then also receives (responses to what we sent come back on it).
    ///
    /// A new TLS connection presents and verifies the IP address as the server name;
    /// use [`Transports::send_to_host`] when the destination has a host name.
    pub async fn send_to(
        &self,
        protocol: Protocol,
        dest: SocketAddr,
        bytes: Bytes,
    ) -> io::Result<()> {
        self.send_to_host(protocol, dest, None, bytes).await
    }

    /// [`Transports::send_to`], naming the host `dest` was resolved from: a new TLS
    /// connection sends it as SNI (RFC 6066 §3) and, with `verify_server`, checks the
    /// certificate against it (RFC 5922 §7.2). An existing connection to `dest` is
    /// reused whatever name it was opened with.
    pub async fn send_to_host(
        &self,
        protocol: Protocol,
        dest: SocketAddr,
        host: Option<&str>,
        bytes: Bytes,
    ) -> io::Result<()> {
        let shared = &self.inner.shared;
        match protocol {
            Protocol::Udp => shared.send_udp(None, dest, &bytes).await,
            p => shared.send_stream(p, dest, host, bytes).await,
        }
    }
}

/// The source address the system would use toward `dest`: a UDP socket connected to
/// it (which sends nothing) reports it. IPv4-mapped results are given as IPv4.
fn route_source(dest: SocketAddr) -> io::Result<std::net::IpAddr> {
    let any: SocketAddr = if dest.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let probe = std::net::UdpSocket::bind(any)?;
    probe.connect(dest)?;
    let ip = probe.local_addr()?.ip();
    Ok(match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    })
}

async fn resolve(target: &Target) -> io::Result<SocketAddr> {
    match target {
        Target::Addr(a) => Ok(*a),
        Target::Name { host, port } => tokio::net::lookup_host((host.as_str(), *port))
            .await?
            .next()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
            }),
    }
}

/// The receive buffer asked for on each UDP socket. The default (about 200 KB on
/// Linux, which the kernel counts with its per-packet overhead: roughly a hundred
/// REGISTERs) overflows during any pause of a few tens of milliseconds at a few
/// thousand requests per second, and every overflow is a lost request the phone
/// retransmits 500 ms later. The kernel caps the request at `net.core.rmem_max`.
const UDP_RECEIVE_BUFFER: usize = 8 << 20;

/// Below this, a warning tells the operator to raise `net.core.rmem_max`.
const UDP_RECEIVE_BUFFER_ADVISED: usize = 1 << 20;

/// Asks for [`UDP_RECEIVE_BUFFER`] on `socket` and says what the kernel granted.
fn grow_receive_buffer(socket: &UdpSocket, addr: SocketAddr) {
    let sock = socket2::SockRef::from(socket);
    if let Err(e) = sock.set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
        tracing::warn!("UDP {addr}: cannot set the receive buffer size: {e}");
    }
    match sock.recv_buffer_size() {
        Ok(granted) if granted < UDP_RECEIVE_BUFFER_ADVISED => tracing::warn!(
            "UDP {addr}: receive buffer is {} KiB (capped by net.core.rmem_max); \
             bursts above it are dropped: raise net.core.rmem_max to {} or more",
            granted / 1024,
            UDP_RECEIVE_BUFFER
        ),
        Ok(granted) => tracing::debug!("UDP {addr}: receive buffer {} KiB", granted / 1024),
        Err(e) => tracing::warn!("UDP {addr}: cannot read the receive buffer size: {e}"),
    }
}
