//! StatsD timers (`name:12.5|ms`, one line per sample): [`Timings`], a set
//! of named [`Timer`]s that a [`StatsdSink`](crate::StatsdSink) drains at
//! every export.
//!
//! A registry holds aggregates (a histogram's bucket counts), so it cannot
//! send what a StatsD daemon's timers want: every sample, from which the
//! daemon computes its own count, mean, upper, lower, percentiles and
//! rates. A timer keeps the samples themselves until the next export, in
//! one bounded ring per recording thread (see [`Timings::with_capacity`]
//! for the memory).

use crate::dialect::is_plain_name;
use crate::error::Error;
use crate::ring::Ring;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};
use thread_local::ThreadLocal;

/// Default [`Timings::with_capacity`]: samples each thread keeps per timer
/// between two exports (8 KiB a thread a timer).
pub const DEFAULT_TIMER_CAPACITY: usize = 1024;

/// The largest [`Timings::with_capacity`]: 2^20 samples, 8 MiB a thread a
/// timer.
pub const MAX_TIMER_CAPACITY: usize = 1 << 20;

/// A set of named StatsD timers, cloned cheaply (the clones share the
/// timers), that one sink sends ([`StatsdBuilder::timings`]).
///
/// ```
/// use hotmetrics_core::Registry;
/// use hotmetrics_export::{Batch, Sink};
/// use hotmetrics_statsd::{StatsdSink, Timings};
/// use std::time::Duration;
///
/// let timings = Timings::new();
/// let took = timings.timer("request_ms")?;
/// took.record_ms(12.5);
/// took.record(Duration::from_micros(2_250));
/// took.record_ms(f64::NAN); // refused, counted
/// assert_eq!(took.refused(), 1);
///
/// let mut sink = StatsdSink::udp("127.0.0.1:8125")
///     .prefix("app")
///     .timings(timings.clone())
///     .build()?;
/// let mut batch = Batch::default();
/// sink.encode(&Registry::new(), &mut batch)?;
/// assert_eq!(batch.payloads()[0].bytes, b"app.request_ms:12.5|ms\napp.request_ms:2.25|ms");
/// // Sent: gone.
/// batch = Batch::default();
/// sink.encode(&Registry::new(), &mut batch)?;
/// assert!(batch.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`StatsdBuilder::timings`]: crate::StatsdBuilder::timings
#[derive(Clone)]
pub struct Timings(Arc<Set>);

struct Set {
    capacity: usize,
    timers: RwLock<Vec<Timer>>,
    /// Whether a sink sends this set (one at most: each sample goes once).
    claimed: AtomicBool,
}

/// One StatsD timer of a [`Timings`] set: [`record_ms`](Self::record_ms)
/// puts a sample in the calling thread's ring; the sink sends each sample
/// once, as `<prefix>.<name>:<ms>|ms`.
///
/// Recording takes no lock, does no read-modify-write on shared memory and
/// allocates nothing, except a thread's first sample, which makes that
/// thread's ring. A full ring (more samples between two exports than its
/// capacity) drops the sample and counts it; the lines of the next export
/// then carry sample rates, `|@<1/w>` for whole weights `w` (the lines of
/// `K` samples sent for `T` recorded weigh `⌊T/K⌋` or `⌈T/K⌉`, summing to
/// `T`), so the daemon's count (StatsD adds `1/rate` per line, the
/// Datadog agent its integer part) is still the number recorded.
/// NaN, negative and infinite values are refused and counted
/// ([`refused`](Self::refused)).
#[derive(Clone)]
pub struct Timer(Arc<Core>);

struct Core {
    name: Box<str>,
    capacity: usize,
    rings: ThreadLocal<Ring>,
}

impl Default for Timings {
    fn default() -> Self {
        Self::new()
    }
}

