//! One sample's labels, `__name__` included, sorted by name as remote
//! write requires, in buffers reused from sample to sample.

use std::ops::Range;

/// A label, as ranges into [`LabelBuf`]'s text.
#[derive(Debug, Clone)]
struct Pair {
    name: Range<usize>,
    value: Range<usize>,
}

/// The labels of the sample being written: a series' own labels and the
/// external ones (the *base*, sorted once per series), then `__name__`
/// and a per-sample label (`le`, `quantile`, a state) merged in order.
#[derive(Debug, Default)]
pub(crate) struct LabelBuf {
    text: Vec<u8>,
    /// The base, sorted once sealed.
    base: Vec<Pair>,
    /// The sample's: the base with `__name__` and its own label merged in.
    pairs: Vec<Pair>,
    /// The end of the base's text.
    base_text: usize,
}

impl LabelBuf {
    /// Forgets everything; a new series' base follows.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.base.clear();
        self.pairs.clear();
        self.base_text = 0;
    }

    /// Adds a label (one of the series', or an external one).
    pub(crate) fn push(&mut self, name: &[u8], value: &[u8]) {
        let name = self.put(name);
        let value = self.put(value);
        self.base.push(Pair { name, value });
    }

    /// Whether a label of this name is there.
    pub(crate) fn has(&self, name: &[u8]) -> bool {
        self.base.iter().any(|p| &self.text[p.name.clone()] == name)
    }

    /// The labels pushed so far are the series' base: sorts them (and
    /// [`iter`](Self::iter) walks them until the next `sample`).
    pub(crate) fn seal_base(&mut self) {
        let text = &self.text;
        self.base
            .sort_unstable_by(|a, b| text[a.name.clone()].cmp(&text[b.name.clone()]));
        self.base_text = self.text.len();
        self.pairs.clear();
        self.pairs.extend_from_slice(&self.base);
    }

    /// Back to the base, then `__name__` = `name` + `suffix` and the
    /// sample's own label, if any, each at its place in name order.
    pub(crate) fn sample(&mut self, name: &[u8], suffix: &[u8], extra: Option<(&[u8], &[u8])>) {
        self.text.truncate(self.base_text);
        self.pairs.clear();
        self.pairs.extend_from_slice(&self.base);
        let key = self.put(b"__name__");
        let start = self.text.len();
        self.text.extend_from_slice(name);
        self.text.extend_from_slice(suffix);
        self.insert(Pair {
            name: key,
            value: start..self.text.len(),
        });
        if let Some((n, v)) = extra {
            let name = self.put(n);
            let value = self.put(v);
            self.insert(Pair { name, value });
        }
    }

    /// The `(name, value)` pairs, sorted by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.pairs
            .iter()
            .map(|p| (&self.text[p.name.clone()], &self.text[p.value.clone()]))
    }

    /// Adds `pair` at its place in name order; one of the same name (a
    /// registry-wide label called `le`, or named after a state set) gives
    /// way to it: a series with a label name twice would make the
    /// receiver refuse the whole request.
    fn insert(&mut self, pair: Pair) {
        let text = &self.text;
        let name = &text[pair.name.clone()];
        let at = self.pairs[..].partition_point(|p| text[p.name.clone()] <= *name);
        if at > 0 && text[self.pairs[at - 1].name.clone()] == *name {
            self.pairs[at - 1] = pair;
        } else {
            self.pairs.insert(at, pair);
        }
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
    fn labels_come_out_sorted_by_byte_order() {
        let mut l = LabelBuf::default();
        l.push(b"zone", b"eu");
        l.push(b"Host", b"a"); // uppercase sorts before `__name__`
        l.push(b"job", b"app");
        l.seal_base();
        l.sample(b"req", b"_bucket", Some((b"le", b"0.5")));
        let got: Vec<_> = l.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = [
            ("Host", "a"),
            ("__name__", "req_bucket"),
            ("job", "app"),
            ("le", "0.5"),
            ("zone", "eu"),
        ]
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
        assert_eq!(got, want);
        // The next sample starts from the base again.
        l.sample(b"req", b"_sum", None);
        assert_eq!(l.iter().count(), 4);
        assert!(l.has(b"job") && !l.has(b"le"));
    }

    /// Found by the fuzzer: a state set named like a registry-wide label
    /// sent that label name twice.
    #[test]
    fn a_sample_label_replaces_a_series_label_of_its_name() {
        let mut l = LabelBuf::default();
        l.push(b"mode", b"const");
        l.push(b"zone", b"eu");
        l.seal_base();
        l.sample(b"mode", b"", Some((b"mode", b"on")));
        let got: Vec<_> = l.iter().collect();
        let want: Vec<(&[u8], &[u8])> =
            vec![(b"__name__", b"mode"), (b"mode", b"on"), (b"zone", b"eu")];
        assert_eq!(got, want);
    }
}
