//! Exemplars: a sample's own labels (a trace id, usually), its value and
//! when it was taken, attached to a counter or a histogram bucket so a
//! dashboard can jump from a metric to a trace.
//!
//! [`Exemplar`] is the value a scrape hands to exporters (and a collector
//! may build). It is immutable and shared by reference count, so a scrape
//! reads it with no lock and no copy of its labels.
//!
//! [`ExemplarSlot`] is where a metric keeps its latest exemplar: recording
//! one builds the [`Exemplar`] (one allocation for the shared value, two
//! for its labels) and swaps it in atomically (`arc-swap`); a scrape loads
//! the whole exemplar or none, never a torn one, and never waits for a
//! writer. The plain `inc` / `observe` never touch a slot.

use crate::error::Error;
use crate::escaping::is_legacy_label_name;
use crate::slots::now_unix_seconds;
use crate::visit::LabelSet;
use arc_swap::ArcSwapOption;
use std::fmt;
use std::sync::Arc;

/// A metric's latest exemplar (or a histogram bucket's): replaced whole by
/// [`record`](Self::record), read whole by [`load`](Self::load).
#[derive(Default)]
pub(crate) struct ExemplarSlot(ArcSwapOption<Inner>);

impl ExemplarSlot {
    /// Validates `labels` and stores them with `value`, timestamped now.
    /// On error the slot keeps what it had.
    pub(crate) fn record(&self, labels: &[(&str, &str)], value: f64) -> Result<(), Error> {
        let e = Exemplar::new(labels, value, Some(now_unix_seconds()))?;
        self.store(e);
        Ok(())
    }

    /// Stores an exemplar built by the caller.
    pub(crate) fn store(&self, e: Exemplar) {
        self.0.store(Some(e.0));
    }

    /// The latest exemplar, if any.
    pub(crate) fn load(&self) -> Option<Exemplar> {
        self.0.load_full().map(Exemplar)
    }
}

impl fmt::Debug for ExemplarSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ExemplarSlot").field(&self.load()).finish()
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
            chars += name.chars().count() + v.chars().count();
            bytes += name.len() + v.len();
        }
        if chars > MAX_EXEMPLAR_CHARS {
            return Err(Error::InvalidExemplar(format!(
                "its labels have {chars} characters, more than the {MAX_EXEMPLAR_CHARS} OpenMetrics allows"
            )));
        }
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

    #[test]
    fn slot_keeps_the_latest_and_refusals_lose_nothing() {
        let slot = ExemplarSlot::default();
        assert!(slot.load().is_none());
        slot.record(&[("trace_id", "a")], 1.0).unwrap();
        assert!(slot.record(&[("bad-name", "b")], 2.0).is_err());
        let e = slot.load().unwrap();
        assert_eq!(e.labels().collect::<Vec<_>>(), [("trace_id", "a")]);
        assert_eq!(e.value(), 1.0);
        assert!(e.timestamp().unwrap() > 1.6e9);
    }

    #[test]
    fn racing_writers_and_readers_see_whole_exemplars() {
        let slot = Arc::new(ExemplarSlot::default());
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let slot = Arc::clone(&slot);
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        let id = format!("{t}-{i}");
                        slot.record(
                            &[("trace_id", &id), ("thread", &t.to_string())],
                            f64::from(t),
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        while writers.iter().any(|w| !w.is_finished()) {
            if let Some(e) = slot.load() {
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
        assert!(slot.load().is_some());
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
