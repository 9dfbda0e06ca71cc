//! The table of open stream connections: by id (to answer on the connection a request
//! came on, RFC 3261 §18.2.2) and by remote address (to reuse a connection for new
//! requests to the same peer, §18.1.1 — "the client SHOULD use the existing
//! connection").
//!
//! One `std` mutex guards both maps: it is held only for a map operation, never across
//! an await, so it is uncontended in practice. Sharding it is a later step if profiles
//! say so.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Sink, SinkExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite;

use crate::{ConnectionId, Protocol};

/// The write side of a connection.
pub(crate) enum Writer {
    /// TCP or TLS: a message is its bytes, back to back with the others (§18.3).
    Bytes(Box<dyn AsyncWrite + Send + Unpin>),
    /// WebSocket: each SIP message is one WebSocket message (RFC 7118 §5).
    Frames(Pin<Box<dyn Sink<tungstenite::Message, Error = tungstenite::Error> + Send>>),
}

impl Writer {
    async fn send(&mut self, bytes: Bytes) -> io::Result<()> {
        match self {
            Writer::Bytes(w) => {
                w.write_all(&bytes).await?;
                w.flush().await
            }
            Writer::Frames(sink) => sink
                .send(crate::ws::frame(bytes))
                .await
                .map_err(crate::ws::io_error),
        }
    }

    async fn close(&mut self) {
        match self {
            Writer::Bytes(w) => {
                let _ = w.shutdown().await;
            }
            Writer::Frames(sink) => {
                let _ = sink.close().await;
            }
        }
    }
}

/// One open connection.
pub(crate) struct Connection {
    pub(crate) id: ConnectionId,
    pub(crate) protocol: Protocol,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    /// Writes are whole messages under this lock, so two senders never interleave.
    writer: tokio::sync::Mutex<Writer>,
    /// Milliseconds since the table's epoch at the last read or write, for the idle timer.
    last_activity: AtomicU64,
    epoch: Instant,
    task: Mutex<Option<AbortHandle>>,
}

impl Connection {
    /// Writes one whole message, or fails after `timeout` (a peer that stopped reading).
    /// After a failure the connection's framing is unknown: close it.
    pub(crate) async fn write(&self, bytes: Bytes, timeout: Duration) -> io::Result<()> {
        let result = tokio::time::timeout(timeout, async {
            self.writer.lock().await.send(bytes).await
        })
        .await;
        match result {
            Ok(Ok(())) => {
                self.touch();
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "peer is not reading: write timed out",
            )),
        }
    }

    /// Sends FIN (a Close frame on a WebSocket) after pending writes (best effort,
    /// bounded).
    pub(crate) async fn shutdown(&self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            self.writer.lock().await.close().await
        })
        .await;
    }

    /// Records traffic now.
    pub(crate) fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_activity.store(ms, Ordering::Relaxed);
    }

    /// Time since the last read or write.
    pub(crate) fn idle_for(&self) -> Duration {
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_activity.load(Ordering::Relaxed)))
    }

    pub(crate) fn set_task(&self, task: AbortHandle) {
        *lock(&self.task) = Some(task);
    }

    /// Stops the connection's task, which drops the socket.
    pub(crate) fn abort(&self) {
        if let Some(t) = lock(&self.task).take() {
            t.abort();
        }
    }
}

/// Key for reuse lookups: IPv4-mapped IPv6 addresses (from dual-stack sockets) are
/// stored as IPv4 so that a lookup by either form finds the connection.
fn remote_key(protocol: Protocol, addr: SocketAddr) -> (Protocol, SocketAddr) {
    (
        protocol,
        SocketAddr::new(addr.ip().to_canonical(), addr.port()),
    )
}

#[derive(Default)]
struct Maps {
    by_id: HashMap<ConnectionId, Arc<Connection>>,
    by_remote: HashMap<(Protocol, SocketAddr), ConnectionId>,
}

/// All open connections.
pub(crate) struct ConnectionTable {
    epoch: Instant,
    next_id: AtomicU64,
    maps: Mutex<Maps>,
}

/// Locks, recovering from poisoning: the maps stay consistent at every await-free step,
/// so a panic elsewhere must not take the transport down with it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ConnectionTable {
    pub(crate) fn new() -> ConnectionTable {
        ConnectionTable {
            epoch: Instant::now(),
            next_id: AtomicU64::new(1),
            maps: Mutex::new(Maps::default()),
        }
    }

    /// Registers a new connection; it becomes the one reused for its remote address.
    pub(crate) fn insert(
        &self,
        protocol: Protocol,
        local: SocketAddr,
        remote: SocketAddr,
        writer: Writer,
    ) -> Arc<Connection> {
        let id = ConnectionId::from_raw(self.next_id.fetch_add(1, Ordering::Relaxed));
        let conn = Arc::new(Connection {
            id,
            protocol,
            local,
            remote,
            writer: tokio::sync::Mutex::new(writer),
            last_activity: AtomicU64::new(0),
            epoch: self.epoch,
            task: Mutex::new(None),
        });
        conn.touch();
        let mut maps = lock(&self.maps);
        maps.by_id.insert(id, conn.clone());
        maps.by_remote.insert(remote_key(protocol, remote), id);
        conn
    }

    /// How many open connections have `ip` as their remote address.
    pub(crate) fn count_from(&self, ip: std::net::IpAddr) -> usize {
        lock(&self.maps)
            .by_id
            .values()
            .filter(|c| c.remote.ip() == ip)
            .count()
    }

    pub(crate) fn get(&self, id: ConnectionId) -> Option<Arc<Connection>> {
        lock(&self.maps).by_id.get(&id).cloned()
    }

    /// The connection to reuse for `remote`, if one is open.
    pub(crate) fn by_remote(
        &self,
        protocol: Protocol,
        remote: SocketAddr,
    ) -> Option<Arc<Connection>> {
        let maps = lock(&self.maps);
        let id = maps.by_remote.get(&remote_key(protocol, remote))?;
        maps.by_id.get(id).cloned()
    }

    /// Forgets a connection; `Some` only the first time. Not to be called directly:
    /// `Shared::forget` and `Shared::close_connection` also report the end of the
    /// connection ([`crate::Inbound::Closed`]).
    pub(crate) fn remove(&self, id: ConnectionId) -> Option<Arc<Connection>> {
        let mut maps = lock(&self.maps);
        let conn = maps.by_id.remove(&id)?;
        let key = remote_key(conn.protocol, conn.remote);
        // Only if it still names this connection: a newer one to the same peer (two
        // concurrent connects) may have taken the entry over.
        if maps.by_remote.get(&key) == Some(&id) {
            maps.by_remote.remove(&key);
        }
        Some(conn)
    }

    /// Closes every connection (the transports are being dropped): none of them is
    /// reported as closed.
    pub(crate) fn close_all(&self) {
        let all: Vec<_> = {
            let mut maps = lock(&self.maps);
            maps.by_remote.clear();
            maps.by_id.drain().map(|(_, c)| c).collect()
        };
        for c in all {
            c.abort();
        }
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.maps).by_id.len()
    }
}
