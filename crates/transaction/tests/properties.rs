//! Property: random sequences of requests, responses, TU answers, transport errors,
//! garbage and time advances never panic, every transaction the table reports is
//! reported terminated exactly once, and none outlives its longest timer after its
//! last input.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use proptest::prelude::*;
use sip_message::Message;
use sip_transaction::{Event, Key, RequestOutcome, ResponseOutcome, Timers, Transactions};

#[derive(Debug, Clone)]
enum Op {
    Send {
        n: u8,
        method: u8,
        reliable: bool,
    },
    Response {
        n: u8,
        method: u8,
        code: u16,
        /// Answer the `pick`-th request we sent, when set.
        pick: Option<usize>,
    },
    Request {
        n: u8,
        method: u8,
        reliable: bool,
        legacy: bool,
        to_tag: Option<u8>,
        host: u8,
    },
    Respond {
        pick: usize,
        code: u16,
    },
    TransportError {
        pick: usize,
    },
    Advance {
        ms: u32,
    },
    Garbage {
        bytes: Vec<u8>,
        as_response: bool,
    },
    Truncated {
        n: u8,
        cut: usize,
    },
}

const METHODS: [&str; 5] = ["INVITE", "OPTIONS", "ACK", "CANCEL", "BYE"];

fn code() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(100u16),
        Just(180),
        Just(183),
        Just(200),
        Just(202),
        Just(302),
        Just(404),
        Just(486),
        Just(487),
        Just(503),
        Just(603),
        0u16..800,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, 0u8..5, any::<bool>()).prop_map(|(n, method, reliable)| Op::Send {
            n,
            method,
            reliable
        }),
        (
            0u8..6,
            0u8..5,
            code(),
            proptest::option::weighted(0.8, any::<usize>())
        )
            .prop_map(|(n, method, code, pick)| Op::Response {
                n,
                method,
                code,
                pick
            }),
        (
            0u8..3,
            0u8..5,
            any::<bool>(),
            proptest::bool::weighted(0.2),
            proptest::option::weighted(0.2, 0u8..2),
            prop_oneof![4 => Just(0u8), 1 => Just(1u8)],
        )
            .prop_map(|(n, method, reliable, legacy, to_tag, host)| Op::Request {
                n,
                method,
                reliable,
                legacy,
                to_tag,
                host
            }),
        (any::<usize>(), code()).prop_map(|(pick, code)| Op::Respond { pick, code }),
        any::<usize>().prop_map(|pick| Op::TransportError { pick }),
        prop_oneof![0u32..1_000, 0u32..40_000].prop_map(|ms| Op::Advance { ms }),
        (
            proptest::collection::vec(any::<u8>(), 0..200),
            any::<bool>()
        )
            .prop_map(|(bytes, as_response)| Op::Garbage { bytes, as_response }),
        (0u8..6, any::<usize>()).prop_map(|(n, cut)| Op::Truncated { n, cut }),
    ]
}

fn req_text(method: &str, n: u8, legacy: bool, to_tag: Option<u8>, host: u8) -> String {
    let branch = if legacy {
        format!("old{n}")
    } else {
        format!("z9hG4bKp{n}")
    };
    let to_tag = to_tag.map(|t| format!(";tag=t{t}")).unwrap_or_default();
    let cseq_method = if method == "ACK" { "ACK" } else { method };
    format!(
        "{method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h{host}.example.com;branch={branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=f{n}\r\nTo: <sip:bob@example.com>{to_tag}\r\n\
         Call-ID: c{n}@example.com\r\nCSeq: {n} {cseq_method}\r\nContent-Length: 0\r\n\r\n"
    )
}

fn parse(text: &str) -> Message {
    Message::parse(text.as_bytes().to_vec()).expect("generated message parses")
}

struct Model {
    table: Transactions<Peer>,
    now: Instant,
    /// Every transaction the table told us about and has not reported terminated,
    /// with the time of its last input.
    alive: HashMap<Key, Instant>,
    server_keys: Vec<Key>,
    client_requests: Vec<Message>,
}

impl Model {
    fn events(&mut self, events: Vec<Event<Peer>>) {
        for e in events {
            if let Event::Terminated { key } = e {
                assert!(
                    self.alive.remove(&key).is_some(),
                    "terminated twice or never born: {key}"
                );
            }
        }
    }

    fn born(&mut self, key: &Key) {
        assert!(self.alive.insert(key.clone(), self.now).is_none());
        if key.role() == sip_transaction::Role::Server {
            self.server_keys.push(key.clone());
        }
    }

    fn touch(&mut self, key: &Key) {
        if let Some(t) = self.alive.get_mut(key) {
            *t = self.now;
        }
    }

    fn on_request(&mut self, m: Message, reliable: bool) {
        match self.table.on_request(m, PEER, self.now, reliable) {
            RequestOutcome::New { key, .. } => self.born(&key),
            RequestOutcome::Cancel { key, invite, .. } => {
                self.born(&key);
                if let Some(i) = invite {
                    assert!(self.alive.contains_key(&i));
                }
            }
            RequestOutcome::Retransmission { key, .. } | RequestOutcome::AckAbsorbed { key } => {
                assert!(self.alive.contains_key(&key));
                self.touch(&key);
            }
            RequestOutcome::AckToTu { key: Some(key), .. } => self.touch(&key),
            _ => {}
        }
    }

