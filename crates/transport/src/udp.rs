//! The UDP receive loop: one task per socket, one message per datagram
//! (RFC 3261 §18.3: a datagram holds exactly one message).
//!
//! On Linux the loop takes up to [`BATCH`] datagrams per system call (`recvmmsg`):
//! under load most wake-ups find several datagrams waiting, and one call instead of
//! one per datagram is the cheapest thing a UDP server can save. Each datagram is
//! copied out of its slot (a REGISTER is ~600 bytes; the copy is cheaper than pinning
//! a 64 KiB slot per message). Elsewhere it reads one datagram per call.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use sip_message::Message;
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::inbound::{classify, is_keepalive};
use crate::{Protocol, Shared, Source};

/// Datagrams taken per `recvmmsg`: each has a slot of the largest message size, so
/// this bounds the loop's buffer (16 × 64 KiB = 1 MiB per socket).
pub(crate) const BATCH: usize = 16;

/// One received datagram: its length in its slot and its source.
#[derive(Debug, Clone, Copy)]
struct Received {
    len: usize,
    remote: SocketAddr,
}

/// Receives until the inbound channel's receiver is dropped.
pub(crate) async fn recv_loop(shared: Arc<Shared>, socket: Arc<UdpSocket>, local: SocketAddr) {
    let max = shared.limits.max_message_size;
    // One byte more than the limit, so an oversize datagram is seen as such rather than
    // silently truncated into something that may still parse.
    let mut slots = Slots::new(max + 1);
    let mut received = Vec::with_capacity(BATCH);
    loop {
        received.clear();
        if let Err(e) = receive(&socket, &mut slots, &mut received).await {
            // E.g. ECONNREFUSED from an ICMP port unreachable for an earlier send:
            // about one peer, not this socket. Keep receiving.
            tracing::debug!(%local, error = %e, "UDP receive error");
            tokio::task::yield_now().await;
            continue;
        }
        for (i, r) in received.iter().enumerate() {
            if !handle(&shared, local, r.remote, &slots.get(i)[..r.len]) {
                tracing::debug!(%local, "inbound receiver gone: UDP loop ends");
                return;
            }
        }
    }
}

/// Parses and delivers one datagram; `false` once the receiver is gone.
fn handle(shared: &Shared, local: SocketAddr, remote: SocketAddr, data: &[u8]) -> bool {
    if data.len() > shared.limits.max_message_size {
        tracing::debug!(%local, %remote, "oversize datagram dropped");
        return true;
    }
    // Keep-alives (CRLF, CRLFCRLF; RFC 5626 §3.5.1 uses STUN on UDP, but phones send
    // these too) and empty datagrams: nothing to parse or answer.
    if is_keepalive(data) {
        tracing::trace!(%remote, "UDP keep-alive");
        return true;
    }
    let source = Source {
        protocol: Protocol::Udp,
        local,
        remote,
        connection: None,
    };
    let parsed = Message::parse_with_limits(Bytes::copy_from_slice(data), &shared.parse_limits);
    match classify(parsed, source) {
        Some(inbound) => shared.deliver(inbound),
        None => true,
    }
}

/// The receive buffers: [`BATCH`] slots on Linux, one elsewhere.
struct Slots {
    slots: Vec<Vec<u8>>,
}

impl Slots {
    fn new(size: usize) -> Slots {
        #[cfg(target_os = "linux")]
        let n = BATCH;
        #[cfg(not(target_os = "linux"))]
        let n = 1;
        Slots {
            slots: (0..n).map(|_| vec![0u8; size]).collect(),
        }
    }

    fn get(&self, i: usize) -> &[u8] {
        &self.slots[i]
    }
}

/// Waits until the socket is readable, then takes what is waiting (at least one).
async fn receive(socket: &UdpSocket, slots: &mut Slots, out: &mut Vec<Received>) -> io::Result<()> {
    loop {
        socket.readable().await?;
        match socket.try_io(Interest::READABLE, || receive_now(socket, slots, out)) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
}

#[cfg(target_os = "linux")]
fn receive_now(socket: &UdpSocket, slots: &mut Slots, out: &mut Vec<Received>) -> io::Result<()> {
    use nix::sys::socket::{recvmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;

    let mut iovs: Vec<[IoSliceMut<'_>; 1]> = slots
        .slots
        .iter_mut()
        .map(|s| [IoSliceMut::new(s)])
        .collect();
    // The headers hold raw pointers (not `Send`), so they live for one call only: one
    // small allocation per batch, not per datagram.
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(iovs.len(), None);
    let results = recvmmsg(
        socket.as_raw_fd(),
        &mut headers,
        iovs.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    )
    .map_err(io::Error::from)?;
    for r in results {
        let remote = r.address.and_then(|a| {
            a.as_sockaddr_in()
                .map(|v4| SocketAddr::V4((*v4).into()))
                .or_else(|| a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into())))
        });
        match remote {
            // A truncated datagram reports the slot's size, one more than the limit,
            // so `handle` drops it as oversize.
            Some(remote) => out.push(Received {
                len: r.bytes,
                remote,
            }),
            None => tracing::debug!("UDP datagram without a source address dropped"),
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn receive_now(socket: &UdpSocket, slots: &mut Slots, out: &mut Vec<Received>) -> io::Result<()> {
    let (len, remote) = socket.try_recv_from(&mut slots.slots[0])?;
    out.push(Received { len, remote });
    Ok(())
}

/// `dest` in the address family of the socket bound at `socket_addr`: an IPv4 destination becomes IPv4-mapped
/// IPv6 for a (dual-stack) IPv6 socket.
pub(crate) fn fit_family(socket_addr: SocketAddr, dest: SocketAddr) -> SocketAddr {
    match (socket_addr, dest) {
        (SocketAddr::V6(_), SocketAddr::V4(v4)) => {
            SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port())
        }
        _ => dest,
    }
}
