//! Exemplars: a sample's own labels (a trace id, usually), its value and
//! when it was taken, attached to a counter or a histogram bucket so a
//! dashboard can jump from a metric to a trace.
//!
//! [`Exemplar`] is the value a scrape hands to exporters (and a collector
//! may build). It is immutable and shared by reference count.
//!
//! [`ExemplarSlots`] is where a series keeps its exemplars: per thread that
//! records any, one [`ExemplarCell`] per slot (the counter's one, a
//! histogram's buckets, a native histogram's ring), written by that thread
//! alone under a sequence count (see `exemplar_cell.rs`). Recording checks
//! the labels, reads the TSC (`quanta`'s raw clock) and copies the labels
//! into the thread's cell: no allocation after the thread's first exemplar
//! on the series, no lock, no read-modify-write, no cache line another
//! writer touches. A scrape tries, per slot, the cells newest first by
//! timestamp and copies out the first it reads whole (never a torn one:
//! one torn on every try is skipped for the next newest); it builds the
//! [`Exemplar`] then (the copy reuses the scrape's scratch; the labels,
//! their ends and the `Arc` are three allocations) and keeps it with the
//! cell's sequence count: while the count is unchanged, later scrapes get
//! a clone of it (no allocation, no copy). The plain `inc` / `observe`
//! never touch the slots.
//!
//! Memory, once a thread records an exemplar on a series: a 128-byte cell
//! per slot (labels of up to 80 bytes inline, longer ones in a 560-byte
//! buffer allocated once per cell), plus the thread's entry in the
//! series' `ThreadLocal` (about 32 bytes: the cell list and a flag), plus,
//! once per series, the `ThreadLocal` table itself (a boxed array of bucket
//! pointers, about 512 bytes).

use crate::error::Error;
use crate::escaping::is_legacy_label_name;
use crate::exemplar_cell::{CellRead, ExemplarCell};
use crate::sync::{AtomicUsize, Ordering};
use crate::visit::LabelSet;
use once_cell::race::OnceBox;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use thread_local::ThreadLocal;

/// Labels checked once for recording, with the time they were recorded.
pub(crate) struct Checked<'a> {
    labels: &'a [(&'a str, &'a str)],
    /// The names' and values' bytes together.
    bytes: usize,
    ticks: u64,
}

impl<'a> Checked<'a> {
    /// Checks `labels` (the rules of [`Exemplar::new`]) and reads the clock.
    pub(crate) fn new(labels: &'a [(&'a str, &'a str)]) -> Result<Self, Error> {
        Ok(Self {
            labels,
            bytes: check(labels)?,
            ticks: clock::ticks(),
        })
    }
}

/// A series' exemplar slots: `len` cells for each thread that records an
/// exemplar on it, allocated on that thread's first one, and what scrapes
/// last read of them. A series that never records one pays an empty
/// `OnceBox`: one word (a `OnceLock<Box<_>>` took two, 8 B a series). Two
/// threads racing to record the series' first exemplars may both build
/// the (empty) slots; one is kept, the other dropped.
#[derive(Default)]
pub(crate) struct ExemplarSlots(OnceBox<Slots>);

struct Slots {
    threads: ThreadLocal<ThreadCells>,
    /// The `Exemplar` each cell last gave a scrape, with the cell's
    /// version then: while the version holds, a read hands out a clone (an
    /// `Arc`), so steady-state scrapes allocate nothing for exemplars that
    /// did not change. One entry per cell ever read (bounded by the cells);
    /// a lock only reads take, never the exemplar path.
    read: Mutex<Vec<Kept>>,
}

/// An `Exemplar` a scrape made of a cell (known by its address, stable
/// for the series' life) at `version`.
struct Kept {
    cell: usize,
    version: u64,
    exemplar: Exemplar,
}

