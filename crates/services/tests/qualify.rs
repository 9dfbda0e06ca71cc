//! The qualify scheduler (spec §10) in paused tokio time, with a fake sender standing
//! in for the endpoint: no sockets, and minutes of qualifying run in milliseconds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sip_endpoint::{
    BoxFuture, ClientError, ClientResponse, Destination, OutgoingRequest, Target, Transport,
};
use sip_message::Message;
use sip_registrar::{dynamic_contact_id, static_contact_id, ContactStatus, Location};
use sip_services::qualify::options_for;
use sip_services::registrar::unix_now;
use sip_services::{qualify_channel, OptionsSender, Qualifier, QualifyOptions};
use sorcery::object::Meta;
use sorcery::types::Contact;
use sorcery::value::Text;
use tokio::time::Instant;

mod support;

/// How the fake peer behaves.
#[derive(Clone, Copy, Debug)]
enum Peer {
    /// Answers with this code after this delay.
    Answer(u16, Duration),
    /// Never answers.
    Silent,
    /// 401 with a Digest challenge to a request without credentials; 200 to one
    /// whose Authorization names this user.
    Challenge(&'static str),
}

/// Records every OPTIONS (when, Request-URI) and answers as `peer` says. Clones
/// share the record.
#[derive(Clone)]
struct FakeSender {
    peer: Arc<Mutex<Peer>>,
    sent: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl FakeSender {
    fn new(peer: Peer) -> FakeSender {
        FakeSender {
            peer: Arc::new(Mutex::new(peer)),
            sent: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn set(&self, peer: Peer) {
        *self.peer.lock().unwrap() = peer;
    }

    fn sent(&self) -> Vec<(Instant, String)> {
        self.sent.lock().unwrap().clone()
    }

    fn sent_to(&self, uri: &str) -> Vec<Instant> {
        self.sent()
            .into_iter()
            .filter(|(_, u)| u == uri)
            .map(|(t, _)| t)
            .collect()
    }
}

/// `response` as the fake peer's answer, `rtt` after the request.
fn answered(response: Message, rtt: Duration) -> ClientResponse {
    ClientResponse {
        response,
        target: Target {
            transport: Transport::Udp,
            addr: "192.0.2.1:5060".parse().unwrap(),
            host: "192.0.2.1".to_owned(),
        },
        attempts: 1,
        rtt,
    }
}

impl OptionsSender for FakeSender {
    fn send(
        &self,
        request: OutgoingRequest,
    ) -> BoxFuture<'static, Result<ClientResponse, ClientError>> {
        let uri = request
            .message
            .request_uri()
            .map(|u| u.as_str().to_owned())
            .unwrap_or_default();
        self.sent.lock().unwrap().push((Instant::now(), uri));
        let peer = *self.peer.lock().unwrap();
        Box::pin(async move {
            match peer {
                Peer::Silent => std::future::pending().await,
                Peer::Challenge(user) => {
                    let named = request
                        .message
                        .authorization()
                        .is_ok_and(|c| c.iter().any(|c| c.username().is_some_and(|u| u == user)));
                    let mut response = if named {
                        Message::response_to(&request.message, 200, None)
                    } else {
                        let mut r = Message::response_to(&request.message, 401, None);
                        r.push_header(
                            "WWW-Authenticate",
                            "Digest realm=\"peer\", nonce=\"n1\", algorithm=MD5",
                        )
                        .unwrap();
                        r
                    };
                    // Through the wire, so the header is decoded like a received one.
                    response = Message::parse(response.to_bytes()).unwrap();
                    Ok(answered(response, Duration::from_millis(1)))
                }
                Peer::Answer(code, delay) => {
                    tokio::time::sleep(delay).await;
                    Ok(answered(
                        Message::response_to(&request.message, code, None),
                        delay,
                    ))
                }
            }
        })
    }
}

const A_URI: &str = "sip:a@192.0.2.1:5060";

fn static_conf(extra: &str) -> String {
    format!("[a]\ntype=aor\ncontact={A_URI}\nqualify_frequency=5\nqualify_timeout=1.0\n{extra}\n")
}

/// No jitter on the first round, so times are exact.
fn options() -> QualifyOptions {
    QualifyOptions {
        max_initial_qualify_time: Duration::from_millis(1),
        ..QualifyOptions::default()
    }
}

struct Running {
    qualifier: Qualifier,
    location: Arc<Location>,
    notifier: sip_services::QualifyNotifier,
}

async fn start(conf: &str, sender: &FakeSender) -> Running {
    let objects = Arc::new(support::objects(conf).await);
    let location = Arc::new(Location::new());
    let (notifier, inbox) = qualify_channel();
    let qualifier = Qualifier::start(
        inbox,
        Arc::new(sender.clone()),
        objects,
        Arc::clone(&location),
        options(),
    );
    Running {
        qualifier,
        location,
        notifier,
    }
}

fn status_of_static(r: &Running) -> Option<(ContactStatus, Duration)> {
    r.qualifier
        .results()
        .get(&static_contact_id("a", A_URI))
        .map(|o| (o.status, o.rtt))
}

#[tokio::test(start_paused = true)]
async fn a_static_contact_is_probed_every_qualify_frequency() {
    let sender = FakeSender::new(Peer::Answer(200, Duration::from_millis(20)));
    let t0 = Instant::now();
    let r = start(&static_conf(""), &sender).await;
    tokio::time::sleep(Duration::from_millis(21_500)).await;
    let times: Vec<u64> = sender
        .sent_to(A_URI)
        .iter()
        .map(|t| (*t - t0).as_secs())
        .collect();
    assert_eq!(times, vec![0, 5, 10, 15, 20]);
    assert_eq!(
        status_of_static(&r),
        Some((ContactStatus::Reachable, Duration::from_millis(20)))
    );
}

#[tokio::test(start_paused = true)]
async fn silence_past_qualify_timeout_is_unreachable_then_an_answer_is_reachable() {
    let sender = FakeSender::new(Peer::Silent);
    let r = start(&static_conf(""), &sender).await;
    // First probe at 0, qualify_timeout 1 s.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(status_of_static(&r), None, "still waiting for the answer");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        status_of_static(&r),
        Some((ContactStatus::Unreachable, Duration::ZERO))
    );
    // The peer comes back: the next round (at 5 s) makes it Reachable with its RTT.
    sender.set(Peer::Answer(200, Duration::from_millis(35)));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        status_of_static(&r),
        Some((ContactStatus::Reachable, Duration::from_millis(35)))
    );
}

#[tokio::test(start_paused = true)]
async fn any_final_response_is_reachable_unless_qualify_2xx_only() {
    let sender = FakeSender::new(Peer::Answer(404, Duration::from_millis(5)));
    let r = start(&static_conf(""), &sender).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        status_of_static(&r).map(|s| s.0),
        Some(ContactStatus::Reachable)
    );

