//! Exponential backoff with jitter between retries of one payload.

use std::time::Duration;

/// The longest `Retry-After` honoured.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Doubles from `min` to `max` with each failed attempt; each wait is
/// drawn from its upper half (so retries of many exporters spread out,
/// and none waits less than half the nominal backoff).
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64);
        Self {
            min,
            max: max.max(min),
            attempt: 0,
            // xorshift needs a non-zero state.
            rng: seed | 1,
        }
    }

    /// The wait before the next attempt, at least `retry_after` (capped at
    /// [`MAX_RETRY_AFTER`]: a receiver's header cannot park the exporter
    /// for years, or overflow a clock).
    pub(crate) fn next(&mut self, retry_after: Option<Duration>) -> Duration {
        let retry_after = retry_after.map(|d| d.min(MAX_RETRY_AFTER));
        let nominal = self
            .min
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = nominal / 2;
        let jitter = half.mul_f64(self.unit());
        (half + jitter).max(retry_after.unwrap_or_default())
    }

    /// Back to `min` after a success.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// A number in [0, 1) (xorshift64*: statistics do not matter here).
    fn unit(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_within_jitter_up_to_max_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(1000));
        for nominal in [100, 200, 400, 800, 1000, 1000] {
            let wait = b.next(None);
            assert!(
                wait >= ms(nominal / 2) && wait <= ms(nominal),
                "{wait:?} for {nominal}"
            );
        }
        b.reset();
        assert!(b.next(None) <= ms(100));
    }

    #[test]
    fn caps_a_huge_retry_after() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(20));
        assert_eq!(b.next(Some(Duration::from_secs(u64::MAX))), MAX_RETRY_AFTER);
    }

    #[test]
    fn honours_retry_after() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(20));
        assert_eq!(b.next(Some(Duration::from_secs(3))), Duration::from_secs(3));
    }
}
