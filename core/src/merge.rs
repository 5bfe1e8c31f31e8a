//! The scrape-time merge: a series' value is the sum of its cells over every
//! arena (live, idle and shared).
//!
//! Why a scrape never sees a counter go down: each cell only grows (single
//! writer, non-negative increments), cells never move between arenas, and
//! freed slots belong to series no scrape can reach any more. Scrapes of one
//! registry take turns (its scratch mutex), and two reads of one cell, in
//! turn, never see it go back (read-read coherence), so each term, and so
//! the sum, is no smaller.
//!
//! Histograms are merged bucket by bucket and `_count` is derived from the
//! buckets read, so `+Inf` bucket == count in every scrape by construction.
//! A histogram's `_sum` and a float counter (64-bit `f64` cells) are merged
//! block by block as well, as floats ([`MergedCells::f64`]).
//!
//! Histogram bucket counts live in narrow cells that spill into shared
//! cells (`spill.rs`): a count is the sum of its narrow cells and its spill
//! cell, read under the spill protocol so a spill racing the read is seen
//! whole or not at all; a cell that spilled is lower than before, but the
//! sum is not. A histogram's `_sum` and its buckets may each come from a
//! block merged earlier in the scrape, at different moments: within one
//! scrape `_sum` may include observations `_count` does not, or the other
//! way round, by the observations made while the scrape ran (each of them
//! only grows from scrape to scrape).
//!
//! **Block by block.** A scrape does not visit every arena once per series:
//! the first series it reads in a block of [`SPAN`] slots merges the whole
//! block, arena by arena (per arena, a few bucket-pointer loads and `SPAN`
//! sequential loads), into the [`MergedCells`] the registry keeps for its
//! scrapes, and the block's other series are read from there. The cost of a
//! scrape then grows with the bytes of the cells read once, in order, not
//! with arenas × series × pointer chases.

use crate::arena::Arena;
use crate::chunked::{MAX_INDEX, RUN};
use crate::engine::Engine;
use crate::sync::Ordering;

impl Engine {
    /// Wrapping sum of the `u64` cells at `slot` (also used for `i64` deltas).
    pub fn sum_u64(&self, slot: u32) -> u64 {
        let mut total = 0u64;
        self.for_each_arena(|a| total = total.wrapping_add(a.load(slot)));
        total
    }

    /// Sum of the `f64` cells at `slot`.
    pub fn sum_f64(&self, slot: u32) -> f64 {
        let mut total = 0.0;
        self.for_each_arena(|a| total += f64::from_bits(a.load(slot)));
        total
    }

    /// Wrapping sum of the narrow cells at `slot` and its spill cell: one
    /// bucket's count (the metrics read whole ranges; tests and the loom
    /// models read one slot).
    #[cfg(any(test, loom))]
    pub fn sum_narrow(&self, slot: u32) -> u64 {
        let mut total = [0u64];
        self.sum_range_narrow(slot, &mut total);
        total[0]
    }

    /// `out[i]` = [`sum_narrow`](Self::sum_narrow)`(start + i)`, read as
    /// one consistent range, each arena's part run by run (one bucket
    /// pointer load per `RUN` cells). Keeps no buffer: a summary's few
    /// thousand buckets are read this way rather than through
    /// `MergedCells`, whose blocks would hold 8 bytes per slot.
    pub fn sum_range_narrow(&self, start: u32, out: &mut [u64]) {
        self.spill().read(|| {
            for (slot, acc) in (start..).zip(out.iter_mut()) {
                *acc = self.spill().load(slot);
            }
            self.for_arena_pairs(|x, y| {
                let (mut slot, mut rest) = (start as usize, &mut *out);
                while !rest.is_empty() {
                    let (run, offset) = (slot / RUN, slot % RUN);
                    let (now, later) = rest.split_at_mut((RUN - offset).min(rest.len()));
                    let x = x.narrow_run(run).map(|c| &c[offset..]);
                    let y = y.and_then(|y| y.narrow_run(run)).map(|c| &c[offset..]);
                    add_runs(now, x, y, |c| u64::from(c.load(Ordering::Relaxed)));
                    slot += now.len();
                    rest = later;
                }
            });
        });
    }

