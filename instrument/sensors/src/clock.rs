//! The clock of every latency and rate: [`Clock`] (monotonic, or manual
//! for tests) and the [`Started`] token a paired callback hands back.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// When a paired event (a message, a stream event, a send, a commit, a
/// rebalance, an assignment, a web request) started: what its
/// `*_initiated` / `*_start` / `*_in` callback returns and its
/// `*_completed` / `*_end` / `*_out` callback takes back. A plain
/// timestamp and a generation: nothing is allocated and nothing is
/// looked up by id.
///
/// [`Started::UNSET`] stands for "no start seen" (Faust's `Stream.ack`
/// path, which passes no state): an end callback given it counts an
/// `unpaired` error and records no latency (levels still go down and
/// errors still count), and a [`SensorDelegate`](crate::SensorDelegate)
/// hands it to every sensor it holds.
///
/// The generation is the delegate's: which of its sensors saw the start
/// (those added before it), so that the end goes to those only. A token
/// from a [`Clock`] has none (generation 0: every sensor). A delegate's
/// token may have a generation and no time (no sensor measured the
/// start): [`is_unset`](Self::is_unset) is then true, and the end still
/// goes only to the sensors that saw the start.
///
/// Equality, ordering and hashing are by time only: a delegate's token of
/// no time equals [`Started::UNSET`] whatever its generation, and two
/// tokens of the same time are equal.
///
/// ```
/// use hotmetrics_sensors::{Monitor, Sensor, SensorDelegate, Started, TopicPartition};
/// use std::sync::Arc;
///
/// let delegate = SensorDelegate::new();
/// delegate.add(Arc::new(Monitor::new()));
/// // The monitor times commits: a time (and the delegate's generation).
/// let commit = delegate.on_commit_initiated();
/// assert!(commit > Started::UNSET);
/// // It keeps no time for messages: no time, still a generation.
/// let message = delegate.on_message_in(TopicPartition::new("t", 0), 1);
/// assert!(message.is_unset() && message == Started::UNSET);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Started {
    /// Nanoseconds since the clock's origin + 1 (0: no time).
    at: u64,
    /// The delegate generation of the start (0: none).
    generation: u64,
}

impl PartialEq for Started {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Started {}

impl PartialOrd for Started {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Started {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

impl std::hash::Hash for Started {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.at.hash(state);
    }
}

impl Started {
    /// No start: see the type's docs.
    pub const UNSET: Started = Started {
        at: 0,
        generation: 0,
    };

    /// A start `at` after the clock's origin (for clocks of your own and
    /// tests; [`Clock::now`] is the usual way).
    pub fn at(at: Duration) -> Self {
        // Nanoseconds + 1, so that the origin itself is not `UNSET`.
        Started {
            at: u64::try_from(at.as_nanos())
                .unwrap_or(u64::MAX - 1)
                .saturating_add(1),
            generation: 0,
        }
    }

    /// Whether it holds no time (no sensor measured the start;
    /// [`Started::UNSET`] among others).
    #[inline]
    pub fn is_unset(self) -> bool {
        self.at == 0
    }

    /// Nanoseconds since the clock's origin (0 for `UNSET`).
    #[inline]
    pub(crate) fn nanos(self) -> u64 {
        self.at.saturating_sub(1)
    }

    /// The delegate generation it was started at (0: none).
    #[inline]
    pub(crate) fn generation(self) -> u64 {
        self.generation
    }

    /// The same time at delegate generation `generation`.
    #[inline]
    pub(crate) fn with_generation(self, generation: u64) -> Self {
        Started { generation, ..self }
    }

    /// Seconds from `self` to `end`: `None` when either is unset or `end`
    /// is before `self` (a latency that would be negative).
    #[inline]
    pub(crate) fn seconds_until(self, end: Started) -> Option<f64> {
        if self.is_unset() || end.is_unset() || end.at < self.at {
            return None;
        }
        Some((end.at - self.at) as f64 / 1e9)
    }
}

/// Where times come from: [`Clock::monotonic`] (the default; a TSC read
/// through `quanta`, ~20 ns) or a [`ManualClock`] that a test moves.
/// Clones read the same clock. Sensors that share start tokens (those of
/// one [`SensorDelegate`](crate::SensorDelegate)) must share one clock:
/// [`Monitoring`](crate::Monitoring) gives them the same.
#[derive(Clone, Debug, Default)]
pub struct Clock(Source);

#[derive(Clone, Debug, Default)]
enum Source {
    #[default]
    Monotonic,
    Manual(Arc<AtomicU64>),
}

/// The monotonic clock's origin: the first time any clock was read.
fn origin() -> quanta::Instant {
    static ORIGIN: OnceLock<quanta::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(quanta::Instant::now)
}

impl Clock {
    /// The process' monotonic clock.
    pub fn monotonic() -> Self {
        Clock(Source::Monotonic)
    }

    /// Now, as a start token (also the end time of an end callback).
    #[inline]
    pub fn now(&self) -> Started {
        match &self.0 {
            Source::Monotonic => {
                let origin = origin();
                Started::at(quanta::Instant::now().saturating_duration_since(origin))
            }
            Source::Manual(nanos) => {
                Started::at(Duration::from_nanos(nanos.load(Ordering::Relaxed)))
            }
        }
    }

    /// Time since the clock's origin, in seconds (the `now` of rates and
    /// of "no events for N seconds").
    pub(crate) fn seconds(&self) -> f64 {
        self.now().nanos() as f64 / 1e9
    }
}

/// A clock that only moves when told: for tests that compare latencies and
/// rates with a reference computed from the same event log.
///
/// ```
/// use hotmetrics_sensors::{ManualClock, Started};
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let clock = manual.clock();
/// manual.advance(Duration::from_millis(5));
/// assert_eq!(clock.now(), Started::at(Duration::from_millis(5)));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock at its origin.
    pub fn new() -> Self {
        Self::default()
    }

    /// The [`Clock`] to hand to sensors.
    pub fn clock(&self) -> Clock {
        Clock(Source::Manual(Arc::clone(&self.0)))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.0.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Sets the clock to `at` after its origin (backwards too: latencies
    /// that come out negative are refused and counted).
    pub fn set(&self, at: Duration) {
        let nanos = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        self.0.store(nanos, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tokens_compare_and_hash_by_time_only() {
        let unset_at_gen = Started::UNSET.with_generation(7);
        assert!(unset_at_gen.is_unset());
        assert_eq!(unset_at_gen, Started::UNSET);
        let t = Started::at(Duration::from_millis(2));
        assert_eq!(t.with_generation(3), t.with_generation(9));
        assert_eq!(t.with_generation(3).generation(), 3, "still carried");
        assert!(Started::UNSET.with_generation(9) < t.with_generation(1));
        assert_eq!(
            t.with_generation(3).cmp(&t.with_generation(1)),
            std::cmp::Ordering::Equal
        );
        let set: HashSet<Started> = [t, t.with_generation(5), unset_at_gen, Started::UNSET]
            .into_iter()
            .collect();
        assert_eq!(set.len(), 2, "one per time");
    }
}
