//! RFC 3261 §12 dialogs as sans-IO state.
//!
//! A [`Dialog`] holds what §12.1 says a dialog is (id, local and remote sequence
//! numbers, local and remote URIs, remote target, route set, secure flag) plus an
//! explicit life stage ([`DialogState`]). It is created from messages
//! ([`Dialog::uac`], [`UacDialogs`] for forked INVITEs, [`Dialog::uas`]), changed by
//! messages ([`Dialog::on_request`], [`Dialog::on_response`]), and builds the requests
//! sent in it ([`Dialog::create_request`], [`Dialog::create_ack`]). It never touches
//! a socket, a clock or a random source: tags come from caller-supplied randomness
//! ([`new_tag`]), the TLS half of the secure flag from the caller ([`LocalParams`]),
//! and the Via of every request from the transaction and transport layers.
//!
//! ```
//! use sip_dialog::{Dialog, DialogState, LocalParams, new_tag};
//! use sip_message::{Message, NameAddr, Uri};
//!
//! let invite = Message::parse(&b"INVITE sip:bob@example.com SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\
//! From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n\
//! Call-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\n\
//! Content-Length: 0\r\n\r\n"[..]).unwrap();
//! let mut ok = Message::response_to(&invite, 200, None);
//! ok.set_to_tag(&new_tag(&mut || 0x1234)).unwrap();
//! let me = NameAddr::new(None, &Uri::parse("sip:bob@192.0.2.2").unwrap());
//! let mut dialog = Dialog::uas(&invite, &ok, LocalParams { contact: me, over_tls: false }).unwrap();
//! assert_eq!(dialog.state(), DialogState::Confirmed);
//! let bye = dialog.create_request(sip_message::Method::Bye).unwrap();
//! assert_eq!(bye.request_uri().unwrap().as_str(), "sip:alice@192.0.2.1");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod dialog;
mod error;
mod id;
mod request;
mod route;
mod table;
mod uac;
mod uas;

pub use dialog::{
    creates_dialog, is_target_refresh, Accepted, Dialog, DialogState, LocalParams, Rejection, Role,
    Termination,
};
pub use error::DialogError;
pub use id::{new_tag, DialogId};
pub use route::{Destination, RouteSet};
pub use table::{Dialogs, Routed};
pub use uac::{UacDialogs, UacEvent};
