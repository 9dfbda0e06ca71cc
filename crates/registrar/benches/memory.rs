//! Resident memory per contact of the location service at 1,000,000 contacts
//! (the target: at most 500 bytes). Run with
//! `cargo bench -p switchboard-registrar --bench memory`; with `PRUNE_ON_BOOT=1` the
//! contacts are TCP ones bound to a connection each (`prune_on_boot`), which also
//! sit in the connection index.
//!
//! Reports the instrumented allocator's live bytes and the process's resident-set
//! growth (Linux `/proc/self/statm`), which includes the allocator's own overhead.

use std::alloc::System;
use std::time::Instant;

use sip_registrar::Location;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

mod population;

fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    let n: usize = std::env::var("CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let loc = Location::new();
    let rss0 = rss_bytes();
    let region = Region::new(GLOBAL);
    let t = Instant::now();
    let bound = std::env::var("PRUNE_ON_BOOT").is_ok_and(|v| v == "1");
    if bound {
        population::fill_bound(&loc, n);
    } else {
        population::fill(&loc, n);
    }
    let took = t.elapsed();
    let s = region.change();
    // A realloc is already counted in bytes_allocated/deallocated (bytes_reallocated repeats it).
    let live = s.bytes_allocated as i64 - s.bytes_deallocated as i64;
    let allocs = s.allocations as i64 - s.deallocations as i64;
    println!(
        "contacts: {} ({} bound to a connection)",
        loc.stats().contacts,
        loc.stats().bound
    );
    println!(
        "insert: {:.0} ns/contact",
        took.as_nanos() as f64 / n as f64
    );
    println!("heap (requested): {:.0} B/contact", live as f64 / n as f64);
    println!(
        "live allocations: {:.2} per contact",
        allocs as f64 / n as f64
    );
    if let (Some(a), Some(b)) = (rss0, rss_bytes()) {
        println!(
            "resident growth: {:.0} B/contact",
            (b.saturating_sub(a)) as f64 / n as f64
        );
    }
    let t = Instant::now();
    let mut found = 0;
    for i in (0..n).step_by(97) {
        found += loc.contacts(&format!("u{}", 100_000 + i), 0).len();
    }
    println!(
        "lookup: {:.0} ns/AOR ({found} found)",
        t.elapsed().as_nanos() as f64 / found.max(1) as f64
    );
    let t = Instant::now();
    let expired = loc.expire(2_000_000_000 + 3600).len();
    println!(
        "expire: {:.0} ns/contact ({expired} expired)",
        t.elapsed().as_nanos() as f64 / expired.max(1) as f64
    );
}
