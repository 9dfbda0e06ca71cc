//! Server transactions (RFC 3261 §17.2, RFC 6026) in simulated time.

mod common;

use common::*;
use sip_message::Message;
use sip_transaction::{Error, Event, Key, RequestOutcome, State, Timer, Transactions};

fn new_key(outcome: RequestOutcome<Peer>) -> Key {
    match outcome {
        RequestOutcome::New { key, .. } => key,
        other => panic!("expected a new transaction, got {other:?}"),
    }
}

/// The TU's response to `req`, with a To tag unless it is 100.
fn answer(req: &Message, code: u16) -> Message {
    let mut r = Message::response_to(req, code, None);
    if code != 100 {
        r.set_to_tag("srv-tag-1").unwrap();
    }
    r
}

/// The ACK a UAC sends for our non-2xx final response `final_response` to `inv`.
fn ack_for(inv: &Message, final_response: &Message) -> Message {
    wire(&sip_transaction::build_ack(inv, final_response).unwrap())
}

#[test]
fn invite_gets_100_trying_after_200_ms_and_retransmissions_get_it_again() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKtry");
    let key = new_key(table.on_request(inv.clone(), PEER, t0, false));
    assert_eq!(table.state(&key), Some(State::Proceeding));
    assert_eq!(table.poll_timeout(), Some(t0 + ms(200)));
    // A retransmission before 200 ms: nothing to resend yet.
    assert!(matches!(
        table.on_request(inv.clone(), PEER, t0 + ms(100), false),
        RequestOutcome::Retransmission { resend: None, .. }
    ));
    let events = table.handle_timeout(t0 + ms(200));
    let trying = match &events[..] {
        [Event::Send {
            key: k,
            timer: Timer::Trying,
            transmit,
        }] => {
            assert_eq!(k, &key);
            assert_eq!(transmit.dest, PEER);
            transmit.bytes.clone()
        }
        other => panic!("{other:?}"),
    };
    let parsed = Message::parse(trying.clone()).unwrap();
    assert_eq!(parsed.status(), Some(100));
    assert_eq!(parsed.to().unwrap().tag(), None);
    assert_eq!(parsed.via().unwrap().len(), 2);
    assert_eq!(parsed.cseq().unwrap().seq, 314159);
    // Retransmitted INVITEs are answered with the 100 from the transaction.
    match table.on_request(inv, PEER, t0 + ms(500), false) {
        RequestOutcome::Retransmission {
            key: k,
            resend: Some(again),
        } => {
            assert_eq!(k, key);
            assert_eq!(again.bytes, trying);
        }
        other => panic!("{other:?}"),
    }
    // Proceeding has no timer of its own (RFC 3261); nothing more is scheduled.
    assert_eq!(table.poll_timeout(), None);
}

#[test]
fn no_100_trying_when_the_tu_answers_within_200_ms() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKquick");
    let key = new_key(table.on_request(inv.clone(), PEER, t0, false));
    let ringing = answer(&inv, 180);
    let sent = table.respond(&key, &ringing, t0 + ms(150)).unwrap();
    assert_eq!(sent.dest, PEER);
    assert_eq!(sent.bytes, ringing.to_bytes());
    assert!(run_until(&mut table, t0, t0 + ms(10_000)).is_empty());
    // The latest provisional answers retransmissions.
    assert!(matches!(
        table.on_request(inv, PEER, t0 + ms(600), false),
        RequestOutcome::Retransmission { resend: Some(r), .. } if r.bytes == ringing.to_bytes()
    ));
}

#[test]
fn invite_final_non_2xx_retransmits_on_timer_g_until_timer_h() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKgh");
    let key = new_key(table.on_request(inv.clone(), PEER, t0, false));
    let busy = answer(&inv, 486);
    table.respond(&key, &busy, t0).unwrap();
    assert_eq!(table.state(&key), Some(State::Completed));
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    // G: T1, doubling, capped at T2: 0.5, 1.5, 3.5, 7.5, then every 4 s; H at 64×T1.
    assert_eq!(
        send_times(&events),
        vec![500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    assert!(events.iter().all(|(_, e)| match e {
        Event::Send {
            timer, transmit, ..
        } => *timer == Timer::G && transmit.bytes == busy.to_bytes(),
        _ => true,
    }));
    let n = events.len();
    assert_eq!(
        events[n - 2..],
        [
            (
                ms(32_000),
                Event::Timeout {
                    key: key.clone(),
                    timer: Timer::H
                }
            ),
            (ms(32_000), Event::Terminated { key })
        ]
    );
    assert!(table.is_empty());
}

#[test]
fn ack_confirms_and_timer_i_ends_it() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKack");
    let key = new_key(table.on_request(inv.clone(), PEER, t0, false));
    let busy = answer(&inv, 486);
    table.respond(&key, &busy, t0 + ms(100)).unwrap();
    // A retransmitted INVITE in Completed gets the final response again.
    assert!(matches!(
        table.on_request(inv.clone(), PEER, t0 + ms(300), false),
        RequestOutcome::Retransmission { resend: Some(r), .. } if r.bytes == busy.to_bytes()
    ));
    let g = run_until(&mut table, t0, t0 + ms(1_000));
    assert_eq!(send_times(&g), vec![600]);
    let ack = ack_for(&inv, &busy);
    assert!(matches!(
        table.on_request(ack.clone(), PEER, t0 + ms(1_000), false),
        RequestOutcome::AckAbsorbed { key: k } if k == key
    ));
    assert_eq!(table.state(&key), Some(State::Confirmed));
    // Confirmed absorbs further ACKs and INVITEs without sending.
    assert!(matches!(
        table.on_request(ack, PEER, t0 + ms(1_100), false),
        RequestOutcome::AckAbsorbed { .. }
    ));
    assert!(matches!(
        table.on_request(inv, PEER, t0 + ms(1_200), false),
        RequestOutcome::Retransmission { resend: None, .. }
    ));
    // G and H stopped; Timer I = T4 = 5 s.
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert_eq!(events, vec![(ms(6_000), Event::Terminated { key })]);
}

