//! Responses the endpoint itself writes: stateless answers to requests no transaction
//! or service should see (400, 482, 503), and the answers when no service claims a
//! request (405, 501).

use sip_message::{HeaderKind, Message};

/// A response to `request` with `code`, the given reason phrase (or the standard one)
/// and extra headers, with a To tag of ours on anything but 100 when the request had
/// none (RFC 3261 §8.2.6.2). Header values come from the endpoint's own constants and
/// the service list, so a failure to add one (a bug, not input) is logged and skipped.
pub fn reply(
    request: &Message,
    code: u16,
    reason: Option<&str>,
    extra: &[(HeaderKind, &str)],
) -> Message {
    let mut m = Message::response_to(request, code, reason);
    if code > 100 {
        if let Err(e) = m.set_to_tag(&new_tag()) {
            tracing::debug!("no To tag on a {code}: {e}");
        }
    }
    for (name, value) in extra {
        if let Err(e) = m.push_header(*name, value) {
            tracing::error!("cannot add {name:?} to a {code} response: {e}");
        }
    }
    m
}

/// A fresh tag: a keyed hash (SipHash with the process's random keys) of a counter,
/// so tags are unique and unpredictable (RFC 3261 §19.3 asks for at least 32 random
/// bits) without a random-number dependency.
pub fn new_tag() -> String {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static KEYS: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", KEYS.get_or_init(Default::default).hash_one(n))
}

/// A reason phrase made safe for a status line: printable ASCII only, at most 120
/// characters (the parser's error sentences are the usual source).
pub fn phrase(reason: &str) -> String {
    let mut s: String = reason
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .collect();
    if s.len() > 120 {
        s.truncate(117);
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_printable_and_short() {
        assert_eq!(phrase("bad\r\nheader\t"), "bad  header ");
        assert_eq!(phrase(&"x".repeat(300)).len(), 120);
    }
}
