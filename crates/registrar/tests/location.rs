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

// ---- Contacts bound to a connection (prune_on_boot, spec §6.7) ----

/// A contact registered over TCP with rewrite_contact: `prune_on_boot`.
fn tcp(aor: &str, uri: &str, expires_at: u64) -> Contact {
    Contact {
        prune_on_boot: true,
        ..contact(aor, uri, expires_at)
    }
}

fn update(c: Contact) -> Change {
    Change {
        kind: ChangeKind::Update,
        ..add(c)
    }
}

fn delete(c: Contact) -> Change {
    Change {
        kind: ChangeKind::Delete,
        ..add(c)
    }
}

fn uris(contacts: &[Contact]) -> Vec<&str> {
    contacts.iter().map(|c| c.uri.as_str()).collect()
}

#[test]
fn a_closed_connection_takes_its_prune_on_boot_contacts_and_nothing_else() {
    let loc = Location::new();
    let alice = tcp("alice", "sip:alice@203.0.113.5:40001;transport=tcp", 1000);
    let alice_udp = contact("alice", "sip:alice@203.0.113.5:5060", 1000);
    let bob = tcp("bob", "sip:bob@203.0.113.6:40002;transport=tcp", 1000);
    // A REGISTER's contacts that are not prune_on_boot are not bound to its connection.
    assert!(loc
        .apply_on(&[add(alice.clone()), add(alice_udp.clone())], Some(7))
        .is_empty());
    assert!(loc.apply_on(&[add(bob.clone())], Some(8)).is_empty());
    assert_eq!(loc.stats().bound, 2);
    assert_eq!(uris(&loc.bound_to(7)), [alice.uri.as_str()]);
    assert_eq!(loc.bound_to(7)[0], alice);

    assert!(loc.connection_closed(99).is_empty());
    assert_eq!(loc.connection_closed(7), vec![alice]);
    assert_eq!(
        uris(
            &loc.contacts("alice", 0)
                .iter()
                .map(|c| c.contact.clone())
                .collect::<Vec<_>>()
        ),
        [alice_udp.uri.as_str()]
    );
    assert_eq!(loc.contacts("bob", 0).len(), 1);
    assert_eq!(loc.stats().bound, 1);
    // Closing twice finds nothing the second time.
    assert!(loc.connection_closed(7).is_empty());
    assert_eq!(loc.connection_closed(8), vec![bob]);
    assert_eq!(loc.stats().bound, 0);
    assert_eq!(loc.stats().contacts, 1);
    assert_eq!(
        loc.next_expiry(),
        Some(1000),
        "alice's UDP contact is still scheduled"
    );
}

#[test]
fn apply_and_load_bind_nothing() {
    let loc = Location::new();
    loc.apply(&[add(tcp(
        "alice",
        "sip:alice@203.0.113.5:40001;transport=tcp",
        1000,
    ))]);
    // Loaded at start: another node's connection, or one gone with the last process.
    loc.load(
        &tcp("bob", "sip:bob@203.0.113.6:40002;transport=tcp", 1000),
        ContactStatus::Unknown,
    );
    assert_eq!(loc.stats().bound, 0);
    for c in 0..4 {
        assert!(loc.connection_closed(c).is_empty());
    }
    assert_eq!(loc.stats().contacts, 2);
}

#[test]
fn a_refresh_moves_the_contact_to_the_refreshing_connection() {
    let loc = Location::new();
    let uri = "sip:alice@203.0.113.5:5060;transport=tcp";
    loc.apply_on(&[add(tcp("alice", uri, 1000))], Some(1));
    // The phone reconnected from the same address and port: same contact, new connection.
    loc.apply_on(&[update(tcp("alice", uri, 2000))], Some(2));
    assert_eq!(loc.stats().bound, 1);
    assert!(loc.bound_to(1).is_empty());
    assert!(
        loc.connection_closed(1).is_empty(),
        "the old connection's late close must not remove the refreshed contact"
    );
    assert_eq!(loc.contacts("alice", 0).len(), 1);
    assert_eq!(uris(&loc.connection_closed(2)), [uri]);
    assert_eq!(loc.stats(), Default::default());
}

#[test]
fn refresh_without_prune_on_boot_delete_remove_and_expiry_unbind() {
    let loc = Location::new();
    let a = tcp("alice", "sip:alice@203.0.113.5:40001;transport=tcp", 100);
    let b = tcp("bob", "sip:bob@203.0.113.5:40001;transport=tcp", 200);
    let c = tcp("carol", "sip:carol@203.0.113.5:40001;transport=tcp", 300);
    let d = tcp("dave", "sip:dave@203.0.113.5:40001;transport=tcp", 400);
    loc.apply_on(
        &[
            add(a.clone()),
            add(b.clone()),
            add(c.clone()),
            add(d.clone()),
        ],
        Some(5),
    );
    assert_eq!(loc.stats().bound, 4);
    // Refreshed over UDP (or without rewrite_contact): no longer bound.
    let a = Contact {
        prune_on_boot: false,
        ..a
    };
    loc.apply_on(&[update(a.clone())], None);
    assert_eq!(loc.stats().bound, 3);
    loc.apply_on(&[delete(b.clone())], Some(5));
    assert_eq!(loc.stats().bound, 2);
    assert!(loc.remove(&c.meta.id).is_some());
    assert_eq!(loc.stats().bound, 1);
    assert_eq!(loc.expire(400), vec![a, d]);
    assert_eq!(loc.stats(), Default::default());
    assert!(loc.connection_closed(5).is_empty());
}