    fn on_response(&mut self, m: Message) {
        match self.table.on_response(m, self.now) {
            ResponseOutcome::Deliver { key, .. } | ResponseOutcome::Absorbed { key, .. } => {
                assert!(self.alive.contains_key(&key));
                self.touch(&key);
            }
            ResponseOutcome::Stray { .. } => {}
        }
    }

    fn check(&mut self, after_timers: bool) {
        assert_eq!(self.alive.len(), self.table.len());
        let longest = self.table.timers().longest();
        for (key, last) in &self.alive {
            assert!(
                self.now.duration_since(*last) <= longest,
                "{key} alive {:?} after its last input",
                self.now.duration_since(*last)
            );
        }
        if !self.table.is_empty() {
            // With the guard on, every live transaction has a timer running.
            let next = self
                .table
                .poll_timeout()
                .expect("a live transaction has a deadline");
            assert!(next >= self.now, "a deadline in the past");
            assert!(
                !after_timers || next > self.now,
                "handle_timeout left due work"
            );
        }
    }
}

fn run(ops: Vec<Op>, t1_ms: u64) {
    let timers = Timers {
        tu_guard: Some(Duration::from_secs(180)),
        ..Timers::with_t1(Duration::from_millis(t1_ms))
    };
    let mut m = Model {
        table: Transactions::new(timers),
        now: Instant::now(),
        alive: HashMap::new(),
        server_keys: Vec::new(),
        client_requests: Vec::new(),
    };
    for op in ops {
        let after_timers = matches!(op, Op::Advance { .. });
        match op {
            Op::Send {
                n,
                method,
                reliable,
            } => {
                let text = req_text(METHODS[usize::from(method)], n, false, None, 0)
                    .replace("z9hG4bKp", "z9hG4bKc");
                let req = parse(&text);
                if let Ok((key, first)) = m.table.send_request(&req, PEER, m.now, reliable) {
                    assert_eq!(first.bytes, req.to_bytes());
                    m.born(&key);
                    m.client_requests.push(req);
                }
            }
            Op::Response {
                n,
                method,
                code,
                pick,
            } => {
                let req = match pick {
                    Some(p) if !m.client_requests.is_empty() => {
                        m.client_requests[p % m.client_requests.len()].clone()
                    }
                    _ => parse(
                        &req_text(METHODS[usize::from(method)], n, false, None, 0)
                            .replace("z9hG4bKp", "z9hG4bKc"),
                    ),
                };
                let mut r = Message::response_to(&req, code, None);
                let _ = r.set_to_tag("rt");
                if let Ok(parsed) = Message::parse(r.to_bytes()) {
                    m.on_response(parsed);
                }
            }
            Op::Request {
                n,
                method,
                reliable,
                legacy,
                to_tag,
                host,
            } => {
                let text = req_text(METHODS[usize::from(method)], n, legacy, to_tag, host);
                m.on_request(parse(&text), reliable);
            }
            Op::Respond { pick, code } => {
                if !m.server_keys.is_empty() {
                    let key = m.server_keys[pick % m.server_keys.len()].clone();
                    // Built, not parsed: the TU may hand over any status code.
                    let mut resp = Message::response(code, None);
                    resp.push_header("To", "<sip:b@example.com>;tag=2").unwrap();
                    let ok = m.table.respond(&key, &resp, m.now).is_ok();
                    if ok {
                        m.touch(&key);
                    }
                }
            }
            Op::TransportError { pick } => {
                let keys: Vec<Key> = m.alive.keys().cloned().collect();
                if !keys.is_empty() {
                    let key = keys[pick % keys.len()].clone();
                    let events = m.table.transport_error(&key);
                    m.touch(&key);
                    m.events(events);
                }
            }
            Op::Advance { ms: d } => {
                m.now += Duration::from_millis(u64::from(d));
                let events = m.table.handle_timeout(m.now);
                m.events(events);
            }
            Op::Garbage { bytes, as_response } => {
                if let Ok(parsed) = Message::parse(bytes) {
                    if as_response {
                        m.on_response(parsed);
                    } else {
                        m.on_request(parsed, false);
                    }
                }
            }
            Op::Truncated { n, cut } => {
                let text = req_text("INVITE", n, false, None, 0);
                let cut = cut % (text.len() + 1);
                if let Ok(parsed) = Message::parse(text.as_bytes()[..cut].to_vec()) {
                    m.on_request(parsed, false);
                }
            }
        }
        m.check(after_timers);
    }
    // Quiet: after the longest timer, nothing is left.
    m.now += m.table.timers().longest() + Duration::from_millis(1);
    let events = m.table.handle_timeout(m.now);
    m.events(events);
    assert!(m.table.is_empty(), "{} transactions left", m.table.len());
    assert!(m.alive.is_empty());
    assert_eq!(m.table.poll_timeout(), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_inputs_never_panic_nor_leak(
        ops in proptest::collection::vec(op(), 0..80),
        t1 in prop_oneof![Just(500u64), Just(100u64), 100u64..2_000],
    ) {
        run(ops, t1);
    }
}
