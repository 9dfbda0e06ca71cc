//! Building and changing messages, and writing them out.
//!
//! An unmodified parsed message is written back byte for byte (a proxy forwards what it
//! got). Once changed, the message is written canonically: the start line, each header
//! field as received or as set, Content-Length computed from the body, the body.

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::error::HeaderError;
use crate::limits::Limits;
use crate::message::{field_named, Field, Message, StartLine, Version};
use crate::method::Method;
use crate::name::{HeaderKind, HeaderName};
use crate::params::Span;
use crate::text::is_token;
use crate::uri::Uri;

/// The reason phrase RFC 3261 §21 (and later RFCs) give for a status code.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        433 => "Anonymity Disallowed",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        555 => "Push Notification Service Not Supported",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        608 => "Rejected",
        _ => match code / 100 {
            1 => "Trying",
            2 => "OK",
            3 => "Redirected",
            4 => "Request Failure",
            5 => "Server Failure",
            _ => "Global Failure",
        },
    }
}

fn check_value(name: &str, value: &str) -> Result<(), HeaderError> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(HeaderError::new(
            HeaderKind::from_name(name.as_bytes()).canonical(),
            "value contains a line break or NUL",
        ));
    }
    Ok(())
}

impl Message {
    /// A field set after parsing, checked against header injection.
    fn new_field(&mut self, name: &HeaderName, value: ByteString) -> Result<Field, HeaderError> {
        if !is_token(name.as_str()) {
            return Err(HeaderError::new(
                "",
                format!("'{}' is not a valid header name", name.as_str()),
            ));
        }
        check_value(name.as_str(), &value)?;
        Ok(Field {
            kind: name.kind(),
            name: self.own(ByteString::from(name.as_str())),
            value: self.own(value),
            line: Span::default(),
        })
    }

    fn empty(start: StartLine) -> Message {
        Message::from_parts(
            Bytes::new(),
            start,
            Vec::new(),
            Bytes::new(),
            &Limits::DEFAULT,
        )
    }

    /// A new request with no headers (add Via, From, To, Call-ID, CSeq, Max-Forwards).
    pub fn request(method: Method, uri: Uri) -> Message {
        let mut m = Message::empty(StartLine::Request {
            method,
            uri,
            version: Version::SIP_2_0,
        });
        m.modified = true;
        m
    }

    /// A new response with no headers; `reason` defaults to the standard phrase.
    pub fn response(code: u16, reason: Option<&str>) -> Message {
        let reason = reason
            .filter(|r| !r.bytes().any(|b| b.is_ascii_control()))
            .unwrap_or_else(|| reason_phrase(code));
        let mut m = Message::empty(StartLine::Response {
            version: Version::SIP_2_0,
            code,
            reason: ByteString::from(reason),
        });
        m.modified = true;
        m
    }

    /// A response to `request` built as RFC 3261 §8.2.6.2 says: the Via values in
    /// order, From, To, Call-ID and CSeq copied (and Timestamp for 100 Trying,
    /// §8.2.6.1). Add a To tag with [`Message::set_to_tag`] where a dialog needs one.
    pub fn response_to(request: &Message, code: u16, reason: Option<&str>) -> Message {
        let mut m = Message::response(code, reason);
        for f in &request.fields {
            let copy = matches!(
                f.kind,
                HeaderKind::Via
                    | HeaderKind::From
                    | HeaderKind::To
                    | HeaderKind::CallId
                    | HeaderKind::CSeq
            ) || (code == 100 && f.kind == HeaderKind::Timestamp);
            if !copy {
                continue;
            }
            if let Ok(text) = request.field_text(f) {
                let name = m.own(ByteString::from_static(f.kind.canonical()));
                let value = m.own(text);
                m.fields.push(Field {
                    kind: f.kind,
                    name,
                    value,
                    line: Span::default(),
                });
            }
        }
        m
    }

    /// Adds `tag` to the To header unless it already has one (RFC 3261 §8.2.6.2).
    pub fn set_to_tag(&mut self, tag: &str) -> Result<(), HeaderError> {
        let to = self.to()?;
        if to.tag().is_some() {
            return Ok(());
        }
        let new = to.with_param("tag", Some(tag)).to_string();
        self.set_header(HeaderKind::To, &new)
    }

    /// Appends a header field.
    pub fn push_header(
        &mut self,
        name: impl Into<HeaderName>,
        value: &str,
    ) -> Result<(), HeaderError> {
        let f = self.new_field(&name.into(), ByteString::from(value))?;
        self.fields.push(f);
        self.invalidate();
        Ok(())
    }

