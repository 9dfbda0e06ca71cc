//! Every registrar rule of spec §6.2–6.9, through the public API.

use sip_message::{HeaderKind, Message};
use sip_registrar::{
    register, ChangeKind, ChangeReason, ContactStatus, Current, Decision, Location, Registration,
    Source, TransportKind,
};
use sorcery::object::Meta;
use sorcery::types::Aor;
use sorcery::value::{Accum, Text};

const NOW: u64 = 1_785_000_000;

fn aor(max: u32) -> Aor {
    Aor {
        meta: Meta {
            id: "alice".into(),
            ..Meta::default()
        },
        max_contacts: max,
        minimum_expiration: 60,
        maximum_expiration: 7200,
        default_expiration: 3600,
        qualify_timeout: 3.0,
        ..Aor::default()
    }
}

/// A REGISTER with the given extra header lines (each without CRLF).
fn req(lines: &[&str]) -> Message {
    let mut s = String::from(
        "REGISTER sip:example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.9:5070;branch=z9hG4bKproxy\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bKphone\r\n\
         From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\n\
         Call-ID: call-1@10.0.0.2\r\nCSeq: 7 REGISTER\r\nUser-Agent: TestPhone 1.0\r\n",
    );
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    Message::parse(s.into_bytes()).expect("test request parses")
}

fn udp() -> Source {
    Source {
        addr: "203.0.113.5:40321".parse().unwrap(),
        transport: TransportKind::Udp,
    }
}

struct Run<'a> {
    aor: &'a Aor,
    current: Vec<Current>,
    source: Source,
    rewrite: bool,
    now: u64,
}

impl<'a> Run<'a> {
    fn new(aor: &'a Aor) -> Self {
        Run {
            aor,
            current: Vec::new(),
            source: udp(),
            rewrite: false,
            now: NOW,
        }
    }
    fn go(&self, m: &Message) -> Decision {
        register(&Registration {
            request: m,
            endpoint: "alice-ep",
            aor: self.aor,
            current: &self.current,
            source: self.source,
            rewrite_contact: self.rewrite,
            reg_server: "node1",
            now: self.now,
        })
    }
}

fn contacts(d: &Decision) -> Vec<&str> {
    d.reply.header_values(HeaderKind::Contact).collect()
}

/// A stored dynamic contact as the registrar would have made it.
fn bound(uri: &str, expires_at: u64, status: ContactStatus) -> Current {
    let a = aor(10);
    let mut r = Run::new(&a);
    r.now = expires_at - 3600;
    let m = req(&[&format!("Contact: <{uri}>;expires=3600")]);
    let d = r.go(&m);
    assert_eq!(d.reply.code, 200, "{:?}", d.reply);
    Current {
        contact: d.changes[0].contact.clone(),
        status,
    }
}

