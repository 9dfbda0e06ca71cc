//! Host names in identify `match` lists, resolved to addresses (spec §8.3).
//!
//! Asterisk resolves them when the configuration is applied (load, reload, each
//! realtime fetch): with `srv_lookups=yes` and no port, the targets of the
//! `_sip._udp`, `_sip._tcp` and `_sips._tcp` SRV records, falling back to A/AAAA;
//! otherwise A/AAAA. Here a name is resolved the first time a request needs it (so
//! realtime identify rows work as file ones do) and the answer is kept until the next
//! reload ([`HostAddresses::forget`]), which is when Asterisk would look again. A
//! failed lookup is retried after [`RETRY_FAILED`] instead: a DNS outage at start
//! must not disable an ITSP's identify until someone reloads.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sip_resolver::{Request, Resolver, Scheme, Transport};

/// How long a failed lookup stands before the next request tries again.
pub const RETRY_FAILED: Duration = Duration::from_secs(60);

/// Longest wait for one lookup (the SRV ones run at once; the address-only one
/// follows only when none of them answered).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

struct Entry {
    addresses: Arc<[IpAddr]>,
    /// For a failed lookup: when to try again.
    retry_at: Option<Instant>,
}

/// The resolved addresses of identify host names, shared by every request.
pub struct HostAddresses {
    resolver: Option<Resolver>,
    cache: Mutex<HashMap<(String, bool), Entry>>,
}

impl HostAddresses {
    /// Resolves through `resolver`; without one (no DNS configuration) host names
    /// match nothing, and say so once each.
    pub fn new(resolver: Option<Resolver>) -> HostAddresses {
        HostAddresses {
            resolver,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The addresses of `host`; `srv` for `srv_lookups=yes` on a match without a
    /// port. Empty when it does not resolve (logged).
    pub async fn addresses(&self, host: &str, srv: bool) -> Arc<[IpAddr]> {
        let key = (host.to_ascii_lowercase(), srv);
        if let Some(e) = self.lock().get(&key) {
            if e.retry_at.is_none_or(|at| Instant::now() < at) {
                return Arc::clone(&e.addresses);
            }
        }
        let (addresses, retry_at) = match self.resolve(&key.0, srv).await {
            Ok(found) => {
                tracing::info!(
                    "identify host '{host}' resolved to {}",
                    found
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                (found.into(), None)
            }
            Err(why) => {
                tracing::warn!(
                    "identify host '{host}' does not resolve ({why}); it matches nothing, \
                     looked up again in {} s",
                    RETRY_FAILED.as_secs()
                );
                (Arc::from(Vec::new()), Some(Instant::now() + RETRY_FAILED))
            }
        };
        self.lock().insert(
            key,
            Entry {
                addresses: Arc::clone(&addresses),
                retry_at,
            },
        );
        addresses
    }

    /// Forgets every answer (configuration reload): names are looked up again.
    pub fn forget(&self) {
        self.lock().clear();
        if let Some(r) = &self.resolver {
            r.clear_cache();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, bool), Entry>> {
        // The map holds only finished answers: a panic elsewhere cannot leave it torn.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn resolve(&self, host: &str, srv: bool) -> Result<Vec<IpAddr>, String> {
        let resolver = self
            .resolver
            .as_ref()
            .ok_or_else(|| "no DNS resolver is configured".to_owned())?;
        let all = [Transport::Udp, Transport::Tcp, Transport::Tls];
        let lookup = |request: Request| async move {
            match tokio::time::timeout(LOOKUP_TIMEOUT, resolver.resolve(&request, &all)).await {
                Ok(Ok(targets)) => Ok(targets),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer within {} s", LOOKUP_TIMEOUT.as_secs())),
            }
        };
        let mut answers = Vec::new();
        if srv {
            // Each transport's SRV name, each falling back to the host's addresses
            // when it has no records (RFC 3263 §4.2), all at once.
            answers = futures_util::future::join_all([
                lookup(Request::new(Scheme::Sip, host).with_transport(Transport::Udp)),
                lookup(Request::new(Scheme::Sip, host).with_transport(Transport::Tcp)),
                lookup(Request::new(Scheme::Sips, host).with_transport(Transport::Tls)),
            ])
            .await;
        }
        if answers.iter().all(Result::is_err) {
            // No SRV answer at all (or none asked for): the addresses alone. An explicit
            // port skips NAPTR and SRV (RFC 3263 §4.2).
            answers.push(lookup(Request::new(Scheme::Sip, host).with_port(5060)).await);
        }
        let mut found: Vec<IpAddr> = Vec::new();
        let mut last_error = None;
        for answer in answers {
            match answer {
                Ok(targets) => {
                    for t in targets {
                        let ip = t.addr.ip().to_canonical();
                        if !found.contains(&ip) {
                            found.push(ip);
                        }
                    }
                }
                Err(e) => last_error = Some(e),
            }
        }
        if found.is_empty() {
            return Err(last_error.unwrap_or_else(|| "no addresses".to_owned()));
        }
        Ok(found)
    }
}