#[test]
fn reliable_invite_server_has_no_timer_g_and_timer_i_is_zero() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKrel");
    let key = new_key(table.on_request(inv.clone(), PEER, t0, true));
    let busy = answer(&inv, 404);
    table.respond(&key, &busy, t0).unwrap();
    assert_eq!(table.poll_timeout(), Some(t0 + ms(32_000)), "only Timer H");
    assert!(matches!(
        table.on_request(ack_for(&inv, &busy), PEER, t0 + ms(40), true),
        RequestOutcome::AckAbsorbed { .. }
    ));
    assert_eq!(
        run_until(&mut table, t0, t0 + ms(100_000)),
        vec![(ms(40), Event::Terminated { key })]
    );

    // Without the ACK, H still ends it over TCP, with no retransmission.
    let inv = invite("z9hG4bKrel2");
    let key = new_key(table.on_request(inv.clone(), PEER, t0, true));
    table.respond(&key, &answer(&inv, 500), t0).unwrap();
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert!(send_times(&events).is_empty());
    assert_eq!(
        events,
        vec![
            (
                ms(32_000),
                Event::Timeout {
                    key: key.clone(),
                    timer: Timer::H
                }
            ),
            (ms(32_000), Event::Terminated { key })
        ]
    );
}

#[test]
fn accepted_absorbs_invite_retransmissions_and_passes_2xx_and_acks() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKok");
    let key = new_key(table.on_request(inv.clone(), PEER, t0, false));
    let ok = answer(&inv, 200);
    table.respond(&key, &ok, t0 + ms(1_000)).unwrap();
    assert_eq!(table.state(&key), Some(State::Accepted));
    // The TU sees the INVITE once: retransmissions are absorbed, with nothing sent
    // (2xx retransmission is the TU's job, RFC 6026 §8.7).
    for at in [1_500, 2_500, 4_500] {
        assert!(matches!(
            table.on_request(inv.clone(), PEER, t0 + ms(at), false),
            RequestOutcome::Retransmission { resend: None, .. }
        ));
    }
    // The TU's own 2xx retransmissions pass through.
    assert_eq!(
        table.respond(&key, &ok, t0 + ms(1_500)).unwrap().bytes,
        ok.to_bytes()
    );
    // But a non-2xx after a 2xx is refused.
    assert_eq!(
        table.respond(&key, &answer(&inv, 486), t0 + ms(1_600)),
        Err(Error::WrongState(State::Accepted))
    );
    // The ACK for a 2xx has its own branch: it is the dialog's.
    let ack = msg("ACK sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnewbranch
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>;tag=srv-tag-1
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 ACK
Content-Length: 0

");
    assert!(matches!(
        table.on_request(ack, PEER, t0 + ms(2_000), false),
        RequestOutcome::AckToTu { key: None, .. }
    ));
    // Timer L: 64×T1 after the 2xx; no Timer G in Accepted.
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert_eq!(events, vec![(ms(33_000), Event::Terminated { key })]);
}

