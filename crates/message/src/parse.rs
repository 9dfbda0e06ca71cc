//! The one-pass indexer: finds the start line, every header field and the body, and
//! records their positions. Header values are not decoded here; that happens on
//! request (see [`crate::Message`]).
//!
//! Line ends are CRLF per RFC 3261; a bare LF is tolerated as many stacks do, because
//! rejecting it protects nothing.

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::{ParseError, ParseErrorKind as K};
use crate::limits::Limits;
use crate::message::{Field, FieldText, Message, StartLine, Version};
use crate::method::Method;
use crate::name::HeaderKind;
use crate::params::Span;
use crate::text::{find_byte_in, is_lws};
use crate::uri::Uri;

/// The start line and header fields, before the body is known.
pub(crate) struct Head {
    pub start_line: Span,
    pub fields: Vec<Field>,
    pub body_start: usize,
    /// The announced body length, or why it cannot be read.
    pub content_length: Result<Option<usize>, ParseError>,
}

fn e(kind: K, detail: impl Into<String>) -> ParseError {
    ParseError::new(kind, detail)
}

/// Number of leading CR/LF bytes (keep-alives and stray line ends before a message).
pub(crate) fn leading_crlf(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// Indexes the head of a message that starts at `buf[0]`. Returns `Ok(None)` when
/// the empty line ending the headers has not arrived yet.
///
/// `whole` says that `buf` is all there will ever be (a datagram): then a datagram
/// that ends right after a complete header line is taken as a message whose empty
/// line is missing, so that a server can still decode it and answer it (RFC 4475
/// `baddn` is such a datagram), instead of dropping it as incomplete.
pub(crate) fn index_head(
    buf: &[u8],
    limits: &Limits,
    whole: bool,
) -> Result<Option<Head>, ParseError> {
    let Some(sl_end) = memchr::memchr(b'\n', buf) else {
        if buf.len() > limits.max_message_size {
            return Err(e(K::TooLarge, "message too large"));
        }
        return Ok(None);
    };
    let start_line = Span {
        start: 0,
        end: strip_cr(buf, sl_end) as u32,
    };
    let mut fields: Vec<Field> = Vec::with_capacity(16);
    let mut pos = sl_end + 1;
    let mut content_length: Result<Option<usize>, ParseError> = Ok(None);
    loop {
        if pos > limits.max_message_size {
            return Err(e(K::TooLarge, "message too large"));
        }
        if pos >= buf.len() {
            if whole {
                break;
            }
            return Ok(None);
        }
        // End of the header section?
        match buf[pos] {
            b'\n' => {
                pos += 1;
                break;
            }
            b'\r' => match buf.get(pos + 1) {
                Some(b'\n') => {
                    pos += 2;
                    break;
                }
                Some(_) => return Err(e(K::BadHeaderLine, "stray CR in the header section")),
                None => return Ok(None),
            },
            b' ' | b'\t' => {
                return Err(e(
                    K::BadHeaderLine,
                    "header section starts with a continuation line",
                ))
            }
            _ => {}
        }
        // One header field: its first line plus any continuation lines.
        let line_start = pos;
        let mut nl = match memchr::memchr(b'\n', &buf[pos..]) {
            Some(i) => pos + i,
            None => return Ok(None),
        };
        loop {
            match buf.get(nl + 1) {
                Some(b' ' | b'\t') => {
                    nl = match memchr::memchr(b'\n', &buf[nl + 1..]) {
                        Some(i) => nl + 1 + i,
                        None => return Ok(None),
                    };
                }
                Some(_) => break,
                None if whole => break,
                None => return Ok(None),
            }
        }
        let field_end = strip_cr(buf, nl);
        if field_end - line_start > limits.max_header_line {
            return Err(e(K::BadHeaderLine, "header line too long"));
        }
        if fields.len() >= limits.max_headers {
            return Err(e(K::TooManyHeaders, "too many header fields"));
        }
        let field = index_field(buf, line_start, field_end)?;
        note_content_length(buf, &field, &mut content_length);
        fields.push(field);
        pos = nl + 1;
    }
    Ok(Some(Head {
        start_line,
        fields,
        body_start: pos,
        content_length,
    }))
}

/// Folds one field into the Content-Length seen so far. A bad value is kept as the
/// result rather than returned at once, so that the caller still gets the headers it
/// needs to answer with a 400.
fn note_content_length(
    buf: &[u8],
    field: &Field,
    content_length: &mut Result<Option<usize>, ParseError>,
) {
    if field.kind != HeaderKind::ContentLength {
        return;
    }
    let (FieldText::Raw(v), Ok(prev)) = (field.value, &*content_length) else {
        return;
    };
    *content_length = match (
        parse_content_length(&buf[v.start as usize..v.end as usize]),
        *prev,
    ) {
        (Err(err), _) => Err(err),
        (Ok(cl), Some(prev)) if prev != cl => Err(e(
            K::BadContentLength,
            "Content-Length appears twice with different values",
        )),
        (Ok(cl), _) => Ok(Some(cl)),
    };
}

/// Indexes the head of a message that [`index_head`] refused (a bad header line, too
/// many or too long header lines), skipping what does not parse, so that a stream can
/// still find where the message ends and answer it. Returns `None` when the empty line
/// ending the head is not within `max_message_size`, or when a skipped line might have
/// been a Content-Length (its name reads as one): the message's end is then unknown.
///
/// The fields kept are the well-formed ones, at most `max_headers`: enough for a 400
/// that copies Via, From, To, Call-ID and CSeq. Content-Length is read from every
/// well-formed line, kept or not, with the same rules as [`index_head`].
pub(crate) fn index_head_lenient(buf: &[u8], limits: &Limits) -> Option<Head> {
    let sl_end = memchr::memchr(b'\n', buf)?;
    let start_line = Span {
        start: 0,
        end: strip_cr(buf, sl_end) as u32,
    };
    let mut fields: Vec<Field> = Vec::with_capacity(16);
    let mut content_length: Result<Option<usize>, ParseError> = Ok(None);
    let mut pos = sl_end + 1;
    loop {
        if pos > limits.max_message_size {
            return None;
        }
        let mut nl = pos + memchr::memchr(b'\n', buf.get(pos..)?)?;
        if strip_cr(buf, nl) == pos {
            // The empty line: the body starts after it.
            pos = nl + 1;
            break;
        }
        let line_start = pos;
        while matches!(buf.get(nl + 1), Some(b' ' | b'\t')) {
            nl = nl + 1 + memchr::memchr(b'\n', &buf[nl + 1..])?;
        }
        let field_end = strip_cr(buf, nl);
        pos = nl + 1;
        let field = if field_end - line_start > limits.max_header_line {
            None
        } else {
            index_field(buf, line_start, field_end).ok()
        };
        let Some(field) = field else {
            let line = &buf[line_start..field_end];
            let name_len = line
                .iter()
                .take_while(|&&b| crate::text::is_token_char(b))
                .count();
            if HeaderKind::from_token(&line[..name_len]) == HeaderKind::ContentLength {
                return None;
            }
            continue;
        };
        note_content_length(buf, &field, &mut content_length);
        if fields.len() < limits.max_headers {
            fields.push(field);
        }
    }
    Some(Head {
        start_line,
        fields,
        body_start: pos,
        content_length,
    })
}

/// Index of the end of a line's content given the position of its LF.
fn strip_cr(buf: &[u8], lf: usize) -> usize {
    if lf > 0 && buf[lf - 1] == b'\r' {
        lf - 1
    } else {
        lf
    }
}

fn index_field(buf: &[u8], start: usize, end: usize) -> Result<Field, ParseError> {
    let line = &buf[start..end];
    let name_len = line
        .iter()
        .take_while(|&&b| crate::text::is_token_char(b))
        .count();
    if name_len == 0 {
        return Err(e(
            K::BadHeaderLine,
            format!(
                "invalid header line starting with {}",
                describe(line.first())
            ),
        ));
    }
    let mut i = name_len;
    while i < line.len() && (line[i] == b' ' || line[i] == b'\t') {
        i += 1;
    }
    if line.get(i) != Some(&b':') {
        let name = String::from_utf8_lossy(&line[..name_len]);
        return Err(e(
            K::BadHeaderLine,
            if i == line.len() {
                format!("header line '{name}' has no colon")
            } else {
                format!(
                    "expected ':' after header name '{name}', found {}",
                    describe(line.get(i))
                )
            },
        ));
    }
    i += 1;
    let mut vs = i;
    while vs < line.len() && is_lws(line[vs]) {
        vs += 1;
    }
    let mut ve = line.len();
    while ve > vs && is_lws(line[ve - 1]) {
        ve -= 1;
    }
    Ok(Field {
        kind: HeaderKind::from_token(&line[..name_len]),
        name: FieldText::Raw(Span {
            start: start as u32,
            end: (start + name_len) as u32,
        }),
        value: FieldText::Raw(Span {
            start: (start + vs) as u32,
            end: (start + ve) as u32,
        }),
        line: Span {
            start: start as u32,
            end: end as u32,
        },
    })
}

fn describe(b: Option<&u8>) -> String {
    match b {
        Some(b) if b.is_ascii_graphic() => format!("'{}'", char::from(*b)),
        Some(b) => format!("byte 0x{b:02x}"),
        None => "an empty line".into(),
    }
}

fn parse_content_length(v: &[u8]) -> Result<usize, ParseError> {
    let s = std::str::from_utf8(v).unwrap_or("");
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(e(K::BadContentLength, "Content-Length is not a number"));
    }
    crate::text::parse_decimal(s, u64::from(u32::MAX))
        .map(|v| v as usize)
        .ok_or_else(|| e(K::BadContentLength, "Content-Length out of range"))
}

