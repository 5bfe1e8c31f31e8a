use super::sketch::{MIN_RELATIVE_ERROR, Sketch};
use super::{Metric, Scratch, Sealed, SummaryTimer};
use crate::chunked::Loc;
use crate::error::Error;
use crate::family::{Desc, Family};
use crate::local::{engine, writer};
use crate::slots::{NarrowSlots, Slots, created_now};
use crate::sync::{AtomicU32, Ordering};
use crate::visit::{LabelSet, MetricType, MetricVisitor, SeriesValue, SummaryValue};
use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use triomphe::Arc;

/// How a [`Summary`] computes its quantiles: which ones, over which window,
/// to which accuracy. Validated when the summary is registered
/// ([`Error::InvalidSummary`]).
///
/// ```
/// use hotmetrics_core::SummaryOpts;
/// use std::time::Duration;
/// let opts = SummaryOpts::new()
///     .objectives(&[(0.5, 0.05), (0.99, 0.001)])
///     .max_age(Duration::from_secs(60))
///     .age_buckets(3)
///     .relative_error(0.02);
/// assert_ne!(opts, SummaryOpts::default());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryOpts {
    objectives: Vec<(f64, f64)>,
    max_age: Duration,
    age_buckets: u32,
    relative_error: f64,
}

impl Default for SummaryOpts {
    /// Objectives `[(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)]`, a window of
    /// 10 minutes in 5 age buckets, relative error 1 %.
    fn default() -> Self {
        Self {
            objectives: vec![(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)],
            max_age: Duration::from_secs(600),
            age_buckets: 5,
            relative_error: 0.01,
        }
    }
}

impl SummaryOpts {
    /// The defaults (see [`Default`](#impl-Default-for-SummaryOpts)).
    pub fn new() -> Self {
        Self::default()
    }

    /// The quantiles to report, as `(quantile, allowed error)` pairs in the
    /// form client_golang and aioprometheus take. Each quantile is in
    /// `[0, 1]` and given once; each error in `[0, 1]`. The error is the
    /// *rank* error those clients' CKMS streams allow; this sketch selects
    /// the exact rank instead and bounds the *value* error by
    /// [`relative_error`](Self::relative_error), so the error given here is
    /// checked and otherwise unused. No objectives: only `_sum` and
    /// `_count`.
    pub fn objectives(mut self, objectives: &[(f64, f64)]) -> Self {
        self.objectives = objectives.to_vec();
        self
    }

    /// How far back the quantiles look (default 10 minutes, as
    /// client_golang's `DefMaxAge`). Must not be zero.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// In how many steps the window slides (default 5, client_golang's
    /// `DefAgeBuckets`): it moves by `max_age / age_buckets` at a time.
    /// Must not be zero.
    pub fn age_buckets(mut self, age_buckets: u32) -> Self {
        self.age_buckets = age_buckets;
        self
    }

    /// The relative error `α` of a reported quantile's value, in
    /// `[1e-4, 0.5)` (default 0.01). Memory grows as `1 / α`: see
    /// [`Summary`]; at the floor of `1e-4` a series takes 829 KB of
    /// address space per writer thread.
    pub fn relative_error(mut self, alpha: f64) -> Self {
        self.relative_error = alpha;
        self
    }

    /// Checks the options; the quantiles increasing and the bucket layout.
    fn validate(&self) -> Result<(Vec<f64>, Sketch), Error> {
        let bad = |why: String| Err(Error::InvalidSummary(why));
        let mut quantiles = Vec::with_capacity(self.objectives.len());
        for &(q, e) in &self.objectives {
            if !(0.0..=1.0).contains(&q) {
                return bad(format!("quantile {q} is outside [0, 1]"));
            }
            if !(0.0..=1.0).contains(&e) {
                return bad(format!("the error {e} of quantile {q} is outside [0, 1]"));
            }
            if quantiles.contains(&q) {
                return bad(format!("quantile {q} is given twice"));
            }
            quantiles.push(q);
        }
        quantiles.sort_by(f64::total_cmp);
        let alpha = self.relative_error;
        if !(MIN_RELATIVE_ERROR..0.5).contains(&alpha) {
            return bad(format!(
                "relative error {alpha} is outside [{MIN_RELATIVE_ERROR}, 0.5)"
            ));
        }
        if self.age_buckets == 0 {
            return bad("age_buckets is 0: the window needs at least one".into());
        }
        if self.max_age.is_zero() {
            return bad("max_age is 0: the window would always be empty".into());
        }
        if (self.max_age / self.age_buckets).is_zero() {
            return bad(format!(
                "max_age {:?} is shorter than age_buckets ({}) nanoseconds",
                self.max_age, self.age_buckets
            ));
        }
        Ok((quantiles, Sketch::new(alpha)?))
    }
}

