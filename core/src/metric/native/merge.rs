//! The scrape side: every shard read whole, lowered to the smallest schema
//! among them, zero buckets widened to the widest, summed; then spans and
//! deltas as the protobuf exposition wants them. All buffers live in
//! [`NativeScratch`] and are reused from scrape to scrape.

use super::Native;
use super::key::{MIN_SCHEMA, lower, upper_bound};
use super::shard::{PAGE, RunRange, RunsRead, ShardRead};
use crate::exemplar::Exemplar;
use crate::visit::BucketSpan;

/// Reused buffers of the native merge.
#[derive(Debug, Default)]
pub(crate) struct NativeScratch {
    shards: Vec<ShardRead>,
    shard_classic: Vec<u64>,
    /// Every shard's classic counts, one after another.
    classic: Vec<u64>,
    /// Every shard's runs, as read.
    runs: RunsRead,
    /// Counts by key while the shards' pairs are summed ([`gather`]).
    dense: Vec<u64>,
    pub(crate) positive: Vec<(i32, u64)>,
    pub(crate) negative: Vec<(i32, u64)>,
    pub(crate) positive_spans: Vec<BucketSpan>,
    pub(crate) positive_deltas: Vec<i64>,
    pub(crate) negative_spans: Vec<BucketSpan>,
    pub(crate) negative_deltas: Vec<i64>,
    pub(crate) exemplars: Vec<Exemplar>,
    /// Scratch for an exemplar cell's copy.
    pub(crate) exemplar_bytes: Vec<u8>,
}

/// The merged scalars (the buckets are in the scratch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Merged {
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    pub(crate) zero: u64,
    /// Every observation: zero bucket, buckets and NaNs.
    pub(crate) count: u64,
    pub(crate) sum: f64,
}

impl NativeScratch {
    /// Drops the exemplars held since the last scrape (keeps the buffers).
    pub(crate) fn release(&mut self) {
        self.exemplars.clear();
    }
}

impl Native {
    /// Merges every shard: classic counts added into `classic` (which has
    /// the series' classic length), the native buckets left in `scratch`.
    /// With classic buckets, observations a shard had counted natively but
    /// not yet classically are put in the `+Inf` bucket, so the classic
    /// buckets add up to the same count (they move to their own bucket by
    /// the next scrape; cumulative counts never go down).
    pub(crate) fn merge(&self, classic: &mut [u64], scratch: &mut NativeScratch) -> Merged {
        let s = scratch;
        // The ring first: a shard read after it covers each exemplar's
        // observation (recorded before the exemplar, published by the
        // cell's Release count), unless a reset cleared it since.
        self.exemplars_into(&mut s.exemplars, &mut s.exemplar_bytes);
        s.shards.clear();
        s.runs.clear();
        s.classic.clear();
        let mut epoch = self.epoch();
        for shard in self.shards.iter() {
            let read = shard.read(&mut s.shard_classic, &mut s.runs);
            epoch = epoch.max(read.epoch);
            s.classic.extend_from_slice(&s.shard_classic);
            s.shards.push(read);
        }
        // Only the newest epoch counts: older shards hold data from before
        // a reset that their threads have not cleared yet.
        classic.iter_mut().for_each(|c| *c = 0);
        let mut sum = 0.0;
        let n = self.classic_len;
        for (i, r) in s.shards.iter_mut().enumerate() {
            if r.epoch != epoch {
                *r = ShardRead::default();
                continue;
            }
            for (out, c) in classic.iter_mut().zip(&s.classic[i * n..(i + 1) * n]) {
                *out += c;
            }
            sum += r.sum;
        }
        let config = self.config();
        let holds_data =
            |r: &&ShardRead| !r.positive.is_empty() || !r.negative.is_empty() || r.zero > 0;
        let schema = s
            .shards
            .iter()
            .filter(holds_data)
            .map(|r| r.schema)
            .min()
            .unwrap_or(config.schema);
        let mut zero_threshold = s
            .shards
            .iter()
            .filter(holds_data)
            .map(|r| r.zero_threshold)
            .fold(config.zero_threshold, f64::max);
        let mut zero = 0;
        let mut count = 0;
        for r in &s.shards {
            zero += r.zero;
            count += r.zero + r.nan;
        }
        let runs = |pick: fn(&ShardRead) -> RunRange| {
            s.shards
                .iter()
                .map(move |r| (pick(r), (r.schema - schema) as u32))
        };
        count += gather(&s.runs, runs(|r| r.positive), &mut s.dense, &mut s.positive);
        count += gather(&s.runs, runs(|r| r.negative), &mut s.dense, &mut s.negative);
        // Buckets that reach into the (widest) zero bucket join it, and it
        // widens to their upper bound, as Prometheus reconciles zero
        // buckets when it adds histograms. Then, while the merged series
        // holds more than `max_buckets` buckets (each thread keeps its own
        // within it, not their union), the resolution halves.
        let mut schema = schema;
        loop {
            fold_into_zero(s, schema, &mut zero, &mut zero_threshold);
            let buckets = s.positive.len() + s.negative.len();
            if config.max_buckets == 0
                || buckets <= config.max_buckets as usize
                || schema == MIN_SCHEMA
            {
                break;
            }
            for run in [&mut s.positive, &mut s.negative] {
                run.iter_mut().for_each(|e| e.0 = lower(e.0, 1));
                // Still sorted: lowering keeps the order.
                dedup_sorted(run);
            }
            schema -= 1;
        }
        let seen: u64 = classic.iter().sum();
        if let Some(inf) = classic.last_mut() {
            // `seen <= count`: see `shard.rs` (the classic read comes first).
            *inf += count.saturating_sub(seen);
        }
        Merged {
            schema,
            zero_threshold,
            zero,
            count,
            sum,
        }
    }
}