impl Timings {
    /// A set whose timers keep [`DEFAULT_TIMER_CAPACITY`] samples a thread
    /// between exports.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_TIMER_CAPACITY)
    }

    /// A set whose timers keep `samples` samples per recording thread
    /// between two exports, rounded up to a power of two, 1 to
    /// [`MAX_TIMER_CAPACITY`] (outside, the nearest of the two).
    ///
    /// Memory: each thread that records into a timer gets its own ring,
    /// made at its first sample and kept for the timer's life (a thread
    /// that exits leaves it to the next thread): `8 × samples` bytes plus
    /// 512 bytes of counters (on cache lines of their own), each thread,
    /// each timer. The default, 1,024 samples, is 8.5 KiB; the StatsD
    /// monitor's 8 timers recorded from 4 threads take about 272 KiB.
    ///
    /// Size it to the samples a thread records per export interval: past
    /// it, samples are dropped (and counted, so the daemon's counts stay
    /// right, but its mean, upper and percentiles see only the samples
    /// kept: the first ones of the interval).
    pub fn with_capacity(samples: usize) -> Self {
        let capacity = samples.clamp(1, MAX_TIMER_CAPACITY).next_power_of_two();
        Self(Arc::new(Set {
            capacity,
            timers: RwLock::new(Vec::new()),
            claimed: AtomicBool::new(false),
        }))
    }

    /// Samples each thread's ring keeps (the capacity, rounded).
    pub fn capacity(&self) -> usize {
        self.0.capacity
    }

    /// The timer called `name` (after the sink's prefix), made on first
    /// use; the same timer again for the same name.
    ///
    /// Keep the [`Timer`] and record through it: this call checks the
    /// name and looks it up (the set's read lock, its write lock to make
    /// the timer), and an export holds the read lock while it sends the
    /// samples. A name already there is found under the read lock, so
    /// this call does not wait for an export, but it is no hot path.
    ///
    /// A name is what plain StatsD sends as it is: not empty, only
    /// `[A-Za-z0-9_.-]`, and no empty level (`.` first, last or twice in
    /// a row). DogStatsD names have no `-`: there it becomes `_`, as in
    /// the sink's other names.
    pub fn timer(&self, name: &str) -> Result<Timer, Error> {
        check_name(name).map_err(|reason| Error::TimerName {
            name: name.to_owned(),
            reason,
        })?;
        let find = |timers: &[Timer]| timers.iter().find(|t| *t.0.name == *name).cloned();
        // The read lock first: an export holds it, so the write lock would
        // wait for the whole export.
        if let Some(t) = find(&self.timers()) {
            return Ok(t);
        }
        let mut timers = self
            .0
            .timers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = find(&timers) {
            return Ok(t);
        }
        let timer = Timer(Arc::new(Core {
            name: name.into(),
            capacity: self.0.capacity,
            rings: ThreadLocal::new(),
        }));
        timers.push(timer.clone());
        Ok(timer)
    }

    /// Values refused by all its timers (NaN, negative, infinite).
    pub fn refused(&self) -> u64 {
        self.timers().iter().map(Timer::refused).sum()
    }

    /// Samples dropped by all its timers (a full ring).
    pub fn dropped(&self) -> u64 {
        self.timers().iter().map(Timer::dropped).sum()
    }

    pub(crate) fn timers(&self) -> RwLockReadGuard<'_, Vec<Timer>> {
        self.0.timers.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the set for one sink; `false` if another has it.
    pub(crate) fn claim(&self) -> bool {
        !self.0.claimed.swap(true, Ordering::AcqRel)
    }

    /// Gives the set back (its sink is gone).
    pub(crate) fn release(&self) {
        self.0.claimed.store(false, Ordering::Release);
    }
}

/// Why a timer name cannot be sent as it is.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty");
    }
    if !name.bytes().all(is_plain_name) {
        return Err("a timer name holds only letters, digits, '_', '-' and '.'");
    }
    if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        return Err("an empty level ('.' first, last or twice in a row)");
    }
    Ok(())
}

impl Timer {
    /// Records a sample of `ms` milliseconds (NaN, negative and infinite
    /// values are refused and counted).
    ///
    /// Not from a thread-local's destructor: finding the calling thread's
    /// ring needs its thread id (the `thread_local` crate's), which may
    /// already be gone while the thread exits; that lookup then panics,
    /// and a panic in a thread-local's destructor aborts the process.
    /// (The order of thread-local destructors is unspecified, so no cheap
    /// check can tell.)
    #[inline]
    pub fn record_ms(&self, ms: f64) {
        let core = &*self.0;
        let ring = core.rings.get_or(|| Ring::new(core.capacity));
        if ms >= 0.0 && ms.is_finite() {
            // `+ 0.0`: -0.0 becomes 0.0.
            ring.push((ms + 0.0).to_bits());
        } else {
            ring.refuse();
        }
    }

    /// Records `took`, in milliseconds.
    #[inline]
    pub fn record(&self, took: Duration) {
        self.record_ms(took.as_secs_f64() * 1000.0);
    }

    /// A guard that records the time from now until it is dropped.
    #[inline]
    pub fn start(&self) -> TimerGuard<'_> {
        TimerGuard {
            timer: self,
            started: Instant::now(),
        }
    }

    /// Runs `f` and records how long it took.
    #[inline]
    pub fn time<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.start();
        f()
    }

    /// Its name, as given.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Values it refused (NaN, negative, infinite), from every thread.
    pub fn refused(&self) -> u64 {
        self.0.rings.iter().map(Ring::refused).sum()
    }

    /// Samples it dropped (a thread's ring was full), from every thread.
    pub fn dropped(&self) -> u64 {
        self.0.rings.iter().map(Ring::dropped).sum()
    }

    /// Each thread's ring, for the sink.
    pub(crate) fn rings(&self) -> impl Iterator<Item = &Ring> {
        self.0.rings.iter()
    }
}

/// Records the time from [`Timer::start`] until it is dropped.
#[must_use = "dropping the guard at once records about 0 ms"]
pub struct TimerGuard<'a> {
    timer: &'a Timer,
    started: Instant,
}

