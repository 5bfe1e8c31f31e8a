//! The exemplars of the sample being written, prepared once for either
//! protocol in buffers reused from sample to sample: labels with an empty
//! value left out (as a series' are) and the rest sorted by name (2.0
//! requires it; Prometheus sorts 1.0's itself), timestamps in
//! milliseconds (the export's own for an exemplar recorded without one, as
//! a Prometheus scrape stamps it).

use hotmetrics_core::Exemplar;
use std::ops::Range;

/// A label, as ranges into [`Exemplars`]' text.
#[derive(Debug, Clone)]
struct Pair {
    name: Range<usize>,
    value: Range<usize>,
}

#[derive(Debug, Clone)]
struct Item {
    /// Its labels, a range of [`Exemplars::pairs`].
    pairs: Range<usize>,
    value: f64,
    timestamp_ms: i64,
}

/// The exemplars going with one sample, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Exemplars {
    text: Vec<u8>,
    pairs: Vec<Pair>,
    items: Vec<Item>,
}

/// One exemplar of an [`Exemplars`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExemplarView<'a> {
    of: &'a Exemplars,
    item: &'a Item,
}

impl<'a> ExemplarView<'a> {
    /// The `(name, value)` pairs, sorted by name, none with an empty value.
    pub(crate) fn labels(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone + 'a {
        let (of, item) = (self.of, self.item);
        let text = &of.text;
        of.pairs[item.pairs.clone()]
            .iter()
            .map(|p| (&text[p.name.clone()], &text[p.value.clone()]))
    }

    pub(crate) fn value(&self) -> f64 {
        self.item.value
    }

    pub(crate) fn timestamp_ms(&self) -> i64 {
        self.item.timestamp_ms
    }
}

impl Exemplars {
    /// Forgets every exemplar, keeping the buffers.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.pairs.clear();
        self.items.clear();
    }

    /// Adds `e`; `export_ms` stands in for a timestamp it lacks.
    pub(crate) fn push(&mut self, e: &Exemplar, export_ms: i64) {
        let timestamp_ms = e.timestamp().map_or(export_ms, crate::flatten::millis);
        self.push_labels(
            e.labels().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            e.value(),
            timestamp_ms,
        );
    }

    /// Adds an exemplar of these labels, value and timestamp (the 1.0
    /// fallback's, read back from a 2.0 request).
    pub(crate) fn push_labels<'l>(
        &mut self,
        labels: impl Iterator<Item = (&'l [u8], &'l [u8])>,
        value: f64,
        timestamp_ms: i64,
    ) {
        let start = self.pairs.len();
        for (n, v) in labels.filter(|(_, v)| !v.is_empty()) {
            let name = self.put(n);
            let value = self.put(v);
            self.pairs.push(Pair { name, value });
        }
        let text = &self.text;
        self.pairs[start..]
            .sort_unstable_by(|a, b| text[a.name.clone()].cmp(&text[b.name.clone()]));
        self.items.push(Item {
            pairs: start..self.pairs.len(),
            value,
            timestamp_ms,
        });
    }

    /// The exemplars, in the order added.
    pub(crate) fn iter(&self) -> impl Iterator<Item = ExemplarView<'_>> {
        self.items
            .iter()
            .map(|item| ExemplarView { of: self, item })
    }

    fn put(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.text.len();
        self.text.extend_from_slice(bytes);
        start..self.text.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_without_empty_values_and_times_in_ms() {
        let mut x = Exemplars::default();
        let timed = Exemplar::new(
            &[("trace_id", "t1"), ("span_id", "s1"), ("a", "")],
            0.5,
            Some(1.2345),
        )
        .unwrap();
        let untimed = Exemplar::new(&[], 2.0, None).unwrap();
        x.push(&timed, 99);
        x.push(&untimed, 99);
        type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;
        let got: Vec<(Pairs<'_>, f64, i64)> = x
            .iter()
            .map(|e| (e.labels().collect(), e.value(), e.timestamp_ms()))
            .collect();
        let sorted: Pairs<'_> = vec![(b"span_id", b"s1"), (b"trace_id", b"t1")];
        assert_eq!(got, [(sorted, 0.5, 1235), (vec![], 2.0, 99)]);
        x.clear();
        assert_eq!(x.iter().count(), 0);
    }
}
