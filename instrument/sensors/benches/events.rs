//! Cost per event of the sensors, beside the raw series updates they make.
//!
//! One "message" is the four callbacks every consumed message makes:
//! `on_message_in`, `on_stream_event_in`, `on_stream_event_out`,
//! `on_message_out` (over 4 partitions of one topic, one stream run by
//! one task). Cases:
//! - `raw`: the same series updates on handles held by the caller (5
//!   counters, 5 gauge steps, 1 histogram observation), plus the two clock
//!   reads that time the event: what hand-written instrumentation costs;
//! - `monitor`: the callbacks on a [`Monitor`] whose families are in a
//!   registry (the Prometheus monitor);
//! - `statsd`: the callbacks on a [`StatsdMonitor`] (its series in its own
//!   registry, the event runtime a sample in the thread's timer ring; no
//!   export runs, so past the ring's 1,024 samples each is a counted
//!   drop);
//! - `delegate`: the callbacks on a [`SensorDelegate`] holding that monitor
//!   and a [`LoggingSensor`] with sampling off.
//!
//! Each at 1, 2, … threads (powers of two up to the cores), every thread
//! on its own partition. Criterion reports the time per message per
//! thread.
//!
//! `cargo bench -p hotmetrics-sensors --bench events`

use criterion::{Criterion, criterion_group, criterion_main};
use hotmetrics_core::{Buckets, Registry};
use hotmetrics_sensors::{
    Clock, FAUST_BUCKETS_MS, LoggingSensor, Monitor, Sensor, SensorDelegate, StatsdMonitor,
    StreamTask, TopicPartition,
};
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn thread_counts() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::iter::successors(Some(1usize), |t| Some(t * 2))
        .take_while(|&t| t <= cores.max(2))
        .collect()
}

/// `op(thread, i)` for `i in 0..iters` on each of `threads` threads,
/// started together; the wall time until all are done.
fn run_threads(threads: usize, iters: u64, op: &(dyn Fn(usize, u64) + Sync)) -> Duration {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for t in 0..threads {
            let barrier = &barrier;
            s.spawn(move || {
                // Warm-up (the thread's cells, caches and rings), untimed.
                for i in 0..1_000 {
                    op(t, i);
                }
                barrier.wait();
                for i in 0..iters {
                    op(t, i);
                }
            });
        }
        barrier.wait();
        Instant::now()
    })
    .elapsed()
}

/// The four callbacks of one consumed message.
#[inline]
fn message(sensor: &dyn Sensor, t: usize, i: u64) {
    let tp = TopicPartition::new("orders", t as i32 % 4);
    let offset = i as i64;
    let stream = StreamTask::new("orders", "orders.process");
    let m = sensor.on_message_in(tp, offset);
    let e = sensor.on_stream_event_in(tp, offset, stream);
    sensor.on_stream_event_out(tp, offset, stream, e);
    sensor.on_message_out(tp, offset, m);
}

struct Raw {
    received: hotmetrics_core::Counter,
    active: hotmetrics_core::Gauge,
    per_topic: hotmetrics_core::Counter,
    per_partition: Vec<hotmetrics_core::Gauge>,
    events: hotmetrics_core::Counter,
    active_events: hotmetrics_core::Gauge,
    per_stream: hotmetrics_core::Counter,
    per_task: hotmetrics_core::Counter,
    runtime: hotmetrics_core::Histogram,
    clock: Clock,
}

impl Raw {
    fn new(registry: &Registry) -> Self {
        let per_partition = registry
            .gauge_vec(("per_partition", "x"), &["topic", "partition"])
            .unwrap();
        Self {
            received: registry.counter(("received", "x")).unwrap(),
            active: registry.gauge(("active", "x")).unwrap(),
            per_topic: registry.counter(("per_topic", "x")).unwrap(),
            per_partition: (0..4)
                .map(|p| {
                    per_partition
                        .get_or_create(&["orders", &p.to_string()])
                        .unwrap()
                })
                .collect(),
            events: registry.counter(("events", "x")).unwrap(),
            active_events: registry.gauge(("active_events", "x")).unwrap(),
            per_stream: registry.counter(("per_stream", "x")).unwrap(),
            per_task: registry.counter(("per_task", "x")).unwrap(),
            runtime: registry
                .histogram(
                    ("runtime_ms", "x"),
                    Buckets::new(FAUST_BUCKETS_MS.to_vec()).unwrap(),
                )
                .unwrap(),
            clock: Clock::monotonic(),
        }
    }

    #[inline]
    fn message(&self, t: usize) {
        self.received.inc();
        self.active.inc();
        self.per_topic.inc();
        self.per_partition[t % 4].inc();
        let start = self.clock.now();
        self.events.inc();
        self.active_events.inc();
        self.per_stream.inc();
        self.per_task.inc();
        let end = self.clock.now();
        self.active_events.dec();
        self.runtime
            .observe(black_box(if end > start { 0.5 } else { 0.0 }));
        self.active.dec();
    }
}

fn events(c: &mut Criterion) {
    let mut group = c.benchmark_group("events");
    for threads in thread_counts() {
        let raw = Raw::new(&Registry::new());
        group.bench_function(format!("raw/{threads}"), |b| {
            b.iter_custom(|n| run_threads(threads, n, &|t, _| raw.message(t)))
        });

        let monitor = Monitor::prometheus(&Registry::new()).unwrap();
        group.bench_function(format!("monitor/{threads}"), |b| {
            b.iter_custom(|n| run_threads(threads, n, &|t, i| message(&monitor, t, i)))
        });

        let statsd = StatsdMonitor::new(1000);
        group.bench_function(format!("statsd/{threads}"), |b| {
            b.iter_custom(|n| run_threads(threads, n, &|t, i| message(&statsd, t, i)))
        });

        let delegate = SensorDelegate::new();
        delegate.add(Arc::new(Monitor::prometheus(&Registry::new()).unwrap()));
        delegate.add(Arc::new(LoggingSensor::new(tracing::Level::INFO).one_in(0)));
        group.bench_function(format!("delegate/{threads}"), |b| {
            b.iter_custom(|n| run_threads(threads, n, &|t, i| message(&delegate, t, i)))
        });
    }
    group.finish();
}

criterion_group!(benches, events);
criterion_main!(benches);
