//! Native (sparse exponential) histograms: options, the per-series state
//! and what a scrape reads of it.
//!
//! # How a native histogram is stored
//! Each writer thread has its own **shard** (`shard.rs`), found through a
//! `thread_local::ThreadLocal` (a new thread takes over the shard of an
//! exited one, counts and all). A shard holds the series' classic bucket
//! counts, its sum, the zero bucket, a NaN count and two runs of bucket
//! counts (positive and negative values): cell `i` of a run holds key
//! `base + i`, the first key seen centred in the run's cap. Its thread
//! alone writes it: an observation is a plain load and store on a cell
//! nobody else writes, no lock, no read-modify-write, and no allocation
//! unless the value lands in a page of 32 keys the thread has not used
//! yet. Cells are 16 bits; the observation that would overflow one moves
//! its count into a 64-bit high part of its page inside a rewrite (below),
//! so counts stay exact. Pages never move and are freed with the shard, so
//! a scrape reading a shard never reads freed memory.
//!
//! When a shard holds more than `max_buckets` populated buckets it applies
//! client_golang's rules: reset the series (if `min_reset` passed since its
//! last reset or creation), else widen the zero bucket (up to
//! `max_zero_threshold`), else halve the resolution. A reset is
//! series-wide: it bumps a reset epoch, scrapes skip shards of an older
//! epoch, and each thread clears its own shard on its next observation
//! (`shard.rs`, "Resets"). Rewrites of a shard's counts are bracketed by
//! its thread with a sequence count (`seqlock.rs`, modelled with loom
//! there); a scrape re-reads a shard whose rewrite it overlapped, at most
//! 64 times, then waits on the rewrite's mutex. Plain observations never
//! touch either.
//!
//! A scrape lowers every shard to the smallest schema among them and widens
//! the zero bucket to the widest (both exact: counts only move to coarser
//! buckets), sums, then lowers the merged schema further while the merged
//! series holds more than `max_buckets` buckets, so the limit holds for
//! the series as well as for each thread. A scrape whose visitor does not
//! want native buckets (the text formats) reads only each shard's classic
//! counts, count and sum.
//!
//! # Memory
//! Per writer thread a series costs a shard of 256 bytes (cache-padded),
//! 8 bytes per classic bucket, 16 bytes of `ThreadLocal` entry (its table:
//! about 0.5 KiB per series, plus buckets of 2^k entries as thread ids
//! grow), and per sign it observes a page table (8 bytes per 32 cells of
//! the cap: 160 bytes at the default) and the pages it touched, 72 bytes
//! each for 32 consecutive keys of 16-bit cells (plus 256 bytes for the
//! rare page with a count past 2^16). 100 log-spaced values from 1 ms to
//! 10 s at schema 3 (the compare runner's data: 106 keys) take 4 or 5
//! pages, about 0.8 KiB per thread with the shard and table; the compare
//! runner's memory probe measures 1.6 KiB for a series written by one
//! thread, 13.7 KiB by 16 and 52.5 KiB by 64 (2026-12-04, 2-core VM; 1.9,
//! 18.8 and 73.0 KiB with 32-bit cells). A run is capped at `max(4 * max_buckets,
//! 512)` cells (640 when `max_buckets` is 0, unlimited): a value beyond
//! the cap re-centres the run between its lowest and highest key if they
//! fit, else halves the resolution, so a thread's run stays within
//! 1.6 KiB per sign at the default 160 (table and 20 pages; each page that
//! ever held a count past 2^16 takes 256 bytes more). Whatever
//! `max_buckets` is, the cap is at most 16,384 cells (64 octaves at schema
//! 8): its table, allocated whole at a thread's first value of that sign,
//! stays within 4 KiB.

mod bounds;
mod key;
mod merge;
pub(super) mod shard;

pub(crate) use merge::{NativeScratch, spans};

use crate::error::Error;
use crate::exemplar::{Checked, Exemplar, ExemplarSlots};
use crate::sync::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;
use key::{MAX_SCHEMA, MIN_SCHEMA, pick_schema};
use shard::Shard;
use std::time::Duration;
use thread_local::ThreadLocal;

/// client_golang's default zero threshold, 2^-128
/// (`DefNativeHistogramZeroThreshold`).
const DEFAULT_ZERO_THRESHOLD: f64 = 2.938735877055719e-39;

