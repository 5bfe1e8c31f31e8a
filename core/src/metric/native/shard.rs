//! One writer thread's part of a native histogram, and client_golang's
//! rules for keeping its bucket count within `max_buckets`.
//!
//! Every field is an atomic that only the owning thread stores to (with a
//! plain load and store); scrapes only load. Observations add to counts;
//! the rare rewrites (zero-bucket widening, halving the resolution, reset)
//! run inside the shard's [`SeqCount`], so a scrape sees each whole.
//!
//! Order of an observation: the native cell (or zero / NaN count), then a
//! Release fence, then the classic bucket. A scrape reads the classic
//! buckets, fences with Acquire, then the native counts: every classic
//! count it saw is in the native counts it reads, so the native total is
//! never below the classic one (`merge.rs` relies on it).

use super::key::{MIN_SCHEMA, key, lower, upper_bound};
use super::{Native, NativeConfig};
use crate::chunked::ChunkedVec;
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

    /// The cell index of `key`, anchoring an empty run at it.
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
            self.len.store(index + 1, Ordering::Relaxed);
        }
        c == 0
    }

    /// Calls `f(key, count)` for every populated cell.
    fn for_each(&self, mut f: impl FnMut(i32, u64)) {
        let len = self.len.load(Ordering::Relaxed);
        let anchor = self.anchor();
        for i in 0..len {
            if let Some(c) = self.cells.get(i as usize).map(get).filter(|&c| c > 0) {
                f(anchor.wrapping_add(unzigzag(i)), c);
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
    schema: AtomicU32,
    zero_threshold: AtomicU64,
    zero: AtomicU64,
    nan: AtomicU64,
    /// Observations of `+Inf` and `-Inf`: counted apart from the runs, so
    /// that one infinity does not spread a run over every key up to
    /// `f64::MAX`'s; reported in the bucket one past `f64::MAX`'s, as Go
    /// does.
    infinities: [AtomicU64; 2],
    sum: AtomicU64,
    classic: Box<[AtomicU64]>,
    positive: Run,
    negative: Run,
    /// Populated cells in both runs.
    populated: AtomicU32,
    /// When the shard was last reset, nanoseconds on the series' clock.
    last_reset: AtomicU64,
}

/// What a scrape read of one shard (`merge.rs` sums these).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ShardRead {
    pub(super) schema: i32,
    pub(super) zero_threshold: f64,
    pub(super) zero: u64,
    pub(super) nan: u64,
    pub(super) sum: f64,
    /// Positive and negative `(key, count)` pairs in the scratch `entries`.
    pub(super) positive: (usize, usize),
    pub(super) negative: (usize, usize),
}

impl Shard {
    pub(super) fn new(config: &NativeConfig, classic_len: usize) -> Self {
        Self {
            seq: SeqCount::default(),
            schema: AtomicU32::new(config.schema as u32),
            zero_threshold: AtomicU64::new(config.zero_threshold.to_bits()),
            zero: AtomicU64::new(0),
            nan: AtomicU64::new(0),
            infinities: [AtomicU64::new(0), AtomicU64::new(0)],
            sum: AtomicU64::new(0f64.to_bits()),
            classic: (0..classic_len).map(|_| AtomicU64::new(0)).collect(),
            positive: Run::default(),
            negative: Run::default(),
            populated: AtomicU32::new(0),
            last_reset: AtomicU64::new(0),
        }
    }

    fn schema(&self) -> i32 {
        self.schema.load(Ordering::Relaxed) as i32
    }

    fn zero_threshold(&self) -> f64 {
        f64::from_bits(get(&self.zero_threshold))
    }

    /// Records `v` (by the owning thread only). Returns the reset time when
    /// the observation reset the shard.
    #[inline]
    pub(super) fn observe(&self, v: f64, classic: usize, series: &Native) -> Option<u64> {
        let reset = if v.is_nan() {
            // As in Go: counted, in no bucket.
            bump(&self.nan);
            None
        } else {
            self.add_native(v, series)
        };
        if let Some(c) = self.classic.get(classic) {
            // Release fence: a scrape that sees this classic count (and
            // fences with Acquire) sees the native count above.
            fence(Ordering::Release);
            bump(c);
        }
        set(&self.sum, (f64::from_bits(get(&self.sum)) + v).to_bits());
        reset
    }

    #[inline]
    fn add_native(&self, v: f64, series: &Native) -> Option<u64> {
        let config = &series.config;
        let mut reset = None;
        loop {
            let zt = self.zero_threshold();
            let run = if v > zt {
                &self.positive
            } else if v < -zt {
                &self.negative
            } else {
                bump(&self.zero);
                return reset;
            };
            if v.is_infinite() {
                let new = bump(&self.infinities[usize::from(v < 0.0)]) == 0;
                if new
                    && self.count_new_bucket(config)
                    && let Some(at) = self.limit(config, series)
                {
                    reset = Some(at);
                    continue;
                }
                return reset;
            }
            let index = run.index(key(v, self.schema()));
            if index >= u64::from(config.index_cap) {
                // The run would spread too far (memory cap): reduce as if
                // over the bucket limit, then place the value again.
                if let Some(at) = self.limit(config, series) {
                    reset = Some(at);
                }
                continue;
            }
            if run.add(index as u32, 1)
                && self.count_new_bucket(config)
                && let Some(at) = self.limit(config, series)
            {
                // A reset cleared this value too: place it again (Go
                // repeats the observation after a reset).
                reset = Some(at);
                continue;
            }
            return reset;
        }
    }

    /// Counts a newly populated bucket; true when that passes `max_buckets`.
    #[inline]
    fn count_new_bucket(&self, config: &NativeConfig) -> bool {
        let n = self.populated.load(Ordering::Relaxed) + 1;
        self.populated.store(n, Ordering::Relaxed);
        config.max_buckets > 0 && n > config.max_buckets
    }

    /// client_golang's `limitBuckets`: reset, else widen the zero bucket,
    /// else halve the resolution. Returns the reset time if it reset.
    #[cold]
    fn limit(&self, config: &NativeConfig, series: &Native) -> Option<u64> {
        if !config.min_reset.is_zero() {
            let now = series.elapsed();
            let since = now.saturating_sub(get(&self.last_reset));
            if u128::from(since) >= config.min_reset.as_nanos() {
                self.reset(config, now);
                return Some(now);
            }
        }
        if !self.widen_zero_bucket(config) {
            self.halve_resolution();
        }
        None
    }

    fn reset(&self, config: &NativeConfig, now: u64) {
        self.seq.write(|| {
            self.positive.clear();
            self.negative.clear();
            self.classic.iter().for_each(|c| set(c, 0));
            set(&self.zero, 0);
            set(&self.nan, 0);
            self.infinities.iter().for_each(|c| set(c, 0));
            set(&self.sum, 0f64.to_bits());
            self.schema.store(config.schema as u32, Ordering::Relaxed);
            set(&self.zero_threshold, config.zero_threshold.to_bits());
            self.populated.store(0, Ordering::Relaxed);
            set(&self.last_reset, now);
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
    fn halve_resolution(&self) {
        let schema = self.schema();
        if schema == MIN_SCHEMA {
            return;
        }
        // A rare rewrite: a temporary list of the counts is fine here.
        let mut moved: Vec<(i32, u64)> = Vec::new();
        self.seq.write(|| {
            let mut populated = 0;
            for run in [&self.positive, &self.negative] {
                moved.clear();
                run.for_each(|k, c| moved.push((k, c)));
                let anchor = lower(run.anchor(), 1);
                run.clear();
                if moved.is_empty() {
                    continue;
                }
                run.anchor.store(anchor as u32, Ordering::Relaxed);
                for &(k, c) in &moved {
                    let i = zigzag(i64::from(lower(k, 1)) - i64::from(anchor));
                    // Keys were within the cap of the old anchor, so
                    // within half of it of the new one.
                    if run.add(i as u32, c) {
                        populated += 1;
                    }
                }
            }
            populated += self.infinities.iter().filter(|c| get(c) > 0).count() as u32;
            self.populated.store(populated, Ordering::Relaxed);
            self.schema.store((schema - 1) as u32, Ordering::Relaxed);
        });
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
}
