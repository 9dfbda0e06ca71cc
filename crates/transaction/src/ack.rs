//! The ACK an INVITE client transaction sends for a non-2xx final response
//! (RFC 3261 §17.1.1.3). The ACK for a 2xx is the dialog's business (§13.2.2.4), not
//! this one.

use sip_message::{HeaderKind, Message, Method};

/// Builds the ACK for `response` (300–699) to `invite`:
///
/// * Request-URI, Call-ID, From: the INVITE's;
/// * CSeq: the INVITE's number with method ACK;
/// * To: the response's (it carries the tag the UAS chose);
/// * Via: only the INVITE's top Via, so the ACK has the INVITE's branch and matches
///   its server transaction (§17.2.3);
/// * Route: the INVITE's, so the ACK follows the INVITE's path;
/// * Max-Forwards: the INVITE's (70 when it had none; §8.1.1.6 makes it mandatory).
pub fn build_ack(invite: &Message, response: &Message) -> Result<Message, String> {
    let uri = invite.request_uri().ok_or("not a request")?.clone();
    let mut ack = Message::request(Method::Ack, uri);
    let err = |e: sip_message::HeaderError| e.to_string();
    let via = invite.top_via().map_err(err)?;
    ack.push_header(HeaderKind::Via, via.as_str())
        .map_err(err)?;
    for route in invite.values("Route") {
        let route = std::str::from_utf8(route).map_err(|_| "Route is not UTF-8")?;
        ack.push_header(HeaderKind::Route, route.trim())
            .map_err(err)?;
    }
    let max_forwards = invite.max_forwards().map_err(err)?.unwrap_or(70);
    ack.push_header(HeaderKind::MaxForwards, &max_forwards.to_string())
        .map_err(err)?;
    ack.push_header(HeaderKind::From, invite.from().map_err(err)?.as_str())
        .map_err(err)?;
    ack.push_header(HeaderKind::To, response.to().map_err(err)?.as_str())
        .map_err(err)?;
    ack.push_header(HeaderKind::CallId, invite.call_id().map_err(err)?.as_str())
        .map_err(err)?;
    let seq = invite.cseq().map_err(err)?.seq;
    ack.push_header(HeaderKind::CSeq, &format!("{seq} ACK"))
        .map_err(err)?;
    Ok(ack)
}
