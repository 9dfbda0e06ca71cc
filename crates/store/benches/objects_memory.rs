//! The heap 100 000 endpoints (each with an aor and an auth) keep once loaded: bytes
//! allocated minus bytes freed across the load, counted by a wrapping allocator
//! (stats_alloc), with the parsed file gone. These are requested bytes; the
//! allocator's own per-allocation overhead comes on top (so the allocation count is
//! printed too). Not a criterion benchmark: it prints one measurement.

use std::alloc::System;
use std::sync::Arc;

use asterisk_conf::FsSource;
use sorcery::objects::{Objects, OpenOptions};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[path = "support/generate.rs"]
mod generate;

const N: usize = 100_000;

fn main() {
    let dir = std::env::temp_dir().join(format!("sb-bench-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("pjsip.conf"), generate::pjsip_conf(N)).expect("write");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let region = Region::new(GLOBAL);
    let (objects, report) = rt
        .block_on(Objects::open(OpenOptions {
            source: Arc::new(FsSource::new(&dir)),
            local_store_url: None,
            tables: None,
        }))
        .expect("mapping");
    drop(report);
    let change = region.change();
    // stats_alloc books a realloc's growth as allocated and its shrink as freed.
    let kept = change.bytes_allocated as i64 - change.bytes_deallocated as i64;
    let allocations = change.allocations as i64 - change.deallocations as i64;
    println!(
        "memory: {:.0} bytes of heap per endpoint+aor+auth ({:.1} allocations each; {:.1} MiB for {} objects)",
        kept as f64 / N as f64,
        allocations as f64 / N as f64,
        kept as f64 / 1048576.0,
        N * 3
    );
    drop(objects);
    let _ = std::fs::remove_dir_all(&dir);
}