    /// Inserts a header field before the first field of the same name (or first of
    /// all): how a proxy adds its Via or a Record-Route.
    pub fn prepend_header(
        &mut self,
        name: impl Into<HeaderName>,
        value: &str,
    ) -> Result<(), HeaderError> {
        let name = name.into();
        let f = self.new_field(&name, ByteString::from(value))?;
        let at = self.position_of(&name).unwrap_or(0);
        self.fields.insert(at, f);
        self.invalidate();
        Ok(())
    }

    /// Replaces every field of this name with one field holding `value`, kept at the
    /// position of the first one replaced.
    pub fn set_header(
        &mut self,
        name: impl Into<HeaderName>,
        value: &str,
    ) -> Result<(), HeaderError> {
        let name = name.into();
        let f = self.new_field(&name, ByteString::from(value))?;
        let at = self.position_of(&name);
        self.remove_header(name);
        match at {
            Some(i) => self.fields.insert(i.min(self.fields.len()), f),
            None => self.fields.push(f),
        }
        self.invalidate();
        Ok(())
    }

    /// Removes every field of this name; returns how many were removed.
    pub fn remove_header(&mut self, name: impl Into<HeaderName>) -> usize {
        let name = name.into();
        let before = self.fields.len();
        let (raw, owned) = (&self.raw, &self.owned);
        self.fields.retain(|f| !field_matches(raw, owned, f, &name));
        let removed = before - self.fields.len();
        if removed > 0 {
            self.invalidate();
        }
        removed
    }

    /// Removes the first Via (what a proxy does to a response before forwarding it).
    pub fn remove_top_via(&mut self) -> Result<(), HeaderError> {
        let vias: Vec<String> = self.via()?.iter().skip(1).map(|v| v.to_string()).collect();
        let at = self.position_of(&HeaderName::Known(HeaderKind::Via));
        self.remove_header(HeaderKind::Via);
        let at = at.unwrap_or(self.fields.len());
        for (i, v) in vias.into_iter().enumerate() {
            let f = self.new_field(&HeaderName::Known(HeaderKind::Via), ByteString::from(v))?;
            self.fields.insert((at + i).min(self.fields.len()), f);
        }
        self.invalidate();
        Ok(())
    }

    fn position_of(&self, name: &HeaderName) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| field_matches(&self.raw, &self.owned, f, name))
    }

    /// Sets the body and its Content-Type (removed when `content_type` is `None` and
    /// the body is empty). Content-Length is always computed when writing.
    pub fn set_body(
        &mut self,
        content_type: Option<&str>,
        body: impl Into<Bytes>,
    ) -> Result<(), HeaderError> {
        self.body = body.into();
        match content_type {
            Some(ct) => self.set_header(HeaderKind::ContentType, ct)?,
            None if self.body.is_empty() => {
                self.remove_header(HeaderKind::ContentType);
            }
            None => {}
        }
        self.invalidate();
        Ok(())
    }

    /// Replaces the Request-URI of a request (does nothing on a response).
    pub fn set_request_uri(&mut self, new: Uri) {
        if let StartLine::Request { uri, .. } = &mut self.start {
            *uri = new;
            self.invalidate();
        }
    }

    /// Whether the message was changed (or built) rather than parsed and left alone.
    pub fn is_modified(&self) -> bool {
        self.modified
    }

    /// The message as bytes to send.
    pub fn to_bytes(&self) -> Bytes {
        if !self.modified {
            return self.raw.clone();
        }
        let mut out = BytesMut::with_capacity(self.raw.len().max(256) + self.body.len() + 64);
        match &self.start {
            StartLine::Request {
                method,
                uri,
                version,
            } => {
                out.put_slice(method.as_str().as_bytes());
                out.put_u8(b' ');
                out.put_slice(uri.as_str().as_bytes());
                out.put_slice(format!(" SIP/{}.{}\r\n", version.major, version.minor).as_bytes());
            }
            StartLine::Response {
                version,
                code,
                reason,
            } => {
                out.put_slice(
                    format!("SIP/{}.{} {code} ", version.major, version.minor).as_bytes(),
                );
                out.put_slice(reason.as_bytes());
                out.put_slice(b"\r\n");
            }
        }
        for f in &self.fields {
            if f.kind == HeaderKind::ContentLength {
                continue;
            }
            if f.line.end > f.line.start {
                out.put_slice(
                    self.raw
                        .get(f.line.start as usize..f.line.end as usize)
                        .unwrap_or(b""),
                );
            } else {
                out.put_slice(self.text_of(&f.name));
                out.put_slice(b": ");
                out.put_slice(self.text_of(&f.value));
            }
            out.put_slice(b"\r\n");
        }
        out.put_slice(format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes());
        out.put_slice(&self.body);
        out.freeze()
    }
}

fn field_matches(raw: &Bytes, owned: &[ByteString], f: &Field, name: &HeaderName) -> bool {
    field_named(raw, owned, f, name.kind(), name.as_str().as_bytes())
}
