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
//! writer touches. A scrape picks, per slot, the newest cell by timestamp
//! and copies it out whole (or gets none, never a torn one); it builds the
//! [`Exemplar`] then. The plain `inc` / `observe` never touch the slots.

use crate::error::Error;
use crate::escaping::is_legacy_label_name;
use crate::exemplar_cell::{CellRead, ExemplarCell};
use crate::sync::{AtomicUsize, Ordering};
use crate::visit::LabelSet;
use std::fmt;
use std::sync::{Arc, OnceLock};
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
/// exemplar on it, allocated on that thread's first one. A series that
/// never records one pays the empty `OnceLock` (two words).
#[derive(Default)]
pub(crate) struct ExemplarSlots(OnceLock<Box<ThreadLocal<ThreadCells>>>);

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
            .get_or_init(|| Box::new(ThreadLocal::new()))
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

    /// Slot `index`'s newest exemplar over all threads.
    pub(crate) fn latest(&self, index: usize) -> Option<Exemplar> {
        let newest = self
            .0
            .get()?
            .iter()
            .filter_map(|t| {
                let cell = t.cells.get(index)?;
                Some((cell.ticks()?, cell))
            })
            .max_by_key(|&(ticks, _)| ticks)?;
        newest.1.read().map(Exemplar::from_cell)
    }

    /// The `n` newest exemplars over all threads and slots, oldest first,
    /// into `out` (cleared first).
    pub(crate) fn newest_into(&self, n: usize, out: &mut Vec<Exemplar>) {
        out.clear();
        let Some(threads) = self.0.get() else {
            return;
        };
        let mut cells: Vec<(u64, &ExemplarCell)> = threads
            .iter()
            .flat_map(|t| t.cells.iter())
            .filter_map(|c| Some((c.ticks()?, c)))
            .collect();
        cells.sort_unstable_by_key(|&(ticks, _)| std::cmp::Reverse(ticks));
        out.extend(
            cells
                .iter()
                .take(n)
                .filter_map(|(_, c)| c.read().map(Exemplar::from_cell)),
        );
        out.sort_by(|a, b| {
            a.timestamp()
                .partial_cmp(&b.timestamp())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
}

impl fmt::Debug for ExemplarSlots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let threads = self.0.get().map_or(0, |t| t.iter().count());
        f.debug_struct("ExemplarSlots")
            .field("threads", &threads)
            .finish()
    }
}

/// Exemplar timestamps: the TSC's raw ticks on the hot path (`quanta`, a
/// few nanoseconds where `SystemTime::now` measured over 100 on the 2-core
/// VM), turned into Unix seconds at scrape from the wall-clock time and
/// the ticks read together on the first exemplar. They follow the
/// monotonic clock from there, not later steps of the wall clock.
mod clock {
    use crate::slots::now_unix_seconds;
    use std::sync::OnceLock;

    struct Base {
        clock: quanta::Clock,
        origin: u64,
        unix: f64,
    }

    static BASE: OnceLock<Base> = OnceLock::new();

    fn base() -> &'static Base {
        BASE.get_or_init(|| {
            let clock = quanta::Clock::new();
            Base {
                origin: clock.raw(),
                unix: now_unix_seconds(),
                clock,
            }
        })
    }

    /// Now, in raw ticks.
    #[inline]
    pub(super) fn ticks() -> u64 {
        base().clock.raw()
    }

    /// `ticks` in seconds since the Unix epoch.
    pub(super) fn unix_seconds(ticks: u64) -> f64 {
        let b = base();
        b.unix + b.clock.delta_as_nanos(b.origin, ticks) as f64 / 1e9
    }
}

/// Checks labels by the rules of [`Exemplar::new`]; returns the bytes of
/// their names and values together.
fn check(labels: &[(&str, &str)]) -> Result<usize, Error> {
    let mut chars = 0;
    let mut bytes = 0;
    for (i, (name, v)) in labels.iter().enumerate() {
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
        // A valid name is ASCII: one character a byte.
        chars += name.len() + char_count(v);
        bytes += name.len() + v.len();
    }
    if chars > MAX_EXEMPLAR_CHARS {
        return Err(Error::InvalidExemplar(format!(
            "its labels have {chars} characters, more than the {MAX_EXEMPLAR_CHARS} OpenMetrics allows"
        )));
    }
    Ok(bytes)
}

/// Characters in `s`, counted by bytes when it is ASCII (trace ids are).
fn char_count(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
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

    /// The exemplar a cell held.
    fn from_cell(r: CellRead) -> Self {
        Self(Arc::new(Inner {
            text: r.text.into_boxed_str(),
            ends: r.ends.into_boxed_slice(),
            value: r.value,
            timestamp: Some(clock::unix_seconds(r.ticks)),
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

    #[test]
    fn slot_keeps_the_latest_and_refusals_lose_nothing() {
        let slots = ExemplarSlots::default();
        assert!(slots.latest(0).is_none());
        assert!(slots.is_empty());
        record(&slots, &[("trace_id", "a")], 1.0).unwrap();
        assert!(record(&slots, &[("bad-name", "b")], 2.0).is_err());
        let e = slots.latest(0).unwrap();
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
        assert_eq!(slots.latest(0).unwrap().value(), 2.0);
        record(&slots, &[("trace_id", "main")], 3.0).unwrap();
        assert_eq!(slots.latest(0).unwrap().value(), 3.0);
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
        slots.newest_into(3, &mut out);
        assert_eq!(
            out.iter().map(Exemplar::value).collect::<Vec<_>>(),
            [3.0, 4.0, 5.0]
        );
    }

    #[test]
    fn racing_writers_and_readers_see_whole_exemplars() {
        let slots = Arc::new(ExemplarSlots::default());
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let slots = Arc::clone(&slots);
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        let id = format!("{t}-{i}");
                        let labels = [("trace_id", id.as_str()), ("thread", &t.to_string())];
                        record(&slots, &labels, f64::from(t)).unwrap();
                    }
                })
            })
            .collect();
        while writers.iter().any(|w| !w.is_finished()) {
            if let Some(e) = slots.latest(0) {
                // Labels and value come from one write: the thread label
                // and the value name the same writer.
                let labels: Vec<_> = e.labels().collect();
                let t: f64 = labels[1].1.parse().unwrap();
                assert_eq!(t, e.value());
                assert!(labels[0].1.starts_with(labels[1].1));
            }
        }
        for w in writers {
            w.join().unwrap();
        }
        assert!(slots.latest(0).is_some());
    }

    #[test]
    fn counts_characters_not_bytes() {
        // 8 + 120 = 128 characters, 248 bytes: allowed.
        let v = "é".repeat(120);
        assert!(Exemplar::new(&[("trace_id", &v)], 1.0, None).is_ok());
        let v = "é".repeat(121);
        let err = Exemplar::new(&[("trace_id", &v)], 1.0, None).unwrap_err();
        assert!(err.to_string().contains("129 characters"), "{err}");
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