#[derive(Debug)]
struct SummaryCell {
    /// One narrow cell per sketch slot from the zero bucket on (zero,
    /// positive buckets, `+Inf`, NaN); cumulative, never reset.
    counts: NarrowSlots,
    /// The cells of the slots below the zero bucket (`-Inf` and the
    /// negative buckets), allocated at the series' first negative
    /// observation: most summaries (latencies, sizes) never see one, and
    /// their writers' arenas then hold half the cells.
    negative: OnceLock<NarrowSlots>,
    /// The slots below the NaN slot that hold counts: a read reads only
    /// these (a default sketch has 4,152 slots, 2,077 of them from the zero
    /// bucket on; one workload's four decades use about 460).
    seen: SeenSlots,
    /// The sum, a 64-bit cell.
    sum: Slots,
    sketch: Sketch,
    /// The objectives' quantiles, increasing.
    quantiles: Box<[f64]>,
    window: Mutex<Window>,
    created: f64,
}

impl SummaryCell {
    /// The negative half's cells, once a negative observation allocated
    /// them.
    fn negative(&self) -> Option<&NarrowSlots> {
        self.negative.get()
    }

    /// Where `slot`, a slot below the zero bucket, is counted: in the
    /// negative half, allocated now if this is the series' first negative
    /// value. If the slot space is exhausted (a million summaries, or
    /// another type's worth), the value counts in the NaN slot: in
    /// `_count` and `_sum` (added by the caller), in no quantile; the next
    /// negative value tries again.
    #[cold]
    #[inline(never)]
    fn negative_slot(&self, slot: u32) -> Loc {
        let half = match self.negative.get() {
            Some(half) => Some(half),
            None => NarrowSlots::alloc(self.sketch.zero_slot())
                .ok()
                // A racing first negative may have won: then `set` hands
                // ours back, and dropping it frees its slots.
                .and_then(|mine| {
                    let _ = self.negative.set(mine);
                    self.negative.get()
                }),
        };
        match half {
            Some(half) => half.loc(slot),
            None => self
                .counts
                .loc(self.sketch.nan_slot() as u32 - self.sketch.zero_slot()),
        }
    }
}

/// `lo..hi`: the slots observations went to (the NaN slot aside). Only
/// ever widens, so a slot a read once covered is covered by every later
/// read, and the window's snapshots stay below the counts.
#[derive(Debug)]
struct SeenSlots {
    lo: AtomicU32,
    hi: AtomicU32,
}

impl SeenSlots {
    fn new() -> Self {
        Self {
            lo: AtomicU32::new(u32::MAX),
            hi: AtomicU32::new(0),
        }
    }

    /// Widens the range to `slot`, before its count is added. A widening
    /// is a read-modify-write on a line every writer of the series reads,
    /// but it happens only when an observation lands outside every earlier
    /// one (at most once per slot and thread racing for it): steady-state
    /// observations only load the two bounds.
    #[inline]
    fn note(&self, slot: u32) {
        // Relaxed: a read that sees a count but not the widening that came
        // before it leaves that count out, as if the observation came after
        // the read; the next read covers it (counts never go down).
        if slot < self.lo.load(Ordering::Relaxed) {
            self.lo.fetch_min(slot, Ordering::Relaxed);
        }
        if slot >= self.hi.load(Ordering::Relaxed) {
            self.hi.fetch_max(slot + 1, Ordering::Relaxed);
        }
    }

    /// The slots to read (empty when nothing was observed).
    fn range(&self) -> (u32, u32) {
        let lo = self.lo.load(Ordering::Relaxed);
        let hi = self.hi.load(Ordering::Relaxed);
        (lo.min(hi), hi)
    }
}

