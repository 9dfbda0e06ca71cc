//! The endpoint's rules with a fake wire: services in order, transactions absorbing
//! retransmissions, 405/501/400/482/503 where the RFC and the issue say.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sip_endpoint::{
    BoxFuture, Endpoint, EndpointConfig, Handled, IncomingRequest, OptionsResponder, Service, Wire,
};
use sip_message::{Message, Method};
use tokio::sync::mpsc;

/// Sources are (peer number, reliable).
type Src = (u32, bool);

struct FakeWire(mpsc::UnboundedSender<(Src, Bytes)>);

impl Wire for FakeWire {
    type Source = Src;
    fn reliable(source: &Src) -> bool {
        source.1
    }
    fn send_response<'a>(&'a self, source: &'a Src, bytes: Bytes) -> BoxFuture<'a, io::Result<()>> {
        let _ = self.0.send((*source, bytes));
        Box::pin(async { Ok(()) })
    }
}

/// Answers MESSAGE with 202 and counts how often it ran.
struct Counting(Arc<AtomicUsize>);

impl Service<Src> for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    fn priority(&self) -> u32 {
        10
    }
    fn methods(&self) -> &[Method] {
        &[Method::Info]
    }
    fn handle(&self, request: IncomingRequest<Src>) -> BoxFuture<'_, Handled<Src>> {
        Box::pin(async move {
            if request.method() != Some(&Method::Info) {
                return Handled::Declined(request);
            }
            self.0.fetch_add(1, Ordering::SeqCst);
            Handled::Answered(Message::response_to(&request.message, 200, None))
        })
    }
}