impl Slots {
    /// Cell `c`'s exemplar: the one kept if its version still holds, else
    /// a fresh read (kept for the next scrape); `None` if the cell holds
    /// none or every read tore.
    fn read(
        &self,
        c: &ExemplarCell,
        now: &mut Option<clock::Now>,
        bytes: &mut Vec<u8>,
    ) -> Option<Exemplar> {
        let cell = std::ptr::from_ref(c) as usize;
        let mut kept = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        let at = kept.iter().position(|k| k.cell == cell);
        if let (Some(i), Some(v)) = (at, c.version())
            && kept[i].version == v
        {
            return Some(kept[i].exemplar.clone());
        }
        let (version, r) = c.read_versioned(bytes)?;
        let now = *now.get_or_insert_with(clock::Now::read);
        let exemplar = Exemplar::from_cell(r, now);
        let k = Kept {
            cell,
            version,
            exemplar: exemplar.clone(),
        };
        match at {
            Some(i) => kept[i] = k,
            None => kept.push(k),
        }
        Some(exemplar)
    }
}

/// One thread's cells of a series.
struct ThreadCells {
    /// The ring's next cell (`push`); only the owning thread writes it.
    next: AtomicUsize,
    cells: Box<[ExemplarCell]>,
}

impl ExemplarSlots {
    /// The calling thread's cells, `len` of them.
    fn mine(&self, len: usize) -> &ThreadCells {
        self.0
            .get_or_init(|| {
                Box::new(Slots {
                    threads: ThreadLocal::new(),
                    read: Mutex::new(Vec::new()),
                })
            })
            .threads
            .get_or(|| ThreadCells {
                next: AtomicUsize::new(0),
                cells: (0..len).map(|_| ExemplarCell::default()).collect(),
            })
    }

    /// Records `e` with `value` in slot `index` of `len` (the same `len` on
    /// every call for a series).
    pub(crate) fn write(&self, len: usize, index: usize, e: &Checked<'_>, value: f64) {
        if let Some(cell) = self.mine(len).cells.get(index) {
            cell.write(e.labels, e.bytes, value, e.ticks);
        }
    }

    /// Records `e` with `value` in the calling thread's next slot of a ring
    /// of `len`, overwriting its oldest.
    pub(crate) fn push(&self, len: usize, e: &Checked<'_>, value: f64) {
        let mine = self.mine(len);
        // Relaxed: only the owning thread reads or writes `next`.
        let i = mine.next.load(Ordering::Relaxed);
        mine.next.store((i + 1) % len.max(1), Ordering::Relaxed);
        if let Some(cell) = mine.cells.get(i) {
            cell.write(e.labels, e.bytes, value, e.ticks);
        }
    }

    /// Whether any exemplar was ever recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.get().is_none()
    }

    /// Slot `index`'s newest exemplar over all threads that could be read
    /// whole: the cells are tried newest first (by their timestamp hint)
    /// and one whose every read in `READ_TRIES` (`exemplar_cell.rs`)
    /// overlapped a write is skipped for the next newest. `None` only if no
    /// thread holds one or every cell tore. `bytes` is scratch for the
    /// copy.
    pub(crate) fn latest(&self, index: usize, bytes: &mut Vec<u8>) -> Option<Exemplar> {
        let slots = self.0.get()?;
        let cells = || slots.threads.iter().filter_map(|t| t.cells.get(index));
        // Newest below `bound` in (ticks, thread) order: no allocation, and
        // a second pass only after a cell tore.
        let mut bound = (u64::MAX, usize::MAX);
        let mut now = None;
        for _ in 0..cells().count() {
            let (key, cell) = cells()
                .enumerate()
                .filter_map(|(i, c)| Some(((c.ticks()?, i), c)))
                .filter(|&(key, _)| key < bound)
                .max_by_key(|&(key, _)| key)?;
            if let Some(e) = slots.read(cell, &mut now, bytes) {
                return Some(e);
            }
            bound = key;
        }
        None
    }

    /// The `n` newest exemplars over all threads and slots that could be
    /// read whole, oldest first, into `out` (cleared first): cells are
    /// read newest first until `n` were whole, so a torn cell makes room
    /// for the next newest; fewer than `n` only if fewer cells hold one
    /// (or the rest all tore). `bytes` is scratch for the copies.
    pub(crate) fn newest_into(&self, n: usize, out: &mut Vec<Exemplar>, bytes: &mut Vec<u8>) {
        out.clear();
        let Some(slots) = self.0.get() else {
            return;
        };
        let cells = || slots.threads.iter().flat_map(|t| t.cells.iter());
        // The newest below `bound` in (ticks, position) order, again and
        // again: no list of the cells to sort (n is small: 10 by default),
        // and a torn cell makes room for the next newest.
        let mut bound = (u64::MAX, usize::MAX);
        let mut now = None;
        while out.len() < n {
            let Some((key, cell)) = cells()
                .enumerate()
                .filter_map(|(i, c)| Some(((c.ticks()?, i), c)))
                .filter(|&(key, _)| key < bound)
                .max_by_key(|&(key, _)| key)
            else {
                break;
            };
            out.extend(slots.read(cell, &mut now, bytes));
            bound = key;
        }
        out.sort_by(|a, b| {
            a.timestamp()
                .partial_cmp(&b.timestamp())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
}

impl fmt::Debug for ExemplarSlots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let threads = self.0.get().map_or(0, |s| s.threads.iter().count());
        f.debug_struct("ExemplarSlots")
            .field("threads", &threads)
            .finish()
    }
}

