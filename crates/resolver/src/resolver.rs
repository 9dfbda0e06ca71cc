//! The async driver: runs a [`Planner`] against DNS with hickory-resolver.
//!
//! All RFC 3263 decisions live in the planner; this module only turns its
//! [`Query`]s into DNS lookups and the answers back into [`Answer`]s. The
//! lookups of one step (several SRV names, several targets' A/AAAA) run
//! concurrently.
//!
//! Caching: hickory-resolver keeps every answer — positive ones for their
//! records' TTL, negative ones (NXDOMAIN / no data) for the SOA minimum the
//! server sends (RFC 2308) — keyed by name and type, so a second resolution
//! of the same URI within the TTLs sends no packet. Only the DNS answers are
//! cached, never the final target list: each resolution draws the SRV weights
//! afresh (RFC 2782 load spreading) and every TTL is honoured per record.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

use crate::error::ResolveError;
use crate::plan::{Answer, NaptrRecord, Planner, Query, Request, Step};
use crate::srv::SrvRecord;
use crate::transport::{Target, Transport};

/// Upper bound on planner steps (NAPTR, SRV, A/AAAA, done): a guard against a
/// driver bug looping forever, never reached by a correct planner.
const MAX_STEPS: usize = 8;

/// Resolves SIP URIs to ordered targets (RFC 3263) over DNS.
///
/// Cheap to clone: clones share hickory's connection pool and cache.
#[derive(Clone)]
pub struct Resolver {
    dns: TokioResolver,
    ipv6_first: bool,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("ipv6_first", &self.ipv6_first)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver using the system's configuration (`/etc/resolv.conf`) and
    /// hosts file: what the server uses. Must be called within a tokio runtime.
    pub fn from_system() -> Result<Self, ResolveError> {
        let builder =
            TokioResolver::builder_tokio().map_err(|e| ResolveError::Config(e.to_string()))?;
        let dns = builder
            .build()
            .map_err(|e| ResolveError::Config(e.to_string()))?;
        Ok(Self::from_hickory(dns))
    }

    /// A resolver that asks exactly these name servers (UDP, falling back to
    /// TCP for truncated answers) and nothing else: no system configuration,
    /// no hosts file, no search domains. For explicit configuration and for
    /// tests against a loopback DNS server. Must be called within a tokio
    /// runtime.
    ///
    /// Each query waits 2 s per attempt, 2 attempts, so a dead name server
    /// costs a bounded time rather than the system default.
    pub fn with_nameservers(addrs: &[SocketAddr]) -> Result<Self, ResolveError> {
        let mut opts = ResolverOpts::default();
        opts.timeout = Duration::from_secs(2);
        opts.attempts = 2;
        opts.use_hosts_file = ResolveHosts::Never;
        Self::with_nameservers_and_options(addrs, opts)
    }

