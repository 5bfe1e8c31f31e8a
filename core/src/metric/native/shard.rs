//! One writer thread's part of a native histogram, and client_golang's
//! rules for keeping its bucket count within `max_buckets`.
//!
//! Every field is an atomic that only the owning thread stores to (with a
//! plain load and store); scrapes only load. Observations add to counts;
//! the rare rewrites (zero-bucket widening, halving the resolution,
//! clearing the shard after a reset) run inside the shard's [`SeqCount`],
//! so a scrape sees each whole.
//!
//! Order of an observation: the native cell (or zero / NaN count), the
//! shard's count, then a Release fence, then the classic bucket. A scrape
//! reads the classic buckets, fences with Acquire, then the count and the
//! native counts: every classic count it saw is in the counts it reads, so
//! neither total is ever below the classic one (`merge.rs` relies on it).
//!
//! # Resets
//! A reset is series-wide: the thread whose observation triggers it bumps
//! the series' reset epoch (`Native::epoch`). Each shard records the epoch
//! its data belong to; a scrape counts only the shards of the newest epoch
//! it sees, and every thread clears its own shard (inside a rewrite) on its
//! next observation after the bump. An observation that races the reset
//! (its thread loaded the old epoch just before the bump) lands in the old
//! epoch and is dropped with it: it counts as if it came before the reset.

use super::key::{MIN_SCHEMA, key, lower, upper_bound};
use super::{Native, NativeConfig};
use crate::chunked::{ChunkedVec, MAX_INDEX, RUN};
use crate::seqlock::SeqCount;
use crate::sync::{AtomicU32, AtomicU64, Ordering, fence};

/// Loads a cell (Relaxed: one writer; scrapes tolerate any recent value).
#[inline]
fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

/// Stores a cell its owner loaded (Relaxed, as [`get`]).
#[inline]
fn set(a: &AtomicU64, v: u64) {
    a.store(v, Ordering::Relaxed);
}

#[inline]
fn bump(a: &AtomicU64) -> u64 {
    let c = get(a);
    set(a, c + 1);
    c
}

/// The bucket counts of one sign: a dense run of cells around `anchor`,
/// cell `i` holding key `anchor + unzigzag(i)` (0, -1, +1, -2, ...).
struct Run {
    cells: ChunkedVec<AtomicU64>,
    /// The key of cell 0 (an `i32`), meaningful once `len > 0`.
    anchor: AtomicU32,
    /// One past the highest cell written since the last rewrite.
    len: AtomicU32,
}

fn zigzag(d: i64) -> u64 {
    if d >= 0 {
        (d as u64) << 1
    } else {
        ((-d as u64) << 1) - 1
    }
}

/// The middle of `lo..=hi`.
fn midpoint(lo: i32, hi: i32) -> i32 {
    (i64::from(lo) + (i64::from(hi) - i64::from(lo)) / 2) as i32
}

/// Whether keys `lo..=hi` fit a run of `cap` cells centred on them.
fn fits(lo: i32, hi: i32, cap: u32) -> bool {
    let mid = midpoint(lo, hi);
    cell_of(lo, mid).max(cell_of(hi, mid)) < cap
}

/// The cell of `key` in a run anchored at `anchor`, as a rewrite places
/// it: the keys spanned at most the cap before, so at most half of it
/// around their midpoint now (the `min` only keeps the type's range).
fn cell_of(key: i32, anchor: i32) -> u32 {
    zigzag(i64::from(key) - i64::from(anchor)).min(MAX_INDEX as u64) as u32
}

fn unzigzag(i: u32) -> i32 {
    let i = i as i32;
    if i & 1 == 0 { i >> 1 } else { -((i + 1) >> 1) }
}

impl Default for Run {
    fn default() -> Self {
        Self {
            cells: ChunkedVec::new(),
            anchor: AtomicU32::new(0),
            len: AtomicU32::new(0),
        }
    }
}

impl Run {
    fn anchor(&self) -> i32 {
        self.anchor.load(Ordering::Relaxed) as i32
    }

    /// The cell index of `key`, anchoring an empty run at it (outside any
    /// rewrite: [`add`](Self::add) publishes the anchor with `len`).
    #[inline]
    fn index(&self, key: i32) -> u64 {
        if self.len.load(Ordering::Relaxed) == 0 {
            self.anchor.store(key as u32, Ordering::Relaxed);
            return 0;
        }
        zigzag(i64::from(key) - i64::from(self.anchor()))
    }

    /// Adds `n` at cell `index`; true when the cell was empty.
    #[inline]
    fn add(&self, index: u32, n: u64) -> bool {
        let cell = self.cells.get_or_alloc(index as usize);
        let c = get(cell);
        set(cell, c + n);
        if index >= self.len.load(Ordering::Relaxed) {
            // Release: a scrape that loads this length (Acquire, in
            // `for_each`) sees the anchor stored by `index` before it.
            self.len.store(index + 1, Ordering::Release);
        }
        c == 0
    }

