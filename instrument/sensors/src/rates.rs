//! Per-second rates computed when read, from monotonic totals and the
//! real elapsed time (Faust divides by a 1 s tick it assumes).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// The totals seen by earlier reads, in clock seconds. A read at `now`
/// measures from the newest earlier read at least `window` seconds old
/// (or the oldest one kept, at first the start with zero totals), so
/// rates cover at least `window` seconds once that much time has passed,
/// however often they are read.
#[derive(Debug)]
pub(crate) struct Rates<const N: usize> {
    window: f64,
    seen: Mutex<VecDeque<(f64, [u64; N])>>,
}

impl<const N: usize> Rates<N> {
    /// Rates from `start` (clock seconds), with zero totals then.
    pub(crate) fn new(window: f64, start: f64) -> Self {
        Self {
            window,
            seen: Mutex::new(VecDeque::from([(start, [0; N])])),
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
        let elapsed = now - t0;
        let mut out = [0.0; N];
        if elapsed > 0.0 {
            for i in 0..N {
                out[i] = totals[i].saturating_sub(base[i]) as f64 / elapsed;
            }
        }
        if seen.back().is_none_or(|&(t, _)| now > t) {
            seen.push_back((now, totals));
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
}