    /// As [`Resolver::with_nameservers`], with hickory's options as given
    /// (timeouts, cache size, TTL bounds, …).
    pub fn with_nameservers_and_options(
        addrs: &[SocketAddr],
        opts: ResolverOpts,
    ) -> Result<Self, ResolveError> {
        if addrs.is_empty() {
            return Err(ResolveError::Config("no name servers given".into()));
        }
        let servers = addrs
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
            })
            .collect();
        let config = ResolverConfig::from_name_servers(servers);
        let dns = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| ResolveError::Config(e.to_string()))?;
        Ok(Self::from_hickory(dns))
    }

    /// Wraps a hickory resolver configured by the caller.
    pub fn from_hickory(dns: TokioResolver) -> Self {
        Self {
            dns,
            ipv6_first: false,
        }
    }

    /// Whether a host's IPv6 addresses are tried before its IPv4 ones.
    /// RFC 3263 leaves the order open; the default is IPv4 first, which is
    /// what most SIP peers reach reliably (RFC 6724-style preference is the
    /// caller's choice).
    pub fn ipv6_first(mut self, yes: bool) -> Self {
        self.ipv6_first = yes;
        self
    }

    /// Forgets every cached DNS answer (e.g. on a configuration reload).
    pub fn clear_cache(&self) {
        self.dns.clear_cache();
    }

    /// Resolves `request` for a client running `supported` (in its order of
    /// preference) into targets in failover order (RFC 3263 §4).
    pub async fn resolve(
        &self,
        request: &Request,
        supported: &[Transport],
    ) -> Result<Vec<Target>, ResolveError> {
        let mut rng = seeded_rng();
        self.resolve_with_rng(request, supported, &mut rng).await
    }

    /// As [`Resolver::resolve`], with the random numbers for the SRV weight
    /// draw supplied (`rng(bound)` in `0..=bound`), for reproducible orders.
    pub async fn resolve_with_rng(
        &self,
        request: &Request,
        supported: &[Transport],
        rng: &mut (impl FnMut(u32) -> u32 + Send),
    ) -> Result<Vec<Target>, ResolveError> {
        let mut planner = Planner::new(request.clone(), supported);
        for _ in 0..MAX_STEPS {
            match planner.step(rng) {
                Step::Done(result) => return result,
                Step::Lookup(queries) => {
                    let answers = join_all(
                        queries
                            .into_iter()
                            .map(|(id, query)| async move { (id, self.lookup(&query).await) }),
                    )
                    .await;
                    for (id, answer) in answers {
                        planner.answer(id, answer);
                    }
                }
            }
        }
        Err(ResolveError::Dns {
            host: request.host.clone(),
            reason: "resolution did not converge".into(),
        })
    }

    /// Performs one planner query.
    async fn lookup(&self, query: &Query) -> Answer {
        match query {
            Query::Naptr { name } => match self.records(name, RecordType::NAPTR).await {
                Ok(data) => Answer::Naptr(
                    data.into_iter()
                        .filter_map(|d| match d {
                            RData::NAPTR(n) => Some(NaptrRecord {
                                order: n.order,
                                preference: n.preference,
                                flags: String::from_utf8_lossy(&n.flags).into_owned(),
                                services: String::from_utf8_lossy(&n.services).into_owned(),
                                regexp: String::from_utf8_lossy(&n.regexp).into_owned(),
                                replacement: n.replacement.to_string(),
                            }),
                            _ => None,
                        })
                        .collect(),
                ),
                Err(e) => Answer::Failed(e),
            },
            Query::Srv { name } => match self.records(name, RecordType::SRV).await {
                Ok(data) => Answer::Srv(
                    data.into_iter()
                        .filter_map(|d| match d {
                            RData::SRV(s) => Some(SrvRecord::new(
                                s.priority,
                                s.weight,
                                s.port,
                                s.target.to_string(),
                            )),
                            _ => None,
                        })
                        .collect(),
                ),
                Err(e) => Answer::Failed(e),
            },
            Query::Address { name } => {
                let (v4, v6) = futures_util::future::join(
                    self.records(name, RecordType::A),
                    self.records(name, RecordType::AAAA),
                )
                .await;
                let ips = |r: &Result<Vec<RData>, String>| -> Vec<IpAddr> {
                    r.as_ref()
                        .map(|data| {
                            data.iter()
                                .filter_map(|d| match d {
                                    RData::A(a) => Some(IpAddr::V4(a.0)),
                                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                                    _ => None,
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let (first, second) = if self.ipv6_first {
                    (&v6, &v4)
                } else {
                    (&v4, &v6)
                };
                let mut all = ips(first);
                all.extend(ips(second));
                match (all.is_empty(), v4, v6) {
                    (true, Err(e), _) | (true, _, Err(e)) => Answer::Failed(e),
                    _ => Answer::Addresses(all),
                }
            }
        }
    }

    /// The records of one type at `name`; "no records" (NXDOMAIN or an empty
    /// answer) is an empty list, anything else an error text.
    async fn records(&self, name: &str, rtype: RecordType) -> Result<Vec<RData>, String> {
        // Absolute name: a SIP URI host is a fully qualified domain, never
        // subject to the search list (RFC 3263 §4 queries the name as is).
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        };
        match self.dns.lookup(fqdn.as_str(), rtype).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(|r| r.data.clone())
                .collect()),
            Err(e) if no_records(&e) => Ok(Vec::new()),
            Err(e) => Err(format!("{rtype} {name}: {e}")),
        }
    }
}

fn no_records(e: &NetError) -> bool {
    e.is_no_records_found() || e.is_nx_domain()
}

/// A per-resolution pseudo-random source for the SRV weight draw: splitmix64
/// seeded from std's per-process random keys and a counter. Load spreading
/// needs unpredictability across calls, not cryptographic strength.
fn seeded_rng() -> impl FnMut(u32) -> u32 + Send {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut state = hasher.finish();
    move |bound: u32| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % (u64::from(bound) + 1)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_rng_stays_in_bounds_and_varies() {
        let mut rng = seeded_rng();
        let draws: Vec<u32> = (0..1000).map(|_| rng(9)).collect();
        assert!(draws.iter().all(|&d| d <= 9));
        for v in 0..=9 {
            assert!(draws.contains(&v), "value {v} never drawn");
        }
        assert_eq!(rng(0), 0);
        // u32::MAX + 1 fits in u64: no overflow.
        let _ = rng(u32::MAX);
    }
}