/// Parses one message from a whole datagram held in `raw` (which may start with CRLFs).
/// Content-Length may be absent (the body is then the rest of the datagram) and bytes
/// after the announced body are discarded (RFC 3261 §18.3). Stream transports go
/// through [`crate::StreamFramer`] instead, which requires Content-Length.
pub(crate) fn parse(raw: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    let skip = leading_crlf(&raw);
    if skip == raw.len() {
        return Err(e(K::Empty, "empty message"));
    }
    let raw = raw.slice(skip..);
    if raw.len() > limits.max_message_size {
        return Err(e(K::TooLarge, "message too large"));
    }
    let head = match index_head(&raw, limits, true) {
        Ok(Some(h)) => h,
        // A bad line in the head: the rest may still name who to answer. A datagram
        // is the whole message, so the lenient head is only for the 400, never for
        // framing.
        Err(err) => {
            return Err(match index_head_lenient(&raw, limits) {
                Some(head) => match assemble(raw, head, 0, limits) {
                    Ok(m) => err.with_head(m),
                    Err(_) => err,
                },
                None => err,
            })
        }
        Ok(None) => {
            return Err(e(
                K::Incomplete,
                if memchr::memchr(b'\n', &raw).is_none() {
                    "message has no line end after the start line"
                } else {
                    "header section does not end with an empty line"
                },
            ))
        }
    };
    let available = raw.len() - head.body_start;
    let body_len = match &head.content_length {
        Ok(Some(cl)) if *cl > available => Err(e(
            K::ContentLengthExceedsDatagram,
            "Content-Length larger than the datagram",
        )),
        Err(err) => Err(err.clone()),
        Ok(Some(cl)) => Ok(*cl),
        Ok(None) => Ok(available),
    };
    match body_len {
        Ok(len) => assemble(raw, head, len, limits),
        // The body cannot be framed, but the head can still be answered.
        Err(err) => Err(match assemble(raw, head, 0, limits) {
            Ok(m) => err.with_head(m),
            Err(_) => err,
        }),
    }
}

