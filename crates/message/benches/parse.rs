//! Parse throughput: our lazy index parser (`sip_message`) against two existing Rust SIP
//! parsers: ezk-sip-types, the one whose design is closest to ours (raw header values kept
//! as slices of the received `Bytes`, typed decode on request), and sipx-sip, a sans-IO
//! parser with lazy typed headers that measured faster than ezk in
//! shared/notes/dependencies.md §1. See docs/benchmarks.md.
//!
//! Two tasks on two messages:
//! - `parse`: frame the message and index its header fields (no typed decode).
//! - `registrar-fields`: parse, then decode every value a registrar reads (top Via
//!   branch, From tag, To URI, Call-ID, CSeq, each Contact with its expires, Expires,
//!   the Authorization digest parameters).
//!
//! After criterion has run, the bench measures the three parsers again, interleaved, with
//! a plain `Instant` loop and prints the ezk/ours and sipx/ours ratio table. Run with
//! `cargo bench -p switchboard-message --bench parse`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};

/// A REGISTER from a desk phone answering a 401, with digest credentials (about 900 bytes).
const REGISTER: &[u8] = b"REGISTER sip:pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.45:5060;rport;branch=z9hG4bK1e4a7c2f0b9d3e51\r\n\
Max-Forwards: 70\r\n\
From: \"Alice 1001\" <sip:1001@pbx.example.com>;tag=8d3f2c91a7\r\n\
To: \"Alice 1001\" <sip:1001@pbx.example.com>\r\n\
Call-ID: 6a1c9e04-3b7f-4d2e-9c85-0f2b7a6d1e33@192.0.2.45\r\n\
CSeq: 2 REGISTER\r\n\
Contact: <sip:1001@192.0.2.45:5060;transport=udp>;expires=3600;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-0004f2a1b2c3>\";reg-id=1\r\n\
Authorization: Digest username=\"1001\", realm=\"pbx.example.com\", nonce=\"1732365122/5d9c2e7f0a4b8c1d3e6f\", uri=\"sip:pbx.example.com\", response=\"b3f1a9c27d4e8f605a1b2c3d4e5f6a7b\", algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001\r\n\
User-Agent: Yealink SIP-T46U 108.86.0.45\r\n\
Expires: 3600\r\n\
Allow: INVITE, ACK, OPTIONS, CANCEL, BYE, REFER, NOTIFY, INFO, SUBSCRIBE, UPDATE, PRACK, MESSAGE\r\n\
Supported: path, gruu, outbound, replaces, 100rel, timer\r\n\
Content-Length: 0\r\n\
\r\n";

/// An INVITE that went through one proxy, with an SDP offer (G.711 and
/// telephone-event), about 930 bytes.
const INVITE: &[u8] = b"INVITE sip:1002@pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK7f3e2d1c0b9a8877;received=198.51.100.7\r\n\
Via: SIP/2.0/UDP 192.0.2.45:5060;rport=5060;received=192.0.2.45;branch=z9hG4bK1e4a7c2f0b9d3e52\r\n\
Record-Route: <sip:198.51.100.7;lr>\r\n\
Max-Forwards: 69\r\n\
From: \"Alice 1001\" <sip:1001@pbx.example.com>;tag=77c1e9a2b4\r\n\
To: <sip:1002@pbx.example.com>\r\n\
Call-ID: 3f9b2c71-8e0d-4a56-b1c4-7d2e9f0a6b18@192.0.2.45\r\n\
CSeq: 101 INVITE\r\n\
Contact: <sip:1001@192.0.2.45:5060;transport=udp>\r\n\
Allow: INVITE, ACK, OPTIONS, CANCEL, BYE, REFER, NOTIFY, INFO, SUBSCRIBE, UPDATE, PRACK, MESSAGE\r\n\
Supported: replaces, 100rel, timer\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 243\r\n\
\r\n\
v=0\r\n\
o=- 20518 0 IN IP4 192.0.2.45\r\n\
s=SIP Call\r\n\
c=IN IP4 192.0.2.45\r\n\
t=0 0\r\n\
m=audio 11780 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=maxptime:150\r\n\
a=sendrecv\r\n";

const MESSAGES: [(&str, &[u8]); 2] = [("register", REGISTER), ("invite", INVITE)];

// ---- ours --------------------------------------------------------------------------

fn ours_parse(msg: &'static [u8]) -> sip_message::Message {
    sip_message::Message::parse(Bytes::from_static(msg)).expect("ours: parse")
}

