//! Reading a large pjsip.conf: 100 000 endpoints, each with its aor and auth (the size
//! the configuration issue sets a target for), built from two templates as operators
//! write them. Measures the `.conf` layer alone; the typed objects come on top.
//! Run with `cargo bench -p switchboard-conf --bench load`.

use std::hint::black_box;
use std::time::Duration;

use asterisk_conf::{load, LoadOptions, MemSource};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn pjsip_conf(endpoints: usize) -> String {
    let mut s = String::with_capacity(endpoints * 320);
    s.push_str(
        "[endpoint-tpl](!)\ntype=endpoint\ncontext=from-internal\ndisallow=all\nallow=ulaw\nallow=g722\ndirect_media=no\n\
         [aor-tpl](!)\ntype=aor\nmax_contacts=1\nremove_existing=yes\n",
    );
    for i in 0..endpoints {
        let n = 100_000 + i;
        s.push_str(&format!(
            "[{n}](endpoint-tpl)\nauth={n}\naors={n}\ncallerid=\"Phone {n}\" <{n}>\n\
             [{n}](aor-tpl)\n\
             [{n}]\ntype=auth\nauth_type=userpass\nusername={n}\npassword=secret{n} ; per-phone secret\n"
        ));
    }
    s
}

fn bench_load(c: &mut Criterion) {
    let text = pjsip_conf(100_000);
    let src = MemSource::new().with("pjsip.conf", &text);
    let opts = LoadOptions::default();
    let mut g = c.benchmark_group("pjsip.conf");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("load 100k endpoints+aors+auths", |b| {
        b.iter(|| {
            let cfg = load(&src, "pjsip.conf", &opts).expect("loads");
            assert_eq!(cfg.sections.len(), 300_002);
            black_box(cfg)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
