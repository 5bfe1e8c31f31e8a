//! The `metrics` macros with hotmetrics' recorder and with
//! `metrics-exporter-prometheus`' as the recorder, at 1 and 2 threads
//! (every thread on the same series):
//!
//! - `counter_cached`: `let c = counter!("jobs_total", "queue" =>
//!   "emails")` once per thread, then `c.increment(1)` per operation;
//! - `histogram_cached`: the same with `histogram!(..)` and `record`;
//! - `counter_uncached`: `counter!("jobs_total", "queue" =>
//!   "emails").increment(1)` per operation, the registration included (the
//!   macros register on every call: a static key, then the recorder's
//!   lookup);
//! - `histogram_uncached`: the same with `histogram!`.
//!
//! Each thread sets the recorder with `metrics::with_local_recorder`.
//! `metrics-exporter-prometheus` gets the 11 default buckets (it renders a
//! summary otherwise) and its upkeep after every sample, outside the timed
//! part, so its raw samples do not pile up.
//!
//! `cargo bench -p hotmetrics-recorder --bench recorder`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hotmetrics_core::{DEFAULT_BUCKETS, Registry};
use hotmetrics_recorder::MetricsRecorder;
use metrics::Recorder;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Runs `op` `iters` times on each of `threads` threads with `recorder`
/// set on each, started together after each thread's `setup`; the wall
/// time until all are done.
fn run<S>(
    recorder: &(dyn Recorder + Sync),
    threads: usize,
    iters: u64,
    setup: impl Fn() -> S + Sync,
    op: impl Fn(&S) + Sync,
) -> Duration {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (barrier, setup, op) = (&barrier, &setup, &op);
            s.spawn(move || {
                metrics::with_local_recorder(recorder, || {
                    let state = setup();
                    barrier.wait();
                    for _ in 0..iters {
                        op(&state);
                    }
                });
            });
        }
        barrier.wait();
        Instant::now()
    })
    .elapsed()
}

/// A case: what each thread prepares, and what one operation does.
struct Case {
    name: &'static str,
    run: fn(&(dyn Recorder + Sync), usize, u64) -> Duration,
}

const CASES: [Case; 4] = [
    Case {
        name: "counter_cached",
        run: |r, threads, iters| {
            run(
                r,
                threads,
                iters,
                || metrics::counter!("jobs_total", "queue" => "emails"),
                |c| c.increment(black_box(1)),
            )
        },
    },
    Case {
        name: "histogram_cached",
        run: |r, threads, iters| {
            run(
                r,
                threads,
                iters,
                || metrics::histogram!("job_seconds", "queue" => "emails"),
                |h| h.record(black_box(0.02)),
            )
        },
    },
    Case {
        name: "counter_uncached",
        run: |r, threads, iters| {
            run(
                r,
                threads,
                iters,
                || (),
                |()| metrics::counter!("jobs_total", "queue" => "emails").increment(black_box(1)),
            )
        },
    },
    Case {
        name: "histogram_uncached",
        run: |r, threads, iters| {
            run(
                r,
                threads,
                iters,
                || (),
                |()| {
                    metrics::histogram!("job_seconds", "queue" => "emails").record(black_box(0.02))
                },
            )
        },
    },
];

fn recorders(c: &mut Criterion) {
    let registry = Registry::new();
    let ours = MetricsRecorder::new(&registry).expect("a fresh registry");
    let theirs = PrometheusBuilder::new()
        .set_buckets(&DEFAULT_BUCKETS)
        .expect("the default buckets are not empty")
        .build_recorder();
    let upkeep: PrometheusHandle = theirs.handle();
    for case in &CASES {
        let mut group = c.benchmark_group(format!("recorder/{}", case.name));
        group
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for threads in [1, 2] {
            group.bench_function(BenchmarkId::new("hotmetrics", threads), |b| {
                b.iter_custom(|iters| (case.run)(&ours, threads, iters));
            });
            group.bench_function(
                BenchmarkId::new("metrics-exporter-prometheus", threads),
                |b| {
                    b.iter_custom(|iters| {
                        let took = (case.run)(&theirs, threads, iters);
                        upkeep.run_upkeep();
                        took
                    });
                },
            );
        }
        group.finish();
    }
}

criterion_group!(benches, recorders);
criterion_main!(benches);
