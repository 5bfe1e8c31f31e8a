//! `SeriesMap`: a family's series in pages, found by hash through a table
//! of 32-bit indices.
//!
//! Memory per series is what this layout is for (a counter series cost
//! 205 B, most of it the store; 102 B with this one): the series live in pages of
//! [`PAGE`] entries (a `Vec` doubles, so at 10,000 series it held 16,384
//! entries: 20 B a series of slack; pages waste at most the last one's),
//! and the index holds a `u32` per series in a `hashbrown::HashTable` (5 B
//! a bucket; the `HashMap<u64, usize>` it replaces took 17 B a bucket and
//! a second map for colliding hashes, which the table's own probing now
//! resolves).

use super::values::LabelValues;
use crate::expiry::Seen;
use hashbrown::HashTable;

/// Series per page: 6 KiB pages for the 24-byte series of the handle
/// types.
const PAGE: usize = 256;

/// Most series a map holds: indices are `u32`.
pub(super) const MAX_SERIES: usize = u32::MAX as usize;

/// A series: 24 B for the handle types (an `Arc`). Its hash is not kept:
/// the index asks for it again only when it grows or a series is removed.
pub(super) struct Series<M> {
    pub(super) values: LabelValues,
    pub(super) metric: M,
}

/// A `Vec` in fixed pages: every page but the last holds [`PAGE`] entries;
/// the last grows as a `Vec` does, up to [`PAGE`].
pub(super) struct Paged<T> {
    pages: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Paged<T> {
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Paged<T> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn push(&mut self, value: T) {
        match self.pages.last_mut() {
            Some(page) if page.len() < PAGE => page.push(value),
            _ => self.pages.push(vec![value]),
        }
        self.len += 1;
    }

    /// Takes entry `i` out, the last one moving into its place.
    ///
    /// # Panics
    /// If `i` is out of bounds (as `Vec::swap_remove`).
    pub(super) fn swap_remove(&mut self, i: usize) -> T {
        assert!(i < self.len, "index {i} out of {}", self.len);
        let page = self.pages.last_mut().expect("not empty: i < len");
        let last = page
            .pop()
            .expect("only the last page can be short, never empty");
        if page.is_empty() {
            self.pages.pop();
        }
        self.len -= 1;
        if i == self.len {
            last
        } else {
            std::mem::replace(&mut self[i], last)
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.pages.iter().flatten()
    }
}

impl<T> std::ops::Index<usize> for Paged<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.pages[i / PAGE][i % PAGE]
    }
}

impl<T> std::ops::IndexMut<usize> for Paged<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.pages[i / PAGE][i % PAGE]
    }
}

impl<'a, T> IntoIterator for &'a Paged<T> {
    type Item = &'a T;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.pages.iter().flatten()
    }
}

pub(super) struct SeriesMap<M> {
    /// Indices into `series`, hashed by the series' hash; equal hashes are
    /// told apart by their values.
    index: HashTable<u32>,
    /// In creation order (until a removal moves the last one into the
    /// gap), so scrapes are deterministic.
    pub(super) series: Paged<Series<M>>,
    /// What sweeps saw of `series[i]`, for families with expiry (then as
    /// long as `series`); empty for the others, which pay nothing per
    /// series.
    pub(super) seen: Vec<Seen>,
    /// The hash of a series' values, as callers of `find` compute it
    /// ([`LabelValues::hash`]; tests force collisions with another).
    hasher: fn(&LabelValues) -> u64,
}

impl<M> SeriesMap<M> {
    pub(super) fn new() -> Self {
        Self::with_hasher(LabelValues::hash)
    }

