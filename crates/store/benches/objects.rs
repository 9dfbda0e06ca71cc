//! Loading 100 000 endpoints (each with an aor and an auth, stamped from templates as
//! real deployments do) and looking endpoints up while other threads do the same.
//!
//! Runs with mimalloc, the allocator the `switchboard` binary uses. The memory the
//! objects take is measured by `benches/objects_memory.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use asterisk_conf::FsSource;
use criterion::{criterion_group, criterion_main, Criterion};
use sorcery::objects::{Objects, OpenOptions};

#[path = "support/generate.rs"]
mod generate;
use generate::pjsip_conf;
use mimalloc::MiMalloc;

const N: usize = 100_000;

/// The allocator the `switchboard` binary uses.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn open(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> Objects {
    let source = FsSource::new(dir);
    let (objects, report) = rt
        .block_on(Objects::open(OpenOptions {
            source: Arc::new(source),
            local_store_url: None,
            tables: None,
        }))
        .expect("mapping");
    assert!(report.errors.is_empty(), "{:?}", &report.errors[..1]);
    assert_eq!(report.loaded["endpoint"], N);
    objects
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("sb-bench-objects-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("pjsip.conf"), pjsip_conf(N)).expect("write pjsip.conf");

    let objects = open(&rt, &dir);

    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.bench_function("pjsip.conf with 100k endpoints+aors+auths", |b| {
        b.iter_with_large_drop(|| open(&rt, &dir))
    });
    g.finish();

    // Lookups while two other threads look up as fast as they can.
    let objects = Arc::new(objects);
    let stop = Arc::new(AtomicBool::new(false));
    let others: Vec<_> = (0..2)
        .map(|k| {
            let objects = Arc::clone(&objects);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("runtime");
                let mut i = k;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("{}", 100_000 + i % N);
                    let e = rt.block_on(objects.endpoint.get(&id));
                    assert!(matches!(e, Ok(Some(_))));
                    i += 7;
                }
            })
        })
        .collect();
    let ids: Vec<String> = (0..1024).map(|i| format!("{}", 100_000 + i * 97)).collect();
    let mut i = 0;
    c.bench_function("endpoint lookup by id (2 other threads looking up)", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            rt.block_on(objects.endpoint.get(&ids[i]))
        })
    });
    stop.store(true, Ordering::Relaxed);
    for t in others {
        let _ = t.join();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