/// Parse and read what a registrar reads. Absent optional headers (Expires,
/// Authorization in the INVITE) are looked up and found missing, as a registrar would.
fn ours_registrar_fields(msg: &'static [u8]) {
    use sip_message::Contact;
    let m = ours_parse(msg);
    black_box(m.top_via().expect("via").branch());
    black_box(m.from().expect("from").tag());
    black_box(m.to().expect("to").uri());
    black_box(m.call_id().expect("call-id"));
    let cseq = m.cseq().expect("cseq");
    black_box(cseq.seq);
    black_box(&cseq.method);
    for c in m.contacts().expect("contact") {
        if let Contact::Addr(a) = c {
            black_box(a.uri());
            let _ = black_box(a.expires());
        }
    }
    let _ = black_box(m.expires());
    if let Some(cred) = m.authorization().expect("authorization").first() {
        black_box(cred.username());
        black_box(cred.realm());
        black_box(cred.nonce());
        black_box(cred.uri());
        black_box(cred.response());
    }
    black_box(&m);
}

// ---- ezk-sip-types ---------------------------------------------------------------

mod ezk {
    use bytes::Bytes;
    use ezk_sip_types::header::typed::{
        AuthResponse, CSeq, CallID, Contact, ContentLength, Expires, FromTo, Via,
    };
    use ezk_sip_types::msg::{Line, MessageLine, PullParser};
    use ezk_sip_types::parse::Parse;
    use ezk_sip_types::{Headers, Name};
    use std::hint::black_box;

    /// What ezk-sip-core's UDP transport builds from a datagram.
    pub struct Parsed {
        pub line: MessageLine,
        pub headers: Headers,
        pub body: Bytes,
    }

    /// The framing ezk-sip-core does for a complete datagram
    /// (`transport::parse::parse_complete_sip`), minus its copy of the input into a
    /// fresh buffer: split lines, parse the start line, split each header into name and
    /// value, index them in `Headers`, frame the body by Content-Length.
    pub fn parse(msg: &'static [u8]) -> Parsed {
        let buffer = Bytes::from_static(msg);
        let mut parser = PullParser::new(&buffer, 0);
        let mut line = None;
        let mut headers = Headers::with_capacity(16);
        for item in &mut parser {
            let raw = item.expect("ezk: incomplete");
            let text = std::str::from_utf8(raw).expect("ezk: utf-8");
            if line.is_none() {
                let (_, l) = MessageLine::parse(&buffer)(text).expect("ezk: start line");
                line = Some(l);
            } else {
                let (_, l) = Line::parse(&buffer, text).expect("ezk: header line");
                headers.insert(l.name, l.value);
            }
        }
        let head_end = parser.head_end();
        let body = match headers.get_named::<ContentLength>() {
            Ok(ContentLength(0)) => Bytes::new(),
            Ok(ContentLength(n)) => buffer.slice(head_end..head_end + n),
            Err(_) => buffer.slice(head_end..),
        };
        Parsed {
            line: line.expect("ezk: no start line"),
            headers,
            body,
        }
    }

    /// The same values as `ours_registrar_fields`, through ezk's typed decoders. ezk
    /// has no typed Contact `expires` parameter, so its text is parsed as u32 here.
    pub fn registrar_fields(msg: &'static [u8]) {
        let p = parse(msg);
        let h = &p.headers;
        let via = h.get_named::<Via>().expect("via");
        black_box(via.params.get_val("branch"));
        let from = h.get::<FromTo>(Name::FROM).expect("from");
        black_box(&from.tag);
        let to = h.get::<FromTo>(Name::TO).expect("to");
        black_box(&to.uri.uri);
        black_box(h.get_named::<CallID>().expect("call-id"));
        let cseq = h.get_named::<CSeq>().expect("cseq");
        black_box(cseq.cseq);
        black_box(&cseq.method);
        for c in h.get_named::<Vec<Contact>>().expect("contact") {
            black_box(&c.uri.uri);
            let _ = black_box(c.params.get_val("expires").map(|v| v.parse::<u32>()));
        }
        let _ = black_box(h.try_get_named::<Expires>());
        if let Some(auth) = h.try_get::<Vec<AuthResponse>>(Name::AUTHORIZATION) {
            if let Some(AuthResponse::Digest(d)) = auth.expect("authorization").first() {
                black_box(&d.username);
                black_box(&d.realm);
                black_box(&d.nonce);
                black_box(&d.uri);
                black_box(&d.response);
            }
        }
        black_box(&p);
    }
}

