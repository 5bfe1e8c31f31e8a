//! Writers are not slowed by a running exporter: `counter_inc` from 2
//! threads (each on its own counter) on a registry of 10,000 counters and
//! 1,000 histograms, without an exporter, then with one exporting every
//! 10 ms through the StatsD sink to a loopback UDP socket that a thread
//! drains. One run, both cases: `cargo bench -p hotmetrics-export`.
//! Prints how many exports ran during the measurement.

use criterion::{Criterion, criterion_group, criterion_main};
use hotmetrics_core::{Buckets, Counter, DEFAULT_BUCKETS, Registry};
use hotmetrics_export::Exporter;
use hotmetrics_statsd::StatsdSink;
use std::hint::black_box;
use std::net::UdpSocket;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const THREADS: usize = 2;

/// The registry, and one counter per writer thread.
fn workload() -> (Registry, Vec<Counter>) {
    let registry = Registry::new();
    let c = registry
        .counter_vec(("consumed_messages", "Messages."), &["topic", "partition"])
        .unwrap();
    let h = registry
        .histogram_vec(
            ("handle_seconds", "Handling time."),
            Buckets::new(DEFAULT_BUCKETS.to_vec()).unwrap(),
            &["handler"],
        )
        .unwrap();
    let counters: Vec<Counter> = (0..10_000)
        .map(|i| {
            c.get_or_create(&[&format!("topic-{}", i / 100), &(i % 100).to_string()])
                .unwrap()
        })
        .collect();
    for i in 0..1_000 {
        h.get_or_create(&[&format!("handler-{i}")])
            .unwrap()
            .observe(0.01);
    }
    let writers = (0..THREADS).map(|t| counters[t * 4999].clone()).collect();
    (registry, writers)
}

/// `iters` increments on each of the writers' threads, all started at
/// once; the time until the last one is done.
fn incs(writers: &[Counter], iters: u64) -> Duration {
    let start = Arc::new(Barrier::new(writers.len() + 1));
    let threads: Vec<_> = writers
        .iter()
        .map(|c| {
            let (c, start) = (c.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for _ in 0..iters {
                    black_box(&c).inc();
                }
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    for th in threads {
        th.join().unwrap();
    }
    t.elapsed()
}

fn counter_inc(c: &mut Criterion) {
    let (registry, writers) = workload();
    let mut group = c.benchmark_group("counter_inc_2_threads");
    group.bench_function("no_exporter", |b| b.iter_custom(|n| incs(&writers, n)));

    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = receiver.local_addr().unwrap().to_string();
    thread::spawn(move || {
        let mut buf = [0u8; 65_536];
        while receiver.recv(&mut buf).is_ok() {}
    });
    let sink = StatsdSink::udp(address).build().unwrap();
    let exporter = Exporter::builder(registry.clone(), sink)
        .interval(Duration::from_millis(10))
        .start()
        .unwrap();
    group.bench_function("statsd_exporter_every_10ms", |b| {
        b.iter_custom(|n| incs(&writers, n))
    });
    let stats = exporter.stats();
    println!(
        "exporter: {} exports, {} samples sent, {} dropped, {} retries",
        stats.exports, stats.samples_sent, stats.samples_dropped, stats.retries
    );
    group.finish();
    exporter.shutdown().unwrap();
}

criterion_group!(benches, counter_inc);
criterion_main!(benches);
