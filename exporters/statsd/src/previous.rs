//! What each series held at the last export, so that only changes are
//! sent: counters as deltas, gauges when they moved.
//!
//! Series are found by the position they had in the last export: a
//! registry visits its series in the same order from export to export
//! (families by name, series in the order they were made), so the slot
//! at the cursor is nearly always the series at hand, checked by
//! comparing its identity bytes. Only a series that is not where it was
//! (new, or after others came and went) is looked up by hash.
//!
//! An export's values are staged ([`Slot::next`]) and committed only when
//! it completes ([`Previous::end`]): an export cut short (a collector
//! that panicked while the registry was visited, so the runtime dropped
//! the export) leaves the values of the last complete export in place,
//! and the next export sends every change since that one.

use hotmetrics_core::Number;
use std::collections::HashMap;

/// A series' values at the last export.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Last {
    /// Not seen before (or it changed type): everything is new.
    Nothing,
    /// A counter's total, and its creation time as bits (a series made
    /// again under the same labels has a new one).
    Counter { total: Number, created: u64 },
    /// A gauge's (or untyped value's) value.
    Gauge(Number),
    /// A histogram's or summary's count and sum, and the cumulative count
    /// of each finite bucket (a histogram) or each quantile's value as
    /// bits (a summary); its creation time as bits, when its source
    /// reports one.
    Distribution {
        count: u64,
        sum: f64,
        points: Vec<u64>,
        created: Option<u64>,
    },
    /// An info series (sent once).
    Info,
    /// A state set's states, enabled or not.
    States(Vec<bool>),
}

/// One series: who it is, how its labels go on the wire, what it held.
#[derive(Debug)]
pub(crate) struct Slot {
    /// Its identity ([`Previous::key`]).
    key: Box<[u8]>,
    /// The export that last saw it; 0 for a free slot.
    seen: u64,
    /// Its place in that export's order.
    pos: usize,
    /// Its labels rendered for the dialect, made once, when it appeared.
    pub(crate) labels: Box<[u8]>,
    /// Its values at the last complete export.
    last: Last,
    /// Its values in the export under way: [`Self::last`]'s, copied when
    /// the export first meets the series, then changed; they become
    /// `last` when the export completes ([`Previous::end`]).
    pub(crate) next: Last,
}

impl Slot {
    fn free() -> Self {
        Self {
            key: Box::default(),
            seen: 0,
            pos: 0,
            labels: Box::default(),
            last: Last::Nothing,
            next: Last::Nothing,
        }
    }
}

impl Last {
    /// Makes `self` a copy of `from`, reusing its buffer when both are
    /// distributions or state sets (no allocation once it is as long).
    fn copy_from(&mut self, from: &Last) {
        match (&mut *self, from) {
            (
                Last::Distribution {
                    count,
                    sum,
                    points,
                    created,
                },
                Last::Distribution {
                    count: c,
                    sum: s,
                    points: p,
                    created: t,
                },
            ) => {
                (*count, *sum, *created) = (*c, *s, *t);
                points.clone_from(p);
            }
            (Last::States(states), Last::States(from)) => states.clone_from(from),
            (this, from) => *this = from.clone(),
        }
    }
}

/// The last values of every series, found by position, else by identity
/// (family name and label pairs, [`Previous::key`]). A known series costs
/// a comparison of its identity and allocates nothing; series not seen in
/// an export are forgotten after it.
#[derive(Debug, Default)]
pub(crate) struct Previous {
    /// The slots; a forgotten one's place is reused ([`Self::free`]).
    slots: Vec<Slot>,
    /// Identity → place in `slots`, for series not where they were.
    index: HashMap<Box<[u8]>, usize>,
    /// Places in `slots` no series holds.
    free: Vec<usize>,
    /// The places, in the order the last export visited them.
    order: Vec<usize>,
    /// This export's order so far.
    next_order: Vec<usize>,
    /// Where in `order` this export expects its next series.
    cursor: usize,
    export: u64,
}

impl Previous {
    /// A new export begins.
    pub(crate) fn begin(&mut self) {
        self.export += 1;
        self.cursor = 0;
        self.next_order.clear();
    }

    /// The series `key`'s slot, to read and replace its staged values
    /// ([`Slot::next`]: the last complete export's, the first time this
    /// export meets it); marks it seen. A series not known yet gets a slot
    /// with [`Last::Nothing`] and the labels `render` writes.
    pub(crate) fn get(&mut self, key: &[u8], render: impl FnOnce(&mut Vec<u8>)) -> &mut Slot {
        let place = match self.order.get(self.cursor) {
            Some(&at) if *self.slots[at].key == *key => at,
            _ => match self.index.get(key) {
                Some(&at) => at,
                None => self.insert(key, render),
            },
        };
        let slot = &mut self.slots[place];
        if slot.seen != self.export {
            slot.next.copy_from(&slot.last);
            if slot.seen != 0 {
                // Known from the last export: the next series most likely
                // follows it, as then.
                self.cursor = slot.pos + 1;
            }
            slot.seen = self.export;
            slot.pos = self.next_order.len();
            self.next_order.push(place);
        }
        slot
    }

