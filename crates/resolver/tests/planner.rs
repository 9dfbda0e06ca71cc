//! The sans-IO RFC 3263 planner, driven by a table instead of DNS.

use std::collections::HashMap;
use std::net::IpAddr;

use sip_resolver::{
    Answer, NaptrRecord, Planner, Query, Request, ResolveError, Scheme, SrvRecord, Step, Target,
    Transport,
};

use Transport::{Tcp, Tls, Udp, Ws, Wss};

const ALL: [Transport; 5] = Transport::ALL;

#[derive(Default)]
struct Zone {
    naptr: HashMap<String, Vec<NaptrRecord>>,
    srv: HashMap<String, Vec<SrvRecord>>,
    addr: HashMap<String, Vec<IpAddr>>,
    fail: Vec<Query>,
}

impl Zone {
    fn naptr(mut self, name: &str, order: u16, pref: u16, service: &str, repl: &str) -> Self {
        self.naptr
            .entry(name.into())
            .or_default()
            .push(NaptrRecord {
                order,
                preference: pref,
                flags: "S".into(),
                services: service.into(),
                regexp: String::new(),
                replacement: repl.into(),
            });
        self
    }
    fn srv(mut self, name: &str, prio: u16, weight: u16, port: u16, target: &str) -> Self {
        self.srv
            .entry(name.into())
            .or_default()
            .push(SrvRecord::new(prio, weight, port, target));
        self
    }
    fn addr(mut self, name: &str, ip: &str) -> Self {
        self.addr
            .entry(name.into())
            .or_default()
            .push(ip.parse().unwrap());
        self
    }
    fn answer(&self, q: &Query) -> Answer {
        if self.fail.contains(q) {
            return Answer::Failed(format!("{q:?} timed out"));
        }
        match q {
            Query::Naptr { name } => {
                Answer::Naptr(self.naptr.get(name).cloned().unwrap_or_default())
            }
            Query::Srv { name } => Answer::Srv(self.srv.get(name).cloned().unwrap_or_default()),
            Query::Address { name } => {
                Answer::Addresses(self.addr.get(name).cloned().unwrap_or_default())
            }
        }
    }
}

/// Runs the planner to completion against `zone`; returns the result and
/// every query asked, in order.
fn run(
    zone: &Zone,
    req: Request,
    supported: &[Transport],
    rng: &mut impl FnMut(u32) -> u32,
) -> (Result<Vec<Target>, ResolveError>, Vec<Query>) {
    let mut planner = Planner::new(req, supported);
    let mut asked = Vec::new();
    for _ in 0..10 {
        match planner.step(rng) {
            Step::Done(r) => return (r, asked),
            Step::Lookup(qs) => {
                assert!(!qs.is_empty(), "a lookup step asks something");
                for (id, q) in qs {
                    assert!(planner.answer(id, zone.answer(&q)));
                    asked.push(q);
                }
            }
        }
    }
    panic!("planner did not finish");
}

fn zero(_: u32) -> u32 {
    0
}

fn list(r: &Result<Vec<Target>, ResolveError>) -> Vec<String> {
    r.as_ref()
        .unwrap()
        .iter()
        .map(|t| format!("{} {}", t.transport, t.addr))
        .collect()
}

fn naptr(name: &str) -> Query {
    Query::Naptr { name: name.into() }
}
fn srv(name: &str) -> Query {
    Query::Srv { name: name.into() }
}
fn addr(name: &str) -> Query {
    Query::Address { name: name.into() }
}

#[test]
fn numeric_ipv4_needs_no_lookup() {
    let zone = Zone::default();
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sip, "192.0.2.7"),
        &ALL,
        &mut zero,
    );
    assert!(asked.is_empty());
    assert_eq!(list(&r), ["udp 192.0.2.7:5060"]);
    assert_eq!(r.unwrap()[0].host, "192.0.2.7");
}

