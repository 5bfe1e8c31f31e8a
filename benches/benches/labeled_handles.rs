//! Owned handles and timers from a labeled family, next to what a user had
//! before them, every thread on the same 4 label sets (3 labels each, as in
//! the `labeled_lookup_inc` hot-path case):
//!
//! - counter: `with(|c| c.inc())` (a borrowed handle), `handle()?.inc()`
//!   (the thread cache's own `Arc`), `with(Counter::clone)?.inc()` (an owned
//!   clone of the series' shared `Arc`, the design `handle` avoids) and
//!   `get_or_create()?.inc()` (the family's lock, hash and `Arc` clones);
//!   and `typed_with`: the same 4 label sets as a `#[derive(Labels)]`
//!   struct of enums, looked up by its dense index (no string hashed).
//! - timer: a timer started and dropped inside `with` (it cannot leave it),
//!   `start_timer()` on the family (an owned `HistogramTimer<'static>`),
//!   and `get_or_create()?.start_timer()`.
//!
//! `cargo bench -p hotmetrics-benches --bench labeled_handles`

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use hotmetrics::{Buckets, Counter, Registry};
use hotmetrics_benches::hot_path::{LABEL_NAMES, LABEL_SETS};
use hotmetrics_benches::typed_labels::{Processed, TYPED_SETS};
use hotmetrics_benches::{run_threads, thread_counts};
use std::hint::black_box;
use std::time::Duration;

fn set(i: u64) -> &'static [&'static str; 3] {
    black_box(&LABEL_SETS[(i & 3) as usize])
}

fn typed_set(i: u64) -> &'static Processed {
    black_box(&TYPED_SETS[(i & 3) as usize])
}

/// One case: `op(i)` on every thread, `t` threads.
fn case(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, t: usize, op: impl Fn(u64) + Sync) {
    g.bench_with_input(BenchmarkId::new(name, t), &t, |b, &t| {
        b.iter_custom(|n| run_threads(t, n, |_, i| op(i)))
    });
}

fn group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(2));
    g
}

fn counter(c: &mut Criterion) {
    let registry = Registry::new();
    let family = registry
        .counter_vec(("l_total", "l"), &LABEL_NAMES)
        .expect("valid");
    let typed = family.typed::<Processed>().expect("the same names");
    let mut g = group(c, "labeled_counter");
    for t in thread_counts() {
        case(&mut g, "with", t, |i| {
            let _ = family.with(set(i), Counter::inc);
        });
        case(&mut g, "typed_with", t, |i| {
            let _ = typed.with(typed_set(i), Counter::inc);
        });
        case(&mut g, "handle", t, |i| {
            if let Ok(c) = family.handle(set(i)) {
                c.inc();
            }
        });
        case(&mut g, "with_clone", t, |i| {
            if let Ok(c) = family.with(set(i), Counter::clone) {
                c.inc();
            }
        });
        case(&mut g, "get_or_create", t, |i| {
            if let Ok(c) = family.get_or_create(set(i)) {
                c.inc();
            }
        });
    }
    g.finish();
}

fn timer(c: &mut Criterion) {
    let registry = Registry::new();
    let family = registry
        .histogram_vec(("t_seconds", "t"), Buckets::default(), &LABEL_NAMES)
        .expect("valid");
    let mut g = group(c, "labeled_timer");
    for t in thread_counts() {
        case(&mut g, "with", t, |i| {
            let _ = family.with(set(i), |h| drop(h.start_timer()));
        });
        case(&mut g, "start_timer", t, |i| {
            drop(family.start_timer(set(i)))
        });
        case(&mut g, "get_or_create", t, |i| {
            if let Ok(h) = family.get_or_create(set(i)) {
                drop(h.start_timer());
            }
        });
    }
    g.finish();
}

criterion_group!(benches, counter, timer);
criterion_main!(benches);
