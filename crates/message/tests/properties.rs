//! Property tests: generated valid messages parse to the values they were generated
//! from and round-trip byte for byte; built messages parse back; arbitrary and mutated
//! bytes never panic. Case counts follow `PROPTEST_CASES` (scripts/test sets 256).

mod support {
    pub mod fuzz_checks;
}

use proptest::prelude::*;
use sip_message::{HeaderKind, Message, Method, NameAddr, Uri, Via};
use support::fuzz_checks::{check_datagram, check_stream};

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9.!%*_+`'~-]{0,12}"
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9]{0,6}){0,3}",
        (0u8..=255, 0u8..=255, 0u8..=255, 1u8..=254)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        Just("[2001:db8::1]".to_owned()),
    ]
}

#[derive(Debug, Clone)]
struct GenUri {
    user: Option<String>,
    host: String,
    port: Option<u16>,
    params: Vec<(String, Option<String>)>,
}

impl GenUri {
    fn text(&self) -> String {
        let mut s = String::from("sip:");
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        s.push_str(&self.host);
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        for (n, v) in &self.params {
            s.push(';');
            s.push_str(n);
            if let Some(v) = v {
                s.push('=');
                s.push_str(v);
            }
        }
        s
    }
}

fn uri() -> impl Strategy<Value = GenUri> {
    (
        proptest::option::of("[a-zA-Z0-9_.!~*'()&=+$,;?/-]{1,12}|[a-z]{1,4}%[0-9A-F]{2}[a-z]{0,4}"),
        host(),
        proptest::option::of(1u16..),
        proptest::collection::vec(
            (
                "[a-z][a-z0-9-]{0,6}",
                proptest::option::of("[a-zA-Z0-9.-]{1,8}"),
            ),
            0..3,
        ),
    )
        .prop_map(|(user, host, port, params)| GenUri {
            user,
            host,
            port,
            params,
        })
}

fn display_name() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[ a-zA-Z0-9\"\\\\,;<>@]{1,16}")
}

/// Writes a header name in a random spelling: compact form or long form in mixed case.
fn spell(kind: HeaderKind, compact: bool, upper_mask: u32) -> String {
    if compact {
        if let Some(c) = kind.compact() {
            return c.to_string();
        }
    }
    kind.canonical()
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if upper_mask & (1 << (i % 32)) != 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn quote(s: &str) -> String {
    sip_message::text::quote(s)
}

#[derive(Debug, Clone)]
struct GenMessage {
    method: String,
    ruri: GenUri,
    vias: Vec<(String, String, Option<u16>, String)>,
    via_on_one_line: bool,
    from: (Option<String>, GenUri, String),
    to: (Option<String>, GenUri),
    call_id: String,
    cseq: u32,
    max_forwards: u8,
    contacts: Vec<(GenUri, Option<u32>)>,
    unknown: Vec<(String, String)>,
    compact: bool,
    upper_mask: u32,
    fold: bool,
    body: Vec<u8>,
}

fn message() -> impl Strategy<Value = GenMessage> {
    let method = prop_oneof![
        Just("INVITE".to_owned()),
        Just("REGISTER".to_owned()),
        Just("OPTIONS".to_owned()),
        Just("SUBSCRIBE".to_owned()),
        "[A-Z][A-Za-z0-9.!%*_+`'~-]{0,10}",
    ];
    let via = (
        prop_oneof![Just("UDP"), Just("TCP"), Just("TLS"), Just("WSS")].prop_map(str::to_owned),
        host(),
        proptest::option::of(1u16..),
        "z9hG4bK[a-zA-Z0-9.!%*_+`'~-]{1,16}",
    );
    (
        (
            method,
            uri(),
            proptest::collection::vec(via, 1..4),
            any::<bool>(),
        ),
        (display_name(), uri(), token(), display_name(), uri()),
        (
            "[a-zA-Z0-9.!%*_+`'~()<>:\\\\\"/\\[\\]?{}-]{1,20}(@[a-z0-9.]{1,10})?",
            any::<u32>(),
            any::<u8>(),
        ),
        proptest::collection::vec((uri(), proptest::option::of(any::<u32>())), 0..3),
        proptest::collection::vec(("X-[A-Za-z0-9-]{1,10}", "[ -~]{0,30}"), 0..3),
        (
            any::<bool>(),
            any::<u32>(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..64),
        ),
    )
        .prop_map(
            |(
                (method, ruri, vias, via_on_one_line),
                (fd, fu, ftag, td, tu),
                (call_id, cseq, max_forwards),
                contacts,
                unknown,
                (compact, upper_mask, fold, body),
            )| GenMessage {
                method,
                ruri,
                vias,
                via_on_one_line,
                from: (fd, fu, ftag),
                to: (td, tu),
                call_id,
                cseq,
                max_forwards,
                contacts,
                unknown,
                compact,
                upper_mask,
                fold,
                body,
            },
        )
}