/// The sliding window: snapshots of the cumulative counts taken by reads;
/// the window is the current counts minus one of them.
#[derive(Debug)]
struct Window {
    /// `max_age / age_buckets`: a read takes a snapshot when the newest is
    /// at least this old.
    step: Duration,
    /// `(age_buckets - 1) * step`: the window starts at the newest
    /// snapshot at least this old.
    span: Duration,
    /// At most `age_buckets + 1` snapshots, oldest first; never empty (the
    /// first is the series' creation, all zeros). The one more than
    /// `age_buckets` is the one a read just took, which it does not
    /// subtract: with it, the start a read chooses is the same whether it
    /// rotates or not (and with `age_buckets` 1, where `span` is 0, it is
    /// not the read's own snapshot, which would leave the window empty).
    ring: VecDeque<Counts>,
    capacity: usize,
}

/// Cumulative counts at `at`, sparse: `(slot, count)` of non-zero slots.
#[derive(Debug)]
struct Counts {
    at: Instant,
    counts: Vec<(u32, u64)>,
}

impl Window {
    fn new(opts: &SummaryOpts, now: Instant) -> Self {
        let step = opts.max_age / opts.age_buckets;
        Self {
            step,
            span: step * (opts.age_buckets - 1),
            ring: VecDeque::from([Counts {
                at: now,
                counts: Vec::new(),
            }]),
            capacity: opts.age_buckets as usize + 1,
        }
    }

    /// Rotates if a step passed since the last snapshot (taking `current`,
    /// the cumulative counts read at `now`), then turns `current` into the
    /// window's counts. Reads take turns under the window's lock and read
    /// the counts inside it, so `current` is no lower than any snapshot.
    /// `current` holds the counts of the slots from `first` on.
    fn apply(&mut self, now: Instant, current: &mut [u64], first: u32) {
        let newest = self.ring.back().map_or(now, |c| c.at);
        let rotate = now.saturating_duration_since(newest) >= self.step;
        if rotate {
            let mut counts = if self.ring.len() >= self.capacity {
                self.ring.pop_front().map(|c| c.counts).unwrap_or_default()
            } else {
                Vec::new()
            };
            counts.clear();
            counts.extend(
                (first..)
                    .zip(current.iter())
                    .filter(|(_, c)| **c > 0)
                    .map(|(s, c)| (s, *c)),
            );
            self.ring.push_back(Counts { at: now, counts });
        }
        let span = self.span;
        // Not the snapshot this read just took (there is an older one: the
        // capacity is at least 2).
        let start = self
            .ring
            .iter()
            .rev()
            .skip(usize::from(rotate))
            .find(|c| now.saturating_duration_since(c.at) >= span)
            .or(self.ring.front());
        for &(slot, n) in start.map_or(&[][..], |c| &c.counts) {
            // Every snapshot's slots are within the range read now (it
            // only widens).
            let at = slot.checked_sub(first).map(|i| i as usize);
            if let Some(c) = at.and_then(|i| current.get_mut(i)) {
                debug_assert!(n <= *c, "slot {slot}: snapshot {n} above the count {c}");
                *c -= n;
            }
        }
    }
}

