//! Typed header values.
//!
//! Each type keeps the header value's text (one shared buffer, no copy) and spans into
//! it; accessors hand out `&str` slices. Parsing one value never allocates per
//! parameter. Types that can be built (Via, NameAddr, CSeq, ...) are built by writing
//! their canonical text and parsing it, so a built value and a parsed one behave alike.

mod auth;
mod misc;
mod name_addr;
mod via;

use bytestring::ByteString;

use crate::limits::Limits;

pub use auth::{AuthValue, Challenge, Credentials};
pub use misc::{CSeq, CallId, Date, Event, MediaType, Reason, RetryAfter, SubscriptionState};
pub use name_addr::{Contact, NameAddr};
pub use via::Via;

/// A header value type that can be decoded from the text of one value (one element of
/// a comma-separated list for list headers, with folding already undone).
pub trait FromHeader: Sized {
    /// Decodes `value`; the error is a short sentence without the header name.
    fn from_header(value: &ByteString) -> Result<Self, String>;

    /// Decodes `value` within the message's limits. Only types with nested
    /// constructs (comments) need more than [`FromHeader::from_header`].
    fn from_header_limited(value: &ByteString, limits: &Limits) -> Result<Self, String> {
        let _ = limits;
        Self::from_header(value)
    }
}

/// Delta-seconds header values (Expires, Min-Expires): 0 ..= 2^32-1.
impl FromHeader for u32 {
    fn from_header(value: &ByteString) -> Result<Self, String> {
        parse_u32(value.trim())
    }
}

pub(crate) fn parse_u32(s: &str) -> Result<u32, String> {
    if s.is_empty() {
        return Err("empty value where a number was expected".into());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{}' is not a number", truncate(s)));
    }
    crate::text::parse_decimal(s, u64::from(u32::MAX))
        .map(|v| v as u32)
        .ok_or_else(|| "number out of range".to_owned())
}

/// Cuts long offending text in error messages so a reason phrase stays short.
pub(crate) fn truncate(s: &str) -> &str {
    match s.char_indices().nth(32) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A plain token (option tags, methods in Allow, event packages in Allow-Events).
impl FromHeader for ByteString {
    fn from_header(value: &ByteString) -> Result<Self, String> {
        let t = value.trim();
        if crate::text::is_token(t) {
            Ok(value.slice_ref(t))
        } else if t.is_empty() {
            Err("empty list element".into())
        } else {
            Err(format!("'{}' is not a token", truncate(t)))
        }
    }
}
