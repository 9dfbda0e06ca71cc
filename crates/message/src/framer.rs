//! Finding message boundaries on stream transports (TCP, TLS).
//!
//! Bytes arrive in arbitrary pieces; the framer takes whole messages off the front of
//! a growing buffer. Between messages a peer may send CRLF keep-alives (RFC 5626
//! §4.4.1): a double CRLF is a ping that wants a single-CRLF pong back. Content-Length
//! is mandatory on streams (RFC 3261 §18.3); without it the stream cannot be framed and
//! the connection must be closed, which is what an error from [`StreamFramer::next`]
//! means.

use bytes::{Buf, BytesMut};

use crate::error::{ParseError, ParseErrorKind};
use crate::limits::Limits;
use crate::message::Message;
use crate::parse::{assemble, index_head};

/// What the framer took off the buffer.
// A message is moved once per frame; boxing it would cost an allocation per message
// to save a copy of the same size.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Frame {
    /// A complete message.
    Message(Message),
    /// A keep-alive ping (CRLF CRLF); answer with a pong (CRLF).
    Ping,
    /// A keep-alive pong (a single CRLF followed by more bytes), the answer to our
    /// ping. A lone CRLF at the end of the buffer is held until more bytes arrive,
    /// because it may be the first half of a ping.
    Pong,
}

/// Stateful framer for one connection.
#[derive(Debug, Clone)]
pub struct StreamFramer {
    limits: Limits,
    /// Total length of the message at the front of the buffer, once its head is indexed
    /// and only the body is still arriving.
    pending_total: Option<usize>,
    /// How many bytes at the front of the buffer were already searched for the end of
    /// the header section in vain. Without it, a peer sending a large head one byte at
    /// a time would make every read rescan everything before it (quadratic work).
    scanned: usize,
}

impl StreamFramer {
    /// A framer with the given limits.
    pub fn new(limits: Limits) -> StreamFramer {
        StreamFramer {
            limits,
            pending_total: None,
            scanned: 0,
        }
    }

    /// Whether `buf` holds the empty line that ends a header section (`LF CRLF` or
    /// `LF LF`), searching only what was not searched before.
    fn head_complete(&mut self, buf: &[u8]) -> bool {
        let from = self.scanned.saturating_sub(2);
        let found = memchr::memchr_iter(b'\n', &buf[from..]).any(|i| {
            let rest = &buf[from + i + 1..];
            rest.starts_with(b"\n") || rest.starts_with(b"\r\n")
        });
        self.scanned = if found { 0 } else { buf.len() };
        found
    }

    /// Takes the next frame off the front of `buf`. `Ok(None)` means more bytes are
    /// needed. An error means the stream can no longer be framed: close it.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ParseError> {
        if self.pending_total.is_none() {
            // A lone CRLF may be the first half of a ping split across reads; answering
            // a ping matters more than noticing a pong early, so wait for more.
            if buf.len() < 4 && b"\r\n\r\n".starts_with(buf) {
                return Ok(None);
            }
            if buf.starts_with(b"\r\n\r\n") {
                buf.advance(4);
                self.scanned = 0;
                return Ok(Some(Frame::Ping));
            }
            if buf.starts_with(b"\r\n") {
                buf.advance(2);
                self.scanned = 0;
                return Ok(Some(Frame::Pong));
            }
            // A lone LF or CR between messages is noise; drop it.
            while buf.first() == Some(&b'\n')
                || (buf.first() == Some(&b'\r') && buf.get(1).is_some_and(|b| *b != b'\n'))
            {
                buf.advance(1);
                self.scanned = 0;
            }
            if buf.is_empty() {
                return Ok(None);
            }
            if !self.head_complete(buf) {
                if buf.len() > self.limits.max_message_size {
                    return Err(ParseError::new(
                        ParseErrorKind::TooLarge,
                        "message too large",
                    ));
                }
                return Ok(None);
            }
        }
        if let Some(total) = self.pending_total {
            if buf.len() < total {
                return Ok(None);
            }
        }
        let Some(head) = index_head(buf, &self.limits, false)? else {
            if buf.len() > self.limits.max_message_size {
                return Err(ParseError::new(
                    ParseErrorKind::TooLarge,
                    "message too large",
                ));
            }
            return Ok(None);
        };
        let cl = match head.content_length.clone() {
            Ok(cl) => cl,
            Err(err) => {
                // Framing is lost; keep the head so the peer can get a 400 before the
                // connection is closed.
                let raw = bytes::Bytes::copy_from_slice(&buf[..head.body_start]);
                return Err(match assemble(raw, head, 0, &self.limits) {
                    Ok(m) => err.with_head(m),
                    Err(_) => err,
                });
            }
        };
        let Some(cl) = cl else {
            return Err(ParseError::new(
                ParseErrorKind::MissingContentLength,
                "Content-Length is required on stream transports",
            ));
        };
        let total = head.body_start + cl;
        if total > self.limits.max_message_size {
            return Err(ParseError::new(
                ParseErrorKind::TooLarge,
                "message too large",
            ));
        }
        if buf.len() < total {
            self.pending_total = Some(total);
            return Ok(None);
        }
        self.pending_total = None;
        let raw = buf.split_to(total).freeze();
        self.scanned = 0;
        let msg = assemble(raw, head, cl, &self.limits)?;
        Ok(Some(Frame::Message(msg)))
    }
}

impl Default for StreamFramer {
    fn default() -> Self {
        StreamFramer::new(Limits::DEFAULT)
    }
}
