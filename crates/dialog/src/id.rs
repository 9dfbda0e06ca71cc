//! Dialog identifiers (RFC 3261 §12) and tags (§19.3).
//!
//! A dialog is named by Call-ID, local tag and remote tag. Which header carries which
//! tag depends on the direction: in a request we receive, our tag is in To and the
//! peer's in From; in a response to a request we sent, our tag is in From and the
//! peer's in To. Getting that swap in one place is the point of this module.

use sip_message::Message;

use crate::error::DialogError;

/// The identity of a dialog as seen from our side (RFC 3261 §12).
///
/// A null tag (RFC 2543 peers send none, §12.1.1, §12.1.2) is the empty string, so
/// such a peer's dialog still has one key. Tags and Call-ID compare byte for byte, as
/// pjsip does: RFC 3261 compares them as opaque tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag (empty for a null tag).
    pub remote_tag: String,
}

impl DialogId {
    /// A dialog id from its three parts.
    pub fn new(
        call_id: impl Into<String>,
        local_tag: impl Into<String>,
        remote_tag: impl Into<String>,
    ) -> DialogId {
        DialogId {
            call_id: call_id.into(),
            local_tag: local_tag.into(),
            remote_tag: remote_tag.into(),
        }
    }

    /// The dialog an incoming request belongs to (§12.2.2): local tag from To, remote
    /// tag from From. `Ok(None)` when To has no tag: the request is outside any dialog
    /// (§12.2.2 last paragraph, §8.2).
    pub fn of_incoming_request(request: &Message) -> Result<Option<DialogId>, DialogError> {
        if !request.is_request() {
            return Err(DialogError::WrongKind("request"));
        }
        let Some(local) = request.to()?.tag() else {
            return Ok(None);
        };
        Ok(Some(DialogId::new(
            request.call_id()?.as_str(),
            local,
            request.from()?.tag().unwrap_or(""),
        )))
    }

    /// The dialog a response to a request we sent belongs to (§12.1.2, §12.2.1.2):
    /// local tag from From, remote tag from To (empty when To has no tag).
    pub fn of_response(response: &Message) -> Result<DialogId, DialogError> {
        if response.is_request() {
            return Err(DialogError::WrongKind("response"));
        }
        let local = response
            .from()?
            .tag()
            .ok_or(DialogError::MissingTag("From"))?;
        Ok(DialogId::new(
            response.call_id()?.as_str(),
            local,
            response.to()?.tag().unwrap_or(""),
        ))
    }

    /// Whether an incoming request is in this dialog (To tag = our tag, From tag =
    /// the peer's). A request whose headers do not decode matches nothing.
    pub fn matches_request(&self, request: &Message) -> bool {
        request.is_request()
            && request.call_id().is_ok_and(|c| c.as_str() == self.call_id)
            && request
                .to()
                .is_ok_and(|t| t.tag() == Some(self.local_tag.as_str()))
            && request
                .from()
                .is_ok_and(|f| f.tag().unwrap_or("") == self.remote_tag)
    }

    /// Whether a response to a request we sent is in this dialog (From tag = our tag,
    /// To tag = the peer's).
    pub fn matches_response(&self, response: &Message) -> bool {
        !response.is_request() && DialogId::of_response(response).is_ok_and(|id| id == *self)
    }
}

/// A new tag for our side of a dialog, from caller-supplied randomness.
///
/// RFC 3261 §19.3 asks for at least 32 random bits; this takes 64 (one call to
/// `rand`) and writes them as 16 lowercase hex digits, a token. The state machines
/// never read OS randomness themselves (sans-IO): the driver passes its generator.
pub fn new_tag(rand: &mut impl FnMut() -> u64) -> String {
    format!("{:016x}", rand())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> Message {
        Message::parse(s.replace('\n', "\r\n").into_bytes()).expect("test message parses")
    }

    #[test]
    fn request_and_response_swap_tags() {
        let req = msg("BYE sip:a@192.0.2.1 SIP/2.0\n\
Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKx\n\
From: <sip:b@example.com>;tag=remote\n\
To: <sip:a@example.com>;tag=local\n\
Call-ID: c1\n\
CSeq: 5 BYE\n\
Content-Length: 0\n\n");
        let id = DialogId::of_incoming_request(&req).unwrap().unwrap();
        assert_eq!(id, DialogId::new("c1", "local", "remote"));
        assert!(id.matches_request(&req));
        assert!(!DialogId::new("c1", "remote", "local").matches_request(&req));

        let resp = msg("SIP/2.0 200 OK\n\
Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKx\n\
From: <sip:b@example.com>;tag=remote\n\
To: <sip:a@example.com>;tag=local\n\
Call-ID: c1\n\
CSeq: 5 BYE\n\
Content-Length: 0\n\n");
        let rid = DialogId::of_response(&resp).unwrap();
        assert_eq!(rid, DialogId::new("c1", "remote", "local"));
        assert!(rid.matches_response(&resp));
        assert!(!id.matches_response(&resp));
    }

    #[test]
    fn no_to_tag_is_out_of_dialog() {
        let req = msg("INVITE sip:a@192.0.2.1 SIP/2.0\n\
Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKx\n\
From: <sip:b@example.com>;tag=r\n\
To: <sip:a@example.com>\n\
Call-ID: c1\n\
CSeq: 1 INVITE\n\
Content-Length: 0\n\n");
        assert_eq!(DialogId::of_incoming_request(&req).unwrap(), None);
    }

    #[test]
    fn tags_use_the_supplied_randomness() {
        let mut n = 0u64;
        let mut rng = || {
            n += 1;
            n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        };
        let a = new_tag(&mut rng);
        let b = new_tag(&mut rng);
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
        assert_eq!(new_tag(&mut || 0xab), "00000000000000ab");
    }
}
