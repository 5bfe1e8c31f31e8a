use super::native::{Native, NativeSnapshot, spans};
use super::{Buckets, HistogramTimer, Metric, Scratch, Sealed};
use crate::error::Error;
use crate::exemplar::{Checked, Exemplar, ExemplarSlots};
use crate::family::{Desc, Family};
use crate::local::{engine, writer};
use crate::slots::{NarrowSlots, Slots, created_now};
use crate::visit::{
    HistogramValue, LabelSet, MetricType, MetricVisitor, NativeBuckets, SeriesValue,
};
use std::time::Duration;
use triomphe::Arc;

#[derive(Debug)]
struct HistogramCell {
    storage: Storage,
    buckets: Buckets,
    /// One exemplar slot per classic bucket (the `+Inf` one alone for
    /// native-only buckets), per thread that records exemplars, allocated
    /// on its first one: a plain histogram pays one word.
    exemplars: ExemplarSlots,
    created: f64,
}

#[derive(Debug)]
enum Storage {
    /// Classic buckets only: the engine's per-thread cells.
    Classic {
        /// `bounds + 1` bucket counts (the last is `+Inf`), narrow cells.
        counts: NarrowSlots,
        /// The sum, a 64-bit cell.
        sum: Slots,
    },
    /// Native buckets (and the classic ones, if any) in per-thread shards.
    Native(Box<Native>),
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
    /// Count per bucket; the last entry is the `+Inf` bucket (the only one
    /// of native-only buckets).
    pub counts: Vec<u64>,
    /// Number of observations (the sum of `counts`).
    pub count: u64,
    /// Sum of the observed values.
    pub sum: f64,
    /// The bucket exemplars: empty if none was ever recorded, else one per
    /// entry of `counts`.
    pub exemplars: Vec<Option<Exemplar>>,
    /// The native buckets, when the histogram has them.
    pub native: Option<NativeSnapshot>,
}

impl Histogram {
    /// Records `v`. NaN lands in the `+Inf` bucket and makes the sum NaN, as
    /// in the Go reference client; in the native buckets it counts in no
    /// bucket (only in the count), as in Go.
    #[inline(always)]
    pub fn observe(&self, v: f64) {
        let cell = &*self.0;
        let index = cell.buckets.index(v);
        match &cell.storage {
            Storage::Classic { counts, sum } => {
                let w = writer();
                w.add_narrow(counts.loc(index as u32), 1);
                w.add_f64(sum.loc(), v);
            }
            Storage::Native(native) => native.observe(v, index),
        }
    }

    /// Records `v` as [`observe`](Self::observe) does, and an exemplar with
    /// `labels`, `v` and the current time: in the slot of `v`'s classic
    /// bucket (the `+Inf` one for native-only buckets), and for native
    /// buckets also among the latest
    /// [`max_exemplars`](crate::NativeOpts::max_exemplars). The observation
    /// always counts; the error is for a refused exemplar only
    /// ([`Error::InvalidExemplar`]: more than 128 characters, a bad or
    /// repeated label name).
    ///
    /// The exemplar goes to the calling thread's own cell for the bucket
    /// (see [`Counter::inc_with_exemplar`](crate::Counter::inc_with_exemplar)
    /// for the costs); a scrape reports per bucket the newest over all
    /// threads.
    ///
    /// ```
    /// let registry = hotmetrics_core::Registry::new();
    /// let h = registry.histogram(("job_seconds", "Job time"), Default::default()).unwrap();
    /// h.observe_with_exemplar(0.3, &[("trace_id", "4bf92f35")]).unwrap();
    /// let long = "x".repeat(200);
    /// assert!(h.observe_with_exemplar(0.3, &[("trace_id", &long)]).is_err());
    /// let snap = h.snapshot();
    /// assert_eq!(snap.count, 2);
    /// let e = snap.exemplars[6].as_ref().unwrap(); // the le="0.5" bucket
    /// assert_eq!(e.value(), 0.3);
    /// ```
    pub fn observe_with_exemplar(&self, v: f64, labels: &[(&str, &str)]) -> Result<(), Error> {
        self.observe(v);
        let e = Checked::new(labels)?;
        let cell = &*self.0;
        if let Storage::Native(native) = &cell.storage {
            native.record_exemplar(&e, v);
        }
        let len = cell.buckets.bounds().len() + 1;
        cell.exemplars.write(len, cell.buckets.index(v), &e, v);
        Ok(())
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
        let cell = &*self.0;
        let mut counts = vec![0; cell.buckets.bounds().len() + 1];
        let mut bytes = Vec::new();
        let exemplars = if cell.exemplars.is_empty() {
            Vec::new()
        } else {
            (0..counts.len())
                .map(|i| cell.exemplars.latest(i, &mut bytes))
                .collect()
        };
        match &cell.storage {
            Storage::Classic { counts: c, sum } => {
                engine().sum_range_narrow(c.start(), &mut counts);
                HistogramSnapshot {
                    count: counts.iter().sum(),
                    counts,
                    sum: engine().sum_f64(sum.start()),
                    exemplars,
                    native: None,
                }
            }
            Storage::Native(native) => {
                let mut scratch = Default::default();
                let m = native.merge(&mut counts, &mut scratch);
                HistogramSnapshot {
                    counts,
                    count: m.count,
                    sum: m.sum,
                    exemplars,
                    native: Some(NativeSnapshot {
                        schema: m.schema,
                        zero_threshold: m.zero_threshold,
                        zero_count: m.zero,
                        positive: scratch.positive,
                        negative: scratch.negative,
                        exemplars: scratch.exemplars,
                    }),
                }
            }
        }
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
        Arc::count(&self.0)
    }

