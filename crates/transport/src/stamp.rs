//! Stamping the top Via of a received request with where it really came from
//! (RFC 3261 §18.2.1, RFC 3581 §4).
//!
//! A request names its sender in the top Via's sent-by, but NATs and multi-homed hosts
//! make that name unreliable. The server therefore records the packet's source: it adds
//! `received=<source IP>` when the sent-by host is not that IP (§18.2.1), and when the
//! client asked for it with an empty `rport` parameter, fills in `rport=<source port>`
//! and always adds `received` too (RFC 3581 §4), so that the response can go back
//! through the NAT binding the request opened (see [`crate::route`]).
//!
//! Pure: no sockets, so every case is unit-tested below.

use std::net::{IpAddr, SocketAddr};

use sip_message::{HeaderError, HeaderKind, Message, Via};

/// The source IP in the form written into `received`: IPv4-mapped IPv6 addresses (what a
/// dual-stack socket reports for an IPv4 peer) as plain IPv4, IPv6 without brackets
/// (RFC 3261's `received` grammar takes a bare `IPv6address`; RFC 5118 §4.5).
pub fn received_value(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
}

/// The sent-by host as an IP address, if it is an IP literal (IPv6 may be bracketed).
pub fn host_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The top Via as it must read once stamped for a request from `source`, or `None` when
/// nothing needs to change.
///
/// * `received` is set when the sent-by host is a name or an IP other than the source IP
///   (compared as addresses, so `::1` equals `0:0:0:0:0:0:0:1`) — §18.2.1.
/// * An empty `rport` is filled with the source port, and `received` is then set even
///   when the host matches — RFC 3581 §4.
/// * A `received` or a filled `rport` the sender wrote itself is never trusted: §18.2.2
///   routes responses by them, so they are overwritten with what the packet really came
///   from (else anyone could aim our responses at a third party, or at our own
///   loopback). A filled `rport` in a request is treated as a request for one.
pub fn stamp_via(via: &Via, source: SocketAddr) -> Option<Via> {
    let src_ip = source.ip().to_canonical();
    let wants_rport = via.rport().is_some();
    let host_differs = host_ip(via.host()) != Some(src_ip);
    let claims_received = via.received().is_some();
    let already_right = via.received().and_then(host_ip) == Some(src_ip)
        && (!wants_rport || via.rport() == Some(Some(source.port())));
    if (!host_differs && !wants_rport && !claims_received) || (claims_received && already_right) {
        return None;
    }
    let mut out = via.with_param("received", Some(&received_value(src_ip)));
    if wants_rport {
        out = out.with_param("rport", Some(&source.port().to_string()));
    }
    Some(out)
}