/// A summary: quantiles of the observations of a sliding window, and the
/// count and sum of all observations.
///
/// ```
/// use hotmetrics_core::{Registry, SummaryOpts};
/// let registry = Registry::new();
/// let latency = registry
///     .summary(("rpc_seconds", "RPC latency"), SummaryOpts::default())
///     .unwrap();
/// for ms in 1..=100 {
///     latency.observe(ms as f64 / 1000.0);
/// }
/// let snap = latency.snapshot();
/// assert_eq!(snap.count, 100);
/// let (q, median) = snap.quantiles[0];
/// assert_eq!(q, 0.5);
/// // The exact median (rank floor(0.5 * 99) = 49) is 0.050, within 1 %:
/// assert!((median - 0.050).abs() <= 0.01 * 0.050);
/// ```
///
/// **Accuracy.** Quantiles come from a log-bucket sketch (DDSketch's
/// mapping, `γ = (1 + α) / (1 − α)` for [relative
/// error](SummaryOpts::relative_error) `α`). The exact `q`-quantile of the
/// window's `n` observations is the one at 0-based rank `⌊q·(n − 1)⌋` when
/// sorted (NaN left out), as DDSketch defines it; the reported value is
/// within `α·|x|` of it for `|x|` in `[1e-9, 1e9]`, negative values
/// included. Smaller magnitudes (and 0) count in a zero bucket and report
/// 0; larger ones (and infinities) report `±Inf`. The rank is exact: the
/// per-thread counts merge exactly, however the observations were spread
/// over threads, so the objectives' rank errors are not needed (they are
/// checked, and kept for compatibility with client_golang's
/// `Objectives`). NaN counts in `_count` and makes `_sum` NaN, as in
/// client_golang, and is in no quantile. A window without observations
/// reports NaN quantiles, as client_golang does.
///
/// **Window.** Counts are cumulative; the window is the difference
/// between the counts now and a snapshot of them taken earlier. Only reads
/// (scrapes, [`snapshot`](Self::snapshot), expiry sweeps) take snapshots:
/// one when the newest is at least `step = max_age / age_buckets` old, and
/// at most `age_buckets + 1` are kept. Reads take turns on the series'
/// window lock, reading the clock and the counts inside it. A read reports the observations since
/// the newest snapshot at least `max_age − step` old (since creation for a
/// younger series): at least the last `max_age − step`, and less than
/// `max_age` plus the longest time between two reads in it. With reads
/// more often than `step` that is about client_golang's `max_age − step`
/// to `max_age`; rarer reads widen it (a summary scraped every 15 minutes
/// with `max_age` of 10 reports the last 15). With `age_buckets` 1 a read
/// reports the observations since the last snapshot, and the window
/// restarts empty every `max_age` (as in client_golang) or at the next
/// read after it.
///
/// **Costs.** `observe` is a logarithm, one add to the calling thread's
/// narrow cell of the value's bucket and one to its sum cell: no lock, no
/// shared read-modify-write, and no allocation once the thread's arena
/// holds the chunk of the bucket's cell (a thread's first write into a new
/// arena chunk allocates it, as for every metric type). Each writer
/// thread's arena has `2 · (K + 3) + 8` bytes of address space per series
/// (16-bit bucket cells, see `Histogram`), with `K ≈ ln(1e18) / ln γ + 1`
/// buckets per sign: 4.2 KB at `α` = 0.01 (K = 2074), 0.85 KB at 0.05
/// (K = 416), 41 KB at 0.001, 414 KB at the floor `α` = 1e-4
/// (K = 207,234); the negative half, `2 · (K + 1)` bytes
/// more, only once the series saw a negative value (its first one
/// allocates the slots; while the engine's slot space is exhausted,
/// negative values count in `_count` and `_sum` but in no quantile). A
/// scrape reads the buckets between the lowest and highest one observed,
/// in every writer arena, so its cost grows with the number of threads
/// that wrote; the window snapshots cost 16 bytes per non-empty bucket
/// each, at most `age_buckets + 1` of them per series.
#[derive(Clone, Debug)]
pub struct Summary(Arc<SummaryCell>);

/// A read of a summary.
#[derive(Clone, Debug, PartialEq)]
pub struct SummarySnapshot {
    /// `(quantile, value)` pairs over the window, quantiles increasing.
    pub quantiles: Vec<(f64, f64)>,
    /// Number of observations, ever.
    pub count: u64,
    /// Sum of the observations, ever.
    pub sum: f64,
}

impl Summary {
    /// Records `v` (see the type's docs for NaN, zero and the value range).
    #[inline]
    pub fn observe(&self, v: f64) {
        let cell = &*self.0;
        let slot = cell.sketch.slot(v);
        if (slot as usize) < cell.sketch.nan_slot() {
            cell.seen.note(slot);
        }
        let cell_slot = match slot.checked_sub(cell.sketch.zero_slot()) {
            Some(i) => cell.counts.loc(i),
            None => cell.negative_slot(slot),
        };
        let w = writer();
        w.add_narrow(cell_slot, 1);
        w.add_f64(cell.sum.loc(), v);
    }

