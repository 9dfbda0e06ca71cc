//! RFC 4475 torture messages, read from `../shared/corpus/rfc4475/` at test time.
//!
//! Each valid message must parse, validate and yield the values the manifest names.
//! Each invalid one must fail at the layer the manifest implies: framing (a
//! [`ParseError`] of a given kind), message validation (an [`Invalid`] with a status),
//! or — where the problem is for the transaction or application layer — parse cleanly
//! while exposing the fact that layer needs.

use std::collections::BTreeSet;
use std::path::PathBuf;

use sip_message::{Contact, HeaderKind, Message, Method, ParseErrorKind as K, Uri};

fn corpus_dir() -> PathBuf {
    if let Ok(d) = std::env::var("SWITCHBOARD_SHARED") {
        return PathBuf::from(d).join("corpus/rfc4475");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/rfc4475")
}

fn load(name: &str) -> Vec<u8> {
    let p = corpus_dir().join(format!("{name}.sip"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

fn parse(name: &str) -> Message {
    Message::parse(load(name)).unwrap_or_else(|e| panic!("{name} should parse: {e}"))
}

fn parse_err(name: &str) -> K {
    match Message::parse(load(name)) {
        Ok(_) => panic!("{name} should not parse"),
        Err(e) => {
            assert!(!e.reason().is_empty());
            e.kind()
        }
    }
}

fn invalid(name: &str) -> (u16, String) {
    let m = parse(name);
    let e = m
        .validate()
        .expect_err(&format!("{name} should fail validation"));
    (e.status(), e.reason().to_owned())
}

fn valid(name: &str) -> Message {
    let m = parse(name);
    if let Err(e) = m.validate() {
        panic!("{name} should validate: {e}");
    }
    m
}

/// The names this file has a test for; a corpus file without one fails `all_covered`.
const COVERED: &[&str] = &[
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "lwsdisp",
    "longreq",
    "dblreq",
    "transports",
    "unreason",
    "noreason",
    "badinv01",
    "clerr",
    "ncl",
    "scalar02",
    "ltgtruri",
    "lwsstart",
    "trws",
    "baddate",
    "badaspec",
    "baddn",
    "badvers",
    "mismatch01",
    "bigcode",
    "badbranch",
    "insuf",
    "unkscm",
    "novelsc",
    "bext01",
    "invut",
    "regaut01",
    "multi01",
    "mcl01",
    "bcast",
    "cparam01",
    "regescrt",
    "sdp01",
    "inv2543",
];

#[test]
fn all_covered() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".sip"))
                .map(str::to_owned)
        })
        .collect();
    let covered: BTreeSet<String> = COVERED.iter().map(|s| s.to_string()).collect();
    assert_eq!(on_disk, covered, "every corpus message needs a test here");
}

#[test]
fn every_valid_message_round_trips_byte_for_byte() {
    for name in [
        "wsinv",
        "intmeth",
        "esc01",
        "escnull",
        "lwsdisp",
        "longreq",
        "transports",
        "unreason",
        "noreason",
    ] {
        let bytes = load(name);
        let m = parse(name);
        assert_eq!(&m.to_bytes()[..], &bytes[..], "{name}");
    }
}

// ---- §3.1.1 valid messages ------------------------------------------------------

