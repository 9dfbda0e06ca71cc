//! The digest authenticator over auth objects from a pjsip.conf (spec §7): challenges,
//! success with each auth_type and algorithm, wrong and unknown users alike, stale
//! nonces.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sip_digest::{authorization, Algorithm, Auth, DigestServer};
use sip_message::headers::{AuthValue, FromHeader};
use sip_message::ByteString;
use sip_services::{AuthRequest, AuthVerdict, Authenticator, DigestAuthenticator};
use sorcery::objects::Objects;

mod support;

const CONF: &str = "\
[global]\ntype=global\ndefault_realm=sb.example\n\
[alice]\ntype=endpoint\nauth=alice\n\
[alice]\ntype=auth\nusername=alice\npassword=secret\n\
[bob]\ntype=endpoint\nauth=bob\n\
[bob]\ntype=auth\nauth_type=md5\nusername=bob\nrealm=other.example\nmd5_cred=12503279949100bd1121b4a42a119999\n\
[carol]\ntype=endpoint\nauth=carol\n\
[carol]\ntype=auth\nusername=carol\npassword=pw\nsupported_algorithms_uas=SHA-256,MD5\n\
[open]\ntype=endpoint\n\
[broken]\ntype=endpoint\nauth=nope\n";

const KEY: [u8; 32] = [7; 32];
const FROM: &str = "10.0.0.9:5060";

async fn setup() -> (DigestAuthenticator, Arc<Objects>) {
    let objects = support::objects(CONF).await;
    let objects = Arc::new(objects);
    (
        DigestAuthenticator::with_server(objects.clone(), DigestServer::with_key(KEY)),
        objects,
    )
}

fn header(s: &str) -> AuthValue {
    AuthValue::from_header(&ByteString::from(s.to_owned())).expect("header parses")
}

fn request(credentials: Vec<AuthValue>) -> AuthRequest {
    AuthRequest {
        method: "REGISTER".into(),
        request_uri: "sip:sb.example".into(),
        credentials,
        remote: FROM.parse::<SocketAddr>().unwrap(),
        from: "sip:x@sb.example".into(),
        call_id: "c1".into(),
    }
}

async fn verdict(
    a: &DigestAuthenticator,
    o: &Objects,
    endpoint: Option<&str>,
    creds: Vec<AuthValue>,
) -> AuthVerdict {
    let e = match endpoint {
        Some(id) => o.endpoint.get(id).await.unwrap(),
        None => None,
    };
    a.authenticate(&request(creds), e.as_deref()).await
}

fn challenges(v: AuthVerdict) -> Vec<String> {
    match v {
        AuthVerdict::Challenge(c) => c,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// Answers the first challenge as a client with `username`/`password`.
fn answer(challenge: &str, username: &str, realm: &str, password: &str) -> AuthValue {
    let c = header(challenge);
    let creds = Auth::new(username, realm)
        .password(password)
        .algorithms(&Algorithm::ALL);
    header(&authorization(&c, &creds, "REGISTER", "sip:sb.example", "cn0nce", 1).expect("answer"))
}

#[tokio::test]
async fn userpass_challenge_then_success_and_wrong_password_gets_a_fresh_401() {
    let (a, o) = setup().await;
    let c = challenges(verdict(&a, &o, Some("alice"), vec![]).await);
    assert_eq!(c.len(), 1);
    assert!(
        c[0].contains("realm=\"sb.example\"") && c[0].contains("algorithm=MD5"),
        "{c:?}"
    );
    let good = answer(&c[0], "alice", "sb.example", "secret");
    assert_eq!(
        verdict(&a, &o, Some("alice"), vec![good]).await,
        AuthVerdict::Pass
    );
    let bad = answer(&c[0], "alice", "sb.example", "guess");
    let again = challenges(verdict(&a, &o, Some("alice"), vec![bad]).await);
    assert!(!again[0].contains("stale"), "{again:?}");
}

#[tokio::test]
async fn md5_cred_and_sha256_and_endpoints_without_auth() {
    let (a, o) = setup().await;
    // bob's md5_cred is MD5("bob:other.example:hunter2").
    let c = challenges(verdict(&a, &o, Some("bob"), vec![]).await);
    assert!(c[0].contains("realm=\"other.example\""), "{c:?}");
    let good = answer(&c[0], "bob", "other.example", "hunter2");
    assert_eq!(
        verdict(&a, &o, Some("bob"), vec![good]).await,
        AuthVerdict::Pass
    );
    // carol offers SHA-256 first, then MD5: one challenge each, in that order.
    let c = challenges(verdict(&a, &o, Some("carol"), vec![]).await);
    assert_eq!(c.len(), 2);
    assert!(
        c[0].contains("algorithm=SHA-256") && c[1].contains("algorithm=MD5"),
        "{c:?}"
    );
    let good = answer(&c[0], "carol", "sb.example", "pw");
    assert_eq!(
        verdict(&a, &o, Some("carol"), vec![good]).await,
        AuthVerdict::Pass
    );
    assert_eq!(
        verdict(&a, &o, Some("open"), vec![]).await,
        AuthVerdict::Pass
    );
    assert!(matches!(
        verdict(&a, &o, Some("broken"), vec![]).await,
        AuthVerdict::Error(_)
    ));
}

#[tokio::test]
async fn unknown_users_get_the_same_challenge_and_never_pass() {
    let (a, o) = setup().await;
    let known = challenges(verdict(&a, &o, Some("alice"), vec![]).await);
    let unknown = challenges(verdict(&a, &o, None, vec![]).await);
    // Same realm, algorithm and shape; only the nonce differs in time (same second
    // here, so even the same nonce).
    assert_eq!(known, unknown);
    let creds = answer(&unknown[0], "alice", "sb.example", "secret");
    assert!(matches!(
        verdict(&a, &o, None, vec![creds]).await,
        AuthVerdict::Challenge(_)
    ));
}

#[tokio::test]
async fn an_old_nonce_with_right_credentials_is_stale() {
    let (a, o) = setup().await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let server = DigestServer::with_key(KEY);
    let ip = FROM.parse::<SocketAddr>().unwrap().ip();
    let old = server.nonce(now - 100, ip, "sb.example");
    let challenge = server.challenge("sb.example", Algorithm::Md5, &old, false);
    let creds = answer(&challenge, "alice", "sb.example", "secret");
    let c = challenges(verdict(&a, &o, Some("alice"), vec![creds]).await);
    assert!(c[0].contains("stale=true"), "{c:?}");
    // The same old nonce with a wrong password is not stale: a plain new challenge.
    let creds = answer(&challenge, "alice", "sb.example", "wrong");
    let c = challenges(verdict(&a, &o, Some("alice"), vec![creds]).await);
    assert!(!c[0].contains("stale"), "{c:?}");
}
