use super::{Gauge, Histogram, Metric};
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

/// Records the seconds since it was started into a histogram when dropped,
/// unless [`discard`](Self::discard)ed. From [`Histogram::start_timer`]
/// (borrowing the histogram), or from
/// [`Family::<Histogram>::start_timer`](crate::Family::start_timer), which
/// gives a `HistogramTimer<'static>` that owns its series and can be held
/// across an `.await`.
#[derive(Debug)]
pub struct HistogramTimer<'h> {
    histogram: Held<'h, Histogram>,
    start: Instant,
    armed: bool,
}

impl<'h> HistogramTimer<'h> {
    pub(super) fn new(histogram: &'h Histogram) -> Self {
        Self::start(Held::Borrowed(histogram))
    }

    fn start(histogram: Held<'h, Histogram>) -> Self {
        Self {
            histogram,
            start: Instant::now(),
            armed: true,
        }
    }

    /// Records the elapsed time now and returns it in seconds.
    pub fn observe_duration(mut self) -> f64 {
        self.armed = false;
        self.record()
    }

    /// Stops the timer without recording anything.
    pub fn discard(mut self) {
        self.armed = false;
    }

    fn record(&self) -> f64 {
        let secs = self.start.elapsed().as_secs_f64();
        self.histogram.observe(secs);
        secs
    }
}

impl HistogramTimer<'static> {
    pub(super) fn owned(histogram: Handle<Histogram>) -> Self {
        Self::start(Held::Owned(histogram))
    }
}

impl Drop for HistogramTimer<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.record();
        }
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