/// The default `max_buckets`; unlimited ones (0) get its memory cap.
const DEFAULT_MAX_BUCKETS: u32 = 160;

/// The most cells a thread's run of one sign may span, whatever
/// `max_buckets` says: 16,384 keys are 64 octaves at schema 8 (and more at
/// lower ones), and a run's page table, allocated whole at its first
/// observation, then stays within 4 KiB (8 bytes per 32 cells). Without
/// it `max_buckets(u32::MAX)` made that table 2 GiB.
const MAX_INDEX_CAP: u32 = 16_384;

/// How the resolution was chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Resolution {
    Factor(f64),
    Schema(i32),
}

/// Options of a native histogram: its resolution, zero bucket, bucket
/// limit and exemplars. Checked by [`Buckets::native`](crate::Buckets::native)
/// and [`Buckets::with_native`](crate::Buckets::with_native).
///
/// ```
/// use hotmetrics_core::{Buckets, NativeOpts, Registry};
/// use std::time::Duration;
///
/// let registry = Registry::new();
/// let opts = NativeOpts::new()
///     .factor(1.1) // buckets at most 10% wide: schema 3
///     .max_buckets(100)
///     .min_reset(Duration::from_secs(3600));
/// let latency = registry
///     .histogram(("rpc_seconds", "RPC latency"), Buckets::native(opts).unwrap())
///     .unwrap();
/// latency.observe(0.25);
/// latency.observe(0.0);
/// let native = latency.snapshot().native.unwrap();
/// assert_eq!(native.schema, 3);
/// assert_eq!(native.zero_count, 1);
/// assert_eq!(native.positive, [(-16, 1)]); // 0.25 = 2^-2 ends bucket -16
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NativeOpts {
    resolution: Resolution,
    zero_threshold: f64,
    max_zero_threshold: Option<f64>,
    max_buckets: u32,
    min_reset: Duration,
    max_exemplars: usize,
}

impl Default for NativeOpts {
    /// - factor 1.1, so schema 3: buckets grow by `2^(1/8)`, about 9%, and
    ///   a quantile estimated from a bucket is within 9% of the true value;
    /// - zero threshold 2^-128, client_golang's
    ///   `DefNativeHistogramZeroThreshold`: only values too small to matter
    ///   count as zero;
    /// - at most 160 populated buckets per writer thread: client_golang
    ///   leaves this unlimited but warns that values from outside then make
    ///   memory unbounded; 160 buckets at schema 3 span 20 octaves (1 ms to
    ///   about 17 minutes) before the resolution halves;
    /// - no reset (`min_reset` 0): counts never go down;
    /// - no zero-bucket widening (`max_zero_threshold` = `zero_threshold`):
    ///   small values keep their resolution, the schema halves instead;
    /// - 10 exemplars, client_golang's default `NativeHistogramMaxExemplars`.
    fn default() -> Self {
        Self {
            resolution: Resolution::Factor(1.1),
            zero_threshold: DEFAULT_ZERO_THRESHOLD,
            max_zero_threshold: None,
            max_buckets: DEFAULT_MAX_BUCKETS,
            min_reset: Duration::ZERO,
            max_exemplars: 10,
        }
    }
}

impl NativeOpts {
    /// The defaults (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Bucket growth factor, `> 1`: the schema is the highest in `-4..=8`
    /// whose buckets grow by at most `f` (client_golang's `pickSchema`);
    /// factors below `2^(2^-8)` give schema 8, above `2^16` schema -4.
    pub fn factor(mut self, f: f64) -> Self {
        self.resolution = Resolution::Factor(f);
        self
    }

    /// The schema directly, `-4..=8`: buckets grow by `2^(2^-schema)`.
    pub fn schema(mut self, schema: i32) -> Self {
        self.resolution = Resolution::Schema(schema);
        self
    }

    /// Values with an absolute value at or below this count in the zero
    /// bucket; `>= 0` (0: only zeros do).
    pub fn zero_threshold(mut self, t: f64) -> Self {
        self.zero_threshold = t;
        self
    }

