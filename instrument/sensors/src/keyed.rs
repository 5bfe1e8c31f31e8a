//! `Keyed`: what a sensor resolves once per topic, partition, stream or
//! table (its series, its offsets), found again per event in the calling
//! thread's own cache: a hit reads only that thread's memory, takes no
//! lock and allocates nothing. A miss takes the shared map's read lock (its
//! write lock to create the entry). The map is bounded: past `max`
//! entries a new key is refused, and the caller counts the overflow. A
//! refusal is decided under the read lock (the length is an atomic) and
//! remembered in the thread's cache, so an event on a refused key costs a
//! cache probe: no lock, no allocation, no `make`.

use crossbeam_utils::CachePadded;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use thread_local::ThreadLocal;

/// Entries a thread caches before it starts over.
const LOCAL_CAP: usize = 1024;

/// One resolved key: a name, a second name (a stream's task; empty when
/// the key has none), a number (a partition, a status code; 0 when the key
/// has none) and what the sensor keeps for it.
#[derive(Debug)]
pub(crate) struct Entry<V> {
    pub(crate) name: Box<str>,
    pub(crate) second: Box<str>,
    pub(crate) number: i32,
    pub(crate) value: V,
}

/// The keys are already hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type ByHash<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;

/// The key of an entry: (name, second name, number).
#[derive(Clone, Copy)]
struct Key<'a> {
    name: &'a str,
    second: &'a str,
    number: i32,
}

/// FNV-1a over the name's bytes, its length, the second name's bytes,
/// then the number's.
fn hash(k: Key<'_>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let len = (k.name.len() as u64).to_le_bytes();
    for &b in k
        .name
        .as_bytes()
        .iter()
        .chain(&len)
        .chain(k.second.as_bytes())
        .chain(&k.number.to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub(crate) struct Keyed<V: Send + Sync> {
    max: usize,
    /// Every entry, by hash; colliding hashes share a bucket.
    shared: RwLock<ByHash<Vec<Arc<Entry<V>>>>>,
    /// Entries in `shared` (written under its write lock).
    len: AtomicUsize,
    /// Padded: each lookup writes the borrow flag, and threads' caches
    /// may sit side by side.
    local: ThreadLocal<CachePadded<RefCell<Local<V>>>>,
}

/// A thread's cache: its entries, an index by hash, and the last one hit
/// (a consumer loop meets the same partition, stream or table many times
/// in a row: that is one string comparison, no hash).
struct Local<V> {
    entries: Vec<Arc<Entry<V>>>,
    index: ByHash<usize>,
    last: usize,
    /// Keys refused (map full, or `make` failed), by hash; a key whose
    /// hash another refused key holds is not remembered.
    refused: ByHash<(Box<str>, Box<str>, i32)>,
}

impl<V> Local<V> {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
            index: ByHash::default(),
            last: 0,
            refused: ByHash::default(),
        }
    }
}

impl<V> Entry<V> {
    #[inline]
    fn is(&self, k: Key<'_>) -> bool {
        self.number == k.number && *self.name == *k.name && *self.second == *k.second
    }
}

