//! Matching requests to server transactions: RFC 3261 §17.2.3 (with the RFC 2543
//! fallback), CANCEL (§9.2) and merged requests (§8.2.2.2).

mod common;

use common::*;
use sip_message::Message;
use sip_transaction::{Event, Key, RequestOutcome, State, Transactions};

fn new_key(outcome: RequestOutcome<Peer>) -> Key {
    match outcome {
        RequestOutcome::New { key, .. } => key,
        other => panic!("expected a new transaction, got {other:?}"),
    }
}

fn cancel_for(branch: &str) -> Message {
    msg(&format!(
        "CANCEL sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch={branch}
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 CANCEL
Content-Length: 0

"
    ))
}

#[test]
fn cancel_finds_its_invite_and_is_its_own_transaction() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = invite("z9hG4bKcan");
    let ikey = new_key(table.on_request(inv.clone(), PEER, t0, false));
    let cancel = cancel_for("z9hG4bKcan");
    let ckey = match table.on_request(cancel.clone(), PEER, t0 + ms(1_000), false) {
        RequestOutcome::Cancel {
            key,
            invite,
            request,
        } => {
            assert_eq!(invite.as_ref(), Some(&ikey));
            assert_eq!(request.cseq().unwrap().method.as_str(), "CANCEL");
            key
        }
        other => panic!("{other:?}"),
    };
    assert_ne!(ckey, ikey);
    // The TU: 200 to the CANCEL, 487 to the INVITE.
    let mut ok = Message::response_to(&cancel, 200, None);
    ok.set_to_tag("t1").unwrap();
    table.respond(&ckey, &ok, t0 + ms(1_000)).unwrap();
    let mut terminated = Message::response_to(&inv, 487, None);
    terminated.set_to_tag("t1").unwrap();
    table.respond(&ikey, &terminated, t0 + ms(1_000)).unwrap();
    assert_eq!(table.state(&ikey), Some(State::Completed));
    // A retransmitted CANCEL is answered from its own transaction.
    assert!(matches!(
        table.on_request(cancel, PEER, t0 + ms(1_500), false),
        RequestOutcome::Retransmission { key, resend: Some(r) } if key == ckey && r.bytes == ok.to_bytes()
    ));
    // A CANCEL for no INVITE: the TU answers 481.
    assert!(matches!(
        table.on_request(cancel_for("z9hG4bKnone"), PEER, t0, false),
        RequestOutcome::Cancel { invite: None, .. }
    ));
}

#[test]
fn cancel_from_another_sent_by_does_not_match() {
    let mut table = Transactions::default();
    let t0 = t0();
    table.on_request(invite("z9hG4bKsb"), PEER, t0, false);
    let cancel = wire(&{
        let mut c = cancel_for("z9hG4bKsb");
        c.set_header("Via", "SIP/2.0/UDP evil.example.com;branch=z9hG4bKsb")
            .unwrap();
        c
    });
    assert!(matches!(
        table.on_request(cancel, PEER, t0, false),
        RequestOutcome::Cancel { invite: None, .. }
    ));
}

/// RFC 4475 §3.4.1 (inv2543): an RFC 2543 INVITE, no branch, no From tag.
const INV2543: &str = "INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 INVITE
Content-Type: application/sdp

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.5
s=-
c=IN IP4 192.0.2.5
t=0 0
m=audio 49217 RTP/AVP 0
";

fn ack2543(to_tag: &str, uri: &str) -> Message {
    msg(&format!(
        "ACK {uri} SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
To: sip:+16505552222@ss1.example.net;user=phone;tag={to_tag}
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 ACK
Content-Length: 0

"
    ))
}

#[test]
fn rfc2543_requests_match_by_uri_tags_call_id_cseq_and_via() {
    let mut table = Transactions::default();
    let t0 = t0();
    let inv = msg(INV2543);
    let key = new_key(table.on_request(inv.clone(), PEER, t0, false));
    assert!(key.is_rfc2543());
    // The retransmission (same everything) matches; so does one whose Request-URI
    // differs only where §19.1.4 says it does not matter (host case).
    assert!(matches!(
        table.on_request(inv.clone(), PEER, t0 + ms(500), false),
        RequestOutcome::Retransmission { key: k, .. } if k == key
    ));
    let cased = msg(&INV2543.replace("sip:UserB@example.com SIP", "sip:UserB@EXAMPLE.com SIP"));
    assert!(matches!(
        table.on_request(cased, PEER, t0 + ms(600), false),
        RequestOutcome::Retransmission { key: k, .. } if k == key
    ));
    // A different CSeq is another transaction.
    let other = msg(&INV2543.replace("CSeq: 56 INVITE", "CSeq: 57 INVITE"));
    assert!(matches!(
        table.on_request(other, PEER, t0, false),
        RequestOutcome::New { .. }
    ));
    // The final response carries our To tag; the ACK must carry it too (§17.2.3).
    let mut busy = Message::response_to(&inv, 486, None);
    busy.set_to_tag("2543tag").unwrap();
    table.respond(&key, &busy, t0 + ms(700)).unwrap();
    assert!(matches!(
        table.on_request(
            ack2543("wrong", "sip:UserB@example.com"),
            PEER,
            t0 + ms(800),
            false
        ),
        RequestOutcome::AckToTu { key: None, .. }
    ));
    assert!(matches!(
        table.on_request(
            ack2543("2543tag", "sip:other@example.com"),
            PEER,
            t0 + ms(800),
            false
        ),
        RequestOutcome::AckToTu { key: None, .. }
    ));
    assert_eq!(table.state(&key), Some(State::Completed));
    assert!(matches!(
        table.on_request(ack2543("2543tag", "sip:UserB@example.com"), PEER, t0 + ms(900), false),
        RequestOutcome::AckAbsorbed { key: k } if k == key
    ));
    assert_eq!(table.state(&key), Some(State::Confirmed));
}