/// Builds the message from an indexed head; `raw` is truncated to the message.
pub(crate) fn assemble(
    mut raw: Bytes,
    head: Head,
    body_len: usize,
    limits: &Limits,
) -> Result<Message, ParseError> {
    let end = head.body_start + body_len;
    raw.truncate(end);
    let body = raw.slice(head.body_start..end);
    let start = parse_start_line(&raw, head.start_line)?;
    Ok(Message::from_parts(raw, start, head.fields, body, limits))
}

fn parse_start_line(raw: &Bytes, span: Span) -> Result<StartLine, ParseError> {
    let bytes = raw.slice(span.start as usize..span.end as usize);
    let line = ByteString::try_from(bytes)
        .map_err(|_| e(K::BadStartLine, "start line is not valid UTF-8"))?;
    let s: &str = &line;
    if s.len() >= 4 && s.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/") {
        return parse_status_line(&line);
    }
    // METHOD SP Request-URI SP SIP-Version, single spaces (RFC 3261 §7.1).
    let sp1 = find_byte_in(s.as_bytes(), b' ');
    let sp2 = sp1.and_then(|a| find_byte_in(&s.as_bytes()[a + 1..], b' ').map(|b| a + 1 + b));
    let well_formed = match (sp1, sp2) {
        (Some(a), Some(b)) => {
            a > 0
                && b > a + 1
                && b + 1 < s.len()
                && find_byte_in(&s.as_bytes()[b + 1..], b' ').is_none()
        }
        _ => false,
    };
    let (Some(a), Some(b), true) = (sp1, sp2, well_formed) else {
        let detail = if s.ends_with(' ') || s.ends_with('\t') {
            "trailing whitespace in the request line"
        } else if s.contains("  ") {
            "extra whitespace in the request line"
        } else {
            "request line must be 'METHOD URI SIP/2.0'"
        };
        return Err(e(K::BadStartLine, detail));
    };
    let (method, uri, version) = (&s[..a], &s[a + 1..b], &s[b + 1..]);
    let method = Method::parse_shared(&line, method)
        .ok_or_else(|| e(K::BadStartLine, "invalid method in the request line"))?;
    if uri.starts_with('<') {
        return Err(e(
            K::BadStartLine,
            "Request-URI must not be enclosed in angle brackets",
        ));
    }
    let uri = Uri::parse_shared(&line.slice_ref(uri))
        .map_err(|err| e(K::BadStartLine, format!("malformed Request-URI: {err}")))?;
    let version = parse_version(version)?;
    Ok(StartLine::Request {
        method,
        uri,
        version,
    })
}