    /// `out[i]` = wrapping sum of the `u64` cells at `block * SPAN + i` over
    /// every arena, each arena's block read in order before the next
    /// arena's. Meaningless for `f64` cells: [`sum_block_f64`](Self::sum_block_f64)
    /// adds those.
    fn sum_block_u64(&self, block: usize, out: &mut [u64]) {
        debug_assert_eq!(out.len(), SPAN);
        out.fill(0);
        let first = block * BLOCK;
        // The address space ends inside the last block.
        let runs = BLOCK.min(MAX_INDEX / RUN + 1 - first);
        self.for_arena_pairs(|x, y| {
            for (k, acc) in out.chunks_exact_mut(RUN).take(runs).enumerate() {
                let (x, y) = (x.run(first + k), y.and_then(|y| y.run(first + k)));
                add_runs(acc, x, y, |c| c.load(Ordering::Relaxed));
            }
        });
    }

    /// Calls `f` on the arenas two at a time, in [`for_each_arena`]'s
    /// order (the second `None` for an odd one out): a merge that reads two
    /// arenas' cells in one pass keeps more loads in flight, and stores
    /// its sums half as often (perf share of the wide block merge at 64
    /// writers: 30% -> 21% against the unchanged rest).
    ///
    /// [`for_each_arena`]: Engine::for_each_arena
    fn for_arena_pairs<'s>(&'s self, mut f: impl FnMut(&'s Arena, Option<&'s Arena>)) {
        let mut held = None;
        self.for_each_arena(|a| match held.take() {
            None => held = Some(a),
            Some(h) => f(h, Some(a)),
        });
        if let Some(h) = held {
            f(h, None);
        }
    }

    /// `out[i]` = the bits of the `f64` sum of the cells at `block * SPAN +
    /// i` over every arena, added in the order [`sum_f64`](Self::sum_f64)
    /// adds them, so a merged read equals a direct one bit for bit (a NaN
    /// aside: which NaN an addition of two returns, sign and payload, is
    /// up to the compiled order of its operands). Slots
    /// of the block that hold integers are summed as floats too: the
    /// result is never read for them.
    fn sum_block_f64(&self, block: usize, out: &mut [u64]) {
        debug_assert_eq!(out.len(), SPAN);
        out.fill(0.0f64.to_bits());
        let first = block * BLOCK;
        let runs = BLOCK.min(MAX_INDEX / RUN + 1 - first);
        self.for_each_arena(|a| {
            for (k, acc) in out.chunks_exact_mut(RUN).take(runs).enumerate() {
                if let Some(cells) = a.run(first + k) {
                    for (acc, cell) in acc.iter_mut().zip(cells) {
                        let sum =
                            f64::from_bits(*acc) + f64::from_bits(cell.load(Ordering::Relaxed));
                        *acc = sum.to_bits();
                    }
                }
            }
        });
    }

    /// `out[i]` = the count at narrow slot `block * SPAN + i` (cells over
    /// every arena, each arena's block read in order, plus spill cells).
    fn sum_block_narrow(&self, block: usize, out: &mut [u64]) {
        debug_assert_eq!(out.len(), SPAN);
        let first = block * BLOCK;
        let runs = BLOCK.min(MAX_INDEX / RUN + 1 - first);
        let start = (first * RUN) as u32;
        // The address space may end inside the last block: nothing lives
        // past it.
        let (live, past) = out.split_at_mut(runs * RUN);
        past.fill(0);
        self.sum_range_narrow(start, live);
    }
}

/// `acc[i]` += `x[i]` + `y[i]` (wrapping), either run maybe missing (an
/// arena without cells there): two arenas' runs of one range, read in one
/// pass.
#[inline(always)]
fn add_runs<T>(acc: &mut [u64], x: Option<&[T]>, y: Option<&[T]>, load: impl Fn(&T) -> u64) {
    match (x, y) {
        (Some(x), Some(y)) => {
            for ((acc, x), y) in acc.iter_mut().zip(x).zip(y) {
                *acc = acc.wrapping_add(load(x).wrapping_add(load(y)));
            }
        }
        (Some(c), None) | (None, Some(c)) => {
            for (acc, c) in acc.iter_mut().zip(c) {
                *acc = acc.wrapping_add(load(c));
            }
        }
        (None, None) => {}
    }
}

