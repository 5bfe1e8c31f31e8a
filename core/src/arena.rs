//! `Arena`: one thread's cells for every series in the process.
//!
//! A series owns a range of *slots* (one for a counter, one per bucket plus
//! one for the sum for a histogram). Each thread that writes leases its own
//! arena and updates the cell at a slot with a plain `load` + `store`: the
//! leaseholder is the only writer, so there is no read-modify-write on a
//! cache line another core writes. Scrapes read every arena's cell at the slot
//! and add them up (see `merge.rs`).
//!
//! One extra arena is shared: it takes the rare updates made while a thread's
//! own lease is gone (from another thread-local destructor during thread
//! exit), with real atomic read-modify-writes so nothing is lost.
//!
//! An arena has two kinds of cells, each in its own slot space: 64-bit
//! cells (counters, `f64` sums, gauge deltas) and 16-bit *narrow* cells for
//! the counts of histogram buckets, which spill into the engine's
//! shared 64-bit cells when they would overflow (`spill.rs`).

use crate::chunked::{ChunkedVec, Loc};
use crate::spill::{NARROW_MAX, Narrow, NarrowCell, Spill};
use crate::sync::{AtomicU64, Ordering};

pub(crate) struct Arena {
    cells: ChunkedVec<AtomicU64>,
    narrow: ChunkedVec<NarrowCell>,
}

impl Default for Arena {
    fn default() -> Self {
        Self {
            cells: ChunkedVec::new(),
            narrow: ChunkedVec::new(),
        }
    }
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena")
            .field("cells", &self.cells)
            .field("narrow", &self.narrow)
            .finish()
    }
}

impl Arena {
    #[inline]
    fn cell(&self, loc: Loc) -> &AtomicU64 {
        self.cells.get_or_alloc_at(loc)
    }

    /// Adds `n` (wrapping) to the cell. Only the leaseholder may call this:
    /// the load and store are not one atomic step.
    #[inline]
    pub(crate) fn add_u64_owned(&self, loc: Loc, n: u64) {
        let c = self.cell(loc);
        c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    /// Adds `n` to the narrow cell at `loc`, spilling the cell into
    /// `spill()` when the sum would not fit (`spill` is only called then,
    /// so the common path reads nothing but the cell). Leaseholder only.
    #[inline]
    pub(crate) fn add_narrow_owned<'s>(&self, loc: Loc, n: u64, spill: impl FnOnce() -> &'s Spill) {
        let c = self.narrow.get_or_alloc_at(loc);
        let now = u64::from(c.load(Ordering::Relaxed));
        match now.checked_add(n) {
            Some(sum) if sum <= NARROW_MAX => c.store(sum as Narrow, Ordering::Relaxed),
            // Wrapping, as a u64 counter does.
            _ => spill().spill(loc.index(), now.wrapping_add(n), || {
                c.store(0, Ordering::Relaxed);
            }),
        }
    }

    /// The narrow cells of run `run`, `None` if this arena never touched
    /// that part of the narrow slot space.
    #[inline]
    pub(crate) fn narrow_run(&self, run: usize) -> Option<&[NarrowCell]> {
        self.narrow.run(run)
    }

    /// Resets a freed narrow slot, which nobody writes.
    pub(crate) fn zero_narrow(&self, slot: u32) {
        if let Some(c) = self.narrow.get(slot as usize) {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Adds `v` to the cell read as `f64` bits. Leaseholder only.
    #[inline]
    pub(crate) fn add_f64_owned(&self, loc: Loc, v: f64) {
        let c = self.cell(loc);
        let now = f64::from_bits(c.load(Ordering::Relaxed)) + v;
        c.store(now.to_bits(), Ordering::Relaxed);
    }

    /// Adds `n` with an atomic read-modify-write: safe from any thread.
    pub(crate) fn add_u64_atomic(&self, loc: Loc, n: u64) {
        self.cell(loc).fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `v` to the `f64` in the cell with a CAS loop: safe from any thread.
    pub(crate) fn add_f64_atomic(&self, loc: Loc, v: f64) {
        let c = self.cell(loc);
        let mut cur = c.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(cur) + v).to_bits();
            match c.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// The cell's raw value, `0` if this arena never touched the slot.
    #[inline]
    pub(crate) fn load(&self, slot: u32) -> u64 {
        self.cells
            .get(slot as usize)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// The cells of run `run` (slots `run * RUN ..`), `None` if this arena
    /// never touched that part of the slot space.
    #[inline]
    pub(crate) fn run(&self, run: usize) -> Option<&[AtomicU64]> {
        self.cells.run(run)
    }

    /// Resets the cell. Only called on a freed slot, which nobody writes.
    pub(crate) fn zero(&self, slot: u32) {
        if let Some(c) = self.cells.get(slot as usize) {
            c.store(0, Ordering::Relaxed);
        }
    }
}
