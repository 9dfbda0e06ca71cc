//! Differential target: where both our parser (with `validate()`) and sipx-sip accept a
//! datagram and decode its dialog-identifying headers, they must agree on them. A
//! disagreement is either our bug or theirs; either way it is worth a look.
#![no_main]

use bytes::Bytes;
use sipx_sip::headers::{CSeq, CallId, From, To, Via};
use sipx_sip::{parse_datagram, Limits};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(ours) = sip_message::Message::parse(data.to_vec()) else {
        return;
    };
    if ours.validate().is_err() {
        return;
    }
    let Ok(theirs) = parse_datagram(Bytes::copy_from_slice(data), &Limits::datagram()) else {
        return;
    };
    let h = theirs.headers();
    let (Some(Ok(via)), Some(Ok(from)), Some(Ok(to)), Some(Ok(call_id)), Some(Ok(cseq))) = (
        h.typed::<Via>(),
        h.typed::<From>(),
        h.typed::<To>(),
        h.typed::<CallId>(),
        h.typed::<CSeq>(),
    ) else {
        return;
    };
    let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
    assert_eq!(ours.call_id().unwrap().as_str().as_bytes(), &call_id.0[..], "Call-ID");
    assert_eq!(ours.cseq().unwrap().seq, cseq.sequence, "CSeq number");
    assert_eq!(ours.cseq().unwrap().method.to_string(), cseq.method.to_string(), "CSeq method");
    assert_eq!(ours.top_via().unwrap().branch().map(str::to_owned), text(via.branch()), "branch");
    assert_eq!(ours.from().unwrap().tag().map(str::to_owned), text(from.tag()), "From tag");
    assert_eq!(ours.to().unwrap().tag().map(str::to_owned), text(to.tag()), "To tag");
});