/// Runs merged together: long enough for each arena's part of a block to be
/// read as one stream. A scrape of a registry whose few series are spread
/// over many blocks merges each whole block for them; the buffers are kept
/// (8 bytes per slot of every block a registry's scrapes touched, for each
/// slot space) and never shrink. (One run under loom, to keep the modelled
/// state small.)
#[cfg(not(loom))]
const BLOCK: usize = 8;
#[cfg(loom)]
const BLOCK: usize = 1;
/// Slots per merged block.
pub(crate) const SPAN: usize = BLOCK * RUN;

impl Engine {
    #[cfg(test)]
    fn merged_narrow_block_for_tests(&self, block: usize) -> Vec<u64> {
        let mut out = vec![0; SPAN];
        self.sum_block_narrow(block, &mut out);
        out
    }
}

/// A scrape's merged counts (64-bit cells; narrow cells and their spill),
/// one block at a time, kept by a registry
/// between scrapes so steady-state scrapes allocate nothing.
///
/// Reads are only merged while a scrape is [`begin`](Self::begin)-ned and
/// not [`direct`](Self::direct); otherwise they go to the engine cell by
/// cell. A block merged earlier in the same scrape is reused unless a slot
/// range was freed since (a new series may have taken it over: its cells
/// were zeroed, and the merged sums would still hold the old series'
/// values). A series created during the scrape in a block merged before it
/// reads the block's sums from before its first writes: an earlier reading,
/// never a wrong or a lower one.
#[derive(Default)]
pub(crate) struct MergedCells {
    /// The number of the last scrape begun (never 0 once one was).
    last: u32,
    /// Whether reads are merged: between `begin` and `end`, outside
    /// [`direct`](Self::direct).
    merging: bool,
    /// Blocks of 64-bit slots (counters).
    blocks: Vec<Option<MergedBlock>>,
    /// Blocks of narrow slots (histogram buckets).
    narrow_blocks: Vec<Option<MergedBlock>>,
    /// Blocks of 64-bit slots summed as `f64` (histogram sums, float
    /// counters), as bits.
    float_blocks: Vec<Option<MergedBlock>>,
}

/// Which slot space a block belongs to.
#[derive(Clone, Copy)]
enum Space {
    Wide,
    Narrow,
    Float,
}

struct MergedBlock {
    /// The scrape that merged the block.
    epoch: u32,
    /// [`Engine::frees`] before the block was merged.
    frees: u64,
    /// [`SPAN`] sums.
    sums: Box<[u64]>,
}

impl MergedCells {
    /// Starts a scrape: every block is merged again on its first read.
    pub(crate) fn begin(&mut self) {
        self.last = self.last.wrapping_add(1);
        if self.last == 0 {
            // Wrapped: forget every block's scrape so none passes for current.
            self.blocks
                .iter_mut()
                .chain(&mut self.narrow_blocks)
                .chain(&mut self.float_blocks)
                .flatten()
                .for_each(|b| b.epoch = 0);
            self.last = 1;
        }
        self.merging = true;
    }

    /// Ends the scrape: reads go to the engine until the next `begin`.
    pub(crate) fn end(&mut self) {
        self.merging = false;
    }

    /// Reads go to the engine cell by cell (an expiry check that must see
    /// every write made before it looked) until [`resume`](Self::resume);
    /// returns whether they were merged.
    pub(crate) fn direct(&mut self) -> bool {
        std::mem::replace(&mut self.merging, false)
    }

    /// Goes back to what [`direct`](Self::direct) returned.
    pub(crate) fn resume(&mut self, merging: bool) {
        self.merging = merging;
    }

