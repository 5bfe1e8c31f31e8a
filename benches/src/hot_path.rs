//! The hot-path cases, defined once for every library: each library fills in
//! [`HotPath`] with its idiomatic handles, and [`run_case`] hammers them from
//! `threads` threads at once. Everything is monomorphised per library, so no
//! dynamic dispatch sits between the timing loop and the update.

use crate::run_threads;
use std::hint::black_box;
use std::time::Duration;

/// One hot-path workload; every thread updates the same metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Case {
    /// `u64` counter, add one.
    CounterInc,
    /// `f64` counter, add a fractional value.
    CounterIncF64,
    /// Set a gauge (an `f64` level where the library has one).
    GaugeSet,
    /// Integer gauge: increment on even iterations, decrement on odd ones.
    GaugeIncDec,
    /// Histogram with the 11 default buckets, values spread over them.
    HistogramObserve,
    /// Counter looked up by 3 label values on every call (4 distinct sets),
    /// then incremented.
    LabeledLookupInc,
    /// [`Case::LabeledLookupInc`] with the label set declared as a type
    /// where the library has typed label sets (hotmetrics: a
    /// `#[derive(Labels)]` struct of enums, found by its dense index); the
    /// others run their usual lookup, so the row compares each library's
    /// fastest way to look a label set up.
    LabeledTypedInc,
    /// Labeled counter whose handle the caller looked up once and keeps.
    LabeledCachedInc,
    /// Start a timer guard on a histogram and drop it (two clock reads and an
    /// observe).
    TimerGuard,
}

impl Case {
    /// Every case, in report order.
    pub const ALL: [Case; 9] = [
        Case::CounterInc,
        Case::CounterIncF64,
        Case::GaugeSet,
        Case::GaugeIncDec,
        Case::HistogramObserve,
        Case::LabeledLookupInc,
        Case::LabeledTypedInc,
        Case::LabeledCachedInc,
        Case::TimerGuard,
    ];

    /// The case's name in reports (`counter_inc`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Case::CounterInc => "counter_inc",
            Case::CounterIncF64 => "counter_inc_f64",
            Case::GaugeSet => "gauge_set",
            Case::GaugeIncDec => "gauge_inc_dec",
            Case::HistogramObserve => "histogram_observe",
            Case::LabeledLookupInc => "labeled_lookup_inc",
            Case::LabeledTypedInc => "labeled_typed_inc",
            Case::LabeledCachedInc => "labeled_cached_inc",
            Case::TimerGuard => "timer_guard",
        }
    }
}

/// Label names of the labeled cases.
pub const LABEL_NAMES: [&str; 3] = ["handler", "broker", "status"];

/// The 4 label sets the labeled cases cycle through.
pub const LABEL_SETS: [[&str; 3]; 4] = [
    ["orders", "kafka", "acked"],
    ["orders", "kafka", "nacked"],
    ["payments", "rabbit", "acked"],
    ["payments", "rabbit", "error"],
];

/// The value observed or added at iteration `i`: 0 to 9.99, spread over the
/// default buckets.
#[inline]
pub fn sample_value(i: u64) -> f64 {
    (i % 1000) as f64 / 100.0
}

/// One library's handles for every hot-path case, created once by
/// [`HotPath::new`] and shared by all threads.
///
/// Each method is one operation as a user of that library writes it. Metric
/// names: `c_total` (counter), `cf_total` (f64 counter), `g` (gauge set),
/// `gi` (gauge inc/dec), `h_seconds` (histogram), `l_total` (labeled,
/// [`LABEL_NAMES`]), `t_seconds` (timer histogram).
pub trait HotPath: Sync + Sized {
    /// The library's name in reports.
    const NAME: &'static str;
    /// Registers every metric the cases use.
    fn new() -> Self;
    /// Whether the library has this case (the limits only do the counter
    /// cases).
    fn supports(_case: Case) -> bool {
        true
    }
    /// [`Case::CounterInc`].
    fn counter_inc(&self);
    /// [`Case::CounterIncF64`].
    fn counter_inc_f64(&self, v: f64);
    /// [`Case::GaugeSet`].
    fn gauge_set(&self, v: f64);
    /// [`Case::GaugeIncDec`].
    fn gauge_inc_dec(&self, inc: bool);
    /// [`Case::HistogramObserve`].
    fn histogram_observe(&self, v: f64);
    /// [`Case::LabeledLookupInc`]: look up by `values`, then add one.
    fn labeled_lookup_inc(&self, values: &[&str; 3]);
    /// [`Case::LabeledTypedInc`]: look up [`LABEL_SETS`]`[set]` the
    /// library's fastest way, then add one; by default the string lookup.
    #[inline]
    fn labeled_typed_inc(&self, set: usize) {
        self.labeled_lookup_inc(&LABEL_SETS[set]);
    }
    /// [`Case::LabeledCachedInc`]: add one through a handle looked up once
    /// (for [`LABEL_SETS`]`[0]`).
    fn labeled_cached_inc(&self);
    /// [`Case::TimerGuard`].
    fn timer_guard(&self);
}

/// Runs `iters` operations of `case` on each of `threads` threads at once;
/// returns the wall time until all are done.
pub fn run_case<L: HotPath>(lib: &L, case: Case, threads: usize, iters: u64) -> Duration {
    match case {
        Case::CounterInc => run_threads(threads, iters, |_, _| lib.counter_inc()),
        Case::CounterIncF64 => run_threads(threads, iters, |_, i| {
            lib.counter_inc_f64(black_box(sample_value(i)))
        }),
        Case::GaugeSet => run_threads(threads, iters, |_, i| {
            lib.gauge_set(black_box(sample_value(i)))
        }),
        Case::GaugeIncDec => run_threads(threads, iters, |_, i| {
            lib.gauge_inc_dec(black_box(i & 1 == 0))
        }),
        Case::HistogramObserve => run_threads(threads, iters, |_, i| {
            lib.histogram_observe(black_box(sample_value(i)))
        }),
        Case::LabeledLookupInc => run_threads(threads, iters, |_, i| {
            lib.labeled_lookup_inc(black_box(&LABEL_SETS[(i & 3) as usize]))
        }),
        Case::LabeledTypedInc => run_threads(threads, iters, |_, i| {
            lib.labeled_typed_inc(black_box((i & 3) as usize))
        }),
        Case::LabeledCachedInc => run_threads(threads, iters, |_, _| lib.labeled_cached_inc()),
        Case::TimerGuard => run_threads(threads, iters, |_, _| lib.timer_guard()),
    }
}