/// Warms the clocks the update paths read: `quanta`'s calibration (tens
/// of microseconds on the 2-core VM; more where the TSC is slow to settle)
/// runs once per process, inside a `OnceLock` every recording thread would
/// wait on. Counters and histograms call this when they are made, so the
/// first timed update or exemplar does not pay it.
pub(crate) fn warm_clocks() {
    // The timer clock (`quanta::Instant`) and the exemplar clock.
    let _ = quanta::Instant::now();
    let _ = clock::ticks();
}

/// Exemplar timestamps: the TSC's raw ticks on the hot path (`quanta`,
/// 8.5 ns a read against 18 ns for `SystemTime::now` on the 2-core VM),
/// turned into Unix seconds at scrape against an anchor (a wall-clock
/// reading and the ticks read with it). Each read checks the anchor
/// against the wall clock now and re-anchors when they disagree by more
/// than [`STEP`](clock::STEP), so exemplars recorded after a wall-clock
/// step (NTP after a container starts, a VM resumed) are stamped on the
/// new clock. An exemplar keeps the timestamp of its first scrape while
/// its cell is unchanged (the scrape keeps the `Exemplar` it made), so it
/// stays the same from scrape to scrape (Prometheus stores an exemplar
/// again when its timestamp moves).
mod clock {
    use crate::slots::now_unix_seconds;
    use std::sync::{Mutex, OnceLock, PoisonError};

    /// How far the wall clock may move from TSC time before timestamps
    /// re-anchor: well above the jitter of reading the two clocks, well
    /// below a step worth following.
    pub(super) const STEP: f64 = 1e-3;

    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

    /// Scrapes only take it (std's: a static, outside the loom models).
    static ANCHOR: Mutex<Option<Now>> = Mutex::new(None);

    fn clock() -> &'static quanta::Clock {
        CLOCK.get_or_init(quanta::Clock::new)
    }

    /// Now, in raw ticks.
    #[inline]
    pub(super) fn ticks() -> u64 {
        clock().raw()
    }

    /// A wall-clock reading and the TSC read with it.
    #[derive(Clone, Copy)]
    pub(super) struct Now {
        pub(super) unix: f64,
        pub(super) ticks: u64,
    }

    impl Now {
        /// The anchor, checked against the wall clock now (and replaced by
        /// this reading when they disagree by more than [`STEP`]).
        pub(super) fn read() -> Self {
            let now = Self {
                ticks: ticks(),
                unix: now_unix_seconds(),
            };
            let mut anchor = ANCHOR.lock().unwrap_or_else(PoisonError::into_inner);
            match *anchor {
                Some(a) if (a.unix_seconds(now.ticks) - now.unix).abs() <= STEP => a,
                _ => *anchor.insert(now),
            }
        }

        /// `ticks` in seconds since the Unix epoch: this reading's wall
        /// clock, less the TSC time from `ticks` to it (plus, for ticks
        /// read after it, the time until them).
        pub(super) fn unix_seconds(self, ticks: u64) -> f64 {
            let c = clock();
            if ticks <= self.ticks {
                self.unix - c.delta_as_nanos(ticks, self.ticks) as f64 / 1e9
            } else {
                self.unix + c.delta_as_nanos(self.ticks, ticks) as f64 / 1e9
            }
        }
    }
}

