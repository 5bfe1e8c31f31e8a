//! One export of 10,000 counters and 1,000 histograms (11 buckets), the
//! scrape benchmark's workload: encode only, and encode plus the sends
//! over loopback UDP; every series changed since the last export, or
//! none. Prints the bytes and datagrams of one export.

use criterion::{Criterion, criterion_group, criterion_main};
use hotmetrics_core::{Buckets, Counter, DEFAULT_BUCKETS, Histogram, Registry};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_statsd::{Dialect, StatsdSink};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

struct Workload {
    registry: Registry,
    counters: Vec<Counter>,
    histograms: Vec<Histogram>,
}

impl Workload {
    fn new() -> Self {
        let registry = Registry::new();
        let c = registry
            .counter_vec(
                ("consumed_messages", "Messages consumed."),
                &["topic", "partition"],
            )
            .unwrap();
        let h = registry
            .histogram_vec(
                ("handle_seconds", "Handling time."),
                Buckets::new(DEFAULT_BUCKETS.to_vec()).unwrap(),
                &["handler"],
            )
            .unwrap();
        let counters = (0..10_000)
            .map(|i| {
                c.get_or_create(&[&format!("topic-{}", i / 100), &(i % 100).to_string()])
                    .unwrap()
            })
            .collect();
        let histograms = (0..1_000)
            .map(|i| h.get_or_create(&[&format!("handler-{i}")]).unwrap())
            .collect();
        Self {
            registry,
            counters,
            histograms,
        }
    }

    /// Every series changes.
    fn touch(&self, round: u64) {
        for c in &self.counters {
            c.inc();
        }
        for (i, h) in self.histograms.iter().enumerate() {
            h.observe(((i as u64 + round) % 20) as f64 * 0.05);
        }
    }
}

fn emptied(mut batch: Batch) -> Batch {
    while !batch.is_empty() {
        batch.pop();
    }
    batch
}

fn bench(c: &mut Criterion) {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = receiver.local_addr().unwrap().to_string();
    for (dialect, name) in [(Dialect::Plain, "plain"), (Dialect::DogStatsd, "dogstatsd")] {
        let w = Workload::new();
        let mut sink = StatsdSink::udp(&address).dialect(dialect).build().unwrap();
        let mut batch = Batch::default();
        let mut round = 0;
        w.touch(round);
        sink.encode(&w.registry, &mut batch).unwrap();
        let bytes: usize = batch.payloads().iter().map(|p| p.bytes.len()).sum();
        let lines: u64 = batch.payloads().iter().map(|p| p.samples).sum();
        eprintln!(
            "statsd {name}: one export of 10,000 counters + 1,000 histograms, all changed: \
             {bytes} bytes, {lines} lines, {} datagrams of at most 1,432 bytes",
            batch.len()
        );
        let mut group = c.benchmark_group(format!("statsd_export/{name}"));
        group.sample_size(20);
        group.bench_function("encode_all_changed", |b| {
            b.iter_custom(|iters| {
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    w.touch(round);
                    batch = emptied(std::mem::take(&mut batch));
                    let t = Instant::now();
                    sink.encode(&w.registry, &mut batch).unwrap();
                    took += t.elapsed();
                }
                took
            })
        });
        group.bench_function("encode_and_send_all_changed", |b| {
            b.iter_custom(|iters| {
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    w.touch(round);
                    batch = emptied(std::mem::take(&mut batch));
                    let t = Instant::now();
                    sink.encode(&w.registry, &mut batch).unwrap();
                    for p in batch.payloads() {
                        // Loopback: a full receive buffer drops, it does
                        // not fail the send.
                        let _ = sink.send(p);
                    }
                    took += t.elapsed();
                }
                took
            })
        });
        group.bench_function("encode_nothing_changed", |b| {
            b.iter(|| {
                batch = emptied(std::mem::take(&mut batch));
                sink.encode(&w.registry, &mut batch).unwrap();
                assert!(batch.is_empty());
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
