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
use crate::seqlock::SeqCount;
use crate::sync::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering, fence};
use once_cell::race::OnceBox;
use std::sync::OnceLock;

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

/// A bucket cell's integer: 16 bits, a quarter of a 64-bit cell (a
/// scrape of many shards reads every page of every shard).
type Low = u16;
/// A bucket cell.
type LowCell = AtomicU16;

/// Cells per page of a [`Run`]: 64 bytes of 16-bit counts, allocated when
/// a thread first counts a key in it.
pub(super) const PAGE: usize = 32;

/// A page of bucket counts: 16-bit cells, and the 64-bit high parts of the
/// rare cells that outgrew them (allocated at the first overflow in the
/// page). A count is `low + high`.
struct Page {
    low: [LowCell; PAGE],
    high: OnceBox<[AtomicU64; PAGE]>,
}

impl Page {
    fn new() -> Self {
        Self {
            low: std::array::from_fn(|_| LowCell::new(0)),
            high: OnceBox::new(),
        }
    }

    fn high(&self, j: usize) -> u64 {
        self.high.get().map_or(0, |h| get(&h[j]))
    }

    fn count(&self, j: usize) -> u64 {
        u64::from(self.low[j].load(Ordering::Relaxed)) + self.high(j)
    }

    /// The high parts, allocated (by the owner, outside a rewrite).
    fn high_cells(&self) -> &[AtomicU64; PAGE] {
        self.high
            .get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))))
    }

    /// Sets cell `j` to `n` (inside a rewrite; the high parts allocated
    /// beforehand when `n` does not fit a cell).
    fn put(&self, j: usize, n: u64) {
        let (low, high) = match Low::try_from(n) {
            Ok(low) => (low, 0),
            Err(_) => (0, n),
        };
        self.low[j].store(low, Ordering::Relaxed);
        match self.high.get() {
            Some(h) => set(&h[j], high),
            None => debug_assert_eq!(high, 0, "high parts allocated before the rewrite"),
        }
    }

    fn clear(&self) {
        self.low.iter().for_each(|c| c.store(0, Ordering::Relaxed));
        if let Some(h) = self.high.get() {
            h.iter().for_each(|c| set(c, 0));
        }
    }
}

/// The bucket counts of one sign: cell `i` holds key `base + i`, for `i`
/// below the run's cap, in pages allocated on first use. The first key
/// seen sets `base` so that it sits in the middle of the cap; a rewrite
/// re-centres it between the lowest and highest key.
///
/// Cells are 16 bits: the one observation in 2^16 that would overflow one
/// moves its count into the page's 64-bit high part inside a rewrite
/// ([`Shard::spill`]), so counts stay exact and the common cell costs 4
/// bytes a thread. Pages never move and are freed only with the run, so a
/// scrape reading a run never reads freed memory (no `unsafe`: the table
/// is a `OnceLock`, its entries `OnceBox`es, one word each).
struct Run {
    /// `cap.div_ceil(PAGE)` pages, the table allocated on first use.
    pages: OnceLock<Box<[OnceBox<Page>]>>,
    /// The key of cell 0 (an `i32`), meaningful once `used`.
    base: AtomicU32,
    /// Whether a count was added since the last rewrite: publishes `base`.
    used: AtomicBool,
    /// Whether any page has high parts (set before the rewrite that first
    /// fills one): until then a read skips them without touching the
    /// pages' `high` words.
    has_high: AtomicBool,
    /// Cells the run may use: `NativeConfig::index_cap`.
    cap: u32,
}

/// Whether keys `lo..=hi` fit a run of `cap` cells.
fn fits(lo: i32, hi: i32, cap: u32) -> bool {
    i64::from(hi) - i64::from(lo) < i64::from(cap)
}