impl<V: Send + Sync> std::fmt::Debug for Keyed<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyed")
            .field("max", &self.max)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<V: Send + Sync> Keyed<V> {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            shared: RwLock::new(ByHash::default()),
            len: AtomicUsize::new(0),
            local: ThreadLocal::new(),
        }
    }

    /// Runs `f` on the entry for (`name`, `number`), made by `make` on
    /// first use. `None` when the key is new and the map is full, or
    /// `make` refused it (then nothing is stored, and this thread refuses
    /// the key from its cache from then on: the map never shrinks, and
    /// `make`'s families only refuse past their own limits).
    #[inline]
    pub(crate) fn with<R>(
        &self,
        name: &str,
        number: i32,
        make: impl FnOnce() -> Option<V>,
        f: impl FnOnce(&V) -> R,
    ) -> Option<R> {
        self.with2(name, "", number, make, f)
    }

    /// [`with`](Self::with) for a key of two names (a stream and its
    /// task): one lookup for both.
    #[inline]
    pub(crate) fn with2<R>(
        &self,
        name: &str,
        second: &str,
        number: i32,
        make: impl FnOnce() -> Option<V>,
        f: impl FnOnce(&V) -> R,
    ) -> Option<R> {
        let k = Key {
            name,
            second,
            number,
        };
        let cell = self
            .local
            .get_or(|| CachePadded::new(RefCell::new(Local::new())));
        // A callback that looks up in the same map again (none of ours
        // does) finds the cache borrowed and takes the shared path.
        let Ok(mut local) = cell.try_borrow_mut() else {
            return self.shared_entry(hash(k), k, make).map(|e| f(&e.value));
        };
        if let Some(e) = local.entries.get(local.last)
            && e.is(k)
        {
            return Some(f(&e.value));
        }
        let h = hash(k);
        if let Some(&i) = local.index.get(&h)
            && local.entries[i].is(k)
        {
            local.last = i;
            return Some(f(&local.entries[i].value));
        }
        if let Some((n, s, num)) = local.refused.get(&h)
            && *num == number
            && **n == *name
            && **s == *second
        {
            return None;
        }
        let Some(entry) = self.shared_entry(h, k, make) else {
            if local.refused.len() >= LOCAL_CAP {
                local.refused.clear();
            }
            local
                .refused
                .entry(h)
                .or_insert_with(|| (name.into(), second.into(), number));
            return None;
        };
        if local.entries.len() >= LOCAL_CAP {
            local.entries.clear();
            local.index.clear();
        }
        let r = f(&entry.value);
        let i = local.entries.len();
        local.entries.push(entry);
        local.index.insert(h, i);
        local.last = i;
        Some(r)
    }

    #[cold]
    fn shared_entry(
        &self,
        h: u64,
        k: Key<'_>,
        make: impl FnOnce() -> Option<V>,
    ) -> Option<Arc<Entry<V>>> {
        let find = |bucket: &Vec<Arc<Entry<V>>>| bucket.iter().find(|e| e.is(k)).cloned();
        {
            let map = self.shared.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(e) = map.get(&h).and_then(find) {
                return Some(e);
            }
            // Full: refused without the write lock. (Relaxed: `len` only
            // changes under the write lock, re-checked there.)
            if self.len.load(Ordering::Relaxed) >= self.max {
                return None;
            }
        }
        let mut map = self.shared.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = map.get(&h).and_then(find) {
            return Some(e);
        }
        if self.len.load(Ordering::Relaxed) >= self.max {
            return None;
        }
        let entry = Arc::new(Entry {
            name: k.name.into(),
            second: k.second.into(),
            number: k.number,
            value: make()?,
        });
        map.entry(h).or_default().push(Arc::clone(&entry));
        self.len.fetch_add(1, Ordering::Relaxed);
        Some(entry)
    }

    /// The entry for (`name`, `number`) if there is one: never creates it
    /// (the shared map's read lock; for cold paths).
    pub(crate) fn get(&self, name: &str, number: i32) -> Option<Arc<Entry<V>>> {
        let k = Key {
            name,
            second: "",
            number,
        };
        let map = self.shared.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&hash(k))?.iter().find(|e| e.is(k)).cloned()
    }

    /// Every entry, sorted by name then number (a read-time copy).
    pub(crate) fn entries(&self) -> Vec<Arc<Entry<V>>> {
        let map = self.shared.read().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<_> = map.values().flatten().cloned().collect();
        drop(map);
        all.sort_by(|a, b| (&*a.name, &*a.second, a.number).cmp(&(&*b.name, &*b.second, b.number)));
        all
    }

    /// Entries stored.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_found_again() {
        let k: Keyed<u32> = Keyed::new(2);
        assert_eq!(k.with("a", 0, || Some(1), |v| *v), Some(1));
        assert_eq!(
            k.with("a", 0, || Some(9), |v| *v),
            Some(1),
            "found, not made"
        );
        assert_eq!(k.with("a", 1, || Some(2), |v| *v), Some(2));
        assert_eq!(k.with("b", 0, || Some(3), |v| *v), None, "full");
        assert_eq!(k.with("a", 1, || None, |v| *v), Some(2), "still there");
        assert_eq!(k.len(), 2);
        let names: Vec<_> = k
            .entries()
            .iter()
            .map(|e| (e.name.to_string(), e.number))
            .collect();
        assert_eq!(names, [("a".to_owned(), 0), ("a".to_owned(), 1)]);
        // Another thread finds the same entries.
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(k.with("a", 1, || None, |v| *v), Some(2)));
        });
        assert_eq!(k.with("c", 0, || None, |v| *v), None, "refused by make");
        assert!(k.get("a", 1).is_some() && k.get("b", 0).is_none());
    }

    #[test]
    fn a_refusal_is_remembered_by_the_thread() {
        let k: Keyed<u32> = Keyed::new(10);
        let calls = std::cell::Cell::new(0);
        let refuse = || {
            calls.set(calls.get() + 1);
            None
        };
        assert_eq!(k.with("x", 0, refuse, |v| *v), None);
        assert_eq!(k.with("x", 0, refuse, |v| *v), None);
        assert_eq!(
            calls.get(),
            1,
            "make ran once: the second was refused from the cache"
        );
        assert_eq!(
            k.with("x", 1, || Some(5), |v| *v),
            Some(5),
            "another key still made"
        );
        // Another thread asks again once.
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(k.with("x", 0, || None, |v| *v), None));
        });
    }

    fn key<'a>(name: &'a str, second: &'a str, number: i32) -> Key<'a> {
        Key {
            name,
            second,
            number,
        }
    }

    #[test]
    fn hashes_differ_by_number_and_names() {
        assert_ne!(hash(key("a", "", 0)), hash(key("a", "", 1)));
        assert_ne!(hash(key("a", "", 0)), hash(key("b", "", 0)));
        assert_ne!(hash(key("ab", "", 0)), hash(key("a", "b", 0)));
    }

    #[test]
    fn two_names_are_one_key() {
        let k: Keyed<u32> = Keyed::new(2);
        assert_eq!(k.with2("s", "t1", 0, || Some(1), |v| *v), Some(1));
        assert_eq!(k.with2("s", "t2", 0, || Some(2), |v| *v), Some(2));
        assert_eq!(k.with2("s", "t1", 0, || Some(9), |v| *v), Some(1));
        assert_eq!(k.with2("st", "1", 0, || Some(3), |v| *v), None, "full");
        let keys: Vec<_> = k
            .entries()
            .iter()
            .map(|e| (e.name.to_string(), e.second.to_string()))
            .collect();
        assert_eq!(keys, [("s".into(), "t1".into()), ("s".into(), "t2".into())]);
    }
}
