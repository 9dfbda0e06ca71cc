//! End to end: the hickory-driven resolver against a loopback DNS server.
//! Never the machine's resolver: every `Resolver` here is built with
//! `with_nameservers` pointing at the test server.

mod support;

use std::future::Future;
use std::time::Duration;

use hickory_resolver::config::ResolverOpts;
use hickory_resolver::proto::rr::RecordType;
use sip_resolver::{
    Failover, Next, Outcome, Request, ResolveError, Resolver, Scheme, Target, Transport,
};
use support::{DnsServer, Zone};

use Transport::{Tcp, Tls, Udp};

const ALL: [Transport; 5] = Transport::ALL;

/// Every test is bounded in time.
async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("test took too long")
}

async fn setup(zone: Zone) -> (DnsServer, Resolver) {
    let server = DnsServer::start(zone).await;
    let resolver = Resolver::with_nameservers(&[server.addr]).expect("resolver");
    (server, resolver)
}

fn list(targets: &[Target]) -> Vec<String> {
    targets
        .iter()
        .map(|t| format!("{} {}", t.transport, t.addr))
        .collect()
}

fn q(name: &str, t: RecordType) -> (String, RecordType) {
    (name.to_string(), t)
}

fn chain_zone() -> Zone {
    Zone::new()
        .naptr("example.com", 10, 10, "SIPS+D2T", "_sips._tcp.example.com")
        .naptr("example.com", 20, 10, "SIP+D2T", "_sip._tcp.example.com")
        .naptr("example.com", 30, 10, "SIP+D2U", "_sip._udp.example.com")
        .srv("_sips._tcp.example.com", 0, 0, 5061, "tls.example.com")
        .srv("_sip._tcp.example.com", 0, 0, 5060, "tcp.example.com")
        .srv("_sip._udp.example.com", 0, 0, 5060, "udp.example.com")
        .a("tls.example.com", "127.0.0.3")
        .a("tcp.example.com", "127.0.0.2")
        .a("udp.example.com", "127.0.0.1")
}

#[tokio::test]
async fn naptr_srv_a_chain() {
    bounded(async {
        let (server, resolver) = setup(chain_zone()).await;
        let targets = resolver
            .resolve(&Request::new(Scheme::Sip, "example.com"), &ALL)
            .await
            .unwrap();
        assert_eq!(
            list(&targets),
            [
                "tls 127.0.0.3:5061",
                "tcp 127.0.0.2:5060",
                "udp 127.0.0.1:5060"
            ]
        );
        assert!(targets.iter().all(|t| t.host == "example.com"));
        let asked = server.queries();
        assert_eq!(asked[0], q("example.com.", RecordType::NAPTR));
        for name in [
            "_sips._tcp.example.com.",
            "_sip._tcp.example.com.",
            "_sip._udp.example.com.",
        ] {
            assert!(
                asked.contains(&q(name, RecordType::SRV)),
                "{name} {asked:?}"
            );
        }
        for name in ["tls.example.com.", "tcp.example.com.", "udp.example.com."] {
            assert!(asked.contains(&q(name, RecordType::A)), "{name}");
            assert!(asked.contains(&q(name, RecordType::AAAA)), "{name}");
        }
        assert_eq!(server.count(), 1 + 3 + 6);

        // A sips URI uses only the SIPS+D2T record.
        let targets = resolver
            .resolve(&Request::new(Scheme::Sips, "example.com"), &ALL)
            .await
            .unwrap();
        assert_eq!(list(&targets), ["tls 127.0.0.3:5061"]);
        // Without TLS configured, the sip URI skips it.
        let targets = resolver
            .resolve(&Request::new(Scheme::Sip, "example.com"), &[Udp, Tcp])
            .await
            .unwrap();
        assert_eq!(list(&targets), ["tcp 127.0.0.2:5060", "udp 127.0.0.1:5060"]);
    })
    .await;
}

#[tokio::test]
async fn srv_priorities_and_weights() {
    bounded(async {
        let zone = Zone::new()
            .srv("_sip._udp.example.com", 20, 0, 5070, "backup.example.com")
            .srv("_sip._udp.example.com", 10, 10, 5060, "a.example.com")
            .srv("_sip._udp.example.com", 10, 90, 5062, "b.example.com")
            .a("backup.example.com", "127.0.0.20")
            .a("a.example.com", "127.0.0.10")
            .a("b.example.com", "127.0.0.11");
        let (_server, resolver) = setup(zone).await;
        let req = Request::new(Scheme::Sip, "example.com");
        // The server may return the RRset in any order; the draw decides.
        let low = resolver
            .resolve_with_rng(&req, &[Udp], &mut |_| 0)
            .await
            .unwrap();
        assert_eq!(
            list(&low),
            [
                "udp 127.0.0.10:5060",
                "udp 127.0.0.11:5062",
                "udp 127.0.0.20:5070"
            ]
        );
        let high = resolver
            .resolve_with_rng(&req, &[Udp], &mut |b| b)
            .await
            .unwrap();
        assert_eq!(
            list(&high),
            [
                "udp 127.0.0.11:5062",
                "udp 127.0.0.10:5060",
                "udp 127.0.0.20:5070"
            ]
        );
        // The default random source spreads load: b (weight 90) leads most of
        // the time, backup (priority 20) never does.
        let mut b_first = 0;
        for _ in 0..200 {
            let t = resolver.resolve(&req, &[Udp]).await.unwrap();
            assert_eq!(t[2].addr.port(), 5070);
            if t[0].addr.port() == 5062 {
                b_first += 1;
            }
        }
        assert!((150..200).contains(&b_first), "b first {b_first}/200");
    })
    .await;
}