    /// How far the zero bucket may widen to stay within `max_buckets`;
    /// at least `zero_threshold` (equal: it never widens).
    pub fn max_zero_threshold(mut self, t: f64) -> Self {
        self.max_zero_threshold = Some(t);
        self
    }

    /// Most populated buckets before the rules of client_golang reduce
    /// them: per writer thread, and the scrape lowers the merged resolution
    /// until the merged series holds at most this many too; 0 = unlimited
    /// (client_golang's default). Either way a thread's runs are capped in
    /// memory (`max(4 * max_buckets, 512)` cells per sign, at most 16,384,
    /// 640 when unlimited; 72 bytes per page of 32 cells allocated as
    /// used, plus a page table of 8 bytes per 32 cells of the cap,
    /// allocated at a thread's first value of the sign): values spread
    /// wider than that halve the resolution, so one outlier never
    /// allocates more than that.
    pub fn max_buckets(mut self, n: u32) -> Self {
        self.max_buckets = n;
        self
    }

    /// A series whose thread exceeds `max_buckets` this long after the
    /// series' last reset (or its creation) resets, every thread's part,
    /// instead of losing resolution; 0 = never.
    pub fn min_reset(mut self, d: Duration) -> Self {
        self.min_reset = d;
        self
    }

    /// How many exemplars the native part keeps (the latest ones); 0 = none.
    pub fn max_exemplars(mut self, n: usize) -> Self {
        self.max_exemplars = n;
        self
    }

    /// Checks the options and resolves the schema.
    pub(crate) fn validate(&self) -> Result<NativeConfig, Error> {
        let bad = |why: String| Err(Error::InvalidNative(why));
        let schema = match self.resolution {
            Resolution::Factor(f) if !(f.is_finite() && f > 1.0) => {
                return bad(format!("bucket factor {f} must be finite and > 1"));
            }
            Resolution::Factor(f) => pick_schema(f),
            Resolution::Schema(s) if !(MIN_SCHEMA..=MAX_SCHEMA).contains(&s) => {
                return bad(format!("schema {s} is outside {MIN_SCHEMA}..={MAX_SCHEMA}"));
            }
            Resolution::Schema(s) => s,
        };
        let zt = self.zero_threshold;
        if !(zt.is_finite() && zt >= 0.0) {
            return bad(format!("zero threshold {zt} must be finite and >= 0"));
        }
        let max_zt = self.max_zero_threshold.unwrap_or(zt);
        if !(max_zt.is_finite() && max_zt >= zt) {
            return bad(format!(
                "max zero threshold {max_zt} must be finite and >= the zero threshold {zt}"
            ));
        }
        Ok(NativeConfig {
            schema,
            zero_threshold: zt,
            max_zero_threshold: max_zt,
            max_buckets: self.max_buckets,
            index_cap: match self.max_buckets {
                0 => DEFAULT_MAX_BUCKETS * 4,
                n => n.saturating_mul(4).clamp(512, MAX_INDEX_CAP),
            },
            min_reset: self.min_reset,
            max_exemplars: self.max_exemplars,
        })
    }
}

/// Validated options, as a shard uses them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NativeConfig {
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    pub(crate) max_zero_threshold: f64,
    pub(crate) max_buckets: u32,
    /// Cells a shard's run may use (the memory cap).
    pub(crate) index_cap: u32,
    pub(crate) min_reset: Duration,
    pub(crate) max_exemplars: usize,
}

/// The merged native part of a histogram, as
/// [`Histogram::snapshot`](crate::Histogram::snapshot) reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct NativeSnapshot {
    /// The resolution, `-4..=8`.
    pub schema: i32,
    /// Width of the zero bucket, `[-zero_threshold, zero_threshold]`.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// `(key, count)` of the populated positive buckets, keys increasing;
    /// key `k` holds `(base^(k-1), base^k]`, `base = 2^(2^-schema)`.
    pub positive: Vec<(i32, u64)>,
    /// The negative buckets, the same way (key `k` holds
    /// `[-base^k, -base^(k-1))`).
    pub negative: Vec<(i32, u64)>,
    /// The native exemplars, oldest first.
    pub exemplars: Vec<Exemplar>,
}

