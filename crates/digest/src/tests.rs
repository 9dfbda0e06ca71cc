//! Worked examples of the RFCs, and the server and client against each other.

use std::net::IpAddr;

use bytestring::ByteString;
use sip_message::headers::FromHeader;

use crate::hash::{self, Qop};
use crate::*;

fn parse(s: &str) -> AuthValue {
    AuthValue::from_header(&ByteString::from(s.to_owned())).expect("test header parses")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

const KEY: [u8; 32] = [0x42; 32];
const ALL: &[Algorithm] = &[Algorithm::Md5, Algorithm::Sha256, Algorithm::Sha512_256];

// RFC 2617 §3.5.
#[test]
fn rfc2617_mufasa() {
    let ha1 = hash::ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    let r = hash::response(
        Algorithm::Md5,
        &ha1,
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        Some(Qop {
            nc: "00000001",
            cnonce: "0a4f113b",
        }),
        "GET",
        "/dir/index.html",
    );
    assert_eq!(r.as_str(), "6629fae49393a05397450978507c4ef1");

    // The same through the client, from the challenge of the example.
    let chal = parse(
        r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
    );
    let auth = Auth::new("Mufasa", "").password("Circle Of Life");
    let v = authorization(&chal, &auth, "GET", "/dir/index.html", "0a4f113b", 1).unwrap();
    assert_eq!(
        v,
        r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", cnonce="0a4f113b", opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001"#
    );
}

// RFC 7616 §3.9.1, MD5 and SHA-256.
#[test]
fn rfc7616_mufasa() {
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    for (alg, expected) in [
        (Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
        (
            Algorithm::Sha256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ] {
        let chal = parse(&format!(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={alg}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
        ));
        let auth = Auth::new("Mufasa", "http-auth@example.org")
            .password("Circle of Life")
            .algorithms(ALL);
        let v = authorization(&chal, &auth, "GET", "/dir/index.html", cnonce, 1).unwrap();
        assert_eq!(
            v,
            format!(
                r#"Digest username="Mufasa", realm="http-auth@example.org", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="/dir/index.html", response="{expected}", algorithm={alg}, cnonce="{cnonce}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", qop=auth, nc=00000001"#
            )
        );
    }
}

// The inputs of RFC 7616 §3.9.2 (SHA-512-256). The response printed there cannot be
// reproduced (RFC errata 4897); this value was cross-checked with OpenSSL's SHA-512/256
// (Python's hashlib) over the same inputs, user name in UTF-8.
#[test]
fn rfc7616_sha512_256() {
    let ha1 = hash::ha1(
        Algorithm::Sha512_256,
        "J\u{e4}s\u{f8}n Doe",
        "api@example.org",
        "Secret, or not?",
    );
    let r = hash::response(
        Algorithm::Sha512_256,
        &ha1,
        "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
        Some(Qop {
            nc: "00000001",
            cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
        }),
        "GET",
        "/doe.json",
    );
    assert_eq!(
        r.as_str(),
        "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"
    );
}

const RURI: &str = "sip:pbx.example.com";

fn req(now: u64, source: &str) -> Request<'static> {
    Request {
        method: "REGISTER",
        uri: RURI,
        source: ip(source),
        now,
    }
}

/// A client's answer to the first challenge `server` sends for `auth` (whose algorithms
/// are all offered) with algorithm `alg`, computed with `client`'s credentials.
fn answer(
    server: &DigestServer,
    auth: &Auth<'_>,
    client: &Auth<'_>,
    alg: Algorithm,
    now: u64,
) -> AuthValue {
    let chals: Vec<AuthValue> = server
        .challenges(std::slice::from_ref(auth), now, ip("192.0.2.10"), false)
        .iter()
        .map(|c| parse(c))
        .collect();
    let chal = chals
        .iter()
        .find(|c| c.algorithm().as_deref() == Some(alg.name()))
        .expect("challenge for the algorithm");
    parse(&authorization(chal, client, "REGISTER", RURI, "0a4f113b", 1).unwrap())
}

#[test]
fn challenge_format_order_and_dedup() {
    let server = DigestServer::with_key(KEY);
    let a = Auth::new("alice", "asterisk")
        .password("pw")
        .algorithms(&[Algorithm::Sha256, Algorithm::Md5]);
    let b = Auth::new("bob", "asterisk")
        .password("pw")
        .algorithms(&[Algorithm::Md5, Algorithm::Sha512_256]);
    let c = Auth::new("carol", "other").password("pw");
    let v = server.challenges(&[a, b, c], 1_000, ip("192.0.2.10"), false);
    let nonce = server.nonce(1_000, ip("192.0.2.10"), "asterisk");
    let other = server.nonce(1_000, ip("192.0.2.10"), "other");
    let op = server.opaque().to_owned();
    assert_eq!(
        v,
        vec![
            format!(
                r#"Digest realm="asterisk",nonce="{nonce}",opaque="{op}",algorithm=SHA-256,qop="auth""#
            ),
            format!(
                r#"Digest realm="asterisk",nonce="{nonce}",opaque="{op}",algorithm=MD5,qop="auth""#
            ),
            format!(
                r#"Digest realm="asterisk",nonce="{nonce}",opaque="{op}",algorithm=SHA-512-256,qop="auth""#
            ),
            format!(
                r#"Digest realm="other",nonce="{other}",opaque="{op}",algorithm=MD5,qop="auth""#
            ),
        ]
    );
    // Every value parses back with the message crate.
    for c in &v {
        let p = parse(c);
        assert!(p.is_digest());
        assert_eq!(p.qop().as_deref(), Some("auth"));
        assert!(!p.stale());
    }
    let stale = server.challenges(&[c], 1_000, ip("192.0.2.10"), true);
    assert!(stale[0].contains(",stale=true,algorithm=MD5"));
    assert!(parse(&stale[0]).stale());
}

#[test]
fn round_trip_every_algorithm() {
    let server = DigestServer::with_key(KEY);
    for alg in ALL {
        let auth = Auth::new("alice", "asterisk")
            .password("s3cret")
            .algorithms(ALL);
        let cred = answer(&server, &auth, &auth, *alg, 1_000);
        assert_eq!(cred.algorithm().as_deref(), Some(alg.name()));
        assert_eq!(
            server.verify(&cred, &auth, &req(1_010, "192.0.2.10")),
            Verdict::Ok,
            "{alg}"
        );
        // Another source port is the same client; another address is not.
        assert_eq!(
            server.verify(&cred, &auth, &req(1_010, "192.0.2.11")),
            Verdict::Wrong(Failure::BadNonce)
        );
    }
}

#[test]
fn stale_only_with_right_credentials() {
    let server = DigestServer::with_key(KEY);
    let auth = Auth::new("alice", "asterisk").password("s3cret");
    let cred = answer(&server, &auth, &auth, Algorithm::Md5, 1_000);
    assert_eq!(
        server.verify(&cred, &auth, &req(1_032, "192.0.2.10")),
        Verdict::Ok
    );
    assert_eq!(
        server.verify(&cred, &auth, &req(1_033, "192.0.2.10")),
        Verdict::Stale
    );
    let strict = auth.nonce_lifetime(0);
    assert_eq!(
        server.verify(&cred, &strict, &req(1_000, "192.0.2.10")),
        Verdict::Ok
    );
    assert_eq!(
        server.verify(&cred, &strict, &req(1_001, "192.0.2.10")),
        Verdict::Stale
    );
    let lenient = auth.nonce_lifetime(60);
    assert_eq!(
        server.verify(&cred, &lenient, &req(1_033, "192.0.2.10")),
        Verdict::Ok
    );
    let wrong = Auth::new("alice", "asterisk").password("guess");
    let bad = answer(&server, &auth, &wrong, Algorithm::Md5, 1_000);
    assert_eq!(
        server.verify(&bad, &auth, &req(1_010, "192.0.2.10")),
        Verdict::Wrong(Failure::WrongResponse)
    );
    assert_eq!(
        server.verify(&bad, &auth, &req(1_100, "192.0.2.10")),
        Verdict::Wrong(Failure::WrongResponse),
        "a wrong password on an old nonce is wrong, not stale"
    );
}

#[test]
fn nonce_bound_to_realm_and_key() {
    let server = DigestServer::with_key(KEY);
    let a = Auth::new("alice", "realm-a").password("pw");
    let b = Auth::new("alice", "realm-b").password("pw");
    // A nonce issued for realm-a, presented with realm-b credentials.
    let nonce_a = server.nonce(1_000, ip("192.0.2.10"), "realm-a");
    let chal = parse(&server.challenge("realm-b", Algorithm::Md5, &nonce_a, false));
    let cred = parse(&authorization(&chal, &b, "REGISTER", RURI, "c", 1).unwrap());
    assert_eq!(
        server.verify(&cred, &b, &req(1_001, "192.0.2.10")),
        Verdict::Wrong(Failure::BadNonce)
    );
    // Realm of the header is not the auth's.
    assert_eq!(
        server.verify(&cred, &a, &req(1_001, "192.0.2.10")),
        Verdict::Wrong(Failure::RealmMismatch)
    );
    // Another process key (a restart) does not know our nonces.
    let good = answer(&server, &a, &a, Algorithm::Md5, 1_000);
    let restarted = DigestServer::with_key([1; 32]);
    assert_eq!(
        restarted.verify(&good, &a, &req(1_001, "192.0.2.10")),
        Verdict::Wrong(Failure::BadNonce)
    );
}

#[test]
fn tampered_nonce_and_parameters() {
    let server = DigestServer::with_key(KEY);
    let auth = Auth::new("alice", "asterisk").password("pw");
    let cred = answer(&server, &auth, &auth, Algorithm::Md5, 1_000);
    let text = cred.as_str().to_owned();
    let nonce = cred.nonce().unwrap().into_owned();
    // A younger timestamp on the same tag.
    let moved = text.replace(&nonce, &nonce.replacen("1000/", "1030/", 1));
    assert_eq!(
        server.verify(&parse(&moved), &auth, &req(1_040, "192.0.2.10")),
        Verdict::Wrong(Failure::BadNonce)
    );
    // Each parameter that enters the hash, changed.
    let response = cred.response().unwrap().into_owned();
    for (from, to) in [
        ("nc=00000001", "nc=00000002"),
        ("cnonce=\"0a4f113b\"", "cnonce=\"0a4f113c\""),
        (response.as_str(), "00000000000000000000000000000000"),
    ] {
        let t = text.replace(from, to);
        assert_eq!(
            server.verify(&parse(&t), &auth, &req(1_001, "192.0.2.10")),
            Verdict::Wrong(Failure::WrongResponse),
            "{from}"
        );
    }
    // Another method (a captured REGISTER answer replayed on an INVITE).
    let invite = Request {
        method: "INVITE",
        ..req(1_001, "192.0.2.10")
    };
    assert_eq!(
        server.verify(&cred, &auth, &invite),
        Verdict::Wrong(Failure::WrongResponse)
    );
    // Upper-case hex response is the same response.
    let upper = text.replace(&response, &response.to_ascii_uppercase());
    assert_eq!(
        server.verify(&parse(&upper), &auth, &req(1_001, "192.0.2.10")),
        Verdict::Ok
    );
}

#[test]
fn stored_digests_md5_cred_and_password_digest() {
    let server = DigestServer::with_key(KEY);
    let md5 = hash::ha1(Algorithm::Md5, "alice", "asterisk", "pw");
    let sha = hash::ha1(Algorithm::Sha256, "alice", "asterisk", "pw");
    let md5_upper = md5.as_str().to_ascii_uppercase();
    let phone = Auth::new("alice", "asterisk")
        .password("pw")
        .algorithms(ALL);
    for stored in [
        Auth::new("alice", "asterisk").md5_cred(md5.as_str()),
        Auth::new("alice", "asterisk").md5_cred(&md5_upper),
        Auth::new("alice", "asterisk")
            .digest(Algorithm::Sha256, sha.as_str())
            .algorithms(&[Algorithm::Sha256]),
    ] {
        let alg = stored.allowed()[0];
        let cred = answer(&server, &stored, &phone, alg, 1_000);
        assert_eq!(
            server.verify(&cred, &stored, &req(1_001, "192.0.2.10")),
            Verdict::Ok,
            "{alg}"
        );
    }
    // Allowed algorithm without a secret for it (a hand-built Auth; the store refuses
    // to load such an object).
    let only_md5 = Auth::new("alice", "asterisk")
        .md5_cred(md5.as_str())
        .algorithms(ALL);
    let cred = answer(&server, &only_md5, &phone, Algorithm::Sha256, 1_000);
    assert_eq!(
        server.verify(&cred, &only_md5, &req(1_001, "192.0.2.10")),
        Verdict::Wrong(Failure::NoSecret(Algorithm::Sha256))
    );
    // The client can answer from a stored digest too.
    let client = Auth::new("alice", "").md5_cred(md5.as_str());
    let stored = Auth::new("alice", "asterisk").password("pw");
    let cred = answer(&server, &stored, &client, Algorithm::Md5, 1_000);
    assert_eq!(
        server.verify(&cred, &stored, &req(1_001, "192.0.2.10")),
        Verdict::Ok
    );
}

#[test]
fn algorithm_qop_username_and_missing_parameters() {
    let server = DigestServer::with_key(KEY);
    let all = Auth::new("alice", "asterisk")
        .password("pw")
        .algorithms(ALL);
    let md5_only = Auth::new("alice", "asterisk").password("pw");
    let cred = answer(&server, &all, &all, Algorithm::Sha256, 1_000);
    assert_eq!(
        server.verify(&cred, &md5_only, &req(1_001, "192.0.2.10")),
        Verdict::Wrong(Failure::UnsupportedAlgorithm)
    );
    let text = answer(&server, &md5_only, &md5_only, Algorithm::Md5, 1_000)
        .as_str()
        .to_owned();
    let r = req(1_001, "192.0.2.10");
    for (from, to, failure) in [
        (
            "algorithm=MD5",
            "algorithm=MD5-sess",
            Failure::UnsupportedAlgorithm,
        ),
        ("qop=auth", "qop=auth-int", Failure::UnsupportedQop),
        ("nc=00000001", "nc=1", Failure::BadNonceCount),
        (
            "username=\"alice\"",
            "username=\"bob\"",
            Failure::UsernameMismatch,
        ),
        ("Digest ", "Basic ", Failure::NotDigest),
        ("username=\"alice\", ", "", Failure::Missing("username")),
        (", cnonce=\"0a4f113b\"", "", Failure::Missing("cnonce")),
        (", nc=00000001", "", Failure::Missing("nc")),
    ] {
        assert_eq!(
            server.verify(&parse(&text.replace(from, to)), &md5_only, &r),
            Verdict::Wrong(failure),
            "{to}"
        );
    }
    // No algorithm means MD5.
    let t = text.replace(", algorithm=MD5", "");
    assert_eq!(server.verify(&parse(&t), &md5_only, &r), Verdict::Ok);
}

#[test]
fn rfc2069_without_qop() {
    let server = DigestServer::with_key(KEY);
    let auth = Auth::new("alice", "asterisk").password("pw");
    let nonce = server.nonce(1_000, ip("192.0.2.10"), "asterisk");
    let chal = parse(&format!(r#"Digest realm="asterisk", nonce="{nonce}""#));
    let v = authorization(&chal, &auth, "REGISTER", RURI, "ignored", 7).unwrap();
    assert!(
        !v.contains("qop")
            && !v.contains("cnonce")
            && !v.contains("nc=")
            && !v.contains("algorithm")
    );
    assert!(
        !v.contains("opaque"),
        "no opaque in the challenge, none echoed"
    );
    assert_eq!(
        server.verify(&parse(&v), &auth, &req(1_001, "192.0.2.10")),
        Verdict::Ok
    );
}

#[test]
fn uri_check() {
    let server = DigestServer::with_key(KEY);
    let auth = Auth::new("alice", "asterisk").password("pw");
    let nonce = server.nonce(1_000, ip("192.0.2.10"), "asterisk");
    let chal = parse(&server.challenge("asterisk", Algorithm::Md5, &nonce, false));
    let with_uri = |uri: &str| parse(&authorization(&chal, &auth, "INVITE", uri, "c", 1).unwrap());
    let at = |ruri: &'static str| Request {
        method: "INVITE",
        uri: ruri,
        source: ip("192.0.2.10"),
        now: 1_001,
    };
    // Parameters and host case do not change the resource.
    let cred = with_uri("sip:100@PBX.example.com;transport=tcp");
    assert_eq!(
        server.verify(&cred, &auth, &at("sip:100@pbx.example.com")),
        Verdict::Ok
    );
    // Another user, host or port does.
    for ruri in [
        "sip:200@pbx.example.com",
        "sip:100@other.example.com",
        "sip:100@pbx.example.com:5080",
    ] {
        assert_eq!(
            server.verify(&cred, &auth, &at(ruri)),
            Verdict::Wrong(Failure::UriMismatch),
            "{ruri}"
        );
    }
    let off = server.clone().uri_check(UriCheck::Off);
    assert_eq!(
        off.verify(&cred, &auth, &at("sip:200@pbx.example.com")),
        Verdict::Ok
    );
    // Unparseable digest uri: only an exact match passes.
    let odd = with_uri("not a uri");
    assert_eq!(
        server.verify(&odd, &auth, &at("sip:100@pbx.example.com")),
        Verdict::Wrong(Failure::UriMismatch)
    );
}

#[test]
fn verify_request_over_several_auths() {
    let server = DigestServer::with_key(KEY);
    let a = Auth::new("alice", "asterisk").password("pa");
    let b = Auth::new("alice2", "asterisk").password("pb");
    let c = Auth::new("alice", "other").password("pc");
    let auths = [a, b, c];
    let r = req(1_001, "192.0.2.10");
    assert_eq!(server.verify_request(&[], &auths, &r), Outcome::Missing);
    // A header for a realm no auth has is as good as none.
    let foreign = Auth::new("alice", "nowhere").password("pa");
    let f = answer(&server, &foreign, &foreign, Algorithm::Md5, 1_000);
    assert_eq!(server.verify_request(&[f], &auths, &r), Outcome::Missing);
    // The second auth of the same realm accepts.
    let cred_b = answer(&server, &b, &b, Algorithm::Md5, 1_000);
    assert_eq!(
        server.verify_request(std::slice::from_ref(&cred_b), &auths, &r),
        Outcome::Authenticated(1)
    );
    // The third (another realm), with a non-digest header before it.
    let cred_c = answer(&server, &c, &c, Algorithm::Md5, 1_000);
    let basic = parse("Basic realm=\"other\", x=y");
    assert_eq!(
        server.verify_request(&[basic, cred_c], &auths, &r),
        Outcome::Authenticated(2)
    );
    // Right credentials, old nonce.
    assert_eq!(
        server.verify_request(&[cred_b], &auths, &req(1_100, "192.0.2.10")),
        Outcome::Stale
    );
    // Wrong password everywhere: the first failure is reported.
    let wrong = Auth::new("alice", "asterisk").password("nope");
    let w = answer(&server, &a, &wrong, Algorithm::Md5, 1_000);
    assert_eq!(
        server.verify_request(&[w], &auths, &r),
        Outcome::Failed(Failure::WrongResponse)
    );
}

#[test]
fn constant_time_path_is_used() {
    let server = DigestServer::with_key(KEY);
    let auth = Auth::new("alice", "asterisk").password("pw");
    let cred = answer(&server, &auth, &auth, Algorithm::Md5, 1_000);
    let before = server::ct_compares();
    assert_eq!(
        server.verify(&cred, &auth, &req(1_001, "192.0.2.10")),
        Verdict::Ok
    );
    let wrong = cred
        .as_str()
        .replace(&*cred.response().unwrap(), &"f".repeat(32));
    let _ = server.verify(&parse(&wrong), &auth, &req(1_001, "192.0.2.10"));
    // One nonce tag and one response comparison per verification.
    assert_eq!(server::ct_compares() - before, 4);
}

#[test]
fn client_choices_and_errors() {
    let sha = parse(r#"Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth""#);
    let md5 = parse(r#"Digest realm="r", nonce="n", algorithm=md5, qop="auth", opaque="""#);
    let chals = [md5.clone(), sha.clone()];
    let prefer_sha = Auth::new("u", "*")
        .password("p")
        .algorithms(&[Algorithm::Sha256, Algorithm::Md5]);
    assert_eq!(
        choose_challenge(&chals, &prefer_sha).map(|c| c.as_str()),
        Some(sha.as_str())
    );
    let md5_only = Auth::new("u", "").password("p");
    assert_eq!(
        choose_challenge(&chals, &md5_only).map(|c| c.as_str()),
        Some(md5.as_str())
    );
    let elsewhere = Auth::new("u", "x").password("p");
    assert!(choose_challenge(&chals, &elsewhere).is_none());

    // The challenge's spelling of the algorithm is echoed; an empty opaque is not.
    let v = authorization(&md5, &md5_only, "REGISTER", "sip:r", "c", 255).unwrap();
    assert!(
        v.contains(", algorithm=md5, cnonce=\"c\", qop=auth, nc=000000ff"),
        "{v}"
    );
    assert!(!v.contains("opaque"));

    let err = |chal: &str, auth: &Auth<'_>, cnonce: &str| {
        authorization(&parse(chal), auth, "REGISTER", "sip:r", cnonce, 1).unwrap_err()
    };
    assert_eq!(
        err(
            r#"Digest realm="r", nonce="n", algorithm=SHA-256"#,
            &md5_only,
            "c"
        ),
        ClientError::UnsupportedAlgorithm
    );
    assert_eq!(
        err(
            r#"Digest realm="r", nonce="n", algorithm=MD5-sess"#,
            &md5_only,
            "c"
        ),
        ClientError::UnsupportedAlgorithm
    );
    assert_eq!(
        err(
            r#"Digest realm="r", nonce="n", qop="auth-int""#,
            &md5_only,
            "c"
        ),
        ClientError::UnsupportedQop
    );
    assert_eq!(
        err(r#"Digest realm="r", nonce="n", qop="auth""#, &md5_only, ""),
        ClientError::EmptyCnonce
    );
    assert_eq!(
        err(r#"Digest realm="r", nonce="n""#, &elsewhere, "c"),
        ClientError::RealmMismatch
    );
    assert_eq!(
        err(r#"Digest realm="r""#, &md5_only, "c"),
        ClientError::Missing("nonce")
    );
    assert_eq!(
        err(r#"Basic realm="r""#, &md5_only, "c"),
        ClientError::NotDigest
    );
    assert_eq!(
        err(r#"Digest realm="r", nonce="n""#, &Auth::new("u", ""), "c"),
        ClientError::NoSecret(Algorithm::Md5)
    );
    // Quotes and backslashes in values are escaped.
    let q = authorization(
        &parse(r#"Digest realm="a\"b", nonce="n""#),
        &Auth::new("x\"y", "").password("p"),
        "REGISTER",
        "sip:r",
        "c",
        1,
    )
    .unwrap();
    assert!(
        q.starts_with(r#"Digest username="x\"y", realm="a\"b", nonce="n""#),
        "{q}"
    );
    assert_eq!(parse(&q).username().as_deref(), Some("x\"y"));
}

#[test]
fn password_digest_is_ha1() {
    // MD5("Mufasa:testrealm@host.com:Circle Of Life"), RFC 2617 §3.5's H(A1).
    assert_eq!(
        password_digest(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life"
        ),
        "939e7578ed9e3c518a452acee763bce9"
    );
    assert_eq!(
        password_digest(Algorithm::Sha512_256, "u", "r", "p").len(),
        64
    );
}
