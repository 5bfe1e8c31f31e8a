use super::{Buckets, HistogramTimer, Metric, Scratch, Sealed};
use crate::error::Error;
use crate::family::{Desc, Family};
use crate::local::{engine, writer};
use crate::slots::{NarrowSlots, Slots, now_unix_seconds};
use crate::visit::{HistogramValue, LabelSet, MetricType, MetricVisitor, SeriesValue};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
struct HistogramCell {
    /// `bounds + 1` bucket counts (the last is `+Inf`), narrow cells.
    counts: NarrowSlots,
    /// The sum, a 64-bit cell.
    sum: Slots,
    buckets: Buckets,
    created: f64,
}

/// A histogram with explicit buckets.
///
/// `observe` adds one to the calling thread's cell for the value's bucket and
/// the value to its own sum cell. Buckets are stored per bucket, not
/// cumulatively; a scrape merges them and derives `_count` from them, so the
/// `+Inf` bucket always equals the count.
///
/// ```
/// use hotmetrics_core::{Buckets, Registry};
/// let registry = Registry::new();
/// let latency = registry
///     .histogram(("handle_seconds", "Handling time"), Buckets::default())
///     .unwrap();
/// latency.observe(0.02);
/// latency.observe(3.0);
/// let snap = latency.snapshot();
/// assert_eq!(snap.count, 2);
/// assert_eq!(snap.sum, 3.02);
/// ```
#[derive(Clone, Debug)]
pub struct Histogram(Arc<HistogramCell>);

/// A merged read of a histogram, bucket counts not cumulative.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSnapshot {
    /// Count per bucket; the last entry is the `+Inf` bucket.
    pub counts: Vec<u64>,
    /// Number of observations (the sum of `counts`).
    pub count: u64,
    /// Sum of the observed values.
    pub sum: f64,
}

impl Histogram {
    /// Records `v`. NaN lands in the `+Inf` bucket and makes the sum NaN, as
    /// in the Go reference client.
    #[inline]
    pub fn observe(&self, v: f64) {
        let cell = &*self.0;
        let index = cell.buckets.index(v) as u32;
        let w = writer();
        w.add_narrow(cell.counts.start() + index, 1);
        w.add_f64(cell.sum.start(), v);
    }

    /// Records a duration in seconds.
    #[inline]
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// Starts a timer that records the elapsed seconds when dropped or
    /// [stopped](HistogramTimer::observe_duration).
    ///
    /// ```
    /// let registry = hotmetrics_core::Registry::new();
    /// let h = registry.histogram(("step_seconds", "Step time"), Default::default()).unwrap();
    /// {
    ///     let _t = h.start_timer();
    /// }
    /// assert_eq!(h.snapshot().count, 1);
    /// ```
    #[must_use = "the duration is recorded when the timer is dropped"]
    pub fn start_timer(&self) -> HistogramTimer<'_> {
        HistogramTimer::new(self)
    }

    /// Runs `f` and records how long it took.
    pub fn time<R>(&self, f: impl FnOnce() -> R) -> R {
        let _t = self.start_timer();
        f()
    }

    /// The bucket bounds.
    pub fn buckets(&self) -> &Buckets {
        &self.0.buckets
    }

    /// Merges all threads' cells (allocates; scrapes use the visitor instead).
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = vec![0; self.0.buckets.bounds().len() + 1];
        let sum = self.merge_into(&mut counts);
        HistogramSnapshot {
            count: counts.iter().sum(),
            counts,
            sum,
        }
    }

    fn merge_into(&self, counts: &mut [u64]) -> f64 {
        engine().sum_range_narrow(self.0.counts.start(), counts);
        engine().sum_f64(self.0.sum.start())
    }
}

impl Family<Histogram> {
    /// Starts a timer on the series for `values` (created on first use)
    /// that owns its series: it can leave the lookup, be held across an
    /// `.await`, and records the elapsed seconds when dropped. The series
    /// comes from the calling thread's lookup cache as a
    /// [`Handle`](crate::Handle): on a hit, no lock and no allocation. Errors
    /// as [`with`](Self::with) does.
    ///
    /// ```
    /// use hotmetrics_core::{Buckets, Registry};
    /// let registry = Registry::new();
    /// let latency = registry
    ///     .histogram_vec(("request_seconds", "Request time"), Buckets::default(), &["route"])
    ///     .unwrap();
    /// let timer = latency.start_timer(&["/orders"]).unwrap();
    /// // ... handle the request, across `.await`s if need be ...
    /// drop(timer);
    /// assert_eq!(latency.get_or_create(&["/orders"]).unwrap().snapshot().count, 1);
    /// ```
    #[must_use = "the duration is recorded when the timer is dropped"]
    #[inline]
    pub fn start_timer(&self, values: &[&str]) -> Result<HistogramTimer<'static>, Error> {
        self.handle(values).map(HistogramTimer::owned)
    }
}

impl Metric for Histogram {
    type Config = Buckets;
    const TYPE: MetricType = MetricType::Histogram;
}

impl Sealed for Histogram {
    fn references(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    fn is_unique(&mut self) -> bool {
        Arc::get_mut(&mut self.0).is_some()
    }

    fn create(buckets: &Buckets, _: &Desc) -> Result<Self, Error> {
        let len = u32::try_from(buckets.bounds().len() + 1).map_err(|_| Error::SlotsExhausted)?;
        // The timer clock calibrates itself on its first read (under a
        // millisecond here); pay that when the histogram is made, not in the
        // first timed update.
        let _ = quanta::Instant::now();
        Ok(Self(Arc::new(HistogramCell {
            counts: NarrowSlots::alloc(len)?,
            sum: Slots::alloc(1)?,
            buckets: buckets.clone(),
            created: now_unix_seconds(),
        })))
    }

    fn visit_series(
        &self,
        labels: &dyn LabelSet,
        scratch: &mut Scratch,
        out: &mut dyn MetricVisitor,
    ) {
        let counts = &mut scratch.buckets;
        counts.clear();
        counts.resize(self.0.buckets.bounds().len() + 1, 0);
        scratch
            .cells
            .range_narrow(engine(), self.0.counts.start(), counts);
        // The sum, a 64-bit cell, is read directly, after the buckets.
        let sum = engine().sum_f64(self.0.sum.start());
        out.series(
            labels,
            &SeriesValue::Histogram(HistogramValue {
                upper_bounds: self.0.buckets.bounds(),
                bucket_counts: counts,
                count: counts.iter().sum(),
                sum,
                created: Some(self.0.created),
                exemplars: &[],
                native: None,
            }),
        );
    }
}
