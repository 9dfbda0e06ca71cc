//! Behaviour of the public API beyond the torture corpus: limits, the stream framer,
//! building and changing messages, and the words of the errors.

use bytes::BytesMut;
use sip_message::{
    Frame, HeaderKind, Limits, Message, Method, ParseErrorKind as K, StreamFramer, Uri,
};

const REGISTER: &str = "REGISTER sip:example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK-reg-1\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n\
To: <sip:alice@example.com>\r\n\
Call-ID: reg-1@192.0.2.10\r\n\
CSeq: 1 REGISTER\r\n\
Timestamp: 54\r\n\
Contact: <sip:alice@192.0.2.10:5060>;expires=3600, <sip:alice@[2001:db8::10]>;q=0.5\r\n\
Expires: 1800\r\n\
Content-Length: 0\r\n\r\n";

fn register() -> Message {
    Message::parse(REGISTER.as_bytes().to_vec()).expect("REGISTER parses")
}

#[test]
fn limits_are_enforced_with_clear_errors() {
    let many = format!(
        "OPTIONS sip:a@b SIP/2.0\r\n{}\r\n",
        "X-A: 1\r\n".repeat(300)
    );
    let e = Message::parse(many.clone().into_bytes()).unwrap_err();
    assert_eq!(e.kind(), K::TooManyHeaders);
    assert_eq!(e.reason(), "too many header fields");
    let roomy = Limits {
        max_headers: 400,
        ..Limits::DEFAULT
    };
    assert!(Message::parse_with_limits(many.into_bytes(), &roomy).is_ok());

    let long = format!(
        "OPTIONS sip:a@b SIP/2.0\r\nX-Long: {}\r\n\r\n",
        "x".repeat(9000)
    );
    assert_eq!(
        Message::parse(long.into_bytes()).unwrap_err().kind(),
        K::BadHeaderLine
    );

    let small = Limits {
        max_message_size: 100,
        ..Limits::DEFAULT
    };
    let e = Message::parse_with_limits(REGISTER.as_bytes().to_vec(), &small).unwrap_err();
    assert_eq!(e.kind(), K::TooLarge);

    let deep = format!(
        "SIP/2.0 503 Busy\r\nRetry-After: 5 {}\r\n\r\n",
        "(".repeat(20) + &")".repeat(20)
    );
    let m = Message::parse(deep.clone().into_bytes()).unwrap();
    assert!(m.retry_after().is_err(), "nesting deeper than 16");
    let deeper = Limits {
        max_nesting: 32,
        ..Limits::DEFAULT
    };
    let m = Message::parse_with_limits(deep.into_bytes(), &deeper).unwrap();
    assert_eq!(m.retry_after().unwrap().unwrap().seconds, 5);

    let list = format!(
        "OPTIONS sip:a@b SIP/2.0\r\nVia: {}\r\n\r\n",
        vec!["SIP/2.0/UDP h;branch=z9hG4bK1"; 200].join(",")
    );
    let m = Message::parse(list.into_bytes()).unwrap();
    assert_eq!(m.via().unwrap_err().detail(), "too many list elements");
}

#[test]
fn malformed_input_gets_words_a_person_can_act_on() {
    for (input, words) in [
        ("", "empty message"),
        ("\r\n\r\n", "empty message"),
        (
            "OPTIONS sip:a@b SIP/2.0",
            "message has no line end after the start line",
        ),
        (
            "OPTIONS sip:a@b\r\n\r\n",
            "request line must be 'METHOD URI SIP/2.0'",
        ),
        (
            "OPTIONS sip:a@b HTTP/1.1\r\n\r\n",
            "'HTTP/1.1' is not a SIP version",
        ),
        (
            "SIP/2.0 2000 OK\r\n\r\n",
            "status code must be three digits",
        ),
        (
            "SIP/2.0 099 Low\r\n\r\n",
            "status code out of range 100-699",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nNoColon\r\n\r\n",
            "header line 'NoColon' has no colon",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
            "expected ':' after header name 'Bad', found 'N'",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\n: x\r\n\r\n",
            "invalid header line starting with ':'",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nl: 10\r\n\r\nabc",
            "Content-Length larger than the datagram",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nl: x\r\n\r\n",
            "Content-Length is not a number",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nl: 99999999999\r\n\r\n",
            "Content-Length out of range",
        ),
        (
            "OPTIONS sip:a@b:70000 SIP/2.0\r\n\r\n",
            "malformed Request-URI: invalid port '70000'",
        ),
    ] {
        let e = Message::parse(input.as_bytes().to_vec()).expect_err(input);
        assert_eq!(e.reason(), words, "{input:?}");
        assert_eq!(e.to_string(), words);
    }
}

