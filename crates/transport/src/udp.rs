//! The UDP receive loop: one task per socket, one message per datagram
//! (RFC 3261 §18.3: a datagram holds exactly one message).
//!
//! Performance note: this does one `recv_from` per datagram into a reused buffer and
//! copies the datagram out (a REGISTER is ~600 bytes; the copy is cheaper than pinning
//! a 64 KiB buffer per message). A later change may batch with `recvmmsg` (and
//! `sendmmsg`), and raise `SO_RCVBUF`, which needs socket2; neither is done yet.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use sip_message::Message;
use tokio::net::UdpSocket;

use crate::inbound::classify;
use crate::{Protocol, Shared, Source};

/// Receives until the inbound channel's receiver is dropped.
pub(crate) async fn recv_loop(shared: Arc<Shared>, socket: Arc<UdpSocket>, local: SocketAddr) {
    let max = shared.limits.max_message_size;
    // One byte more than the limit, so an oversize datagram is seen as such rather than
    // silently truncated into something that may still parse.
    let mut buf = vec![0u8; max + 1];
    loop {
        let (n, remote) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // E.g. ECONNREFUSED from an ICMP port unreachable for an earlier send:
                // about one peer, not this socket. Keep receiving.
                tracing::debug!(%local, error = %e, "UDP receive error");
                tokio::task::yield_now().await;
                continue;
            }
        };
        if n > max {
            tracing::debug!(%local, %remote, "oversize datagram dropped");
            continue;
        }
        let data = &buf[..n];
        // Keep-alives (CRLF, CRLFCRLF; RFC 5626 §3.5.1 uses STUN on UDP, but phones send
        // these too) and empty datagrams: nothing to parse or answer.
        if data
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        {
            tracing::trace!(%remote, "UDP keep-alive");
            continue;
        }
        let source = Source {
            protocol: Protocol::Udp,
            local,
            remote,
            connection: None,
        };
        let parsed = Message::parse_with_limits(Bytes::copy_from_slice(data), &shared.parse_limits);
        if let Some(inbound) = classify(parsed, source) {
            if !shared.deliver(inbound) {
                tracing::debug!(%local, "inbound receiver gone: UDP loop ends");
                return;
            }
        }
    }
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
