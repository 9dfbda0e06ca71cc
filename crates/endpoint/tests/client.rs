//! The client side of the endpoint with a fake wire in simulated time: retransmissions,
//! failover on timeout, transport error and 503 (RFC 3263 §4.3), responses with a
//! foreign Via dropped (RFC 3261 §18.1.2), and the NAT rewrite of Via and Contact.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sip_endpoint::{
    BoxFuture, ClientError, Destination, Endpoint, EndpointConfig, Handled, IncomingRequest, Local,
    Nat, Net, OutgoingRequest, Service, Target, Transport, Wire,
};
use sip_message::{HeaderKind, Message, Method};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A peer's address: where requests come from and responses go.
type Src = SocketAddr;

/// What the fake wire was asked to send.
#[derive(Debug)]
enum Sent {
    Request(Target, Message),
    Response(Src, Message),
}

struct FakeWire {
    tx: mpsc::UnboundedSender<(Sent, Instant)>,
    /// Sends to these addresses fail (connection refused, ICMP unreachable).
    failing: Arc<Mutex<HashSet<SocketAddr>>>,
    nat: Arc<Nat>,
}

const LOCAL: &str = "10.0.0.5:5060";

impl Wire for FakeWire {
    type Source = Src;
    fn reliable(_: &Src) -> bool {
        false
    }
    fn send_response<'a>(&'a self, source: &'a Src, bytes: Bytes) -> BoxFuture<'a, io::Result<()>> {
        let m = Message::parse(bytes).expect("our response parses");
        let _ = self.tx.send((Sent::Response(*source, m), Instant::now()));
        Box::pin(async { Ok(()) })
    }
    fn transports(&self) -> Vec<Transport> {
        vec![Transport::Udp, Transport::Tcp]
    }
    fn local_for(&self, _: &Target) -> io::Result<Local> {
        Ok(Local {
            addr: LOCAL.parse().unwrap(),
            nat: Arc::clone(&self.nat),
        })
    }
    fn send_request<'a>(
        &'a self,
        target: &'a Target,
        bytes: Bytes,
    ) -> BoxFuture<'a, io::Result<()>> {
        let fail = self.failing.lock().unwrap().contains(&target.addr);
        Box::pin(async move {
            if fail {
                return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "refused"));
            }
            let m = Message::parse(bytes).expect("our request parses");
            let _ = self
                .tx
                .send((Sent::Request(target.clone(), m), Instant::now()));
            Ok(())
        })
    }
    fn path_of(&self, source: &Src) -> Option<(Local, SocketAddr)> {
        Some((
            Local {
                addr: LOCAL.parse().unwrap(),
                nat: Arc::clone(&self.nat),
            },
            *source,
        ))
    }
}

/// Answers OPTIONS and REGISTER with 200 and a Contact of ours.
struct WithContact;

impl Service<Src> for WithContact {
    fn name(&self) -> &str {
        "with-contact"
    }
    fn priority(&self) -> u32 {
        1
    }
    fn methods(&self) -> &[Method] {
        &[Method::Options, Method::Register]
    }
    fn handle(&self, request: IncomingRequest<Src>) -> BoxFuture<'_, Handled<Src>> {
        Box::pin(async move {
            let mut r = Message::response_to(&request.message, 200, None);
            r.push_header(HeaderKind::Contact, "<sip:pbx@10.0.0.5:5060>")
                .unwrap();
            Handled::Answered(r)
        })
    }
}

struct Harness {
    endpoint: Arc<Endpoint<FakeWire>>,
    rx: mpsc::UnboundedReceiver<(Sent, Instant)>,
    failing: Arc<Mutex<HashSet<SocketAddr>>>,
}

fn start(nat: Nat) -> Harness {
    let (tx, rx) = mpsc::unbounded_channel();
    let failing = Arc::new(Mutex::new(HashSet::new()));
    let wire = FakeWire {
        tx,
        failing: Arc::clone(&failing),
        nat: Arc::new(nat),
    };
    let config = EndpointConfig {
        shards: 2,
        ..EndpointConfig::default()
    };
    let endpoint = Endpoint::start(config, wire, vec![Arc::new(WithContact)]);
    Harness {
        endpoint: Arc::new(endpoint),
        rx,
        failing,
    }
}

impl Harness {
    /// Sends `request` on a task of its own; the handle gives the outcome.
    fn send(
        &self,
        request: OutgoingRequest,
    ) -> tokio::task::JoinHandle<Result<sip_endpoint::ClientResponse, ClientError>> {
        let ep = Arc::clone(&self.endpoint);
        tokio::spawn(async move { ep.send_request(request).await })
    }

    async fn next(&mut self) -> (Sent, Instant) {
        tokio::time::timeout(Duration::from_secs(120), self.rx.recv())
            .await
            .expect("something sent within 120 s (simulated)")
            .expect("wire open")
    }