// ---- sipx-sip ------------------------------------------------------------------------

mod sipx {
    use bytes::Bytes;
    use sipx_sip::auth::Challenge;
    use sipx_sip::headers::{CSeq, CallId, ContactValue, Expires, From, To, Via};
    use sipx_sip::{parse_datagram, HeaderName, Limits, Message};
    use std::hint::black_box;

    /// sipx's whole-message entry point for a datagram: frame by Content-Length, parse
    /// the start line (including the Request-URI), split every header line into name and
    /// value span. Header values stay undecoded until asked for. `validate()` is not
    /// called, as ours does not validate here either.
    pub fn parse(msg: &'static [u8]) -> Message {
        parse_datagram(Bytes::from_static(msg), &Limits::datagram()).expect("sipx: parse")
    }

    /// sipx has no typed `expires` on a Contact address: its text is parsed as u32, as
    /// on the ezk side.
    pub fn contact_expires(value: Option<&[u8]>) -> Option<u32> {
        value.map(|v| {
            std::str::from_utf8(v)
                .expect("sipx: expires utf-8")
                .parse()
                .expect("sipx: expires")
        })
    }

    /// sipx has no parser for Authorization credentials (only for challenges, and a
    /// function that writes an Authorization value). The closest equivalent is
    /// `auth::Challenge::parse` on the Authorization value: it is the same
    /// `Digest` + auth-param grammar, and it splits and unquotes every parameter
    /// (username, uri, response, cnonce, nc included) into owned strings, but keeps only
    /// realm, nonce, opaque, algorithm and qop. So realm and nonce are read as typed
    /// values; username, uri and response are parsed but cannot be read back.
    pub fn authorization(m: &Message) -> Option<Challenge> {
        let h = m.headers().get(&HeaderName::Authorization)?;
        Some(Challenge::parse(&h.value(), false).expect("sipx: authorization"))
    }

    /// The same values as `ours_registrar_fields`, through sipx's typed decoders
    /// (`Headers::typed` / `typed_all`), with the two exceptions above.
    pub fn registrar_fields(msg: &'static [u8]) {
        let m = parse(msg);
        let h = m.headers();
        let via = h.typed::<Via>().expect("via").expect("via");
        black_box(via.branch());
        let from = h.typed::<From>().expect("from").expect("from");
        black_box(from.tag());
        let to = h.typed::<To>().expect("to").expect("to");
        black_box(&to.uri);
        black_box(h.typed::<CallId>().expect("call-id").expect("call-id"));
        let cseq = h.typed::<CSeq>().expect("cseq").expect("cseq");
        black_box(cseq.sequence);
        black_box(&cseq.method);
        for c in h.typed_all::<ContactValue>() {
            if let ContactValue::Address(a) = c.expect("contact") {
                black_box(&a.uri);
                let _ = black_box(contact_expires(a.param("expires")));
            }
        }
        let _ = black_box(h.typed::<Expires>());
        if let Some(cred) = authorization(&m) {
            black_box(&cred.realm);
            black_box(&cred.nonce);
        }
        black_box(&m);
    }
}

// ---- all sides must see the same message ----------------------------------------------