#[test]
fn add_stores_every_field() {
    let a = aor(1);
    let d = Run::new(&a).go(&req(&["Contact: <sip:alice@10.0.0.2:5062>;expires=300"]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(d.changes.len(), 1);
    let ch = &d.changes[0];
    assert_eq!(
        (ch.kind, ch.reason, ch.expires_in),
        (ChangeKind::Add, ChangeReason::Request, 300)
    );
    let c = &ch.contact;
    assert!(c.meta.id.starts_with("alice;@") && c.meta.id.len() == "alice;@".len() + 32);
    assert_eq!(c.aor(), "alice");
    assert_eq!(&*c.uri, "sip:alice@10.0.0.2:5062");
    assert_eq!(c.expiration_time, NOW + 300);
    assert_eq!(&*c.user_agent, "TestPhone 1.0");
    assert_eq!((&*c.via_addr, c.via_port), ("10.0.0.2", 5062)); // bottom-most Via
    assert_eq!(&*c.call_id, "call-1@10.0.0.2");
    assert_eq!(&*c.endpoint, "alice-ep");
    assert_eq!(&*c.reg_server, "node1");
    assert_eq!(c.qualify_timeout, 3.0);
    assert!(!c.prune_on_boot);
    assert_eq!(contacts(&d), ["<sip:alice@10.0.0.2:5062>;expires=300"]);
    // No Expires header in the request ⇒ none in the 200; Date always.
    assert_eq!(d.reply.header_values(HeaderKind::Expires).count(), 0);
    let date: Vec<_> = d.reply.header_values(HeaderKind::Date).collect();
    assert_eq!(date.len(), 1);
    assert!(date[0].ends_with(" GMT"));
}

#[test]
fn expires_remaining_in_the_200_is_exact() {
    let a = aor(1);
    let mut r = Run::new(&a);
    r.current = vec![bound(
        "sip:alice@10.0.0.2:5062",
        NOW + 1000,
        ContactStatus::Reachable,
    )];
    // A query 1000 s before expiry shows 1000, not 999 (Asterisk's truncation).
    let d = r.go(&req(&[]));
    assert_eq!(contacts(&d), ["<sip:alice@10.0.0.2:5062>;expires=1000"]);
}

#[test]
fn refresh_updates_and_recopies() {
    let mut a = aor(1);
    a.qualify_frequency = 30;
    let mut r = Run::new(&a);
    r.current = vec![bound(
        "sip:alice@10.0.0.2:5062",
        NOW + 10,
        ContactStatus::Reachable,
    )];
    let old_id = r.current[0].contact.meta.id.clone();
    assert_eq!(r.current[0].contact.qualify_frequency, 0);
    let d = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.2:5062>",
        "Expires: 600",
    ]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(d.changes.len(), 1);
    let ch = &d.changes[0];
    assert_eq!(ch.kind, ChangeKind::Update);
    assert_eq!(ch.contact.meta.id, old_id);
    assert_eq!(ch.contact.expiration_time, NOW + 600);
    assert_eq!(ch.contact.qualify_frequency, 30);
    assert_eq!(
        d.reply
            .header_values(HeaderKind::Expires)
            .collect::<Vec<_>>(),
        ["600"]
    );
}

#[test]
fn refresh_matches_by_rfc3261_uri_equality() {
    let a = aor(1);
    let mut r = Run::new(&a);
    r.current = vec![bound(
        "sip:alice@Host.Example:5062;a=1;b=2",
        NOW + 10,
        ContactStatus::Unknown,
    )];
    let d = r.go(&req(&["Contact: <sip:alice@host.example:5062;b=2;a=1>"]));
    assert_eq!(d.reply.code, 200, "{:?}", d.reply);
    assert_eq!(d.changes[0].kind, ChangeKind::Update);
}

#[test]
fn remove_one_with_expires_zero() {
    let a = aor(5);
    let mut r = Run::new(&a);
    r.current = vec![
        bound("sip:alice@10.0.0.2", NOW + 100, ContactStatus::Unknown),
        bound("sip:alice@10.0.0.3", NOW + 100, ContactStatus::Unknown),
    ];
    let d = r.go(&req(&["Contact: <sip:alice@10.0.0.2>;expires=0"]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(d.changes.len(), 1);
    assert_eq!(
        (d.changes[0].kind, d.changes[0].reason),
        (ChangeKind::Delete, ChangeReason::Request)
    );
    assert_eq!(&*d.changes[0].contact.uri, "sip:alice@10.0.0.2");
    assert_eq!(contacts(&d), ["<sip:alice@10.0.0.3>;expires=100"]);
}

#[test]
fn unknown_contact_with_zero_is_ignored() {
    let a = aor(5);
    let d = Run::new(&a).go(&req(&["Contact: <sip:alice@10.9.9.9>", "Expires: 0"]));
    assert_eq!(d.reply.code, 200);
    assert!(d.changes.is_empty());
    assert_eq!(d.ignored, ["sip:alice@10.9.9.9"]);
    assert_eq!(
        d.reply
            .header_values(HeaderKind::Expires)
            .collect::<Vec<_>>(),
        ["0"]
    );
}

#[test]
fn wildcard_with_expires_zero_removes_all_dynamic() {
    let mut a = aor(5);
    a.contact = Accum(vec![Text::from("sip:alice@static.example")].into_boxed_slice());
    let mut r = Run::new(&a);
    r.current = vec![
        bound("sip:alice@10.0.0.2", NOW + 100, ContactStatus::Unknown),
        bound("sip:alice@10.0.0.3", NOW + 100, ContactStatus::Unknown),
    ];
    let d = r.go(&req(&["Contact: *", "Expires: 0"]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(d.changes.len(), 2);
    assert!(d.changes.iter().all(|c| c.kind == ChangeKind::Delete));
    assert_eq!(contacts(&d), ["<sip:alice@static.example>"]);
}

#[test]
fn wildcard_without_zero_or_with_others_is_400() {
    let a = aor(5);
    let r = Run::new(&a);
    // No Expires: the default applies, which is not 0.
    assert_eq!(r.go(&req(&["Contact: *"])).reply.code, 400);
    assert_eq!(r.go(&req(&["Contact: *", "Expires: 60"])).reply.code, 400);
    let d = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.2>",
        "Contact: *",
        "Expires: 0",
    ]));
    assert_eq!(d.reply.code, 400);
    assert!(d.changes.is_empty());
    let d = r.go(&req(&["Contact: *, <sip:alice@10.0.0.2>", "Expires: 0"]));
    assert_eq!(d.reply.code, 400);
}

#[test]
fn query_lists_bindings_and_changes_nothing() {
    let mut a = aor(5);
    a.contact = Accum(vec![Text::from("sip:alice@static.example")].into_boxed_slice());
    let mut r = Run::new(&a);
    r.current = vec![
        bound("sip:alice@10.0.0.3", NOW + 50, ContactStatus::Unknown),
        bound("sip:alice@10.0.0.2", NOW + 100, ContactStatus::Unknown),
    ];
    let d = r.go(&req(&[]));
    assert_eq!(d.reply.code, 200);
    assert!(d.changes.is_empty());
    assert_eq!(
        contacts(&d),
        [
            "<sip:alice@10.0.0.2>;expires=100",
            "<sip:alice@10.0.0.3>;expires=50",
            "<sip:alice@static.example>"
        ]
    );
}

#[test]
fn clamping_min_max_default() {
    let a = aor(5);
    let r = Run::new(&a);
    let exp = |d: &Decision| d.changes[0].expires_in;
    assert_eq!(
        exp(&r.go(&req(&["Contact: <sip:a@1.1.1.1>;expires=5"]))),
        60
    );
    assert_eq!(
        exp(&r.go(&req(&["Contact: <sip:a@1.1.1.1>;expires=86400"]))),
        7200
    );
    assert_eq!(exp(&r.go(&req(&["Contact: <sip:a@1.1.1.1>"]))), 3600);
    assert_eq!(
        exp(&r.go(&req(&["Contact: <sip:a@1.1.1.1>", "Expires: 120"]))),
        120
    );
    // The parameter wins over the header, and the 200's Expires shows the clamped header.
    let d = r.go(&req(&[
        "Contact: <sip:a@1.1.1.1>;expires=900",
        "Expires: 10",
    ]));
    assert_eq!(exp(&d), 900);
    assert_eq!(
        d.reply
            .header_values(HeaderKind::Expires)
            .collect::<Vec<_>>(),
        ["60"]
    );
    assert_eq!(contacts(&d), ["<sip:a@1.1.1.1>;expires=900"]);
}

#[test]
fn max_contacts_zero_is_403() {
    let a = aor(0);
    let d = Run::new(&a).go(&req(&["Contact: <sip:a@1.1.1.1>"]));
    assert_eq!(d.reply.code, 403);
    assert!(d.changes.is_empty());
}

#[test]
fn max_contacts_reached_is_403_and_nothing_changes() {
    let a = aor(1);
    let mut r = Run::new(&a);
    r.current = vec![bound(
        "sip:alice@10.0.0.2",
        NOW + 100,
        ContactStatus::Unreachable,
    )];
    let d = r.go(&req(&["Contact: <sip:alice@10.0.0.3>"]));
    assert_eq!(d.reply.code, 403);
    assert!(d.reply.reason.contains("maximum configured contacts"));
    assert!(d.changes.is_empty());
    // Removing one and adding one in the same request fits.
    let d = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.2>;expires=0",
        "Contact: <sip:alice@10.0.0.3>",
    ]));
    assert_eq!(d.reply.code, 200);
}