    /// The count at narrow slot `slot` (see [`Engine::sum_narrow`]).
    #[inline]
    #[cfg(any(test, loom))]
    pub(crate) fn narrow(&mut self, engine: &Engine, slot: u32) -> u64 {
        if !self.merging {
            return engine.sum_narrow(slot);
        }
        let at = slot as usize;
        match self.block(engine, Space::Narrow, at / SPAN) {
            Some(sums) => sums[at % SPAN],
            None => engine.sum_narrow(slot),
        }
    }

    /// The wrapping sum of the 64-bit cells at `slot` (a counter).
    #[inline]
    pub(crate) fn u64(&mut self, engine: &Engine, slot: u32) -> u64 {
        if !self.merging {
            return engine.sum_u64(slot);
        }
        let at = slot as usize;
        match self.block(engine, Space::Wide, at / SPAN) {
            Some(sums) => sums[at % SPAN],
            None => engine.sum_u64(slot),
        }
    }

    /// The sum of the `f64` cells at `slot` (a histogram's sum, a float
    /// counter), equal bit for bit to [`Engine::sum_f64`] over the same
    /// cells (a NaN is a NaN in both, its sign and payload maybe not the
    /// same).
    #[inline]
    pub(crate) fn f64(&mut self, engine: &Engine, slot: u32) -> f64 {
        if !self.merging {
            return engine.sum_f64(slot);
        }
        let at = slot as usize;
        match self.block(engine, Space::Float, at / SPAN) {
            Some(sums) => f64::from_bits(sums[at % SPAN]),
            None => engine.sum_f64(slot),
        }
    }

    /// `out[i]` = the count at narrow slot `start + i`.
    pub(crate) fn range_narrow(&mut self, engine: &Engine, start: u32, out: &mut [u64]) {
        if !self.merging {
            return engine.sum_range_narrow(start, out);
        }
        let mut slot = start as usize;
        let mut rest = out;
        while !rest.is_empty() {
            let (block, offset) = (slot / SPAN, slot % SPAN);
            let take = (SPAN - offset).min(rest.len());
            let (now, later) = rest.split_at_mut(take);
            match self.block(engine, Space::Narrow, block) {
                Some(sums) => now.copy_from_slice(&sums[offset..offset + take]),
                // `slot < 2^32`: it came from a `u32`.
                None => engine.sum_range_narrow(slot as u32, now),
            }
            rest = later;
            slot += take;
        }
    }

    /// Block `block`'s sums, merged now unless this scrape merged it
    /// already; `None` when it did but a range was freed since (a slot of
    /// it may have a new series): the caller reads the cells directly then,
    /// for the rest of the scrape, rather than merging the block again on
    /// every free (a churning process would pay a block per series read).
    fn block(&mut self, engine: &Engine, space: Space, block: usize) -> Option<&[u64]> {
        // Read before the cells (Acquire, pairing with `free`'s Release):
        // a free this load misses shows as a changed count on a later read.
        let frees = engine.frees();
        let blocks = match space {
            Space::Wide => &mut self.blocks,
            Space::Narrow => &mut self.narrow_blocks,
            Space::Float => &mut self.float_blocks,
        };
        if blocks.len() <= block {
            blocks.resize_with(block + 1, || None);
        }
        let merged = blocks[block].get_or_insert_with(|| MergedBlock {
            epoch: 0,
            frees: 0,
            sums: vec![0; SPAN].into_boxed_slice(),
        });
        if merged.epoch == self.last && merged.frees != frees {
            return None;
        }
        if merged.epoch != self.last {
            match space {
                Space::Wide => engine.sum_block_u64(block, &mut merged.sums),
                Space::Narrow => engine.sum_block_narrow(block, &mut merged.sums),
                Space::Float => engine.sum_block_f64(block, &mut merged.sums),
            }
            merged.epoch = self.last;
            merged.frees = frees;
        }
        Some(&merged.sums)
    }
}

impl std::fmt::Debug for MergedCells {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergedCells")
            .field("last", &self.last)
            .field("merging", &self.merging)
            .field("blocks", &self.blocks.iter().flatten().count())
            .field(
                "narrow_blocks",
                &self.narrow_blocks.iter().flatten().count(),
            )
            .field("float_blocks", &self.float_blocks.iter().flatten().count())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::engine::Lease;
    use crate::spill::NARROW_MAX;

