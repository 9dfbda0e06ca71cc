//! Dialogs we accept (RFC 3261 §12.1.1) and the requests the peer sends in them
//! (§12.2.2): CSeq order, target refresh, unknown dialogs, BYE.

mod common;

use common::{local, msg, reparse, rewrite, routes};
use sip_dialog::{
    new_tag, Accepted, Dialog, DialogError, DialogId, DialogState, Dialogs, Rejection, Role,
    Routed, Termination,
};
use sip_message::{Message, Method};

const ME: &str = "sip:bob@192.0.2.4";

/// An INVITE that came through two loose routers, each of which recorded its route.
const INVITE: &str = "INVITE sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP ss2.biloxi.example.com:5060;branch=z9hG4bK721e4.1
Via: SIP/2.0/UDP ss1.atlanta.example.com:5060;branch=z9hG4bK2d4790.1
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
Max-Forwards: 68
Record-Route: <sip:ss2.biloxi.example.com;lr>
Record-Route: <sip:ss1.atlanta.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 2xTb9vxSit55XU7p8@atlanta.example.com
CSeq: 101 INVITE
Contact: <sip:alice@client.atlanta.example.com>
Content-Length: 0

";

fn tag() -> String {
    new_tag(&mut || 0x00c0_ffee_d00d_f00d)
}

/// Answers [`INVITE`] with `code` and our tag, and creates the dialog from the pair.
fn accept(code: u16) -> (Message, Dialog) {
    let invite = msg(INVITE);
    let mut resp = Message::response_to(&invite, code, None);
    resp.set_to_tag(&tag()).unwrap();
    let d = Dialog::uas(&invite, &resp, local(ME)).unwrap();
    (invite, d)
}

/// A request from Alice in the dialog.
fn from_alice(method: &str, seq: u32, contact: Option<&str>) -> Message {
    let contact = contact.map_or(String::new(), |c| format!("Contact: {c}\n"));
    msg(&format!(
        "{method} sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP ss2.biloxi.example.com:5060;branch=z9hG4bK{method}{seq}
Max-Forwards: 68
Route: <sip:ss2.biloxi.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag={}
Call-ID: 2xTb9vxSit55XU7p8@atlanta.example.com
CSeq: {seq} {method}
{contact}Content-Length: 0

",
        tag()
    ))
}

#[test]
fn invite_and_ok_make_a_confirmed_uas_dialog() {
    let (_, mut d) = accept(200);
    assert_eq!(d.role(), Role::Uas);
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(
        d.id(),
        &DialogId::new(
            "2xTb9vxSit55XU7p8@atlanta.example.com",
            "00c0ffeed00df00d",
            "9fxced76sl"
        )
    );
    assert_eq!(d.remote_seq(), Some(101));
    assert_eq!(d.local_seq(), None);
    assert_eq!(
        d.remote_target().as_str(),
        "sip:alice@client.atlanta.example.com"
    );
    assert_eq!(d.local_uri().as_str(), "sip:bob@biloxi.example.com");
    assert_eq!(d.remote_uri().as_str(), "sip:alice@atlanta.example.com");
    // §12.1.1: Record-Route in order, no reversal.
    let set: Vec<&str> = d.route_set().entries().iter().map(|e| e.as_str()).collect();
    assert_eq!(
        set,
        [
            "<sip:ss2.biloxi.example.com;lr>",
            "<sip:ss1.atlanta.example.com;lr>"
        ]
    );

    // Bob hangs up: the BYE goes to Alice's Contact through ss2 then ss1.
    let bye = reparse(&d.create_request(Method::Bye).unwrap());
    assert_eq!(
        bye.request_uri().unwrap().as_str(),
        "sip:alice@client.atlanta.example.com"
    );
    assert_eq!(
        routes(&bye),
        [
            "<sip:ss2.biloxi.example.com;lr>",
            "<sip:ss1.atlanta.example.com;lr>"
        ]
    );
    assert_eq!(bye.cseq().unwrap().seq, 1, "an empty local seq starts at 1");
    assert_eq!(bye.from().unwrap().tag(), Some("00c0ffeed00df00d"));
    assert_eq!(
        bye.from().unwrap().uri().as_str(),
        "sip:bob@biloxi.example.com"
    );
    assert_eq!(bye.to().unwrap().tag(), Some("9fxced76sl"));
    assert_eq!(bye.to().unwrap().display_name().as_deref(), Some("Alice"));
    // Seen from Alice, the BYE is in her dialog: local = her tag, remote = ours.
    assert_eq!(
        DialogId::of_incoming_request(&bye).unwrap().unwrap(),
        DialogId::new(
            "2xTb9vxSit55XU7p8@atlanta.example.com",
            "9fxced76sl",
            "00c0ffeed00df00d"
        )
    );
}