    /// Records a duration in seconds.
    #[inline]
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// Starts a timer that records the elapsed seconds when dropped or
    /// [stopped](SummaryTimer::observe_duration).
    ///
    /// ```
    /// let registry = hotmetrics_core::Registry::new();
    /// let s = registry.summary(("step_seconds", "Step time"), Default::default()).unwrap();
    /// {
    ///     let _t = s.start_timer();
    /// }
    /// assert_eq!(s.snapshot().count, 1);
    /// ```
    #[must_use = "the duration is recorded when the timer is dropped"]
    pub fn start_timer(&self) -> SummaryTimer<'_> {
        SummaryTimer::new(self)
    }

    /// Runs `f` and records how long it took.
    pub fn time<R>(&self, f: impl FnOnce() -> R) -> R {
        let _t = self.start_timer();
        f()
    }

    /// Merges all threads' cells and reads the window, which it may slide
    /// as a scrape does (allocates; scrapes use the visitor instead).
    pub fn snapshot(&self) -> SummarySnapshot {
        self.snapshot_at(Instant::now)
    }

    fn snapshot_at(&self, now: impl FnOnce() -> Instant) -> SummarySnapshot {
        let mut counts = Vec::new();
        let mut quantiles = Vec::new();
        let (count, sum) = self.read(now, &mut counts, &mut quantiles);
        SummarySnapshot {
            quantiles,
            count,
            sum,
        }
    }

    /// Merges the cumulative counts of the slots seen into `counts` (one
    /// entry per slot from the lowest seen), the window's quantiles into
    /// `quantiles`; returns count and sum.
    ///
    /// The clock and the counts are read under the window's lock: a read
    /// that took its time or counts before another read's rotation could
    /// otherwise subtract a snapshot newer than its own counts.
    fn read(
        &self,
        now: impl FnOnce() -> Instant,
        counts: &mut Vec<u64>,
        quantiles: &mut Vec<(f64, f64)>,
    ) -> (u64, f64) {
        let cell = &*self.0;
        let mut window = cell.window.lock().unwrap_or_else(PoisonError::into_inner);
        let now = now();
        // The range inside the lock: the next read under it sees at least
        // as wide a one, so no snapshot holds a slot a later read skips.
        let (lo, hi) = cell.seen.range();
        counts.clear();
        counts.resize((hi - lo) as usize, 0);
        // Slots `lo..hi` are read in two parts: those below the zero
        // bucket from the negative half (all zero while it is not
        // allocated), the rest from `counts`.
        let zero = cell.sketch.zero_slot();
        let (below, from_zero) = counts.split_at_mut((zero.clamp(lo, hi) - lo) as usize);
        if let Some(half) = cell.negative().filter(|_| !below.is_empty()) {
            engine().sum_range_narrow(half.start() + lo, below);
        }
        let start = cell.counts.start();
        if !from_zero.is_empty() {
            engine().sum_range_narrow(start + lo.max(zero) - zero, from_zero);
        }
        let mut nan = [0];
        engine().sum_range_narrow(start + cell.sketch.nan_slot() as u32 - zero, &mut nan);
        // The sum, a 64-bit cell, is read directly, after the buckets.
        let sum = engine().sum_f64(cell.sum.start());
        let count = counts.iter().fold(nan[0], |a, &c| a.wrapping_add(c));
        window.apply(now, counts, lo);
        drop(window);
        cell.sketch
            .quantiles(counts, lo as usize, &cell.quantiles, quantiles);
        (count, sum)
    }
}

impl Family<Summary> {
    /// Starts a timer on the series for `values` (created on first use)
    /// that owns its series, as
    /// [`Family::<Histogram>::start_timer`](Family::start_timer) does.
    ///
    /// ```
    /// use hotmetrics_core::{Registry, SummaryOpts};
    /// let registry = Registry::new();
    /// let latency = registry
    ///     .summary_vec(("request_seconds", "Request time"), SummaryOpts::default(), &["route"])
    ///     .unwrap();
    /// drop(latency.start_timer(&["/orders"]).unwrap());
    /// assert_eq!(latency.get_or_create(&["/orders"]).unwrap().snapshot().count, 1);
    /// ```
    #[must_use = "the duration is recorded when the timer is dropped"]
    #[inline]
    pub fn start_timer(&self, values: &[&str]) -> Result<SummaryTimer<'static>, Error> {
        self.handle(values).map(SummaryTimer::owned)
    }
}

