//! The FastStream metric set per message, every thread on the same handler
//! and destination: `hotmetrics::broker` guards next to the same updates
//! done by hand on pre-resolved hotmetrics handles (with and without a
//! timer guard around the handling), and next to the same metric set in the
//! `prometheus` crate with pre-resolved handles and its timer guard.
//!
//! - `receive_ack`: received +1, size observe, in-process +1/-1, duration
//!   observe, processed{acked} +1.
//! - `publish_success`: duration observe, published{success} +1.
//!
//! `cargo bench -p hotmetrics-benches --bench broker`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hotmetrics::broker::{Broker, BrokerMetrics, DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS};
use hotmetrics::{Buckets, Registry};
use hotmetrics_benches::{run_threads, thread_counts};
use std::hint::black_box;

const APP: &str = "faststream";
const BROKER: &str = "kafka";

fn size(i: u64) -> usize {
    black_box((i % 4096) as usize)
}

/// The receive-side series on plain hotmetrics handles.
struct PlainReceive {
    received: hotmetrics::Counter,
    size: hotmetrics::Histogram,
    in_process: hotmetrics::Gauge,
    duration: hotmetrics::Histogram,
    acked: hotmetrics::Counter,
}

impl PlainReceive {
    fn new() -> Self {
        let r = Registry::new();
        let labels = ["app_name", "broker", "handler"];
        let l = [APP, BROKER, "orders"];
        let size = Buckets::new(DEFAULT_SIZE_BUCKETS.to_vec()).unwrap();
        let duration = Buckets::new(DEFAULT_DURATION_BUCKETS.to_vec()).unwrap();
        Self {
            received: r
                .counter_vec(("rx_total", "h"), &labels)
                .unwrap()
                .get_or_create(&l)
                .unwrap(),
            size: r
                .histogram_vec(("rx_size_bytes", "h"), size, &labels)
                .unwrap()
                .get_or_create(&l)
                .unwrap(),
            in_process: r
                .gauge_vec(("rx_in_process", "h"), &labels)
                .unwrap()
                .get_or_create(&l)
                .unwrap(),
            duration: r
                .histogram_vec(("rx_seconds", "h"), duration, &labels)
                .unwrap()
                .get_or_create(&l)
                .unwrap(),
            acked: r
                .counter_vec(
                    ("done_total", "h"),
                    &["app_name", "broker", "handler", "status"],
                )
                .unwrap()
                .get_or_create(&[APP, BROKER, "orders", "acked"])
                .unwrap(),
        }
    }
}

/// The same series in the `prometheus` crate.
struct PromReceive {
    received: prometheus::IntCounter,
    size: prometheus::Histogram,
    in_process: prometheus::IntGauge,
    duration: prometheus::Histogram,
    acked: prometheus::IntCounter,
}

impl PromReceive {
    fn new() -> Self {
        use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};
        let labels = ["app_name", "broker", "handler"];
        let l = [APP, BROKER, "orders"];
        let hist = |name: &str, buckets: &[f64]| {
            HistogramVec::new(
                HistogramOpts::new(name, "h").buckets(buckets.to_vec()),
                &labels,
            )
            .unwrap()
            .with_label_values(&l)
        };
        Self {
            received: IntCounterVec::new(Opts::new("rx_total", "h"), &labels)
                .unwrap()
                .with_label_values(&l),
            size: hist("rx_size_bytes", &DEFAULT_SIZE_BUCKETS),
            in_process: IntGaugeVec::new(Opts::new("rx_in_process", "h"), &labels)
                .unwrap()
                .with_label_values(&l),
            duration: hist("rx_seconds", &DEFAULT_DURATION_BUCKETS),
            acked: IntCounterVec::new(
                Opts::new("done_total", "h"),
                &["app_name", "broker", "handler", "status"],
            )
            .unwrap()
            .with_label_values(&[APP, BROKER, "orders", "acked"]),
        }
    }
}

/// The per-message updates on pre-resolved handles, as a user writes them
/// by hand; `timed` brackets the handling with the library's own timer
/// guard (hotmetrics: the TSC clock, `prometheus`: `std::time::Instant`),
/// otherwise a constant duration is observed.
macro_rules! by_hand {
    ($t:ty) => {
        impl $t {
            fn receive_ack(&self, size: usize, timed: bool) {
                self.received.inc();
                self.size.observe(size as f64);
                self.in_process.inc();
                if timed {
                    drop(self.duration.start_timer());
                } else {
                    self.duration.observe(black_box(0.002));
                }
                self.in_process.dec();
                self.acked.inc();
            }

            fn publish_success(&self, timed: bool) {
                if timed {
                    drop(self.duration.start_timer());
                } else {
                    self.duration.observe(black_box(0.002));
                }
                self.acked.inc();
            }
        }
    };
}
by_hand!(PlainReceive);
by_hand!(PromReceive);

fn receive_ack(c: &mut Criterion) {
    let mut g = c.benchmark_group("receive_ack");
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Kafka).unwrap();
    let handler = metrics.handler("orders").unwrap();
    let plain = PlainReceive::new();
    let prom = PromReceive::new();
    for t in thread_counts() {
        g.bench_with_input(BenchmarkId::new("broker_guard", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, i| handler.receive(size(i)).ack()))
        });
        g.bench_with_input(BenchmarkId::new("plain_updates", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, i| plain.receive_ack(size(i), false)))
        });
        g.bench_with_input(BenchmarkId::new("plain_updates_timed", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, i| plain.receive_ack(size(i), true)))
        });
        g.bench_with_input(BenchmarkId::new("prometheus_timed", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, i| prom.receive_ack(size(i), true)))
        });
    }
}

fn publish_success(c: &mut Criterion) {
    let mut g = c.benchmark_group("publish_success");
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Kafka).unwrap();
    let dest = metrics.destination("payments").unwrap();
    let plain = PlainReceive::new();
    let prom = PromReceive::new();
    for t in thread_counts() {
        g.bench_with_input(BenchmarkId::new("broker_guard", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, _| dest.publish().success()))
        });
        g.bench_with_input(BenchmarkId::new("plain_updates", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, _| plain.publish_success(false)))
        });
        g.bench_with_input(BenchmarkId::new("plain_updates_timed", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, _| plain.publish_success(true)))
        });
        g.bench_with_input(BenchmarkId::new("prometheus_timed", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, _| prom.publish_success(true)))
        });
    }
}

criterion_group!(benches, receive_ack, publish_success);
criterion_main!(benches);