/// The base that centres `lo..=hi` (which [`fits`]) in a run of `cap`
/// cells: the slack split evenly below `lo` and above `hi`.
fn centred_base(lo: i32, hi: i32, cap: u32) -> i32 {
    let slack = (i64::from(cap) - 1 - (i64::from(hi) - i64::from(lo))).max(0);
    (i64::from(lo) - slack / 2).max(i64::from(i32::MIN)) as i32
}

/// The cell of `key` in a run based at `base` (`key` within its cap; the
/// clamp only keeps the range).
fn offset(key: i32, base: i32, cap: u32) -> u32 {
    (i64::from(key) - i64::from(base)).clamp(0, i64::from(cap) - 1) as u32
}

impl Run {
    fn new(cap: u32) -> Self {
        Self {
            pages: OnceLock::new(),
            base: AtomicU32::new(0),
            used: AtomicBool::new(false),
            has_high: AtomicBool::new(false),
            cap: cap.max(1),
        }
    }

    fn base(&self) -> i32 {
        self.base.load(Ordering::Relaxed) as i32
    }

    /// The cell of `key`, if it is within the cap (from the run's base).
    fn cell(&self, key: i32) -> Option<u32> {
        let i = i64::from(key) - i64::from(self.base());
        u32::try_from(i).ok().filter(|&i| i < self.cap)
    }

    /// The cell index of `key` (possibly outside the cap), setting an empty
    /// run's base so that `key` is centred (outside any rewrite:
    /// [`add_one`](Self::add_one) publishes the base with `used`).
    #[inline]
    fn index(&self, key: i32) -> i64 {
        if !self.used.load(Ordering::Relaxed) {
            self.base
                .store(centred_base(key, key, self.cap) as u32, Ordering::Relaxed);
        }
        i64::from(key) - i64::from(self.base())
    }

    /// The page of cell `index` if it exists, and the cell's place in it;
    /// never allocates.
    fn page(&self, index: u32) -> Option<(&Page, usize)> {
        let i = index as usize;
        let page = self.pages.get()?.get(i / PAGE)?.get()?;
        Some((page, i % PAGE))
    }

    /// The page of cell `index`, allocated (by the owner only, outside a
    /// rewrite, or inside one when already allocated), and the cell's place.
    #[inline]
    fn alloc(&self, index: u32) -> (&Page, usize) {
        let pages = self.pages.get_or_init(|| {
            (0..(self.cap as usize).div_ceil(PAGE))
                .map(|_| OnceBox::new())
                .collect()
        });
        let i = index as usize;
        let page = pages[(i / PAGE).min(pages.len() - 1)].get_or_init(|| Box::new(Page::new()));
        (page, i % PAGE)
    }

    /// Adds one at cell `index` (below the cap): whether the cell was
    /// empty, or `None` when its 16 bits are full (nothing added; the
    /// caller spills it).
    #[inline]
    fn add_one(&self, index: u32) -> Option<bool> {
        let (page, j) = self.alloc(index);
        let cell = &page.low[j];
        let c = cell.load(Ordering::Relaxed);
        cell.store(c.checked_add(1)?, Ordering::Relaxed);
        if !self.used.load(Ordering::Relaxed) {
            // Release: a scrape that loads `used` (Acquire, in `for_each`)
            // sees the base stored by `index` before it.
            self.used.store(true, Ordering::Release);
        }
        Some(c == 0 && page.high(j) == 0)
    }

    /// Sets cell `index` to `n` (inside a rewrite, after the run was
    /// cleared; its page, and for `n` over 16 bits its high parts, were
    /// allocated before).
    fn put(&self, index: u32, n: u64) {
        if let Some((page, j)) = self.page(index) {
            page.put(j, n);
            self.used.store(true, Ordering::Release);
        }
    }