#[test]
fn remove_existing_replaces_the_soonest_expiring() {
    let mut a = aor(2);
    a.remove_existing = true;
    let mut r = Run::new(&a);
    r.current = vec![
        bound("sip:alice@10.0.0.2", NOW + 500, ContactStatus::Reachable),
        bound("sip:alice@10.0.0.3", NOW + 100, ContactStatus::Reachable),
    ];
    let d = r.go(&req(&["Contact: <sip:alice@10.0.0.4>"]));
    assert_eq!(d.reply.code, 200);
    let del: Vec<_> = d
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Delete)
        .map(|c| (&*c.contact.uri, c.reason))
        .collect();
    assert_eq!(del, [("sip:alice@10.0.0.3", ChangeReason::RemoveExisting)]);
    assert_eq!(
        contacts(&d),
        [
            "<sip:alice@10.0.0.2>;expires=500",
            "<sip:alice@10.0.0.4>;expires=3600"
        ]
    );
    // More new contacts than max_contacts cannot fit even by removing everything.
    let d = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.5>",
        "Contact: <sip:alice@10.0.0.6>",
        "Contact: <sip:alice@10.0.0.7>",
    ]));
    assert_eq!(d.reply.code, 403);
}

#[test]
fn remove_existing_prefers_unavailable_with_remove_unavailable() {
    let mut a = aor(2);
    a.remove_existing = true;
    a.remove_unavailable = true;
    let mut r = Run::new(&a);
    r.current = vec![
        bound("sip:alice@10.0.0.2", NOW + 900, ContactStatus::Unreachable),
        bound("sip:alice@10.0.0.3", NOW + 100, ContactStatus::Reachable),
    ];
    let d = r.go(&req(&["Contact: <sip:alice@10.0.0.4>"]));
    assert_eq!(d.reply.code, 200);
    let del: Vec<_> = d
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Delete)
        .map(|c| &*c.contact.uri)
        .collect();
    assert_eq!(del, ["sip:alice@10.0.0.2"]);
}

