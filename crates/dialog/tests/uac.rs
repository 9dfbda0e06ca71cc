//! Dialogs we create (RFC 3261 §12.1.2), forking, routing of the requests we send in
//! them (§12.2.1.1) and the ACK of a 2xx (§13.2.2.4).

mod common;

use common::{local, msg, reparse, response, rewrite, routes, INVITE};
use sip_dialog::{
    Dialog, DialogError, DialogId, DialogState, LocalParams, Termination, UacDialogs, UacEvent,
};
use sip_message::{Method, NameAddr, Uri};

const ME: &str = "sip:alice@client.atlanta.example.com;transport=udp";
const RR: [&str; 2] = [
    "<sip:ss2.biloxi.example.com;lr>",
    "<sip:ss1.atlanta.example.com;lr>",
];

#[test]
fn ringing_with_tag_then_ok_confirms_one_dialog() {
    let invite = msg(INVITE);
    let mut forks = UacDialogs::new(&invite, local(ME)).unwrap();

    let trying = response("100 Trying", None, &[], "");
    assert_eq!(forks.on_response(&trying).unwrap(), UacEvent::NoDialog);

    let ringing = response(
        "180 Ringing",
        Some("8321234356"),
        &RR,
        "<sip:bob@client.biloxi.example.com>",
    );
    assert_eq!(
        forks.on_response(&ringing).unwrap(),
        UacEvent::Early {
            remote_tag: "8321234356".into(),
            created: true
        }
    );
    let d = forks.get("8321234356").unwrap();
    assert_eq!(d.state(), DialogState::Early);
    assert_eq!(
        d.id(),
        &DialogId::new(
            "3848276298220188511@atlanta.example.com",
            "9fxced76sl",
            "8321234356"
        )
    );
    assert_eq!(d.local_seq(), Some(1));
    assert_eq!(d.remote_seq(), None);
    assert_eq!(d.local_uri().as_str(), "sip:alice@atlanta.example.com");
    assert_eq!(d.remote_uri().as_str(), "sip:bob@biloxi.example.com");
    assert_eq!(d.remote_addr().tag(), Some("8321234356"));
    assert_eq!(d.remote_addr().display_name().as_deref(), Some("Bob"));
    assert!(!d.is_secure());

    // The 2xx moves a new Contact and no longer records ss2: route set and target
    // are taken from it (§13.2.2.4).
    let ok = response(
        "200 OK",
        Some("8321234356"),
        &RR[1..],
        "<sip:bob@192.0.2.4>",
    );
    assert_eq!(
        forks.on_response(&ok).unwrap(),
        UacEvent::Confirmed {
            remote_tag: "8321234356".into(),
            created: false
        }
    );
    let d = forks.get("8321234356").unwrap();
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.remote_target().as_str(), "sip:bob@192.0.2.4");
    assert_eq!(d.route_set().entries().len(), 1);
    assert_eq!(forks.len(), 1);

    // A retransmitted 2xx asks for the ACK again.
    assert_eq!(
        forks.on_response(&ok).unwrap(),
        UacEvent::Retransmission {
            remote_tag: "8321234356".into()
        }
    );
    // A late provisional response changes nothing.
    assert_eq!(forks.on_response(&ringing).unwrap(), UacEvent::Ignored);
}

#[test]
fn forked_early_dialogs_are_kept_apart() {
    let invite = msg(INVITE);
    let mut forks = UacDialogs::new(&invite, local(ME)).unwrap();
    let a = response(
        "180 Ringing",
        Some("fork-a"),
        &RR,
        "<sip:bob@desk.example.com>",
    );
    let b = response(
        "183 Session Progress",
        Some("fork-b"),
        &RR,
        "<sip:bob@mobile.example.com>",
    );
    let untagged = response("180 Ringing", None, &RR, "<sip:bob@x.example.com>");
    assert!(matches!(
        forks.on_response(&a).unwrap(),
        UacEvent::Early { created: true, .. }
    ));
    assert!(matches!(
        forks.on_response(&b).unwrap(),
        UacEvent::Early { created: true, .. }
    ));
    assert_eq!(forks.on_response(&untagged).unwrap(), UacEvent::NoDialog);
    assert_eq!(forks.len(), 2);
    assert_eq!(
        forks.get("fork-a").unwrap().remote_target().as_str(),
        "sip:bob@desk.example.com"
    );
    assert_eq!(
        forks.get("fork-b").unwrap().remote_target().as_str(),
        "sip:bob@mobile.example.com"
    );

    // Another 180 on fork a with a new Contact refreshes only fork a.
    let a2 = response(
        "180 Ringing",
        Some("fork-a"),
        &RR,
        "<sip:bob@desk2.example.com>",
    );
    assert_eq!(
        forks.on_response(&a2).unwrap(),
        UacEvent::Early {
            remote_tag: "fork-a".into(),
            created: false
        }
    );
    assert_eq!(
        forks.get("fork-a").unwrap().remote_target().as_str(),
        "sip:bob@desk2.example.com"
    );

    // Fork b answers; fork a stays early until the caller ends it.
    let ok_b = response(
        "200 OK",
        Some("fork-b"),
        &RR,
        "<sip:bob@mobile.example.com>",
    );
    assert!(matches!(
        forks.on_response(&ok_b).unwrap(),
        UacEvent::Confirmed { created: false, .. }
    ));
    assert_eq!(forks.get("fork-b").unwrap().state(), DialogState::Confirmed);
    assert_eq!(forks.get("fork-a").unwrap().state(), DialogState::Early);
    // A 2xx from a fork never seen before creates a confirmed dialog of its own.
    let ok_c = response(
        "200 OK",
        Some("fork-c"),
        &[],
        "<sip:bob@tablet.example.com>",
    );
    assert_eq!(
        forks.on_response(&ok_c).unwrap(),
        UacEvent::Confirmed {
            remote_tag: "fork-c".into(),
            created: true
        }
    );
    assert_eq!(forks.terminate_early(Termination::Local), ["fork-a"]);
    assert_eq!(
        forks.get("fork-a").unwrap().state(),
        DialogState::Terminated(Termination::Local)
    );
}

