use super::{Gauge, Histogram};
// The TSC clock: a timer reads it twice (see `timer_guard` in the compare
// runner: 19-23 ns a guard with it, 52 ns with `std::time::Instant`).
use quanta::Instant;

/// Records the seconds since it was started into a histogram when dropped,
/// unless [`discard`](Self::discard)ed. From [`Histogram::start_timer`].
#[derive(Debug)]
pub struct HistogramTimer<'h> {
    histogram: &'h Histogram,
    start: Instant,
    armed: bool,
}

impl<'h> HistogramTimer<'h> {
    pub(super) fn new(histogram: &'h Histogram) -> Self {
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

impl Drop for HistogramTimer<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.record();
        }
    }
}

/// Decrements a gauge when dropped; made by [`Gauge::track_in_progress`],
/// which incremented it.
#[derive(Debug)]
pub struct InProgressGuard<'g> {
    gauge: &'g Gauge,
}

impl<'g> InProgressGuard<'g> {
    pub(super) fn new(gauge: &'g Gauge) -> Self {
        gauge.inc();
        Self { gauge }
    }
}

impl Drop for InProgressGuard<'_> {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}