/// Checks that all three parsers accept both messages and agree on the values extracted,
/// so no side is timed on an error path.
fn check_equivalence() {
    use ezk_sip_types::header::typed::{AuthResponse, CSeq, CallID, Contact, Expires, FromTo, Via};
    use ezk_sip_types::Name;
    for (name, msg) in MESSAGES {
        let m = ours_parse(msg);
        let e = ezk::parse(msg);
        assert_eq!(
            m.raw().len(),
            msg.len(),
            "{name}: Content-Length must frame it all"
        );
        assert_eq!(m.body().as_ref(), e.body.as_ref(), "{name}: body");
        assert!(e.line.is_request());
        let h = &e.headers;
        let via = h.get_named::<Via>().unwrap();
        assert_eq!(
            m.top_via().unwrap().branch(),
            via.params.get_val("branch").map(|b| b.as_str()),
            "{name}: branch"
        );
        let from = h.get::<FromTo>(Name::FROM).unwrap();
        assert_eq!(
            m.from().unwrap().tag(),
            from.tag.as_ref().map(|t| t.as_str()),
            "{name}: tag"
        );
        assert_eq!(
            m.call_id().unwrap().as_str(),
            h.get_named::<CallID>().unwrap().0.as_str()
        );
        assert_eq!(m.cseq().unwrap().seq, h.get_named::<CSeq>().unwrap().cseq);
        let ours_contacts = m.contacts().unwrap();
        let ezk_contacts = h.get_named::<Vec<Contact>>().unwrap();
        assert_eq!(ours_contacts.len(), ezk_contacts.len(), "{name}: contacts");
        for (o, z) in ours_contacts.iter().zip(&ezk_contacts) {
            let o = o.addr().unwrap();
            assert_eq!(
                o.expires().unwrap(),
                z.params
                    .get_val("expires")
                    .map(|v| v.parse::<u32>().unwrap())
            );
        }
        assert_eq!(
            m.expires().unwrap(),
            h.try_get_named::<Expires>().map(|e| e.unwrap().0)
        );
        let ours_auth = m.authorization().unwrap();
        let ezk_auth = h
            .try_get::<Vec<AuthResponse>>(Name::AUTHORIZATION)
            .map(Result::unwrap)
            .unwrap_or_default();
        assert_eq!(ours_auth.len(), ezk_auth.len(), "{name}: authorization");
        if let (Some(o), Some(AuthResponse::Digest(z))) = (ours_auth.first(), ezk_auth.first()) {
            assert_eq!(o.realm().as_deref(), Some(z.realm.as_str()));
            assert_eq!(o.nonce().as_deref(), Some(z.nonce.as_str()));
            assert_eq!(o.uri().as_deref(), Some(z.uri.as_str()));
            assert_eq!(o.response().as_deref(), Some(z.response.as_str()));
        }
        check_sipx(name, msg, &m);
    }
}

/// sipx against ours, on every value `sipx::registrar_fields` reads.
fn check_sipx(name: &str, msg: &'static [u8], m: &sip_message::Message) {
    use sipx_sip::headers::{CSeq, CallId, ContactValue, Expires, From, To, Via};
    let s = sipx::parse(msg);
    let h = s.headers();
    let req = s.as_request().expect("sipx: a request");
    assert_eq!(
        m.method().unwrap().as_str().as_bytes(),
        req.method.as_bytes(),
        "{name}: method"
    );
    assert_eq!(
        m.request_uri().unwrap().as_str().as_bytes(),
        req.uri.to_bytes().as_ref(),
        "{name}: request-uri"
    );
    assert_eq!(m.body().as_ref(), s.body().as_ref(), "{name}: sipx body");
    let via = h.typed::<Via>().unwrap().unwrap();
    assert_eq!(
        m.top_via().unwrap().branch().map(str::as_bytes),
        via.branch(),
        "{name}: sipx branch"
    );
    let from = h.typed::<From>().unwrap().unwrap();
    assert_eq!(
        m.from().unwrap().tag().map(str::as_bytes),
        from.tag(),
        "{name}: sipx tag"
    );
    let to = h.typed::<To>().unwrap().unwrap();
    assert_eq!(
        m.to().unwrap().uri().as_str().as_bytes(),
        to.uri.to_bytes().as_ref(),
        "{name}: sipx To URI"
    );
    assert_eq!(
        m.call_id().unwrap().as_str().as_bytes(),
        h.typed::<CallId>().unwrap().unwrap().0.as_slice(),
        "{name}: sipx Call-ID"
    );
    let cseq = h.typed::<CSeq>().unwrap().unwrap();
    assert_eq!(m.cseq().unwrap().seq, cseq.sequence, "{name}: sipx CSeq");
    assert_eq!(
        m.cseq().unwrap().method.as_str().as_bytes(),
        cseq.method.as_bytes(),
        "{name}: sipx CSeq method"
    );
    let ours_contacts = m.contacts().unwrap();
    let sipx_contacts: Vec<ContactValue> =
        h.typed_all::<ContactValue>().map(Result::unwrap).collect();
    assert_eq!(
        ours_contacts.len(),
        sipx_contacts.len(),
        "{name}: sipx contacts"
    );
    for (o, x) in ours_contacts.iter().zip(&sipx_contacts) {
        let o = o.addr().unwrap();
        let ContactValue::Address(x) = x else {
            panic!("{name}: sipx wildcard Contact")
        };
        assert_eq!(
            o.uri().as_str().as_bytes(),
            x.uri.to_bytes().as_ref(),
            "{name}: sipx Contact URI"
        );
        assert_eq!(
            o.expires().unwrap(),
            sipx::contact_expires(x.param("expires")),
            "{name}: sipx Contact expires"
        );
    }
    assert_eq!(
        m.expires().unwrap(),
        h.typed::<Expires>().map(|e| e.unwrap().0),
        "{name}: sipx Expires"
    );
    let ours_auth = m.authorization().unwrap();
    let sipx_auth = sipx::authorization(&s);
    assert_eq!(
        ours_auth.len(),
        usize::from(sipx_auth.is_some()),
        "{name}: sipx authorization"
    );
    if let (Some(o), Some(x)) = (ours_auth.first(), sipx_auth) {
        assert_eq!(o.realm().as_deref(), Some(x.realm.as_str()));
        assert_eq!(o.nonce().as_deref(), Some(x.nonce.as_str()));
        assert_eq!(o.algorithm().as_deref(), Some(x.algorithm.as_str()));
        assert_eq!(o.qop().as_deref() == Some("auth"), x.qop_auth);
    }
}

