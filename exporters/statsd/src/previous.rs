//! What each series held at the last export, so that only changes are
//! sent: counters as deltas, gauges when they moved.

use hotmetrics_core::Number;
use std::collections::HashMap;

/// A series' values at the last export.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Last {
    /// Not seen before (or it changed type): everything is new.
    Nothing,
    /// A counter's total.
    Counter(Number),
    /// A gauge's (or untyped value's) value.
    Gauge(Number),
    /// A histogram's or summary's count and sum, and the cumulative count
    /// of each finite bucket (a histogram) or each quantile's value as
    /// bits (a summary).
    Distribution {
        count: u64,
        sum: f64,
        points: Vec<u64>,
    },
    /// An info series (sent once).
    Info,
    /// A state set's states, enabled or not.
    States(Vec<bool>),
}

#[derive(Debug)]
struct Slot {
    /// The export that last saw the series.
    seen: u64,
    last: Last,
}

/// The last values, keyed by series identity (family name and label
/// pairs, [`Previous::key`]). A lookup of a known series allocates
/// nothing; series not seen in an export are forgotten after it.
#[derive(Debug, Default)]
pub(crate) struct Previous {
    slots: HashMap<Box<[u8]>, Slot>,
    export: u64,
    seen: usize,
}

impl Previous {
    /// A new export begins.
    pub(crate) fn begin(&mut self) {
        self.export += 1;
        self.seen = 0;
    }

    /// The series `key`'s last values, to read and replace; marks it seen.
    pub(crate) fn get(&mut self, key: &[u8]) -> &mut Last {
        if !self.slots.contains_key(key) {
            self.slots.insert(
                key.into(),
                Slot {
                    seen: 0,
                    last: Last::Nothing,
                },
            );
        }
        let export = self.export;
        let slot = self.slots.get_mut(key).expect("inserted above");
        if slot.seen != export {
            slot.seen = export;
            self.seen += 1;
        }
        &mut slot.last
    }

    /// The export is over: forgets the series it did not see (gone from
    /// the registry; if one comes back, its whole value is new again).
    pub(crate) fn end(&mut self) {
        if self.seen != self.slots.len() {
            let export = self.export;
            self.slots.retain(|_, s| s.seen == export);
        }
    }

    /// How many series are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Appends a series' identity to `key`: a part per label pair,
    /// separated by 0xFF, which UTF-8 never holds.
    pub(crate) fn key(key: &mut Vec<u8>, part: &str) {
        key.push(0xFF);
        key.extend_from_slice(part.as_bytes());
    }
}

/// A counter's increase since `last`; a total below `last` means the
/// series started again (an expired series recreated), so all of it is
/// new.
pub(crate) fn increase(last: Number, now: Number) -> Number {
    match (last, now) {
        (Number::UInt(l), Number::UInt(n)) => Number::UInt(if n >= l { n - l } else { n }),
        (l, n) => {
            let (l, n) = (l.as_f64(), n.as_f64());
            Number::Float(if n >= l { n - l } else { n })
        }
    }
}

/// Whether a number is zero (nothing to send for a delta).
pub(crate) fn is_zero(n: Number) -> bool {
    match n {
        Number::UInt(v) => v == 0,
        Number::Int(v) => v == 0,
        Number::Float(v) => v == 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_series_are_forgotten() {
        let mut p = Previous::default();
        p.begin();
        *p.get(b"a") = Last::Counter(Number::UInt(1));
        *p.get(b"b") = Last::Counter(Number::UInt(2));
        p.end();
        p.begin();
        assert_eq!(*p.get(b"a"), Last::Counter(Number::UInt(1)));
        p.end();
        assert_eq!(p.len(), 1);
        p.begin();
        assert_eq!(*p.get(b"b"), Last::Nothing, "b came back: new again");
    }

    #[test]
    fn increases_survive_resets() {
        assert_eq!(increase(Number::UInt(5), Number::UInt(8)), Number::UInt(3));
        assert_eq!(increase(Number::UInt(5), Number::UInt(2)), Number::UInt(2));
        assert_eq!(
            increase(Number::Float(0.5), Number::Float(1.75)),
            Number::Float(1.25)
        );
        assert!(is_zero(increase(Number::UInt(4), Number::UInt(4))));
    }
}