#[test]
fn remove_unavailable_deletes_unreachable_soonest_first() {
    let mut a = aor(3);
    a.remove_unavailable = true;
    let mut r = Run::new(&a);
    r.current = vec![
        bound("sip:alice@10.0.0.2", NOW + 900, ContactStatus::Unreachable),
        bound("sip:alice@10.0.0.3", NOW + 100, ContactStatus::Reachable),
        bound("sip:alice@10.0.0.4", NOW + 300, ContactStatus::Unreachable),
    ];
    let d = r.go(&req(&["Contact: <sip:alice@10.0.0.5>"]));
    assert_eq!(d.reply.code, 200, "{:?}", d.reply);
    let del: Vec<_> = d
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Delete)
        .map(|c| (&*c.contact.uri, c.reason))
        .collect();
    assert_eq!(
        del,
        [("sip:alice@10.0.0.4", ChangeReason::RemoveUnavailable)]
    );
    // Two new contacts need two unavailable ones removed: both go.
    let d = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.5>",
        "Contact: <sip:alice@10.0.0.6>",
    ]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(
        d.changes
            .iter()
            .filter(|c| c.reason == ChangeReason::RemoveUnavailable)
            .count(),
        2
    );
    // Three would need removing the reachable one too: refused, nothing removed.
    let d = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.5>",
        "Contact: <sip:alice@10.0.0.6>",
        "Contact: <sip:alice@10.0.0.7>",
    ]));
    assert_eq!(d.reply.code, 403);
    assert!(d.changes.is_empty());
}

