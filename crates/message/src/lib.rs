//! The SIP message layer of Switchboard (RFC 3261 §7, §19, §20, §25).
//!
//! Sans-IO: bytes in, messages out, and back. Parsing makes one pass that records
//! where the start line, each header field and the body are ([`Message::parse`],
//! [`StreamFramer`]); typed header values are decoded only when asked for and cached
//! ([`Message::via`], [`Message::contacts`], ...). Nothing here panics on input: every
//! failure is an error whose text can go into a 400 reason phrase.
//!
//! ```
//! use sip_message::Message;
//! let m = Message::parse(&b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\n\
//! To: <sip:bob@example.com>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"[..]).unwrap();
//! assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK1"));
//! assert!(m.validate().is_ok());
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod build;
mod error;
mod framer;
pub mod headers;
mod limits;
mod message;
mod method;
mod name;
mod params;
mod parse;
pub mod text;
pub mod uri;
mod validate;

pub use build::reason_phrase;
pub use bytestring::ByteString;
pub use error::{HeaderError, Invalid, ParseError, ParseErrorKind};
pub use framer::{Frame, StreamFramer};
pub use headers::{
    CSeq, CallId, Challenge, Contact, Credentials, Date, Event, FromHeader, MediaType, NameAddr,
    Reason, RetryAfter, SubscriptionState, Via,
};
pub use limits::Limits;
pub use message::{HeaderRef, Message, StartLine, Version};
pub use method::Method;
pub use name::{HeaderKind, HeaderName};
pub use uri::{SipUri, TelUri, Uri, UriError};
