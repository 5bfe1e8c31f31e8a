//! The scrape-time merge: a series' value is the sum of its cells over every
//! arena (live, idle and shared).
//!
//! Why a scrape never sees a counter go down: each cell only grows (single
//! writer, non-negative increments), cells never move between arenas, and
//! freed slots belong to series no scrape can reach any more. Two scrapes in
//! a row read every cell in the same order, each read no older than the one
//! before, so each term, and so the sum, is no smaller.
//!
//! Histograms are merged bucket by bucket and `_count` is derived from the
//! buckets read, so `+Inf` bucket == count in every scrape by construction.

use crate::engine::Engine;

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

    /// `out[i]` = sum of the `u64` cells at `start + i`, arena by arena so a
    /// range that shares cache lines is read line by line.
    pub fn sum_range_u64(&self, start: u32, out: &mut [u64]) {
        out.fill(0);
        self.for_each_arena(|a| {
            for (slot, acc) in (start..).zip(out.iter_mut()) {
                *acc = acc.wrapping_add(a.load(slot));
            }
        });
    }
}