#[test]
fn validation_reports_status_and_reason() {
    let m = Message::parse(
        REGISTER
            .replace("CSeq: 1 REGISTER", "CSeq: 1 INVITE")
            .into_bytes(),
    )
    .unwrap();
    let e = m.validate().unwrap_err();
    assert_eq!(e.status(), 400);
    assert_eq!(
        e.reason(),
        "CSeq method INVITE does not match the request method REGISTER"
    );
    let m = Message::parse(
        REGISTER
            .replace(
                "Contact: <sip:alice@192.0.2.10:5060>;expires=3600",
                "Contact: *",
            )
            .into_bytes(),
    )
    .unwrap();
    assert_eq!(
        m.validate().unwrap_err().reason(),
        "Contact: * must be the only Contact"
    );
    let m = Message::parse(
        REGISTER
            .replace("Max-Forwards: 70", "Max-Forwards: 256")
            .into_bytes(),
    )
    .unwrap();
    assert_eq!(
        m.validate().unwrap_err().reason(),
        "Max-Forwards: 256 is out of range (0 to 255)"
    );
}

#[test]
fn registrar_fields() {
    let m = register();
    m.validate().unwrap();
    let via = m.top_via().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK-reg-1"));
    assert_eq!(via.rport(), Some(None));
    assert_eq!(m.from().unwrap().tag(), Some("a1"));
    assert_eq!(m.to().unwrap().uri().as_str(), "sip:alice@example.com");
    assert_eq!(m.expires().unwrap(), Some(1800));
    let c = m.contacts().unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].addr().unwrap().expires(), Ok(Some(3600)));
    assert_eq!(c[1].addr().unwrap().q(), Ok(Some(500)));
    assert_eq!(
        c[1].addr().unwrap().uri().as_sip().unwrap().host(),
        "[2001:db8::10]"
    );
    // Cached: the same allocation is handed out twice.
    assert!(std::ptr::eq(m.contacts().unwrap(), m.contacts().unwrap()));
}

#[test]
fn response_to_copies_what_rfc3261_says() {
    let req = register();
    let mut r = Message::response_to(&req, 100, None);
    assert_eq!(r.reason(), Some("Trying"));
    assert_eq!(
        r.values("Timestamp").count(),
        1,
        "§8.2.6.1: Timestamp in 100"
    );
    let r200 = Message::response_to(&req, 200, None);
    assert_eq!(r200.values("Timestamp").count(), 0);
    assert_eq!(r200.values("Contact").count(), 0);
    r.set_to_tag("t1").unwrap();
    r.set_to_tag("t2").unwrap();
    let parsed = Message::parse(r.to_bytes()).unwrap();
    parsed.validate().unwrap();
    assert_eq!(
        parsed.to().unwrap().tag(),
        Some("t1"),
        "an existing tag is kept"
    );
    assert_eq!(parsed.top_via().unwrap().branch(), Some("z9hG4bK-reg-1"));
    assert_eq!(parsed.cseq().unwrap().method, Method::Register);
    let text = String::from_utf8(parsed.to_bytes().to_vec()).unwrap();
    assert!(text.starts_with("SIP/2.0 100 Trying\r\n"), "{text}");
    assert!(text.ends_with("Content-Length: 0\r\n\r\n"), "{text}");
}

#[test]
fn editing_headers() {
    let mut m = register();
    assert!(!m.is_modified());
    assert_eq!(m.to_bytes(), *m.raw());

    m.prepend_header(
        HeaderKind::Via,
        "SIP/2.0/TCP proxy.example.com;branch=z9hG4bK-p1",
    )
    .unwrap();
    assert_eq!(m.via().unwrap().len(), 2);
    assert_eq!(m.top_via().unwrap().host(), "proxy.example.com");
    m.remove_top_via().unwrap();
    assert_eq!(m.top_via().unwrap().host(), "192.0.2.10");

    m.set_header("expires", "60").unwrap();
    assert_eq!(m.expires().unwrap(), Some(60));
    assert_eq!(m.remove_header("X-Nothing"), 0);
    m.push_header("X-Custom", "a").unwrap();
    m.push_header("x-custom", "b").unwrap();
    assert_eq!(
        m.values("X-CUSTOM").collect::<Vec<_>>(),
        [&b"a"[..], &b"b"[..]]
    );
    assert_eq!(m.remove_header("x-Custom"), 2);
    assert!(m.push_header("X-Evil", "a\r\nVia: injected").is_err());
    assert!(m.push_header("Bad Name", "x").is_err());

    m.set_body(Some("text/plain"), &b"hello"[..]).unwrap();
    m.set_request_uri(Uri::parse("sip:registrar.example.com").unwrap());
    let again = Message::parse(m.to_bytes()).unwrap();
    again.validate().unwrap();
    assert_eq!(&again.body()[..], b"hello");
    assert_eq!(
        again.values("Content-Length").collect::<Vec<_>>(),
        [&b"5"[..]]
    );
    assert_eq!(
        again.request_uri().unwrap().as_str(),
        "sip:registrar.example.com"
    );
    assert_eq!(again.expires().unwrap(), Some(60));
    assert_eq!(again.contacts().unwrap().len(), 2);
}

