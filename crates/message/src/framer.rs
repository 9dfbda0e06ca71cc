//! Finding message boundaries on stream transports (TCP, TLS).
//!
//! Bytes arrive in arbitrary pieces; the framer takes whole messages off the front of
//! a growing buffer. Between messages a peer may send CRLF keep-alives (RFC 5626
//! §4.4.1): a double CRLF is a ping that wants a single-CRLF pong back. Content-Length
//! is mandatory on streams (RFC 3261 §18.3); without it the stream cannot be framed and
//! the connection must be closed, which is what an error from [`StreamFramer::next`]
//! means.
//!
//! A message that is broken but whose end is still known — its head ends with the
//! empty line and has one valid Content-Length, and only a header line or the start
//! line is bad — is taken off the buffer as [`Frame::Malformed`]: the connection goes
//! on with the next message, and the peer can be told what was wrong. Closing instead
//! would let one bad header (a client bug, or one hostile message among many good
//! ones from an SBC) cut off every call on the connection.

use bytes::{Buf, BytesMut};

use crate::error::{ParseError, ParseErrorKind};
use crate::limits::Limits;
use crate::message::Message;
use crate::parse::{assemble, index_head, index_head_lenient, Head};

/// What the framer took off the buffer.
// A message is moved once per frame; boxing it would cost an allocation per message
// to save a copy of the same size.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Frame {
    /// A complete message.
    Message(Message),
    /// A message whose bytes were taken off the buffer but which does not parse (a bad
    /// header line or start line). [`ParseError::head`] holds its start line and the
    /// header lines that did parse, when the start line did, so that a request can be
    /// answered 400 with [`ParseError::reason`]. The stream stays framed: go on reading.
    Malformed(ParseError),
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
        let head = match index_head(buf, &self.limits, false) {
            Ok(Some(head)) => head,
            Ok(None) => {
                if buf.len() > self.limits.max_message_size {
                    return Err(ParseError::new(
                        ParseErrorKind::TooLarge,
                        "message too large",
                    ));
                }
                return Ok(None);
            }
            Err(err) if err.kind() == ParseErrorKind::TooLarge => return Err(err),
            Err(err) => return self.recover(buf, err),
        };
        let cl = match head.content_length.clone() {
            Ok(cl) => cl,
            // Framing is lost; keep the head so the peer can get a 400 before the
            // connection is closed.
            Err(err) => return Err(self.with_head(buf, head, err)),
        };
        let Some(cl) = cl else {
            return Err(ParseError::new(
                ParseErrorKind::MissingContentLength,
                "Content-Length is required on stream transports",
            ));
        };
        let Some(raw) = self.take(buf, head.body_start + cl)? else {
            return Ok(None);
        };
        match assemble(raw, head, cl, &self.limits) {
            Ok(msg) => Ok(Some(Frame::Message(msg))),
            // A bad start line: there is nothing to answer to, but the next message
            // starts right after this one.
            Err(err) => Ok(Some(Frame::Malformed(err))),
        }
    }

    /// The first `total` bytes of `buf` once they have all arrived (`Ok(None)` until
    /// then), or an error when a message that long is over the limit.
    fn take(
        &mut self,
        buf: &mut BytesMut,
        total: usize,
    ) -> Result<Option<bytes::Bytes>, ParseError> {
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
        self.scanned = 0;
        Ok(Some(buf.split_to(total).freeze()))
    }

    /// `err` with the message's start line and headers (from the front of `buf`,
    /// which stays as it is) when they can be assembled, so that a request can be
    /// answered.
    fn with_head(&self, buf: &[u8], head: Head, err: ParseError) -> ParseError {
        let raw = bytes::Bytes::copy_from_slice(&buf[..head.body_start]);
        match assemble(raw, head, 0, &self.limits) {
            Ok(m) => err.with_head(m),
            Err(_) => err,
        }
    }

    /// After a header line failed to parse (`err`): if the head still ends with the
    /// empty line and names one valid Content-Length in lines that do parse, the
    /// message is taken off the buffer as [`Frame::Malformed`] (once its body has
    /// arrived); else its end is unknown and `err` is returned, with what parsed of
    /// the head for a 400 before the connection is closed.
    fn recover(
        &mut self,
        buf: &mut BytesMut,
        err: ParseError,
    ) -> Result<Option<Frame>, ParseError> {
        let Some(head) = index_head_lenient(buf, &self.limits) else {
            return Err(err);
        };
        let Ok(Some(cl)) = head.content_length else {
            return Err(self.with_head(buf, head, err));
        };
        let Some(raw) = self.take(buf, head.body_start + cl)? else {
            return Ok(None);
        };
        Ok(Some(Frame::Malformed(
            match assemble(raw, head, 0, &self.limits) {
                Ok(m) => err.with_head(m),
                Err(_) => err,
            },
        )))
    }
}