    /// A new series' slot, in a free place if there is one.
    fn insert(&mut self, key: &[u8], render: impl FnOnce(&mut Vec<u8>)) -> usize {
        let mut labels = Vec::new();
        render(&mut labels);
        let slot = Slot {
            key: key.into(),
            labels: labels.into(),
            ..Slot::free()
        };
        let at = match self.free.pop() {
            Some(at) => {
                self.slots[at] = slot;
                at
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        self.index.insert(key.into(), at);
        at
    }

    /// The export is complete: commits the values it staged, forgets the
    /// series it did not see (gone from the registry; if one comes back,
    /// its whole value is new again), and keeps its order for the next.
    /// An export that never gets here (cut short) commits nothing.
    pub(crate) fn end(&mut self) {
        for &at in &self.next_order {
            let slot = &mut self.slots[at];
            std::mem::swap(&mut slot.last, &mut slot.next);
        }
        if self.next_order.len() != self.index.len() {
            let export = self.export;
            for (at, slot) in self.slots.iter_mut().enumerate() {
                if slot.seen != export && slot.seen != 0 {
                    self.index.remove(&slot.key);
                    *slot = Slot::free();
                    self.free.push(at);
                }
            }
        }
        std::mem::swap(&mut self.order, &mut self.next_order);
    }

    /// How many series are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.index.len()
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

    /// The staged values of `key` (labels rendered as the key itself).
    fn get<'a>(p: &'a mut Previous, key: &[u8]) -> &'a mut Last {
        &mut p.get(key, |out| out.extend_from_slice(key)).next
    }

    fn counter(n: u64) -> Last {
        Last::Counter {
            total: Number::UInt(n),
            created: 0,
        }
    }

    #[test]
    fn an_export_cut_short_commits_nothing() {
        let mut p = Previous::default();
        p.begin();
        *get(&mut p, b"a") = counter(1);
        *get(&mut p, b"b") = counter(2);
        p.end();
        // Cut short after `a` was changed and `new` appeared (no `end`).
        p.begin();
        *get(&mut p, b"a") = counter(5);
        *get(&mut p, b"new") = counter(7);
        p.begin();
        assert_eq!(*get(&mut p, b"a"), counter(1), "the complete export's");
        assert_eq!(*get(&mut p, b"b"), counter(2));
        assert_eq!(*get(&mut p, b"new"), Last::Nothing, "never committed");
        p.end();
        let dist = |n| Last::Distribution {
            count: n,
            sum: 0.5,
            points: vec![n; 3],
            created: Some(9),
        };
        // Distributions are staged too, in place.
        p.begin();
        *get(&mut p, b"a") = dist(1);
        p.end();
        p.begin();
        if let Last::Distribution { points, .. } = get(&mut p, b"a") {
            points[0] = 4;
        }
        p.begin();
        assert_eq!(*get(&mut p, b"a"), dist(1));
    }

    #[test]
    fn unseen_series_are_forgotten() {
        let mut p = Previous::default();
        p.begin();
        *get(&mut p, b"a") = counter(1);
        *get(&mut p, b"b") = counter(2);
        p.end();
        p.begin();
        assert_eq!(*get(&mut p, b"a"), counter(1));
        p.end();
        assert_eq!(p.len(), 1);
        p.begin();
        assert_eq!(*get(&mut p, b"b"), Last::Nothing, "b came back: new again");
    }

    #[test]
    fn series_are_found_wherever_they_moved() {
        let mut p = Previous::default();
        let names: Vec<Vec<u8>> = (0..20u8).map(|i| vec![b'k', i]).collect();
        p.begin();
        for (i, k) in names.iter().enumerate() {
            *get(&mut p, k) = counter(i as u64);
        }
        p.end();
        // Reversed, with every third left out and two new ones between.
        p.begin();
        for (i, k) in names.iter().enumerate().rev() {
            if i % 3 == 0 {
                continue;
            }
            assert_eq!(*get(&mut p, k), counter(i as u64), "{i}");
            if i == 10 {
                assert_eq!(*get(&mut p, b"new1"), Last::Nothing);
                *get(&mut p, b"new1") = counter(100);
                assert_eq!(*get(&mut p, b"new2"), Last::Nothing);
            }
        }
        p.end();
        assert_eq!(p.len(), 13 + 2);
        // In the order of the export before, the gone ones new again (in
        // the places the forgotten left), the rest kept.
        p.begin();
        for (i, k) in names.iter().enumerate() {
            let want = if i % 3 == 0 {
                Last::Nothing
            } else {
                counter(i as u64)
            };
            assert_eq!(*get(&mut p, k), want, "{i}");
        }
        assert_eq!(*get(&mut p, b"new1"), counter(100));
        p.end();
        assert_eq!(p.len(), 20 + 1, "new2 forgotten");
        assert_eq!(p.slots.len(), 22, "freed places reused");
    }

    #[test]
    fn labels_are_rendered_once_per_series() {
        let mut p = Previous::default();
        let mut renders = 0;
        for _ in 0..3 {
            p.begin();
            let slot = p.get(b"a", |out| {
                renders += 1;
                out.extend_from_slice(b"x:1");
            });
            assert_eq!(&*slot.labels, b"x:1");
            p.end();
        }
        assert_eq!(renders, 1);
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
