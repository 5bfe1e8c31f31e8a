//! The bounded recent history of a latency (Faust's `deque(maxlen=…)`),
//! written without a lock or a shared write: each thread records into a
//! ring of its own (`cap` slots), and a read merges every thread's ring
//! and keeps the `cap` most recent samples. Since each thread keeps its
//! own last `cap`, the process' last `cap` are always among them.
//!
//! A slot is a seqlock of atomics (safe code): the writer (only its
//! thread) makes the sequence odd, writes the value and time, makes it
//! even again; a reader retries a slot whose sequence was odd or moved.

use crossbeam_utils::CachePadded;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
use thread_local::ThreadLocal;

#[derive(Debug, Default)]
struct Slot {
    /// Even when stable; 0 when never written.
    seq: AtomicU64,
    /// The sample, as `f64` bits.
    value: AtomicU64,
    /// When it was recorded (clock nanoseconds), to merge the rings.
    at: AtomicU64,
}

#[derive(Debug)]
struct Ring {
    slots: Box<[Slot]>,
    /// The next slot to write (wraps at `cap`).
    next: AtomicUsize,
}

#[derive(Debug)]
pub(crate) struct History {
    cap: usize,
    /// Padded: each record writes `next`, and threads' rings may sit side
    /// by side.
    rings: ThreadLocal<CachePadded<Ring>>,
}

impl History {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            rings: ThreadLocal::new(),
        }
    }

    /// Records `value` at clock time `at` (nanoseconds). Allocates only the
    /// first time a thread records.
    #[inline]
    pub(crate) fn record(&self, value: f64, at: u64) {
        if self.cap == 0 {
            return;
        }
        let ring = self.rings.get_or(|| {
            CachePadded::new(Ring {
                slots: (0..self.cap).map(|_| Slot::default()).collect(),
                next: AtomicUsize::new(0),
            })
        });
        // Only this thread writes its ring: plain loads and stores.
        let n = ring.next.load(Ordering::Relaxed);
        let slot = &ring.slots[n];
        let seq = slot.seq.load(Ordering::Relaxed);
        slot.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // Release fence: a reader that sees either data store below also
        // sees the odd sequence, and retries.
        fence(Ordering::Release);
        slot.value.store(value.to_bits(), Ordering::Relaxed);
        slot.at.store(at, Ordering::Relaxed);
        // Release: a reader that sees the even sequence sees the data.
        slot.seq.store(seq.wrapping_add(2), Ordering::Release);
        let next = if n + 1 == self.cap { 0 } else { n + 1 };
        ring.next.store(next, Ordering::Relaxed);
    }

    /// The `cap` most recent samples, oldest first.
    pub(crate) fn recent(&self) -> Vec<f64> {
        let mut all: Vec<(u64, f64)> = Vec::new();
        for ring in self.rings.iter() {
            for slot in ring.slots.iter() {
                if let Some(sample) = read(slot) {
                    all.push(sample);
                }
            }
        }
        // Stable: samples of one instant keep their ring order.
        all.sort_by_key(|&(at, _)| at);
        let skip = all.len().saturating_sub(self.cap);
        all.into_iter().skip(skip).map(|(_, v)| v).collect()
    }

    /// Summary statistics of [`recent`](Self::recent).
    pub(crate) fn stats(&self) -> LatencyStats {
        LatencyStats::of(self.recent())
    }
}

/// One slot's sample, if it holds one and a stable read could be made.
fn read(slot: &Slot) -> Option<(u64, f64)> {
    for _ in 0..16 {
        // Acquire pairs with the writer's final Release store.
        let before = slot.seq.load(Ordering::Acquire);
        if before == 0 {
            return None;
        }
        if before % 2 == 1 {
            std::hint::spin_loop();
            continue;
        }
        let value = slot.value.load(Ordering::Relaxed);
        let at = slot.at.load(Ordering::Relaxed);
        // Acquire fence: pairs with the writer's Release fence, so a data
        // load that saw a newer write is followed by a sequence that moved.
        fence(Ordering::Acquire);
        if slot.seq.load(Ordering::Relaxed) == before {
            return Some((at, f64::from_bits(value)));
        }
    }
    None
}

/// What a bounded latency history says, computed when read: the samples
/// (oldest first, seconds, as Faust's deques), their count, mean, median
/// (Faust's `*_avg` fields are medians), 95th percentile (nearest rank,
/// as Faust's `/performance/` view) and maximum; `None` when empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyStats {
    /// The samples, oldest first, in seconds.
    pub samples: Vec<f64>,
    /// How many.
    pub count: usize,
    /// Their mean.
    pub mean: Option<f64>,
    /// Their median (the mean of the middle two for an even count).
    pub median: Option<f64>,
    /// Nearest-rank 95th percentile: index `round(0.95 × (n − 1))` of the sorted samples.
    pub p95: Option<f64>,
    /// The largest.
    pub max: Option<f64>,
}

impl LatencyStats {
    pub(crate) fn of(samples: Vec<f64>) -> Self {
        let count = samples.len();
        if count == 0 {
            return Self {
                samples,
                count,
                mean: None,
                median: None,
                p95: None,
                max: None,
            };
        }
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / count as f64;
        let median = if count % 2 == 1 {
            sorted[count / 2]
        } else {
            (sorted[count / 2 - 1] + sorted[count / 2]) / 2.0
        };
        let p95 = sorted[(0.95 * (count - 1) as f64).round() as usize];
        Self {
            samples,
            count,
            mean: Some(mean),
            median: Some(median),
            p95: Some(p95),
            max: sorted.last().copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recent_across_threads() {
        let h = History::new(3);
        h.record(1.0, 10);
        h.record(2.0, 20);
        std::thread::scope(|s| {
            s.spawn(|| {
                h.record(3.0, 15);
                h.record(4.0, 40);
            });
        });
        h.record(5.0, 50);
        assert_eq!(h.recent(), [2.0, 4.0, 5.0]);
        let stats = h.stats();
        assert_eq!(stats.count, 3);
        assert_eq!(stats.max, Some(5.0));
        assert_eq!(stats.median, Some(4.0));
        assert_eq!(stats.mean, Some(11.0 / 3.0));
    }

    #[test]
    fn empty_and_zero_capacity() {
        let h = History::new(0);
        h.record(1.0, 1);
        assert!(h.recent().is_empty());
        let s = History::new(4).stats();
        assert_eq!((s.count, s.mean, s.max), (0, None, None));
    }
}
