//! `Engine`: the pool of per-thread arenas and the slot allocator.
//!
//! **Leases instead of folding on exit.** A thread leases an arena on its
//! first update and gives it back when it exits; the next new thread takes
//! the idle arena over and keeps adding to the same cells. Counts therefore
//! never move between cells when a thread exits, so a scrape racing a thread
//! exit can neither lose nor double-count anything, and memory is bounded by
//! the largest number of threads alive at once, not by the number of threads
//! ever started. The hand-over goes through the `idle` mutex, which orders
//! the old owner's last store before the new owner's first load.
//!
//! **Slots.** A series allocates a contiguous range of slots. When its last
//! handle is dropped the range is zeroed in every arena and only then put on
//! the free list, so a series that reuses it starts from zero. Nobody can
//! write to a freed range: writes need a handle, and the last one is gone.
//! There are two slot spaces: 64-bit cells (sums, gauge deltas) and narrow
//! 16-bit cells for histogram and summary bucket counts, which overflow
//! into the engine's [`Spill`] cells; a thread's cell for a bucket costs 2
//! bytes instead of 8, so a histogram's memory grows a quarter as fast
//! with each writer thread as with 64-bit cells. (Counters stay 64-bit: the
//! overflow check made `inc` two to three times as slow.)

use crate::arena::Arena;
#[cfg(loom)]
use crate::chunked::Loc;
use crate::chunked::{ChunkedVec, MAX_INDEX};
use crate::spill::Spill;
use crate::sync::{AtomicU64, AtomicUsize, Mutex, Ordering, lock};
use std::collections::BTreeMap;

/// The process's arenas and slot space.
pub struct Engine {
    arenas: ChunkedVec<Arena>,
    /// Number of arenas ever created; arenas `0..count` are readable.
    count: AtomicUsize,
    idle: Mutex<Vec<usize>>,
    shared: Arena,
    slots: Mutex<SlotAllocator>,
    /// The slot space of the narrow (16-bit) cells.
    narrow_slots: Mutex<SlotAllocator>,
    /// The narrow cells' overflow.
    spill: Spill,
    /// Ranges freed so far: a scrape's merged view of a run is stale once a
    /// range was freed (and so may be reused) after the run was merged.
    frees: AtomicU64,
}

#[derive(Debug, Default)]
struct SlotAllocator {
    next: usize,
    /// Freed ranges by length, reused before the bump pointer grows.
    free: BTreeMap<u32, Vec<u32>>,
}

impl SlotAllocator {
    fn alloc(&mut self, len: u32) -> Option<u32> {
        if let Some(start) = self.free.get_mut(&len).and_then(Vec::pop) {
            return Some(start);
        }
        let start = self.next;
        let end = start.checked_add(len as usize)?;
        if end > MAX_INDEX {
            return None;
        }
        self.next = end;
        u32::try_from(start).ok()
    }

    fn in_use(&self) -> usize {
        let free: usize = self
            .free
            .iter()
            .map(|(&len, starts)| len as usize * starts.len())
            .sum();
        self.next - free
    }
}

