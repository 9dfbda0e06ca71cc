//! Client transactions (RFC 3261 §17.1, RFC 6026) in simulated time.

mod common;

use common::*;
use sip_message::{HeaderKind, Message, Method};
use sip_transaction::{Error, Event, ResponseOutcome, State, Timer, Transactions};

#[test]
fn invite_over_udp_retransmits_on_timer_a_and_gives_up_on_timer_b() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKnashds8");
    let (key, first) = table.send_request(&inv, PEER, t0, false).unwrap();
    assert_eq!(first.dest, PEER);
    assert_eq!(table.state(&key), Some(State::Calling));
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    // Timer A doubles without a cap: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; B at 32 s.
    assert_eq!(
        send_times(&events),
        vec![500, 1_500, 3_500, 7_500, 15_500, 31_500]
    );
    for (_, e) in &events {
        if let Event::Send {
            timer, transmit, ..
        } = e
        {
            assert_eq!(*timer, Timer::A);
            assert_eq!(transmit.bytes, first.bytes);
            assert_eq!(transmit.dest, PEER);
        }
    }
    let tail: Vec<_> = events.iter().skip(6).cloned().collect();
    assert_eq!(
        tail,
        vec![
            (
                ms(32_000),
                Event::Timeout {
                    key: key.clone(),
                    timer: Timer::B
                }
            ),
            (ms(32_000), Event::Terminated { key: key.clone() }),
        ]
    );
    assert!(table.is_empty());
    assert_eq!(table.state(&key), None);
}

