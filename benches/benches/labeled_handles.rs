//! Owned handles and timers from a labeled family, next to what a user had
//! before them, every thread on the same 4 label sets (3 labels each, as in
//! the `labeled_lookup_inc` hot-path case):
//!
//! - counter: `with(|c| c.inc())` (a borrowed handle), `handle()?.inc()`
//!   (the thread cache's own `Arc`), `with(Counter::clone)?.inc()` (an owned
//!   clone of the series' shared `Arc`, the design `handle` avoids) and
//!   `get_or_create()?.inc()` (the family's lock, hash and `Arc` clones).
//! - timer: a timer started and dropped inside `with` (it cannot leave it),
//!   `start_timer()` on the family (an owned `HistogramTimer<'static>`),
//!   and `get_or_create()?.start_timer()`.
//!
//! `cargo bench -p hotmetrics-benches --bench labeled_handles`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hotmetrics::{Buckets, Counter, Registry};
use hotmetrics_benches::hot_path::{LABEL_NAMES, LABEL_SETS};
use hotmetrics_benches::{run_threads, thread_counts};
use std::hint::black_box;
use std::time::Duration;

fn set(i: u64) -> &'static [&'static str; 3] {
    black_box(&LABEL_SETS[(i & 3) as usize])
}

fn counter(c: &mut Criterion) {
    let registry = Registry::new();
    let family = registry
        .counter_vec(("l_total", "l"), &LABEL_NAMES)
        .expect("valid");
    let mut g = c.benchmark_group("labeled_counter");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(2));
    for t in thread_counts() {
        g.bench_with_input(BenchmarkId::new("with", t), &t, |b, &t| {
            b.iter_custom(|n| {
                run_threads(t, n, |_, i| {
                    let _ = family.with(set(i), Counter::inc);
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("handle", t), &t, |b, &t| {
            b.iter_custom(|n| {
                run_threads(t, n, |_, i| {
                    if let Ok(c) = family.handle(set(i)) {
                        c.inc();
                    }
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("with_clone", t), &t, |b, &t| {
            b.iter_custom(|n| {
                run_threads(t, n, |_, i| {
                    if let Ok(c) = family.with(set(i), Counter::clone) {
                        c.inc();
                    }
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("get_or_create", t), &t, |b, &t| {
            b.iter_custom(|n| {
                run_threads(t, n, |_, i| {
                    if let Ok(c) = family.get_or_create(set(i)) {
                        c.inc();
                    }
                })
            })
        });
    }
    g.finish();
}

fn timer(c: &mut Criterion) {
    let registry = Registry::new();
    let family = registry
        .histogram_vec(("t_seconds", "t"), Buckets::default(), &LABEL_NAMES)
        .expect("valid");
    let mut g = c.benchmark_group("labeled_timer");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(2));
    for t in thread_counts() {
        g.bench_with_input(BenchmarkId::new("with", t), &t, |b, &t| {
            b.iter_custom(|n| {
                run_threads(t, n, |_, i| {
                    let _ = family.with(set(i), |h| drop(h.start_timer()));
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("start_timer", t), &t, |b, &t| {
            b.iter_custom(|n| run_threads(t, n, |_, i| drop(family.start_timer(set(i)))))
        });
        g.bench_with_input(BenchmarkId::new("get_or_create", t), &t, |b, &t| {
            b.iter_custom(|n| {
                run_threads(t, n, |_, i| {
                    if let Ok(h) = family.get_or_create(set(i)) {
                        drop(h.start_timer());
                    }
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, counter, timer);
criterion_main!(benches);
