use super::{Gauge, Histogram, Metric, Summary};
use crate::handle::Handle;
// The TSC clock: a timer reads it twice (see `timer_guard` in the compare
// runner: 19-23 ns a guard with it, 52 ns with `std::time::Instant`).
use quanta::Instant;

/// The series a guard updates: borrowed from the caller, or owned through a
/// [`Handle`] from a family's lookup cache (then the guard is `'static`).
#[derive(Debug)]
enum Held<'a, M: Metric> {
    Borrowed(&'a M),
    Owned(Handle<M>),
}

impl<M: Metric> std::ops::Deref for Held<'_, M> {
    type Target = M;

    #[inline]
    fn deref(&self) -> &M {
        match self {
            Held::Borrowed(m) => m,
            Held::Owned(h) => h,
        }
    }
}

/// A metric a timer records elapsed seconds into.
pub(crate) trait Observe: Metric {
    fn observe_secs(&self, secs: f64);
}

impl Observe for Histogram {
    #[inline]
    fn observe_secs(&self, secs: f64) {
        self.observe(secs);
    }
}

impl Observe for Summary {
    #[inline]
    fn observe_secs(&self, secs: f64) {
        self.observe(secs);
    }
}

/// What every timer holds: the series, the start, whether it still records.
#[derive(Debug)]
struct Timing<'a, M: Observe> {
    metric: Held<'a, M>,
    start: Instant,
    armed: bool,
}

impl<'a, M: Observe> Timing<'a, M> {
    fn start(metric: Held<'a, M>) -> Self {
        Self {
            metric,
            start: Instant::now(),
            armed: true,
        }
    }

    fn stop(&mut self) -> f64 {
        self.armed = false;
        let secs = self.start.elapsed().as_secs_f64();
        self.metric.observe_secs(secs);
        secs
    }
}

impl<M: Observe> Drop for Timing<'_, M> {
    fn drop(&mut self) {
        if self.armed {
            self.stop();
        }
    }
}

/// Records the seconds since it was started into a histogram when dropped,
/// unless [`discard`](Self::discard)ed. From [`Histogram::start_timer`]
/// (borrowing the histogram), or from
/// [`Family::<Histogram>::start_timer`](crate::Family::start_timer), which
/// gives a `HistogramTimer<'static>` that owns its series and can be held
/// across an `.await`.
#[derive(Debug)]
pub struct HistogramTimer<'h>(Timing<'h, Histogram>);

impl<'h> HistogramTimer<'h> {
    pub(super) fn new(histogram: &'h Histogram) -> Self {
        Self(Timing::start(Held::Borrowed(histogram)))
    }

    /// Records the elapsed time now and returns it in seconds.
    pub fn observe_duration(mut self) -> f64 {
        self.0.stop()
    }

    /// Stops the timer without recording anything.
    pub fn discard(mut self) {
        self.0.armed = false;
    }
}

impl HistogramTimer<'static> {
    pub(super) fn owned(histogram: Handle<Histogram>) -> Self {
        Self(Timing::start(Held::Owned(histogram)))
    }
}

/// Records the seconds since it was started into a summary when dropped,
/// unless [`discard`](Self::discard)ed. From [`Summary::start_timer`]
/// (borrowing the summary), or from
/// [`Family::<Summary>::start_timer`](crate::Family::start_timer), which
/// gives a `SummaryTimer<'static>` that owns its series and can be held
/// across an `.await`.
#[derive(Debug)]
pub struct SummaryTimer<'s>(Timing<'s, Summary>);

impl<'s> SummaryTimer<'s> {
    pub(super) fn new(summary: &'s Summary) -> Self {
        Self(Timing::start(Held::Borrowed(summary)))
    }

    /// Records the elapsed time now and returns it in seconds.
    pub fn observe_duration(mut self) -> f64 {
        self.0.stop()
    }

    /// Stops the timer without recording anything.
    pub fn discard(mut self) {
        self.0.armed = false;
    }
}

impl SummaryTimer<'static> {
    pub(super) fn owned(summary: Handle<Summary>) -> Self {
        Self(Timing::start(Held::Owned(summary)))
    }
}

/// Decrements a gauge when dropped; made by [`Gauge::track_in_progress`]
/// (borrowing the gauge) or by
/// [`Family::<Gauge>::track_in_progress`](crate::Family::track_in_progress)
/// (an `InProgressGuard<'static>` that owns its series), which incremented
/// it.
#[derive(Debug)]
pub struct InProgressGuard<'g> {
    gauge: Held<'g, Gauge>,
}

impl<'g> InProgressGuard<'g> {
    pub(super) fn new(gauge: &'g Gauge) -> Self {
        Self::track(Held::Borrowed(gauge))
    }

    fn track(gauge: Held<'g, Gauge>) -> Self {
        gauge.inc();
        Self { gauge }
    }
}

impl InProgressGuard<'static> {
    pub(super) fn owned(gauge: Handle<Gauge>) -> Self {
        Self::track(Held::Owned(gauge))
    }
}

impl Drop for InProgressGuard<'_> {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}