#[test]
fn non_invite_over_udp_caps_timer_e_at_t2_and_gives_up_on_timer_f() {
    let mut table = Transactions::default();
    let t0 = t0();
    let req = request("OPTIONS", "z9hG4bKopt1", "opt1@example.com");
    let (key, _) = table.send_request(&req, PEER, t0, false).unwrap();
    assert_eq!(table.state(&key), Some(State::Trying));
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert_eq!(
        send_times(&events),
        vec![500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    assert!(events
        .iter()
        .all(|(_, e)| !matches!(e, Event::Send { timer, .. } if *timer != Timer::E)));
    let n = events.len();
    assert_eq!(
        events[n - 2],
        (
            ms(32_000),
            Event::Timeout {
                key: key.clone(),
                timer: Timer::F
            }
        )
    );
    assert_eq!(events[n - 1], (ms(32_000), Event::Terminated { key }));
    assert!(table.is_empty());
}

#[test]
fn non_invite_after_a_provisional_retransmits_every_t2() {
    let mut table = Transactions::default();
    let t0 = t0();
    let req = request("REGISTER", "z9hG4bKreg1", "reg1@example.com");
    let (key, _) = table.send_request(&req, PEER, t0, false).unwrap();
    let early = run_until(&mut table, t0, t0 + ms(1_000));
    assert_eq!(send_times(&early), vec![500]);
    // A 100 Trying at 1 s: Proceeding. E was set to fire at 1.5 s; from then on it is
    // reset to T2 each time (§17.1.2.2).
    match table.on_response(reply(&req, 100), t0 + ms(1_000)) {
        ResponseOutcome::Deliver { key: k, send, .. } => {
            assert_eq!(k, key);
            assert!(send.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(table.state(&key), Some(State::Proceeding));
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert_eq!(
        send_times(&events),
        vec![1_500, 5_500, 9_500, 13_500, 17_500, 21_500, 25_500, 29_500]
    );
    assert!(events.iter().any(|(d, e)| *d == ms(32_000)
        && matches!(
            e,
            Event::Timeout {
                timer: Timer::F,
                ..
            }
        )));
    assert!(table.is_empty());
}

#[test]
fn reliable_transports_never_retransmit() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKtcp1");
    let opt = request("OPTIONS", "z9hG4bKtcp2", "tcp2@example.com");
    let (ki, _) = table.send_request(&inv, PEER, t0, true).unwrap();
    let (ko, _) = table.send_request(&opt, PEER, t0, true).unwrap();
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert!(send_times(&events).is_empty());
    assert!(events.contains(&(
        ms(32_000),
        Event::Timeout {
            key: ki,
            timer: Timer::B
        }
    )));
    assert!(events.contains(&(
        ms(32_000),
        Event::Timeout {
            key: ko,
            timer: Timer::F
        }
    )));
    assert!(table.is_empty());
}

#[test]
fn timers_b_and_f_follow_configured_t1_and_timer_b() {
    // res_pjsip system: timer_t1=100, timer_b=10000.
    let timers = sip_transaction::Timers::from_system(100, 10_000);
    assert_eq!(timers.t1, ms(100));
    assert_eq!(timers.timer_b, ms(10_000));
    // A timer_b below 64×T1 is raised to it.
    assert_eq!(
        sip_transaction::Timers::from_system(500, 1_000).timer_b,
        ms(32_000)
    );
    assert_eq!(sip_transaction::Timers::from_system(10, 0).t1, ms(100));
    let mut table = Transactions::new(timers);
    let t0 = t0();
    let (key, _) = table
        .send_request(&invite("z9hG4bKcfg"), PEER, t0, false)
        .unwrap();
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert_eq!(
        send_times(&events),
        vec![100, 300, 700, 1_500, 3_100, 6_300]
    );
    assert!(events.contains(&(
        ms(10_000),
        Event::Timeout {
            key,
            timer: Timer::B
        }
    )));
}

#[test]
fn invite_non_2xx_gets_an_ack_built_header_by_header() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bK776asdhds");
    let (key, _) = table.send_request(&inv, PEER, t0, false).unwrap();
    let busy = reply(&inv, 486);
    let ack_bytes = match table.on_response(busy.clone(), t0 + ms(700)) {
        ResponseOutcome::Deliver {
            key: k,
            response,
            send: Some(ack),
        } => {
            assert_eq!(k, key);
            assert_eq!(response.status(), Some(486));
            assert_eq!(ack.dest, PEER);
            ack.bytes
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(table.state(&key), Some(State::Completed));
    let ack = Message::parse(ack_bytes.clone()).unwrap();
    // §17.1.1.3, header by header.
    assert_eq!(ack.method(), Some(&Method::Ack));
    assert_eq!(ack.request_uri(), inv.request_uri());
    assert_eq!(
        ack.request_uri().unwrap().as_str(),
        "sip:bob@biloxi.example.com"
    );
    let vias = ack.via().unwrap();
    assert_eq!(vias.len(), 1, "only the top Via of the request");
    assert_eq!(vias[0].as_str(), inv.top_via().unwrap().as_str());
    assert_eq!(vias[0].branch(), Some("z9hG4bK776asdhds"));
    let routes: Vec<String> = ack.route().unwrap().iter().map(|r| r.to_string()).collect();
    assert_eq!(
        routes,
        vec!["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    );
    assert_eq!(ack.max_forwards().unwrap(), Some(69));
    assert_eq!(ack.from().unwrap().as_str(), inv.from().unwrap().as_str());
    assert_eq!(ack.from().unwrap().tag(), Some("1928301774"));
    assert_eq!(ack.to().unwrap().as_str(), busy.to().unwrap().as_str());
    assert_eq!(ack.to().unwrap().tag(), Some("a6c85cf"));
    assert_eq!(ack.call_id().unwrap(), inv.call_id().unwrap());
    assert_eq!(ack.cseq().unwrap().seq, 314159);
    assert_eq!(ack.cseq().unwrap().method, Method::Ack);
    assert!(!ack.has(HeaderKind::Contact));
    assert!(!ack.has(HeaderKind::ContentType));
    assert!(ack.body().is_empty());
    assert_eq!(ack.value("Content-Length"), Some(&b"0"[..]));
    assert!(ack.validate().is_ok());

    // A retransmitted 486 is absorbed and answered with the same ACK.
    match table.on_response(busy.clone(), t0 + ms(2_000)) {
        ResponseOutcome::Absorbed {
            resend: Some(again),
            ..
        } => assert_eq!(again.bytes, ack_bytes),
        other => panic!("{other:?}"),
    }
    // No more INVITE retransmissions; Timer D (32 s over UDP) ends it.
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert_eq!(events, vec![(ms(32_700), Event::Terminated { key })]);
}

#[test]
fn invite_non_2xx_over_tcp_ends_at_once() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKtcpack");
    let (key, _) = table.send_request(&inv, PEER, t0, true).unwrap();
    assert!(matches!(
        table.on_response(reply(&inv, 603), t0 + ms(50)),
        ResponseOutcome::Deliver { send: Some(_), .. }
    ));
    // Timer D is zero over reliable transports.
    assert_eq!(table.poll_timeout(), Some(t0 + ms(50)));
    assert_eq!(
        table.handle_timeout(t0 + ms(50)),
        vec![Event::Terminated { key }]
    );
    assert!(table.is_empty());
}

#[test]
fn invite_2xx_goes_to_accepted_and_every_2xx_reaches_the_tu() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKacc");
    let (key, _) = table.send_request(&inv, PEER, t0, false).unwrap();
    let ringing = reply(&inv, 180);
    assert!(matches!(
        table.on_response(ringing, t0 + ms(300)),
        ResponseOutcome::Deliver { send: None, .. }
    ));
    assert_eq!(table.state(&key), Some(State::Proceeding));
    // Proceeding: no retransmissions, no Timer B.
    assert_eq!(table.poll_timeout(), None);
    let ok = reply(&inv, 200);
    for at in [1_000, 1_500, 2_500] {
        match table.on_response(ok.clone(), t0 + ms(at)) {
            ResponseOutcome::Deliver { key: k, send, .. } => {
                assert_eq!(k, key);
                assert!(send.is_none(), "the TU ACKs a 2xx, not the transaction");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(table.state(&key), Some(State::Accepted));
    }
    // A late non-2xx is absorbed in Accepted.
    assert!(matches!(
        table.on_response(reply(&inv, 500), t0 + ms(3_000)),
        ResponseOutcome::Absorbed { resend: None, .. }
    ));
    // Timer M: 64×T1 after the first 2xx.
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert_eq!(events, vec![(ms(33_000), Event::Terminated { key })]);
}

#[test]
fn non_invite_final_completes_and_timer_k_ends_it() {
    let mut table = Transactions::default();
    let t0 = t0();
    let req = request("BYE", "z9hG4bKbye", "bye@example.com");
    let (key, _) = table.send_request(&req, PEER, t0, false).unwrap();
    let ok = reply(&req, 200);
    assert!(matches!(
        table.on_response(ok.clone(), t0 + ms(1_000)),
        ResponseOutcome::Deliver { .. }
    ));
    assert_eq!(table.state(&key), Some(State::Completed));
    assert!(matches!(
        table.on_response(ok, t0 + ms(1_200)),
        ResponseOutcome::Absorbed { resend: None, .. }
    ));
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    // Timer K = T4 = 5 s over UDP; no retransmissions after the final response.
    assert_eq!(events, vec![(ms(6_000), Event::Terminated { key })]);

    // Over TCP, K is zero.
    let req = request("BYE", "z9hG4bKbye2", "bye2@example.com");
    let (key, _) = table.send_request(&req, PEER, t0, true).unwrap();
    table.on_response(reply(&req, 200), t0 + ms(10));
    assert_eq!(
        table.handle_timeout(t0 + ms(10)),
        vec![Event::Terminated { key }]
    );
}

#[test]
fn transport_error_is_reported_and_ends_the_transaction() {
    let mut table = Transactions::default();
    let t0 = t0();
    let (key, _) = table
        .send_request(&invite("z9hG4bKterr"), PEER, t0, true)
        .unwrap();
    assert_eq!(
        table.transport_error(&key),
        vec![
            Event::TransportError { key: key.clone() },
            Event::Terminated { key: key.clone() }
        ]
    );
    assert!(table.is_empty());
    assert_eq!(table.poll_timeout(), None);
    assert!(table.transport_error(&key).is_empty());
}

#[test]
fn responses_to_unknown_branches_or_other_methods_are_stray() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKknown");
    table.send_request(&inv, PEER, t0, false).unwrap();
    let stray = reply(&invite("z9hG4bKunknown"), 200);
    assert!(matches!(
        table.on_response(stray, t0),
        ResponseOutcome::Stray { .. }
    ));
    // Same branch, CSeq method CANCEL: not the INVITE's (§17.1.3).
    let cancel = request(
        "CANCEL",
        "z9hG4bKknown",
        "a84b4c76e66710@pc33.atlanta.example.com",
    );
    assert!(matches!(
        table.on_response(reply(&cancel, 200), t0),
        ResponseOutcome::Stray { .. }
    ));
    // A response without a Via is stray too, not a panic.
    let broken = msg("SIP/2.0 200 OK\nCall-ID: x\nCSeq: 1 INVITE\nContent-Length: 0\n\n");
    assert!(matches!(
        table.on_response(broken, t0),
        ResponseOutcome::Stray { .. }
    ));
}

#[test]
fn a_cancel_limits_the_invite_to_64_t1() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKcxl");
    let (ikey, _) = table.send_request(&inv, PEER, t0, false).unwrap();
    table.on_response(reply(&inv, 180), t0 + ms(100));
    // CANCEL: same branch (§9.1), its own non-INVITE client transaction.
    let cancel = msg("CANCEL sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKcxl
Max-Forwards: 70
Route: <sip:p1.example.com;lr>
Route: <sip:p2.example.com;lr>
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 CANCEL
Content-Length: 0

");
    let (ckey, _) = table
        .send_request(&cancel, PEER, t0 + ms(5_000), false)
        .unwrap();
    assert_ne!(ckey, ikey);
    assert!(matches!(
        table.on_response(reply(&cancel, 200), t0 + ms(5_100)),
        ResponseOutcome::Deliver { key, .. } if key == ckey
    ));
    // The far end never sends 487: the INVITE gives up 64×T1 after the CANCEL.
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert!(events.contains(&(
        ms(37_000),
        Event::Timeout {
            key: ikey.clone(),
            timer: Timer::Cancel
        }
    )));
    assert!(events.contains(&(ms(37_000), Event::Terminated { key: ikey })));
    assert!(table.is_empty());
}

#[test]
fn ack_and_bad_requests_do_not_start_client_transactions() {
    let mut table = Transactions::default();
    let t0 = t0();
    let ack = request("ACK", "z9hG4bKack", "ack@example.com");
    assert_eq!(
        table.send_request(&ack, PEER, t0, false).unwrap_err(),
        Error::AckIsNotATransaction
    );
    let old = request("OPTIONS", "1234", "old@example.com");
    assert!(matches!(
        table.send_request(&old, PEER, t0, false),
        Err(Error::InvalidMessage(_))
    ));
    let opt = request("OPTIONS", "z9hG4bKdup", "dup@example.com");
    table.send_request(&opt, PEER, t0, false).unwrap();
    assert_eq!(
        table.send_request(&opt, PEER, t0, false).unwrap_err(),
        Error::Duplicate
    );
    let resp = reply(&opt, 200);
    assert!(matches!(
        table.send_request(&resp, PEER, t0, false),
        Err(Error::InvalidMessage(_))
    ));
}