#[test]
fn wsinv() {
    let m = valid("wsinv");
    assert_eq!(m.method(), Some(&Method::Invite));
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    let cseq = m.cseq().unwrap();
    assert_eq!((cseq.seq, &cseq.method), (9, &Method::Invite));
    let via = m.via().unwrap();
    assert_eq!(via.len(), 3);
    assert_eq!(via[0].transport(), "UDP");
    assert_eq!(via[0].host(), "192.0.2.2");
    assert_eq!(via[0].branch(), Some("390skdjuw"));
    assert_eq!(via[1].transport(), "TCP");
    assert_eq!(via[1].host(), "spindle.example.com");
    assert_eq!(via[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(via[2].host(), "192.168.255.111");
    assert_eq!(via[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(m.body().len(), 150);
    assert!(m.body().starts_with(b"v=0\r\n"));
    assert!(m.body().ends_with(b"a=rtpmap:31 LPC\r\n"));
    let to = m.to().unwrap();
    assert_eq!(to.uri().as_str(), "sip:vivekg@chair-dnrc.example.com");
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = m.from().unwrap();
    assert_eq!(from.display_name().as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(m.call_id().unwrap().as_str(), "wsinv.ndaksdj@192.0.2.1");
    let contacts = m.contacts().unwrap();
    assert_eq!(contacts.len(), 1);
    let c = contacts[0].addr().unwrap();
    assert_eq!(c.display_name().as_deref(), Some("Quoted string \"\""));
    assert_eq!(c.param("newparam"), Some(Some("newvalue")));
    assert_eq!(c.param("secondparam"), Some(None));
    assert_eq!(c.q(), Ok(Some(330)));
    // Unknown headers are kept verbatim, including the continuation line.
    assert_eq!(
        m.value("newfangledheader"),
        Some(&b"newfangled value\r\n continued newfangled value"[..])
    );
    assert_eq!(
        m.value("UnknownHeaderWithUnusualValue"),
        Some(&b";;,,;;,;"[..])
    );
    assert_eq!(m.text(HeaderKind::Subject).unwrap().as_deref(), Some(""));
    let route = m.route().unwrap();
    let Uri::Sip(r) = route[0].uri() else {
        panic!("sip route")
    };
    assert!(r.lr());
    assert_eq!(r.param("unknownwith"), Some(Some("value")));
    assert_eq!(r.param("unknown-no-value"), Some(None));
    let Some(Uri::Sip(ruri)) = m.request_uri() else {
        panic!("sip r-uri")
    };
    assert_eq!(ruri.param("unknownparam"), Some(None));
    assert!(m.content_type().unwrap().unwrap().is("application", "sdp"));
}

#[test]
fn intmeth() {
    let m = valid("intmeth");
    let method = m.method().unwrap();
    assert_eq!(
        method.as_str(),
        "!interesting-Method0123456789_*+`.%indeed'~"
    );
    assert!(matches!(method, Method::Extension(_)));
    assert_eq!(m.cseq().unwrap().method, *method);
    let Some(Uri::Sip(ruri)) = m.request_uri() else {
        panic!("sip r-uri")
    };
    assert_eq!(
        ruri.user(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        ruri.password(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK-.!%66*_+`'~"));
    // The NUL inside the quoted display name truncates nothing.
    let to = m.to().unwrap();
    assert_eq!(
        to.display_name().as_deref(),
        Some("BEL:\x07 NUL:\0 DEL:\x7f")
    );
    let from = m.from().unwrap();
    assert_eq!(
        from.display_name().as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(
        from.param("fromParam''~+*_!.-%"),
        Some(Some("\"работающий\""))
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    // '%' is not an escape in a Call-ID.
    assert_eq!(
        m.call_id().unwrap().as_str(),
        "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    );
    let ext = m
        .value("extensionHeader-!.%*+_`'~")
        .expect("extension header");
    assert!(std::str::from_utf8(ext).unwrap().starts_with('\u{feff}'));
}

#[test]
fn esc01() {
    let m = valid("esc01");
    let Some(Uri::Sip(ruri)) = m.request_uri() else {
        panic!("sip r-uri")
    };
    assert_eq!(ruri.user(), Some("sips%3Auser%40example.com"));
    assert_eq!(
        ruri.user_decoded().as_deref(),
        Some(&b"sips:user@example.com"[..])
    );
    assert_eq!(ruri.host(), "example.net");
    assert_eq!(
        *m.to().unwrap().uri(),
        Uri::parse("sip:user@example.com").unwrap()
    );
    assert_eq!(
        m.from()
            .unwrap()
            .uri()
            .as_sip()
            .unwrap()
            .user_decoded()
            .as_deref(),
        Some(&b"I have spaces"[..])
    );
    let c = m.contacts().unwrap()[0]
        .addr()
        .unwrap()
        .uri()
        .as_sip()
        .unwrap()
        .clone();
    assert_eq!(c.user_decoded().as_deref(), Some(&b"caller"[..]));
    let v = c.param("n%61me").flatten().unwrap();
    // Decoded exactly once: %25%34%31 -> %41, not A.
    assert_eq!(&*sip_message::text::percent_decode(v), b"value%41");
    assert_eq!(
        c,
        sip_message::SipUri::parse("sip:caller@host5.example.net;lr;name=value%2541").unwrap()
    );
}

#[test]
fn escnull() {
    let m = valid("escnull");
    let to = m
        .to()
        .unwrap()
        .uri()
        .as_sip()
        .unwrap()
        .user_decoded()
        .unwrap()
        .into_owned();
    assert_eq!(to, b"null-\0-null");
    assert_eq!(to.len(), 11);
    let contacts = m.contacts().unwrap();
    assert_eq!(contacts.len(), 2);
    let a = contacts[0].addr().unwrap().uri();
    let b = contacts[1].addr().unwrap().uri();
    assert_ne!(a, b, "the two Contacts are distinct bindings");
    assert_eq!(m.method(), Some(&Method::Register));
}

#[test]
fn lwsdisp() {
    let m = valid("lwsdisp");
    let from = m.from().unwrap();
    assert_eq!(from.display_name().as_deref(), Some("caller"));
    assert_eq!(from.uri().as_str(), "sip:caller@example.com");
    assert_eq!(m.method(), Some(&Method::Options));
}

#[test]
fn longreq() {
    let bytes = load("longreq");
    let m = valid("longreq");
    assert_eq!(m.to_bytes().len(), bytes.len());
    let via = m.via().unwrap();
    assert_eq!(via.len(), 34);
    assert!(via.last().unwrap().branch().unwrap().len() > 100);
    assert!(m.from().unwrap().tag().unwrap().len() > 100);
    assert!(m.call_id().unwrap().as_str().len() > 100);
    assert!(m.to().unwrap().display_name().unwrap().len() > 100);
}

#[test]
fn dblreq() {
    let bytes = load("dblreq");
    let m = valid("dblreq");
    assert_eq!(m.method(), Some(&Method::Register));
    assert!(m.body().is_empty());
    // Only the REGISTER is the message; the INVITE after it is discarded.
    assert!(m.to_bytes().len() < bytes.len());
    assert!(!m.to_bytes().windows(6).any(|w| w == b"INVITE"));
    assert!(m.to_bytes().ends_with(b"\r\n\r\n"));
}

#[test]
fn transports() {
    let m = valid("transports");
    let t: Vec<&str> = m.via().unwrap().iter().map(|v| v.transport()).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    assert_eq!(m.top_via().unwrap().host(), "t1.example.com");
    assert_eq!(
        m.call_id().unwrap().as_str(),
        "transports.kijh4akdnaqjkwendsasfdj"
    );
}

#[test]
fn unreason() {
    let m = valid("unreason");
    assert_eq!(m.status(), Some(200));
    let reason = m.reason().unwrap();
    assert!(reason.contains('=') && reason.contains('*'));
    assert!(!reason.is_ascii(), "UTF-8 kept: {reason}");
}

#[test]
fn noreason() {
    let m = valid("noreason");
    assert_eq!(m.status(), Some(100));
    assert_eq!(m.reason(), Some(""));
}

// ---- §3.1.2 syntactically invalid messages --------------------------------------

#[test]
fn badinv01() {
    let (status, reason) = invalid("badinv01");
    assert_eq!(status, 400);
    assert!(reason.starts_with("Via"), "{reason}");
    let m = parse("badinv01");
    assert!(m.contacts().is_err());
}

/// A framing error on a datagram whose headers are intact still lets a server answer
/// 400 with the error's reason (RFC 4475 §3.1.2.2, §3.1.2.3, §3.3.9).
fn answerable_400(name: &str) -> K {
    let e = Message::parse(load(name)).expect_err(name);
    let head = e.head().unwrap_or_else(|| panic!("{name}: head kept"));
    assert!(head.body().is_empty());
    let r = Message::response_to(head, 400, Some(e.reason()));
    let r = Message::parse(r.to_bytes()).unwrap();
    r.validate().unwrap();
    assert_eq!(r.reason(), Some(e.reason()));
    assert_eq!(r.call_id().unwrap(), head.call_id().unwrap());
    e.kind()
}

#[test]
fn clerr() {
    assert_eq!(parse_err("clerr"), K::ContentLengthExceedsDatagram);
    assert_eq!(answerable_400("clerr"), K::ContentLengthExceedsDatagram);
}

#[test]
fn ncl() {
    assert_eq!(parse_err("ncl"), K::BadContentLength);
    assert_eq!(answerable_400("ncl"), K::BadContentLength);
}

#[test]
fn scalar02() {
    let (status, reason) = invalid("scalar02");
    assert_eq!(status, 400);
    assert_eq!(reason, "CSeq: number out of range");
    let m = parse("scalar02");
    assert!(m.max_forwards().is_err());
    assert!(m.expires().is_err());
    let c = m.contacts().unwrap()[0].addr().unwrap().clone();
    assert!(c.expires().is_err());
}

#[test]
fn ltgtruri() {
    assert_eq!(parse_err("ltgtruri"), K::BadStartLine);
}

#[test]
fn lwsstart() {
    assert_eq!(parse_err("lwsstart"), K::BadStartLine);
}

#[test]
fn trws() {
    assert_eq!(parse_err("trws"), K::BadStartLine);
}

#[test]
fn baddate() {
    // The Date is wrong, but nothing else is: a registrar or B2BUA that ignores Date
    // processes the request.
    let m = valid("baddate");
    let e = m.date().unwrap_err();
    assert!(e.to_string().contains("GMT"), "{e}");
}

#[test]
fn badaspec() {
    let (status, reason) = invalid("badaspec");
    assert_eq!(status, 400);
    assert!(reason.starts_with("To"), "{reason}");
}

#[test]
fn baddn() {
    let (status, reason) = invalid("baddn");
    assert_eq!(status, 400);
    assert!(reason.contains("must be quoted"), "{reason}");
}

#[test]
fn badvers() {
    let (status, _) = invalid("badvers");
    assert_eq!(status, 505);
}

#[test]
fn mismatch01() {
    let (status, reason) = invalid("mismatch01");
    assert_eq!(status, 400);
    assert!(reason.contains("CSeq method"), "{reason}");
}

#[test]
fn bigcode() {
    assert_eq!(parse_err("bigcode"), K::BadStartLine);
}

// ---- §3.2–3.4 transaction and application layer ---------------------------------

#[test]
fn badbranch() {
    let m = valid("badbranch");
    let via = m.top_via().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK"));
    assert!(
        !via.has_rfc3261_branch(),
        "the bare cookie needs RFC 2543 matching"
    );
}

#[test]
fn insuf() {
    let (status, reason) = invalid("insuf");
    assert_eq!(status, 400);
    assert_eq!(reason, "missing mandatory header(s): From, To, Call-ID");
}

#[test]
fn unkscm() {
    let m = valid("unkscm");
    let uri = m.request_uri().unwrap();
    assert!(
        matches!(uri, Uri::Other(_)),
        "a 416 needs the scheme, not a 400"
    );
    assert_eq!(uri.scheme(), "nobodyKnowsThisScheme");
}

#[test]
fn novelsc() {
    let m = valid("novelsc");
    let uri = m.request_uri().unwrap();
    assert!(matches!(uri, Uri::Other(_)));
    assert_eq!(uri.scheme(), "soap.beep");
}

#[test]
fn bext01() {
    let m = valid("bext01");
    let req: Vec<String> = m.require().unwrap().iter().map(|t| t.to_string()).collect();
    assert_eq!(req, ["nothingSupportsThis", "nothingSupportsThisEither"]);
    assert_eq!(m.proxy_require().unwrap().len(), 2);
}

#[test]
fn invut() {
    let m = valid("invut");
    let ct = m.content_type().unwrap().unwrap();
    assert!(ct.is("application", "unknownformat"));
    assert!(!ct.is("application", "sdp"));
}

#[test]
fn regaut01() {
    let m = valid("regaut01");
    let auth = m.authorization().unwrap();
    assert_eq!(auth.len(), 1);
    assert!(!auth[0].is_digest());
    assert_eq!(auth[0].scheme(), "NoOneKnowsThisScheme");
}

#[test]
fn multi01() {
    let (status, reason) = invalid("multi01");
    assert_eq!(status, 400);
    assert!(reason.contains("more than once"), "{reason}");
}

#[test]
fn mcl01() {
    assert_eq!(parse_err("mcl01"), K::BadContentLength);
    assert_eq!(answerable_400("mcl01"), K::BadContentLength);
    // On a stream the framing is lost: an error (close the connection), with the head.
    let mut buf = bytes::BytesMut::from(&load("mcl01")[..]);
    let e = sip_message::StreamFramer::default()
        .next(&mut buf)
        .unwrap_err();
    assert_eq!(e.kind(), K::BadContentLength);
    assert!(e.head().is_some());
}

#[test]
fn bcast() {
    let m = valid("bcast");
    assert_eq!(m.status(), Some(200));
    assert_eq!(m.via().unwrap()[1].host(), "255.255.255.255");
}

#[test]
fn cparam01() {
    let m = valid("cparam01");
    let Contact::Addr(c) = &m.contacts().unwrap()[0] else {
        panic!("addr")
    };
    let uri = c.uri().as_sip().unwrap();
    assert_eq!(
        uri.params().count(),
        0,
        "unknownparam is a header parameter"
    );
    assert_eq!(uri.as_str(), "sip:+19725552222@gw1.example.net");
    assert_eq!(c.param("unknownparam"), Some(None));
}

#[test]
fn regescrt() {
    let m = valid("regescrt");
    let c = m.contacts().unwrap()[0]
        .addr()
        .unwrap()
        .uri()
        .as_sip()
        .unwrap()
        .clone();
    assert_eq!(c.headers_str(), Some("Route=%3Csip:sip.example.com%3E"));
    assert_eq!(c.host(), "example.com");
}

#[test]
fn sdp01() {
    let m = valid("sdp01");
    assert!(m.content_type().unwrap().unwrap().is("application", "sdp"));
    let accept = m.accept().unwrap();
    assert_eq!(accept.len(), 1);
    assert!(
        !accept.iter().any(|a| a.accepts("application", "sdp")),
        "406 is needed"
    );
}

#[test]
fn inv2543() {
    let bytes = load("inv2543");
    let m = valid("inv2543");
    assert_eq!(m.top_via().unwrap().branch(), None);
    assert_eq!(m.from().unwrap().tag(), None);
    assert_eq!(m.max_forwards().unwrap(), None);
    assert!(!m.has(HeaderKind::ContentLength));
    // No Content-Length over UDP: the body is the rest of the datagram.
    let body_start = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(&m.body()[..], &bytes[body_start..]);
    let rr = m.record_route().unwrap();
    assert_eq!(
        rr[0].uri().as_sip().unwrap().maddr(),
        Some("ss1.example.com")
    );
}