#[test]
fn rfc2543_cancel_matches_its_invite() {
    let mut table = Transactions::default();
    let t0 = t0();
    let key = new_key(table.on_request(msg(INV2543), PEER, t0, false));
    let cancel = msg("CANCEL sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 CANCEL
Content-Length: 0

");
    assert!(matches!(
        table.on_request(cancel, PEER, t0, false),
        RequestOutcome::Cancel { invite: Some(k), .. } if k == key
    ));
}

#[test]
fn a_merged_request_is_answered_482() {
    let mut table = Transactions::default();
    let t0 = t0();
    let first = invite("z9hG4bKpath1");
    let key = new_key(table.on_request(first.clone(), PEER, t0, false));
    // The same request, forked by a proxy, arriving by a second path: another branch,
    // same From tag, Call-ID and CSeq, no To tag.
    let second = invite("z9hG4bKpath2");
    match table.on_request(second.clone(), "198.51.100.9:5060", t0 + ms(20), false) {
        RequestOutcome::Merged { request, source } => {
            assert_eq!(source, "198.51.100.9:5060");
            assert_eq!(request.top_via().unwrap().branch(), Some("z9hG4bKpath2"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(table.len(), 1, "no transaction for a merged request");
    // A retransmission of the first is not merged.
    assert!(matches!(
        table.on_request(first.clone(), PEER, t0 + ms(30), false),
        RequestOutcome::Retransmission { .. }
    ));
    // With a To tag (in a dialog) the rule does not apply.
    let mut tagged = invite("z9hG4bKpath3");
    tagged.set_to_tag("dlg").unwrap();
    assert!(matches!(
        table.on_request(wire(&tagged), PEER, t0 + ms(40), false),
        RequestOutcome::New { .. }
    ));
    // Once the first transaction is over, the request is new again.
    let mut busy = Message::response_to(&first, 486, None);
    busy.set_to_tag("x").unwrap();
    table.respond(&key, &busy, t0 + ms(50)).unwrap();
    let events = run_until(&mut table, t0, t0 + ms(100_000));
    assert!(events.contains(&(ms(32_050), Event::Terminated { key })));
    assert!(matches!(
        table.on_request(second, PEER, t0 + ms(100_000), false),
        RequestOutcome::New { .. }
    ));
}

#[test]
fn requests_missing_what_matching_needs_are_invalid() {
    let mut table = Transactions::default();
    let t0 = t0();
    let no_cseq = msg("OPTIONS sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK1
From: <sip:a@example.com>;tag=1
To: <sip:bob@example.com>
Call-ID: x
Content-Length: 0

");
    assert!(matches!(
        table.on_request(no_cseq, PEER, t0, false),
        RequestOutcome::Invalid { reason, .. } if reason.contains("CSeq")
    ));
    let mismatch = msg("OPTIONS sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK1
From: <sip:a@example.com>;tag=1
To: <sip:bob@example.com>
Call-ID: x
CSeq: 1 INVITE
Content-Length: 0

");
    assert!(matches!(
        table.on_request(mismatch, PEER, t0, false),
        RequestOutcome::Invalid { .. }
    ));
    let response = msg("SIP/2.0 200 OK
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK1
From: <sip:a@example.com>;tag=1
To: <sip:bob@example.com>
Call-ID: x
CSeq: 1 OPTIONS
Content-Length: 0

");
    assert!(matches!(
        table.on_request(response, PEER, t0, false),
        RequestOutcome::Invalid { .. }
    ));
    assert!(table.is_empty());
}

#[test]
fn the_tu_sees_each_request_once_across_many_transactions() {
    let mut table = Transactions::default();
    let t0 = t0();
    let mut new = 0;
    for round in 0..3 {
        for i in 0..1_000 {
            let req = request(
                "MESSAGE",
                &format!("z9hG4bKm{i}"),
                &format!("m{i}@example.com"),
            );
            match table.on_request(req, PEER, t0 + ms(round * 500), false) {
                RequestOutcome::New { .. } => new += 1,
                RequestOutcome::Retransmission { .. } => {}
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(new, 1_000);
    assert_eq!(table.len(), 1_000);
}