#[tokio::test]
async fn no_naptr_falls_back_to_srv_per_transport() {
    bounded(async {
        let zone = Zone::new()
            .srv("_sip._tcp.example.com", 0, 0, 5070, "pbx.example.com")
            .a("pbx.example.com", "127.0.0.5");
        let (server, resolver) = setup(zone).await;
        let targets = resolver
            .resolve(&Request::new(Scheme::Sip, "example.com"), &[Udp, Tcp])
            .await
            .unwrap();
        assert_eq!(list(&targets), ["tcp 127.0.0.5:5070"]);
        let asked = server.queries();
        assert_eq!(asked[0], q("example.com.", RecordType::NAPTR));
        assert!(asked.contains(&q("_sip._udp.example.com.", RecordType::SRV)));
        assert!(asked.contains(&q("_sip._tcp.example.com.", RecordType::SRV)));
    })
    .await;
}

#[tokio::test]
async fn no_srv_falls_back_to_a_with_default_port() {
    bounded(async {
        let zone = Zone::new().a("example.com", "127.0.0.7");
        let (server, resolver) = setup(zone).await;
        let targets = resolver
            .resolve(&Request::new(Scheme::Sip, "example.com"), &[Udp, Tcp])
            .await
            .unwrap();
        assert_eq!(list(&targets), ["udp 127.0.0.7:5060"]);
        let targets = resolver
            .resolve(&Request::new(Scheme::Sips, "example.com"), &ALL)
            .await
            .unwrap();
        assert_eq!(list(&targets), ["tls 127.0.0.7:5061"]);
        assert!(server
            .queries()
            .contains(&q("_sips._tcp.example.com.", RecordType::SRV)));
        // transport=tcp without SRV: A of the host, port 5060.
        let targets = resolver
            .resolve(
                &Request::new(Scheme::Sip, "example.com").with_transport(Tcp),
                &ALL,
            )
            .await
            .unwrap();
        assert_eq!(list(&targets), ["tcp 127.0.0.7:5060"]);
    })
    .await;
}

