//! The properties the fuzz targets check, shared with the regression tests that replay
//! every input the fuzzer ever crashed on (`tests/fuzz-regressions/`). The fuzz
//! targets include this file with `#[path]`, so the two never drift apart.

// Each test binary that includes this module uses only some of the checks.
#![allow(dead_code)]

use bytes::BytesMut;
use sip_message::{Frame, Limits, Message, StreamFramer, Uri};

fn summary(m: &Message) -> Vec<String> {
    fn list<T: ToString>(v: &[T]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }
    vec![
        format!("{:?}", m.via().map(list)),
        format!("{:?}", m.from().map(|v| v.to_string())),
        format!("{:?}", m.to().map(|v| v.to_string())),
        format!("{:?}", m.call_id().map(|v| v.to_string())),
        format!("{:?}", m.cseq().map(|v| v.to_string())),
        format!("{:?}", m.contacts().map(list)),
        format!("{:?}", m.max_forwards()),
        format!("{:?}", m.expires()),
        format!("{:?}", m.authorization().map(list)),
        format!("{:?}", m.request_uri().map(|u| u.to_string())),
        format!("{:?}", m.status()),
        format!("{:?}", m.reason()),
    ]
}

/// Datagram parser: never panics, every typed accessor returns, an unmodified message
/// is reproduced byte for byte, and a modified one parses back to the same values.
pub fn check_datagram(data: &[u8]) {
    let m = match Message::parse(data.to_vec()) {
        Ok(m) => m,
        Err(e) => {
            // Where the head survived, a 400 built from it must be a valid message.
            if let Some(head) = e.head() {
                let r = Message::response_to(head, 400, Some(e.reason()));
                Message::parse(r.to_bytes()).expect("a 400 built from a kept head parses");
            }
            return;
        }
    };
    assert_eq!(m.to_bytes(), *m.raw());
    let before = summary(&m);
    let _ = m.validate();
    let _ = (m.route(), m.record_route(), m.path());
    let _ = (
        m.www_authenticate(),
        m.proxy_authenticate(),
        m.proxy_authorization(),
    );
    let _ = (
        m.content_type(),
        m.accept(),
        m.allow(),
        m.supported(),
        m.require(),
    );
    let _ = (m.proxy_require(), m.unsupported(), m.allow_events());
    let _ = (m.event(), m.subscription_state(), m.date(), m.retry_after());
    let _ = (m.reasons(), m.min_expires(), m.user_agent(), m.server());
    if let Ok(vias) = m.via() {
        for v in vias {
            let _ = (v.branch(), v.rport(), v.ttl(), v.received(), v.maddr());
            let _ = v.with_param("received", Some("192.0.2.1"));
        }
    }
    if let Ok(cs) = m.contacts() {
        for c in cs.iter().filter_map(|c| c.addr()) {
            let _ = (c.expires(), c.q(), c.display_name());
            let _ = c.with_param("expires", Some("60"));
            if let Some(u) = c.uri().as_sip() {
                let _ = (
                    u.user_decoded(),
                    u.headers().count(),
                    u.with_param("ob", None),
                );
                assert!(*u == u.clone(), "URI equality is reflexive");
            }
        }
    }
    if let Ok(auth) = m.authorization() {
        for a in auth {
            let _ = (a.username(), a.realm(), a.nonce(), a.nc(), a.response());
        }
    }
    let mut changed = m.clone();
    // Room for the added header and for the Content-Length that writing adds.
    if m.header_count() + 2 <= Limits::DEFAULT.max_headers
        && changed.push_header("X-Fuzz", "1").is_ok()
    {
        let out = changed.to_bytes();
        if out.len() > Limits::DEFAULT.max_message_size {
            return;
        }
        let again = Message::parse(out.clone()).unwrap_or_else(|e| {
            panic!(
                "re-parse of a modified message failed: {e}\n{:?}",
                String::from_utf8_lossy(&out)
            )
        });
        assert_eq!(summary(&again), before);
        assert_eq!(again.body(), m.body());
    }
}

/// Stream framer: the first byte picks a chunk size, the rest arrives in chunks of
/// that size. Never panics, always makes progress, and each framed message is what
/// the datagram parser makes of the same bytes.
pub fn check_stream(data: &[u8]) {
    let Some((&step, data)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 64) + 1;
    let mut framer = StreamFramer::default();
    let mut buf = BytesMut::new();
    for chunk in data.chunks(step) {
        buf.extend_from_slice(chunk);
        loop {
            let len_before = buf.len();
            match framer.next(&mut buf) {
                Ok(Some(Frame::Message(m))) => {
                    assert!(buf.len() < len_before, "a frame must consume bytes");
                    let again = Message::parse(m.raw().clone())
                        .expect("a framed message parses as a datagram");
                    assert_eq!(again.raw(), m.raw());
                    let _ = m.validate();
                }
                Ok(Some(Frame::Malformed(e))) => {
                    assert!(
                        buf.len() < len_before,
                        "a malformed frame must consume bytes"
                    );
                    // What a server reads to answer 400 must not panic.
                    if let Some(head) = e.head() {
                        let _ = (head.top_via(), head.call_id(), head.cseq(), head.validate());
                    }
                }
                Ok(Some(Frame::Ping | Frame::Pong)) => {
                    assert!(buf.len() < len_before, "a keep-alive must consume bytes");
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

/// URI parser: never panics; a parsed URI equals itself and re-parses from its text.
pub fn check_uri(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(u) = Uri::parse(s) else {
        return;
    };
    assert!(u == u.clone(), "URI equality is reflexive");
    let again = Uri::parse(u.as_str()).expect("a parsed URI re-parses");
    assert!(again == u);
    if let Some(sip) = u.as_sip() {
        let _ = (
            sip.user_decoded(),
            sip.without_params(),
            sip.headers().count(),
        );
    }
}