#[test]
fn several_contacts_and_aors_on_one_connection() {
    let loc = Location::with_shards(4);
    // A multi-line phone: three accounts, one of them with two contacts, one connection.
    let lines = [
        tcp("l1", "sip:l1@203.0.113.5:40001;transport=tcp", 1000),
        tcp("l2", "sip:l2@203.0.113.5:40001;transport=tcp", 1000),
        tcp("l2", "sip:l2b@203.0.113.5:40001;transport=tcp", 1000),
        tcp("l3", "sip:l3@203.0.113.5:40001;transport=tcp", 1000),
    ];
    for l in &lines {
        loc.apply_on(&[add(l.clone())], Some(11));
    }
    let other = tcp("l1", "sip:l1@203.0.113.9:40009;transport=tcp", 1000);
    loc.apply_on(&[add(other.clone())], Some(12));
    assert_eq!(loc.stats().bound, 5);
    assert_eq!(loc.bound_to(11), lines);
    // Unbinding the first of a connection's AORs keeps the others findable.
    loc.apply(&[delete(lines[0].clone())]);
    assert_eq!(loc.bound_to(11), lines[1..]);
    assert_eq!(loc.connection_closed(11), lines[1..]);
    assert_eq!(loc.bound_to(12), vec![other]);
    assert_eq!(loc.stats().contacts, 1);
    assert_eq!(loc.stats().bound, 1);
}

#[test]
fn a_register_applied_after_its_connection_closed_is_undone() {
    let loc = Location::new();
    let a = tcp("alice", "sip:alice@203.0.113.5:40001;transport=tcp", 1000);
    // The connection closed while the REGISTER that came on it was being stored.
    assert!(loc.connection_closed(3).is_empty());
    assert_eq!(loc.apply_on(&[add(a.clone())], Some(3)), vec![a]);
    assert_eq!(loc.stats(), Default::default());
    // Contacts that are not bound stay: the REGISTER did store them.
    let udp = contact("alice", "sip:alice@203.0.113.5:5060", 1000);
    assert!(loc.apply_on(&[add(udp)], Some(3)).is_empty());
    assert_eq!(loc.stats().contacts, 1);
}

/// Random adds, refreshes, deletes, expiries and closes against a model: the index
/// always names exactly the contacts whose latest change bound them to a connection,
/// and a REGISTER applied on an already closed connection is undone.
#[test]
fn the_index_follows_every_change() {
    use std::collections::{BTreeMap, BTreeSet};

    let loc = Location::with_shards(4);
    // contact id → (contact, connection it is bound to)
    let mut model: BTreeMap<String, (Contact, Option<u64>)> = BTreeMap::new();
    let mut closed: BTreeSet<u64> = BTreeSet::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut now = 0;
    for step in 0..5000u64 {
        // New connections come as time goes by; a few recent ones are in use.
        let base = 100 + step / 200;
        let aor = format!("a{}", next(6));
        let uri = format!("sip:{aor}@203.0.113.{}:4000;transport=tcp", next(4));
        let conn = base + next(5);
        let prune = next(4) != 0;
        let c = Contact {
            prune_on_boot: prune,
            ..contact(&aor, &uri, now + 1 + next(50))
        };
        let id = c.meta.id.to_string();
        match next(12) {
            0..=6 => {
                let kind = if model.contains_key(&id) {
                    ChangeKind::Update
                } else {
                    ChangeKind::Add
                };
                let undone = loc.apply_on(
                    &[Change {
                        kind,
                        ..add(c.clone())
                    }],
                    Some(conn),
                );
                if prune && closed.contains(&conn) {
                    assert_eq!(undone, vec![c.clone()], "step {step}");
                    model.remove(&id);
                } else {
                    assert!(undone.is_empty(), "step {step}");
                    model.insert(id, (c.clone(), prune.then_some(conn)));
                }
            }
            7 => {
                if let Some((old, _)) = model.remove(&id) {
                    loc.apply(&[delete(old)]);
                }
            }
            8 => {
                now += next(20);
                let mut gone: Vec<String> = loc
                    .expire(now)
                    .into_iter()
                    .map(|c| c.meta.id.to_string())
                    .collect();
                gone.sort();
                let want: Vec<String> = model
                    .iter()
                    .filter(|(_, (c, _))| c.expiration_time <= now)
                    .map(|(id, _)| id.clone())
                    .collect();
                assert_eq!(gone, want, "step {step}");
                model.retain(|_, (c, _)| c.expiration_time > now);
            }
            _ => {
                let closing = base + next(5);
                closed.insert(closing);
                let got: Vec<String> = loc
                    .connection_closed(closing)
                    .into_iter()
                    .map(|c| c.meta.id.to_string())
                    .collect();
                let mut want: Vec<(&str, &str, String)> = model
                    .iter()
                    .filter(|(_, (_, on))| *on == Some(closing))
                    .map(|(id, (c, _))| (c.aor(), c.uri.as_str(), id.clone()))
                    .collect();
                want.sort();
                let want: Vec<String> = want.into_iter().map(|(_, _, id)| id).collect();
                assert_eq!(got, want, "step {step}: sorted by AOR and URI");
                model.retain(|_, (_, on)| *on != Some(closing));
            }
        }
        for conn in base.saturating_sub(2)..base + 5 {
            let want: Vec<String> = model
                .iter()
                .filter(|(_, (_, on))| *on == Some(conn))
                .map(|(id, _)| id.clone())
                .collect();
            let mut got: Vec<String> = loc
                .bound_to(conn)
                .into_iter()
                .map(|c| c.meta.id.to_string())
                .collect();
            got.sort();
            assert_eq!(got, want, "step {step}, connection {conn}");
        }
        assert_eq!(
            loc.stats().bound,
            model.values().filter(|(_, on)| on.is_some()).count(),
            "step {step}"
        );
        assert_eq!(loc.stats().contacts, model.len(), "step {step}");
    }
}
