//! Exemplars on the hot path: `exemplar_observe` (a histogram observation
//! with an exemplar for its bucket) and `exemplar_inc` (a counter increment
//! with an exemplar), one `trace_id` label cycling through [`TRACE_IDS`],
//! for every library that stores exemplars; and `exemplar_native_observe`
//! (ours only: no peer keeps exemplars on a native histogram).
//!
//! | library | exemplars | write path |
//! |---|---|---|
//! | hotmetrics | `Histogram::observe_with_exemplar`, `Counter::inc_with_exemplar` | the plain update, then the exemplar (labels checked, TSC read) copied into the calling thread's own cell for that bucket or series (a single-writer seqlock) |
//! | prometheus-client 0.25 | `HistogramWithExemplars`, `CounterWithExemplar` | a write lock on a `parking_lot::RwLock` per metric (the histogram's own `Mutex` inside it), the label set moved in |
//! | fastmetrics 0.7 | none: its encoders take exemplars, but its `Counter` and `Histogram` never record one (they pass `None`) | — |
//! | prometheus, metrics, measured | none | — |
//!
//! prometheus-client's label set is the derived struct its docs show
//! (`TraceLabel { trace_id: String }`), built per call as a user must (the
//! metric keeps it); it is given no timestamp (`None`, what its examples
//! pass), so it reads no clock, while ours always records one.

use crate::hot_path::sample_value;
use crate::run_threads;
use crate::runner::{Options, Side, side_by_side};
use crate::scrape::DEFAULT_BUCKETS;
use ::hotmetrics::{Buckets, Counter, Histogram, Registry};
use ::prometheus_client::encoding::EncodeLabelSet;
use ::prometheus_client::metrics::exemplar::{CounterWithExemplar, HistogramWithExemplars};
use std::hint::black_box;
use std::time::Duration;

/// The histogram case.
pub const OBSERVE: &str = "exemplar_observe";
/// The counter case.
pub const INC: &str = "exemplar_inc";
/// The native-histogram case.
pub const NATIVE_OBSERVE: &str = "exemplar_native_observe";

/// The exemplar label's name.
pub const TRACE_ID: &str = "trace_id";

/// The trace ids the cases cycle through (W3C trace-context ids, 32 hex
/// digits).
pub const TRACE_IDS: [&str; 8] = [
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "0af7651916cd43dd8448eb211c80319c",
    "5b8efff798038103d269b633813fc60c",
    "a3ce929d0e0e47364bf92f3577b34da6",
    "8448eb211c80319c0af7651916cd43dd",
    "d269b633813fc60c5b8efff798038103",
    "e0e47364bf92f3577b34da6a3ce929d0",
    "11c80319c0af7651916cd43dd8448eb2",
];

/// One library's exemplar-carrying metrics, created once and shared by all
/// threads.
pub trait ExemplarPath: Sync + Sized {
    /// The library's name in reports.
    const NAME: &'static str;
    /// Registers a histogram with the 11 default buckets and a counter.
    fn new() -> Self;
    /// [`OBSERVE`]: observe `v` with the exemplar `trace_id`.
    fn observe_with_exemplar(&self, v: f64, trace_id: &str);
    /// [`INC`]: add one with the exemplar `trace_id`.
    fn inc_with_exemplar(&self, trace_id: &str);
}

/// `iters` exemplar observations on each of `threads` threads at once.
pub fn run_observe<E: ExemplarPath>(e: &E, threads: usize, iters: u64) -> Duration {
    run_threads(threads, iters, |_, i| {
        e.observe_with_exemplar(
            black_box(sample_value(i)),
            black_box(TRACE_IDS[(i % 8) as usize]),
        )
    })
}

/// `iters` exemplar increments on each of `threads` threads at once.
pub fn run_inc<E: ExemplarPath>(e: &E, threads: usize, iters: u64) -> Duration {
    run_threads(threads, iters, |_, i| {
        e.inc_with_exemplar(black_box(TRACE_IDS[(i % 8) as usize]))
    })
}

/// Our histogram and counter.
#[derive(Debug)]
pub struct Hotmetrics {
    registry: Registry,
    histogram: Histogram,
    counter: Counter,
}

impl Hotmetrics {
    /// The registry holding both (tests scrape it).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// Our native histogram, as in `native_histogram_observe`.
#[derive(Debug)]
pub struct HotmetricsNative {
    histogram: Histogram,
}

impl HotmetricsNative {
    /// Registers the histogram.
    pub fn new() -> Self {
        let registry = Registry::new();
        Self {
            histogram: registry
                .histogram(("exn_seconds", "exn"), crate::native_histogram::native())
                .expect("valid"),
        }
    }

    /// `iters` exemplar observations on each of `threads` threads at once.
    pub fn run(&self, threads: usize, iters: u64) -> Duration {
        run_threads(threads, iters, |_, i| {
            let trace_id = black_box(TRACE_IDS[(i % 8) as usize]);
            // The error is for an invalid label set, never here.
            let _ = self
                .histogram
                .observe_with_exemplar(black_box(sample_value(i)), &[(TRACE_ID, trace_id)]);
        })
    }
}

impl Default for HotmetricsNative {
    fn default() -> Self {
        Self::new()
    }
}

impl ExemplarPath for Hotmetrics {
    const NAME: &'static str = "hotmetrics";