impl GenMessage {
    fn name(&self, kind: HeaderKind) -> String {
        spell(kind, self.compact, self.upper_mask)
    }

    fn name_addr(display: &Option<String>, uri: &GenUri) -> String {
        match display {
            Some(d) => format!("{} <{}>", quote(d), uri.text()),
            None => format!("<{}>", uri.text()),
        }
    }

    fn render(&self) -> Vec<u8> {
        let mut s = format!("{} {} SIP/2.0\r\n", self.method, self.ruri.text());
        let vias: Vec<String> = self
            .vias
            .iter()
            .map(|(t, h, p, b)| {
                let port = p.map(|p| format!(":{p}")).unwrap_or_default();
                format!("SIP/2.0/{t} {h}{port};branch={b}")
            })
            .collect();
        if self.via_on_one_line {
            let sep = if self.fold { ",\r\n " } else { ", " };
            s.push_str(&format!(
                "{}: {}\r\n",
                self.name(HeaderKind::Via),
                vias.join(sep)
            ));
        } else {
            for v in &vias {
                s.push_str(&format!("{}: {v}\r\n", self.name(HeaderKind::Via)));
            }
        }
        s.push_str(&format!(
            "{}: {};tag={}\r\n",
            self.name(HeaderKind::From),
            Self::name_addr(&self.from.0, &self.from.1),
            self.from.2
        ));
        s.push_str(&format!(
            "{}:{}{}\r\n",
            self.name(HeaderKind::To),
            if self.fold { "\r\n\t" } else { " " },
            Self::name_addr(&self.to.0, &self.to.1)
        ));
        s.push_str(&format!(
            "{}: {}\r\n",
            self.name(HeaderKind::CallId),
            self.call_id
        ));
        s.push_str(&format!(
            "{}: {} {}\r\n",
            self.name(HeaderKind::CSeq),
            self.cseq,
            self.method
        ));
        s.push_str(&format!(
            "{}: {}\r\n",
            self.name(HeaderKind::MaxForwards),
            self.max_forwards
        ));
        for (u, e) in &self.contacts {
            let exp = e.map(|e| format!(";expires={e}")).unwrap_or_default();
            s.push_str(&format!(
                "{}: <{}>{exp}\r\n",
                self.name(HeaderKind::Contact),
                u.text()
            ));
        }
        for (i, (n, v)) in self.unknown.iter().enumerate() {
            s.push_str(&format!("{n}-{i}: {v}\r\n"));
        }
        s.push_str(&format!(
            "{}: {}\r\n\r\n",
            self.name(HeaderKind::ContentLength),
            self.body.len()
        ));
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

proptest! {
    #[test]
    fn generated_messages_parse_to_their_values(g in message()) {
        let bytes = g.render();
        let m = Message::parse(bytes.clone()).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&m.to_bytes()[..], &bytes[..]);
        m.validate().map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(m.method().unwrap().as_str(), g.method.as_str());
        prop_assert_eq!(m.request_uri().unwrap(), &Uri::parse(&g.ruri.text()).unwrap());
        let vias = m.via().unwrap();
        prop_assert_eq!(vias.len(), g.vias.len());
        for (v, (t, h, p, b)) in vias.iter().zip(&g.vias) {
            prop_assert_eq!(v.transport(), t.as_str());
            prop_assert_eq!(v.host(), h.as_str());
            prop_assert_eq!(v.port(), *p);
            prop_assert_eq!(v.branch(), Some(b.as_str()));
        }
        let from = m.from().unwrap();
        prop_assert_eq!(from.display_name().map(|d| d.into_owned()), g.from.0.clone());
        prop_assert_eq!(from.tag(), Some(g.from.2.as_str()));
        prop_assert_eq!(from.uri().as_str(), g.from.1.text());
        let to = m.to().unwrap();
        prop_assert_eq!(to.display_name().map(|d| d.into_owned()), g.to.0.clone());
        prop_assert_eq!(to.tag(), None);
        prop_assert_eq!(m.call_id().unwrap().as_str(), g.call_id.as_str());
        prop_assert_eq!(m.cseq().unwrap().seq, g.cseq);
        prop_assert_eq!(m.max_forwards().unwrap(), Some(g.max_forwards));
        let contacts = m.contacts().unwrap();
        prop_assert_eq!(contacts.len(), g.contacts.len());
        for (c, (u, e)) in contacts.iter().zip(&g.contacts) {
            let a = c.addr().unwrap();
            prop_assert_eq!(a.uri().as_str(), u.text());
            prop_assert_eq!(a.expires(), Ok(*e));
        }
        for (i, (n, v)) in g.unknown.iter().enumerate() {
            // Names get an index suffix: two generated names may differ only in case.
            let name = format!("{n}-{i}");
            let got = m.value(&name).unwrap();
            prop_assert_eq!(got, v.trim_matches([' ', '\t']).as_bytes());
        }
        prop_assert_eq!(&m.body()[..], &g.body[..]);
    }

    #[test]
    fn built_messages_parse_back(g in message()) {
        let uri = Uri::parse(&g.ruri.text()).unwrap();
        let method = Method::parse(&g.method).unwrap();
        let mut m = Message::request(method.clone(), uri.clone());
        for (t, h, p, b) in &g.vias {
            let v = Via::new(t, h, *p, b).unwrap();
            m.push_header(HeaderKind::Via, v.as_str()).unwrap();
        }
        let from = NameAddr::new(g.from.0.as_deref(), &Uri::parse(&g.from.1.text()).unwrap())
            .with_param("tag", Some(&g.from.2));
        m.push_header(HeaderKind::From, from.as_str()).unwrap();
        let to = NameAddr::new(g.to.0.as_deref(), &Uri::parse(&g.to.1.text()).unwrap());
        m.push_header(HeaderKind::To, to.as_str()).unwrap();
        m.push_header(HeaderKind::CallId, &g.call_id).unwrap();
        m.push_header(HeaderKind::CSeq, &format!("{} {}", g.cseq, method)).unwrap();
        m.set_body(Some("application/octet-stream"), g.body.clone()).unwrap();
        let bytes = m.to_bytes();
        let p = Message::parse(bytes).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        p.validate().map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(p.request_uri().unwrap(), &uri);
        prop_assert_eq!(p.via().unwrap().len(), g.vias.len());
        prop_assert_eq!(p.from().unwrap().tag(), Some(g.from.2.as_str()));
        prop_assert_eq!(p.from().unwrap().display_name().map(|d| d.into_owned()), g.from.0.clone());
        prop_assert_eq!(p.to().unwrap().display_name().map(|d| d.into_owned()), g.to.0.clone());
        prop_assert_eq!(p.cseq().unwrap().seq, g.cseq);
        prop_assert_eq!(&p.body()[..], &g.body[..]);

        // A response built from the request carries the §8.2.6 headers.
        let mut r = Message::response_to(&p, 200, None);
        r.set_to_tag("srv1").unwrap();
        let r = Message::parse(r.to_bytes()).unwrap();
        r.validate().unwrap();
        prop_assert_eq!(r.status(), Some(200));
        prop_assert_eq!(r.via().unwrap().len(), g.vias.len());
        prop_assert_eq!(r.to().unwrap().tag(), Some("srv1"));
        prop_assert_eq!(r.call_id().unwrap(), p.call_id().unwrap());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_datagram(&data);
        check_stream(&data);
    }

    #[test]
    fn mutated_messages_never_panic(
        g in message(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = g.render();
        for (i, b) in edits {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        check_datagram(&bytes);
        let mut stream = vec![13u8];
        stream.extend_from_slice(&bytes);
        check_stream(&stream);
    }

    #[test]
    fn stream_framing_is_independent_of_chunking(g in message(), step in 1usize..200) {
        let one = g.render();
        let mut all = b"\r\n\r\n".to_vec();
        all.extend_from_slice(&one);
        all.extend_from_slice(&one);
        let mut framer = sip_message::StreamFramer::default();
        let mut buf = bytes::BytesMut::new();
        let mut got = Vec::new();
        for chunk in all.chunks(step) {
            buf.extend_from_slice(chunk);
            while let Some(f) = framer.next(&mut buf).map_err(|e| TestCaseError::fail(format!("{e}")))? {
                got.push(f);
            }
        }
        prop_assert_eq!(got.len(), 3);
        prop_assert!(matches!(got[0], sip_message::Frame::Ping));
        for f in &got[1..] {
            let sip_message::Frame::Message(m) = f else { return Err(TestCaseError::fail("message expected")) };
            prop_assert_eq!(&m.raw()[..], &one[..]);
        }
    }
}
