//! Hot-path updates, every thread hammering the same metric, hotmetrics next
//! to the `prometheus` crate: counter inc, histogram observe (11 default
//! buckets) and a labeled lookup by 3 label values (4 distinct sets) on every
//! call.
//!
//! `cargo bench -p hotmetrics-benches --bench hot_path`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hotmetrics::{Buckets, Registry};
use hotmetrics_benches::{run_threads, thread_counts};
use std::hint::black_box;

const LABEL_SETS: [[&str; 3]; 4] = [
    ["orders", "kafka", "acked"],
    ["orders", "kafka", "nacked"],
    ["payments", "rabbit", "acked"],
    ["payments", "rabbit", "error"],
];

fn counter_inc(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter_inc");
    let ours = Registry::new().counter(("c_total", "c")).unwrap();
    let theirs = prometheus::IntCounter::new("c_total", "c").unwrap();
    for t in thread_counts() {
        g.bench_with_input(BenchmarkId::new("hotmetrics", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, _| ours.inc()))
        });
        g.bench_with_input(BenchmarkId::new("prometheus", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, _| theirs.inc()))
        });
    }
}

fn histogram_observe(c: &mut Criterion) {
    let mut g = c.benchmark_group("histogram_observe");
    let ours = Registry::new()
        .histogram(("h_seconds", "h"), Buckets::default())
        .unwrap();
    let theirs =
        prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("h_seconds", "h")).unwrap();
    let value = |i: u64| (i % 1000) as f64 / 100.0;
    for t in thread_counts() {
        g.bench_with_input(BenchmarkId::new("hotmetrics", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, i| ours.observe(black_box(value(i)))))
        });
        g.bench_with_input(BenchmarkId::new("prometheus", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, i| theirs.observe(black_box(value(i)))))
        });
    }
}

fn labeled_lookup_inc(c: &mut Criterion) {
    let mut g = c.benchmark_group("labeled_lookup_inc");
    let names = ["handler", "broker", "status"];
    let ours = Registry::new()
        .counter_vec(("l_total", "l"), &names)
        .unwrap();
    let theirs =
        prometheus::IntCounterVec::new(prometheus::Opts::new("l_total", "l"), &names).unwrap();
    for t in thread_counts() {
        g.bench_with_input(BenchmarkId::new("hotmetrics", t), &t, |b, &t| {
            b.iter_custom(|n| {
                run_threads(t, n, |_, i| {
                    let labels = &LABEL_SETS[(i & 3) as usize];
                    let _ = ours.with(black_box(labels), |c| c.inc());
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("prometheus", t), &t, |b, &t| {
            b.iter_custom(|n| {
                run_threads(t, n, |_, i| {
                    let labels = &LABEL_SETS[(i & 3) as usize];
                    theirs.with_label_values(black_box(labels)).inc();
                })
            })
        });
    }
}

criterion_group!(benches, counter_inc, histogram_observe, labeled_lookup_inc);
criterion_main!(benches);
