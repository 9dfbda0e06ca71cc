//! Helpers shared by the integration tests.
#![allow(dead_code)]

use sip_dialog::LocalParams;
use sip_message::{Message, NameAddr, Uri};

/// Parses a message written with `\n` line ends (turned into CRLF).
pub fn msg(text: &str) -> Message {
    let wire = text.replace("\r\n", "\n").replace('\n', "\r\n");
    Message::parse(wire.into_bytes()).expect("test message parses")
}

/// Our side of a dialog with this Contact, not over TLS.
pub fn local(contact: &str) -> LocalParams {
    LocalParams {
        contact: NameAddr::new(None, &Uri::parse(contact).expect("contact URI")),
        over_tls: false,
    }
}

/// A message as bytes parsed again, to check what goes on the wire.
pub fn reparse(m: &Message) -> Message {
    Message::parse(m.to_bytes()).expect("built message parses")
}

/// Every Route value of a message, as text.
pub fn routes(m: &Message) -> Vec<String> {
    m.route()
        .expect("Route decodes")
        .iter()
        .map(|r| r.to_string())
        .collect()
}

/// Alice's INVITE to Bob through two proxies (RFC 3665 §3.2 style).
pub const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
Max-Forwards: 70
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:alice@client.atlanta.example.com;transport=udp>
Content-Length: 0

";

/// A response to [`INVITE`] from Bob (tag `tag`), status line `status`, with the
/// given Record-Route lines (top first) and Contact.
pub fn response(status: &str, tag: Option<&str>, record_route: &[&str], contact: &str) -> Message {
    let to = match tag {
        Some(t) => format!("Bob <sip:bob@biloxi.example.com>;tag={t}"),
        None => "Bob <sip:bob@biloxi.example.com>".to_owned(),
    };
    let mut s = format!(
        "SIP/2.0 {status}\nVia: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\n"
    );
    for rr in record_route {
        s.push_str(&format!("Record-Route: {rr}\n"));
    }
    s.push_str(&format!(
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\nTo: {to}\n\
Call-ID: 3848276298220188511@atlanta.example.com\nCSeq: 1 INVITE\n"
    ));
    if !contact.is_empty() {
        s.push_str(&format!("Contact: {contact}\n"));
    }
    s.push_str("Content-Length: 0\n\n");
    msg(&s)
}

/// `m` with one piece of its text replaced, parsed again.
pub fn rewrite(m: &Message, from: &str, to: &str) -> Message {
    msg(&String::from_utf8_lossy(&m.to_bytes()).replace(from, to))
}
