//! RFC 3261 §17 transactions as sans-IO state machines.
//!
//! Nothing here opens a socket or reads a clock: the caller passes each message, the
//! current [`std::time::Instant`] and whether the transport is reliable, and gets back
//! what to send (as [`bytes::Bytes`], with the caller's own destination type) and what
//! to tell the TU. [`Transactions::poll_timeout`] says when to call
//! [`Transactions::handle_timeout`] next. That is what lets the tests check every
//! retransmission to the millisecond without sleeping.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sip_message::Message;
//! use sip_transaction::{Event, Transactions, Timer};
//!
//! let mut table: Transactions<&str> = Transactions::default();
//! let options = Message::parse(&b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\n\
//! To: <sip:bob@example.com>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"[..]).unwrap();
//! let t0 = Instant::now();
//! let (key, first) = table.send_request(&options, "192.0.2.2:5060", t0, false).unwrap();
//! assert_eq!(table.poll_timeout(), Some(t0 + Duration::from_millis(500)));
//! let events = table.handle_timeout(t0 + Duration::from_millis(500));
//! assert!(matches!(&events[0], Event::Send { timer: Timer::E, transmit, .. } if transmit.bytes == first.bytes));
//! # let _ = key;
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ack;
mod client;
mod key;
mod server;
mod state;
mod table;
mod timers;

pub use ack::build_ack;
pub use key::{Key, Role};
pub use state::State;
pub use table::{Error, Event, RequestOutcome, ResponseOutcome, Transactions, Transmit};
pub use timers::{Timer, Timers};