#[test]
fn numeric_ip_defaults_per_scheme_and_params() {
    let zone = Zone::default();
    let cases = [
        (
            Request::new(Scheme::Sips, "192.0.2.7"),
            "tls 192.0.2.7:5061",
        ),
        (
            Request::new(Scheme::Sip, "[2001:db8::1]"),
            "udp [2001:db8::1]:5060",
        ),
        (
            Request::new(Scheme::Sip, "2001:db8::1").with_port(5080),
            "udp [2001:db8::1]:5080",
        ),
        (
            Request::new(Scheme::Sip, "192.0.2.7").with_transport(Tcp),
            "tcp 192.0.2.7:5060",
        ),
        (
            Request::new(Scheme::Sip, "192.0.2.7").with_transport(Tls),
            "tls 192.0.2.7:5061",
        ),
        // sips + transport=tcp means TLS (RFC 3261 §26.2.2).
        (
            Request::new(Scheme::Sips, "192.0.2.7").with_transport(Tcp),
            "tls 192.0.2.7:5061",
        ),
        (
            Request::new(Scheme::Sips, "192.0.2.7").with_transport(Ws),
            "wss 192.0.2.7:5061",
        ),
        (
            Request::new(Scheme::Sip, "192.0.2.7")
                .with_port(7000)
                .with_transport(Tcp),
            "tcp 192.0.2.7:7000",
        ),
    ];
    for (req, want) in cases {
        let (r, asked) = run(&zone, req.clone(), &ALL, &mut zero);
        assert!(asked.is_empty(), "{req:?}");
        assert_eq!(list(&r), [want], "{req:?}");
    }
}

#[test]
fn numeric_ip_without_udp_uses_tcp() {
    let (r, _) = run(
        &Zone::default(),
        Request::new(Scheme::Sip, "192.0.2.7"),
        &[Tcp, Tls],
        &mut zero,
    );
    assert_eq!(list(&r), ["tcp 192.0.2.7:5060"]);
}

#[test]
fn uri_errors() {
    let zone = Zone::default();
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sips, "192.0.2.7").with_transport(Udp),
        &ALL,
        &mut zero,
    );
    assert_eq!(
        r,
        Err(ResolveError::UnsupportedTransport {
            scheme: Scheme::Sips,
            transport: Some(Udp)
        })
    );
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com").with_transport(Ws),
        &[Udp, Tcp],
        &mut zero,
    );
    assert!(matches!(r, Err(ResolveError::UnsupportedTransport { .. })));
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sips, "example.com"),
        &[Udp, Tcp],
        &mut zero,
    );
    assert!(asked.is_empty(), "{asked:?}");
    assert_eq!(r, Err(ResolveError::NoUsableTransport(Scheme::Sips)));
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sips, "192.0.2.1"),
        &[Udp],
        &mut zero,
    );
    assert_eq!(r, Err(ResolveError::NoUsableTransport(Scheme::Sips)));
    for bad in ["", "exa mple.com", "a..b", "x\u{e9}.com"] {
        let (r, asked) = run(&zone, Request::new(Scheme::Sip, bad), &ALL, &mut zero);
        assert!(
            matches!(r, Err(ResolveError::InvalidHost(_))),
            "{bad:?}: {r:?}"
        );
        assert!(asked.is_empty());
    }
    assert_eq!(Transport::from_param("sctp", Scheme::Sip), None);
    assert_eq!(Transport::from_param("UDP", Scheme::Sips), None);
    assert_eq!(Transport::from_param("TCP", Scheme::Sips), Some(Tls));
    assert_eq!(Transport::from_param("tls", Scheme::Sip), Some(Tls));
}

#[test]
fn explicit_port_skips_naptr_and_srv() {
    let zone = Zone::default()
        .naptr("example.com", 10, 10, "SIP+D2T", "_sip._tcp.example.com")
        .srv("_sip._udp.example.com", 0, 0, 5070, "other.example.com")
        .addr("example.com", "192.0.2.1")
        .addr("example.com", "2001:db8::1");
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com").with_port(5080),
        &ALL,
        &mut zero,
    );
    assert_eq!(asked, [addr("example.com")]);
    assert_eq!(list(&r), ["udp 192.0.2.1:5080", "udp [2001:db8::1]:5080"]);
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sips, "example.com").with_port(5081),
        &ALL,
        &mut zero,
    );
    assert_eq!(list(&r), ["tls 192.0.2.1:5081", "tls [2001:db8::1]:5081"]);
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com")
            .with_port(5080)
            .with_transport(Tcp),
        &ALL,
        &mut zero,
    );
    assert_eq!(list(&r), ["tcp 192.0.2.1:5080", "tcp [2001:db8::1]:5080"]);
}