impl Native {
    /// The classic counts (added into `classic`), count and sum, without
    /// the native buckets: what a scrape that skips them
    /// ([`MetricVisitor::wants_native`](crate::MetricVisitor::wants_native))
    /// reads. The same totals as [`merge`](Self::merge), from each shard's
    /// own count, so they do not depend on the native merge; observations
    /// in flight go to `+Inf` the same way.
    pub(crate) fn totals(&self, classic: &mut [u64], scratch: &mut NativeScratch) -> (u64, f64) {
        let s = scratch;
        classic.iter_mut().for_each(|c| *c = 0);
        let mut epoch = self.epoch();
        let (mut count, mut sum) = (0, 0.0);
        for shard in self.shards.iter() {
            let read = shard.read_totals(&mut s.shard_classic);
            if read.epoch < epoch {
                continue;
            }
            if read.epoch > epoch {
                // A reset since the shards added so far: they are stale.
                epoch = read.epoch;
                classic.iter_mut().for_each(|c| *c = 0);
                (count, sum) = (0, 0.0);
            }
            for (out, c) in classic.iter_mut().zip(&s.shard_classic) {
                *out += c;
            }
            count += read.count;
            sum += read.sum;
        }
        let seen: u64 = classic.iter().sum();
        if let Some(inf) = classic.last_mut() {
            // `seen <= count`: see `shard.rs` (the classic read comes first).
            *inf += count.saturating_sub(seen);
        }
        (count, sum)
    }
}

/// Keys above the lowest of a merge that are summed in the dense array;
/// keys further up (the `±Inf` bucket, far outliers) are sorted apart.
const DENSE_SPAN: usize = 4096;

/// Puts the counts of the shards' runs of one sign (each a [`RunRange`]
/// of `read`, with the schema steps to lower its keys by) into `out`,
/// sorted by key with equal keys summed, and returns their total count.
///
/// The counts are summed in `dense`, one slot per key from the lowest
/// (reused from scrape to scrape, at most [`DENSE_SPAN`] slots, 32 KiB),
/// and read out in key order; sorting every shard's pairs together (what
/// this replaced first) cost `n log n` in all the shards' buckets. A page
/// of a run at the merged schema is added as a whole ([`PAGE`] slots, no
/// test per cell); pages to lower are added cell by cell. Keys more than
/// `DENSE_SPAN` above the lowest (the `±Inf` bucket, far outliers) are
/// sorted apart.
fn gather(
    read: &RunsRead,
    runs: impl Iterator<Item = (RunRange, u32)> + Clone,
    dense: &mut Vec<u64>,
    out: &mut Vec<(i32, u64)>,
) -> u64 {
    out.clear();
    // Lowering keeps the order, so a run's first page's first key and its
    // last page's last key lower to the lowest and highest of its lowered
    // keys (or beyond them), as do its first and last pairs.
    let mut bounds = None::<(i32, i32)>;
    let mut widen = |lo: i32, hi: i32| {
        bounds = Some(bounds.map_or((lo, hi), |(l, h)| (l.min(lo), h.max(hi))));
    };
    for (run, by) in runs.clone() {
        let keys = &read.keys[run.pages.0..run.pages.1];
        debug_assert!(keys.windows(2).all(|w| w[0] < w[1]), "pages in key order");
        if let (Some(&first), Some(&last)) = (keys.first(), keys.last()) {
            let last = last.saturating_add(PAGE as i32 - 1);
            widen(lower(first, by), lower(last, by));
        }
        let pairs = &read.pairs[run.pairs.0..run.pairs.1];
        if let (Some(first), Some(last)) = (pairs.first(), pairs.last()) {
            widen(lower(first.0, by), lower(last.0, by));
        }
    }
    let Some((lowest, highest)) = bounds else {
        return 0;
    };
    // Both `i32`: no overflow in `i64`.
    let span = i64::from(highest) - i64::from(lowest) + 1;
    let near = usize::try_from(span).map_or(DENSE_SPAN, |s| s.min(DENSE_SPAN));
    // Zeroed between calls: only the slots used are read out (and zeroed).
    if dense.len() < near {
        dense.resize(near, 0);
    }
    let mut sums = Dense {
        slots: &mut dense[..near],
        lowest,
        used: 0,
        count: 0,
    };
    for (run, by) in runs {
        for p in run.pages.0..run.pages.1 {
            let (first, cells) = (read.keys[p], read.page(p));
            if by == 0 && sums.add_page(first, cells) {
                continue;
            }
            for (j, &c) in cells.iter().enumerate() {
                if c > 0 {
                    let k = first.wrapping_add(j as i32);
                    sums.add(if by == 0 { k } else { lower(k, by) }, c, out);
                }
            }
        }
        for &(k, c) in &read.pairs[run.pairs.0..run.pairs.1] {
            sums.add(if by == 0 { k } else { lower(k, by) }, c, out);
        }
    }
    let Dense { used, count, .. } = sums;
    let far = out.len();
    for (i, slot) in dense[..used].iter_mut().enumerate() {
        if *slot > 0 {
            // `i < DENSE_SPAN`: fits an `i32` above `lowest`.
            out.push((lowest + i as i32, std::mem::take(slot)));
        }
    }
    // The dense keys first (each below every far one), then the far ones
    // sorted; equal far keys are next to each other.
    out.rotate_left(far);
    let near = out.len() - far;
    out[near..].sort_unstable_by_key(|&(k, _)| k);
    dedup_sorted(out);
    count
}