// ---- criterion ---------------------------------------------------------------------

type Task = fn(&'static [u8]);

fn ours_parse_task(msg: &'static [u8]) {
    black_box(ours_parse(msg));
}

fn ezk_parse_task(msg: &'static [u8]) {
    black_box(ezk::parse(msg));
}

fn sipx_parse_task(msg: &'static [u8]) {
    black_box(sipx::parse(msg));
}

/// The parsers, in column order: ours first, then the others.
const PARSERS: [&str; 3] = ["ours", "ezk", "sipx"];

/// (task, [ours, ezk, sipx])
const TASKS: [(&str, [Task; 3]); 2] = [
    ("parse", [ours_parse_task, ezk_parse_task, sipx_parse_task]),
    (
        "registrar-fields",
        [
            ours_registrar_fields,
            ezk::registrar_fields,
            sipx::registrar_fields,
        ],
    ),
];

fn bench_parse(c: &mut Criterion) {
    check_equivalence();
    for (msg_name, msg) in MESSAGES {
        let mut g = c.benchmark_group(msg_name);
        g.throughput(Throughput::Bytes(msg.len() as u64));
        for (task, fs) in TASKS {
            for (parser, f) in PARSERS.into_iter().zip(fs) {
                g.bench_with_input(BenchmarkId::new(parser, task), &msg, |b, &m| {
                    b.iter(|| f(black_box(m)))
                });
            }
        }
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_parse
}

// ---- ratio table -----------------------------------------------------------------

/// Nanoseconds per call of `f`, timed over `iters` calls.
fn time_once(f: Task, msg: &'static [u8], iters: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        f(black_box(msg));
    }
    start.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times the three parsers in alternating rounds (so a burst of load from another process
/// hits all of them) and prints the median ns/call of each, each other parser's ratio to
/// ours, and the smallest of those ratios: how much faster ours is than the fastest other
/// parser on that case.
fn print_ratios() {
    const ROUNDS: usize = 31;
    const ROUND: Duration = Duration::from_millis(20);
    println!();
    println!("other / ours, median of {ROUNDS} interleaved rounds of ~{ROUND:?} each:");
    println!(
        "{:<10} {:<17} {:>8} {:>8} {:>8} {:>9} {:>9} {:>12}",
        "message", "task", "ours ns", "ezk ns", "sipx ns", "ezk/ours", "sipx/ours", "vs fastest"
    );
    for (msg_name, msg) in MESSAGES {
        for (task, fs) in TASKS {
            // Size each round from a first estimate, which also warms each one up.
            let iters: Vec<u32> = fs
                .iter()
                .map(|&f| {
                    let ns = time_once(f, msg, 1000);
                    ((ROUND.as_nanos() as f64 / ns) as u32).max(100)
                })
                .collect();
            let mut times = vec![Vec::with_capacity(ROUNDS); fs.len()];
            for _ in 0..ROUNDS {
                for ((&f, &n), t) in fs.iter().zip(&iters).zip(&mut times) {
                    t.push(time_once(f, msg, n));
                }
            }
            let ns: Vec<f64> = times.into_iter().map(median).collect();
            let (o, z, x) = (ns[0], ns[1], ns[2]);
            let (rz, rx) = (z / o, x / o);
            println!(
                "{msg_name:<10} {task:<17} {o:>8.0} {z:>8.0} {x:>8.0} {rz:>8.1}x {rx:>8.1}x {:>11.1}x",
                rz.min(rx)
            );
        }
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo bench` passes --bench; `cargo test --benches` does not, and then criterion
    // only runs each benchmark once as a smoke test, so skip the timing loop too. Also
    // skip it when listing, or when profiling one benchmark with --profile-time.
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--bench") && !has("--profile-time") && !has("--list") {
        print_ratios();
    }
}