#[test]
fn transport_param_queries_that_srv_only() {
    let zone = Zone::default()
        .naptr("example.com", 10, 10, "SIP+D2U", "_sip._udp.example.com")
        .srv("_sip._tcp.example.com", 0, 0, 5070, "pbx.example.com")
        .srv("_sips._tcp.example.com", 0, 0, 5071, "pbx.example.com")
        .addr("pbx.example.com", "192.0.2.5");
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com").with_transport(Tcp),
        &ALL,
        &mut zero,
    );
    assert_eq!(
        asked,
        [srv("_sip._tcp.example.com"), addr("pbx.example.com")]
    );
    assert_eq!(list(&r), ["tcp 192.0.2.5:5070"]);
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sips, "example.com").with_transport(Tcp),
        &ALL,
        &mut zero,
    );
    assert_eq!(asked[0], srv("_sips._tcp.example.com"));
    assert_eq!(list(&r), ["tls 192.0.2.5:5071"]);
}

#[test]
fn transport_param_without_srv_uses_host_with_default_port() {
    let zone = Zone::default().addr("example.com", "192.0.2.1");
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com").with_transport(Tls),
        &ALL,
        &mut zero,
    );
    assert_eq!(asked, [srv("_sips._tcp.example.com"), addr("example.com")]);
    assert_eq!(list(&r), ["tls 192.0.2.1:5061"]);
}

#[test]
fn naptr_srv_a_chain_in_order_preference_order() {
    let zone = Zone::default()
        // Out of order on purpose: order first, then preference.
        .naptr("example.com", 20, 10, "SIP+D2U", "_sip._udp.example.com")
        .naptr("example.com", 10, 20, "SIP+D2T", "_sip._tcp.example.com")
        .naptr("example.com", 10, 10, "SIPS+D2T", "_sips._tcp.example.com")
        .srv("_sip._udp.example.com", 0, 0, 5060, "udp.example.com")
        .srv("_sip._tcp.example.com", 0, 0, 5060, "tcp.example.com")
        .srv("_sips._tcp.example.com", 0, 0, 5061, "tls.example.com")
        .addr("udp.example.com", "192.0.2.1")
        .addr("tcp.example.com", "192.0.2.2")
        .addr("tls.example.com", "192.0.2.3");
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com"),
        &ALL,
        &mut zero,
    );
    assert_eq!(
        asked,
        [
            naptr("example.com"),
            srv("_sips._tcp.example.com"),
            srv("_sip._tcp.example.com"),
            srv("_sip._udp.example.com"),
            addr("tls.example.com"),
            addr("tcp.example.com"),
            addr("udp.example.com"),
        ]
    );
    assert_eq!(
        list(&r),
        [
            "tls 192.0.2.3:5061",
            "tcp 192.0.2.2:5060",
            "udp 192.0.2.1:5060"
        ]
    );
    let targets = r.unwrap();
    assert!(
        targets.iter().all(|t| t.host == "example.com"),
        "host is the URI's domain"
    );

    // Only the transports we run are kept.
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com"),
        &[Udp],
        &mut zero,
    );
    assert_eq!(list(&r), ["udp 192.0.2.1:5060"]);
    // A sips URI keeps only SIPS services.
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sips, "example.com"),
        &ALL,
        &mut zero,
    );
    assert_eq!(list(&r), ["tls 192.0.2.3:5061"]);
}

#[test]
fn naptr_filters_flags_unknown_services_and_dot() {
    let mut zone = Zone::default()
        .naptr("example.com", 10, 10, "SIP+D2U", ".")
        .naptr("example.com", 10, 20, "E2U+sip", "_x.example.com")
        .naptr("example.com", 10, 30, "SIP+D2S", "_sip._sctp.example.com")
        .naptr("example.com", 50, 10, "sip+d2t", "_sip._tcp.example.com.")
        .srv("_sip._tcp.example.com", 0, 0, 5060, "pbx.example.com.")
        .addr("pbx.example.com", "192.0.2.9");
    // A record with an "A" or empty flag is not a SIP SRV pointer.
    zone.naptr
        .get_mut("example.com")
        .unwrap()
        .push(NaptrRecord {
            order: 1,
            preference: 1,
            flags: "A".into(),
            services: "SIP+D2U".into(),
            regexp: String::new(),
            replacement: "udp.example.com".into(),
        });
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com"),
        &ALL,
        &mut zero,
    );
    assert_eq!(
        asked[1..],
        [srv("_sip._tcp.example.com"), addr("pbx.example.com")]
    );
    assert_eq!(list(&r), ["tcp 192.0.2.9:5060"]);
}