    let sender = FakeSender::new(Peer::Answer(404, Duration::from_millis(5)));
    let r = start(&static_conf("qualify_2xx_only=yes"), &sender).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        status_of_static(&r),
        Some((ContactStatus::Unreachable, Duration::ZERO))
    );
    sender.set(Peer::Answer(200, Duration::from_millis(5)));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        status_of_static(&r).map(|s| s.0),
        Some(ContactStatus::Reachable)
    );
}

fn dynamic(aor: &str, uri: &str, frequency: u32) -> Contact {
    Contact {
        meta: Meta {
            id: Text::from(dynamic_contact_id(aor, uri)),
            ..Meta::default()
        },
        uri: Text::from(uri),
        expiration_time: unix_now() + 3600,
        qualify_frequency: frequency,
        qualify_timeout: 1.0,
        endpoint: Text::from(aor),
        ..Contact::default()
    }
}

const DYN_CONF: &str = "[b]\ntype=aor\nmax_contacts=5\nqualify_frequency=10\n";

#[tokio::test(start_paused = true)]
async fn a_registered_contact_is_probed_at_once_its_status_reaches_the_location_and_a_removed_one_stops(
) {
    let sender = FakeSender::new(Peer::Answer(200, Duration::from_millis(10)));
    let t0 = Instant::now();
    let r = start(DYN_CONF, &sender).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(sender.sent().is_empty(), "no contact yet");

    // The registrar adds a contact and says so.
    let uri = "sip:b@198.51.100.7:5060";
    r.location
        .load(&dynamic("b", uri, 10), ContactStatus::NonQualified);
    r.notifier.changed("b");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(sender.sent_to(uri).len(), 1, "probed at once");
    assert_eq!((sender.sent_to(uri)[0] - t0).as_secs(), 3);
    // remove_unavailable reads the status from the location service.
    let current = r.location.contacts("b", unix_now());
    assert_eq!(current[0].status, ContactStatus::Reachable);

    // Next rounds at 13 and 23 s.
    tokio::time::sleep(Duration::from_millis(20_000)).await;
    assert_eq!(sender.sent_to(uri).len(), 3);

    // Silent from the round at 33 s: Unreachable at 34 s (qualify_timeout 1 s).
    sender.set(Peer::Silent);
    tokio::time::sleep(Duration::from_secs(11)).await;
    let current = r.location.contacts("b", unix_now());
    assert_eq!(current[0].status, ContactStatus::Unreachable);
    assert!(current[0].status.is_unavailable());

    // Removed (by REGISTER or expiry, without a note): no more probes.
    assert!(r.location.remove(&dynamic_contact_id("b", uri)).is_some());
    let before = sender.sent_to(uri).len();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(sender.sent_to(uri).len(), before);
    assert!(r
        .qualifier
        .results()
        .get(&dynamic_contact_id("b", uri))
        .is_none());
}

