//! A family's expiry sweep: run by every scrape of a family with
//! [`Opts::expire_after`](crate::Opts::expire_after) (reusing the scrape's
//! merge) and by [`Registry::expire_idle`](crate::Registry::expire_idle).
//! The protocol and why it loses no write are in `expiry.rs`.
//!
//! One sweep, in three steps:
//! 1. the expired map: under the read lock, see whether any expired series
//!    changed or lost its last outside reference; only then take the write
//!    lock and revive or drop ([`fate`]);
//! 2. the live map, under the read lock: merge every series (exporting it
//!    when the sweep is a scrape) and note the ones idle for long enough;
//! 3. only if some were: the write lock, to move them to the expired map
//!    and bump the generation so threads' caches let go of them.

use super::{FamilyInner, LabelValues, Series};
use crate::expiry::{Fate, Seen, fate};
use crate::metric::{Metric, Scratch};
use crate::visit::{FamilyDesc, LabelSet, MetricVisitor, Number, SeriesValue};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A family's expiry setting and the clock its sweeps read.
pub(crate) struct Expiry {
    /// Nanoseconds a series must stay unchanged to expire.
    after: u64,
    epoch: Instant,
}

impl Expiry {
    pub(crate) fn new(after: Duration) -> Self {
        Self {
            after: u64::try_from(after.as_nanos()).unwrap_or(u64::MAX),
            epoch: Instant::now(),
        }
    }

    /// The sweep clock: nanoseconds since the family was registered.
    pub(crate) fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Passes a series on to the scrape's visitor, if any, keeping its
/// fingerprint: the merge a scrape does anyway is the one a sweep compares.
struct Tap<'a> {
    out: Option<&'a mut dyn MetricVisitor>,
    fingerprint: u64,
}

impl MetricVisitor for Tap<'_> {
    fn begin_family(&mut self, _: &FamilyDesc<'_>) {}

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        self.fingerprint = fingerprint(labels, value);
        if let Some(out) = self.out.as_deref_mut() {
            out.series(labels, value);
        }
    }

    /// A sweep alone needs only the count, which comes without the native
    /// merge.
    fn wants_native(&self) -> bool {
        self.out.as_deref().is_some_and(|o| o.wants_native())
    }
}

/// What a sweep compares: the value itself for numbers (exact, so a
/// counter's or histogram's change is never missed), the observation count
/// for histograms and summaries, a hash of what an info or state set shows.
fn fingerprint(labels: &dyn LabelSet, value: &SeriesValue<'_>) -> u64 {
    let number = |n: &Number| match *n {
        Number::UInt(v) => v,
        Number::Int(v) => v as u64,
        Number::Float(v) => v.to_bits(),
    };
    match value {
        SeriesValue::Counter { value, .. } | SeriesValue::Gauge(value) => number(value),
        SeriesValue::Unknown(value) => number(value),
        SeriesValue::Histogram(h) => h.count,
        SeriesValue::Summary(s) => s.count,
        SeriesValue::Info => {
            let mut h = DefaultHasher::new();
            labels.for_each(&mut |n, v| (n, v).hash(&mut h));
            h.finish()
        }
        SeriesValue::StateSet(states) => {
            let mut h = DefaultHasher::new();
            states.hash(&mut h);
            h.finish()
        }
    }
}

impl<M: Metric> FamilyInner<M> {
    /// Merges `series` (handing it to `out` if given) and returns its
    /// fingerprint.
    fn merge(
        &self,
        series: &Series<M>,
        out: Option<&mut dyn MetricVisitor>,
        scratch: &mut Scratch,
    ) -> u64 {
        let mut tap = Tap {
            out,
            fingerprint: 0,
        };
        series
            .metric
            .visit_series(&self.labels(series), scratch, &mut tap);
        tap.fingerprint
    }

    /// One sweep (see the module docs); exports the live series to `out`
    /// when given. Returns how many series expired.
    pub(super) fn sweep(
        &self,
        expiry: &Expiry,
        mut out: Option<&mut dyn MetricVisitor>,
        scratch: &mut Scratch,
    ) -> usize {
        let now = expiry.now();
        self.settle_expired(scratch);
        let mut idle: Vec<LabelValues> = Vec::new();
        {
            let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
            for (s, seen) in map.live.series.iter().zip(&map.live.seen) {
                let out = out.as_mut().map(|v| &mut **v as &mut dyn MetricVisitor);
                let fingerprint = self.merge(s, out, scratch);
                if seen.is_idle(fingerprint, now, expiry.after) {
                    idle.push(s.values.clone());
                }
            }
        }
        if idle.is_empty() {
            return 0;
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let mut expired = 0;
        for values in &idle {
            // Gone meanwhile (`remove`, `clear`) or replaced: nothing to do.
            // A write since the read above shows at the next sweep, which
            // revives the series.
            if let Some(i) = map.live.find_same(values) {
                let (series, seen) = map.live.remove_at(i);
                map.expired.insert(series, seen);
                expired += 1;
            }
        }
        if expired > 0 {
            // Release pairs with the Acquire in `cached`: a thread that sees
            // the new generation finds the series in the expired map.
            self.generation.fetch_add(1, Ordering::Release);
        }
        expired
    }

    /// Revives the expired series that changed and drops the ones nothing
    /// else refers to; takes the write lock only if there are any.
    fn settle_expired(&self, scratch: &mut Scratch) {
        // What decides a drop must see every write made before `is_unique`
        // looked, not a run merged earlier in the scrape.
        let merging = scratch.cells.direct();
        self.settle_expired_directly(scratch);
        scratch.cells.resume(merging);
    }

    fn settle_expired_directly(&self, scratch: &mut Scratch) {
        {
            let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
            let pending = map
                .expired
                .series
                .iter()
                .zip(&map.expired.seen)
                .any(|(s, seen)| {
                    s.metric.references() == 1 || self.merge(s, None, scratch) != seen.fingerprint()
                });
            if !pending {
                return;
            }
        }
        let mut dropped = Vec::new();
        {
            let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
            let mut i = 0;
            while i < map.expired.series.len() {
                let last = map.expired.seen[i].fingerprint();
                let series = &mut map.expired.series[i];
                let verdict = fate(
                    series,
                    last,
                    |s| s.metric.is_unique(),
                    |s| self.merge(s, None, scratch),
                );
                match verdict {
                    Fate::Keep => i += 1,
                    Fate::Drop => dropped.push(map.expired.remove_at(i).0),
                    Fate::Revive => {
                        let (series, _) = map.expired.remove_at(i);
                        map.live.insert(series, Some(Seen::unseen()));
                    }
                }
            }
        }
        // Freeing slots zeroes them in every arena: not under the lock.
        drop(dropped);
    }
}