/// [`gather`]'s sums by key: slot `i` counts key `lowest + i`.
struct Dense<'a> {
    slots: &'a mut [u64],
    lowest: i32,
    /// Slots from here on are still zero.
    used: usize,
    /// Every count added, dense or not.
    count: u64,
}

impl Dense<'_> {
    /// Adds `c` at key `k` (at least `lowest`), or pushes the pair to `far`
    /// when `k` is past the slots.
    fn add(&mut self, k: i32, c: u64, far: &mut Vec<(i32, u64)>) {
        self.count += c;
        let i = (i64::from(k) - i64::from(self.lowest)) as usize;
        match self.slots.get_mut(i) {
            Some(slot) => {
                *slot += c;
                self.used = self.used.max(i + 1);
            }
            None => far.push((k, c)),
        }
    }

    /// Adds the [`PAGE`] counts of keys `first..` as a whole when the
    /// slots hold them all; whether they did.
    fn add_page(&mut self, first: i32, cells: &[u64]) -> bool {
        let i = (i64::from(first) - i64::from(self.lowest)) as usize;
        let Some(slots) = i
            .checked_add(PAGE)
            .and_then(|end| self.slots.get_mut(i..end))
        else {
            return false;
        };
        for (slot, c) in slots.iter_mut().zip(cells) {
            *slot += c;
        }
        self.count += cells.iter().sum::<u64>();
        self.used = self.used.max(i + PAGE);
        true
    }
}

/// Adds up the counts of equal keys, which are next to each other.
fn dedup_sorted(v: &mut Vec<(i32, u64)>) {
    v.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
}

/// Moves the lowest buckets that reach into the zero bucket into it,
/// widening it to their upper bound, until none does.
fn fold_into_zero(s: &mut NativeScratch, schema: i32, zero: &mut u64, threshold: &mut f64) {
    loop {
        let mut moved = false;
        for run in [&mut s.positive, &mut s.negative] {
            let inside = run
                .iter()
                .take_while(|&&(k, _)| upper_bound(k - 1, schema) < *threshold)
                .count();
            for &(k, c) in &run[..inside] {
                *zero += c;
                *threshold = threshold.max(upper_bound(k, schema));
            }
            run.drain(..inside);
            moved |= inside > 0;
        }
        if !moved {
            break;
        }
    }
}

