//! Loading 100 000 endpoints (each with an aor and an auth, stamped from templates as
//! real deployments do) and looking endpoints up while other threads do the same.
//!
//! Besides the timings, prints the resident memory the loaded objects take per
//! endpoint+aor+auth triple (RSS after the load minus RSS before, with the parsed file
//! text dropped): an upper bound on heap use that includes allocator overhead.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use asterisk_conf::MemSource;
use criterion::{criterion_group, criterion_main, Criterion};
use sorcery::objects::{Objects, OpenOptions};

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

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn open(rt: &tokio::runtime::Runtime, text: &str) -> Objects {
    let source = MemSource::new().with("pjsip.conf", text);
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
    let text = pjsip_conf(N);

    // Memory: RSS with the objects loaded and the file text gone.
    let before = rss_bytes();
    let objects = {
        let t = text.clone();
        open(&rt, &t)
    };
    let after = rss_bytes();
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "memory: {:.0} bytes of RSS per endpoint+aor+auth ({} objects, {:.1} MiB total)",
            a.saturating_sub(b) as f64 / N as f64,
            N * 3,
            a.saturating_sub(b) as f64 / 1048576.0
        );
    }

    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.bench_function("pjsip.conf with 100k endpoints+aors+auths", |b| {
        b.iter(|| open(&rt, &text))
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
