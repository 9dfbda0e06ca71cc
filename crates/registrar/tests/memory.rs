//! Heap bytes per contact in the location service, counted by an instrumented
//! allocator (a test binary of its own, since the allocator is global).

use std::alloc::System;

use sip_registrar::Location;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[path = "../benches/population.rs"]
mod population;

/// Both populations in one test: the allocator's counters are global, so two tests
/// running at once would count each other's allocations.
#[test]
fn memory_per_contact() {
    let udp = measure("UDP (not bound)", population::fill);
    let bound = measure("TCP prune_on_boot (bound)", population::fill_bound);
    assert!(udp <= 500.0, "{udp} bytes per contact");
    assert!(bound <= 500.0, "{bound} bytes per bound contact");
}

/// Bytes per contact, malloc overhead included, of `N` contacts added by `fill`.
fn measure(what: &str, fill: fn(&Location, usize)) -> f64 {
    const N: usize = 20_000;
    let loc = Location::new();
    let region = Region::new(GLOBAL);
    fill(&loc, N);
    let s = region.change();
    // A realloc is already counted in bytes_allocated/deallocated (bytes_reallocated repeats it).
    let live_bytes = s.bytes_allocated as i64 - s.bytes_deallocated as i64;
    let live_allocs = s.allocations as i64 - s.deallocations as i64;
    // glibc malloc: 8 bytes of header per chunk, sizes rounded up to 16.
    let with_overhead = live_bytes + live_allocs * 16;
    let per = with_overhead as f64 / N as f64;
    println!(
        "{N} {what} contacts: {:.0} B/contact requested, {per:.0} B/contact with malloc overhead, {:.2} allocations/contact",
        live_bytes as f64 / N as f64,
        live_allocs as f64 / N as f64
    );
    assert_eq!(loc.stats().contacts, N);
    per
}
