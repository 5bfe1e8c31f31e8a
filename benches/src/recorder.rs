//! The `metrics` macros with two recorders behind them, for the compare
//! runner: hotmetrics' (`hotmetrics::recorder`, report name `hotmetrics`)
//! and `metrics-exporter-prometheus`' (`metrics`), every thread on the
//! same series, the recorder set on each thread with
//! `metrics::with_local_recorder`.
//!
//! | case | one operation |
//! |---|---|
//! | `recorder_counter_cached` | `c.increment(1)` on a `counter!("jobs_total", "queue" => "emails")` kept by the thread |
//! | `recorder_histogram_cached` | `h.record(0.02)` on a kept `histogram!("job_seconds", "queue" => "emails")` |
//! | `recorder_counter_uncached` | `counter!("jobs_total", "queue" => "emails").increment(1)`: the registration on every call |
//! | `recorder_histogram_uncached` | `histogram!("job_seconds", "queue" => "emails").record(0.02)` |
//!
//! Timed as the runner times the hot paths: iterations scaled until a run
//! takes the runner's target, the two recorders taking turns run after
//! run, the median kept. `metrics-exporter-prometheus` gets the 11
//! default buckets (it renders a summary otherwise) and its upkeep after
//! every run, outside the timed part, so its raw samples do not pile up.
//!
//! [`runner::run`](crate::runner::run) runs them after the hot paths:
//! `cargo run --release -p hotmetrics-benches --bin compare -- --cases recorder`.

use crate::report::{Measurement, Report};
use crate::runner::Options;
use crate::scrape::DEFAULT_BUCKETS;
use hotmetrics::Registry;
use hotmetrics::recorder::MetricsRecorder;
use metrics::Recorder;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// A case and the operation it times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecorderCase {
    /// A kept `metrics::Counter`, incremented.
    CounterCached,
    /// A kept `metrics::Histogram`, recorded into.
    HistogramCached,
    /// `counter!(..)` registered and incremented on every call.
    CounterUncached,
    /// `histogram!(..)` registered and recorded into on every call.
    HistogramUncached,
}

impl RecorderCase {
    /// Every case, in report order.
    pub const ALL: [RecorderCase; 4] = [
        RecorderCase::CounterCached,
        RecorderCase::HistogramCached,
        RecorderCase::CounterUncached,
        RecorderCase::HistogramUncached,
    ];

    /// The report's case name.
    pub fn name(self) -> &'static str {
        match self {
            RecorderCase::CounterCached => "recorder_counter_cached",
            RecorderCase::HistogramCached => "recorder_histogram_cached",
            RecorderCase::CounterUncached => "recorder_counter_uncached",
            RecorderCase::HistogramUncached => "recorder_histogram_uncached",
        }
    }

    /// `iters` operations on each of `threads` threads, `recorder` set on
    /// each, started together; the wall time until all are done.
    pub fn run(self, recorder: &(dyn Recorder + Sync), threads: usize, iters: u64) -> Duration {
        match self {
            RecorderCase::CounterCached => on_threads(
                recorder,
                threads,
                iters,
                || metrics::counter!("jobs_total", "queue" => "emails"),
                |c| c.increment(black_box(1)),
            ),
            RecorderCase::HistogramCached => on_threads(
                recorder,
                threads,
                iters,
                || metrics::histogram!("job_seconds", "queue" => "emails"),
                |h| h.record(black_box(0.02)),
            ),
            RecorderCase::CounterUncached => on_threads(
                recorder,
                threads,
                iters,
                || (),
                |()| metrics::counter!("jobs_total", "queue" => "emails").increment(black_box(1)),
            ),
            RecorderCase::HistogramUncached => on_threads(
                recorder,
                threads,
                iters,
                || (),
                |()| {
                    metrics::histogram!("job_seconds", "queue" => "emails").record(black_box(0.02))
                },
            ),
        }
    }
}