#[test]
fn websocket_naptr_services() {
    let zone = Zone::default()
        .naptr("example.com", 10, 10, "SIPS+D2W", "_sips._ws.example.com")
        .naptr("example.com", 10, 20, "SIP+D2W", "_sip._ws.example.com")
        .srv("_sips._ws.example.com", 0, 0, 443, "ws.example.com")
        .srv("_sip._ws.example.com", 0, 0, 80, "ws.example.com")
        .addr("ws.example.com", "192.0.2.4");
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com"),
        &ALL,
        &mut zero,
    );
    assert_eq!(list(&r), ["wss 192.0.2.4:443", "ws 192.0.2.4:80"]);
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com"),
        &[Ws],
        &mut zero,
    );
    assert_eq!(list(&r), ["ws 192.0.2.4:80"]);
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sips, "example.com"),
        &[Wss, Ws],
        &mut zero,
    );
    assert_eq!(list(&r), ["wss 192.0.2.4:443"]);
}

#[test]
fn no_naptr_queries_srv_per_supported_transport() {
    let zone = Zone::default()
        .srv("_sip._tcp.example.com", 0, 0, 5070, "tcp.example.com")
        .srv("_sip._udp.example.com", 0, 0, 5060, "udp.example.com")
        .addr("tcp.example.com", "192.0.2.2")
        .addr("udp.example.com", "192.0.2.1");
    // Our preference order decides the query and failover order; sip URIs
    // query only _sip services (not _sips._tcp).
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com"),
        &[Tcp, Tls, Udp],
        &mut zero,
    );
    assert_eq!(
        asked,
        [
            naptr("example.com"),
            srv("_sip._tcp.example.com"),
            srv("_sip._udp.example.com"),
            addr("tcp.example.com"),
            addr("udp.example.com"),
        ]
    );
    assert_eq!(list(&r), ["tcp 192.0.2.2:5070", "udp 192.0.2.1:5060"]);

    // sips: only _sips._tcp (and _sips._ws for WSS).
    let (_, asked) = run(
        &zone,
        Request::new(Scheme::Sips, "example.com"),
        &ALL,
        &mut zero,
    );
    assert_eq!(
        asked[..3],
        [
            naptr("example.com"),
            srv("_sips._tcp.example.com"),
            srv("_sips._ws.example.com")
        ]
    );
}

#[test]
fn naptr_with_no_usable_record_falls_back_to_srv() {
    let zone = Zone::default()
        .naptr("example.com", 10, 10, "SIP+D2T", "_sip._tcp.example.com")
        .srv("_sip._udp.example.com", 0, 0, 5060, "udp.example.com")
        .addr("udp.example.com", "192.0.2.1");
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com"),
        &[Udp],
        &mut zero,
    );
    assert_eq!(asked[1], srv("_sip._udp.example.com"));
    assert_eq!(list(&r), ["udp 192.0.2.1:5060"]);
}

#[test]
fn no_srv_uses_a_aaaa_of_the_host_with_default_port() {
    let zone = Zone::default()
        .addr("example.com", "192.0.2.1")
        .addr("example.com", "2001:db8::1");
    let (r, asked) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com"),
        &[Udp, Tcp],
        &mut zero,
    );
    assert_eq!(
        asked,
        [
            naptr("example.com"),
            srv("_sip._udp.example.com"),
            srv("_sip._tcp.example.com"),
            addr("example.com"),
        ]
    );
    assert_eq!(list(&r), ["udp 192.0.2.1:5060", "udp [2001:db8::1]:5060"]);
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sips, "example.com"),
        &ALL,
        &mut zero,
    );
    assert_eq!(list(&r), ["tls 192.0.2.1:5061", "tls [2001:db8::1]:5061"]);
}

#[test]
fn srv_priorities_and_weights_order_the_targets() {
    let zone = Zone::default()
        .srv("_sip._udp.example.com", 20, 0, 5060, "backup.example.com")
        .srv("_sip._udp.example.com", 10, 10, 5060, "a.example.com")
        .srv("_sip._udp.example.com", 10, 90, 5062, "b.example.com")
        .addr("backup.example.com", "192.0.2.20")
        .addr("a.example.com", "192.0.2.10")
        .addr("b.example.com", "192.0.2.11");
    let req = Request::new(Scheme::Sip, "example.com").with_transport(Udp);
    // Draw 0..=10 picks a first, 11..=100 picks b first; backup is always last.
    let (r, _) = run(&zone, req.clone(), &ALL, &mut |_| 5);
    assert_eq!(
        list(&r),
        [
            "udp 192.0.2.10:5060",
            "udp 192.0.2.11:5062",
            "udp 192.0.2.20:5060"
        ]
    );
    let (r, _) = run(&zone, req.clone(), &ALL, &mut |b| b);
    assert_eq!(
        list(&r),
        [
            "udp 192.0.2.11:5062",
            "udp 192.0.2.10:5060",
            "udp 192.0.2.20:5060"
        ]
    );

    // Over the whole draw space b leads 90 times in 101, a 11 times.
    let mut b_first = 0;
    for draw in 0..=100u32 {
        let mut first = true;
        let (r, _) = run(&zone, req.clone(), &ALL, &mut |_| {
            if first {
                first = false;
                draw
            } else {
                0
            }
        });
        if r.unwrap()[0].addr.port() == 5062 {
            b_first += 1;
        }
    }
    assert_eq!(b_first, 90);
}