/// Spans and deltas of sorted `(key, count)` pairs, as client_golang's
/// `makeBuckets` writes them: gaps of one or two empty buckets are filled
/// with zeros instead of starting a new span.
pub(crate) fn spans(buckets: &[(i32, u64)], spans: &mut Vec<BucketSpan>, deltas: &mut Vec<i64>) {
    spans.clear();
    deltas.clear();
    let mut prev = 0i64;
    let mut next_key = 0i32;
    for (n, &(k, c)) in buckets.iter().enumerate() {
        let gap = k - next_key;
        if n == 0 || gap > 2 {
            spans.push(BucketSpan {
                offset: gap,
                length: 0,
            });
        } else {
            for _ in 0..gap {
                deltas.push(-prev);
                prev = 0;
                if let Some(s) = spans.last_mut() {
                    s.length += 1;
                }
            }
        }
        let c = c as i64;
        deltas.push(c - prev);
        prev = c;
        if let Some(s) = spans.last_mut() {
            s.length += 1;
        }
        next_key = k + 1;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `gather` replaced: every count lowered, sorted, equal keys
    /// summed.
    fn sorted(read: &RunsRead, runs: &[(RunRange, u32)]) -> (Vec<(i32, u64)>, u64) {
        let mut v = Vec::new();
        for &(run, by) in runs {
            for p in run.pages.0..run.pages.1 {
                for (j, &c) in read.page(p).iter().enumerate() {
                    if c > 0 {
                        v.push((lower(read.keys[p] + j as i32, by), c));
                    }
                }
            }
            for &(k, c) in &read.pairs[run.pairs.0..run.pairs.1] {
                v.push((lower(k, by), c));
            }
        }
        v.sort_unstable_by_key(|&(k, _)| k);
        dedup_sorted(&mut v);
        let count = v.iter().map(|&(_, c)| c).sum();
        (v, count)
    }

    /// A page at the merged schema that straddles the end of the dense
    /// span: its first cells summed densely, the rest sorted apart.
    #[test]
    fn a_page_across_the_dense_span_is_split() {
        let mut read = RunsRead::default();
        let mut cells = vec![0u64; PAGE];
        cells[0] = 1;
        read.keys.push(0);
        read.counts.extend_from_slice(&cells);
        let straddle = DENSE_SPAN as i32 - 16;
        read.keys.push(straddle);
        read.counts.extend((1..=PAGE as u64).map(|c| c * 10));
        let runs = [
            (
                RunRange {
                    pages: (0, 1),
                    pairs: (0, 0),
                },
                0,
            ),
            (
                RunRange {
                    pages: (1, 2),
                    pairs: (0, 0),
                },
                0,
            ),
        ];
        let (mut dense, mut out) = (Vec::new(), Vec::new());
        let count = gather(&read, runs.iter().cloned(), &mut dense, &mut out);
        assert_eq!((out.clone(), count), sorted(&read, &runs));
        assert_eq!(out.len(), 1 + PAGE);
        assert_eq!(out[16], (DENSE_SPAN as i32 - 1, 160));
        assert_eq!(out[17], (DENSE_SPAN as i32, 170));
        assert!(dense.iter().all(|&c| c == 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Runs based anywhere (near each other, far apart, past the dense
        /// span, at the extremes), their pages sparse and partly empty, with
        /// pairs far above them (as `±Inf`'s 8193 at schema 3), lowered by
        /// 0..3 schema steps; the dense array reused across calls.
        #[test]
        fn gather_equals_a_sort(
            shards in proptest::collection::vec(
                (
                    prop_oneof![
                        -200i32..200,
                        // Pages that straddle the end of the dense span.
                        DENSE_SPAN as i32 - 64..DENSE_SPAN as i32 + 32,
                        -300_000i32..300_000,
                        Just(-2_000_000),
                    ],
                    proptest::collection::vec(
                        (0usize..12, proptest::collection::vec(prop_oneof![Just(0u64), 1u64..1000], PAGE)),
                        0..5,
                    ),
                    proptest::collection::vec((prop_oneof![Just(8193i32), 300_000i32..400_000], 1u64..1000), 0..3),
                    0u32..3,
                ),
                0..8,
            ),
        ) {
            let mut read = RunsRead::default();
            let mut runs = Vec::new();
            for (base, pages, pairs, by) in &shards {
                let (from, pairs_from) = (read.keys.len(), read.pairs.len());
                // As a shard reads its run: pages in key order, each once,
                // each holding a count; pairs by key.
                let mut pages = pages.clone();
                pages.sort_unstable_by_key(|p| p.0);
                pages.dedup_by_key(|p| p.0);
                for (p, cells) in pages.iter().filter(|(_, c)| c.iter().any(|&c| c > 0)) {
                    read.keys.push(base + (p * PAGE) as i32);
                    read.counts.extend_from_slice(cells);
                }
                let mut pairs = pairs.clone();
                pairs.sort_unstable_by_key(|&(k, _)| k);
                pairs.dedup_by_key(|p| p.0);
                read.pairs.extend_from_slice(&pairs);
                let run = RunRange {
                    pages: (from, read.keys.len()),
                    pairs: (pairs_from, read.pairs.len()),
                };
                runs.push((run, *by));
            }
            let mut dense = Vec::new();
            let mut out = vec![(7, 7)];
            for _ in 0..2 {
                let count = gather(&read, runs.iter().cloned(), &mut dense, &mut out);
                prop_assert_eq!((out.clone(), count), sorted(&read, &runs));
                prop_assert!(dense.iter().all(|&c| c == 0), "the dense array is left zeroed");
                prop_assert!(dense.len() <= DENSE_SPAN);
            }
        }
    }
}