    /// Calls `f(key, count)` for every populated cell.
    fn for_each(&self, mut f: impl FnMut(i32, u64)) {
        // Acquire: pairs with the Release in `add`, so a non-zero length
        // comes with the anchor of the run's first key.
        let len = self.len.load(Ordering::Acquire) as usize;
        let anchor = self.anchor();
        // Run by run: one bucket-pointer load per `RUN` cells, not one per
        // cell (a scrape reads every thread's shard of every series).
        for run in 0..len.div_ceil(RUN) {
            let Some(cells) = self.cells.run(run) else {
                continue;
            };
            let first = run * RUN;
            for (i, cell) in (first..len).zip(cells) {
                let c = get(cell);
                if c > 0 {
                    f(anchor.wrapping_add(unzigzag(i as u32)), c);
                }
            }
        }
    }

    /// Empties the run (inside a rewrite).
    fn clear(&self) {
        for i in 0..self.len.load(Ordering::Relaxed) {
            if let Some(c) = self.cells.get(i as usize) {
                set(c, 0);
            }
        }
        self.len.store(0, Ordering::Relaxed);
    }
}

pub(super) struct Shard {
    seq: SeqCount,
    /// The series' reset epoch that this shard's data belong to.
    epoch: AtomicU64,
    schema: AtomicU32,
    /// Populated cells in both runs (and infinity counts).
    populated: AtomicU32,
    zero_threshold: AtomicU64,
    zero: AtomicU64,
    nan: AtomicU64,
    /// Every observation (NaNs included): the count a scrape that skips the
    /// native buckets reports.
    count: AtomicU64,
    /// Observations of `+Inf` and `-Inf`: counted apart from the runs, so
    /// that one infinity does not spread a run over every key up to
    /// `f64::MAX`'s; reported in the bucket one past `f64::MAX`'s, as Go
    /// does.
    infinities: [AtomicU64; 2],
    sum: AtomicU64,
    classic: Box<[AtomicU64]>,
    positive: Run,
    negative: Run,
}

/// What a scrape read of one shard (`merge.rs` sums these).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ShardRead {
    pub(super) epoch: u64,
    pub(super) schema: i32,
    pub(super) zero_threshold: f64,
    pub(super) zero: u64,
    pub(super) nan: u64,
    pub(super) sum: f64,
    /// Positive and negative `(key, count)` pairs in the scratch `entries`.
    pub(super) positive: (usize, usize),
    pub(super) negative: (usize, usize),
}

/// What a scrape that skips the native buckets reads of one shard.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TotalsRead {
    pub(super) epoch: u64,
    pub(super) count: u64,
    pub(super) sum: f64,
}

impl Shard {
    pub(super) fn new(config: &NativeConfig, classic_len: usize, epoch: u64) -> Self {
        Self {
            seq: SeqCount::default(),
            epoch: AtomicU64::new(epoch),
            schema: AtomicU32::new(config.schema as u32),
            populated: AtomicU32::new(0),
            zero_threshold: AtomicU64::new(config.zero_threshold.to_bits()),
            zero: AtomicU64::new(0),
            nan: AtomicU64::new(0),
            count: AtomicU64::new(0),
            infinities: [AtomicU64::new(0), AtomicU64::new(0)],
            sum: AtomicU64::new(0f64.to_bits()),
            classic: (0..classic_len).map(|_| AtomicU64::new(0)).collect(),
            positive: Run::default(),
            negative: Run::default(),
        }
    }

    fn schema(&self) -> i32 {
        self.schema.load(Ordering::Relaxed) as i32
    }

    fn zero_threshold(&self) -> f64 {
        f64::from_bits(get(&self.zero_threshold))
    }

    /// Records `v` (by the owning thread only).
    #[inline]
    pub(super) fn observe(&self, v: f64, classic: usize, series: &Native) {
        let epoch = series.epoch();
        if epoch != get(&self.epoch) {
            self.renew(&series.config, epoch);
        }
        if v.is_nan() {
            // As in Go: counted, in no bucket.
            bump(&self.nan);
        } else {
            self.add_native(v, series);
        }
        bump(&self.count);
        if let Some(c) = self.classic.get(classic) {
            // Release fence: a scrape that sees this classic count (and
            // fences with Acquire) sees the counts above.
            fence(Ordering::Release);
            bump(c);
        }
        set(&self.sum, (f64::from_bits(get(&self.sum)) + v).to_bits());
    }