    /// `page`'s high parts, allocated (by the owner, outside a rewrite),
    /// and the run marked as having some.
    fn high_cells<'p>(&self, page: &'p Page) -> &'p [AtomicU64; PAGE] {
        self.has_high.store(true, Ordering::Relaxed);
        page.high_cells()
    }

    /// Moves cell `index`'s count out (inside a rewrite): its count.
    fn take(&self, index: u32) -> u64 {
        self.page(index).map_or(0, |(page, j)| {
            let n = page.count(j);
            page.put(j, 0);
            n
        })
    }

    /// Calls `f(key, count)` for every populated cell, keys increasing.
    fn for_each(&self, mut f: impl FnMut(i32, u64)) {
        // Acquire: pairs with the Release in `add_one` and `put`, so a used
        // run comes with the base of its first key.
        if !self.used.load(Ordering::Acquire) {
            return;
        }
        let base = self.base();
        let Some(pages) = self.pages.get() else {
            return;
        };
        for (p, page) in pages.iter().enumerate() {
            let Some(page) = page.get() else {
                continue;
            };
            let key = |j: usize| base.wrapping_add((p * PAGE + j) as i32);
            // Relaxed: high parts change only in rewrites, and a read that
            // overlaps one is retried (so it sees the flag set before it).
            let high = if self.has_high.load(Ordering::Relaxed) {
                page.high.get()
            } else {
                None
            };
            match high {
                None => {
                    for (j, cell) in page.low.iter().enumerate() {
                        let c = cell.load(Ordering::Relaxed);
                        if c > 0 {
                            f(key(j), u64::from(c));
                        }
                    }
                }
                Some(high) => {
                    for (j, (low, high)) in page.low.iter().zip(high.iter()).enumerate() {
                        let c = u64::from(low.load(Ordering::Relaxed)) + get(high);
                        if c > 0 {
                            f(key(j), c);
                        }
                    }
                }
            }
        }
    }

    /// Copies the run's pages that hold a count into `read`: each page's
    /// [`PAGE`] counts (zeros included) with the key of its first cell,
    /// pages in key order. A copy of whole pages, with no test per cell,
    /// is what a scrape of many shards spends its time on (the merge adds
    /// them page by page).
    fn read_pages(&self, read: &mut RunsRead) {
        // Acquire: as in `for_each`.
        if !self.used.load(Ordering::Acquire) {
            return;
        }
        let base = self.base();
        let Some(pages) = self.pages.get() else {
            return;
        };
        // Relaxed: as in `for_each`.
        let has_high = self.has_high.load(Ordering::Relaxed);
        for (p, page) in pages.iter().enumerate() {
            let Some(page) = page.get() else {
                continue;
            };
            let at = read.counts.len();
            let low = page
                .low
                .iter()
                .map(|c| u64::from(c.load(Ordering::Relaxed)));
            // The high word is on the page's third line: not touched
            // until the run has high parts.
            let high = if has_high { page.high.get() } else { None };
            match high {
                None => read.counts.extend(low),
                Some(high) => read
                    .counts
                    .extend(low.zip(high.iter()).map(|(l, h)| l + get(h))),
            }
            if read.counts[at..].iter().fold(0, |any, &c| any | c) == 0 {
                read.counts.truncate(at);
            } else {
                read.keys.push(base.wrapping_add((p * PAGE) as i32));
            }
        }
    }

    /// Empties the run (inside a rewrite); its pages stay allocated.
    fn clear(&self) {
        if let Some(pages) = self.pages.get() {
            pages
                .iter()
                .filter_map(OnceBox::get)
                .for_each(|p| p.clear());
        }
        self.used.store(false, Ordering::Relaxed);
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
    /// Where the positive and negative runs are in the scratch
    /// [`RunsRead`].
    pub(super) positive: RunRange,
    pub(super) negative: RunRange,
}

/// A scrape's copy of the runs of every shard it read: pages of [`PAGE`]
/// counts, and single `(key, count)` pairs (the `±Inf` counts, kept apart
/// from the runs). Reused from scrape to scrape.
#[derive(Debug, Default)]
pub(super) struct RunsRead {
    /// The key of each page's first cell.
    pub(super) keys: Vec<i32>,
    /// [`PAGE`] counts per page, page after page.
    pub(super) counts: Vec<u64>,
    pub(super) pairs: Vec<(i32, u64)>,
}

