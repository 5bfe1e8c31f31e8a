//! What a StatsD timer's `record_ms` costs the recording thread, at 1 and
//! 2 threads (each on its own timer ring), beside a registry histogram's
//! `observe` (Faust's millisecond buckets) on the same threads. Each
//! thread records in chunks of 4,096 and the rings are drained by an
//! export between chunks (not timed), so every record stores a sample
//! (none is a drop). Time is per record, per thread (the slowest thread).

use criterion::{Criterion, criterion_group, criterion_main};
use hotmetrics_core::{Buckets, Registry};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_statsd::{StatsdSink, Timings};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

const CHUNK: u64 = 4096;
/// Faust's Prometheus millisecond buckets.
const BUCKETS_MS: [f64; 14] = [
    5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// Runs `record(i)` `iters` times on each of `threads` threads, in chunks,
/// calling `between` alone between chunks; the slowest thread's time.
fn timed(
    threads: usize,
    iters: u64,
    record: &(dyn Fn(u64) + Sync),
    between: &mut dyn FnMut(),
) -> Duration {
    let chunks = iters.div_ceil(CHUNK);
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut took = Duration::ZERO;
                    let mut left = iters;
                    for _ in 0..chunks {
                        let n = left.min(CHUNK);
                        left -= n;
                        barrier.wait();
                        let start = Instant::now();
                        for i in 0..n {
                            record(black_box(i));
                        }
                        took += start.elapsed();
                        barrier.wait();
                    }
                    took
                })
            })
            .collect();
        for _ in 0..chunks {
            barrier.wait();
            barrier.wait();
            between();
        }
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .max()
            .unwrap_or_default()
    })
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer_record");
    for threads in [1, 2] {
        let timings = Timings::with_capacity(CHUNK as usize);
        let timer = timings.timer("events_runtime").unwrap();
        let mut sink = StatsdSink::udp("127.0.0.1:9")
            .timings(timings.clone())
            .build()
            .unwrap();
        let empty = Registry::new();
        let mut batch = Batch::default();
        group.bench_function(format!("record_ms/{threads}"), |b| {
            b.iter_custom(|iters| {
                let record = |i: u64| timer.record_ms((i & 1023) as f64 * 0.25);
                timed(threads, iters, &record, &mut || {
                    batch = Batch::default();
                    sink.encode(&empty, &mut batch).unwrap();
                })
            })
        });
        assert_eq!(timer.dropped(), 0, "every record stored a sample");

        let registry = Registry::new();
        let histogram = registry
            .histogram(
                ("events_runtime", "Runtime, ms."),
                Buckets::new(BUCKETS_MS.to_vec()).unwrap(),
            )
            .unwrap();
        group.bench_function(format!("histogram_observe/{threads}"), |b| {
            b.iter_custom(|iters| {
                let record = |i: u64| histogram.observe((i & 1023) as f64 * 0.25);
                timed(threads, iters, &record, &mut || {})
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
