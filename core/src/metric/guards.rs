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

/// A metric a timer records elapsed seconds into. Public only inside the
/// private `sealed` module, as `Sealed` is: [`Timer`]'s bound, nameable by
/// nobody outside the crate.
pub(crate) mod observe {
    pub trait Observe: super::Metric {
        fn observe_secs(&self, secs: f64);
    }
}
use observe::Observe;

impl Observe for Histogram {
    // Out of line: a guard's drop reads the clock around it, and with
    // `observe` inlined there `timer_guard` measured 2-3 ns slower.
    #[inline(never)]
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

/// Records the seconds since it was started into a histogram or summary
/// when dropped, unless [`discard`](Self::discard)ed. Named by its
/// aliases, [`HistogramTimer`] and [`SummaryTimer`].
#[derive(Debug)]
pub struct Timer<'a, M: Observe> {
    metric: Held<'a, M>,
    start: Instant,
    armed: bool,
}

/// A [`Timer`] from [`Histogram::start_timer`] (borrowing the histogram),
/// or from [`Family::<Histogram>::start_timer`](crate::Family::start_timer),
/// which gives a `HistogramTimer<'static>` that owns its series and can be
/// held across an `.await`.
pub type HistogramTimer<'h> = Timer<'h, Histogram>;

/// A [`Timer`] from [`Summary::start_timer`] (borrowing the summary), or
/// from [`Family::<Summary>::start_timer`](crate::Family::start_timer),
/// which gives a `SummaryTimer<'static>` that owns its series and can be
/// held across an `.await`.
pub type SummaryTimer<'s> = Timer<'s, Summary>;

impl<'a, M: Observe> Timer<'a, M> {
    fn start(metric: Held<'a, M>) -> Self {
        Self {
            metric,
            start: Instant::now(),
            armed: true,
        }
    }

    pub(super) fn new(metric: &'a M) -> Self {
        Self::start(Held::Borrowed(metric))
    }

    fn stop(&mut self) -> f64 {
        self.armed = false;
        let secs = self.start.elapsed().as_secs_f64();
        self.metric.observe_secs(secs);
        secs
    }

    /// Records the elapsed time now and returns it in seconds.
    pub fn observe_duration(mut self) -> f64 {
        self.stop()
    }

    /// Stops the timer without recording anything.
    pub fn discard(mut self) {
        self.armed = false;
    }
}

impl<M: Observe> Timer<'static, M> {
    pub(super) fn owned(metric: Handle<M>) -> Self {
        Self::start(Held::Owned(metric))
    }
}

impl<M: Observe> Drop for Timer<'_, M> {
    fn drop(&mut self) {
        if self.armed {
            self.stop();
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