/// Checks labels by the rules of [`Exemplar::new`]; returns the bytes of
/// their names and values together. The length comes first, pair by pair:
/// a set stops at the pair that takes it over [`MAX_EXEMPLAR_CHARS`],
/// without scanning (or counting the characters of) the rest, so the
/// duplicate scan sees at most 128 names.
fn check(labels: &[(&str, &str)]) -> Result<usize, Error> {
    let too_long = || {
        Error::InvalidExemplar(format!(
            "its labels have more than the {MAX_EXEMPLAR_CHARS} characters OpenMetrics allows"
        ))
    };
    let mut chars = 0;
    let mut bytes = 0;
    for (i, (name, v)) in labels.iter().enumerate() {
        // A valid name is ASCII: one character a byte (an invalid one is
        // refused below, if it is not too long first).
        chars += name.len();
        if chars > MAX_EXEMPLAR_CHARS {
            return Err(too_long());
        }
        chars += char_count(v, MAX_EXEMPLAR_CHARS - chars + 1);
        if chars > MAX_EXEMPLAR_CHARS {
            return Err(too_long());
        }
        if !is_legacy_label_name(name) {
            return Err(Error::InvalidExemplar(format!(
                "label name {name:?} must match [a-zA-Z_][a-zA-Z0-9_]*"
            )));
        }
        if labels[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::InvalidExemplar(format!(
                "label name {name:?} given twice"
            )));
        }
        bytes += name.len() + v.len();
    }
    Ok(bytes)
}

/// Characters in `s`, counted up to `limit` (the rest is never scanned).
fn char_count(s: &str, limit: usize) -> usize {
    // ASCII within the limit (trace ids): one character a byte, checked
    // word-wide, instead of decoding character by character.
    if s.len() <= limit && s.is_ascii() {
        s.len()
    } else {
        s.chars().take(limit).count()
    }
}

/// The most characters (Unicode code points) an exemplar's label names and
/// values may have together: the OpenMetrics 1.0 rule.
pub const MAX_EXEMPLAR_CHARS: usize = 128;

/// An exemplar: labels, the sample's value and its timestamp.
///
/// ```
/// use hotmetrics_core::Exemplar;
/// let e = Exemplar::new(&[("trace_id", "4bf92f3577b34da6")], 0.25, Some(1.5)).unwrap();
/// assert_eq!(e.value(), 0.25);
/// assert_eq!(e.timestamp(), Some(1.5));
/// assert_eq!(e.labels().collect::<Vec<_>>(), [("trace_id", "4bf92f3577b34da6")]);
///
/// // Longer than 128 characters together: refused.
/// let long = "x".repeat(130);
/// assert!(Exemplar::new(&[("trace_id", long.as_str())], 1.0, None).is_err());
/// ```
#[derive(Clone, PartialEq)]
pub struct Exemplar(Arc<Inner>);

#[derive(PartialEq)]
struct Inner {
    /// Names and values concatenated.
    text: Box<str>,
    /// Per pair: where its name ends and where its value ends in `text`.
    ends: Box<[(u16, u16)]>,
    value: f64,
    timestamp: Option<f64>,
}

impl Exemplar {
    /// An exemplar with `labels`, `value` and `timestamp` (seconds since the
    /// Unix epoch). Errors with [`Error::InvalidExemplar`] when a label name
    /// is not `[a-zA-Z_][a-zA-Z0-9_]*`, a name repeats, or the names and
    /// values have more than [`MAX_EXEMPLAR_CHARS`] characters together.
    /// An empty label set is allowed (OpenMetrics allows `# {} 1.0`).
    pub fn new(labels: &[(&str, &str)], value: f64, timestamp: Option<f64>) -> Result<Self, Error> {
        let bytes = check(labels)?;
        if timestamp.is_some_and(|t| !t.is_finite()) {
            return Err(Error::InvalidExemplar(
                "its timestamp must be finite".to_owned(),
            ));
        }
        let mut text = String::with_capacity(bytes);
        let mut ends = Vec::with_capacity(labels.len());
        for (name, v) in labels {
            text.push_str(name);
            let name_end = text.len() as u16;
            text.push_str(v);
            ends.push((name_end, text.len() as u16));
        }
        Ok(Self(Arc::new(Inner {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
            value,
            timestamp,
        })))
    }