/// A thread's exclusive right to write one arena; returns it on drop.
pub struct Lease<'e> {
    engine: &'e Engine,
    index: usize,
    arena: &'e Arena,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// An engine with no arenas and no slots in use.
    pub fn new() -> Self {
        Self {
            arenas: ChunkedVec::new(),
            count: AtomicUsize::new(0),
            idle: Mutex::new(Vec::new()),
            shared: Arena::default(),
            slots: Mutex::new(SlotAllocator::default()),
            narrow_slots: Mutex::new(SlotAllocator::default()),
            spill: Spill::default(),
            frees: AtomicU64::new(0),
        }
    }

    /// Takes an idle arena, or creates one.
    pub fn lease(&self) -> Lease<'_> {
        let mut idle = lock(&self.idle);
        let index = match idle.pop() {
            Some(i) => i,
            None => {
                // Creation happens under `idle`, so `count` has one writer.
                let i = self.count.load(Ordering::Relaxed);
                self.arenas.get_or_alloc(i);
                // Release: a scrape that reads `count > i` (Acquire) finds
                // arena `i`'s storage published.
                self.count.store(i + 1, Ordering::Release);
                i
            }
        };
        drop(idle);
        let arena = self.arenas.get_or_alloc(index);
        Lease {
            engine: self,
            index,
            arena,
        }
    }

    /// Number of arenas created so far (the most threads ever alive at once
    /// that wrote a metric, plus none for the shared fallback).
    pub fn arena_count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Reserves `len` consecutive 64-bit slots; `None` when the slot space
    /// (2^32) is exhausted.
    pub fn alloc(&self, len: u32) -> Option<u32> {
        lock(&self.slots).alloc(len)
    }

    /// Reserves `len` consecutive narrow slots (counts that spill); `None`
    /// when that slot space (2^32) is exhausted.
    pub fn alloc_narrow(&self, len: u32) -> Option<u32> {
        lock(&self.narrow_slots).alloc(len)
    }

    /// Slots allocated and not freed, of both kinds.
    pub fn slots_in_use(&self) -> usize {
        lock(&self.slots).in_use() + lock(&self.narrow_slots).in_use()
    }

    /// Zeroes `len` 64-bit slots from `start` in every arena, then makes
    /// them reusable. The caller guarantees nobody can write them any more.
    pub fn free(&self, start: u32, len: u32) {
        self.for_each_arena(|a| (start..start + len).for_each(|s| a.zero(s)));
        self.release(&self.slots, start, len);
    }

    /// [`free`](Self::free) for narrow slots: their cells in every arena
    /// and their spill cells are zeroed.
    pub fn free_narrow(&self, start: u32, len: u32) {
        self.for_each_arena(|a| (start..start + len).for_each(|s| a.zero_narrow(s)));
        (start..start + len).for_each(|s| self.spill.zero(s));
        self.release(&self.narrow_slots, start, len);
    }

    fn release(&self, slots: &Mutex<SlotAllocator>, start: u32, len: u32) {
        // The allocator mutex orders the zeroing before any later `alloc`
        // that hands the range to a new series.
        let mut slots = lock(slots);
        slots.free.entry(len).or_default().push(start);
        // Release, before the range can be handed out again (the lock is
        // still held): a merge that reads the new count (Acquire) reads the
        // zeroed cells or later writes, never the old series' values.
        self.frees.fetch_add(1, Ordering::Release);
    }

    /// Where narrow cells overflow to.
    pub(crate) fn spill(&self) -> &Spill {
        &self.spill
    }

    /// How many ranges were freed so far (see [`MergedCells`](crate::merge::MergedCells)).
    pub(crate) fn frees(&self) -> u64 {
        self.frees.load(Ordering::Acquire)
    }

    /// The arena written with atomic read-modify-writes by threads whose own
    /// lease is already gone.
    pub(crate) fn shared(&self) -> &Arena {
        &self.shared
    }

    /// Calls `f` on every arena, the shared one last.
    pub(crate) fn for_each_arena<'s>(&'s self, mut f: impl FnMut(&'s Arena)) {
        let n = self.count.load(Ordering::Acquire);
        for i in 0..n {
            if let Some(a) = self.arenas.get(i) {
                f(a);
            }
        }
        f(&self.shared);
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("arenas", &self.arena_count())
            .finish_non_exhaustive()
    }
}

impl<'e> Lease<'e> {
    /// Adds `n` to the `u64` cell at `slot` in this lease's arena (the loom
    /// models drive leases directly; metrics go through `local.rs`).
    #[cfg(loom)]
    pub fn add_u64(&self, slot: u32, n: u64) {
        self.arena.add_u64_owned(Loc::of(slot), n);
    }

    /// Adds `v` to the `f64` cell at `slot` in this lease's arena.
    #[cfg(loom)]
    pub fn add_f64(&self, slot: u32, v: f64) {
        self.arena.add_f64_owned(Loc::of(slot), v);
    }

    /// Adds `n` to the narrow cell at `slot` in this lease's arena.
    #[cfg(loom)]
    pub fn add_narrow(&self, slot: u32, n: u64) {
        self.arena
            .add_narrow_owned(Loc::of(slot), n, || &self.engine.spill);
    }

    #[cfg(not(loom))]
    pub(crate) fn arena(&self) -> &'e Arena {
        self.arena
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // The mutex orders this thread's last stores into the arena before the
        // next leaseholder's first load.
        lock(&self.engine.idle).push(self.index);
    }
}

impl std::fmt::Debug for Lease<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("index", &self.index).finish()
    }
}
