//! Shared test helpers: messages written as they appear on the wire, a fake clock,
//! and a driver that runs a table's timers up to an instant.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use sip_message::Message;
use sip_transaction::{Event, Transactions};

/// Where a test sends to or receives from.
pub type Peer = &'static str;

pub const PEER: Peer = "192.0.2.10:5060";

/// Parses a message written with `\n` line ends.
pub fn msg(text: &str) -> Message {
    Message::parse(text.replace('\n', "\r\n").into_bytes()).expect("test message parses")
}

/// What the network delivers when `m` is sent: its bytes, parsed again.
pub fn wire(m: &Message) -> Message {
    Message::parse(m.to_bytes()).expect("sent message parses")
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An INVITE as a proxy would send it: two Vias (ours on top), two Routes.
pub fn invite(branch: &str) -> Message {
    msg(&format!(
        "INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch={branch}
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bKouter;received=192.0.2.101
Max-Forwards: 69
Route: <sip:p1.example.com;lr>
Route: <sip:p2.example.com;lr>
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Type: application/sdp
Content-Length: 4

v=0
"
    ))
}

/// A non-INVITE request.
pub fn request(method: &str, branch: &str, call_id: &str) -> Message {
    msg(&format!(
        "{method} sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch={branch}
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=88sja8x
Call-ID: {call_id}
CSeq: 63104 {method}
Content-Length: 0

"
    ))
}

/// The response `code` to `req`, with a To tag unless `code` is 100, as it arrives
/// from the network.
pub fn reply(req: &Message, code: u16) -> Message {
    let mut r = Message::response_to(req, code, None);
    if code != 100 {
        r.set_to_tag("a6c85cf").expect("To tag");
    }
    wire(&r)
}

/// Runs every timer up to and including `end`; returns each event with the time
/// (from `t0`) it happened at.
pub fn run_until(
    table: &mut Transactions<Peer>,
    t0: Instant,
    end: Instant,
) -> Vec<(Duration, Event<Peer>)> {
    let mut out = Vec::new();
    while let Some(at) = table.poll_timeout() {
        if at > end {
            break;
        }
        for e in table.handle_timeout(at) {
            out.push((at - t0, e));
        }
    }
    out
}

/// The instants (in ms from the start) of the `Send` events in `events`.
pub fn send_times(events: &[(Duration, Event<Peer>)]) -> Vec<u64> {
    events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Send { .. }))
        .map(|(d, _)| d.as_millis() as u64)
        .collect()
}

/// A fixed base instant for simulated time.
pub fn t0() -> Instant {
    Instant::now()
}
