//! The response the registrar asks the driver to send.
//!
//! A plain value (code, reason, headers) rather than a finished [`Message`], because the
//! To tag, the `Server` header and the transaction that sends it belong to the endpoint;
//! [`Reply::to_message`] builds the message for a driver that has nothing to add.

use sip_message::{HeaderKind, Message};

/// Code, reason phrase and the headers beyond those copied from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code (200, 400, 403, 404, 416, 420, 500).
    pub code: u16,
    /// Reason phrase; says what was wrong for an error.
    pub reason: String,
    /// Headers to add, in order (Contact, Date, Expires, Path, Supported).
    pub headers: Vec<(HeaderKind, String)>,
}

impl Reply {
    pub(crate) fn error(code: u16, reason: impl Into<String>) -> Reply {
        Reply {
            code,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    /// 404 for an AOR named by the endpoint that the store does not hold (spec §6.2).
    pub fn aor_not_found(aor: &str) -> Reply {
        Reply::error(404, format!("AOR '{}' not found", printable(aor)))
    }

    /// The response to `request`: Via, From, To, Call-ID and CSeq copied (RFC 3261
    /// §8.2.6.2), a To tag added when `to_tag` is given and the request had none, then
    /// this reply's headers. A header value that cannot be added (it would need a line
    /// break, which none built here has) is skipped rather than failing the response.
    pub fn to_message(&self, request: &Message, to_tag: Option<&str>) -> Message {
        let mut m = Message::response_to(request, self.code, Some(&self.reason));
        if let Some(tag) = to_tag {
            let _ = m.set_to_tag(tag);
        }
        for (name, value) in &self.headers {
            let _ = m.push_header(*name, value);
        }
        m
    }

    /// The values of every header `name`, in order.
    pub fn header_values(&self, name: HeaderKind) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Request text echoed in a reason phrase, cut short and without control characters
/// (a reason phrase must stay on its line).
pub(crate) fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}
