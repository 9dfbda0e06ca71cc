//! Endpoint identification against objects loaded from a pjsip.conf (spec §8).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use sip_message::Message;
use sip_services::hosts::HostAddresses;
use sip_services::{Identifiers, IdentifySettings, RequestFacts};
use sorcery::objects::Objects;

mod support;

const CONF: &str = "\
[alice]\ntype=endpoint\n\
[bob@example.com]\ntype=endpoint\n\
[carol]\ntype=endpoint\nidentify_by=ip\n\
[dave]\ntype=endpoint\nidentify_by=auth_username\n\
[trunk]\ntype=endpoint\nidentify_by=ip\n\
[pbx]\ntype=endpoint\n\
[hdr]\ntype=endpoint\n\
[ruri]\ntype=endpoint\n\
[anonymous]\ntype=endpoint\n\
[a-trunk]\ntype=identify\nendpoint=trunk\nmatch=192.0.2.0/24\nmatch=!192.0.2.66\n\
[b-pbx]\ntype=identify\nendpoint=pbx\nmatch=198.51.100.7:5070\n\
[c-hdr]\ntype=identify\nendpoint=hdr\nmatch_header=X-Account: /^acct-[0-9]+$/\n\
[d-ruri]\ntype=identify\nendpoint=ruri\nmatch_request_uri=sip:special@127.0.0.1\n\
[alias.example.com]\ntype=domain_alias\ndomain=example.com\n\
[erin@tenant.example]\ntype=endpoint\n\
[tenant]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5080\ndomain=tenant.example\n\
[plain]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5060\n";

async fn objects() -> Objects {
    support::objects(CONF).await
}

fn request(ruri: &str, from: &str, extra: &str) -> Message {
    let text = format!(
        "REGISTER {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
         From: <{from}>;tag=1\r\nTo: <{from}>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n{extra}\
         Content-Length: 0\r\n\r\n"
    );
    Message::parse(text.into_bytes()).expect("parse")
}

async fn who(order: &[&str], message: &Message, remote: &str) -> Option<(String, String)> {
    let objects = objects().await;
    let (ids, unknown) = Identifiers::ordered(Identifiers::builtin(), order);
    assert!(unknown.is_empty());
    let facts = RequestFacts::of(message, remote.parse::<SocketAddr>().unwrap(), false);
    ids.identify(&facts, &objects, &IdentifySettings::default())
        .await
        .map(|(e, by)| (e.meta.id.to_string(), by.to_owned()))
}

const DEFAULT: &[&str] = &["ip", "username", "anonymous"];

fn pair(a: &str, b: &str) -> Option<(String, String)> {
    Some((a.to_owned(), b.to_owned()))
}

#[tokio::test]
async fn by_username_with_domains_and_aliases() {
    let m = request("sip:127.0.0.1", "sip:alice@anywhere.example", "");
    assert_eq!(
        who(DEFAULT, &m, "10.0.0.1:5060").await,
        pair("alice", "username")
    );
    let m = request("sip:127.0.0.1", "sip:bob@example.com", "");
    assert_eq!(
        who(DEFAULT, &m, "10.0.0.1:5060").await,
        pair("bob@example.com", "username")
    );
    // A domain alias leads to the canonical domain's endpoint.
    let m = request("sip:127.0.0.1", "sip:bob@alias.example.com", "");
    assert_eq!(
        who(DEFAULT, &m, "10.0.0.1:5060").await,
        pair("bob@example.com", "username")
    );
    // carol only accepts identification by IP: her From is not enough; anonymous
    // then takes the request.
    let m = request("sip:127.0.0.1", "sip:carol@x", "");
    assert_eq!(
        who(DEFAULT, &m, "10.0.0.1:5060").await,
        pair("anonymous", "anonymous")
    );
    assert_eq!(
        who(&["username"], &m, "10.0.0.1:5060").await.map(|p| p.1),
        Some("anonymous".into())
    );
}

#[tokio::test]
async fn by_ip_with_ranges_exclusions_and_ports() {
    let m = request("sip:127.0.0.1", "sip:someone@itsp.example", "");
    assert_eq!(
        who(DEFAULT, &m, "192.0.2.10:5060").await,
        pair("trunk", "ip")
    );
    // Excluded by `!`: falls through to username (no such user) and anonymous.
    assert_eq!(
        who(DEFAULT, &m, "192.0.2.66:5060").await,
        pair("anonymous", "anonymous")
    );
    // A match with a port needs that port.
    assert_eq!(
        who(DEFAULT, &m, "198.51.100.7:5070").await,
        pair("pbx", "ip")
    );
    // The same source on another port: only the ip identifier, which must not match.
    let ip_only = sip_services::identify::ByIp::new(Arc::new(HostAddresses::new(None)));
    let (ids, _) = Identifiers::ordered(vec![Arc::new(ip_only)], &["ip"]);
    let objects = objects().await;
    let facts = RequestFacts::of(&m, "198.51.100.7:5060".parse().unwrap(), false);
    assert!(ids
        .identify(&facts, &objects, &IdentifySettings::default())
        .await
        .is_none());
}