fn parse_status_line(line: &ByteString) -> Result<StartLine, ParseError> {
    let s: &str = line;
    let (version, rest) = s.split_once(' ').unwrap_or((s, ""));
    let version = parse_version(version)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(e(K::BadStartLine, "status code must be three digits"));
    }
    let code: u16 = code.parse().unwrap_or(0);
    if !(100..=699).contains(&code) {
        return Err(e(K::BadStartLine, "status code out of range 100-699"));
    }
    if reason.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(e(K::BadStartLine, "control character in the reason phrase"));
    }
    Ok(StartLine::Response {
        version,
        code,
        reason: line.slice_ref(reason),
    })
}

fn parse_version(v: &str) -> Result<Version, ParseError> {
    let bad = || {
        e(
            K::BadStartLine,
            format!("'{}' is not a SIP version", crate::headers::truncate(v)),
        )
    };
    if v.len() < 4 || !v.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/") {
        return Err(bad());
    }
    let (maj, min) = v.get(4..).unwrap_or("").split_once('.').ok_or_else(bad)?;
    let maj = crate::text::parse_decimal(maj, 255).ok_or_else(bad)? as u8;
    let min = crate::text::parse_decimal(min, 255).ok_or_else(bad)? as u8;
    Ok(Version {
        major: maj,
        minor: min,
    })
}