#[test]
fn early_uas_dialog_is_confirmed_or_rejected_by_our_final_answer() {
    let (_, mut d) = accept(180);
    assert_eq!(d.state(), DialogState::Early);
    d.on_local_response(183);
    assert_eq!(d.state(), DialogState::Early);
    d.on_local_response(200);
    assert_eq!(d.state(), DialogState::Confirmed);

    let (_, mut d) = accept(180);
    assert!(matches!(
        d.create_request(Method::Bye),
        Err(DialogError::WrongMethod(_))
    ));
    d.on_local_response(486);
    assert_eq!(
        d.state(),
        DialogState::Terminated(Termination::Rejected(486))
    );
}

#[test]
fn uas_dialog_needs_a_tag_a_contact_and_a_dialog_status() {
    let invite = msg(INVITE);
    let untagged = Message::response_to(&invite, 200, None);
    assert_eq!(
        Dialog::uas(&invite, &untagged, local(ME)).unwrap_err(),
        DialogError::MissingTag("To")
    );
    let mut trying = Message::response_to(&invite, 100, None);
    trying.set_to_tag("x").unwrap();
    assert_eq!(
        Dialog::uas(&invite, &trying, local(ME)).unwrap_err(),
        DialogError::NoDialogStatus(100)
    );
    let no_contact = rewrite(
        &invite,
        "Contact: <sip:alice@client.atlanta.example.com>\r\n",
        "",
    );
    let mut ok = Message::response_to(&no_contact, 200, None);
    ok.set_to_tag("x").unwrap();
    assert_eq!(
        Dialog::uas(&no_contact, &ok, local(ME)).unwrap_err(),
        DialogError::MissingContact
    );
}

/// §12.2.2: a CSeq below the remote sequence number is answered 500, and the reason
/// comes with no Retry-After.
#[test]
fn cseq_out_of_order_is_500() {
    let (_, mut d) = accept(200);
    assert_eq!(
        d.on_request(&from_alice("INFO", 102, None)),
        Ok(Accepted::default())
    );
    assert_eq!(d.remote_seq(), Some(102));
    let late = from_alice("INFO", 100, None);
    assert_eq!(d.on_request(&late), Err(Rejection::OUT_OF_ORDER));
    assert_eq!(
        d.remote_seq(),
        Some(102),
        "a rejected request changes nothing"
    );
    let resp = Rejection::OUT_OF_ORDER.response_to(&late);
    assert_eq!(resp.status(), Some(500));
    assert_eq!(resp.reason(), Some("Invalid CSeq"));
    assert!(resp.retry_after().unwrap().is_none());
    assert_eq!(resp.cseq().unwrap().seq, 100);
}

/// A retransmission of the latest request carries its (equal) number and is not out
/// of order; a late copy of an older request is; a new request moves on.
#[test]
fn lower_cseq_retransmission_versus_new_request() {
    let (_, mut d) = accept(200);
    let info = from_alice("INFO", 102, None);
    assert!(d.on_request(&info).is_ok());
    assert!(d.on_request(&info).is_ok(), "same number again is in order");
    assert_eq!(
        d.on_request(&from_alice(
            "INVITE",
            101,
            Some("<sip:alice@old.example.com>")
        )),
        Err(Rejection::OUT_OF_ORDER),
        "the dialog's first INVITE, retransmitted late"
    );
    assert_eq!(
        d.remote_target().as_str(),
        "sip:alice@client.atlanta.example.com",
        "a rejected re-INVITE refreshes nothing"
    );
    assert!(d.on_request(&from_alice("UPDATE", 5000, None)).is_ok());
    assert_eq!(d.remote_seq(), Some(5000), "numbers may jump (§12.2.2)");
    // ACK and CANCEL carry their INVITE's number and are not checked.
    assert!(d.on_request(&from_alice("ACK", 101, None)).is_ok());
    assert_eq!(d.remote_seq(), Some(5000));
}