    fn is_unique(&mut self) -> bool {
        Arc::get_mut(&mut self.0).is_some()
    }

    fn create(buckets: &Buckets, _: &Desc) -> Result<Self, Error> {
        let len = u32::try_from(buckets.bounds().len() + 1).map_err(|_| Error::SlotsExhausted)?;
        // The clocks calibrate themselves on their first read; pay that
        // when the histogram is made, not in the first timed update or
        // exemplar.
        crate::exemplar::warm_clocks();
        let created = created_now();
        let storage = match buckets.native_config() {
            None => Storage::Classic {
                counts: NarrowSlots::alloc(len)?,
                sum: Slots::alloc()?,
            },
            Some(config) => {
                // Native-only buckets keep no classic counts: their one
                // `+Inf` bucket is the count.
                let classic = if buckets.bounds().is_empty() {
                    0
                } else {
                    len as usize
                };
                Storage::Native(Box::new(Native::new(config.clone(), classic, created)))
            }
        };
        Ok(Self(Arc::new(HistogramCell {
            storage,
            buckets: buckets.clone(),
            exemplars: ExemplarSlots::default(),
            created,
        })))
    }

    fn visit_series(
        &self,
        labels: &dyn LabelSet,
        scratch: &mut Scratch,
        out: &mut dyn MetricVisitor,
    ) {
        let cell = &*self.0;
        let counts = &mut scratch.buckets;
        counts.clear();
        counts.resize(cell.buckets.bounds().len() + 1, 0);
        let exemplars = &mut scratch.exemplars;
        exemplars.clear();
        let bytes = &mut scratch.exemplar_bytes;
        if !cell.exemplars.is_empty() {
            exemplars.extend((0..counts.len()).map(|i| cell.exemplars.latest(i, bytes)));
        }
        match &cell.storage {
            Storage::Classic { counts: c, sum } => {
                // As a counter's: the exemplars were read first, and a
                // series with any reads its counts afresh, as the scrape's
                // merged blocks may have been summed before those reads.
                // So each bucket's count covers its exemplar's observation.
                // The sum, a 64-bit `f64` cell, goes the same way.
                let sum = if exemplars.is_empty() {
                    scratch.cells.range_narrow(engine(), c.start(), counts);
                    scratch.cells.f64(engine(), sum.start())
                } else {
                    engine().sum_range_narrow(c.start(), counts);
                    engine().sum_f64(sum.start())
                };
                out.series(
                    labels,
                    &SeriesValue::Histogram(HistogramValue {
                        upper_bounds: cell.buckets.bounds(),
                        bucket_counts: counts,
                        count: counts.iter().sum(),
                        sum,
                        created: Some(cell.created),
                        exemplars,
                        native: None,
                    }),
                );
            }
            Storage::Native(native) if !out.wants_native() => {
                let (count, sum) = native.totals(counts, &mut scratch.native);
                out.series(
                    labels,
                    &SeriesValue::Histogram(HistogramValue {
                        upper_bounds: cell.buckets.bounds(),
                        bucket_counts: counts,
                        count,
                        sum,
                        created: Some(native.created()),
                        exemplars,
                        native: None,
                    }),
                );
            }
            Storage::Native(native) => {
                let n = &mut scratch.native;
                let m = native.merge(counts, n);
                spans(&n.positive, &mut n.positive_spans, &mut n.positive_deltas);
                spans(&n.negative, &mut n.negative_spans, &mut n.negative_deltas);
                out.series(
                    labels,
                    &SeriesValue::Histogram(HistogramValue {
                        upper_bounds: cell.buckets.bounds(),
                        bucket_counts: counts,
                        count: m.count,
                        sum: m.sum,
                        created: Some(native.created()),
                        exemplars,
                        native: Some(NativeBuckets {
                            schema: m.schema,
                            zero_threshold: m.zero_threshold,
                            zero_count: m.zero,
                            positive_spans: &n.positive_spans,
                            positive_deltas: &n.positive_deltas,
                            negative_spans: &n.negative_spans,
                            negative_deltas: &n.negative_deltas,
                            exemplars: &n.exemplars,
                        }),
                    }),
                );
                n.release();
            }
        }
        // The exemplars are shared with the series: let them go with it.
        scratch.exemplars.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_classic_series_stays_small() {
        // The non-zero packed word of `NarrowSlots`' range (its length is
        // at least 1) is the niche that tags `Native`.
        assert_eq!(std::mem::size_of::<Storage>(), 16);
        // Storage, buckets, the exemplar slots, `created`.
        assert_eq!(std::mem::size_of::<HistogramCell>(), 56);
    }
}