#[test]
fn non_invite_server_absorbs_retransmissions_and_timer_j_ends_it() {
    let mut table = Transactions::default();
    let t0 = t0();
    let req = request("OPTIONS", "z9hG4bKsopt", "sopt@example.com");
    let key = new_key(table.on_request(req.clone(), PEER, t0, false));
    assert_eq!(table.state(&key), Some(State::Trying));
    // No 100 Trying for non-INVITE, and nothing to resend in Trying.
    assert_eq!(table.poll_timeout(), None);
    assert!(matches!(
        table.on_request(req.clone(), PEER, t0 + ms(500), false),
        RequestOutcome::Retransmission { resend: None, .. }
    ));
    let trying = answer(&req, 100);
    table.respond(&key, &trying, t0 + ms(600)).unwrap();
    assert_eq!(table.state(&key), Some(State::Proceeding));
    assert!(matches!(
        table.on_request(req.clone(), PEER, t0 + ms(1_500), false),
        RequestOutcome::Retransmission { resend: Some(r), .. } if r.bytes == trying.to_bytes()
    ));
    let ok = answer(&req, 200);
    table.respond(&key, &ok, t0 + ms(2_000)).unwrap();
    assert_eq!(table.state(&key), Some(State::Completed));
    assert!(matches!(
        table.on_request(req.clone(), "198.51.100.7:5060", t0 + ms(3_500), false),
        RequestOutcome::Retransmission { resend: Some(r), .. }
            if r.bytes == ok.to_bytes() && r.dest == "198.51.100.7:5060"
    ));
    assert_eq!(
        table.respond(&key, &ok, t0 + ms(3_600)),
        Err(Error::WrongState(State::Completed))
    );
    // Timer J = 64×T1 over UDP; the server never retransmits on its own.
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert_eq!(events, vec![(ms(34_000), Event::Terminated { key })]);

    // Over TCP, J is zero.
    let req = request("OPTIONS", "z9hG4bKsopt2", "sopt2@example.com");
    let key = new_key(table.on_request(req.clone(), PEER, t0, true));
    table.respond(&key, &answer(&req, 200), t0 + ms(5)).unwrap();
    assert_eq!(
        table.handle_timeout(t0 + ms(5)),
        vec![Event::Terminated { key }]
    );
    assert!(table.is_empty());
}

#[test]
fn respond_refuses_what_it_cannot_send() {
    let mut table = Transactions::default();
    let t0 = t0();
    let req = request("OPTIONS", "z9hG4bKref", "ref@example.com");
    let key = new_key(table.on_request(req.clone(), PEER, t0, false));
    assert_eq!(
        table.respond(&key, &req, t0),
        Err(Error::BadStatus),
        "a request is not a response"
    );
    let (ckey, _) = table
        .send_request(
            &request("OPTIONS", "z9hG4bKcli", "cli@example.com"),
            PEER,
            t0,
            false,
        )
        .unwrap();
    assert_eq!(
        table.respond(&ckey, &answer(&req, 200), t0),
        Err(Error::NotAServerTransaction)
    );
    table.respond(&key, &answer(&req, 200), t0).unwrap();
    table.handle_timeout(t0 + ms(40_000));
    assert_eq!(
        table.respond(&key, &answer(&req, 200), t0 + ms(40_000)),
        Err(Error::UnknownTransaction)
    );
}

#[test]
fn server_transport_error_is_reported() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKsterr");
    let key = new_key(table.on_request(inv.clone(), PEER, t0, true));
    table.respond(&key, &answer(&inv, 486), t0).unwrap();
    assert_eq!(
        table.transport_error(&key),
        vec![
            Event::TransportError { key: key.clone() },
            Event::Terminated { key: key.clone() }
        ]
    );
    assert!(table.is_empty());

    // In Accepted the failure is reported but the transaction stays to absorb
    // retransmitted INVITEs.
    let inv = invite("z9hG4bKsterr2");
    let key = new_key(table.on_request(inv.clone(), PEER, t0, true));
    table.respond(&key, &answer(&inv, 200), t0).unwrap();
    assert_eq!(
        table.transport_error(&key),
        vec![Event::TransportError { key: key.clone() }]
    );
    assert_eq!(table.state(&key), Some(State::Accepted));
}

#[test]
fn tu_guard_ends_transactions_the_rfc_leaves_waiting() {
    let timers = sip_transaction::Timers {
        tu_guard: Some(ms(180_000)),
        ..Default::default()
    };
    let mut table = Transactions::new(timers);
    let t0 = t0();
    let inv = invite("z9hG4bKguard");
    let key = new_key(table.on_request(inv.clone(), PEER, t0, false));
    // A provisional restarts the guard, as one restarts Timer C.
    table
        .respond(&key, &answer(&inv, 180), t0 + ms(60_000))
        .unwrap();
    let events = run_until(&mut table, t0, t0 + ms(1_000_000));
    assert_eq!(
        events,
        vec![
            (
                ms(240_000),
                Event::Timeout {
                    key: key.clone(),
                    timer: Timer::Guard
                }
            ),
            (ms(240_000), Event::Terminated { key })
        ]
    );
}

#[test]
fn the_table_gives_its_room_back_after_a_burst() {
    let mut table = Transactions::default();
    let t0 = t0();
    for i in 0..20_000 {
        let req = request(
            "REGISTER",
            &format!("z9hG4bKburst{i}"),
            &format!("burst-{i}"),
        );
        let key = new_key(table.on_request(req.clone(), PEER, t0, false));
        table
            .respond(&key, &reply(&req, 200), t0)
            .expect("answered");
    }
    assert_eq!(table.len(), 20_000);
    let peak = table.capacity();
    assert!(peak >= 20_000, "{peak}");
    // Timer J (64 × T1 = 32 s over UDP) ends every one of them.
    table.handle_timeout(t0 + ms(32_001));
    assert!(table.is_empty());
    assert!(
        table.capacity() < peak / 2,
        "capacity {} after the burst, {peak} at its peak",
        table.capacity()
    );
    // And the table still works.
    let req = request("OPTIONS", "z9hG4bKafter", "after");
    new_key(table.on_request(req, PEER, t0 + ms(32_002), false));
    assert_eq!(table.len(), 1);
}