    fn add(engine: &Engine, lease: &Lease<'_>, slot: u32, n: u64) {
        lease
            .arena()
            .add_narrow_owned(crate::chunked::Loc::of(slot), n, || engine.spill());
    }

    /// An engine with `n` narrow slots, slot `i` written `i * 3` by one
    /// thread and `i` by another.
    fn engine_with(n: u32) -> (Engine, Vec<u32>) {
        let engine = Engine::new();
        let slots: Vec<u32> = (0..n)
            .map(|_| engine.alloc_narrow(1).expect("slots"))
            .collect();
        std::thread::scope(|s| {
            for k in [3u64, 1] {
                let (engine, slots) = (&engine, &slots);
                s.spawn(move || {
                    let lease = engine.lease();
                    for (i, &slot) in slots.iter().enumerate() {
                        add(engine, &lease, slot, i as u64 * k);
                    }
                });
            }
        });
        (engine, slots)
    }

    #[test]
    fn merged_reads_equal_direct_reads_and_follow_later_writes() {
        let (engine, slots) = engine_with(300);
        let mut view = MergedCells::default();
        for round in 0..3u64 {
            view.begin();
            for (i, &slot) in slots.iter().enumerate() {
                assert_eq!(view.narrow(&engine, slot), engine.sum_narrow(slot));
                assert_eq!(view.narrow(&engine, slot), i as u64 * 4 + round);
            }
            let mut range = [0u64; 150];
            view.range_narrow(&engine, slots[70], &mut range);
            let mut direct = [0u64; 150];
            engine.sum_range_narrow(slots[70], &mut direct);
            assert_eq!(range, direct, "a range across blocks");
            view.end();
            // Written between scrapes: the next scrape merges again.
            let lease = engine.lease();
            for &slot in &slots {
                add(&engine, &lease, slot, 1);
            }
        }
    }

    /// The merge reads arenas two at a time: with an even or odd number of
    /// them (the shared one included), some missing runs the others hold,
    /// every slot's merged count is what the threads added.
    #[test]
    fn merges_over_any_number_of_arenas_are_exact() {
        for threads in 1..=5u64 {
            let engine = Engine::new();
            let n = SPAN as u32 + 70;
            let wide: Vec<u32> = (0..n).map(|_| engine.alloc(1).expect("slots")).collect();
            let narrow: Vec<u32> = (0..n)
                .map(|_| engine.alloc_narrow(1).expect("slots"))
                .collect();
            // Every thread holds its lease until all have written: one
            // arena each.
            let all = std::sync::Barrier::new(threads as usize);
            std::thread::scope(|s| {
                for t in 1..=threads {
                    let (engine, wide, narrow, all) = (&engine, &wide, &narrow, &all);
                    s.spawn(move || {
                        let lease = engine.lease();
                        all.wait();
                        // Thread 2 writes only the first block.
                        let len = if t == 2 { SPAN } else { wide.len() };
                        for i in 0..len {
                            let n = (i as u64 + 1) * t;
                            let loc = crate::chunked::Loc::of(wide[i]);
                            lease.arena().add_u64_owned(loc, n);
                            add(engine, &lease, narrow[i], n);
                        }
                        all.wait();
                    });
                }
            });
            assert_eq!(engine.arena_count(), threads as usize);
            let expected = |i: usize| {
                let all = (1..=threads).filter(|&t| t != 2 || i < SPAN);
                all.map(|t| (i as u64 + 1) * t).sum::<u64>()
            };
            let mut view = MergedCells::default();
            view.begin();
            let mut range = vec![0; n as usize];
            view.range_narrow(&engine, narrow[0], &mut range);
            for i in 0..n as usize {
                assert_eq!(
                    view.u64(&engine, wide[i]),
                    expected(i),
                    "{threads} threads, wide {i}"
                );
                assert_eq!(range[i], expected(i), "{threads} threads, narrow {i}");
            }
            view.end();
        }
    }