    #[inline]
    fn add_native(&self, v: f64, series: &Native) {
        let config = &series.config;
        loop {
            let zt = self.zero_threshold();
            let (run, sign) = if v > zt {
                (&self.positive, 0)
            } else if v < -zt {
                (&self.negative, 1)
            } else {
                bump(&self.zero);
                return;
            };
            if v.is_infinite() {
                let new = bump(&self.infinities[sign]) == 0;
                if new && self.count_new_bucket(config) && self.limit(series) {
                    continue;
                }
                return;
            }
            let k = key(v, self.schema());
            let index = run.index(k);
            if index >= u64::from(config.index_cap) && self.make_room(sign, k, config.index_cap) {
                // The run would spread too far (memory cap): re-centre or
                // halve the resolution, then place the value again.
                continue;
            }
            // Below the cap, or at the lowest schema, where every finite
            // key is within 140 of any other.
            let index = index.min(MAX_INDEX as u64) as u32;
            if run.add(index, 1) && self.count_new_bucket(config) && self.limit(series) {
                // A reset cleared this value too: place it again (Go
                // repeats the observation after a reset).
                continue;
            }
            return;
        }
    }

    /// Counts a newly populated bucket; true when that passes `max_buckets`.
    #[inline]
    fn count_new_bucket(&self, config: &NativeConfig) -> bool {
        let n = self.populated.load(Ordering::Relaxed) + 1;
        self.populated.store(n, Ordering::Relaxed);
        config.max_buckets > 0 && n > config.max_buckets
    }

    /// client_golang's `limitBuckets`: reset the series, else widen the
    /// zero bucket, else halve the resolution. True when it reset (this
    /// shard is then empty, at the new epoch).
    #[cold]
    fn limit(&self, series: &Native) -> bool {
        let config = &series.config;
        if series.try_reset() {
            self.renew(config, series.epoch());
            return true;
        }
        if !self.widen_zero_bucket(config) {
            self.halve_resolution(config.index_cap);
        }
        false
    }

    /// Empties the shard into `epoch` (after a reset of the series).
    #[cold]
    fn renew(&self, config: &NativeConfig, epoch: u64) {
        self.seq.write(|| {
            self.positive.clear();
            self.negative.clear();
            self.classic.iter().for_each(|c| set(c, 0));
            set(&self.zero, 0);
            set(&self.nan, 0);
            set(&self.count, 0);
            self.infinities.iter().for_each(|c| set(c, 0));
            set(&self.sum, 0f64.to_bits());
            self.schema.store(config.schema as u32, Ordering::Relaxed);
            set(&self.zero_threshold, config.zero_threshold.to_bits());
            self.populated.store(0, Ordering::Relaxed);
            set(&self.epoch, epoch);
        });
    }

    /// Go's `maybeWidenZeroBucket`: the zero bucket grows to the upper
    /// bound of the bucket closest to zero and takes it in (both signs),
    /// unless that passes `max_zero_threshold`.
    fn widen_zero_bucket(&self, config: &NativeConfig) -> bool {
        if self.zero_threshold() >= config.max_zero_threshold {
            return false;
        }
        let mut smallest = i32::MAX;
        self.positive.for_each(|k, _| smallest = smallest.min(k));
        self.negative.for_each(|k, _| smallest = smallest.min(k));
        if smallest == i32::MAX {
            return false;
        }
        let threshold = upper_bound(smallest, self.schema());
        if threshold > config.max_zero_threshold {
            return false;
        }
        self.seq.write(|| {
            let mut moved = 0;
            for run in [&self.positive, &self.negative] {
                if run.len.load(Ordering::Relaxed) == 0 {
                    continue;
                }
                let i = zigzag(i64::from(smallest) - i64::from(run.anchor()));
                if let Some(c) = u32::try_from(i)
                    .ok()
                    .and_then(|i| run.cells.get(i as usize))
                {
                    let n = get(c);
                    if n > 0 {
                        set(&self.zero, get(&self.zero) + n);
                        set(c, 0);
                        moved += 1;
                    }
                }
            }
            let populated = self.populated.load(Ordering::Relaxed);
            self.populated
                .store(populated.saturating_sub(moved), Ordering::Relaxed);
            set(&self.zero_threshold, threshold.to_bits());
        });
        true
    }

    /// Go's `doubleBucketWidth`: schema - 1, each pair of buckets merged.
    /// False at the lowest schema.
    #[cold]
    fn halve_resolution(&self, cap: u32) -> bool {
        self.schema() > MIN_SCHEMA && self.rebuild(None, 1, cap)
    }