impl Metric for Summary {
    type Config = SummaryOpts;
    const TYPE: MetricType = MetricType::Summary;
}

/// Checks summary options when a summary or family is registered. A
/// family creates its series lazily (at the first `with` of some label
/// values), and `create` validates again as it needs the checked layout:
/// without this check a bad `SummaryOpts` would only fail at that first
/// use, not at registration.
pub(crate) fn validate(opts: &SummaryOpts) -> Result<(), Error> {
    opts.validate().map(drop)
}

impl Sealed for Summary {
    fn references(&self) -> usize {
        Arc::count(&self.0)
    }

    fn is_unique(&mut self) -> bool {
        Arc::get_mut(&mut self.0).is_some()
    }

    fn create(opts: &SummaryOpts, _: &Desc) -> Result<Self, Error> {
        let (quantiles, sketch) = opts.validate()?;
        // Calibrate the timer clock now, not in the first timed update.
        let _ = quanta::Instant::now();
        Ok(Self(Arc::new(SummaryCell {
            counts: NarrowSlots::alloc(sketch.len() - sketch.zero_slot())?,
            negative: OnceLock::new(),
            seen: SeenSlots::new(),
            sum: Slots::alloc()?,
            sketch,
            quantiles: quantiles.into(),
            window: Mutex::new(Window::new(opts, Instant::now())),
            created: created_now(),
        })))
    }