/// Stamps the top Via of `request` in place (see [`stamp_via`]); returns whether it
/// changed. Fails when the top Via is missing or cannot be decoded: such a request
/// cannot be answered by its Via and is reported as malformed.
pub fn stamp_request(request: &mut Message, source: SocketAddr) -> Result<bool, HeaderError> {
    let Some(new) = stamp_via(request.top_via()?, source) else {
        return Ok(false);
    };
    let new = new.to_string();
    // Only the top value changes. With a single Via value, replacing the field keeps its
    // place among the headers; with more, the top one is removed and the stamped one put
    // back in front of the others (a Via line holding several comma-separated values is
    // split by `remove_top_via`, which is equivalent by RFC 3261 §7.3.1).
    if request.via()?.len() == 1 {
        request.set_header(HeaderKind::Via, &new)?;
    } else {
        request.remove_top_via()?;
        request.prepend_header(HeaderKind::Via, &new)?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(via_lines: &str) -> Message {
        let text = format!(
            "OPTIONS sip:a@example.com SIP/2.0\r\n{via_lines}Max-Forwards: 70\r\n\
             From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n\
             Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        Message::parse(text.into_bytes()).expect("test message parses")
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn nothing_when_sent_by_is_the_source_and_no_rport() {
        let mut m = msg("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n");
        assert!(!stamp_request(&mut m, addr("192.0.2.1:5060")).unwrap());
        assert!(!m.is_modified());
        // The port does not matter for `received` (§18.2.1 compares hosts only).
        assert!(!stamp_request(&mut m, addr("192.0.2.1:7000")).unwrap());
    }

    #[test]
    fn received_when_host_differs() {
        let mut m = msg("Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1\r\n");
        assert!(stamp_request(&mut m, addr("192.0.2.1:5999")).unwrap());
        let v = m.top_via().unwrap();
        assert_eq!(v.received(), Some("192.0.2.1"));
        assert_eq!(v.rport(), None);
        assert_eq!(v.branch(), Some("z9hG4bK1"));
    }

    #[test]
    fn received_when_host_is_a_name() {
        let mut m = msg("Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1\r\n");
        stamp_request(&mut m, addr("192.0.2.1:5060")).unwrap();
        assert_eq!(m.top_via().unwrap().received(), Some("192.0.2.1"));
    }

    #[test]
    fn rport_filled_and_received_always_added() {
        let mut m = msg("Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1\r\n");
        stamp_request(&mut m, addr("192.0.2.1:40000")).unwrap();
        let v = m.top_via().unwrap();
        assert_eq!(v.rport(), Some(Some(40000)));
        assert_eq!(v.received(), Some("192.0.2.1"));
        // Parameter order is kept: rport stays where the client put it.
        assert!(v.as_str().contains(";rport=40000;branch=z9hG4bK1"), "{v}");
    }

    #[test]
    fn a_filled_rport_or_received_from_the_sender_is_overwritten() {
        let v = msg("Via: SIP/2.0/UDP 192.0.2.1:5060;rport=1234;branch=z9hG4bK1\r\n");
        let out = stamp_via(v.top_via().unwrap(), addr("192.0.2.1:40000")).unwrap();
        assert_eq!(out.rport(), Some(Some(40000)));
        assert_eq!(out.received(), Some("192.0.2.1"));
        // Aiming responses at our own loopback does not work.
        let v =
            msg("Via: SIP/2.0/UDP 203.0.113.5;received=127.0.0.1;rport=11211;branch=z9hG4bK1\r\n");
        let out = stamp_via(v.top_via().unwrap(), addr("203.0.113.5:5060")).unwrap();
        assert_eq!(out.received(), Some("203.0.113.5"));
        assert_eq!(out.rport(), Some(Some(5060)));
        let v = msg("Via: SIP/2.0/TCP 203.0.113.5:6379;received=10.0.0.8;branch=z9hG4bK1\r\n");
        let out = stamp_via(v.top_via().unwrap(), addr("203.0.113.5:40000")).unwrap();
        assert_eq!(out.received(), Some("203.0.113.5"));
    }

    #[test]
    fn ipv6_compared_as_addresses_and_written_bare() {
        let m = msg("Via: SIP/2.0/UDP [0:0:0:0:0:0:0:1]:5060;branch=z9hG4bK1\r\n");
        assert!(stamp_via(m.top_via().unwrap(), addr("[::1]:5060")).is_none());
        let m = msg("Via: SIP/2.0/UDP [2001:db8::1]:5060;rport;branch=z9hG4bK1\r\n");
        let v = stamp_via(m.top_via().unwrap(), addr("[2001:db8::2]:6000")).unwrap();
        assert_eq!(v.received(), Some("2001:db8::2"));
        assert_eq!(v.rport(), Some(Some(6000)));
    }

    #[test]
    fn ipv4_mapped_source_is_plain_ipv4() {
        let m = msg("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n");
        assert!(stamp_via(m.top_via().unwrap(), addr("[::ffff:192.0.2.1]:5060")).is_none());
        let v = stamp_via(m.top_via().unwrap(), addr("[::ffff:192.0.2.9]:5060")).unwrap();
        assert_eq!(v.received(), Some("192.0.2.9"));
    }

    #[test]
    fn existing_received_is_replaced() {
        let m = msg("Via: SIP/2.0/UDP 10.0.0.1;received=10.9.9.9;branch=z9hG4bK1\r\n");
        let v = stamp_via(m.top_via().unwrap(), addr("192.0.2.1:5060")).unwrap();
        assert_eq!(v.received(), Some("192.0.2.1"));
        assert_eq!(v.params().filter(|(n, _)| *n == "received").count(), 1);
    }

    #[test]
    fn only_the_top_via_changes() {
        let mut m = msg(
            "Via: SIP/2.0/UDP 10.0.0.5;rport;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.6;branch=z9hG4bK0\r\n\
             Via: SIP/2.0/TCP 10.0.0.7;branch=z9hG4bKx\r\n",
        );
        stamp_request(&mut m, addr("192.0.2.1:5070")).unwrap();
        let vias = m.via().unwrap();
        assert_eq!(vias.len(), 3);
        assert_eq!(vias[0].received(), Some("192.0.2.1"));
        assert_eq!(vias[0].rport(), Some(Some(5070)));
        assert_eq!(vias[1].as_str(), "SIP/2.0/UDP 10.0.0.6;branch=z9hG4bK0");
        assert_eq!(vias[2].as_str(), "SIP/2.0/TCP 10.0.0.7;branch=z9hG4bKx");
        // The rewritten message still parses to the same thing.
        let again = Message::parse(m.to_bytes()).unwrap();
        assert_eq!(again.via().unwrap().len(), 3);
        assert_eq!(again.top_via().unwrap().rport(), Some(Some(5070)));
    }

    #[test]
    fn single_via_keeps_its_place() {
        let mut m = msg("Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1\r\n");
        stamp_request(&mut m, addr("192.0.2.1:5070")).unwrap();
        let first = m.headers().next().unwrap();
        assert!(first.name.eq_ignore_ascii_case("via"));
    }

    #[test]
    fn missing_via_is_an_error() {
        let mut m = msg("");
        assert!(stamp_request(&mut m, addr("192.0.2.1:5070")).is_err());
    }
}