    /// The exemplar a cell held, its ticks turned into Unix seconds
    /// against `now`.
    fn from_cell(r: CellRead, now: clock::Now) -> Self {
        Self(Arc::new(Inner {
            text: r.text.into_boxed_str(),
            ends: r.ends.into_boxed_slice(),
            value: r.value,
            timestamp: Some(now.unix_seconds(r.ticks)),
        }))
    }

    /// The sample's value.
    pub fn value(&self) -> f64 {
        self.0.value
    }

    /// When the sample was taken, seconds since the Unix epoch.
    pub fn timestamp(&self) -> Option<f64> {
        self.0.timestamp
    }

    /// The `(name, value)` label pairs, in the order given.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let text = &*self.0.text;
        let mut start = 0;
        self.0.ends.iter().map(move |&(name_end, end)| {
            let (name_end, end) = (usize::from(name_end), usize::from(end));
            let pair = (&text[start..name_end], &text[name_end..end]);
            start = end;
            pair
        })
    }
}

impl LabelSet for Exemplar {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (n, v) in self.labels() {
            f(n, v);
        }
    }
}

impl fmt::Debug for Exemplar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exemplar")
            .field("labels", &self.labels().collect::<Vec<_>>())
            .field("value", &self.0.value)
            .field("timestamp", &self.0.timestamp)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(slots: &ExemplarSlots, labels: &[(&str, &str)], value: f64) -> Result<(), Error> {
        slots.write(1, 0, &Checked::new(labels)?, value);
        Ok(())
    }

    fn latest(slots: &ExemplarSlots) -> Option<Exemplar> {
        slots.latest(0, &mut Vec::new())
    }

    #[test]
    fn slot_keeps_the_latest_and_refusals_lose_nothing() {
        let slots = ExemplarSlots::default();
        assert!(latest(&slots).is_none());
        assert!(slots.is_empty());
        record(&slots, &[("trace_id", "a")], 1.0).unwrap();
        assert!(record(&slots, &[("bad-name", "b")], 2.0).is_err());
        let e = latest(&slots).unwrap();
        assert_eq!(e.labels().collect::<Vec<_>>(), [("trace_id", "a")]);
        assert_eq!(e.value(), 1.0);
        let now = crate::slots::now_unix_seconds();
        let t = e.timestamp().unwrap();
        assert!(t > 1.6e9 && t <= now + 1.0, "{t} vs {now}");
    }

    #[test]
    fn the_newest_thread_wins() {
        let slots = Arc::new(ExemplarSlots::default());
        record(&slots, &[("trace_id", "main")], 1.0).unwrap();
        let s = Arc::clone(&slots);
        std::thread::spawn(move || record(&s, &[("trace_id", "other")], 2.0).unwrap())
            .join()
            .unwrap();
        assert_eq!(latest(&slots).unwrap().value(), 2.0);
        record(&slots, &[("trace_id", "main")], 3.0).unwrap();
        assert_eq!(latest(&slots).unwrap().value(), 3.0);
    }

    #[test]
    fn a_ring_keeps_the_newest_over_threads_oldest_first() {
        let slots = Arc::new(ExemplarSlots::default());
        let push = |s: &ExemplarSlots, v: f64| s.push(3, &Checked::new(&[("i", "x")]).unwrap(), v);
        for v in [1.0, 2.0, 3.0, 4.0] {
            push(&slots, v);
        }
        let s = Arc::clone(&slots);
        std::thread::spawn(move || push(&s, 5.0)).join().unwrap();
        let mut out = Vec::new();
        slots.newest_into(3, &mut out, &mut Vec::new());
        assert_eq!(
            out.iter().map(Exemplar::value).collect::<Vec<_>>(),
            [3.0, 4.0, 5.0]
        );
    }

    /// A scrape keeps the `Exemplar` it made of a cell while the cell is
    /// unchanged (the same allocation comes back), and a new write of the
    /// cell, or a newer cell, is read afresh.
    #[test]
    fn an_unchanged_cell_gives_back_the_exemplar_kept() {
        let slots = Arc::new(ExemplarSlots::default());
        record(&slots, &[("trace_id", "a")], 1.0).unwrap();
        let first = latest(&slots).unwrap();
        let again = latest(&slots).unwrap();
        assert!(Arc::ptr_eq(&first.0, &again.0), "kept");
        record(&slots, &[("trace_id", "b")], 2.0).unwrap();
        let b = latest(&slots).unwrap();
        assert_eq!(
            (b.value(), b.labels().next()),
            (2.0, Some(("trace_id", "b")))
        );
        assert!(!Arc::ptr_eq(&first.0, &b.0));
        // The same labels and value written again: a new exemplar (a new
        // timestamp), not the kept one.
        record(&slots, &[("trace_id", "b")], 2.0).unwrap();
        assert!(!Arc::ptr_eq(&b.0, &latest(&slots).unwrap().0));
        let s = Arc::clone(&slots);
        std::thread::spawn(move || record(&s, &[("trace_id", "c")], 3.0).unwrap())
            .join()
            .unwrap();
        assert_eq!(latest(&slots).unwrap().value(), 3.0);
        // A ring: kept per cell, a new push read afresh.
        let ring = ExemplarSlots::default();
        let push = |v: f64| ring.push(3, &Checked::new(&[("i", "x")]).unwrap(), v);
        for v in [1.0, 2.0] {
            push(v);
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        ring.newest_into(3, &mut a, &mut Vec::new());
        ring.newest_into(3, &mut b, &mut Vec::new());
        assert!(a.iter().zip(&b).all(|(x, y)| Arc::ptr_eq(&x.0, &y.0)));
        push(3.0);
        ring.newest_into(2, &mut b, &mut Vec::new());
        assert_eq!(
            b.iter().map(Exemplar::value).collect::<Vec<_>>(),
            [2.0, 3.0]
        );
        assert!(Arc::ptr_eq(&a[1].0, &b[0].0), "2.0 unchanged: kept");
    }

    /// Each writer's value is its write's number, which its trace id
    /// ends with: a read mixing two writes of a cell would not match.
    #[test]
    fn racing_writers_and_readers_see_whole_exemplars() {
        let slots = Arc::new(ExemplarSlots::default());
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let slots = Arc::clone(&slots);
                std::thread::spawn(move || {
                    for i in 0..20_000u32 {
                        // Inline and spilled lengths: `x` run, then `i`.
                        let id = format!("{t}-{}:{i}", "x".repeat(i as usize % 90));
                        let labels = [("trace_id", id.as_str()), ("thread", &t.to_string())];
                        record(&slots, &labels, f64::from(i)).unwrap();
                    }
                })
            })
            .collect();
        let mut bytes = Vec::new();
        // Per writer, the newest value seen: a kept exemplar handed out
        // after its cell moved on would go back.
        let mut seen = [-1.0f64; 4];
        while writers.iter().any(|w| !w.is_finished()) {
            if let Some(e) = slots.latest(0, &mut bytes) {
                let labels: Vec<_> = e.labels().collect();
                let (thread, rest) = labels[0].1.split_once('-').unwrap();
                assert_eq!(thread, labels[1].1, "{e:?}");
                let (pad, i) = rest.split_once(':').unwrap();
                let i: f64 = i.parse().unwrap();
                assert_eq!(i, e.value(), "{e:?}");
                assert_eq!(pad.len(), i as usize % 90, "{e:?}");
                let t: usize = thread.parse().unwrap();
                assert!(e.value() >= seen[t], "{e:?} after {}", seen[t]);
                seen[t] = e.value();
            }
        }
        for w in writers {
            w.join().unwrap();
        }
        assert!(latest(&slots).is_some());
    }

    /// A writer stalled mid-write on the newest cell: the scrape reports
    /// the next newest whole one rather than none.
    #[test]
    fn a_torn_newest_cell_falls_back_to_the_next() {
        // The older one from this thread, the newer from another (which
        // cannot take this thread's cells: this thread holds its id).
        let slots = Arc::new(ExemplarSlots::default());
        record(&slots, &[("trace_id", "older")], 1.0).unwrap();
        let s = Arc::clone(&slots);
        std::thread::spawn(move || record(&s, &[("trace_id", "newer")], 2.0).unwrap())
            .join()
            .unwrap();
        assert_eq!(latest(&slots).unwrap().value(), 2.0);
        let threads = slots.0.get().unwrap();
        let newest = threads
            .threads
            .iter()
            .max_by_key(|t| t.cells[0].ticks())
            .unwrap();
        newest.cells[0].stall_for_tests();
        assert_eq!(latest(&slots).unwrap().value(), 1.0);

        let ring = ExemplarSlots::default();
        for v in [1.0, 2.0, 3.0] {
            ring.push(3, &Checked::new(&[("i", "x")]).unwrap(), v);
        }
        ring.mine(3).cells[2].stall_for_tests();
        let mut out = Vec::new();
        ring.newest_into(2, &mut out, &mut Vec::new());
        assert_eq!(
            out.iter().map(Exemplar::value).collect::<Vec<_>>(),
            [1.0, 2.0]
        );
    }

    /// Timestamps are the anchor's wall clock less the TSC time since the
    /// exemplar: a wall-clock step (a new anchor) moves them with it, and
    /// without one two scrapes give the same timestamp.
    #[test]
    fn timestamps_follow_the_wall_clock_at_scrape() {
        let then = clock::ticks();
        let now = clock::Now::read();
        assert_eq!(
            clock::Now::read().unix_seconds(then),
            now.unix_seconds(then)
        );
        let stepped = clock::Now {
            unix: now.unix + 3600.0,
            ..now
        };
        let (a, b) = (now.unix_seconds(then), stepped.unix_seconds(then));
        assert!((b - a - 3600.0).abs() < 1e-6, "{a} vs {b}");
        let wall = crate::slots::now_unix_seconds();
        assert!(a <= wall + clock::STEP && a > wall - 1.0, "{a} vs {wall}");
        // Ticks read after `now` land after it.
        let later = clock::ticks();
        assert!(now.unix_seconds(later) >= now.unix);
    }

    /// The length is checked first: a label past the 128th character is
    /// neither counted nor checked (the name error would come first
    /// otherwise), and a huge value is not scanned to the end.
    #[test]
    fn stops_at_the_first_pair_over_the_limit() {
        let long = "x".repeat(200);
        let err = Exemplar::new(&[("a", &long), ("bad-name", "")], 1.0, None).unwrap_err();
        assert!(err.to_string().contains("more than the 128"), "{err}");
        let many: Vec<String> = (0..10_000).map(|i| format!("n{i}")).collect();
        let labels: Vec<(&str, &str)> = many.iter().map(|n| (n.as_str(), "")).collect();
        let err = Exemplar::new(&labels, 1.0, None).unwrap_err();
        assert!(err.to_string().contains("more than the 128"), "{err}");
    }

    #[test]
    fn counts_characters_not_bytes() {
        // 8 + 120 = 128 characters, 248 bytes: allowed.
        let v = "é".repeat(120);
        assert!(Exemplar::new(&[("trace_id", &v)], 1.0, None).is_ok());
        let v = "é".repeat(121);
        let err = Exemplar::new(&[("trace_id", &v)], 1.0, None).unwrap_err();
        assert!(
            err.to_string().contains("more than the 128 characters"),
            "{err}"
        );
    }

    #[test]
    fn refuses_bad_names() {
        assert!(Exemplar::new(&[("trace-id", "a")], 1.0, None).is_err());
        assert!(Exemplar::new(&[("a", "1"), ("a", "2")], 1.0, None).is_err());
        assert!(Exemplar::new(&[("a", "1")], 1.0, Some(f64::NAN)).is_err());
        let e = Exemplar::new(&[], 1.0, None).unwrap();
        assert_eq!(e.labels().count(), 0);
    }

    #[test]
    fn labels_come_back_in_order() {
        let e = Exemplar::new(&[("trace_id", "t"), ("span_id", "")], 2.0, Some(3.0)).unwrap();
        assert_eq!(
            e.labels().collect::<Vec<_>>(),
            [("trace_id", "t"), ("span_id", "")]
        );
        let mut seen = Vec::new();
        e.for_each(&mut |n, v| seen.push(format!("{n}={v}")));
        assert_eq!(seen, ["trace_id=t", "span_id="]);
    }
}