    fn with_hasher(hasher: fn(&LabelValues) -> u64) -> Self {
        Self {
            index: HashTable::new(),
            series: Paged::default(),
            seen: Vec::new(),
            hasher,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.series.len()
    }

    /// The series whose values are `values`; `hash` must be theirs as the
    /// map's hasher computes it ([`crate::labels::hash_values`] for every
    /// map but the tests'): another hash finds nothing, and a series then
    /// inserted would be a duplicate.
    pub(super) fn find(&self, hash: u64, values: &[&str]) -> Option<usize> {
        let series = &self.series;
        self.index
            .find(hash, |&i| series[i as usize].values.eq_values(values))
            .map(|&i| i as usize)
    }

    /// The index of the series whose label values are `values` itself (the
    /// same allocation, not only equal values).
    pub(super) fn find_same(&self, values: &LabelValues) -> Option<usize> {
        let series = &self.series;
        self.index
            .find((self.hasher)(values), |&i| {
                series[i as usize].values.ptr_eq(values)
            })
            .map(|&i| i as usize)
    }

    /// Appends `series`; `seen` is `Some` exactly in families with expiry.
    ///
    /// # Panics
    /// With [`MAX_SERIES`] series already in the map (the family refuses
    /// new series before that).
    pub(super) fn insert(&mut self, series: Series<M>, seen: Option<Seen>) {
        let hash = (self.hasher)(&series.values);
        let i = u32::try_from(self.series.len()).expect("fewer than MAX_SERIES series");
        self.series.push(series);
        self.seen.extend(seen);
        let (all, hasher) = (&self.series, self.hasher);
        self.index
            .insert_unique(hash, i, |&j| hasher(&all[j as usize].values));
    }

    pub(super) fn remove(&mut self, hash: u64, values: &[&str]) -> Option<M> {
        let i = self.find(hash, values)?;
        Some(self.remove_at(i).0.metric)
    }

    /// Takes series `i` out (the last one moves into its place), with what
    /// sweeps saw of it.
    pub(super) fn remove_at(&mut self, i: usize) -> (Series<M>, Option<Seen>) {
        let hash = (self.hasher)(&self.series[i].values);
        let at = i as u32;
        let entry = self.index.find_entry(hash, |&j| j == at);
        debug_assert!(entry.is_ok(), "series {i} is indexed under its hash");
        if let Ok(entry) = entry {
            entry.remove();
        }
        let last = self.series.len() - 1;
        if i != last {
            let moved = (self.hasher)(&self.series[last].values);
            let j = self.index.find_mut(moved, |&j| j as usize == last);
            debug_assert!(j.is_some(), "series {last} is indexed under its hash");
            if let Some(j) = j {
                *j = at;
            }
        }
        let seen = (i < self.seen.len()).then(|| self.seen.swap_remove(i));
        (self.series.swap_remove(i), seen)
    }

    /// Empties the map, handing back its series (to drop outside a lock).
    pub(super) fn clear(&mut self) -> Paged<Series<M>> {
        self.index.clear();
        self.seen.clear();
        std::mem::take(&mut self.series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(value: &str) -> Series<String> {
        Series {
            values: LabelValues::new(&[value]),
            metric: value.to_owned(),
        }
    }

    /// Every value the model holds is found at an index holding it, and
    /// nothing else is found.
    fn check(map: &SeriesMap<String>, model: &[(String, u64)], absent: &[(String, u64)]) {
        assert_eq!(map.len(), model.len());
        assert_eq!(map.index.len(), model.len());
        for (v, h) in model {
            let i = map.find(*h, &[v.as_str()]).expect("present");
            assert_eq!(&map.series[i].metric, v);
            assert_eq!(map.find_same(&map.series[i].values), Some(i));
        }
        for (v, h) in absent {
            assert_eq!(map.find(*h, &[v.as_str()]), None, "{v} was removed");
        }
        let listed: Vec<&String> = map.series.iter().map(|s| &s.metric).collect();
        assert_eq!(listed.len(), model.len());
    }

    /// A hash space of 3: nearly every series collides.
    fn three(values: &LabelValues) -> u64 {
        values.hash() % 3
    }

    #[test]
    fn colliding_hashes_survive_inserts_and_removes_in_any_order() {
        // Hashes from a space of 3 force collisions; a xorshift picks the
        // operations, so the sequence is the same on every run. More than
        // two pages' worth, so removals move series across pages.
        let mut map = SeriesMap::with_hasher(three);
        let mut model: Vec<(String, u64)> = Vec::new();
        let mut removed: Vec<(String, u64)> = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for step in 0..3_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(4) && !model.is_empty() {
                let (v, h) = model.swap_remove((x >> 8) as usize % model.len());
                assert_eq!(map.remove(h, &[v.as_str()]), Some(v.clone()));
                assert_eq!(map.remove(h, &[v.as_str()]), None);
                removed.push((v, h));
            } else {
                let v = format!("v{step}");
                let h = three(&LabelValues::new(&[v.as_str()]));
                map.insert(series(&v), None);
                model.push((v, h));
            }
            if step % 97 == 0 {
                check(&map, &model, &removed);
            }
        }
        assert!(map.len() > 2 * PAGE, "{}", map.len());
        check(&map, &model, &removed);
        assert_eq!(map.clear().len(), model.len());
        assert!(map.index.is_empty() && map.len() == 0);
    }

    #[test]
    fn pages_are_full_but_the_last_and_keep_order() {
        let mut paged = Paged::default();
        for i in 0..(2 * PAGE + 3) {
            paged.push(i);
        }
        assert_eq!(paged.pages.len(), 3);
        assert!(paged.pages[..2].iter().all(|p| p.len() == PAGE));
        assert!(paged.iter().copied().eq(0..2 * PAGE + 3));
        // The last entry fills the gap; emptied pages go.
        assert_eq!(paged.swap_remove(5), 5);
        assert_eq!(paged[5], 2 * PAGE + 2);
        for _ in 0..2 {
            paged.swap_remove(0);
        }
        assert_eq!(paged.pages.len(), 2);
        assert_eq!(paged.len(), 2 * PAGE);
        assert!(paged.pages.iter().all(|p| p.len() == PAGE));
        let last = paged.len() - 1;
        let expected = paged[last];
        assert_eq!(paged.swap_remove(last), expected);
        assert_eq!(paged.pages.last().map(Vec::len), Some(PAGE - 1));
    }

    #[test]
    #[should_panic(expected = "out of")]
    fn removing_past_the_end_panics_as_a_vec_does() {
        let mut paged = Paged::default();
        paged.push(1);
        paged.swap_remove(1);
    }
}