#[tokio::test]
async fn by_auth_username_header_and_request_uri() {
    let auth = "Authorization: Digest username=\"dave\", realm=\"example.org\", nonce=\"n\", uri=\"sip:127.0.0.1\", response=\"00\"\r\n";
    let m = request("sip:127.0.0.1", "sip:nobody@x", auth);
    assert_eq!(
        who(&["username", "auth_username"], &m, "10.0.0.1:5060").await,
        pair("dave", "auth_username")
    );
    let m = request("sip:127.0.0.1", "sip:nobody@x", "X-Account: acct-42\r\n");
    assert_eq!(
        who(&["header"], &m, "10.0.0.1:5060").await,
        pair("hdr", "header")
    );
    let m = request("sip:127.0.0.1", "sip:nobody@x", "X-Account: acct-x\r\n");
    assert_eq!(
        who(&["header", "request_uri"], &m, "10.0.0.1:5060")
            .await
            .map(|p| p.1),
        Some("anonymous".into())
    );
    let m = request("sip:special@127.0.0.1", "sip:nobody@x", "");
    assert_eq!(
        who(&["request_uri"], &m, "10.0.0.1:5060").await,
        pair("ruri", "request_uri")
    );
}

#[test]
fn order_puts_unnamed_identifiers_last_and_reports_unknown_names() {
    let (ids, unknown) = Identifiers::ordered(
        Identifiers::builtin(),
        &["username", "bogus", "ip", "username"],
    );
    assert_eq!(unknown, vec!["bogus".to_owned()]);
    assert_eq!(
        ids.names(),
        vec![
            "username",
            "ip",
            "anonymous",
            "auth_username",
            "header",
            "request_uri"
        ]
    );
}

#[test]
fn host_names_match_the_addresses_resolved_for_them() {
    use sip_services::identify::matches_source;
    use sorcery::types::identify::{Identify, Match};
    use sorcery::value::{Accum, OptValue};
    let mut identify: Identify = sorcery::object::defaults();
    let entries = ["trunk.example.net", "!198.51.100.9", "pbx.example.net:5070"];
    identify.r#match = Accum(
        entries
            .iter()
            .map(|m| Match::parse(m).expect("a valid match"))
            .collect(),
    );
    let trunk: Arc<[IpAddr]> = Arc::from(vec![
        "198.51.100.8".parse::<IpAddr>().unwrap(),
        "198.51.100.9".parse().unwrap(),
    ]);
    let pbx: Arc<[IpAddr]> = Arc::from(vec!["203.0.113.5".parse::<IpAddr>().unwrap()]);
    let resolved = [
        ("trunk.example.net", Arc::clone(&trunk)),
        ("pbx.example.net", pbx),
    ];
    let at = |a: &str| matches_source(&identify, a.parse().unwrap(), &resolved);
    assert!(at("198.51.100.8:5060"), "an address of the name");
    assert!(!at("198.51.100.9:5060"), "excluded by the later '!' entry");
    assert!(at("203.0.113.5:5070"), "the name with its port");
    assert!(!at("203.0.113.5:5060"), "the name on another port");
    assert!(!at("192.0.2.1:5060"), "not an address of either name");
    // A name not resolved (or that did not resolve) matches nothing.
    assert!(!matches_source(
        &identify,
        "198.51.100.8:5060".parse().unwrap(),
        &[]
    ));
}

#[tokio::test]
async fn by_username_on_the_receiving_transports_domain() {
    let objects = objects().await;
    let (ids, _) = Identifiers::ordered(Identifiers::builtin(), &["username"]);
    // erin's phone writes the server's IP as From domain; the transport it reached
    // (bound to any address, port 5080) has domain=tenant.example.
    let m = request("sip:203.0.113.1:5080", "sip:erin@203.0.113.1", "");
    let remote: SocketAddr = "10.0.0.1:5060".parse().unwrap();
    let on = |port: u16| {
        RequestFacts::of(&m, remote, false)
            .arriving_on("UDP", SocketAddr::new("203.0.113.1".parse().unwrap(), port))
    };
    let id = |facts: RequestFacts, settings: IdentifySettings| {
        let objects = &objects;
        let ids = &ids;
        async move {
            ids.identify(&facts, objects, &settings)
                .await
                .map(|(e, _)| e.meta.id.to_string())
        }
    };
    assert_eq!(
        id(on(5080), IdentifySettings::default()).await.as_deref(),
        Some("erin@tenant.example")
    );
    // The same request on the transport without a domain: only the anonymous endpoint
    // (tried after the named identifiers) takes it.
    assert_eq!(
        id(on(5060), IdentifySettings::default()).await.as_deref(),
        Some("anonymous")
    );
    // disable_multi_domain skips every domain step.
    let single = IdentifySettings {
        disable_multi_domain: true,
    };
    assert_eq!(id(on(5080), single).await.as_deref(), Some("anonymous"));
}