#[test]
fn final_failure_terminates_every_early_dialog() {
    let invite = msg(INVITE);
    let mut forks = UacDialogs::new(&invite, local(ME)).unwrap();
    for tag in ["x1", "x2"] {
        forks
            .on_response(&response(
                "180 Ringing",
                Some(tag),
                &[],
                "<sip:bob@h.example.com>",
            ))
            .unwrap();
    }
    let busy = response("486 Busy Here", Some("x2"), &[], "");
    assert_eq!(
        forks.on_response(&busy).unwrap(),
        UacEvent::Failed {
            status: 486,
            terminated: vec!["x1".into(), "x2".into()]
        }
    );
    for d in forks.iter() {
        assert_eq!(
            d.state(),
            DialogState::Terminated(Termination::Rejected(486))
        );
    }
    // A 486 alone creates no dialog.
    assert_eq!(
        Dialog::uac(&invite, &busy, local(ME)).unwrap_err(),
        DialogError::NoDialogStatus(486)
    );
}

#[test]
fn responses_for_another_request_are_refused() {
    let invite = msg(INVITE);
    let mut forks = UacDialogs::new(&invite, local(ME)).unwrap();
    let other = msg("SIP/2.0 200 OK
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
From: Alice <sip:alice@atlanta.example.com>;tag=someone-else
To: Bob <sip:bob@biloxi.example.com>;tag=1
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:bob@192.0.2.4>

");
    assert_eq!(
        forks.on_response(&other).unwrap_err(),
        DialogError::Mismatch("From tag")
    );
    assert!(forks.is_empty());
    let options = msg(&INVITE.replace("INVITE", "OPTIONS"));
    assert!(matches!(
        UacDialogs::new(&options, local(ME)),
        Err(DialogError::NotDialogCreating(Method::Options))
    ));
}

/// RFC 3261 §12.1.2: the route set is the 2xx's Record-Route reversed; §12.2.1.1 with
/// a loose first hop: Request-URI = remote target, Route = the route set.
#[test]
fn bye_follows_reversed_record_route_loosely() {
    let invite = msg(INVITE);
    let ok = response(
        "200 OK",
        Some("314159"),
        &RR,
        "<sip:bob@client.biloxi.example.com>",
    );
    let mut d = Dialog::uac(&invite, &ok, local(ME)).unwrap();
    let set: Vec<&str> = d.route_set().entries().iter().map(|e| e.as_str()).collect();
    assert_eq!(set, [RR[1], RR[0]]);

    let bye = reparse(&d.create_request(Method::Bye).unwrap());
    assert_eq!(
        bye.request_uri().unwrap().as_str(),
        "sip:bob@client.biloxi.example.com"
    );
    assert_eq!(routes(&bye), [RR[1], RR[0]]);
    assert_eq!(bye.cseq().unwrap().seq, 2);
    assert_eq!(bye.cseq().unwrap().method, Method::Bye);
    assert_eq!(bye.max_forwards().unwrap(), Some(70));
    assert_eq!(bye.from().unwrap().tag(), Some("9fxced76sl"));
    assert_eq!(bye.to().unwrap().tag(), Some("314159"));
    assert_eq!(
        bye.call_id().unwrap().as_str(),
        "3848276298220188511@atlanta.example.com"
    );
    assert!(bye.contacts().unwrap().is_empty(), "no Contact in BYE");
    assert_eq!(d.state(), DialogState::Terminated(Termination::ByeSent));
    assert_eq!(
        d.create_request(Method::Info).unwrap_err(),
        DialogError::Terminated
    );
    // A BYE challenged by 401 can be sent again, with the next number.
    let again = d.create_request(Method::Bye).unwrap();
    assert_eq!(again.cseq().unwrap().seq, 3);
}

/// §12.2.1.1 with a strict router (no `lr`) as first hop: Request-URI = that router's
/// URI, Route = the rest of the route set followed by the remote target.
#[test]
fn bye_through_a_strict_router() {
    let invite = msg(INVITE);
    let ok = response(
        "200 OK",
        Some("strict"),
        &[
            "<sip:ss2.biloxi.example.com;lr>",
            "<sip:ss1.atlanta.example.com;maddr=192.0.2.10>",
        ],
        "<sip:bob@client.biloxi.example.com>",
    );
    let mut d = Dialog::uac(&invite, &ok, local(ME)).unwrap();
    let bye = reparse(&d.create_request(Method::Bye).unwrap());
    assert_eq!(
        bye.request_uri().unwrap().as_str(),
        "sip:ss1.atlanta.example.com;maddr=192.0.2.10"
    );
    assert_eq!(
        routes(&bye),
        [
            "<sip:ss2.biloxi.example.com;lr>",
            "<sip:bob@client.biloxi.example.com>"
        ]
    );
}

/// §13.2.2.4: the ACK of a 2xx carries the INVITE's CSeq number with method ACK and
/// goes where any request in the dialog goes; it does not use up a number.
#[test]
fn ack_for_2xx_takes_the_invite_number() {
    let invite = msg(&INVITE.replace("CSeq: 1 INVITE", "CSeq: 314159 INVITE"));
    let ok = rewrite(
        &response("200 OK", Some("b"), &RR, "<sip:bob@192.0.2.4>"),
        "CSeq: 1 INVITE",
        "CSeq: 314159 INVITE",
    );
    let mut d = Dialog::uac(&invite, &ok, local(ME)).unwrap();
    assert_eq!(d.last_invite_seq(), Some(314159));
    let ack = reparse(&d.create_ack(314159).unwrap());
    assert_eq!(ack.method(), Some(&Method::Ack));
    assert_eq!(ack.cseq().unwrap().seq, 314159);
    assert_eq!(ack.cseq().unwrap().method, Method::Ack);
    assert_eq!(ack.request_uri().unwrap().as_str(), "sip:bob@192.0.2.4");
    assert_eq!(routes(&ack), [RR[1], RR[0]]);
    assert_eq!(ack.to().unwrap().tag(), Some("b"));
    assert!(
        ack.via().unwrap().is_empty(),
        "Via is the transaction layer's"
    );
    assert_eq!(d.local_seq(), Some(314159));

    // A re-INVITE takes the next number, and its ACK that number.
    let reinvite = d.create_request(Method::Invite).unwrap();
    assert_eq!(reinvite.cseq().unwrap().seq, 314160);
    assert_eq!(d.last_invite_seq(), Some(314160));
    let ack2 = d.create_ack(d.last_invite_seq().unwrap()).unwrap();
    assert_eq!(ack2.cseq().unwrap().seq, 314160);
    assert!(d.create_request(Method::Ack).is_err());
    assert!(d.create_request(Method::Cancel).is_err());
}

/// §12.2.1.2: a 2xx to a re-INVITE moves the remote target; 481 ends the dialog.
#[test]
fn responses_in_the_dialog() {
    let invite = msg(INVITE);
    let ok = response("200 OK", Some("b"), &[], "<sip:bob@192.0.2.4>");
    let mut d = Dialog::uac(&invite, &ok, local(ME)).unwrap();
    d.create_request(Method::Invite).unwrap();
    let reinvite_ok = msg("SIP/2.0 200 OK
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bKre
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=b
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 2 INVITE
Contact: <sip:bob@198.51.100.7:5070>

");
    assert!(d.on_response(&reinvite_ok).unwrap());
    assert_eq!(d.remote_target().as_str(), "sip:bob@198.51.100.7:5070");
    let gone = rewrite(
        &rewrite(
            &reinvite_ok,
            "200 OK",
            "481 Call/Transaction Does Not Exist",
        ),
        "CSeq: 2 INVITE",
        "CSeq: 3 INFO",
    );
    assert!(!d.on_response(&gone).unwrap());
    assert_eq!(d.state(), DialogState::Terminated(Termination::Failed(481)));
}

/// §12.1.2: SIPS Request-URI over TLS makes the dialog secure; either alone does not.
#[test]
fn secure_flag_needs_sips_and_tls() {
    let sips = INVITE.replace(
        "INVITE sip:bob@biloxi.example.com",
        "INVITE sips:bob@biloxi.example.com",
    );
    let invite = msg(&sips);
    let ok = response("200 OK", Some("b"), &[], "<sips:bob@192.0.2.4>");
    let contact = NameAddr::new(None, &Uri::parse("sips:alice@192.0.2.1").unwrap());
    let tls = |over_tls| LocalParams {
        contact: contact.clone(),
        over_tls,
    };
    assert!(Dialog::uac(&invite, &ok, tls(true)).unwrap().is_secure());
    assert!(!Dialog::uac(&invite, &ok, tls(false)).unwrap().is_secure());
    assert!(!Dialog::uac(&msg(INVITE), &ok, tls(true))
        .unwrap()
        .is_secure());
}