#[tokio::test(start_paused = true)]
async fn contacts_loaded_before_start_are_found_by_the_first_scan_and_qualify_off_is_left_alone() {
    let sender = FakeSender::new(Peer::Answer(200, Duration::from_millis(10)));
    let objects = Arc::new(support::objects(DYN_CONF).await);
    let location = Arc::new(Location::new());
    let on = "sip:b@198.51.100.7:5060";
    let off = "sip:b@198.51.100.8:5060";
    location.load(&dynamic("b", on, 10), ContactStatus::Unknown);
    location.load(&dynamic("b", off, 0), ContactStatus::NonQualified);
    let (_notifier, inbox) = qualify_channel();
    let _q = Qualifier::start(
        inbox,
        Arc::new(sender.clone()),
        objects,
        Arc::clone(&location),
        QualifyOptions::default(),
    );
    // The first round is at a random time within the period (10 s).
    tokio::time::sleep(Duration::from_millis(10_100)).await;
    assert_eq!(sender.sent_to(on).len(), 1);
    assert!(sender.sent_to(off).is_empty());
    let statuses: Vec<ContactStatus> = location
        .contacts("b", unix_now())
        .iter()
        .map(|c| c.status)
        .collect();
    // Sorted by URI: .7 then .8.
    assert_eq!(
        statuses,
        vec![ContactStatus::Reachable, ContactStatus::NonQualified]
    );
}

#[tokio::test(start_paused = true)]
async fn a_thousand_contacts_are_one_task() {
    let uris: Vec<String> = (0..1000)
        .map(|i| format!("sip:p{i}@10.0.{}.{}:5060", i / 250, i % 250 + 1))
        .collect();
    let conf = format!(
        "[many]\ntype=aor\nqualify_frequency=30\ncontact={}\n",
        uris.join(",")
    );
    let sender = FakeSender::new(Peer::Answer(200, Duration::from_millis(10)));
    let before = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let r = start(&conf, &sender).await;
    tokio::time::sleep(Duration::from_secs(31)).await;
    let alive = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    assert!(
        alive <= before + 1,
        "{alive} tasks alive for 1000 contacts (before: {before})"
    );
    assert_eq!(r.qualifier.results().len(), 1000);
    let sent = sender.sent();
    assert!(
        (1000..=2000).contains(&sent.len()),
        "{} probes in 31 s",
        sent.len()
    );
}

#[test]
fn the_options_request_follows_outbound_proxy_and_path_and_drops_our_nat_parameter() {
    let mut c = dynamic(
        "b",
        "sip:b@203.0.113.5:40321;transport=udp;x-ast-orig-host=10.0.0.2:5060",
        10,
    );
    c.outbound_proxy = Text::from("sip:proxy.example.com:5070");
    c.path = Text::from("<sip:edge1.example.com;lr>,<sip:edge2.example.com;lr>");
    let req = options_for(&c, "asterisk").unwrap();
    let m = &req.message;
    assert_eq!(
        m.request_uri().unwrap().as_str(),
        "sip:b@203.0.113.5:40321;transport=udp"
    );
    let routes: Vec<String> = m
        .route()
        .unwrap()
        .iter()
        .map(|r| r.uri().as_str().to_owned())
        .collect();
    assert_eq!(
        routes,
        vec![
            "sip:proxy.example.com:5070;lr",
            "sip:edge1.example.com;lr",
            "sip:edge2.example.com;lr"
        ]
    );
    match &req.destination {
        Destination::Uri(u) => assert_eq!(u.as_str(), "sip:proxy.example.com:5070;lr"),
        other => panic!("{other:?}"),
    }
    assert!(m.from().unwrap().tag().is_some());

    // No proxy, no Path: straight to the contact.
    let plain = options_for(&dynamic("b", "sip:b@192.0.2.4", 10), "asterisk").unwrap();
    assert!(matches!(plain.destination, Destination::RequestUri));
    // A contact that is not a SIP URI is refused, not sent.
    assert!(options_for(&dynamic("b", "tel:+15551234", 10), "asterisk").is_err());
}