#[test]
fn framer_handles_keepalives_pieces_and_errors() {
    let mut f = StreamFramer::default();
    let mut buf = BytesMut::from(&b"\r\n\r\n"[..]);
    assert!(matches!(f.next(&mut buf), Ok(Some(Frame::Ping))));
    buf.extend_from_slice(b"\r\nREG");
    assert!(matches!(f.next(&mut buf), Ok(Some(Frame::Pong))));
    assert!(matches!(f.next(&mut buf), Ok(None)));
    buf.extend_from_slice(&REGISTER.as_bytes()[3..]);
    let Ok(Some(Frame::Message(m))) = f.next(&mut buf) else {
        panic!("message expected")
    };
    assert_eq!(m.method(), Some(&Method::Register));
    assert!(buf.is_empty());

    // Body split across reads.
    let with_body = "MESSAGE sip:b@example.com SIP/2.0\r\nContent-Length: 10\r\n\r\n0123456789";
    let (a, b) = with_body.split_at(with_body.len() - 4);
    buf.extend_from_slice(a.as_bytes());
    assert!(matches!(f.next(&mut buf), Ok(None)));
    buf.extend_from_slice(b.as_bytes());
    let Ok(Some(Frame::Message(m))) = f.next(&mut buf) else {
        panic!("message expected")
    };
    assert_eq!(&m.body()[..], b"0123456789");

    let mut buf = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"[..]);
    let e = StreamFramer::default().next(&mut buf).unwrap_err();
    assert_eq!(e.kind(), K::MissingContentLength);

    let mut buf = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nl: 999999\r\n\r\n"[..]);
    assert_eq!(
        StreamFramer::default().next(&mut buf).unwrap_err().kind(),
        K::TooLarge
    );

    let mut buf = BytesMut::from(vec![b'A'; 70_000].as_slice());
    assert_eq!(
        StreamFramer::default().next(&mut buf).unwrap_err().kind(),
        K::TooLarge
    );
}

#[test]
fn line_ends_and_folding() {
    let lf_only = REGISTER.replace("\r\n", "\n");
    let m = Message::parse(lf_only.into_bytes()).unwrap();
    m.validate().unwrap();
    assert_eq!(m.contacts().unwrap().len(), 2);
    let folded = REGISTER.replace(
        "Contact: <sip:alice@192.0.2.10:5060>;expires=3600, ",
        "Contact: <sip:alice@192.0.2.10:5060>;expires=3600,\r\n\t ",
    );
    let m = Message::parse(folded.into_bytes()).unwrap();
    assert_eq!(m.contacts().unwrap().len(), 2);
    assert_eq!(m.contacts().unwrap()[1].addr().unwrap().q(), Ok(Some(500)));
}

#[test]
fn top_via_decodes_only_the_first_value() {
    let text = REGISTER.replace(
        "Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK-reg-1\r\n",
        "Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK-reg-1, SIP/2.0/UDP ;;\r\n",
    );
    let m = Message::parse(text.into_bytes()).unwrap();
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK-reg-1"));
    assert!(
        m.via().is_err(),
        "the malformed second value is still found"
    );
    assert_eq!(m.validate().unwrap_err().status(), 400);

    let m = register();
    assert_eq!(m.via().unwrap().len(), 1);
    assert!(std::ptr::eq(m.top_via().unwrap(), &m.via().unwrap()[0]));
}

#[test]
fn framer_takes_a_large_head_fed_one_byte_at_a_time() {
    let mut text = String::from("OPTIONS sip:a@example.com SIP/2.0\r\n");
    for i in 0..200 {
        text.push_str(&format!("X-Filler-{i}: {}\r\n", "v".repeat(100)));
    }
    text.push_str("Content-Length: 2\r\n\r\nok");
    let mut f = StreamFramer::default();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for b in text.as_bytes() {
        buf.extend_from_slice(&[*b]);
        while let Some(frame) = f.next(&mut buf).unwrap() {
            frames.push(frame);
        }
    }
    assert_eq!(frames.len(), 1);
    let Frame::Message(m) = &frames[0] else {
        panic!("message expected")
    };
    assert_eq!(&m.raw()[..], text.as_bytes());
    assert_eq!(m.header_count(), 201);
    assert_eq!(&m.body()[..], b"ok");
}

/// A datagram whose head has a broken line still yields the head (the good lines),
/// so the server can answer 400 rather than drop it silently.
#[test]
fn a_datagram_with_a_bad_header_line_keeps_its_head_for_the_400() {
    let raw = "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
               Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x1;rport\r\n\
               From: <sip:101@127.0.0.1>;tag=a\r\nTo: <sip:101@127.0.0.1>\r\n\
               Call-ID: x1\r\nCSeq: 2 REGISTER\r\n\
               101[authentication username= password=101]\r\n\
               Content-Length: 0\r\n\r\n";
    let err = sip_message::Message::parse(raw.as_bytes().to_vec()).unwrap_err();
    let head = err.head().expect("the head is kept");
    assert!(head.is_request());
    assert_eq!(head.call_id().unwrap().as_str(), "x1");
    assert!(head.top_via().is_ok());
    assert!(!err.reason().is_empty());
}