    fn visit_series(
        &self,
        labels: &dyn LabelSet,
        scratch: &mut Scratch,
        out: &mut dyn MetricVisitor,
    ) {
        let counts = &mut scratch.buckets;
        // Read directly, not through the scrape's merged blocks: a summary
        // fills its blocks alone, and they would keep 8 bytes per slot.
        let (count, sum) = self.read(Instant::now, counts, &mut scratch.quantiles);
        out.series(
            labels,
            &SeriesValue::Summary(SummaryValue {
                quantiles: &scratch.quantiles,
                count,
                sum,
                created: Some(self.0.created),
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;

    fn summary(opts: SummaryOpts) -> Summary {
        Registry::new().summary(("s", "s"), opts).unwrap()
    }

    /// Reads cover the slots observations went to, widening down and up
    /// with them; a NaN counts without widening them.
    #[test]
    fn reads_cover_the_slots_seen_as_they_widen() {
        let s = summary(SummaryOpts::default());
        assert_eq!(s.0.seen.range(), (0, 0));
        let empty = s.snapshot();
        assert_eq!(empty.count, 0);
        assert!(empty.quantiles.iter().all(|(_, v)| v.is_nan()));
        s.observe(1.0);
        s.observe(f64::NAN);
        let one = s.0.sketch.slot(1.0);
        assert_eq!(s.0.seen.range(), (one, one + 1));
        assert_eq!(s.snapshot().count, 2);
        for _ in 0..10 {
            s.observe(1e6);
        }
        let median = |s: &Summary| s.snapshot().quantiles[0].1;
        assert!((median(&s) / 1e6 - 1.0).abs() <= 0.01, "{}", median(&s));
        for _ in 0..30 {
            s.observe(1e-6);
        }
        assert!((median(&s) / 1e-6 - 1.0).abs() <= 0.01, "{}", median(&s));
        let (lo, hi) = s.0.seen.range();
        assert_eq!((lo, hi), (s.0.sketch.slot(1e-6), s.0.sketch.slot(1e6) + 1));
        let all = s.snapshot();
        assert_eq!(all.count, 42);
        assert!(all.sum.is_nan());
    }

    fn created(s: &Summary) -> Instant {
        s.0.window.lock().unwrap().ring[0].at
    }

    fn median(s: &Summary, now: Instant) -> f64 {
        s.snapshot_at(|| now).quantiles[0].1
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn old_observations_leave_the_window_count_and_sum_stay() {
        let opts = SummaryOpts::new()
            .objectives(&[(0.5, 0.05)])
            .max_age(10 * MIN)
            .age_buckets(5);
        let s = summary(opts);
        let t0 = created(&s);
        for _ in 0..10 {
            s.observe(1.0);
        }
        // Reads every minute; the value changes at minute 5.
        for m in 1..=5 {
            assert!((median(&s, t0 + m * MIN) - 1.0).abs() <= 0.01);
        }
        for _ in 0..30 {
            s.observe(100.0);
        }
        for m in 6..=9 {
            // 10 ones and 30 hundreds: the median is 100.
            assert!(
                (median(&s, t0 + m * MIN) - 100.0).abs() <= 1.0,
                "minute {m}"
            );
        }
        // From minute 10 the window starts at the snapshot of minute 2
        // (the newest at least 8 minutes old): the ones are gone.
        let snap = s.snapshot_at(|| t0 + 10 * MIN);
        assert!((snap.quantiles[0].1 - 100.0).abs() <= 1.0);
        // Minute 12 starts at minute 4: only the hundreds, still.
        assert!((median(&s, t0 + 12 * MIN) - 100.0).abs() <= 1.0);
        // Minute 14 starts at minute 6, after every observation.
        assert!(median(&s, t0 + 14 * MIN).is_nan(), "an empty window is NaN");
        let snap = s.snapshot_at(|| t0 + 16 * MIN);
        assert_eq!(snap.count, 40, "count is over the whole life");
        assert_eq!(snap.sum, 3010.0);
    }

    #[test]
    fn window_bounds_hold_for_every_read_pattern() {
        // One observation a minute, value = its minute; reads at irregular
        // intervals. The window a read reports must cover at least
        // max_age - step and less than max_age + the longest gap between
        // two reads.
        let opts = SummaryOpts::new()
            .objectives(&[(0.0, 0.0), (1.0, 0.0)])
            .max_age(10 * MIN)
            .age_buckets(5)
            .relative_error(0.001);
        let s = summary(opts);
        let t0 = created(&s);
        let reads = [1, 2, 3, 7, 8, 9, 15, 16, 31, 32, 33, 34, 35, 36, 37, 60, 61];
        let mut observed = 0;
        let (mut last, mut gap) = (0, 0);
        for &r in &reads {
            gap = gap.max(r - last);
            while observed < r {
                observed += 1;
                s.observe(observed as f64);
            }
            let snap = s.snapshot_at(|| t0 + r * MIN);
            let (lo, hi) = (snap.quantiles[0].1, snap.quantiles[1].1);
            // Minutes in the window: oldest..=newest observation.
            assert!(
                (hi - r as f64).abs() <= 0.01 * r as f64,
                "read {r}: newest {hi}"
            );
            let oldest = lo.round() as u32;
            let covered = r - oldest + 1;
            // A series younger than 8 minutes covers its whole life.
            assert!(covered >= r.min(8), "read {r}: covers {covered} minutes");
            assert!(covered < 10 + gap, "read {r}: covers {covered} minutes");
            last = r;
        }
    }

    #[test]
    fn one_age_bucket_restarts_the_window() {
        let opts = SummaryOpts::new()
            .objectives(&[(0.5, 0.05)])
            .max_age(MIN)
            .age_buckets(1);
        let s = summary(opts);
        let t0 = created(&s);
        s.observe(3.0);
        assert!((median(&s, t0 + MIN / 2) - 3.0).abs() <= 0.03);
        // Rotates: reports since creation, then restarts from here.
        assert!((median(&s, t0 + MIN) - 3.0).abs() <= 0.03);
        s.observe(5.0);
        assert!((median(&s, t0 + MIN * 3 / 2) - 5.0).abs() <= 0.05);
        assert!((median(&s, t0 + 2 * MIN) - 5.0).abs() <= 0.05);
        assert!(median(&s, t0 + MIN * 5 / 2).is_nan(), "nothing since 2 min");
        assert_eq!(s.snapshot_at(|| t0 + 3 * MIN).count, 2);
    }

    #[test]
    fn one_age_bucket_read_rarely_reports_what_came_since_the_last_read() {
        // Reads 1.5 max_age apart: each one rotates, and must report the
        // observations since the previous read, not its own empty window.
        let opts = SummaryOpts::new()
            .objectives(&[(0.5, 0.05)])
            .max_age(MIN)
            .age_buckets(1);
        let s = summary(opts);
        let t0 = created(&s);
        for k in 1..=6u32 {
            let v = f64::from(k * 10);
            s.observe(v);
            s.observe(v);
            let got = median(&s, t0 + MIN * 3 * k / 2);
            assert!((got - v).abs() <= 0.01 * v, "read {k}: {got}, want {v}");
        }
    }

    #[test]
    fn ring_stays_within_age_buckets_plus_one() {
        let s = summary(SummaryOpts::new().max_age(10 * MIN).age_buckets(5));
        let t0 = created(&s);
        for m in 1..200 {
            s.observe(m as f64);
            s.snapshot_at(|| t0 + m * MIN / 3);
            assert!(s.0.window.lock().unwrap().ring.len() <= 6);
        }
    }

    /// What happens between two reads: an observation, or a read after
    /// the clock moved on by some milliseconds.
    #[derive(Clone, Debug)]
    enum Event {
        Observe(f64),
        Read(u64),
    }

    fn event() -> impl proptest::strategy::Strategy<Value = Event> {
        use proptest::prelude::*;
        prop_oneof![
            3 => (-3.0f64..3.0).prop_map(|e| Event::Observe(10f64.powf(e))),
            1 => (0u64..180_000).prop_map(Event::Read),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Reads at random times on the injected clock report, for every
        /// objective, the exact quantile (within α) of the observations in
        /// the window the docs define: since the newest snapshot at least
        /// `max_age − step` old, snapshots being taken by reads once the
        /// newest is `step` old (since creation when none is that old).
        /// The model keeps every snapshot; the summary keeps a few.
        #[test]
        fn reads_report_the_documented_window(
            events in proptest::collection::vec(event(), 1..300),
            age_buckets in 1u32..=5,
        ) {
            const ALPHA: f64 = 0.01;
            let qs = [0.0, 0.25, 0.5, 0.9, 1.0];
            let max_age = MIN;
            let opts = SummaryOpts::new()
                .objectives(&qs.map(|q| (q, 0.01)))
                .max_age(max_age)
                .age_buckets(age_buckets)
                .relative_error(ALPHA);
            let (step, span) = (max_age / age_buckets, max_age / age_buckets * (age_buckets - 1));
            let s = summary(opts);
            let t0 = created(&s);
            let mut observed = Vec::new();
            // (time since creation, observations before it).
            let mut snapshots = vec![(Duration::ZERO, 0usize)];
            let (mut t, mut gap) = (Duration::ZERO, Duration::ZERO);
            for e in events {
                match e {
                    Event::Observe(v) => {
                        s.observe(v);
                        observed.push(v);
                    }
                    Event::Read(ms) => {
                        let dt = Duration::from_millis(ms);
                        (t, gap) = (t + dt, gap.max(dt));
                        let snap = s.snapshot_at(|| t0 + t);
                        let &(at, from) = snapshots
                            .iter()
                            .rev()
                            .find(|(at, _)| t - *at >= span)
                            .unwrap_or(&snapshots[0]);
                        // The documented bounds of that window.
                        proptest::prop_assert!(at.is_zero() || t - at >= span);
                        proptest::prop_assert!(t - at < max_age + gap);
                        if t - snapshots.last().unwrap().0 >= step {
                            snapshots.push((t, observed.len()));
                        }
                        let mut window = observed[from..].to_vec();
                        window.sort_by(f64::total_cmp);
                        proptest::prop_assert_eq!(snap.count, observed.len() as u64);
                        for (&(q, got), &want_q) in snap.quantiles.iter().zip(&qs) {
                            proptest::prop_assert_eq!(q, want_q);
                            if window.is_empty() {
                                proptest::prop_assert!(got.is_nan(), "q {}: {} of nothing", q, got);
                            } else {
                                let x = window[(q * (window.len() - 1) as f64).floor() as usize];
                                proptest::prop_assert!(
                                    (got - x).abs() <= ALPHA * x * (1.0 + 1e-9),
                                    "t {:?} q {}: got {}, exact {} of {}", t, q, got, x, window.len()
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
