//! Unidentified requests counted per source address (spec §8.5).
//!
//! When `auth_username` is among the identifiers, a phone's first request (sent
//! without credentials) cannot be identified yet: it is challenged, and identified
//! when it comes back with an Authorization. Logging every such request as a security
//! failure would bury real attacks in noise, so Asterisk counts them per source IP and
//! logs once `unidentified_request_count` of them arrive within
//! `unidentified_request_period` seconds; a source that later authenticates is
//! forgotten, and stale entries are pruned every `unidentified_request_prune_interval`
//! seconds. Sans-IO: the caller passes the time in.
//!
//! One difference, for the user's sake: Asterisk never restarts a source's window, so
//! once `period` has passed since its first request, that source is not reported
//! again until its entry is pruned (after 4 × period), however fast it then sends. Here
//! a request arriving after the window has closed starts a new window, so a scanner
//! that paused is reported again as soon as it resumes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The thresholds (from the `global` object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnidentifiedLimits {
    /// Requests within `period` before the source is reported.
    pub count: u32,
    /// The window.
    pub period: Duration,
    /// How often stale entries are removed.
    pub prune_interval: Duration,
}

impl Default for UnidentifiedLimits {
    /// Asterisk's defaults: 5 requests in 5 s, pruned every 30 s.
    fn default() -> UnidentifiedLimits {
        UnidentifiedLimits {
            count: 5,
            period: Duration::from_secs(5),
            prune_interval: Duration::from_secs(30),
        }
    }
}

/// One source's requests in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unidentified {
    /// Requests counted in the window.
    pub count: u32,
    /// The window's first request.
    pub first_seen: Instant,
    /// The latest request.
    pub last_seen: Instant,
}

/// The table; shared by every request.
#[derive(Debug)]
pub struct UnidentifiedRequests {
    limits: UnidentifiedLimits,
    inner: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    sources: HashMap<IpAddr, Unidentified>,
    last_prune: Option<Instant>,
}

impl UnidentifiedRequests {
    /// An empty table with these thresholds.
    pub fn new(limits: UnidentifiedLimits) -> UnidentifiedRequests {
        UnidentifiedRequests {
            limits,
            inner: Mutex::new(Table {
                sources: HashMap::new(),
                last_prune: None,
            }),
        }
    }

    /// The thresholds.
    pub fn limits(&self) -> UnidentifiedLimits {
        self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // Every update leaves the table whole: a panic elsewhere cannot tear it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an unidentified request from `ip` at `now`. Returns the source's entry
    /// when the request is one to report (the threshold reached within the window),
    /// `None` otherwise. Prunes the table when the prune interval has passed.
    pub fn record(&self, ip: IpAddr, now: Instant) -> Option<Unidentified> {
        let ip = ip.to_canonical();
        let limits = self.limits;
        let mut table = self.lock();
        let due = table
            .last_prune
            .is_none_or(|at| now.saturating_duration_since(at) >= limits.prune_interval);
        if due {
            let stale = limits.period * 4;
            table
                .sources
                .retain(|_, u| now.saturating_duration_since(u.last_seen) < stale);
            table.last_prune = Some(now);
        }
        let entry = table.sources.entry(ip).or_insert(Unidentified {
            count: 0,
            first_seen: now,
            last_seen: now,
        });
        if now.saturating_duration_since(entry.first_seen) >= limits.period {
            // The window has closed: this request opens a new one.
            entry.count = 0;
            entry.first_seen = now;
        }
        entry.count += 1;
        entry.last_seen = now;
        (entry.count >= limits.count.max(1)).then_some(*entry)
    }

    /// Forgets `ip` (it was identified and authenticated).
    pub fn clear(&self, ip: IpAddr) {
        self.lock().sources.remove(&ip.to_canonical());
    }

    /// Every source counted, by address (for `pjsip show unidentified_requests`).
    pub fn entries(&self) -> Vec<(IpAddr, Unidentified)> {
        let mut all: Vec<_> = self.lock().sources.iter().map(|(a, u)| (*a, *u)).collect();
        all.sort_by_key(|(a, _)| *a);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> UnidentifiedRequests {
        UnidentifiedRequests::new(UnidentifiedLimits {
            count: 3,
            period: Duration::from_secs(5),
            prune_interval: Duration::from_secs(30),
        })
    }

    const A: &str = "192.0.2.1";
    const B: &str = "192.0.2.2";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_source_is_reported_from_the_count_th_request_within_the_period() {
        let t = table();
        let t0 = Instant::now();
        assert_eq!(t.record(ip(A), t0), None);
        assert_eq!(t.record(ip(A), t0 + Duration::from_secs(1)), None);
        let hit = t.record(ip(A), t0 + Duration::from_secs(2)).expect("third");
        assert_eq!(hit.count, 3);
        assert_eq!(hit.first_seen, t0);
        assert!(
            t.record(ip(A), t0 + Duration::from_secs(3)).is_some(),
            "and after"
        );
        // Another source has its own count.
        assert_eq!(t.record(ip(B), t0 + Duration::from_secs(3)), None);
    }

    #[test]
    fn a_slow_source_is_never_reported_and_a_paused_one_starts_over() {
        let t = table();
        let t0 = Instant::now();
        for i in 0..10 {
            // One request every 3 s: never three within 5 s of a window's start.
            assert_eq!(
                t.record(ip(A), t0 + Duration::from_secs(3 * i)),
                None,
                "{i}"
            );
        }
        let t1 = t0 + Duration::from_secs(100);
        assert_eq!(t.record(ip(A), t1), None);
        assert_eq!(t.record(ip(A), t1), None);
        assert!(
            t.record(ip(A), t1).is_some(),
            "a burst after a pause is reported"
        );
    }

    #[test]
    fn authenticating_clears_and_stale_entries_are_pruned() {
        let t = table();
        let t0 = Instant::now();
        t.record(ip(A), t0);
        t.record(ip(A), t0);
        t.clear(ip(A));
        assert_eq!(t.record(ip(A), t0), None, "counting starts again");
        t.record(ip(B), t0);
        assert_eq!(t.entries().len(), 2);
        // 4 × period without a request, and a prune due: both gone but the new one.
        let later = t0 + Duration::from_secs(31);
        t.record("192.0.2.3".parse().unwrap(), later);
        let left: Vec<IpAddr> = t.entries().into_iter().map(|(a, _)| a).collect();
        assert_eq!(left, vec![ip("192.0.2.3")]);
    }

    #[test]
    fn mapped_ipv6_counts_as_its_ipv4_source() {
        let t = table();
        let t0 = Instant::now();
        t.record(ip("::ffff:192.0.2.1"), t0);
        t.record(ip(A), t0);
        assert!(t.record(ip(A), t0).is_some());
    }
}