    /// Float sums merged by block equal the direct sums bit for bit (NaNs
    /// are NaNs), over arenas that hold some runs and not others, integer
    /// slots in the same block, NaNs and infinities, and a slot freed and
    /// taken again during the scrape.
    #[test]
    fn merged_float_reads_equal_direct_reads_bit_for_bit() {
        let engine = Engine::new();
        // Across three blocks; every fourth slot holds an integer.
        let slots: Vec<u32> = (0..2 * SPAN as u32 + 9)
            .map(|_| engine.alloc(1).expect("slots"))
            .collect();
        let value = |i: usize, k: usize| match (i + k) % 7 {
            0 => 0.1 * i as f64,
            1 => 1e300,
            2 => -1e-300,
            3 => f64::from_bits(1 + i as u64), // subnormal
            4 if i.is_multiple_of(9) => f64::NAN,
            5 if i.is_multiple_of(11) => f64::INFINITY,
            _ => 3.0e16 + k as f64,
        };
        let all = std::sync::Barrier::new(3);
        std::thread::scope(|s| {
            for k in 0..3 {
                let (engine, slots, all) = (&engine, &slots, &all);
                s.spawn(move || {
                    let lease = engine.lease();
                    all.wait();
                    // The second thread writes only the first block: its
                    // arena has no run past it.
                    let n = if k == 1 { SPAN } else { slots.len() };
                    for (i, &slot) in slots.iter().enumerate().take(n) {
                        let loc = crate::chunked::Loc::of(slot);
                        if i % 4 == 3 {
                            lease.arena().add_u64_owned(loc, 7 + i as u64);
                        } else {
                            lease.arena().add_f64_owned(loc, value(i, k));
                        }
                    }
                    all.wait();
                });
            }
        });
        assert_eq!(engine.arena_count(), 3);
        let mut view = MergedCells::default();
        view.begin();
        for (i, &slot) in slots.iter().enumerate() {
            if i % 4 != 3 {
                let (merged, direct) = (view.f64(&engine, slot), engine.sum_f64(slot));
                // Which NaN an addition returns is up to the compiler.
                let same =
                    merged.to_bits() == direct.to_bits() || merged.is_nan() && direct.is_nan();
                assert!(same, "slot {i}: {merged} against {direct}");
            } else {
                assert_eq!(view.u64(&engine, slot), engine.sum_u64(slot), "slot {i}");
            }
        }
        // A slot freed and taken again: its new cells, not the block's sum.
        engine.free(slots[5], 1);
        assert_eq!(engine.alloc(1), Some(slots[5]));
        let lease = engine.lease();
        lease
            .arena()
            .add_f64_owned(crate::chunked::Loc::of(slots[5]), 0.5);
        assert_eq!(view.f64(&engine, slots[5]), 0.5);
        view.end();
        // Outside a scrape, reads go to the cells.
        lease
            .arena()
            .add_f64_owned(crate::chunked::Loc::of(slots[6]), 0.25);
        assert_eq!(view.f64(&engine, slots[6]), engine.sum_f64(slots[6]));
    }

    #[test]
    fn a_block_is_the_sum_of_its_cells_in_every_arena() {
        let (engine, slots) = engine_with(2 * SPAN as u32 + 5);
        for block in 0..3 {
            let merged = engine.merged_narrow_block_for_tests(block);
            for (i, &sum) in merged.iter().enumerate() {
                assert_eq!(sum, engine.sum_narrow((block * SPAN + i) as u32));
            }
        }
        assert_eq!(
            engine.merged_narrow_block_for_tests(1)[7],
            slots[SPAN + 7] as u64 * 4
        );
    }