#[test]
fn duplicate_targets_are_dropped() {
    let zone = Zone::default()
        .srv("_sip._udp.example.com", 10, 0, 5060, "a.example.com")
        .srv("_sip._udp.example.com", 20, 0, 5060, "a.example.com.")
        .addr("a.example.com", "192.0.2.1")
        .addr("a.example.com", "192.0.2.1");
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com").with_transport(Udp),
        &ALL,
        &mut zero,
    );
    assert_eq!(list(&r), ["udp 192.0.2.1:5060"]);
}

#[test]
fn not_found_and_dns_failure_are_told_apart() {
    let zone = Zone::default();
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sip, "nowhere.example"),
        &[Udp],
        &mut zero,
    );
    assert_eq!(
        r,
        Err(ResolveError::NotFound {
            host: "nowhere.example".into()
        })
    );

    let mut zone = Zone::default();
    zone.fail.push(naptr("example.com"));
    zone.fail.push(addr("example.com"));
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com"),
        &[Udp],
        &mut zero,
    );
    assert!(matches!(r, Err(ResolveError::Dns { .. })), "{r:?}");
}

#[test]
fn a_failed_naptr_query_still_tries_srv() {
    let mut zone = Zone::default()
        .srv("_sip._udp.example.com", 0, 0, 5060, "pbx.example.com")
        .addr("pbx.example.com", "192.0.2.1");
    zone.fail.push(naptr("example.com"));
    let (r, _) = run(
        &zone,
        Request::new(Scheme::Sip, "example.com"),
        &[Udp],
        &mut zero,
    );
    assert_eq!(list(&r), ["udp 192.0.2.1:5060"]);
}

#[test]
fn answers_can_arrive_in_any_order_and_stale_ids_are_ignored() {
    let zone = Zone::default()
        .srv("_sip._udp.example.com", 0, 0, 5060, "u.example.com")
        .srv("_sip._tcp.example.com", 0, 0, 5060, "t.example.com")
        .addr("u.example.com", "192.0.2.1")
        .addr("t.example.com", "192.0.2.2");
    let mut p = Planner::new(Request::new(Scheme::Sip, "example.com"), &[Udp, Tcp]);
    let Step::Lookup(naptr_q) = p.step(&mut zero) else {
        panic!()
    };
    let stale = naptr_q[0].0;
    assert!(p.answer(stale, Answer::Naptr(Vec::new())));
    let Step::Lookup(srv_q) = p.step(&mut zero) else {
        panic!()
    };
    assert_eq!(srv_q.len(), 2);
    // A stale id and a wrong-kind answer are refused.
    assert!(!p.answer(stale, Answer::Naptr(Vec::new())));
    assert!(!p.answer(srv_q[0].0, Answer::Addresses(Vec::new())));
    // Answer the second first; asking again repeats only the missing one.
    assert!(p.answer(srv_q[1].0, zone.answer(&srv_q[1].1)));
    let Step::Lookup(again) = p.step(&mut zero) else {
        panic!()
    };
    assert_eq!(again, srv_q[..1]);
    assert!(p.answer(srv_q[0].0, zone.answer(&srv_q[0].1)));
    let Step::Lookup(addr_q) = p.step(&mut zero) else {
        panic!()
    };
    for (id, q) in addr_q.iter().rev() {
        assert!(p.answer(*id, zone.answer(q)));
    }
    // Order follows the plan (udp before tcp), not answer arrival.
    let Step::Done(r) = p.step(&mut zero) else {
        panic!()
    };
    assert_eq!(list(&r), ["udp 192.0.2.1:5060", "tcp 192.0.2.2:5060"]);
}
