use super::{Metric, Scratch, Sealed};
use crate::error::Error;
use crate::family::{Desc, Family};
use crate::local::{engine, writer};
use crate::slots::Slots;
use crate::visit::{LabelSet, MetricType, MetricVisitor, Number, SeriesValue};
use atomic_float::AtomicF64;
use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicI64, Ordering};
use triomphe::Arc;

#[derive(Debug)]
struct GaugeCell {
    /// Per-thread deltas from `inc`/`dec`/`add`/`sub`.
    deltas: Slots,
    /// What `set` stored, minus the deltas it saw: value = base + deltas.
    base: CachePadded<AtomicI64>,
}

/// An `i64` gauge built for both uses a consumer has: `inc`/`dec` of an
/// in-flight count from many threads, and `set` of a level.
///
/// `inc`, `dec`, `add` and `sub` go to the calling thread's own cell, like a
/// [`Counter`](crate::Counter), so they scale with threads. `set(v)` reads
/// every thread's cell (reads only, no writes) and stores `v` minus their sum
/// in one shared word: last writer wins, and an `inc` racing a `set` lands
/// either before it or after it, never half. `get` adds the two.
///
/// ```
/// let registry = hotmetrics_core::Registry::new();
/// let in_flight = registry.gauge(("in_flight", "Messages being handled")).unwrap();
/// in_flight.inc();
/// in_flight.add(4);
/// in_flight.dec();
/// assert_eq!(in_flight.get(), 4);
/// in_flight.set(-2);
/// assert_eq!(in_flight.get(), -2);
/// ```
#[derive(Clone, Debug)]
pub struct Gauge(Arc<GaugeCell>);

impl Gauge {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.add(-1);
    }

    /// Adds `v` (wrapping on overflow).
    #[inline]
    pub fn add(&self, v: i64) {
        writer().add_u64(self.0.deltas.loc(), v as u64);
    }

    /// Subtracts `v` (wrapping on overflow).
    #[inline]
    pub fn sub(&self, v: i64) {
        self.add(v.wrapping_neg());
    }

    fn deltas(&self) -> i64 {
        engine().sum_u64(self.0.deltas.start()) as i64
    }

    /// Sets the gauge to `v`.
    pub fn set(&self, v: i64) {
        self.0
            .base
            .store(v.wrapping_sub(self.deltas()), Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0
            .base
            .load(Ordering::Relaxed)
            .wrapping_add(self.deltas())
    }

    /// Increments now and decrements when the guard is dropped, also when the
    /// code in between panics (the Python clients' `track_inprogress`).
    ///
    /// ```
    /// let registry = hotmetrics_core::Registry::new();
    /// let in_flight = registry.gauge(("jobs_in_progress", "Jobs running")).unwrap();
    /// {
    ///     let _guard = in_flight.track_in_progress();
    ///     assert_eq!(in_flight.get(), 1);
    /// }
    /// assert_eq!(in_flight.get(), 0);
    /// ```
    #[must_use = "the gauge is decremented when the guard is dropped"]
    pub fn track_in_progress(&self) -> super::InProgressGuard<'_> {
        super::InProgressGuard::new(self)
    }
}

impl Family<Gauge> {
    /// Increments the series for `values` (created on first use) now and
    /// decrements it when the guard is dropped, also on panic; the guard
    /// owns its series, so it can be held across an `.await`. The series
    /// comes from the calling thread's lookup cache as a
    /// [`Handle`](crate::Handle): on a hit, no lock and no allocation. Errors
    /// as [`with`](Self::with) does.
    ///
    /// ```
    /// let registry = hotmetrics_core::Registry::new();
    /// let in_flight = registry.gauge_vec(("requests_in_flight", "Requests"), &["route"]).unwrap();
    /// let guard = in_flight.track_in_progress(&["/orders"]).unwrap();
    /// assert_eq!(in_flight.get_or_create(&["/orders"]).unwrap().get(), 1);
    /// drop(guard);
    /// assert_eq!(in_flight.get_or_create(&["/orders"]).unwrap().get(), 0);
    /// ```
    #[must_use = "the gauge is decremented when the guard is dropped"]
    pub fn track_in_progress(
        &self,
        values: &[&str],
    ) -> Result<super::InProgressGuard<'static>, Error> {
        self.handle(values).map(super::InProgressGuard::owned)
    }
}

impl Metric for Gauge {
    type Config = ();
    const TYPE: MetricType = MetricType::Gauge;
}

impl Sealed for Gauge {
    fn references(&self) -> usize {
        Arc::count(&self.0)
    }

    fn is_unique(&mut self) -> bool {
        Arc::get_mut(&mut self.0).is_some()
    }

    fn create(_: &(), _: &Desc) -> Result<Self, Error> {
        Ok(Self(Arc::new(GaugeCell {
            deltas: Slots::alloc()?,
            base: CachePadded::new(AtomicI64::new(0)),
        })))
    }

    fn visit_series(&self, labels: &dyn LabelSet, _: &mut Scratch, out: &mut dyn MetricVisitor) {
        out.series(labels, &SeriesValue::Gauge(Number::Int(self.get())));
    }
}

/// An `f64` gauge in one shared atomic word: `set` is a plain store, `add`
/// a compare-and-swap loop. Use it for levels (temperatures, ratios); for
/// counts changed from many threads at once prefer [`Gauge`].
///
/// ```
/// let registry = hotmetrics_core::Registry::new();
/// let ratio = registry.gauge_f64(("cache_hit_ratio", "Hits per lookup")).unwrap();
/// ratio.set(0.5);
/// ratio.add(0.25);
/// assert_eq!(ratio.get(), 0.75);
/// ```
#[derive(Clone, Debug)]
pub struct GaugeF64(Arc<CachePadded<AtomicF64>>);

impl GaugeF64 {
    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Adds `v`.
    #[inline]
    pub fn add(&self, v: f64) {
        self.0.fetch_add(v, Ordering::Relaxed);
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&self, v: f64) {
        self.0.fetch_sub(v, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.sub(1.0);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the gauge to the current Unix time in seconds.
    pub fn set_to_current_time(&self) {
        self.set(crate::slots::now_unix_seconds());
    }
}

impl Metric for GaugeF64 {
    type Config = ();
    const TYPE: MetricType = MetricType::Gauge;
}

impl Sealed for GaugeF64 {
    fn references(&self) -> usize {
        Arc::count(&self.0)
    }

    fn is_unique(&mut self) -> bool {
        Arc::get_mut(&mut self.0).is_some()
    }

    fn create(_: &(), _: &Desc) -> Result<Self, Error> {
        Ok(Self(Arc::new(CachePadded::new(AtomicF64::new(0.0)))))
    }

    fn visit_series(&self, labels: &dyn LabelSet, _: &mut Scratch, out: &mut dyn MetricVisitor) {
        out.series(labels, &SeriesValue::Gauge(Number::Float(self.get())));
    }
}