    #[test]
    fn counts_past_a_narrow_cell_spill_and_stay_exact() {
        let engine = Engine::new();
        let slot = engine.alloc_narrow(1).expect("slots");
        let big = engine.alloc_narrow(1).expect("slots");
        let lease = engine.lease();
        // Up to the brim, then one more: the cell spills all it held.
        add(&engine, &lease, slot, NARROW_MAX - 1);
        add(&engine, &lease, slot, 1);
        assert_eq!(engine.spill().load(slot), 0, "a full cell has not spilled");
        add(&engine, &lease, slot, 1);
        assert_eq!(engine.spill().load(slot), NARROW_MAX + 1);
        for _ in 0..7 {
            add(&engine, &lease, slot, 1);
        }
        add(&engine, &lease, slot, 2 * NARROW_MAX);
        assert_eq!(engine.sum_narrow(slot), 3 * NARROW_MAX + 8);
        // Increments a cell cannot hold, and wrapping as a u64 counter.
        add(&engine, &lease, big, u64::MAX);
        add(&engine, &lease, big, 2);
        assert_eq!(engine.sum_narrow(big), 1);
        // A freed slot starts from zero, spill cell included.
        engine.free_narrow(slot, 1);
        assert_eq!(engine.alloc_narrow(1), Some(slot));
        assert_eq!(engine.sum_narrow(slot), 0);
    }

    /// Writers push their cells through a spill every few adds while a
    /// reader reads the range merged: no read of a slot goes down or passes
    /// what was added (a spill seen half would do one or the other), and
    /// the totals are exact.
    #[test]
    fn spills_racing_reads_stay_exact() {
        const WRITERS: u64 = 4;
        const ADDS: u64 = 20_000;
        let step = NARROW_MAX / 3;
        let engine = Engine::new();
        let start = engine.alloc_narrow(2).expect("slots");
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut view = MergedCells::default();
                let (mut last, mut reads) = ([0u64; 2], 0u64);
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut range = [0u64; 2];
                    view.begin();
                    view.range_narrow(&engine, start, &mut range);
                    view.end();
                    for (now, before) in range.iter().zip(&last) {
                        assert!(now >= before, "went down: {before} -> {now}");
                        assert!(*now <= WRITERS * ADDS * step, "counted twice: {now}");
                    }
                    last = range;
                    reads += 1;
                }
                reads
            });
            let writers: Vec<_> = (0..WRITERS)
                .map(|_| {
                    let engine = &engine;
                    s.spawn(move || {
                        let lease = engine.lease();
                        for _ in 0..ADDS {
                            add(engine, &lease, start, step);
                            add(engine, &lease, start + 1, step);
                        }
                    })
                })
                .collect();
            writers.into_iter().for_each(|w| w.join().expect("writer"));
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            assert!(reader.join().expect("reader") > 0);
        });
        let mut range = [0u64; 2];
        engine.sum_range_narrow(start, &mut range);
        assert_eq!(range, [WRITERS * ADDS * step; 2]);
    }

    #[test]
    fn a_range_freed_and_reused_during_a_scrape_reads_its_new_cells() {
        let (engine, slots) = engine_with(10);
        let mut view = MergedCells::default();
        view.begin();
        assert_eq!(view.narrow(&engine, slots[5]), 20, "merges the block");
        // Series 5 goes, a new one takes its slot and is written once.
        engine.free_narrow(slots[5], 1);
        let reused = engine.alloc_narrow(1).expect("slots");
        assert_eq!(reused, slots[5]);
        add(&engine, &engine.lease(), reused, 1);
        assert_eq!(view.narrow(&engine, reused), 1, "not the old series' 20");
        // Since the free, the block's other slots are read directly too.
        add(&engine, &engine.lease(), slots[6], 1);
        assert_eq!(view.narrow(&engine, slots[6]), 25);
        let mut range = [0; 3];
        view.range_narrow(&engine, slots[5], &mut range);
        assert_eq!(range, [1, 25, 28]);
        view.end();
    }

    #[test]
    fn direct_reads_see_later_writes_and_resume_goes_back_to_the_block() {
        let (engine, slots) = engine_with(10);
        let mut view = MergedCells::default();
        view.begin();
        assert_eq!(view.narrow(&engine, slots[6]), 24, "merges the block");
        add(&engine, &engine.lease(), slots[6], 1);
        let merging = view.direct();
        assert_eq!(view.narrow(&engine, slots[6]), 25);
        view.resume(merging);
        assert_eq!(
            view.narrow(&engine, slots[6]),
            24,
            "the block merged before"
        );
        view.end();
        assert_eq!(view.narrow(&engine, slots[6]), 25, "outside a scrape");
    }
}
