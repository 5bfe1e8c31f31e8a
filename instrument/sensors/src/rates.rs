//! Per-second rates computed when read, from monotonic totals and the
//! real elapsed time (Faust divides by a 1 s tick it assumes).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// Samples kept at most (with one every `window / 8`, about ten cover a
/// window; the cap only guards against a clock that jumps about).
const MAX_SAMPLES: usize = 32;

/// The totals seen by earlier reads, in clock seconds. A read at `now`
/// measures from the newest earlier read at least `window` seconds old
/// (or the oldest one kept, at first the start with zero totals), so
/// rates cover at least `window` seconds once that much time has passed,
/// however often they are read. A read is kept as a sample only when it
/// is `window / 8` or more after the newest kept (and at most
/// [`MAX_SAMPLES`] are): memory and the work of a read stay bounded
/// however often rates are read.
#[derive(Debug)]
pub(crate) struct Rates<const N: usize> {
    window: f64,
    /// Divide by at least `window`, before a window has passed.
    full_window: bool,
    seen: Mutex<VecDeque<(f64, [u64; N])>>,
}

impl<const N: usize> Rates<N> {
    /// Rates from `start` (clock seconds), with zero totals then.
    pub(crate) fn new(window: f64, start: f64) -> Self {
        Self {
            window,
            full_window: false,
            seen: Mutex::new(VecDeque::from([(start, [0; N])])),
        }
    }

    /// As [`new`](Self::new), but a rate read before a whole window has
    /// passed divides by the window, not by the shorter time since the
    /// start: one error 0.2 s after the start is 1/60 per second over a
    /// 60 s window, not 5 (what a threshold wants).
    pub(crate) fn over_full_window(window: f64, start: f64) -> Self {
        Self {
            full_window: true,
            ..Self::new(window, start)
        }
    }

    /// Per-second rates of `totals` at `now`; 0 over no elapsed time.
    pub(crate) fn read(&self, now: f64, totals: [u64; N]) -> [f64; N] {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        // The reference: the newest read at least `window` old, else the oldest.
        let newest_old = seen.iter().rposition(|&(t, _)| t <= now - self.window);
        let reference = newest_old.unwrap_or(0);
        seen.drain(..reference);
        let (t0, base) = seen[0];
        let mut elapsed = now - t0;
        if self.full_window {
            elapsed = elapsed.max(self.window);
        }
        let mut out = [0.0; N];
        if elapsed > 0.0 {
            for i in 0..N {
                out[i] = totals[i].saturating_sub(base[i]) as f64 / elapsed;
            }
        }
        if seen
            .back()
            .is_none_or(|&(t, _)| now > t && now - t >= self.window / 8.0)
        {
            seen.push_back((now, totals));
            while seen.len() > MAX_SAMPLES {
                // Keep the reference (the front); drop the next oldest.
                seen.remove(1);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_from_the_newest_read_a_window_old() {
        let r: Rates<1> = Rates::new(1.0, 0.0);
        assert_eq!(r.read(2.0, [10]), [5.0], "from the start");
        assert_eq!(
            r.read(2.5, [20]),
            [8.0],
            "still from the start: 2.0 is not a window old"
        );
        assert_eq!(r.read(3.0, [30]), [20.0], "from the read at 2.0");
        assert_eq!(r.read(3.0, [30]), [20.0], "the same instant again");
    }

    #[test]
    fn reads_in_quick_succession_keep_few_samples() {
        let r: Rates<1> = Rates::new(60.0, 0.0);
        for i in 0..100_000u64 {
            r.read(i as f64 * 0.001, [i]);
        }
        let len = r.seen.lock().unwrap().len();
        // 100 s of reads, one kept per 7.5 s, the older than a window drained.
        assert!(len <= 10, "{len} samples kept");
        let r: Rates<1> = Rates::new(1.0, 0.0);
        for i in 0..1000u64 {
            // A clock going back and forth: the cap holds.
            r.read(if i % 2 == 0 { i as f64 } else { 0.5 }, [i]);
        }
        assert!(r.seen.lock().unwrap().len() <= MAX_SAMPLES);
    }

    #[test]
    fn over_a_full_window_before_one_passed() {
        let r: Rates<1> = Rates::over_full_window(60.0, 0.0);
        assert_eq!(r.read(0.2, [1]), [1.0 / 60.0]);
        assert_eq!(
            r.read(120.0, [121]),
            [121.0 / 120.0],
            "from the start: the read at 0.2 came too soon to be kept"
        );
        let plain: Rates<1> = Rates::new(60.0, 0.0);
        assert_eq!(plain.read(0.2, [1]), [5.0]);
    }
}
