//! Digest costs per algorithm: building a 401's challenge (nonce MAC + formatting),
//! verifying an Authorization (parse included: the header arrives as text), and the
//! client computing its Authorization.
//!
//! `cargo bench -p switchboard-digest --bench digest`

use std::hint::black_box;
use std::net::IpAddr;

use bytestring::ByteString;
use criterion::{criterion_group, criterion_main, Criterion};
use sip_digest::{
    authorization, password_digest, Algorithm, Auth, AuthValue, DigestServer, Request, Verdict,
};
use sip_message::headers::FromHeader;

const RURI: &str = "sip:pbx.example.com";

fn parse(s: &str) -> AuthValue {
    AuthValue::from_header(&ByteString::from(s.to_owned())).expect("bench header parses")
}

fn bench(c: &mut Criterion) {
    let server = DigestServer::with_key([0x5a; 32]);
    let source: IpAddr = "192.0.2.10".parse().expect("address");
    let algs = [Algorithm::Md5, Algorithm::Sha256, Algorithm::Sha512_256];

    let mut g = c.benchmark_group("digest");
    for alg in algs {
        let list = [alg];
        let auth = Auth::new("1001", "asterisk")
            .password("correct horse")
            .algorithms(&list);
        let name = alg.name();

        g.bench_function(format!("challenge/{name}"), |b| {
            b.iter(|| {
                black_box(server.challenges(
                    black_box(std::slice::from_ref(&auth)),
                    1_000,
                    source,
                    false,
                ))
            })
        });

        let chal = parse(&server.challenges(std::slice::from_ref(&auth), 1_000, source, false)[0]);
        g.bench_function(format!("client_authorization/{name}"), |b| {
            b.iter(|| {
                black_box(authorization(
                    black_box(&chal),
                    &auth,
                    "REGISTER",
                    RURI,
                    "0a4f113b",
                    1,
                ))
            })
        });

        let cred_text =
            authorization(&chal, &auth, "REGISTER", RURI, "0a4f113b", 1).expect("answer");
        let req = Request {
            method: "REGISTER",
            uri: RURI,
            source,
            now: 1_010,
        };
        assert_eq!(server.verify(&parse(&cred_text), &auth, &req), Verdict::Ok);
        let shared = ByteString::from(cred_text.clone());
        g.bench_function(format!("verify/{name}"), |b| {
            b.iter(|| {
                let cred = AuthValue::from_header(black_box(&shared)).expect("parses");
                black_box(server.verify(&cred, &auth, &req))
            })
        });

        // A stored md5_cred / password_digest skips H(A1) on every request.
        let hex = password_digest(alg, "1001", "asterisk", "correct horse");
        let stored = Auth::new("1001", "asterisk")
            .digest(alg, &hex)
            .algorithms(&list);
        assert_eq!(
            server.verify(&parse(&cred_text), &stored, &req),
            Verdict::Ok
        );
        g.bench_function(format!("verify_stored_digest/{name}"), |b| {
            b.iter(|| {
                let cred = AuthValue::from_header(black_box(&shared)).expect("parses");
                black_box(server.verify(&cred, &stored, &req))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