#[test]
fn reinvite_contact_refreshes_the_target() {
    let (_, mut d) = accept(200);
    let info = from_alice("INFO", 102, Some("<sip:alice@elsewhere.example.com>"));
    assert_eq!(
        d.on_request(&info),
        Ok(Accepted::default()),
        "INFO is no target refresh"
    );
    assert_eq!(
        d.remote_target().as_str(),
        "sip:alice@client.atlanta.example.com"
    );
    let reinvite = from_alice("INVITE", 103, Some("<sip:alice@198.51.100.9:5062>"));
    assert_eq!(
        d.on_request(&reinvite),
        Ok(Accepted {
            target_refreshed: true,
            terminated: false
        })
    );
    assert_eq!(d.remote_target().as_str(), "sip:alice@198.51.100.9:5062");
    // A target refresh without a Contact keeps the target.
    assert!(d.on_request(&from_alice("UPDATE", 104, None)).is_ok());
    assert_eq!(d.remote_target().as_str(), "sip:alice@198.51.100.9:5062");
    let bye = d.create_request(Method::Bye).unwrap();
    assert_eq!(
        bye.request_uri().unwrap().as_str(),
        "sip:alice@198.51.100.9:5062"
    );
}

#[test]
fn unknown_dialog_is_481_and_bye_ends_the_dialog() {
    let (_, d) = accept(200);
    let id = d.id().clone();
    let mut table = Dialogs::new();
    table.insert(d);

    // Out of dialog: no To tag.
    assert_eq!(table.on_request(&msg(INVITE)), Routed::OutOfDialog);

    // A To tag we never gave out.
    let stranger = rewrite(&from_alice("INFO", 102, None), &tag(), "not-ours");
    assert_eq!(
        table.on_request(&stranger),
        Routed::Reject(Rejection::NO_DIALOG)
    );
    let resp = Rejection::NO_DIALOG.response_to(&stranger);
    assert_eq!(resp.status(), Some(481));
    assert_eq!(resp.reason(), Some("Call/Transaction Does Not Exist"));
    // An ACK has no answer.
    let stray_ack = rewrite(&from_alice("ACK", 101, None), &tag(), "not-ours");
    assert_eq!(table.on_request(&stray_ack), Routed::Drop);

    assert_eq!(
        table.on_request(&from_alice("INFO", 102, None)),
        Routed::InDialog {
            id: id.clone(),
            accepted: Accepted::default()
        }
    );
    assert_eq!(
        table.on_request(&from_alice("BYE", 103, None)),
        Routed::InDialog {
            id: id.clone(),
            accepted: Accepted {
                target_refreshed: false,
                terminated: true
            }
        }
    );
    assert_eq!(
        table.get(&id).unwrap().state(),
        DialogState::Terminated(Termination::ByeReceived)
    );
    // After the BYE the dialog is gone for every new request.
    assert_eq!(
        table.on_request(&from_alice("INFO", 104, None)),
        Routed::Reject(Rejection::NO_DIALOG)
    );
    let mut d = table.remove(&id).unwrap();
    assert_eq!(
        d.create_request(Method::Bye).unwrap_err(),
        DialogError::Terminated
    );
}

/// Both sides hang up at once: the peer's BYE crossing ours is still answered 200.
#[test]
fn crossing_byes() {
    let (_, mut d) = accept(200);
    d.create_request(Method::Bye).unwrap();
    assert_eq!(d.state(), DialogState::Terminated(Termination::ByeSent));
    assert!(d.on_request(&from_alice("BYE", 102, None)).is_ok());
    assert_eq!(
        d.on_request(&from_alice("INFO", 103, None)),
        Err(Rejection::NO_DIALOG)
    );
}
