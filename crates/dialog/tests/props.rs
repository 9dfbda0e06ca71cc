//! Properties: the CSeq rule of RFC 3261 §12.2.2 over random sequences, and requests
//! built in a dialog carrying its identifiers through a write and a parse.

mod common;

use common::{local, msg};
use proptest::prelude::*;
use sip_dialog::{Dialog, DialogId, Rejection};
use sip_message::{Message, Method};

fn invite(call_id: &str, from_tag: &str, seq: u32, record_route: &[String]) -> Message {
    let mut s = format!(
        "INVITE sip:bob@192.0.2.4 SIP/2.0\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n\
Max-Forwards: 70\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag={from_tag}\n\
To: <sip:bob@biloxi.example.com>\n\
Call-ID: {call_id}\n\
CSeq: {seq} INVITE\n\
Contact: <sip:alice@192.0.2.1:5060>\n"
    );
    for rr in record_route {
        s.push_str(&format!("Record-Route: {rr}\n"));
    }
    s.push_str("Content-Length: 0\n\n");
    msg(&s)
}

fn info(call_id: &str, from_tag: &str, to_tag: &str, seq: u32) -> Message {
    msg(&format!(
        "INFO sip:bob@192.0.2.4 SIP/2.0\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{seq}\n\
From: <sip:alice@atlanta.example.com>;tag={from_tag}\n\
To: <sip:bob@biloxi.example.com>;tag={to_tag}\n\
Call-ID: {call_id}\n\
CSeq: {seq} INFO\n\
Content-Length: 0\n\n"
    ))
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.!%*_+`'~-]{1,24}"
}

fn call_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.!%*_+`'~()<>:\"/?{}-]{1,30}(@[a-z0-9.]{1,20})?"
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::Invite,
        Method::Bye,
        Method::Info,
        Method::Update,
        Method::Options,
        Method::Message,
        Method::Notify,
        Method::Subscribe,
        Method::Refer,
        Method::Prack,
        Method::Extension("FOO".into()),
    ])
}

/// Record-Route values: each proxy loose (`lr`) or strict.
fn record_route() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(any::<bool>(), 0..4).prop_map(|lr| {
        lr.iter()
            .enumerate()
            .map(|(i, &lr)| format!("<sip:p{i}.example.com{}>", if lr { ";lr" } else { "" }))
            .collect()
    })
}

proptest! {
    /// Whatever order numbers arrive in, the dialog accepts one exactly when it is
    /// not below the highest accepted so far (the INVITE's to begin with), so no
    /// lower number is ever accepted after a higher one.
    #[test]
    fn cseq_never_goes_back(
        start in 0u32..=u32::MAX / 2,
        steps in prop::collection::vec(-40i64..40, 1..60),
    ) {
        let req = invite("c@h", "rt", start, &[]);
        let mut ok = Message::response_to(&req, 200, None);
        ok.set_to_tag("lt").unwrap();
        let mut d = Dialog::uas(&req, &ok, local("sip:bob@192.0.2.4")).unwrap();
        let mut highest = start;
        let mut seq = i64::from(start);
        for step in steps {
            seq = (seq + step).clamp(0, i64::from(u32::MAX));
            let n = u32::try_from(seq).unwrap();
            let outcome = d.on_request(&info("c@h", "rt", "lt", n));
            if n >= highest {
                prop_assert!(outcome.is_ok(), "{n} refused after {highest}");
                highest = n;
            } else {
                prop_assert_eq!(outcome, Err(Rejection::OUT_OF_ORDER));
            }
            prop_assert_eq!(d.remote_seq(), Some(highest));
        }
    }

    /// A request built in a dialog, given its Via, written and parsed again, is a
    /// valid message that names the same dialog (from the peer's side: tags swapped),
    /// with the next CSeq number and the route set in its Route header.
    #[test]
    fn built_requests_round_trip_the_dialog_id(
        cid in call_id(),
        their_tag in tag(),
        our_tag in tag(),
        start in 1u32..1_000_000,
        rr in record_route(),
        uac in any::<bool>(),
        methods in prop::collection::vec(method(), 1..6),
    ) {
        let mut d = if uac {
            // We sent the INVITE (our tag in From); the 200 has the peer's To tag.
            let req = invite(&cid, &our_tag, start, &[]);
            let mut ok = Message::response_to(&req, 200, None);
            for r in &rr {
                ok.push_header("Record-Route", r).unwrap();
            }
            ok.push_header("Contact", "<sip:alice@192.0.2.1:5060>").unwrap();
            ok.set_to_tag(&their_tag).unwrap();
            let ok = Message::parse(ok.to_bytes()).unwrap();
            Dialog::uac(&req, &ok, local("sip:bob@192.0.2.4")).unwrap()
        } else {
            let req = invite(&cid, &their_tag, start, &rr);
            let mut ok = Message::response_to(&req, 200, None);
            ok.set_to_tag(&our_tag).unwrap();
            Dialog::uas(&req, &ok, local("sip:bob@192.0.2.4")).unwrap()
        };
        let peer_view = DialogId::new(cid.clone(), their_tag.clone(), our_tag.clone());
        for m in methods {
            let built = match d.create_request(m.clone()) {
                Ok(b) => b,
                // Only a BYE ends a dialog, and after it only BYE may be built.
                Err(e) => {
                    prop_assert!(d.is_terminated(), "{e}");
                    continue;
                }
            };
            let mut built = built;
            built.prepend_header("Via", "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKp").unwrap();
            let parsed = Message::parse(built.to_bytes()).unwrap();
            prop_assert!(parsed.validate().is_ok(), "{:?}", parsed.validate());
            prop_assert_eq!(
                DialogId::of_incoming_request(&parsed).unwrap(),
                Some(peer_view.clone())
            );
            prop_assert!(DialogId::new(cid.clone(), our_tag.clone(), their_tag.clone())
                .matches_response(&Message::response_to(&parsed, 200, None)));
            prop_assert_eq!(parsed.method(), Some(&m));
            prop_assert_eq!(Some(parsed.cseq().unwrap().seq), d.local_seq());
            prop_assert_eq!(&parsed.cseq().unwrap().method, &m);
            prop_assert_eq!(parsed.route().unwrap().len(), rr.len());
            let dest = d.route_set().destination(d.remote_target());
            prop_assert_eq!(parsed.request_uri().unwrap(), &dest.request_uri);
        }
    }
}
