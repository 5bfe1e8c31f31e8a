//! `Spill`: where narrow cells overflow to, and the protocol that keeps a
//! scrape exact while they do.
//!
//! Histogram and summary buckets count in **16-bit cells** per thread
//! ([`Narrow`]: a quarter of the memory, and of the bytes a scrape reads,
//! of a `u64` cell). When an add would take a cell past `u16::MAX`, its
//! owner *spills*: it adds the cell's count plus the increment to the
//! slot's shared 64-bit cell here (atomic adds: real read-modify-writes,
//! but one spill per 65,536 observations in a bucket on one thread, well
//! under a thousandth of a nanosecond an observation) and zeroes its own
//! cell. (Not counters: their `inc` is one add on a 64-bit cell, and the
//! check before the store made it two to three times as slow in the
//! compare runner on the 2-core VM. 16 bits against 32 on the 2-core VM:
//! a loop observing into one bucket 5.4-5.9 against 5.3-5.7 ns, the
//! `histogram_observe` case indistinguishable in 10 alternating runs; a
//! default histogram 159 B a series at 1 writer and 643 B at 16, against
//! 183 and 1,028.) Threads
//! without a lease (thread-local destructors at exit) add here directly.
//! The value of a slot is the sum of its narrow cells over every arena plus
//! its spill cell.
//!
//! A spill changes two cells, so a scrape could read a count twice (the
//! cell before it was zeroed, then the spill cell after the add) or not at
//! all. Spills are therefore bracketed by two counters, `started` and
//! `finished`, and a read is a **seqlock read** over both: it starts when no
//! spill is in flight (`finished == started`), reads the cells, and is kept
//! only if no spill started meanwhile; otherwise it reads again. Spills are
//! rare, so retries are too; writers never wait for a scrape, and a spill
//! never waits for anything but its own two atomic adds. A scrape may wait:
//! for a spill in flight whose thread was descheduled between its two adds
//! (it yields until the thread runs again), and, under a flood of spills,
//! for a quiet moment as long as one read of a block (a few microseconds;
//! sixteen threads each observing 50 million times a second into one
//! bucket spill 12,000 times a second in all, so a 15 µs block read at
//! 64 arenas is retried about one time in six).

use crate::chunked::ChunkedVec;
use crate::sync::{AtomicU16, AtomicU64, Ordering, fence};
use crossbeam_utils::CachePadded;

/// A narrow cell's integer.
pub(crate) type Narrow = u16;
/// A narrow cell.
pub(crate) type NarrowCell = AtomicU16;

/// Largest count a narrow cell holds before it spills (tiny under loom so
/// the models spill within a few increments).
#[cfg(not(loom))]
pub(crate) const NARROW_MAX: u64 = Narrow::MAX as u64;
#[cfg(loom)]
pub(crate) const NARROW_MAX: u64 = 2;

/// Reads retried this often back to back yield the CPU before the next
/// (the writer whose spill is in flight may be descheduled). Every retry
/// yields under loom, which must see a spinning thread give way.
#[cfg(not(loom))]
const SPINS_BEFORE_YIELD: u32 = 64;
#[cfg(loom)]
const SPINS_BEFORE_YIELD: u32 = 1;

pub(crate) struct Spill {
    cells: ChunkedVec<AtomicU64>,
    started: CachePadded<AtomicU64>,
    finished: CachePadded<AtomicU64>,
}

impl Default for Spill {
    fn default() -> Self {
        Self {
            cells: ChunkedVec::new(),
            started: CachePadded::new(AtomicU64::new(0)),
            finished: CachePadded::new(AtomicU64::new(0)),
        }
    }
}

impl Spill {
    /// Adds `n` to the slot's spill cell from a thread without an arena:
    /// one atomic add, which a read sees whole or not at all (no bracket).
    pub(crate) fn add(&self, slot: u32, n: u64) {
        self.cells
            .get_or_alloc(slot as usize)
            .fetch_add(n, Ordering::Relaxed);
    }

    /// Moves `count` out of a narrow cell into the slot's spill cell;
    /// `zero` resets the narrow cell. Called by the cell's owner.
    #[cold]
    pub(crate) fn spill(&self, slot: u32, count: u64, zero: impl FnOnce()) {
        let cell = self.cells.get_or_alloc(slot as usize);
        self.started.fetch_add(1, Ordering::Relaxed);
        // Release fence: a read that sees either write below (and then
        // fences with Acquire) also sees `started` moved, and retries.
        fence(Ordering::Release);
        cell.fetch_add(count, Ordering::Relaxed);
        zero();
        // Release: a read that finds `finished` caught up with `started`
        // (Acquire) sees both writes of this spill.
        self.finished.fetch_add(1, Ordering::Release);
    }

    /// The slot's spill cell (0 if it never spilled).
    #[inline]
    pub(crate) fn load(&self, slot: u32) -> u64 {
        self.cells
            .get(slot as usize)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Resets the spill cell of a freed slot (nobody writes it any more).
    pub(crate) fn zero(&self, slot: u32) {
        if let Some(c) = self.cells.get(slot as usize) {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Runs `read` (which reads narrow and spill cells into its own
    /// output) until it ran with no spill starting or in flight.
    pub(crate) fn read(&self, mut read: impl FnMut()) {
        let mut tries = 0u32;
        loop {
            // `finished` first: equal to a later `started` means no spill
            // was in flight in between, and (Acquire) every finished
            // spill's writes are visible.
            let finished = self.finished.load(Ordering::Acquire);
            // Relaxed: `started` is only ever moved Relaxed; what orders
            // the reads is `finished` above and the fence below.
            let started = self.started.load(Ordering::Relaxed);
            if started == finished {
                read();
                // Acquire fence: if `read` saw a write of a spill that
                // started after the load above, this load sees it started.
                fence(Ordering::Acquire);
                if self.started.load(Ordering::Relaxed) == started {
                    return;
                }
            }
            tries = tries.wrapping_add(1);
            if tries.is_multiple_of(SPINS_BEFORE_YIELD) {
                crate::sync::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill")
            .field("started", &self.started.load(Ordering::Relaxed))
            .field("finished", &self.finished.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