    fn new() -> Self {
        let registry = Registry::new();
        Self {
            histogram: registry
                .histogram(("ex_seconds", "ex"), Buckets::default())
                .expect("valid"),
            counter: registry.counter(("ex_total", "ex")).expect("valid"),
            registry,
        }
    }

    #[inline]
    fn observe_with_exemplar(&self, v: f64, trace_id: &str) {
        // The error is for an invalid or too long label set, never here.
        let _ = self
            .histogram
            .observe_with_exemplar(v, &[(TRACE_ID, trace_id)]);
    }

    #[inline]
    fn inc_with_exemplar(&self, trace_id: &str) {
        let _ = self.counter.inc_with_exemplar(&[(TRACE_ID, trace_id)]);
    }
}

/// The exemplar label set as prometheus-client's docs write it.
#[derive(Clone, Debug, Default, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TraceLabel {
    /// The trace id.
    pub trace_id: String,
}

/// prometheus-client's `HistogramWithExemplars` and `CounterWithExemplar`.
#[derive(Debug)]
pub struct PrometheusClient {
    histogram: HistogramWithExemplars<TraceLabel>,
    counter: CounterWithExemplar<TraceLabel>,
}

impl ExemplarPath for PrometheusClient {
    const NAME: &'static str = "prometheus-client";

    fn new() -> Self {
        Self {
            histogram: HistogramWithExemplars::new(DEFAULT_BUCKETS.into_iter()),
            counter: CounterWithExemplar::default(),
        }
    }

    #[inline]
    fn observe_with_exemplar(&self, v: f64, trace_id: &str) {
        let label = TraceLabel {
            trace_id: trace_id.to_owned(),
        };
        self.histogram.observe(v, Some(label), None);
    }

    #[inline]
    fn inc_with_exemplar(&self, trace_id: &str) {
        let label = TraceLabel {
            trace_id: trace_id.to_owned(),
        };
        self.counter.inc_by(1, Some(label), None);
    }
}

/// Both cases for both libraries, side by side.
pub fn hot_paths(opts: &Options, report: &mut crate::report::Report) {
    if ![OBSERVE, INC, NATIVE_OBSERVE].iter().any(|c| opts.wants(c)) {
        return;
    }
    let ours = Hotmetrics::new();
    let theirs = PrometheusClient::new();
    let observe_ours = |threads, iters| run_observe(&ours, threads, iters);
    let observe_theirs = |threads, iters| run_observe(&theirs, threads, iters);
    let sides: [Side<'_>; 2] = [
        (Hotmetrics::NAME, &observe_ours),
        (PrometheusClient::NAME, &observe_theirs),
    ];
    side_by_side(opts, OBSERVE, &sides, report);
    let inc_ours = |threads, iters| run_inc(&ours, threads, iters);
    let inc_theirs = |threads, iters| run_inc(&theirs, threads, iters);
    let sides: [Side<'_>; 2] = [
        (Hotmetrics::NAME, &inc_ours),
        (PrometheusClient::NAME, &inc_theirs),
    ];
    side_by_side(opts, INC, &sides, report);
    let native = HotmetricsNative::new();
    let native_ours = |threads, iters| native.run(threads, iters);
    side_by_side(
        opts,
        NATIVE_OBSERVE,
        &[(Hotmetrics::NAME, &native_ours)],
        report,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::prometheus_client::encoding::text::encode;

    #[test]
    fn every_update_counts_and_leaves_a_whole_exemplar() {
        let ours = Hotmetrics::new();
        run_observe(&ours, 2, 1000);
        run_inc(&ours, 2, 1000);
        assert_eq!(ours.histogram.snapshot().count, 2000);
        assert_eq!(ours.counter.get(), 2000);
        let mut out = bytes::BytesMut::new();
        ::hotmetrics::exposition::ScrapeEncoder::new().encode(
            ::hotmetrics::exposition::Format::OpenMetrics,
            ours.registry(),
            &mut out,
        );
        let text = String::from_utf8(out.to_vec()).expect("utf-8");
        let exemplars: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once(" # ").map(|(_, e)| e))
            .collect();
        assert!(!exemplars.is_empty(), "{text}");
        for e in exemplars {
            assert!(
                TRACE_IDS
                    .iter()
                    .any(|id| e.starts_with(&format!("{{trace_id=\"{id}\"}} "))),
                "{e}"
            );
        }

        let native = HotmetricsNative::new();
        native.run(2, 1000);
        assert_eq!(native.histogram.snapshot().count, 2000);

        let theirs = PrometheusClient::new();
        run_observe(&theirs, 2, 1000);
        run_inc(&theirs, 2, 1000);
        let mut registry = ::prometheus_client::registry::Registry::default();
        registry.register("ex_seconds", "ex", theirs.histogram.clone());
        registry.register("ex", "ex", theirs.counter.clone());
        let mut text = String::new();
        encode(&mut text, &registry).expect("encodes");
        assert!(text.contains("ex_seconds_count 2000\n"), "{text}");
        assert!(text.contains("ex_total 2000 # {trace_id=\""), "{text}");
    }
}
