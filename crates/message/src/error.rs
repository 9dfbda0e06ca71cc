//! Errors in words a person can act on.
//!
//! Every error renders as a short sentence that a server can put straight into the
//! reason phrase of a `400 Bad Request` ("CSeq number out of range"), so operators and
//! peers see what was wrong without a packet capture.

use std::fmt;

use crate::message::Message;

/// Why a message could not be framed or indexed at all.
#[derive(Debug, Clone)]
pub struct ParseError {
    kind: ParseErrorKind,
    detail: String,
    /// The start line and headers, when only the body could not be framed.
    head: Option<Box<Message>>,
}

impl PartialEq for ParseError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.detail == other.detail
    }
}

impl Eq for ParseError {}

/// The class of a [`ParseError`], for code that reacts differently to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Nothing but whitespace was received.
    Empty,
    /// The message is larger than [`crate::Limits::max_message_size`].
    TooLarge,
    /// The header section never ends with an empty line.
    Incomplete,
    /// The request line or status line does not follow the grammar.
    BadStartLine,
    /// A header line is malformed (no colon, bad name, too long, ...).
    BadHeaderLine,
    /// More header lines than [`crate::Limits::max_headers`].
    TooManyHeaders,
    /// Content-Length is not a number, is out of range or appears twice with different values.
    BadContentLength,
    /// Content-Length announces more bytes than the datagram holds.
    ContentLengthExceedsDatagram,
    /// A stream transport delivered a message without Content-Length.
    MissingContentLength,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, detail: impl Into<String>) -> Self {
        ParseError {
            kind,
            detail: detail.into(),
            head: None,
        }
    }

    pub(crate) fn with_head(mut self, head: Message) -> Self {
        self.head = Some(Box::new(head));
        self
    }

    /// The start line and headers of a datagram whose body could not be framed (a bad,
    /// repeated or too large Content-Length), with an empty body: enough for a server
    /// to answer `400` with [`ParseError::reason`] (RFC 4475 `clerr`, `ncl`, `mcl01`).
    pub fn head(&self) -> Option<&Message> {
        self.head.as_deref()
    }

    /// The class of error.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// A one-line explanation, suitable as a SIP reason phrase.
    pub fn reason(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ParseError {}

/// Why one header value could not be decoded into its typed form.
///
/// The message around it stays usable: a registrar that cannot read `Date` can still
/// answer the REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    header: &'static str,
    detail: String,
}

impl HeaderError {
    pub(crate) fn new(header: &'static str, detail: impl Into<String>) -> Self {
        HeaderError {
            header,
            detail: detail.into(),
        }
    }

    /// The canonical name of the header that failed.
    pub fn header(&self) -> &'static str {
        self.header
    }

    /// What was wrong with the value, without the header name.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.header, self.detail)
    }
}

impl std::error::Error for HeaderError {}

/// Why a parsed message is not an acceptable RFC 3261 message, with the response a
/// server should send (RFC 3261 §8.2, §16.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    status: u16,
    reason: String,
}

impl Invalid {
    pub(crate) fn new(status: u16, reason: impl Into<String>) -> Self {
        Invalid {
            status,
            reason: reason.into(),
        }
    }

    /// The status code to answer with (400 or 505).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase to answer with.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

impl std::error::Error for Invalid {}

impl From<HeaderError> for Invalid {
    fn from(e: HeaderError) -> Self {
        Invalid::new(400, e.to_string())
    }
}