#[test]
fn static_contacts_never_count_and_are_never_removed() {
    let mut a = aor(1);
    a.contact = Accum(
        vec![
            Text::from("sip:alice@static1.example"),
            Text::from("sip:alice@static2.example"),
        ]
        .into_boxed_slice(),
    );
    let r = Run::new(&a);
    let d = r.go(&req(&["Contact: <sip:alice@10.0.0.2>"]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(
        contacts(&d),
        [
            "<sip:alice@10.0.0.2>;expires=3600",
            "<sip:alice@static1.example>",
            "<sip:alice@static2.example>"
        ]
    );
    // Asking to remove a static contact does nothing to it.
    let d = r.go(&req(&["Contact: <sip:alice@static1.example>;expires=0"]));
    assert_eq!(d.reply.code, 200);
    assert!(d.changes.is_empty());
    assert_eq!(contacts(&d).len(), 2);
}

#[test]
fn non_sip_contacts_are_skipped_and_long_ones_refused() {
    let a = aor(1);
    let r = Run::new(&a);
    let d = r.go(&req(&["Contact: <tel:+15551234>, <sip:alice@10.0.0.2>"]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(d.changes.len(), 1);
    let long = format!("Contact: <sip:alice@10.0.0.2;x={}>", "a".repeat(600));
    assert_eq!(r.go(&req(&[&long])).reply.code, 400);
    assert_eq!(
        r.go(&req(&["Contact: <sip:a@1.1.1.1>;expires=abc"]))
            .reply
            .code,
        400
    );
}

#[test]
fn path_needs_support_path_and_supported() {
    let mut a = aor(1);
    let r = Run::new(&a);
    let path = "Path: <sip:edge.example;lr>";
    // support_path=no: Path ignored, not stored.
    let d = r.go(&req(&["Contact: <sip:alice@10.0.0.2>", path]));
    assert_eq!(d.reply.code, 200);
    assert!(d.changes[0].contact.path.is_empty());
    assert_eq!(d.reply.header_values(HeaderKind::Path).count(), 0);
    a.support_path = true;
    let r = Run::new(&a);
    let d = r.go(&req(&["Contact: <sip:alice@10.0.0.2>", path]));
    assert_eq!(d.reply.code, 420);
    assert!(d.reply.headers.is_empty());
    let d = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.2>",
        path,
        "Path: <sip:core.example;lr>",
        "Supported: path, outbound",
    ]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(
        &*d.changes[0].contact.path,
        "<sip:edge.example;lr>,<sip:core.example;lr>"
    );
    assert_eq!(d.reply.header_values(HeaderKind::Path).count(), 2);
    assert_eq!(
        d.reply
            .header_values(HeaderKind::Supported)
            .collect::<Vec<_>>(),
        ["path"]
    );
}

#[test]
fn rewrite_contact_records_orig_host_and_shows_it_back() {
    let a = aor(2);
    let mut r = Run::new(&a);
    r.rewrite = true;
    let d = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.2:5062;transport=udp>;expires=300",
    ]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(
        &*d.changes[0].contact.uri,
        "sip:alice@203.0.113.5:40321;x-ast-orig-host=10.0.0.2:5062"
    );
    assert_eq!(contacts(&d), ["<sip:alice@10.0.0.2:5062>;expires=300"]);
    // The refresh from the same NAT binding matches the stored rewritten contact.
    r.current = vec![Current {
        contact: d.changes[0].contact.clone(),
        status: ContactStatus::NonQualified,
    }];
    let d2 = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.2:5062;transport=udp>;expires=300",
    ]));
    assert_eq!(d2.changes[0].kind, ChangeKind::Update);
}