impl Default for StreamFramer {
    fn default() -> Self {
        StreamFramer::new(Limits::DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(call_id: &str, extra: &str, body: &str) -> String {
        format!(
            "OPTIONS sip:a@example.com SIP/2.0\r\n\
             Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-{call_id}\r\n\
             {extra}\
             From: <sip:b@example.com>;tag=1\r\n\
             To: <sip:a@example.com>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// Every frame the framer takes off `text` fed in `step`-byte pieces, up to and
    /// including the first error.
    fn frames(text: &str, step: usize) -> Vec<Result<Frame, ParseError>> {
        let mut f = StreamFramer::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in text.as_bytes().chunks(step) {
            buf.extend_from_slice(piece);
            loop {
                match f.next(&mut buf) {
                    Ok(Some(frame)) => out.push(Ok(frame)),
                    Ok(None) => break,
                    Err(e) => {
                        out.push(Err(e));
                        return out;
                    }
                }
            }
        }
        out
    }

    fn malformed(frame: &Result<Frame, ParseError>) -> &ParseError {
        match frame {
            Ok(Frame::Malformed(e)) => e,
            other => panic!("expected a malformed frame, got {other:?}"),
        }
    }

    fn message(frame: &Result<Frame, ParseError>) -> &Message {
        match frame {
            Ok(Frame::Message(m)) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn a_bad_header_line_is_a_malformed_frame_and_the_next_message_follows() {
        let text =
            request("bad", "Bogus header without colon\r\n", "body") + &request("good", "", "");
        for step in [text.len(), 1, 7] {
            let got = frames(&text, step);
            assert_eq!(got.len(), 2, "step {step}: {got:?}");
            let e = malformed(&got[0]);
            assert_eq!(e.kind(), ParseErrorKind::BadHeaderLine);
            assert!(e.reason().contains("Bogus"), "{}", e.reason());
            let head = e.head().expect("the head is kept for a 400");
            assert!(head.is_request());
            assert_eq!(head.call_id().unwrap().as_str(), "bad");
            assert_eq!(head.cseq().unwrap().seq, 1);
            assert!(head.top_via().is_ok());
            assert_eq!(message(&got[1]).call_id().unwrap().as_str(), "good");
        }
    }

    #[test]
    fn a_bad_start_line_is_a_malformed_frame_without_a_head() {
        let bad = request("x", "", "").replace("OPTIONS sip:", "OPTIONS  sip:");
        let text = bad + &request("good", "", "");
        let got = frames(&text, text.len());
        assert_eq!(got.len(), 2, "{got:?}");
        let e = malformed(&got[0]);
        assert_eq!(e.kind(), ParseErrorKind::BadStartLine);
        assert!(e.head().is_none());
        assert_eq!(message(&got[1]).call_id().unwrap().as_str(), "good");
    }

    #[test]
    fn too_many_or_too_long_header_lines_keep_the_boundary() {
        let limits = Limits {
            max_headers: 8,
            max_header_line: 200,
            ..Limits::DEFAULT
        };
        let many: String = (0..10).map(|i| format!("X-{i}: v\r\n")).collect();
        let long = format!("X-Long: {}\r\n", "v".repeat(300));
        for (extra, kind) in [
            (many, ParseErrorKind::TooManyHeaders),
            (long, ParseErrorKind::BadHeaderLine),
        ] {
            let text = request("bad", &extra, "") + &request("good", "", "");
            let mut f = StreamFramer::new(limits);
            let mut buf = BytesMut::from(text.as_bytes());
            let Ok(Some(Frame::Malformed(e))) = f.next(&mut buf) else {
                panic!("malformed frame expected")
            };
            assert_eq!(e.kind(), kind);
            let head = e.head().expect("head");
            assert!(head.header_count() <= limits.max_headers);
            let Ok(Some(Frame::Message(m))) = f.next(&mut buf) else {
                panic!("message expected")
            };
            assert_eq!(m.call_id().unwrap().as_str(), "good");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn a_bad_header_without_a_usable_content_length_loses_the_boundary() {
        // No Content-Length at all.
        let text = request("bad", "Bogus\r\n", "").replace("Content-Length: 0\r\n", "");
        let got = frames(&text, text.len());
        let Some(Err(e)) = got.last() else {
            panic!("error expected: {got:?}")
        };
        assert_eq!(e.kind(), ParseErrorKind::BadHeaderLine);
        assert_eq!(
            e.head().and_then(|h| h.call_id().ok()).map(|c| c.as_str()),
            Some("bad"),
            "the head is kept for a 400 before the close"
        );
        // A bad Content-Length beside the bad line.
        let text = request("bad", "Bogus\r\n", "").replace("Length: 0", "Length: x");
        assert!(matches!(frames(&text, text.len()).last(), Some(Err(_))));
        // A line that may have been the Content-Length does not parse: the length
        // read elsewhere cannot be trusted.
        let text = request("bad", "Content-Length\r\n", "");
        assert!(matches!(frames(&text, text.len()).last(), Some(Err(_))));
        let text = request("bad", "l 12\r\n", "");
        assert!(matches!(frames(&text, text.len()).last(), Some(Err(_))));
    }

    #[test]
    fn a_malformed_message_over_the_size_limit_is_an_error() {
        let limits = Limits {
            max_message_size: 400,
            ..Limits::DEFAULT
        };
        let text = request("bad", "Bogus\r\n", &"b".repeat(500));
        let mut f = StreamFramer::new(limits);
        let mut buf = BytesMut::from(text.as_bytes());
        assert_eq!(
            f.next(&mut buf).unwrap_err().kind(),
            ParseErrorKind::TooLarge
        );
    }
}