/// Runs `op` `iters` times on each of `threads` threads with `recorder`
/// set on each, after each thread's `setup`.
fn on_threads<S>(
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

/// The two recorders, each with what runs between timed runs.
struct Contenders {
    ours: MetricsRecorder,
    theirs: PrometheusRecorder,
    upkeep: PrometheusHandle,
}

impl Contenders {
    fn new() -> Self {
        let theirs = PrometheusBuilder::new()
            .set_buckets(&DEFAULT_BUCKETS)
            .expect("the default buckets are not empty")
            .build_recorder();
        Contenders {
            ours: MetricsRecorder::new(&Registry::new()).expect("a fresh registry"),
            upkeep: theirs.handle(),
            theirs,
        }
    }

    /// One timed run of `lib` (`hotmetrics` or `metrics`).
    fn run(&self, lib: &str, case: RecorderCase, threads: usize, iters: u64) -> Duration {
        if lib == "hotmetrics" {
            case.run(&self.ours, threads, iters)
        } else {
            let took = case.run(&self.theirs, threads, iters);
            self.upkeep.run_upkeep();
            took
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times every recorder case `opts` selects (`--cases`, `--libs` with
/// `hotmetrics` and `metrics`) at every thread count into `report`:
/// iterations scaled to about 150 ms a run (20 ms with `--quick`), then 7
/// runs (3) taking turns, the median kept.
pub fn run(opts: &Options, report: &mut Report) {
    let target = Duration::from_millis(if opts.quick { 20 } else { 150 });
    let runs = if opts.quick { 3 } else { 7 };
    let libs: Vec<&'static str> = ["hotmetrics", "metrics"]
        .into_iter()
        .filter(|l| opts.libs.is_empty() || opts.libs.iter().any(|w| w == l))
        .collect();
    let contenders = Contenders::new();
    for case in RecorderCase::ALL {
        let wanted =
            opts.cases.is_empty() || opts.cases.iter().any(|c| case.name().contains(c.as_str()));
        if !wanted {
            continue;
        }
        for &threads in &opts.threads {
            eprintln!("compare: {} at {threads} threads", case.name());
            let iters: Vec<u64> = libs
                .iter()
                .map(|lib| {
                    let mut iters = 1_000u64;
                    let mut took = contenders.run(lib, case, threads, iters);
                    while took < target / 4 && iters < 1 << 40 {
                        iters *= 4;
                        took = contenders.run(lib, case, threads, iters);
                    }
                    let scale = target.as_secs_f64() / took.as_secs_f64().max(1e-9);
                    ((iters as f64 * scale) as u64).max(1)
                })
                .collect();
            let mut samples = vec![Vec::new(); libs.len()];
            for _ in 0..runs {
                for (k, lib) in libs.iter().enumerate() {
                    let took = contenders.run(lib, case, threads, iters[k]);
                    samples[k].push(took.as_nanos() as f64 / iters[k] as f64);
                }
            }
            for (lib, samples) in libs.iter().zip(samples) {
                let ns = median(samples);
                report.measurements.push(Measurement {
                    case: case.name(),
                    lib,
                    threads,
                    ns_per_op: ns,
                    mops: threads as f64 * 1e3 / ns,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_counts_every_operation_in_our_registry() {
        let registry = Registry::new();
        let recorder = MetricsRecorder::new(&registry).unwrap();
        for case in RecorderCase::ALL {
            case.run(&recorder, 2, 500);
        }
        let snap = registry.snapshot();
        assert_eq!(snap.counter("jobs", &[("queue", "emails")]), Some(2000.0));
        let Some(hotmetrics::ValueSnapshot::Histogram { count, .. }) =
            snap.value("job_seconds", &[("queue", "emails")])
        else {
            panic!("no job_seconds in {snap:?}");
        };
        assert_eq!(*count, 2000);
    }

    #[test]
    fn a_quick_run_reports_both_recorders() {
        let opts = Options {
            threads: vec![1],
            writers: Vec::new(),
            quick: true,
            cases: vec!["counter_cached".into()],
            libs: Vec::new(),
            probe: None,
        };
        let mut report = Report::default();
        run(&opts, &mut report);
        let libs: Vec<&str> = report.measurements.iter().map(|m| m.lib).collect();
        assert_eq!(libs, ["hotmetrics", "metrics"]);
        assert!(report.measurements.iter().all(|m| m.ns_per_op > 0.0));
    }
}