    async fn next_request(&mut self) -> (Target, Message, Instant) {
        match self.next().await {
            (Sent::Request(t, m), at) => (t, m, at),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    /// Answers `request` as if from `target` with `code`.
    async fn answer(&self, request: &Message, target: &Target, code: u16) {
        let r = Message::response_to(request, code, None);
        self.endpoint.dispatch(reparse(&r), target.addr).await;
    }

    fn fail(&self, addr: SocketAddr) {
        self.failing.lock().unwrap().insert(addr);
    }
}

fn reparse(m: &Message) -> Message {
    Message::parse(m.to_bytes()).expect("reparses")
}

fn udp(addr: &str) -> Target {
    target(Transport::Udp, addr)
}

fn target(transport: Transport, addr: &str) -> Target {
    Target {
        transport,
        addr: addr.parse().unwrap(),
        host: addr.to_owned(),
    }
}

fn options(call_id: &str) -> Message {
    let text = format!(
        "OPTIONS sip:bob@192.0.2.9 SIP/2.0\r\n\
         From: <sip:qualify@pbx.example.com>;tag=q1\r\n\
         To: <sip:bob@192.0.2.9>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Message::parse(Bytes::from(text)).unwrap()
}

fn to_targets(call_id: &str, targets: Vec<Target>) -> OutgoingRequest {
    OutgoingRequest::new(options(call_id)).to(Destination::Targets(targets))
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[tokio::test(start_paused = true)]
async fn udp_retransmits_on_timer_e_until_answered() {
    let mut h = start(Nat::none());
    let a = udp("192.0.2.1:5060");
    let task = h.send(to_targets("rt1", vec![a.clone()]));
    let (t, first, t0) = h.next_request().await;
    assert_eq!(t, a);
    let via = first.top_via().unwrap();
    assert_eq!(via.transport(), "UDP");
    assert_eq!(via.host(), "10.0.0.5");
    assert_eq!(via.port(), Some(5060));
    assert_eq!(via.rport(), Some(None), "rport asked for (RFC 3581)");
    assert!(via.has_rfc3261_branch());
    assert_eq!(first.max_forwards().unwrap(), Some(70));
    // Timer E: 500 ms, then 1 s, 2 s, 4 s, capped at T2 = 4 s (RFC 3261 §17.1.2.2).
    let mut last = t0;
    for want in [500, 1000, 2000, 4000, 4000] {
        let (_, again, at) = h.next_request().await;
        assert_eq!(again.to_bytes(), first.to_bytes(), "the same bytes again");
        assert_eq!(ms(at - last), want);
        last = at;
    }
    h.answer(&first, &a, 200).await;
    let r = task.await.unwrap().expect("a final response");
    assert_eq!(r.response.status(), Some(200));
    assert_eq!(r.target, a);
    assert_eq!(r.attempts, 1);
    assert_eq!(ms(r.rtt), 11_500, "RTT measured from the first send");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fails_over_to_the_next_target_with_a_new_branch() {
    let mut h = start(Nat::none());
    let (a, b) = (udp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
    let task = h.send(to_targets("to1", vec![a.clone(), b.clone()]));
    let (_, first, t0) = h.next_request().await;
    let (to_b, second, at) = loop {
        let (t, m, at) = h.next_request().await;
        if t == b {
            break (t, m, at);
        }
        assert_eq!(t, a, "retransmissions go to the first target");
    };
    assert_eq!(to_b, b);
    assert_eq!(ms(at - t0), 32_000, "after Timer F (64×T1)");
    assert_ne!(
        first.top_via().unwrap().branch(),
        second.top_via().unwrap().branch(),
        "a new transaction (RFC 3263 §4.3)"
    );
    assert_eq!(second.cseq().unwrap().seq, first.cseq().unwrap().seq);
    h.answer(&second, &b, 200).await;
    let r = task.await.unwrap().unwrap();
    assert_eq!(r.target, b);
    assert_eq!(r.attempts, 2);
}

#[tokio::test(start_paused = true)]
async fn every_target_timing_out_is_a_timeout() {
    let mut h = start(Nat::none());
    let (a, b) = (udp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
    let task = h.send(to_targets("to2", vec![a.clone(), b.clone()]));
    let started = Instant::now();
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err, ClientError::Timeout { tried: vec![a, b] });
    assert_eq!(ms(started.elapsed()), 64_000);
    while let Ok((sent, _)) = h.rx.try_recv() {
        assert!(matches!(sent, Sent::Request(..)));
    }
}

#[tokio::test(start_paused = true)]
async fn a_transport_error_fails_over_at_once() {
    let mut h = start(Nat::none());
    // UDP: the send fails in place.
    let (a, b) = (udp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
    h.fail(a.addr);
    let start_at = Instant::now();
    let task = h.send(to_targets("te1", vec![a.clone(), b.clone()]));
    let (t, m, at) = h.next_request().await;
    assert_eq!(t, b);
    assert_eq!(at, start_at, "no waiting for a timer");
    h.answer(&m, &b, 202).await;
    let r = task.await.unwrap().unwrap();
    assert_eq!((r.response.status(), r.attempts), (Some(202), 2));

    // TCP: the send runs on a task of its own and reports back to the shard.
    let (c, d) = (
        target(Transport::Tcp, "192.0.2.3:5060"),
        target(Transport::Tcp, "192.0.2.4:5060"),
    );
    h.fail(c.addr);
    let task = h.send(to_targets("te2", vec![c.clone(), d.clone()]));
    let (t, m, _) = h.next_request().await;
    assert_eq!(t, d);
    assert_eq!(m.top_via().unwrap().transport(), "TCP");
    h.answer(&m, &d, 200).await;
    assert_eq!(task.await.unwrap().unwrap().target, d);

    // Every target failing: the error names them.
    let task = h.send(to_targets("te3", vec![a.clone(), c.clone()]));
    match task.await.unwrap() {
        Err(ClientError::Transport { tried, error }) => {
            assert_eq!(tried, vec![a, c]);
            assert!(error.contains("refused"), "{error}");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_503_fails_over_and_other_answers_are_final() {
    let mut h = start(Nat::none());
    let (a, b) = (udp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
    let task = h.send(to_targets("s1", vec![a.clone(), b.clone()]));
    let (_, m, _) = h.next_request().await;
    h.answer(&m, &a, 503).await;
    let (t, m2, _) = h.next_request().await;
    assert_eq!(t, b);
    h.answer(&m2, &b, 503).await;
    let r = task.await.unwrap().unwrap();
    assert_eq!(
        (r.response.status(), r.attempts),
        (Some(503), 2),
        "all failed: the last 503 is the answer"
    );

    let task = h.send(to_targets("s2", vec![a.clone(), b.clone()]));
    let (_, m, _) = h.next_request().await;
    h.answer(&m, &a, 404).await;
    let r = task.await.unwrap().unwrap();
    assert_eq!((r.response.status(), r.attempts), (Some(404), 1));
    assert!(
        h.rx.try_recv().is_err(),
        "nothing sent to the second target"
    );
}

#[tokio::test(start_paused = true)]
async fn a_response_with_someone_elses_via_is_dropped() {
    let mut h = start(Nat::none());
    let a = udp("192.0.2.1:5060");
    let task = h.send(to_targets("v1", vec![a.clone()]));
    let (_, m, _) = h.next_request().await;
    // Same branch, another sent-by: not ours (RFC 3261 §18.1.2).
    let forged = Message::parse(Bytes::from(
        String::from_utf8_lossy(&Message::response_to(&m, 404, None).to_bytes())
            .replace("10.0.0.5:5060", "10.0.0.66:5060"),
    ))
    .unwrap();
    h.endpoint.dispatch(forged, a.addr).await;
    let wrong_port = Message::parse(Bytes::from(
        String::from_utf8_lossy(&Message::response_to(&m, 404, None).to_bytes())
            .replace("10.0.0.5:5060", "10.0.0.5:5099"),
    ))
    .unwrap();
    h.endpoint.dispatch(wrong_port, a.addr).await;
    h.answer(&m, &a, 200).await;
    let r = task.await.unwrap().unwrap();
    assert_eq!(r.response.status(), Some(200), "the 404s were not taken");
}

#[tokio::test(start_paused = true)]
async fn provisional_responses_reach_the_caller() {
    let mut h = start(Nat::none());
    let a = udp("192.0.2.1:5060");
    let (ptx, mut prx) = mpsc::unbounded_channel();
    let task = h.send(to_targets("p1", vec![a.clone()]).with_provisional(ptx));
    let (_, m, _) = h.next_request().await;
    h.answer(&m, &a, 100).await;
    let p = prx.recv().await.unwrap();
    assert_eq!(p.status(), Some(100));
    h.answer(&m, &a, 200).await;
    assert_eq!(task.await.unwrap().unwrap().response.status(), Some(200));
}

fn nat() -> Nat {
    Nat::new(
        vec![Net::new("10.0.0.0".parse::<IpAddr>().unwrap(), 8).unwrap()],
        Some("198.51.100.7"),
        5070,
    )
}

#[tokio::test(start_paused = true)]
async fn via_and_contact_carry_the_external_address_outside_local_net() {
    let mut h = start(nat());
    let outside = udp("203.0.113.5:5060");
    let task = h.send(to_targets("n1", vec![outside.clone()]).with_contact("pbx"));
    let (_, m, _) = h.next_request().await;
    let via = m.top_via().unwrap();
    assert_eq!((via.host(), via.port()), ("198.51.100.7", Some(5070)));
    assert_eq!(
        m.contacts().unwrap()[0].addr().unwrap().uri().as_str(),
        "sip:pbx@198.51.100.7:5070"
    );
    h.answer(&m, &outside, 200).await;
    assert!(
        task.await.unwrap().is_ok(),
        "a response to the external sent-by is ours"
    );

    // Inside local_net: the real address, and the caller's Contact kept as it is.
    let inside = udp("10.1.2.3:5060");
    let mut req = options("n2");
    req.push_header(HeaderKind::Contact, "<sip:pbx@10.0.0.5:5060>")
        .unwrap();
    let task = h.send(OutgoingRequest::new(req).to(Destination::Targets(vec![inside.clone()])));
    let (_, m, _) = h.next_request().await;
    let via = m.top_via().unwrap();
    assert_eq!((via.host(), via.port()), ("10.0.0.5", Some(5060)));
    assert_eq!(
        m.contacts().unwrap()[0].addr().unwrap().uri().as_str(),
        "sip:pbx@10.0.0.5:5060"
    );
    h.answer(&m, &inside, 200).await;
    task.await.unwrap().unwrap();

    // Outside, with the caller's own Contact: host and port rewritten.
    let mut req = options("n3");
    req.push_header(HeaderKind::Contact, "<sip:pbx@10.0.0.5:5060;ob>")
        .unwrap();
    let task = h.send(OutgoingRequest::new(req).to(Destination::Targets(vec![outside.clone()])));
    let (_, m, _) = h.next_request().await;
    assert_eq!(
        m.contacts().unwrap()[0].addr().unwrap().uri().as_str(),
        "sip:pbx@198.51.100.7:5070;ob"
    );
    h.answer(&m, &outside, 200).await;
    task.await.unwrap().unwrap();
}

fn incoming(method: &str, from: &str, branch: &str) -> Message {
    let text = format!(
        "{method} sip:pbx@10.0.0.5 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@example.com>;tag=a1\r\n\
         To: <sip:pbx@example.com>\r\n\
         Call-ID: in-{branch}\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Message::parse(Bytes::from(text)).unwrap()
}

async fn response_contact(h: &mut Harness, method: &str, from: &str, branch: &str) -> String {
    let src: SocketAddr = from.parse().unwrap();
    h.endpoint
        .dispatch(incoming(method, from, branch), src)
        .await;
    match h.next().await {
        (Sent::Response(to, r), _) => {
            assert_eq!(to, src);
            r.contacts().unwrap()[0]
                .addr()
                .unwrap()
                .uri()
                .as_str()
                .to_owned()
        }
        other => panic!("expected a response, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn contacts_in_our_responses_follow_the_same_rule() {
    let mut h = start(nat());
    assert_eq!(
        response_contact(&mut h, "OPTIONS", "203.0.113.9:5060", "r1").await,
        "sip:pbx@198.51.100.7:5070"
    );
    assert_eq!(
        response_contact(&mut h, "OPTIONS", "10.7.7.7:5060", "r2").await,
        "sip:pbx@10.0.0.5:5060",
        "inside local_net"
    );
    assert_eq!(
        response_contact(&mut h, "REGISTER", "203.0.113.9:5060", "r3").await,
        "sip:pbx@10.0.0.5:5060",
        "a REGISTER's Contacts are the bindings, never rewritten"
    );
}

#[tokio::test(start_paused = true)]
async fn a_numeric_request_uri_needs_no_dns() {
    let mut h = start(Nat::none());
    let mut req = options("d1");
    req.set_request_uri(sip_message::Uri::parse("sip:bob@192.0.2.9:5070;transport=tcp").unwrap());
    let task = h.send(OutgoingRequest::new(req));
    let (t, m, _) = h.next_request().await;
    assert_eq!(t.transport, Transport::Tcp);
    assert_eq!(t.addr, "192.0.2.9:5070".parse::<SocketAddr>().unwrap());
    h.answer(&m, &t, 200).await;
    task.await.unwrap().unwrap();

    // A host name without a resolver is refused before anything is sent.
    let mut req = options("d2");
    req.set_request_uri(sip_message::Uri::parse("sip:bob@example.com").unwrap());
    let err = h
        .send(OutgoingRequest::new(req))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ClientError::Resolve(_)), "{err:?}");
    // So is a request with a Via of its own.
    let mut req = options("d3");
    req.push_header(HeaderKind::Via, "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKx")
        .unwrap();
    let err = h
        .send(to_targets_msg(req, vec![udp("192.0.2.1:5060")]))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ClientError::Invalid(_)), "{err:?}");
}

fn to_targets_msg(m: Message, targets: Vec<Target>) -> OutgoingRequest {
    OutgoingRequest::new(m).to(Destination::Targets(targets))
}
