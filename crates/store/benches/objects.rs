//! Loading 100 000 endpoints (each with an aor and an auth, stamped from templates as
//! real deployments do) and looking endpoints up while other threads do the same.
//!
//! Besides the timings, prints the heap the loaded objects keep per endpoint+aor+auth
//! triple: bytes allocated minus bytes freed across the load, counted by a wrapping
//! allocator (stats_alloc), with the parsed file gone. Requested bytes: malloc's own
//! chunk overhead (8-16 bytes per allocation) comes on top.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::alloc::System;

use asterisk_conf::FsSource;
use criterion::{criterion_group, criterion_main, Criterion};
use sorcery::objects::{Objects, OpenOptions};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

const N: usize = 100_000;

fn pjsip_conf(n: usize) -> String {
    let mut s = String::with_capacity(n * 260);
    s.push_str(
        "[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0\n\n\
         [endpoint-tpl](!)\ntype=endpoint\ncontext=phones\ndisallow=all\nallow=ulaw,alaw,g722\n\
         direct_media=no\nrtp_symmetric=yes\nforce_rport=yes\nrewrite_contact=yes\ntransport=transport-udp\n\n\
         [aor-tpl](!)\ntype=aor\nmax_contacts=1\nremove_existing=yes\nqualify_frequency=60\n\n\
         [auth-tpl](!)\ntype=auth\nauth_type=userpass\n\n",
    );
    for i in 0..n {
        let id = 100_000 + i;
        s.push_str(&format!(
            "[{id}](endpoint-tpl)\naors={id}\nauth={id}\ncallerid=\"Phone {id}\" <{id}>\n\n\
             [{id}](aor-tpl)\n\n\
             [{id}](auth-tpl)\nusername={id}\npassword=pw{id}x\n\n"
        ));
    }
    s
}

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

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

    // Memory: heap kept by the loaded objects (the file text and parse tree freed).
    let region = Region::new(GLOBAL);
    let objects = open(&rt, &dir);
    let change = region.change();
    // stats_alloc books a realloc's growth as allocated and its shrink as freed.
    let kept = change.bytes_allocated as i64 - change.bytes_deallocated as i64;
    let allocations = change.allocations as i64 - change.deallocations as i64;
    println!(
        "memory: {:.0} bytes of heap per endpoint+aor+auth ({:.1} allocations; {:.1} MiB for {} objects)",
        kept as f64 / N as f64,
        allocations as f64 / N as f64,
        kept as f64 / 1048576.0,
        N * 3
    );

    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.bench_function("pjsip.conf with 100k endpoints+aors+auths", |b| {
        b.iter(|| open(&rt, &dir))
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
