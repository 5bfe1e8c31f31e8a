//! The facade's handle traits over the engine's series.

use hotmetrics_core::{Counter, GaugeF64, Histogram};
use metrics::{CounterFn, GaugeFn, HistogramFn};
use std::sync::{Mutex, PoisonError};

/// Serializes [`CounterFn::absolute`] calls, which read the merged value
/// before adding the difference: two at once would both add it. They are
/// rare (mirroring a counter kept elsewhere), so one lock serves all.
static ABSOLUTE: Mutex<()> = Mutex::new(());

/// A `metrics::Counter` over a series: `increment` is the engine's
/// per-thread `inc_by`.
#[derive(Debug)]
pub(crate) struct CounterHandle(pub(crate) Counter);

impl CounterFn for CounterHandle {
    #[inline]
    fn increment(&self, value: u64) {
        self.0.inc_by(value);
    }

    /// Raises the counter to `value` if it is below (never lowers it), as
    /// the facade's own atomic counter does with `fetch_max`. Reads the
    /// merged value of every thread's cell: not for hot loops. Not atomic
    /// with `increment`: one between the read and the add lands on top
    /// (see the crate docs, Values).
    fn absolute(&self, value: u64) {
        let _one_at_a_time = ABSOLUTE.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.0.get();
        if value > current {
            self.0.inc_by(value - current);
        }
    }
}

/// A `metrics::Gauge` over an `f64` gauge: `increment` adds, `decrement`
/// subtracts, `set` stores, NaN and infinities included, as the facade
/// defines them.
#[derive(Debug)]
pub(crate) struct GaugeHandle(pub(crate) GaugeF64);

impl GaugeFn for GaugeHandle {
    #[inline]
    fn increment(&self, value: f64) {
        self.0.add(value);
    }

    #[inline]
    fn decrement(&self, value: f64) {
        self.0.sub(value);
    }

    #[inline]
    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

/// A `metrics::Histogram` over a histogram: `record` is the engine's
/// per-thread `observe` (NaN lands in `+Inf` and makes the sum NaN).
#[derive(Debug)]
pub(crate) struct HistogramHandle(pub(crate) Histogram);

impl HistogramFn for HistogramHandle {
    #[inline]
    fn record(&self, value: f64) {
        self.0.observe(value);
    }
}