#[test]
fn rewrite_contact_applies_to_every_contact_and_sets_prune_on_boot_on_tcp() {
    let a = aor(2);
    let mut r = Run::new(&a);
    r.rewrite = true;
    r.source = Source {
        addr: "203.0.113.5:40321".parse().unwrap(),
        transport: TransportKind::Tcp,
    };
    let d = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.2>, <sip:alice2@10.0.0.2>",
    ]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(d.changes.len(), 2);
    for c in &d.changes {
        assert!(c
            .contact
            .uri
            .contains("@203.0.113.5:40321;transport=tcp;x-ast-orig-host=10.0.0.2"));
        assert!(c.contact.prune_on_boot);
    }
}

#[test]
fn expired_snapshot_entries_are_not_listed_and_get_deleted() {
    let a = aor(1);
    let mut r = Run::new(&a);
    r.current = vec![bound("sip:alice@10.0.0.2", NOW, ContactStatus::Reachable)];
    let d = r.go(&req(&["Contact: <sip:alice@10.0.0.3>"]));
    assert_eq!(d.reply.code, 200);
    assert_eq!(d.changes[0].reason, ChangeReason::Expiration);
    assert_eq!(contacts(&d), ["<sip:alice@10.0.0.3>;expires=3600"]);
}

#[test]
fn decisions_apply_to_the_location_service() {
    let a = aor(3);
    let loc = Location::new();
    let mut r = Run::new(&a);
    let d = r.go(&req(&[
        "Contact: <sip:alice@10.0.0.2>, <sip:alice@10.0.0.3>;expires=60",
    ]));
    loc.apply(&d.changes);
    r.current = loc.contacts("alice", NOW);
    assert_eq!(r.current.len(), 2);
    assert_eq!(r.current[0].contact, d.changes[0].contact);
    let d = r.go(&req(&["Contact: <sip:alice@10.0.0.2>;expires=0"]));
    loc.apply(&d.changes);
    let left = loc.contacts("alice", NOW);
    assert_eq!(left.len(), 1);
    assert_eq!(&*left[0].contact.uri, "sip:alice@10.0.0.3");
}

#[test]
fn garbage_never_panics() {
    let a = aor(3);
    let r = Run::new(&a);
    for bad in [
        "Contact: <sip:alice@10.0.0.2>;expires=99999999999",
        "Contact: <sip:alice@10.0.0.2>;expires",
        "Expires: -1",
        "Contact: <>",
        "Contact: sip:alice@[::1",
        "Path: nonsense",
    ] {
        let d = r.go(&req(&[bad]));
        assert!(
            d.reply.code == 200 || d.reply.code == 400,
            "{bad}: {:?}",
            d.reply
        );
    }
}

#[test]
fn reply_becomes_a_message() {
    let a = aor(1);
    let m = req(&["Contact: <sip:alice@10.0.0.2>;expires=120", "Expires: 120"]);
    let d = Run::new(&a).go(&m);
    let resp = d.reply.to_message(&m, Some("t1"));
    let parsed = Message::parse(resp.to_bytes()).expect("the 200 parses");
    assert_eq!(parsed.status(), Some(200));
    assert_eq!(parsed.to().unwrap().tag(), Some("t1"));
    assert_eq!(parsed.contacts().unwrap().len(), 1);
    assert_eq!(parsed.expires().unwrap(), Some(120));
    assert_eq!(parsed.call_id().unwrap().as_str(), "call-1@10.0.0.2");
    assert!(parsed.date().unwrap().is_some());
    let e = sip_registrar::Reply::aor_not_found("alice\r\n");
    assert_eq!((e.code, e.reason.as_str()), (404, "AOR 'alice' not found"));
}
