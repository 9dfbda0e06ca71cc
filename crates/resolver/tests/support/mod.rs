//! A tiny authoritative DNS server on loopback UDP for the resolver tests.
//!
//! It answers NAPTR/SRV/A/AAAA from a table, NXDOMAIN (with an SOA, so the
//! answer may be cached per RFC 2308) for unknown names and NODATA for known
//! names without the asked type, and logs every question so tests can count
//! what reached it. It binds port 0 and dies with the test's runtime.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_resolver::proto::op::{Message, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, NAPTR, SOA, SRV};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

/// The zone the server answers from.
#[derive(Default, Clone)]
pub struct Zone {
    records: HashMap<(String, RecordType), Vec<Record>>,
}

fn key(name: &str) -> String {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    format!("{n}.")
}

fn name(n: &str) -> Name {
    Name::from_ascii(key(n)).expect("test names are valid")
}

impl Zone {
    pub fn new() -> Self {
        Self::default()
    }

    fn add(mut self, owner: &str, ttl: u32, data: RData) -> Self {
        let rtype = data.record_type();
        self.records
            .entry((key(owner), rtype))
            .or_default()
            .push(Record::from_rdata(name(owner), ttl, data));
        self
    }

    pub fn naptr(self, owner: &str, order: u16, pref: u16, service: &str, repl: &str) -> Self {
        let data = NAPTR::new(
            order,
            pref,
            b"S".to_vec().into_boxed_slice(),
            service.as_bytes().to_vec().into_boxed_slice(),
            Vec::new().into_boxed_slice(),
            name(repl),
        );
        self.add(owner, 300, RData::NAPTR(data))
    }

    pub fn srv(self, owner: &str, prio: u16, weight: u16, port: u16, target: &str) -> Self {
        self.add(
            owner,
            300,
            RData::SRV(SRV::new(prio, weight, port, name(target))),
        )
    }

    pub fn a(self, owner: &str, ip: &str) -> Self {
        self.a_ttl(owner, ip, 300)
    }

    pub fn a_ttl(self, owner: &str, ip: &str, ttl: u32) -> Self {
        let ip: Ipv4Addr = ip.parse().expect("test IPv4");
        self.add(owner, ttl, RData::A(A(ip)))
    }

    pub fn aaaa(self, owner: &str, ip: &str) -> Self {
        let ip: Ipv6Addr = ip.parse().expect("test IPv6");
        self.add(owner, 300, RData::AAAA(AAAA(ip)))
    }

    fn name_exists(&self, n: &str) -> bool {
        self.records.keys().any(|(owner, _)| owner == n)
    }

    fn respond(&self, req: &Message) -> Message {
        let mut resp = Message::response(req.metadata.id, OpCode::Query);
        resp.metadata.authoritative = true;
        resp.metadata.recursion_desired = req.metadata.recursion_desired;
        resp.metadata.recursion_available = true;
        resp.queries = req.queries.clone();
        let Some(q) = req.queries.first() else {
            resp.metadata.response_code = ResponseCode::FormErr;
            return resp;
        };
        let owner = key(&q.name().to_string());
        match self.records.get(&(owner.clone(), q.query_type())) {
            Some(records) => resp.answers = records.clone(),
            None => {
                if !self.name_exists(&owner) {
                    resp.metadata.response_code = ResponseCode::NXDomain;
                }
                // SOA with a 60 s negative TTL (RFC 2308 §5).
                let soa = SOA::new(name("ns.test"), name("admin.test"), 1, 3600, 600, 86400, 60);
                resp.authorities
                    .push(Record::from_rdata(name("test"), 60, RData::SOA(soa)));
            }
        }
        resp
    }
}

/// A running loopback DNS server.
pub struct DnsServer {
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<(String, RecordType)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl DnsServer {
    /// Starts answering `zone` on 127.0.0.1:<ephemeral>.
    pub async fn start(zone: Zone) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = sock.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(req) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                if let Some(q) = req.queries.first() {
                    task_log
                        .lock()
                        .unwrap()
                        .push((key(&q.name().to_string()), q.query_type()));
                }
                let resp = zone.respond(&req);
                if let Ok(bytes) = resp.to_vec() {
                    let _ = sock.send_to(&bytes, peer).await;
                }
            }
        });
        Self { addr, log, task }
    }

    /// Every question received so far, as ("name.", type).
    pub fn queries(&self) -> Vec<(String, RecordType)> {
        self.log.lock().unwrap().clone()
    }

    /// How many questions arrived.
    pub fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Questions of one type.
    pub fn count_of(&self, rtype: RecordType) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, t)| *t == rtype)
            .count()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