/// A native histogram series' state beyond its options: the shards, the
/// exemplar ring and the creation time (which a reset moves).
pub(crate) struct Native {
    config: NativeConfig,
    classic_len: usize,
    shards: ThreadLocal<Box<CachePadded<Shard>>>,
    clock: quanta::Clock,
    origin: quanta::Instant,
    /// Seconds since the epoch at creation plus this many nanoseconds of
    /// the clock: the series' `_created` (moved by a reset).
    created_offset: AtomicU64,
    created: f64,
    /// Bumped by each reset; shards of an older epoch are stale (see
    /// `shard.rs`, "Resets").
    epoch: AtomicU64,
    /// Nanoseconds of the clock at the latest reset (0: creation).
    last_reset: AtomicU64,
    /// The exemplar ring: per thread that records exemplars, its latest
    /// `max_exemplars`; a scrape keeps the newest `max_exemplars` of all.
    ring: ExemplarSlots,
}

impl Native {
    pub(crate) fn new(config: NativeConfig, classic_len: usize, created: f64) -> Self {
        Self::with_clock(config, classic_len, created, quanta::Clock::new())
    }

    pub(crate) fn with_clock(
        config: NativeConfig,
        classic_len: usize,
        created: f64,
        clock: quanta::Clock,
    ) -> Self {
        let origin = clock.now();
        Self {
            config,
            classic_len,
            shards: ThreadLocal::new(),
            clock,
            origin,
            created_offset: AtomicU64::new(0),
            created,
            epoch: AtomicU64::new(0),
            last_reset: AtomicU64::new(0),
            ring: ExemplarSlots::default(),
        }
    }

    /// Records `v`, counted in classic bucket `classic` when the series has
    /// classic buckets. Not inlined into `Histogram::observe`: inlined, it
    /// made the classic path 0.3 to 0.8 ns slower (6.0 -> 6.8 ns in a
    /// single-thread loop on the 2-core VM); out of line the classic path
    /// measures as before and this one loses nothing within noise.
    #[inline(never)]
    pub(crate) fn observe(&self, v: f64, classic: usize) {
        let shard = self.shards.get_or(|| {
            Box::new(CachePadded::new(Shard::new(
                &self.config,
                self.classic_len,
                self.epoch(),
            )))
        });
        shard.observe(v, classic, self);
    }

    /// The reset epoch. Relaxed: a writer that sees a reset late counts
    /// its observation before it (see `shard.rs`); a scrape takes the
    /// newest epoch among this and its shards'.
    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// Resets the series if `min_reset` passed since the last reset (or
    /// creation): bumps the epoch and moves `_created`. True when this
    /// call, or a racing one, reset it.
    fn try_reset(&self) -> bool {
        if self.config.min_reset.is_zero() {
            return false;
        }
        let last = self.last_reset.load(Ordering::Relaxed);
        let now = self.elapsed();
        if u128::from(now.saturating_sub(last)) < self.config.min_reset.as_nanos() {
            return false;
        }
        // Relaxed throughout: one winner per reset is all the exchange
        // decides; `_created` and the epoch are labels, not fences. A
        // loser saw another thread reset just now.
        if self
            .last_reset
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.created_offset.fetch_max(now, Ordering::Relaxed);
            self.epoch.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Nanoseconds since the series was created, on its clock.
    fn elapsed(&self) -> u64 {
        let d = self.clock.now().duration_since(self.origin);
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Keeps `e` with `value` among the calling thread's latest
    /// `max_exemplars`.
    pub(crate) fn record_exemplar(&self, e: &Checked<'_>, value: f64) {
        let n = self.config.max_exemplars;
        if n > 0 {
            self.ring.push(n, e, value);
        }
    }

    /// The newest `max_exemplars` over all threads, oldest first, into
    /// `out`; `bytes` is scratch for the copies.
    pub(crate) fn exemplars_into(&self, out: &mut Vec<Exemplar>, bytes: &mut Vec<u8>) {
        self.ring.newest_into(self.config.max_exemplars, out, bytes);
    }

    /// `_created`, seconds since the epoch: creation, or the latest reset.
    pub(crate) fn created(&self) -> f64 {
        let offset = self.created_offset.load(Ordering::Relaxed);
        self.created + offset as f64 / 1e9
    }

    pub(crate) fn config(&self) -> &NativeConfig {
        &self.config
    }
}

impl std::fmt::Debug for Native {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Native")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
