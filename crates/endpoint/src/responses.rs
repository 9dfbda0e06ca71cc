//! Responses the endpoint itself writes: stateless answers to requests no transaction
//! or service should see (400, 482, 503), and the answers when no service claims a
//! request (405, 501).

use sip_message::{HeaderKind, Message};

/// A response to `request` with `code`, the given reason phrase (or the standard one)
/// and extra headers. Header values come from the endpoint's own constants and the
/// service list, so a failure to add one (a bug, not input) is logged and skipped.
pub fn reply(
    request: &Message,
    code: u16,
    reason: Option<&str>,
    extra: &[(HeaderKind, &str)],
) -> Message {
    let mut m = Message::response_to(request, code, reason);
    for (name, value) in extra {
        if let Err(e) = m.push_header(*name, value) {
            tracing::error!("cannot add {name:?} to a {code} response: {e}");
        }
    }
    m
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