fn request(method: &str, branch: &str, extra: &str) -> Message {
    let text = format!(
        "{method} sip:server@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@127.0.0.1>;tag=a1\r\n\
         To: <sip:server@127.0.0.1>{extra}\r\n\
         Call-ID: call-{branch}\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Message::parse(Bytes::from(text)).expect("test request parses")
}

fn start(
    config: EndpointConfig,
) -> (
    Endpoint<FakeWire>,
    mpsc::UnboundedReceiver<(Src, Bytes)>,
    Arc<AtomicUsize>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let count = Arc::new(AtomicUsize::new(0));
    let services: Vec<Arc<dyn Service<Src>>> = vec![
        Arc::new(OptionsResponder::new(
            &[Method::Options, Method::Info],
            &["application/sdp"],
            &[],
        )),
        Arc::new(Counting(Arc::clone(&count))),
    ];
    (Endpoint::start(config, FakeWire(tx), services), rx, count)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(Src, Bytes)>) -> (Src, Message) {
    let (src, bytes) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a response within 5 s")
        .expect("wire open");
    (src, Message::parse(bytes).expect("our response parses"))
}

fn header<'a>(m: &'a Message, name: &'a str) -> Option<String> {
    m.value(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

#[tokio::test]
async fn options_is_answered_with_its_headers() {
    let (ep, mut rx, _) = start(EndpointConfig::default());
    ep.dispatch(request("OPTIONS", "o1", ""), (1, false)).await;
    let (src, r) = next(&mut rx).await;
    assert_eq!(src, (1, false));
    assert_eq!(r.status(), Some(200));
    assert_eq!(header(&r, "Allow").as_deref(), Some("OPTIONS, INFO"));
    assert_eq!(header(&r, "Accept").as_deref(), Some("application/sdp"));
    assert!(header(&r, "Accept-Encoding").is_some());
    assert!(header(&r, "Accept-Language").is_some());
    assert!(r.value("Supported").is_some());
    assert_eq!(r.call_id().unwrap().as_str(), "call-o1");
    assert!(
        r.to().unwrap().tag().is_some(),
        "a To tag of ours (RFC 3261 §8.2.6.2): {}",
        String::from_utf8_lossy(&r.to_bytes())
    );
}

#[tokio::test]
async fn a_required_extension_we_lack_gets_420_with_unsupported() {
    let (ep, mut rx, count) = start(EndpointConfig::default());
    let text = String::from_utf8_lossy(&request("INFO", "rq1", "").to_bytes()).replace(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nRequire: 100rel, foo\r\n",
    );
    ep.dispatch(Message::parse(Bytes::from(text)).unwrap(), (8, false))
        .await;
    let (_, r) = next(&mut rx).await;
    assert_eq!(r.status(), Some(420));
    assert_eq!(header(&r, "Unsupported").as_deref(), Some("100rel, foo"));
    assert_eq!(count.load(Ordering::SeqCst), 0, "no service saw it");
}

#[tokio::test]
async fn a_retransmission_is_answered_by_the_transaction_not_the_service() {
    let (ep, mut rx, count) = start(EndpointConfig::default());
    ep.dispatch(request("INFO", "i1", ""), (2, false)).await;
    let (_, first) = next(&mut rx).await;
    ep.dispatch(request("INFO", "i1", ""), (2, false)).await;
    let (_, second) = next(&mut rx).await;
    assert_eq!(
        first.to_bytes(),
        second.to_bytes(),
        "the same response again"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1, "the service ran once");
}

#[tokio::test]
async fn unclaimed_requests_get_405_or_501_with_allow() {
    let (ep, mut rx, _) = start(EndpointConfig::default());
    ep.dispatch(request("MESSAGE", "m1", ""), (3, false)).await;
    let (_, r) = next(&mut rx).await;
    assert_eq!(r.status(), Some(405));
    assert_eq!(
        header(&r, "Allow").as_deref(),
        Some("INFO, OPTIONS, ACK, CANCEL"),
        "services in priority order"
    );
    ep.dispatch(request("FROBNICATE", "f1", ""), (3, false))
        .await;
    let (_, r) = next(&mut rx).await;
    assert_eq!(r.status(), Some(501));
    assert!(header(&r, "Allow").is_some());
}

#[tokio::test]
async fn requests_that_cannot_make_a_transaction_get_400_with_a_reason() {
    let (ep, mut rx, _) = start(EndpointConfig::default());
    let bad = Message::parse(Bytes::from_static(
        b"OPTIONS sip:server@127.0.0.1 SIP/2.0\r\n\
          Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKbad\r\n\
          From: <sip:alice@127.0.0.1>;tag=a1\r\n\
          To: <sip:server@127.0.0.1>\r\n\
          Call-ID: bad\r\n\
          CSeq: 1 INVITE\r\n\
          Content-Length: 0\r\n\r\n",
    ))
    .unwrap();
    ep.dispatch(bad, (4, false)).await;
    let (_, r) = next(&mut rx).await;
    assert_eq!(r.status(), Some(400));
    assert!(
        r.reason().is_some_and(|p| p.len() > "Bad Request".len()),
        "{:?}",
        r.reason()
    );

    let head = request("OPTIONS", "h1", "");
    ep.reject_malformed(head, "Content-Length is not a number", (4, false))
        .await;
    let (_, r) = next(&mut rx).await;
    assert_eq!(r.status(), Some(400));
    assert_eq!(r.reason(), Some("Content-Length is not a number"));
}

#[tokio::test]
async fn overload_refuses_new_requests_with_503_but_not_in_dialog_ones() {
    let config = EndpointConfig {
        shards: 1,
        queue_capacity: 16,
        high_water: 0,
        ..EndpointConfig::default()
    };
    let (ep, mut rx, _) = start(config);
    ep.dispatch(request("OPTIONS", "ov1", ""), (5, false)).await;
    let (_, r) = next(&mut rx).await;
    assert_eq!(r.status(), Some(503));
    assert_eq!(header(&r, "Retry-After").as_deref(), Some("5"));
    assert_eq!(ep.counters().overloaded.load(Ordering::Relaxed), 1);
    // The 503 belongs to a transaction: its retransmission gets the same answer back
    // (same To tag), not a second decision.
    ep.dispatch(request("OPTIONS", "ov1", ""), (5, false)).await;
    let (_, again) = next(&mut rx).await;
    assert_eq!(again.to_bytes(), r.to_bytes());
    assert_eq!(ep.counters().overloaded.load(Ordering::Relaxed), 1);
    // CANCEL is never refused for overload (its INVITE would go on): 481 here, as
    // there is no INVITE to cancel.
    ep.dispatch(request("CANCEL", "ov3", ""), (5, false)).await;
    let (_, r) = next(&mut rx).await;
    assert_eq!(r.status(), Some(481));
    // In-dialog (To tag): still handled.
    ep.dispatch(request("INFO", "ov2", ";tag=s1"), (5, false))
        .await;
    let (_, r) = next(&mut rx).await;
    assert_eq!(r.status(), Some(200));
}

#[tokio::test]
async fn merged_requests_get_482() {
    let (ep, mut rx, _) = start(EndpointConfig {
        shards: 1,
        ..EndpointConfig::default()
    });
    // A request that takes long enough to still have its transaction: over UDP a
    // non-INVITE server transaction lives Timer J (32 s) after its response.
    ep.dispatch(request("INFO", "mg1", ""), (6, false)).await;
    let _ = next(&mut rx).await;
    // Same From tag, Call-ID and CSeq, another branch, no To tag: a fork merged here.
    let text = String::from_utf8_lossy(&request("INFO", "mg1", "").to_bytes())
        .replace("z9hG4bKmg1", "z9hG4bKmg1-other");
    ep.dispatch(Message::parse(Bytes::from(text)).unwrap(), (7, false))
        .await;
    let (src, r) = next(&mut rx).await;
    assert_eq!(src, (7, false));
    assert_eq!(r.status(), Some(482));
}

#[tokio::test]
async fn a_full_transaction_table_refuses_new_requests_with_503_without_storing_them() {
    let config = EndpointConfig {
        shards: 1,
        max_transactions: 2,
        ..EndpointConfig::default()
    };
    let (ep, mut rx, _) = start(config);
    // Over UDP a non-INVITE server transaction lives Timer J (32 s) after its answer,
    // so these two fill the table for the rest of the test.
    for b in ["tf1", "tf2"] {
        ep.dispatch(request("OPTIONS", b, ""), (6, false)).await;
        assert_eq!(next(&mut rx).await.1.status(), Some(200));
    }
    let (_, first) = {
        ep.dispatch(request("OPTIONS", "tf1", ""), (6, false)).await;
        next(&mut rx).await
    };
    assert_eq!(
        first.status(),
        Some(200),
        "a retransmission still gets its answer"
    );
    // A new request, in dialog or not, gets 503 + Retry-After.
    for (b, to_tag) in [("tf3", ""), ("tf4", ";tag=s1")] {
        ep.dispatch(request("INFO", b, to_tag), (6, false)).await;
        let (_, r) = next(&mut rx).await;
        assert_eq!(r.status(), Some(503), "{b}");
        assert_eq!(header(&r, "Retry-After").as_deref(), Some("5"));
        assert_eq!(
            header(&r, "Call-ID").as_deref(),
            Some(format!("call-{b}").as_str())
        );
    }
    assert_eq!(ep.counters().overloaded.load(Ordering::Relaxed), 2);
    // Not stored: its retransmission is decided again (a second 503), not absorbed.
    ep.dispatch(request("INFO", "tf3", ""), (6, false)).await;
    assert_eq!(next(&mut rx).await.1.status(), Some(503));
    assert_eq!(ep.counters().overloaded.load(Ordering::Relaxed), 3);
    // An ACK never makes a transaction and is never answered.
    ep.dispatch(request("ACK", "tf5", ""), (6, false)).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), rx.recv())
            .await
            .is_err(),
        "nothing answers an ACK"
    );
}

