//! Answering challenges to our own requests with `outbound_auth` credentials.

use std::sync::Arc;

use sip_digest::{authorization, Auth};
use sip_message::Message;
use sip_services::outbound_auth::{answer_challenge, NoAnswer};
use sorcery::types::auth::Auth as AuthObject;

fn auth(username: &str, password: &str, realm: &str) -> Arc<AuthObject> {
    let mut a: AuthObject = sorcery::object::defaults();
    a.username = username.into();
    a.password = password.into();
    a.realm = realm.into();
    Arc::new(a)
}

fn register(extra: &str) -> Message {
    let text = format!(
        "REGISTER sip:itsp.example SIP/2.0\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:trunk@itsp.example>;tag=f1\r\n\
         To: <sip:trunk@itsp.example>\r\n\
         Call-ID: reg-1\r\n\
         CSeq: 7 REGISTER\r\n\
         Contact: <sip:s@192.0.2.1:5060>\r\n{extra}\
         Content-Length: 0\r\n\r\n"
    );
    Message::parse(text.into_bytes()).expect("request parses")
}

fn challenge(code: u16, header: &str, value: &str) -> Message {
    let reason = if code == 401 {
        "Unauthorized"
    } else {
        "Proxy Authentication Required"
    };
    let text = format!(
        "SIP/2.0 {code} {reason}\r\n\
         Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n\
         From: <sip:trunk@itsp.example>;tag=f1\r\n\
         To: <sip:trunk@itsp.example>;tag=t1\r\n\
         Call-ID: reg-1\r\n\
         CSeq: 7 REGISTER\r\n\
         {header}: {value}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Message::parse(text.into_bytes()).expect("response parses")
}

const MD5: &str = "Digest realm=\"itsp\", nonce=\"n1\", qop=\"auth\", algorithm=MD5";

fn header(m: &Message, name: &str) -> Vec<String> {
    m.values(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[test]
fn a_401_is_answered_with_the_next_cseq_and_an_authorization() {
    let sent = register("");
    let response = challenge(401, "WWW-Authenticate", MD5);
    let next = answer_challenge(&sent, &response, &[auth("trunk", "secret", "")], &[], "c1")
        .expect("answered");
    assert_eq!(next.cseq().unwrap().seq, 8);
    assert_eq!(next.call_id().unwrap().as_str(), "reg-1");
    let c = &response.www_authenticate().unwrap()[0];
    let expected = authorization(
        c,
        &Auth::new("trunk", "").password("secret"),
        "REGISTER",
        "sip:itsp.example",
        "c1",
        1,
    )
    .unwrap();
    assert_eq!(header(&next, "Authorization"), vec![expected.clone()]);
    assert!(expected.contains("nc=00000001") && expected.contains("cnonce=\"c1\""));
    assert!(header(&next, "Proxy-Authorization").is_empty());
}

#[test]
fn a_407_gets_proxy_authorization_and_the_realm_picks_the_auth() {
    let sent = register("");
    let response = challenge(407, "Proxy-Authenticate", MD5);
    let auths = [
        auth("other", "x", "elsewhere"),
        auth("trunk", "secret", "itsp"),
    ];
    let next = answer_challenge(&sent, &response, &auths, &[], "c2").expect("answered");
    let values = header(&next, "Proxy-Authorization");
    assert_eq!(values.len(), 1);
    assert!(
        values[0].starts_with("Digest username=\"trunk\", realm=\"itsp\""),
        "{values:?}"
    );
    assert!(header(&next, "Authorization").is_empty());
}

#[test]
fn no_auth_for_the_realm_and_non_challenges_are_not_answered() {
    let sent = register("");
    let response = challenge(401, "WWW-Authenticate", MD5);
    assert_eq!(
        answer_challenge(
            &sent,
            &response,
            &[auth("trunk", "s", "elsewhere")],
            &[],
            "c"
        )
        .err(),
        Some(NoAnswer::NoCredentials("itsp".into()))
    );
    assert_eq!(
        answer_challenge(&sent, &response, &[], &[], "c").err(),
        Some(NoAnswer::NoCredentials("itsp".into()))
    );
    let ok = Message::response_to(&sent, 200, None);
    assert_eq!(
        answer_challenge(&sent, &ok, &[auth("trunk", "s", "")], &[], "c").err(),
        Some(NoAnswer::NotAChallenge)
    );
}

#[test]
fn a_nonce_already_answered_is_a_refusal_unless_stale() {
    let auths = [auth("trunk", "wrong", "")];
    let first = register("");
    let response = challenge(401, "WWW-Authenticate", MD5);
    let second = answer_challenge(&first, &response, &auths, &[], "c1").expect("answered");
    // The server challenges the answer again with the same nonce: wrong password.
    let again = challenge(401, "WWW-Authenticate", MD5);
    assert_eq!(
        answer_challenge(&second, &again, &auths, &[], "c2").err(),
        Some(NoAnswer::Refused("itsp".into()))
    );
    // The same nonce marked stale: answer once more.
    let stale = challenge(401, "WWW-Authenticate", &format!("{MD5}, stale=true"));
    let third = answer_challenge(&second, &stale, &auths, &[], "c3").expect("answered");
    assert_eq!(third.cseq().unwrap().seq, 9);
    assert_eq!(
        header(&third, "Authorization").len(),
        1,
        "the old answer replaced"
    );
    // A new nonce is a new challenge.
    let fresh = challenge(
        401,
        "WWW-Authenticate",
        "Digest realm=\"itsp\", nonce=\"n2\", qop=\"auth\", algorithm=MD5",
    );
    assert!(answer_challenge(&second, &fresh, &auths, &[], "c4").is_ok());
}

#[test]
fn of_several_algorithms_the_auths_preferred_one_is_answered() {
    use sorcery::types::auth::Algorithm as ConfAlgorithm;
    let sent = register("");
    let text = "SIP/2.0 401 Unauthorized\r\n\
         Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n\
         From: <sip:trunk@itsp.example>;tag=f1\r\nTo: <sip:trunk@itsp.example>;tag=t1\r\n\
         Call-ID: reg-1\r\nCSeq: 7 REGISTER\r\n\
         WWW-Authenticate: Digest realm=\"itsp\", nonce=\"n1\", qop=\"auth\", algorithm=MD5\r\n\
         WWW-Authenticate: Digest realm=\"itsp\", nonce=\"n1\", qop=\"auth\", algorithm=SHA-256\r\n\
         Content-Length: 0\r\n\r\n";
    let response = Message::parse(text.as_bytes().to_vec()).unwrap();
    let mut a: AuthObject = (*auth("trunk", "secret", "")).clone();
    a.supported_algorithms_uac =
        sorcery::value::List(Box::new([ConfAlgorithm::Sha256, ConfAlgorithm::Md5]));
    let next = answer_challenge(&sent, &response, &[Arc::new(a)], &[], "c").unwrap();
    let values = header(&next, "Authorization");
    assert_eq!(values.len(), 1, "one answer per realm");
    assert!(values[0].contains("algorithm=SHA-256"), "{values:?}");
}