#[tokio::test(start_paused = true)]
async fn qualify_turned_off_by_a_refresh_makes_the_contact_nonqualified_and_stops_probes() {
    let sender = FakeSender::new(Peer::Answer(200, Duration::from_millis(10)));
    let r = start(DYN_CONF, &sender).await;
    let uri = "sip:b@198.51.100.7:5060";
    r.location
        .load(&dynamic("b", uri, 10), ContactStatus::NonQualified);
    r.notifier.changed("b");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        r.location.contacts("b", unix_now())[0].status,
        ContactStatus::Reachable
    );
    // A refresh after a reload set qualify_frequency=0 (the registrar keeps the status
    // on an update; the scheduler turns it to NonQualified).
    r.location
        .load(&dynamic("b", uri, 0), ContactStatus::Reachable);
    r.notifier.changed("b");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        r.location.contacts("b", unix_now())[0].status,
        ContactStatus::NonQualified
    );
    let before = sender.sent_to(uri).len();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(sender.sent_to(uri).len(), before);
}

#[tokio::test(start_paused = true)]
async fn a_probe_still_out_is_not_stacked_when_qualify_timeout_exceeds_the_period() {
    let sender = FakeSender::new(Peer::Silent);
    let conf =
        format!("[a]\ntype=aor\ncontact={A_URI}\nqualify_frequency=1\nqualify_timeout=3.5\n");
    let _r = start(&conf, &sender).await;
    tokio::time::sleep(Duration::from_millis(9_500)).await;
    // Sent at 0, then the first round after each timeout (3.5 s → 4, 7.5 → 8): 3.
    assert_eq!(sender.sent_to(A_URI).len(), 3, "{:?}", sender.sent());
}

#[tokio::test(start_paused = true)]
async fn with_qualify_2xx_only_a_challenge_is_answered_with_outbound_auth() {
    let conf = "[b]\ntype=aor\nmax_contacts=5\nqualify_frequency=10\nqualify_2xx_only=yes\n\
                [b]\ntype=endpoint\naors=b\noutbound_auth=b-out\n\
                [b-out]\ntype=auth\nusername=probe\npassword=pw\n\
                [c]\ntype=aor\nmax_contacts=5\nqualify_frequency=10\nqualify_2xx_only=yes\n\
                [c]\ntype=endpoint\naors=c\n";
    let sender = FakeSender::new(Peer::Challenge("probe"));
    let r = start(conf, &sender).await;
    let b = dynamic("b", "sip:b@192.0.2.7:5060", 10);
    let mut c = dynamic("c", "sip:c@192.0.2.8:5060", 10);
    c.endpoint = Text::from("c");
    for contact in [&b, &c] {
        let mut contact = contact.clone();
        contact.qualify_2xx_only = true;
        r.location.load(&contact, ContactStatus::NonQualified);
        r.notifier.changed(contact.aor());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // b's endpoint has outbound_auth: the OPTIONS is sent again with credentials and
    // the 200 makes it Reachable. c's has none: the 401 stands, Unreachable.
    let status = |aor: &str, uri: &str| {
        r.qualifier
            .results()
            .get(&dynamic_contact_id(aor, uri))
            .map(|o| o.status)
    };
    assert_eq!(
        status("b", "sip:b@192.0.2.7:5060"),
        Some(ContactStatus::Reachable)
    );
    assert_eq!(
        status("c", "sip:c@192.0.2.8:5060"),
        Some(ContactStatus::Unreachable)
    );
    assert_eq!(sender.sent_to("sip:b@192.0.2.7:5060").len(), 2, "one retry");
    assert_eq!(sender.sent_to("sip:c@192.0.2.8:5060").len(), 1);
}