/// Answers MESSAGE with 200, but only once the test releases it (as a registrar waits
/// for its commit).
struct Waiting(Arc<tokio::sync::Semaphore>);

impl Service<Src> for Waiting {
    fn name(&self) -> &str {
        "waiting"
    }
    fn priority(&self) -> u32 {
        5
    }
    fn methods(&self) -> &[Method] {
        &[Method::Message]
    }
    fn handle(&self, request: IncomingRequest<Src>) -> BoxFuture<'_, Handled<Src>> {
        Box::pin(async move {
            if request.method() != Some(&Method::Message) {
                return Handled::Declined(request);
            }
            self.0.acquire().await.expect("open").forget();
            Handled::Answered(Message::response_to(&request.message, 200, None))
        })
    }
}

#[tokio::test]
async fn a_service_that_waits_does_not_hold_up_its_shard() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let services: Vec<Arc<dyn Service<Src>>> = vec![
        Arc::new(Waiting(Arc::clone(&gate))),
        Arc::new(OptionsResponder::new(&[Method::Options], &[], &[])),
    ];
    // One shard: every request below is hashed to it.
    let config = EndpointConfig {
        shards: 1,
        ..EndpointConfig::default()
    };
    let ep = Endpoint::start(config, FakeWire(tx), services);

    ep.dispatch(request("MESSAGE", "w1", ""), (1, false)).await;
    ep.dispatch(request("MESSAGE", "w2", ""), (2, false)).await;
    // Both wait; an OPTIONS behind them is answered meanwhile.
    ep.dispatch(request("OPTIONS", "w3", ""), (3, false)).await;
    let (src, r) = next(&mut rx).await;
    assert_eq!((src, r.status()), ((3, false), Some(200)));
    // A retransmission of a waiting request is absorbed: nothing is sent for it.
    ep.dispatch(request("MESSAGE", "w1", ""), (1, false)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        rx.try_recv().is_err(),
        "nothing answered before the release"
    );

    gate.add_permits(2);
    let mut answered = [next(&mut rx).await, next(&mut rx).await];
    answered.sort_by_key(|(src, _)| src.0);
    assert_eq!(answered[0].0, (1, false));
    assert_eq!(answered[1].0, (2, false));
    assert!(answered.iter().all(|(_, r)| r.status() == Some(200)));
    assert_eq!(answered[0].1.call_id().unwrap().as_str(), "call-w1");
    // Once answered, the retransmission gets the stored response.
    ep.dispatch(request("MESSAGE", "w1", ""), (1, false)).await;
    let (src, again) = next(&mut rx).await;
    assert_eq!(src, (1, false));
    assert_eq!(again.to_bytes(), answered[0].1.to_bytes());
}
