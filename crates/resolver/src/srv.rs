//! RFC 2782 target selection: the order in which a client tries the targets of
//! one SRV RRset.
//!
//! Lowest priority first; within one priority, a weighted random draw repeated
//! until every record is placed. The randomness is an argument (`rng(bound)`
//! returns a uniform number in `0..=bound`), so the ordering is a pure function
//! and tests can pin it with a fixed sequence.

/// One SRV record, as the planner needs it (RFC 2782 "The format of the SRV RR").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative share of the traffic among records of equal priority.
    pub weight: u16,
    /// Port of the service on the target.
    pub port: u16,
    /// Host name of the target (its A/AAAA are looked up next). `"."` means
    /// "decidedly not available at this domain" (RFC 2782) and is dropped.
    pub target: String,
}

impl SrvRecord {
    /// A record from its four fields.
    pub fn new(priority: u16, weight: u16, port: u16, target: impl Into<String>) -> Self {
        Self {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    /// RFC 2782: a target of "." means the service is decidedly not available.
    fn is_unavailable(&self) -> bool {
        self.target.is_empty() || self.target == "."
    }
}

/// Orders an SRV RRset for trying, following RFC 2782's selection algorithm.
///
/// `rng(bound)` must return a uniform number in `0..=bound`.
///
/// Within one priority the algorithm (RFC 2782, "Usage rules") is: put the
/// weight-0 records first, give each record the running sum of weights, draw
/// a number in `0..=sum` and take the first record whose running sum is at
/// least the draw; repeat with what is left. A weight-0 record is thus chosen
/// only when the draw is 0 while it leads the list — the "very small chance"
/// the RFC asks for — and records with weight > 0 get shares proportional to
/// their weights. Records with target "." are dropped. If only "." records
/// exist the result is empty: the service is not offered.
pub fn order_srv(records: &[SrvRecord], rng: &mut impl FnMut(u32) -> u32) -> Vec<SrvRecord> {
    let mut live: Vec<&SrvRecord> = records.iter().filter(|r| !r.is_unavailable()).collect();
    // Stable sort keeps the zero-weight-first arrangement deterministic.
    live.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(live.len());
    let mut start = 0;
    while start < live.len() {
        let priority = live[start].priority;
        let end = live[start..]
            .iter()
            .position(|r| r.priority != priority)
            .map_or(live.len(), |n| start + n);
        let mut group: Vec<&SrvRecord> = live[start..end].to_vec();
        while !group.is_empty() {
            let sum = group
                .iter()
                .fold(0u32, |acc, r| acc.saturating_add(u32::from(r.weight)));
            let draw = rng(sum).min(sum);
            let mut running = 0u32;
            let mut chosen = group.len() - 1;
            for (i, r) in group.iter().enumerate() {
                running = running.saturating_add(u32::from(r.weight));
                if running >= draw {
                    chosen = i;
                    break;
                }
            }
            out.push(group.remove(chosen).clone());
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(priority: u16, weight: u16, target: &str) -> SrvRecord {
        SrvRecord::new(priority, weight, 5060, target)
    }

    fn targets(v: &[SrvRecord]) -> Vec<&str> {
        v.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn lowest_priority_first_whatever_the_draws() {
        let records = [
            rec(20, 100, "c"),
            rec(10, 1, "a"),
            rec(30, 0, "d"),
            rec(10, 1, "b"),
        ];
        for fixed in [0, 1, 2, u32::MAX] {
            let ordered = order_srv(&records, &mut |_| fixed);
            let t = targets(&ordered);
            assert_eq!(t.len(), 4);
            assert!(t[..2].contains(&"a") && t[..2].contains(&"b"));
            assert_eq!(&t[2..], ["c", "d"]);
        }
    }

    #[test]
    fn the_draw_picks_by_running_sum() {
        // Running sums in the arranged order a(10), b(30), c(60): draws 0..=10 → a,
        // 11..=30 → b, 31..=60 → c.
        let records = [rec(0, 10, "a"), rec(0, 20, "b"), rec(0, 30, "c")];
        let first = |draw: u32| order_srv(&records, &mut |_| draw)[0].target.clone();
        assert_eq!(first(0), "a");
        assert_eq!(first(10), "a");
        assert_eq!(first(11), "b");
        assert_eq!(first(30), "b");
        assert_eq!(first(31), "c");
        assert_eq!(first(60), "c");
        // An out-of-range draw is clamped to the sum rather than panicking.
        assert_eq!(first(1000), "c");
    }

    #[test]
    fn draws_are_bounded_by_the_remaining_sum() {
        let records = [rec(0, 10, "a"), rec(0, 20, "b"), rec(0, 30, "c")];
        let mut bounds = Vec::new();
        // Always draw the maximum: c, then b, then a.
        let ordered = order_srv(&records, &mut |b| {
            bounds.push(b);
            b
        });
        assert_eq!(targets(&ordered), ["c", "b", "a"]);
        assert_eq!(bounds, [60, 30, 10]);
    }

    #[test]
    fn weights_share_first_place_proportionally() {
        // Walk the whole draw space 0..=100 once each: exact shares.
        let records = [rec(1, 0, "zero"), rec(1, 25, "quarter"), rec(1, 75, "most")];
        let mut counts = std::collections::HashMap::new();
        for draw in 0..=100u32 {
            let first = order_srv(&records, &mut |_| draw)[0].target.clone();
            *counts.entry(first).or_insert(0) += 1;
        }
        // Draw 0 selects the weight-0 record (placed first, running sum 0):
        // the RFC's "very small chance".
        assert_eq!(counts["zero"], 1);
        assert_eq!(counts["quarter"], 25);
        assert_eq!(counts["most"], 75);
    }

    #[test]
    fn pseudo_random_sequence_matches_weights() {
        // A fixed linear congruential sequence: deterministic, roughly uniform.
        let mut state: u64 = 12345;
        let mut rng = |bound: u32| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % (u64::from(bound) + 1)) as u32
        };
        let records = [rec(0, 1, "light"), rec(0, 3, "heavy"), rec(0, 0, "zero")];
        let mut heavy = 0;
        let mut zero = 0;
        const N: u32 = 10_000;
        for _ in 0..N {
            match order_srv(&records, &mut rng)[0].target.as_str() {
                "heavy" => heavy += 1,
                "zero" => zero += 1,
                _ => {}
            }
        }
        // The first draw is over 0..=4 with running sums zero 0, light 1,
        // heavy 4: 0 → zero, 1 → light, 2..=4 → heavy. So heavy leads 3/5 of
        // the time, zero and light 1/5 each.
        assert!(
            (5_600..=6_400).contains(&heavy),
            "heavy first {heavy} times"
        );
        assert!((1_600..=2_400).contains(&zero), "zero first {zero} times");
    }

    #[test]
    fn all_zero_weights_are_all_kept() {
        let records = [rec(0, 0, "a"), rec(0, 0, "b"), rec(0, 0, "c")];
        let ordered = order_srv(&records, &mut |_| 0);
        assert_eq!(targets(&ordered), ["a", "b", "c"]);
    }

    #[test]
    fn dot_target_means_not_available() {
        assert!(order_srv(&[rec(0, 0, ".")], &mut |_| 0).is_empty());
        let ordered = order_srv(&[rec(0, 0, "."), rec(1, 0, "b")], &mut |_| 0);
        assert_eq!(targets(&ordered), ["b"]);
    }
}
