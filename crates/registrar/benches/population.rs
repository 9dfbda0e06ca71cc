//! A realistic population of registered phones, shared by the memory bench and test.

use sip_registrar::{dynamic_contact_id, Change, ChangeKind, ChangeReason, Location};
use sorcery::object::Meta;
use sorcery::types::Contact;

const AGENTS: [&str; 4] = [
    "Yealink SIP-T46S 66.86.0.15",
    "Grandstream GXP2170 1.0.11.23",
    "Linphone/5.2.5 (belle-sip/5.2.0)",
    "Zoiper rv2.10.20.3",
];

/// Adds `n` AORs (`u<i>`), one NAT-rewritten contact each, as the registrar makes them
/// for phones on UDP.
pub fn fill(loc: &Location, n: usize) {
    let mut batch = Vec::with_capacity(1024);
    for i in 0..n {
        batch.push(change(i, false));
        if batch.len() == 1024 {
            loc.apply(&batch);
            batch.clear();
        }
    }
    loc.apply(&batch);
}

/// Adds `n` AORs, one contact each as the registrar makes them for phones on TCP with
/// `rewrite_contact=yes`: `prune_on_boot`, each bound to a connection of its own.
pub fn fill_bound(loc: &Location, n: usize) {
    for i in 0..n {
        loc.apply_on(&[change(i, true)], Some(i as u64 + 1));
    }
}

fn change(i: usize, tcp: bool) -> Change {
    let aor = format!("u{}", 100_000 + i);
    let uri = format!(
        "sip:{aor}@198.51.{}.{}:{}{};x-ast-orig-host=192.168.1.{}:5060",
        (i / 250) % 250,
        i % 250,
        10_000 + i % 50_000,
        if tcp { ";transport=tcp" } else { "" },
        i % 250
    );
    let c = Contact {
        meta: Meta {
            id: dynamic_contact_id(&aor, &uri).into(),
            ..Meta::default()
        },
        uri: uri.as_str().into(),
        expiration_time: 2_000_000_000 + (i as u64 % 3600),
        qualify_frequency: 60,
        qualify_timeout: 3.0,
        path: "".into(),
        user_agent: AGENTS[i % AGENTS.len()].into(),
        reg_server: "node1".into(),
        via_addr: format!("192.168.1.{}", i % 250).into(),
        via_port: 5060,
        call_id: format!("{:032x}", i as u128 * 0x9e37_79b9_7f4a_7c15).into(),
        endpoint: aor.as_str().into(),
        prune_on_boot: tcp,
        ..Contact::default()
    };
    Change {
        kind: ChangeKind::Add,
        reason: ChangeReason::Request,
        contact: c,
        expires_in: 3600,
    }
}