    /// The memory cap: `key` (of sign `sign`) is too far from its run's
    /// anchor. Re-centres the run between its lowest and highest key (and
    /// `key`) if that span fits the cap, else also halves the resolution.
    /// False when neither is possible (at the lowest schema).
    #[cold]
    fn make_room(&self, sign: usize, key: i32, cap: u32) -> bool {
        let run = [&self.positive, &self.negative][sign];
        let (mut lo, mut hi) = (key, key);
        run.for_each(|k, _| (lo, hi) = (lo.min(k), hi.max(k)));
        if fits(lo, hi, cap) {
            self.rebuild(Some((sign, key)), 0, cap)
        } else {
            self.schema() > MIN_SCHEMA && self.rebuild(Some((sign, key)), 1, cap)
        }
    }

    /// Rewrites both runs `by` schemas lower (0 or 1), each re-centred
    /// between its lowest and highest key (and `pending`'s key, a
    /// `(sign, key)` about to be placed).
    fn rebuild(&self, pending: Option<(usize, i32)>, by: u32, cap: u32) -> bool {
        let schema = self.schema();
        // Everything that allocates happens before the rewrite: the
        // owner's own cells can be read outside it.
        let mut moved: [Vec<(i32, u64)>; 2] = Default::default();
        let mut anchors = [0i32; 2];
        for (sign, run) in [&self.positive, &self.negative].into_iter().enumerate() {
            let list = &mut moved[sign];
            run.for_each(|k, c| list.push((lower(k, by), c)));
            let (mut lo, mut hi) = list.iter().fold((i32::MAX, i32::MIN), |(lo, hi), e| {
                (lo.min(e.0), hi.max(e.0))
            });
            if let Some((_, k)) = pending.filter(|p| p.0 == sign) {
                // Centred for the pending key too only if all then fit:
                // else a far one would push the others past the cap.
                let (l, h) = (lo.min(lower(k, by)), hi.max(lower(k, by)));
                if fits(l, h, cap) {
                    (lo, hi) = (l, h);
                }
            }
            if lo > hi {
                continue;
            }
            anchors[sign] = midpoint(lo, hi);
            for &(k, _) in list.iter() {
                run.cells.get_or_alloc(cell_of(k, anchors[sign]) as usize);
            }
        }
        self.seq.write(|| {
            let mut populated = 0;
            for (sign, run) in [&self.positive, &self.negative].into_iter().enumerate() {
                run.clear();
                run.anchor.store(anchors[sign] as u32, Ordering::Relaxed);
                for &(k, c) in &moved[sign] {
                    if run.add(cell_of(k, anchors[sign]), c) {
                        populated += 1;
                    }
                }
            }
            populated += self.infinities.iter().filter(|c| get(c) > 0).count() as u32;
            self.populated.store(populated, Ordering::Relaxed);
            self.schema
                .store((schema - by as i32) as u32, Ordering::Relaxed);
        });
        true
    }

    /// Reads the shard whole (retrying across a rewrite): its classic
    /// counts into `classic`, its native `(key, count)` pairs appended to
    /// `entries`.
    pub(super) fn read(&self, classic: &mut Vec<u64>, entries: &mut Vec<(i32, u64)>) -> ShardRead {
        let start = entries.len();
        self.seq.read(|| {
            entries.truncate(start);
            classic.clear();
            // Classic first, then (Acquire fence) the native counts: see
            // the module docs.
            classic.extend(self.classic.iter().map(get));
            fence(Ordering::Acquire);
            let mut read = ShardRead {
                epoch: get(&self.epoch),
                schema: self.schema(),
                zero_threshold: self.zero_threshold(),
                zero: get(&self.zero),
                nan: get(&self.nan),
                sum: f64::from_bits(get(&self.sum)),
                ..ShardRead::default()
            };
            let inf = key(f64::INFINITY, read.schema);
            self.positive.for_each(|k, c| entries.push((k, c)));
            let pos_inf = get(&self.infinities[0]);
            if pos_inf > 0 {
                entries.push((inf, pos_inf));
            }
            read.positive = (start, entries.len());
            self.negative.for_each(|k, c| entries.push((k, c)));
            let neg_inf = get(&self.infinities[1]);
            if neg_inf > 0 {
                entries.push((inf, neg_inf));
            }
            read.negative = (read.positive.1, entries.len());
            read
        })
    }

    /// Reads the classic counts (into `classic`), count and sum only, for
    /// a scrape that skips the native buckets.
    pub(super) fn read_totals(&self, classic: &mut Vec<u64>) -> TotalsRead {
        self.seq.read(|| {
            classic.clear();
            classic.extend(self.classic.iter().map(get));
            // Acquire fence: classic first, as in `read`.
            fence(Ordering::Acquire);
            TotalsRead {
                epoch: get(&self.epoch),
                count: get(&self.count),
                sum: f64::from_bits(get(&self.sum)),
            }
        })
    }
}
