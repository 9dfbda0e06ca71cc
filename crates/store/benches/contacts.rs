//! Contacts made durable per second through the group-commit writer, with 1, 16 and
//! 256 concurrent submitters (each waits for its acknowledgement before submitting
//! again, as a registrar's REGISTERs do), on the local store (SQLite, WAL,
//! `synchronous=FULL`) in a directory on disk and on tmpfs (`/dev/shm`, where an
//! fsync costs nothing: the gap between the two is the cost of durability).
//!
//! Each submission refreshes one of 10,000 contacts (round-robin), so after the
//! first pass the writes are updates, like REGISTER refreshes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asterisk_conf::FsSource;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sorcery::contacts::{ContactWriter, WriterOptions};
use sorcery::objects::{Objects, OpenOptions};
use sorcery::store::Write;
use sorcery::tables::SqlOpener;
use sorcery::types::Contact;

const CONTACTS: u64 = 10_000;

fn open(rt: &tokio::runtime::Runtime, dir: &Path) -> Arc<Objects> {
    let url = format!("sqlite://{}/switchboard.db", dir.display());
    let opener = SqlOpener::new(Some(url.clone()));
    let (objects, report) = rt
        .block_on(Objects::open(OpenOptions {
            source: Arc::new(FsSource::new(dir)),
            local_store_url: Some(url),
            tables: Some(&opener),
        }))
        .expect("mapping");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    Arc::new(objects)
}

fn contact(n: u64) -> Write<Contact> {
    let mut c: Contact = sorcery::object::defaults();
    c.meta.id = format!("{};@{:032x}", 100_000 + n % CONTACTS, n % CONTACTS).into();
    c.uri = format!("sip:{}@192.0.2.{}:5060", 100_000 + n % CONTACTS, n % 250).into();
    c.expiration_time = 1_900_000_000 + n;
    c.user_agent = "bench".into();
    c.call_id = format!("{n}@bench").into();
    c.endpoint = format!("{}", 100_000 + n % CONTACTS).into();
    Write::Put(Arc::new(c))
}

/// Runs `total` submissions from `submitters` tasks and returns how long they took.
fn run(
    rt: &tokio::runtime::Runtime,
    writer: &ContactWriter,
    next: &Arc<AtomicU64>,
    submitters: u64,
    total: u64,
) -> Duration {
    let start = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..submitters)
            .map(|k| {
                let writer = writer.clone();
                let next = Arc::clone(next);
                let share = total / submitters + u64::from(k < total % submitters);
                tokio::spawn(async move {
                    for _ in 0..share {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        writer.submit(vec![contact(n)]).await.expect("stored");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("submitter");
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let places: [(&str, PathBuf); 2] = [
        ("disk", std::env::temp_dir()),
        ("tmpfs", PathBuf::from("/dev/shm")),
    ];
    let mut g = c.benchmark_group("contacts committed");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(4));
    g.warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(1));
    for (place, base) in places {
        if !base.is_dir() {
            eprintln!("{place}: {} not found, skipped", base.display());
            continue;
        }
        let dir = base.join(format!("sb-bench-contacts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let objects = open(&rt, &dir);
        let writer = rt.block_on(async {
            ContactWriter::start(Arc::clone(&objects), WriterOptions::default())
        });
        let next = Arc::new(AtomicU64::new(0));
        // Every contact exists before measuring: refreshes, not first registrations.
        run(&rt, &writer, &next, 256, CONTACTS);
        for submitters in [1u64, 16, 256] {
            let before = writer.stats();
            g.bench_function(BenchmarkId::new(place, submitters), |b| {
                b.iter_custom(|iters| run(&rt, &writer, &next, submitters, iters))
            });
            let after = writer.stats();
            let subs = after.submissions - before.submissions;
            let commits = (after.commits - before.commits).max(1);
            eprintln!(
                "{place}, {submitters} submitters: {subs} submissions in {commits} commits ({:.1} per commit)",
                subs as f64 / commits as f64
            );
        }
        drop(writer);
        drop(objects);
        let _ = std::fs::remove_dir_all(&dir);
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