impl Drop for TimerGuard<'_> {
    fn drop(&mut self) {
        self.timer.record(self.started.elapsed());
    }
}

impl fmt::Debug for Timings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timings")
            .field("capacity", &self.0.capacity)
            .field("timers", &*self.timers())
            .finish()
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("name", &self.name())
            .field("dropped", &self.dropped())
            .field("refused", &self.refused())
            .finish()
    }
}

impl fmt::Debug for TimerGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerGuard")
            .field("timer", &self.timer.name())
            .finish_non_exhaustive()
    }
}

/// A set one sink holds: given back when the sink is dropped.
#[derive(Debug)]
pub(crate) struct Claimed(pub(crate) Timings);

impl Drop for Claimed {
    fn drop(&mut self) {
        self.0.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_found_again() {
        let t = Timings::new();
        for bad in ["", "a b", "a:b", "a|b", ".a", "a.", "a..b", "\u{e9}"] {
            assert!(
                matches!(t.timer(bad), Err(Error::TimerName { .. })),
                "{bad:?}"
            );
        }
        let a = t.timer("faust-app.send_latency").unwrap();
        a.record_ms(1.0);
        let again = t.timer("faust-app.send_latency").unwrap();
        assert!(Arc::ptr_eq(&a.0, &again.0), "the same timer");
        assert_eq!(t.timers().len(), 1);
    }

    #[test]
    fn an_existing_timer_is_found_while_an_export_reads() {
        let t = Timings::new();
        t.timer("x").unwrap();
        // What an export holds while it sends the samples.
        let reading = t.timers();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| tx.send(t.timer("x").is_ok()).unwrap());
            let found = rx.recv_timeout(Duration::from_secs(10));
            drop(reading);
            assert_eq!(found, Ok(true), "found under the read lock, no wait");
        });
    }

    #[test]
    fn capacities_round_up_to_a_power_of_two() {
        assert_eq!(Timings::with_capacity(0).capacity(), 1);
        assert_eq!(Timings::with_capacity(1000).capacity(), 1024);
        assert_eq!(
            Timings::with_capacity(usize::MAX).capacity(),
            MAX_TIMER_CAPACITY
        );
        assert_eq!(Timings::new().capacity(), DEFAULT_TIMER_CAPACITY);
    }

    #[test]
    fn bad_values_are_refused_and_counted() {
        let t = Timings::new();
        let timer = t.timer("x").unwrap();
        for v in [f64::NAN, -1.0, f64::INFINITY, f64::NEG_INFINITY, -1e-300] {
            timer.record_ms(v);
        }
        timer.record_ms(-0.0);
        timer.record_ms(0.5);
        assert_eq!(timer.refused(), 5);
        assert_eq!(t.refused(), 5);
        let ring = timer.rings().next().unwrap();
        let p = ring.stage();
        assert_eq!((p.from, p.to), (0, 2));
        assert_eq!(ring.sample(0), 0.0f64.to_bits(), "-0 is 0");
        assert_eq!(f64::from_bits(ring.sample(1)), 0.5);
    }

    #[test]
    fn a_full_ring_drops_and_a_commit_frees() {
        let t = Timings::with_capacity(4);
        let timer = t.timer("x").unwrap();
        for v in 0..6 {
            timer.record_ms(f64::from(v));
        }
        assert_eq!(timer.dropped(), 2);
        let ring = timer.rings().next().unwrap();
        let p = ring.stage();
        assert_eq!((p.from, p.to, p.dropped), (0, 4, 2));
        // Not committed (an export cut short): still full, read again.
        timer.record_ms(9.0);
        assert_eq!(
            ring.stage(),
            crate::ring::Pending {
                from: 0,
                to: 4,
                dropped: 3
            }
        );
        ring.commit();
        timer.record_ms(10.0);
        let p = ring.stage();
        assert_eq!((p.from, p.to, p.dropped), (4, 5, 0));
        assert_eq!(f64::from_bits(ring.sample(4)), 10.0);
        // Drops kept back (no sample carried them) are reported later.
        for _ in 0..5 {
            timer.record_ms(1.0);
        }
        ring.commit();
        let p = ring.stage();
        assert_eq!((p.from, p.to, p.dropped), (5, 8, 2));
        ring.keep_drops();
        ring.commit();
        assert_eq!(ring.stage().dropped, 2, "kept back, still to report");
    }

    #[test]
    fn the_guard_records_the_elapsed_time() {
        let t = Timings::new();
        let timer = t.timer("x").unwrap();
        let out = timer.time(|| {
            std::thread::sleep(Duration::from_millis(2));
            7
        });
        assert_eq!(out, 7);
        let ring = timer.rings().next().unwrap();
        let p = ring.stage();
        assert_eq!(p.to, 1);
        let ms = f64::from_bits(ring.sample(0));
        assert!((2.0..1000.0).contains(&ms), "{ms}");
    }
}
