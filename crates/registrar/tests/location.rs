//! The location service: lookups, status, expiry order.

use sip_registrar::{
    dynamic_contact_id, Change, ChangeKind, ChangeReason, ContactStatus, Location,
};
use sorcery::object::Meta;
use sorcery::types::Contact;

fn contact(aor: &str, uri: &str, expires_at: u64) -> Contact {
    Contact {
        meta: Meta {
            id: dynamic_contact_id(aor, uri).into(),
            ..Meta::default()
        },
        uri: uri.into(),
        expiration_time: expires_at,
        call_id: "cid".into(),
        via_addr: "10.0.0.1".into(),
        via_port: 5060,
        endpoint: aor.into(),
        user_agent: "Phone".into(),
        qualify_timeout: 3.0,
        ..Contact::default()
    }
}

fn add(c: Contact) -> Change {
    Change {
        kind: ChangeKind::Add,
        reason: ChangeReason::Request,
        contact: c,
        expires_in: 0,
    }
}

#[test]
fn records_round_trip_and_lookups_are_sorted() {
    let loc = Location::new();
    let b = contact("alice", "sip:alice@10.0.0.9", 500);
    let a = contact("alice", "sip:alice@10.0.0.1", 500);
    loc.apply(&[add(b.clone()), add(a.clone())]);
    let got = loc.contacts("alice", 100);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].contact, a);
    assert_eq!(got[1].contact, b);
    assert_eq!(got[0].status, ContactStatus::NonQualified);
    assert!(loc.contacts("bob", 100).is_empty());
    // Past due but not yet collected: not returned.
    assert!(loc.contacts("alice", 500).is_empty());
}

#[test]
fn explicit_ids_survive() {
    let loc = Location::new();
    let mut c = contact("alice", "sip:alice@10.0.0.1", 500);
    c.meta.id = "alice;@legacy-id".into();
    loc.load(&c, ContactStatus::Reachable);
    assert_eq!(loc.contacts("alice", 0)[0].contact, c);
    assert_eq!(
        loc.remove("alice;@legacy-id").map(|c| c.uri),
        Some("sip:alice@10.0.0.1".into())
    );
    assert_eq!(loc.stats().contacts, 0);
}

#[test]
fn update_keeps_status_and_reschedules() {
    let loc = Location::new();
    loc.apply(&[add(contact("alice", "sip:alice@10.0.0.1", 100))]);
    assert!(loc.set_status("alice", "sip:alice@10.0.0.1", ContactStatus::Unreachable));
    assert!(!loc.set_status("alice", "sip:alice@10.0.0.2", ContactStatus::Unreachable));
    loc.apply(&[Change {
        kind: ChangeKind::Update,
        ..add(contact("alice", "sip:alice@10.0.0.1", 900))
    }]);
    assert_eq!(loc.next_expiry(), Some(900));
    assert_eq!(
        loc.contacts("alice", 0)[0].status,
        ContactStatus::Unreachable
    );
    assert!(loc.expire(899).is_empty());
    assert_eq!(loc.expire(900).len(), 1);
    assert_eq!(loc.next_expiry(), None);
}

#[test]
fn expiry_in_time_order_across_shards() {
    let loc = Location::with_shards(8);
    let mut changes = Vec::new();
    for i in 0..200u64 {
        // Times interleave across AORs and shards; two bindings per AOR.
        let aor = format!("u{i}");
        changes.push(add(contact(
            &aor,
            &format!("sip:{aor}@10.0.0.1"),
            1000 + (i * 37) % 200,
        )));
        changes.push(add(contact(
            &aor,
            &format!("sip:{aor}@10.0.0.2"),
            1000 + (i * 91) % 200,
        )));
    }
    loc.apply(&changes);
    assert_eq!(loc.stats().contacts, 400);
    assert_eq!(loc.next_expiry(), Some(1000));
    let mut all = Vec::new();
    let mut now = 999;
    while let Some(t) = loc.next_expiry() {
        assert!(t > now, "next_expiry moves forward");
        now = t;
        let got = loc.expire(now);
        assert!(!got.is_empty());
        assert!(got.iter().all(|c| c.expiration_time == now));
        all.extend(got);
    }
    assert_eq!(all.len(), 400);
    assert!(all
        .windows(2)
        .all(|w| w[0].expiration_time <= w[1].expiration_time));
    assert_eq!(loc.stats(), Default::default());
}

#[test]
fn delete_unschedules() {
    let loc = Location::new();
    let c = contact("alice", "sip:alice@10.0.0.1", 100);
    loc.apply(&[add(c.clone())]);
    loc.apply(&[Change {
        kind: ChangeKind::Delete,
        ..add(c)
    }]);
    assert_eq!(loc.next_expiry(), None);
    assert!(loc.expire(u64::MAX).is_empty());
}