impl RunsRead {
    pub(super) fn clear(&mut self) {
        self.keys.clear();
        self.counts.clear();
        self.pairs.clear();
    }

    /// Page `i`'s counts.
    pub(super) fn page(&self, i: usize) -> &[u64] {
        &self.counts[i * PAGE..(i + 1) * PAGE]
    }
}

/// Where one run of one shard is in a [`RunsRead`]: its pages (in key
/// order, each holding a count) and its pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct RunRange {
    pub(super) pages: (usize, usize),
    pub(super) pairs: (usize, usize),
}

impl RunRange {
    /// Whether the run holds no count.
    pub(super) fn is_empty(&self) -> bool {
        self.pages.0 == self.pages.1 && self.pairs.0 == self.pairs.1
    }
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
            positive: Run::new(config.index_cap),
            negative: Run::new(config.index_cap),
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
            let cap = config.index_cap;
            if !(0..i64::from(cap)).contains(&index) && self.make_room(sign, k, cap) {
                // The run would spread too far (memory cap): re-centre or
                // halve the resolution, then place the value again.
                continue;
            }
            // Within the cap: `make_room` fails only at the lowest schema,
            // where every finite key is within 140 of any other, and the
            // cap is at least 512 (so the clamp never moves a count).
            debug_assert!((0..i64::from(cap)).contains(&index));
            let index = index.clamp(0, i64::from(cap) - 1) as u32;
            let Some(new) = run.add_one(index) else {
                // Its 16 bits are full (once in 2^16 observations).
                self.spill(run, index);
                return;
            };
            if new && self.count_new_bucket(config) && self.limit(series) {
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
                if !run.used.load(Ordering::Relaxed) {
                    continue;
                }
                let n = run.cell(smallest).map_or(0, |i| run.take(i));
                if n > 0 {
                    set(&self.zero, get(&self.zero) + n);
                    moved += 1;
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

    /// Moves the full 16-bit cell `index` of `run`, plus the observation
    /// that did not fit, into its page's high part (a rewrite, so a scrape
    /// never sees the count in both or in neither).
    #[cold]
    #[inline(never)]
    fn spill(&self, run: &Run, index: u32) {
        let (page, j) = run.alloc(index);
        let high = run.high_cells(page);
        self.seq.write(|| {
            let low = u64::from(page.low[j].load(Ordering::Relaxed));
            set(&high[j], get(&high[j]) + low + 1);
            page.low[j].store(0, Ordering::Relaxed);
        });
    }

    /// Rewrites both runs `by` schemas lower (0 or 1), each re-centred
    /// between its lowest and highest key (and `pending`'s key, a
    /// `(sign, key)` about to be placed).
    fn rebuild(&self, pending: Option<(usize, i32)>, by: u32, cap: u32) -> bool {
        let schema = self.schema();
        // Everything that allocates happens before the rewrite: the
        // owner's own cells can be read outside it.
        let mut moved: [Vec<(i32, u64)>; 2] = Default::default();
        let mut bases = [0i32; 2];
        for (sign, run) in [&self.positive, &self.negative].into_iter().enumerate() {
            let list = &mut moved[sign];
            // Keys come in increasing order, so the buckets that lowering
            // merges are neighbours.
            run.for_each(|k, c| match list.last_mut() {
                Some(last) if last.0 == lower(k, by) => last.1 += c,
                _ => list.push((lower(k, by), c)),
            });
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
            debug_assert!(fits(lo, hi, cap), "a rewrite's keys fit the cap");
            bases[sign] = centred_base(lo, hi, cap);
            for &(k, c) in list.iter() {
                let (page, _) = run.alloc(offset(k, bases[sign], cap));
                if Low::try_from(c).is_err() {
                    run.high_cells(page);
                }
            }
        }
        self.seq.write(|| {
            let mut populated = 0;
            for (sign, run) in [&self.positive, &self.negative].into_iter().enumerate() {
                run.clear();
                run.base.store(bases[sign] as u32, Ordering::Relaxed);
                for &(k, c) in &moved[sign] {
                    // Allocated above: `put` only finds the page.
                    run.put(offset(k, bases[sign], cap), c);
                }
                populated += moved[sign].len() as u32;
            }
            populated += self.infinities.iter().filter(|c| get(c) > 0).count() as u32;
            self.populated.store(populated, Ordering::Relaxed);
            self.schema
                .store((schema - by as i32) as u32, Ordering::Relaxed);
        });
        true
    }

    /// Reads the shard whole (retrying across a rewrite): its classic
    /// counts into `classic`, its native runs appended to `runs`.
    pub(super) fn read(&self, classic: &mut Vec<u64>, runs: &mut RunsRead) -> ShardRead {
        let (keys, counts, pairs) = (runs.keys.len(), runs.counts.len(), runs.pairs.len());
        self.seq.read(|| {
            runs.keys.truncate(keys);
            runs.counts.truncate(counts);
            runs.pairs.truncate(pairs);
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
            for (sign, run) in [&self.positive, &self.negative].into_iter().enumerate() {
                let (pages, pairs) = (runs.keys.len(), runs.pairs.len());
                run.read_pages(runs);
                let infinities = get(&self.infinities[sign]);
                if infinities > 0 {
                    runs.pairs.push((inf, infinities));
                }
                let range = RunRange {
                    pages: (pages, runs.keys.len()),
                    pairs: (pairs, runs.pairs.len()),
                };
                if sign == 0 {
                    read.positive = range;
                } else {
                    read.negative = range;
                }
            }
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

#[cfg(test)]
mod tests {
    use super::super::{Native, NativeOpts, NativeScratch};
    use super::*;

    /// A native-only series with one observation of `v` by this thread,
    /// whose 16-bit cell is then set to `low` (a count 2^16 observations
    /// would take to reach).
    fn series_with(values: &[(f64, Low)], opts: NativeOpts) -> Native {
        let native = Native::new(opts.validate().unwrap(), 0, 0.0);
        for &(v, _) in values {
            native.observe(v, 0);
        }
        let shard = native.shards.get().unwrap();
        for &(v, low) in values {
            let run = if v > 0.0 {
                &shard.positive
            } else {
                &shard.negative
            };
            let index = run.cell(key(v, shard.schema())).unwrap();
            let (page, j) = run.alloc(index);
            page.low[j].store(low, Ordering::Relaxed);
        }
        native
    }

    fn positive(native: &Native) -> Vec<(i32, u64)> {
        let mut s = NativeScratch::default();
        native.merge(&mut [], &mut s);
        s.positive
    }

    /// The observation that would overflow a 16-bit cell moves its count
    /// into the page's high part: counts stay exact past 2^16, and the
    /// cell keeps counting.
    #[test]
    fn a_full_cell_spills_into_its_high_part() {
        let native = series_with(&[(1.0, Low::MAX - 1)], NativeOpts::new());
        let k = key(1.0, 3);
        for _ in 0..3 {
            native.observe(1.0, 0);
        }
        assert_eq!(positive(&native), [(k, u64::from(Low::MAX) + 2)]);
        let shard = native.shards.get().unwrap();
        let (page, j) = shard
            .positive
            .page(shard.positive.cell(k).unwrap())
            .unwrap();
        assert_eq!(page.low[j].load(Ordering::Relaxed), 1, "the cell restarted");
        assert_eq!(page.high(j), u64::from(Low::MAX) + 1);
    }

    /// Halving the resolution merges two cells into one whose sum passes
    /// 16 bits: the merged count lands in the high part, whole.
    #[test]
    fn halving_keeps_counts_over_32_bits() {
        // 1.05 and 1.1 are neighbouring keys at schema 3 (1 and 2), one
        // key (1) at schema 2.
        let native = series_with(
            &[(1.05, Low::MAX - 1), (1.1, Low::MAX - 1)],
            NativeOpts::new(),
        );
        assert_eq!((key(1.05, 3), key(1.1, 3), key(1.1, 2)), (1, 2, 1));
        let shard = native.shards.get().unwrap();
        assert!(shard.halve_resolution(native.config.index_cap));
        let both = 2 * u64::from(Low::MAX - 1);
        assert_eq!(positive(&native), [(key(1.05, 2), both)]);
        // It keeps counting there.
        native.observe(1.05, 0);
        assert_eq!(positive(&native), [(key(1.05, 2), both + 1)]);
    }

    /// Widening the zero bucket takes a cell's whole count, high part
    /// included.
    #[test]
    fn widening_the_zero_bucket_takes_the_high_part() {
        let opts = NativeOpts::new().max_zero_threshold(1.0);
        let native = series_with(&[(0.5, Low::MAX), (2.0, 1)], opts);
        native.observe(0.5, 0); // spills: low 0, high 2^16
        let shard = native.shards.get().unwrap();
        assert!(shard.widen_zero_bucket(&native.config));
        let mut s = NativeScratch::default();
        let m = native.merge(&mut [], &mut s);
        assert_eq!(m.zero, u64::from(Low::MAX) + 1);
        assert_eq!(s.positive, [(key(2.0, 3), 1)]);
    }

    /// Keys more than the cap apart re-centre the run, and the pages of a
    /// run hold keys in order from its base.
    #[test]
    fn first_key_is_centred_and_rewrites_recentre() {
        let native = Native::new(NativeOpts::new().schema(8).validate().unwrap(), 0, 0.0);
        native.observe(1.0, 0);
        let shard = native.shards.get().unwrap();
        let cap = native.config.index_cap;
        assert_eq!(shard.positive.cell(0), Some((cap - 1) / 2));
        // The cap's upper half is free above the first key...
        native.observe(2f64.powf(f64::from(cap / 2 - 1) / 256.0), 0);
        assert_eq!(shard.schema(), 8);
        // ... and a key further off re-centres the run between both.
        let far = 2f64.powf(f64::from(cap - 20) / 256.0);
        native.observe(far, 0);
        assert_eq!(shard.schema(), 8, "re-centred, not halved");
        assert_eq!(positive(&native).len(), 3);
        assert_eq!(positive(&native)[2].0, key(far, 8));
    }

    /// A huge `max_buckets` does not make the page table huge: the cap
    /// stops at 16,384 cells (a 512-entry table), and values spread wider
    /// than that halve the resolution, counts exact.
    #[test]
    fn the_page_table_is_bounded_whatever_max_buckets_says() {
        let native = Native::new(
            NativeOpts::new()
                .schema(8)
                .max_buckets(u32::MAX)
                .validate()
                .unwrap(),
            0,
            0.0,
        );
        assert_eq!(native.config.index_cap, 16_384);
        let values = [1.0, -1.0, 1e-300, 1e300, -1e300, f64::MAX];
        values.iter().for_each(|&v| native.observe(v, 0));
        let shard = native.shards.get().unwrap();
        for run in [&shard.positive, &shard.negative] {
            assert_eq!(run.pages.get().map(|t| t.len()), Some(512));
        }
        let mut s = NativeScratch::default();
        let m = native.merge(&mut [], &mut s);
        assert_eq!(m.count, 6);
        assert!(
            m.schema < 8,
            "1e-300..1e300 spans more than 16,384 keys at schema 8"
        );
        // 1e-300 is within the default zero threshold (2^-128).
        let counted: u64 = s.positive.iter().chain(&s.negative).map(|e| e.1).sum();
        assert_eq!((counted, m.zero), (5, 1));
    }
}