#[tokio::test]
async fn explicit_port_skips_srv() {
    bounded(async {
        let (server, resolver) = setup(chain_zone().a("example.com", "127.0.0.9")).await;
        let targets = resolver
            .resolve(
                &Request::new(Scheme::Sip, "example.com").with_port(5090),
                &ALL,
            )
            .await
            .unwrap();
        assert_eq!(list(&targets), ["udp 127.0.0.9:5090"]);
        let mut asked = server.queries();
        asked.sort_by_key(|(_, t)| u16::from(*t));
        assert_eq!(
            asked,
            [
                q("example.com.", RecordType::A),
                q("example.com.", RecordType::AAAA)
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn ip_literal_skips_dns() {
    bounded(async {
        let (server, resolver) = setup(chain_zone()).await;
        let targets = resolver
            .resolve(&Request::new(Scheme::Sip, "127.0.0.1"), &ALL)
            .await
            .unwrap();
        assert_eq!(list(&targets), ["udp 127.0.0.1:5060"]);
        let targets = resolver
            .resolve(&Request::new(Scheme::Sips, "[::1]").with_port(6000), &ALL)
            .await
            .unwrap();
        assert_eq!(list(&targets), ["tls [::1]:6000"]);
        assert_eq!(server.count(), 0);
    })
    .await;
}

#[tokio::test]
async fn aaaa_records() {
    bounded(async {
        let zone = Zone::new()
            .srv("_sip._udp.example.com", 0, 0, 5060, "v6.example.com")
            .srv("_sip._udp.example.com", 1, 0, 5060, "dual.example.com")
            .aaaa("v6.example.com", "::1")
            .a("dual.example.com", "127.0.0.1")
            .aaaa("dual.example.com", "2001:db8::2");
        let (_server, resolver) = setup(zone).await;
        let req = Request::new(Scheme::Sip, "example.com");
        let targets = resolver.resolve(&req, &[Udp]).await.unwrap();
        assert_eq!(
            list(&targets),
            [
                "udp [::1]:5060",
                "udp 127.0.0.1:5060",
                "udp [2001:db8::2]:5060"
            ]
        );
        let v6_first = resolver.clone().ipv6_first(true);
        let targets = v6_first.resolve(&req, &[Udp]).await.unwrap();
        assert_eq!(
            list(&targets),
            [
                "udp [::1]:5060",
                "udp [2001:db8::2]:5060",
                "udp 127.0.0.1:5060"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn answers_are_cached_for_their_ttl() {
    bounded(async {
        let (server, resolver) = setup(chain_zone()).await;
        let req = Request::new(Scheme::Sip, "example.com");
        let first = resolver.resolve(&req, &ALL).await.unwrap();
        let after_first = server.count();
        assert!(after_first > 0);
        let second = resolver.resolve(&req, &ALL).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(server.count(), after_first, "second lookup hit the server");
        // Clones share the cache.
        resolver.clone().resolve(&req, &ALL).await.unwrap();
        assert_eq!(server.count(), after_first);
        // Negative answers are cached too (the SOA gives 60 s): the AAAA
        // "no data" answers above were not asked again, nor is the NAPTR
        // NXDOMAIN of another domain.
        let zone_less = Request::new(Scheme::Sip, "missing.example.com");
        assert!(matches!(
            resolver.resolve(&zone_less, &[Udp]).await,
            Err(ResolveError::NotFound { .. })
        ));
        let n = server.count();
        let _ = resolver.resolve(&zone_less, &[Udp]).await;
        assert_eq!(server.count(), n);
        // clear_cache forgets everything.
        resolver.clear_cache();
        resolver.resolve(&req, &ALL).await.unwrap();
        assert_eq!(server.count(), n + after_first);
    })
    .await;
}

#[tokio::test]
async fn expired_answers_are_asked_again() {
    bounded(async {
        let zone = Zone::new().a_ttl("short.example.com", "127.0.0.1", 1);
        let (server, resolver) = setup(zone).await;
        let req = Request::new(Scheme::Sip, "short.example.com").with_port(5060);
        resolver.resolve(&req, &[Udp]).await.unwrap();
        resolver.resolve(&req, &[Udp]).await.unwrap();
        assert_eq!(server.count_of(RecordType::A), 1);
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        resolver.resolve(&req, &[Udp]).await.unwrap();
        assert_eq!(server.count_of(RecordType::A), 2);
    })
    .await;
}

#[tokio::test]
async fn failover_walks_the_resolved_order() {
    bounded(async {
        let zone = Zone::new()
            .srv("_sip._udp.example.com", 10, 0, 5060, "primary.example.com")
            .srv(
                "_sip._udp.example.com",
                20,
                0,
                5060,
                "secondary.example.com",
            )
            .a("primary.example.com", "127.0.0.1")
            .a("primary.example.com", "127.0.0.2")
            .a("secondary.example.com", "127.0.0.3");
        let (_server, resolver) = setup(zone).await;
        let targets = resolver
            .resolve(&Request::new(Scheme::Sip, "example.com"), &[Udp])
            .await
            .unwrap();
        let mut f = Failover::new(targets);
        let addr = |t: &Target| t.addr.to_string();
        let first = addr(f.current().unwrap());
        assert!(first.starts_with("127.0.0.1:") || first.starts_with("127.0.0.2:"));
        // Timeout → the primary's other address; 503 → the secondary.
        let Next::Retry(t) = f.on_outcome(Outcome::Timeout) else {
            panic!("expected a retry")
        };
        assert!(addr(t).starts_with("127.0.0.") && addr(t) != first);
        let Next::Retry(t) = f.on_outcome(Outcome::Response(503)) else {
            panic!("expected a retry")
        };
        assert_eq!(addr(t), "127.0.0.3:5060");
        assert_eq!(f.on_outcome(Outcome::Response(486)), Next::Final);
        assert_eq!(f.on_outcome(Outcome::TransportError), Next::Exhausted);
    })
    .await;
}

#[tokio::test]
async fn dead_name_server_fails_in_bounded_time() {
    bounded(async {
        // Bind then drop: a loopback port with nobody listening.
        let dead = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut opts = ResolverOpts::default();
        opts.timeout = Duration::from_millis(300);
        opts.attempts = 1;
        let resolver = Resolver::with_nameservers_and_options(&[dead], opts).unwrap();
        let started = std::time::Instant::now();
        let r = resolver
            .resolve(&Request::new(Scheme::Sip, "example.com"), &[Udp])
            .await;
        assert!(matches!(r, Err(ResolveError::Dns { .. })), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(Resolver::with_nameservers(&[]).is_err());
    })
    .await;
}

#[tokio::test]
async fn unknown_domain_is_not_found() {
    bounded(async {
        let (_server, resolver) = setup(Zone::new()).await;
        let r = resolver
            .resolve(&Request::new(Scheme::Sip, "nowhere.test"), &[Udp, Tcp, Tls])
            .await;
        assert_eq!(
            r,
            Err(ResolveError::NotFound {
                host: "nowhere.test".into()
            })
        );
    })
    .await;
}
