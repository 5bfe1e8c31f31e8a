//! `Keyed`: what a sensor resolves once per topic, partition, stream or
//! table (its series, its offsets), found again per event in the calling
//! thread's own cache: a hit reads only that thread's memory, takes no
//! lock and allocates nothing. A miss takes the shared map's read lock (its
//! write lock to create the entry). The map is bounded: past `max`
//! entries a new key is refused, and the caller counts the overflow. A
//! refusal is decided under the read lock (the length is an atomic) and
//! remembered in the thread's cache (its name in a per-thread text buffer
//! that keeps its room), so an event on a refused key costs a cache probe:
//! no lock, no allocation, no `make`.
//!
//! An entry can be forgotten ([`Keyed::forget`], a revoked partition's):
//! it leaves the shared map, and an epoch that every cache checks on each
//! call (one Acquire load of a word written only by `forget`) makes every
//! thread drop its cached entries at its next call, so no thread uses the
//! forgotten entry's handles again; the key is made anew on its next use.
//! A thread's refusals are kept across it unless the map is below `max`
//! then (a refused key may fit now). An event that read the epoch before a
//! `forget` and finds the key missing does not make it
//! ([`Miss::Revoked`]): it counts as before the `forget`, so a `forget`
//! racing with an event on its key cannot leave the key made again.

use crossbeam_utils::CachePadded;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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

/// Why [`Keyed::with`] ran nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Miss {
    /// A new key and the map full, or `make` refused it: the caller counts
    /// an overflow.
    Refused,
    /// A new key whose event began before a [`Keyed::forget`] that ended
    /// before it could make the key: the event counts as before the
    /// `forget` (nothing done, nothing counted), so it does not bring
    /// back what the `forget` removed. The key's next event makes it.
    Revoked,
}

impl Miss {
    /// Whether `r` is a refusal (to count as an overflow).
    #[inline]
    pub(crate) fn refused<R>(r: &Result<R, Miss>) -> bool {
        matches!(r, Err(Miss::Refused))
    }
}

/// The key of an entry: (name, second name, number).
#[derive(Clone, Copy)]
struct Key<'a> {
    name: &'a str,
    second: &'a str,
    number: i32,
}

impl<'a> Key<'a> {
    fn new(name: &'a str, number: i32) -> Self {
        Self {
            name,
            second: "",
            number,
        }
    }
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
    /// Bumped by each [`Keyed::forget`]: a cache of another epoch is
    /// stale.
    epoch: AtomicU64,
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
    /// Keys refused (map full, or `make` failed), by hash: where the name
    /// and the second name are in `refused_names` (one after the other:
    /// start, end of the name, end of the second) and the number. A key
    /// whose hash another refused key holds is not remembered.
    refused: ByHash<(usize, usize, usize, i32)>,
    /// The refused keys' names, one after another (cleared with
    /// `refused`, keeping its room: remembering a refusal allocates
    /// nothing once it has grown).
    refused_names: String,
    /// The [`Keyed::epoch`] its entries are from.
    epoch: u64,
}

impl<V> Local<V> {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
            index: ByHash::default(),
            last: 0,
            refused: ByHash::default(),
            refused_names: String::new(),
            epoch: 0,
        }
    }

    /// Drops every cached entry (an entry was forgotten): they are found
    /// again in the shared map. The refusals too when `room` (the map is
    /// below its `max`: a refused key may fit now); otherwise they stand
    /// (only a `forget` frees room, and the next one brings a new epoch).
    /// The buffers keep their room, so this allocates nothing.
    #[cold]
    fn start_over(&mut self, epoch: u64, room: bool) {
        self.entries.clear();
        self.index.clear();
        if room {
            self.forget_refusals();
        }
        self.last = 0;
        self.epoch = epoch;
    }

    fn forget_refusals(&mut self) {
        self.refused.clear();
        self.refused_names.clear();
    }

    /// Whether `k`, of hash `h`, was refused.
    #[inline]
    fn is_refused(&self, h: u64, k: Key<'_>) -> bool {
        self.refused
            .get(&h)
            .is_some_and(|&(from, mid, to, number)| {
                number == k.number
                    && self.refused_names.get(from..mid) == Some(k.name)
                    && self.refused_names.get(mid..to) == Some(k.second)
            })
    }

    /// Remembers a refusal (starting over past [`LOCAL_CAP`] of them).
    fn refuse(&mut self, h: u64, k: Key<'_>) {
        if self.refused.len() >= LOCAL_CAP {
            self.forget_refusals();
        }
        if self.refused.contains_key(&h) {
            return;
        }
        let from = self.refused_names.len();
        self.refused_names.push_str(k.name);
        let mid = self.refused_names.len();
        self.refused_names.push_str(k.second);
        self.refused
            .insert(h, (from, mid, self.refused_names.len(), k.number));
    }
}

/// `a == b`, compared eight bytes at a time inline: `==` on `str` calls
/// libc's `memcmp`, which perf showed as a fifth of a StatsD monitor's
/// message (names here are short: topics, streams, tables).
#[inline]
fn same(a: &str, b: &str) -> bool {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    while let (Some((x, rest_a)), Some((y, rest_b))) =
        (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    {
        if x != y {
            return false;
        }
        (a, b) = (rest_a, rest_b);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

impl<V> Entry<V> {
    #[inline]
    fn is(&self, k: Key<'_>) -> bool {
        self.number == k.number && same(&self.name, k.name) && same(&self.second, k.second)
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
            epoch: AtomicU64::new(0),
            local: ThreadLocal::new(),
        }
    }

    /// Runs `f` on the entry for (`name`, `number`), made by `make` on
    /// first use. [`Miss::Refused`] when the key is new and the map is
    /// full, or `make` refused it (then nothing is stored, and this thread
    /// refuses the key from its cache from then on: the map only shrinks
    /// by a `forget`, and `make`'s families only refuse past their own
    /// limits); [`Miss::Revoked`] when a `forget` came between this
    /// call's start and the key's making (see [`Miss::Revoked`]).
    #[inline]
    pub(crate) fn with<R>(
        &self,
        name: &str,
        number: i32,
        make: impl FnOnce() -> Option<V>,
        f: impl FnOnce(&V) -> R,
    ) -> Result<R, Miss> {
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
    ) -> Result<R, Miss> {
        let k = Key {
            name,
            second,
            number,
        };
        let cell = self
            .local
            .get_or(|| CachePadded::new(RefCell::new(Local::new())));
        // Before any lookup: an entry found below and forgotten meanwhile
        // is dropped at this thread's next call; a key made below is made
        // only if no `forget` came since.
        let epoch = self.epoch.load(Ordering::Acquire);
        // A callback that looks up in the same map again (none of ours
        // does) finds the cache borrowed and takes the shared path.
        let Ok(mut local) = cell.try_borrow_mut() else {
            return self
                .shared_entry(hash(k), k, epoch, make)
                .map(|e| f(&e.value));
        };
        if local.epoch != epoch {
            local.start_over(epoch, self.len() < self.max);
        }
        if let Some(e) = local.entries.get(local.last)
            && e.is(k)
        {
            return Ok(f(&e.value));
        }
        let h = hash(k);
        if let Some(&i) = local.index.get(&h)
            && local.entries[i].is(k)
        {
            local.last = i;
            return Ok(f(&local.entries[i].value));
        }
        if local.is_refused(h, k) {
            return Err(Miss::Refused);
        }
        let entry = match self.shared_entry(h, k, epoch, make) {
            Ok(entry) => entry,
            Err(Miss::Refused) => {
                local.refuse(h, k);
                return Err(Miss::Refused);
            }
            Err(Miss::Revoked) => return Err(Miss::Revoked),
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
        Ok(r)
    }

    /// The shared map's entry for the key, made if it is new, there is
    /// room, and the epoch is still `epoch` (the one the event began in).
    #[cold]
    fn shared_entry(
        &self,
        h: u64,
        k: Key<'_>,
        epoch: u64,
        make: impl FnOnce() -> Option<V>,
    ) -> Result<Arc<Entry<V>>, Miss> {
        let find = |bucket: &Vec<Arc<Entry<V>>>| bucket.iter().find(|e| e.is(k)).cloned();
        {
            let map = self.shared.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(e) = map.get(&h).and_then(find) {
                return Ok(e);
            }
            // Full: refused without the write lock. (Relaxed: `len` only
            // changes under the write lock, re-checked there.)
            if self.len.load(Ordering::Relaxed) >= self.max {
                return Err(Miss::Refused);
            }
        }
        let mut map = self.shared.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = map.get(&h).and_then(find) {
            return Ok(e);
        }
        // A `forget` since the event began (it bumps the epoch under this
        // lock: Relaxed suffices): the key may be the one it removed, and
        // making it would bring that back until the next `forget`.
        if self.epoch.load(Ordering::Relaxed) != epoch {
            return Err(Miss::Revoked);
        }
        if self.len.load(Ordering::Relaxed) >= self.max {
            return Err(Miss::Refused);
        }
        let entry = Arc::new(Entry {
            name: k.name.into(),
            second: k.second.into(),
            number: k.number,
            value: make().ok_or(Miss::Refused)?,
        });
        map.entry(h).or_default().push(Arc::clone(&entry));
        self.len.fetch_add(1, Ordering::Relaxed);
        Ok(entry)
    }

    /// The entry for (`name`, `number`) if there is one: never creates it
    /// (the shared map's read lock; for cold paths).
    pub(crate) fn get(&self, name: &str, number: i32) -> Option<Arc<Entry<V>>> {
        let map = self.shared.read().unwrap_or_else(PoisonError::into_inner);
        let k = Key::new(name, number);
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

    /// Removes the entry for (`name`, `number`), if there is one, running
    /// `gone` on its value under the shared map's write lock (so no thread
    /// makes the key again until `gone` has undone what `make` did, e.g.
    /// unregistered its series), then makes every thread's cache stale:
    /// from its next call on, no thread uses the removed entry, and the
    /// key's next use makes it anew. An event racing with this call may
    /// still use the removed entry once, or not make the key
    /// ([`Miss::Revoked`]): either way as if it came first. `true` if
    /// there was an entry.
    // Only the StatsD monitor forgets keys (the `Monitor` keeps its
    // partitions and clears their offsets).
    #[cfg_attr(not(feature = "statsd"), allow(dead_code))]
    pub(crate) fn forget(&self, name: &str, number: i32, gone: impl FnOnce(&V)) -> bool {
        let k = Key::new(name, number);
        let h = hash(k);
        let mut map = self.shared.write().unwrap_or_else(PoisonError::into_inner);
        let Some(bucket) = map.get_mut(&h) else {
            return false;
        };
        let Some(at) = bucket.iter().position(|e| e.is(k)) else {
            return false;
        };
        let entry = bucket.swap_remove(at);
        if bucket.is_empty() {
            map.remove(&h);
        }
        self.len.fetch_sub(1, Ordering::Relaxed);
        gone(&entry.value);
        // Release: a thread that sees the new epoch finds the map without
        // the entry (it takes the map's lock anyway).
        self.epoch.fetch_add(1, Ordering::Release);
        true
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
        assert_eq!(k.with("a", 0, || Some(1), |v| *v), Ok(1));
        assert_eq!(k.with("a", 0, || Some(9), |v| *v), Ok(1), "found, not made");
        assert_eq!(k.with("a", 1, || Some(2), |v| *v), Ok(2));
        assert_eq!(
            k.with("b", 0, || Some(3), |v| *v),
            Err(Miss::Refused),
            "full"
        );
        assert_eq!(k.with("a", 1, || None, |v| *v), Ok(2), "still there");
        assert_eq!(k.len(), 2);
        let names: Vec<_> = k
            .entries()
            .iter()
            .map(|e| (e.name.to_string(), e.number))
            .collect();
        assert_eq!(names, [("a".to_owned(), 0), ("a".to_owned(), 1)]);
        // Another thread finds the same entries.
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(k.with("a", 1, || None, |v| *v), Ok(2)));
        });
        assert_eq!(
            k.with("c", 0, || None, |v| *v),
            Err(Miss::Refused),
            "refused by make"
        );
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
        assert_eq!(k.with("x", 0, refuse, |v| *v), Err(Miss::Refused));
        assert_eq!(k.with("x", 0, refuse, |v| *v), Err(Miss::Refused));
        assert_eq!(
            calls.get(),
            1,
            "make ran once: the second was refused from the cache"
        );
        assert_eq!(
            k.with("x", 1, || Some(5), |v| *v),
            Ok(5),
            "another key still made"
        );
        // Another thread asks again once.
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(k.with("x", 0, || None, |v| *v), Err(Miss::Refused)));
        });
    }

    #[test]
    fn a_forgotten_entry_is_made_anew_and_no_cache_keeps_it() {
        let k: Keyed<u32> = Keyed::new(2);
        let made = std::cell::Cell::new(0);
        let make = |v| {
            made.set(made.get() + 1);
            Some(v)
        };
        assert_eq!(k.with("a", 0, || make(1), |v| *v), Ok(1));
        assert_eq!(k.with("b", 0, || make(2), |v| *v), Ok(2));
        assert_eq!(
            k.with("c", 0, || make(3), |v| *v),
            Err(Miss::Refused),
            "full"
        );
        // Another thread caches `a`.
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(k.with("a", 0, || None, |v| *v), Ok(1));
                barrier.wait();
                barrier.wait();
                // Its cached `a` is gone: the new one is found.
                assert_eq!(k.with("a", 0, || None, |v| *v), Ok(10));
            });
            barrier.wait();
            let mut seen = None;
            assert!(k.forget("a", 0, |v| seen = Some(*v)));
            assert_eq!(seen, Some(1), "`gone` sees the removed value");
            assert!(!k.forget("a", 0, |_| unreachable!()), "gone already");
            assert_eq!(k.len(), 1);
            // This thread's cache too: `a` is made anew; `c`, refused
            // when full, fits now.
            assert_eq!(k.with("a", 0, || make(10), |v| *v), Ok(10));
            barrier.wait();
        });
        assert_eq!(k.with("b", 0, || make(20), |v| *v), Ok(2), "kept");
        assert_eq!(k.len(), 2);
        assert!(k.forget("b", 0, |_| {}));
        assert_eq!(
            k.with("c", 0, || make(3), |v| *v),
            Ok(3),
            "no longer refused"
        );
        assert_eq!(
            made.get(),
            4,
            "made: a, b, a again, c; never when full or found"
        );
    }

    /// The interleaving of a revoke and an event on its key: the event
    /// reads the epoch, misses, and waits for the lock `forget` holds;
    /// when it gets it, the key is gone and the epoch newer: it does not
    /// make the key again (it would stay until the next `forget`).
    #[test]
    fn an_event_begun_before_a_forget_does_not_make_its_key_again() {
        let k: Keyed<u32> = Keyed::new(10);
        assert_eq!(k.with("t", 1, || Some(1), |v| *v), Ok(1));
        let made = std::sync::atomic::AtomicUsize::new(0);
        let make = || {
            made.fetch_add(1, Ordering::Relaxed);
            Some(2)
        };
        std::thread::scope(|s| {
            let mut event = None;
            assert!(k.forget("t", 1, |_| {
                // Under the write lock, before the epoch moves: an event
                // on the key begins (a thread with no cache) and blocks.
                event = Some(s.spawn(|| k.with("t", 1, make, |v| *v)));
                std::thread::sleep(std::time::Duration::from_millis(300));
            }));
            let event = event.unwrap().join().unwrap();
            assert_eq!(event, Err(Miss::Revoked), "counted as before the forget");
        });
        assert_eq!(made.load(Ordering::Relaxed), 0);
        assert!(k.get("t", 1).is_none(), "not brought back");
        assert_eq!(k.len(), 0);
        // The key's next event makes it.
        assert_eq!(k.with("t", 1, make, |v| *v), Ok(2));
    }

    #[test]
    fn refusals_stand_across_a_forget_unless_there_is_room() {
        let k: Keyed<u32> = Keyed::new(2);
        let asked = std::cell::Cell::new(0);
        let make = |v| {
            asked.set(asked.get() + 1);
            Some(v)
        };
        assert_eq!(k.with("a", 0, || make(1), |v| *v), Ok(1));
        assert_eq!(k.with("b", 0, || make(2), |v| *v), Ok(2));
        assert_eq!(k.with("c", 0, || make(3), |v| *v), Err(Miss::Refused));
        let room_before = {
            let local = k.local.get().unwrap().borrow();
            (local.refused.len(), local.refused_names.capacity())
        };
        assert_eq!(room_before.0, 1);
        // Another thread forgets `a` and makes it again (a new epoch, the
        // map full again), then holds the map's write lock: `c` is refused
        // from this thread's cache, without the map's lock.
        let (locked_tx, locked) = std::sync::mpsc::channel();
        let (done, done_rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let k = &k;
            let holder = s.spawn(move || {
                assert!(k.forget("a", 0, |_| {}));
                assert_eq!(k.with("a", 0, || Some(10), |v| *v), Ok(10));
                let map = k.shared.write().unwrap();
                locked_tx.send(()).unwrap();
                let answered = done_rx.recv_timeout(std::time::Duration::from_secs(5));
                drop(map);
                answered.is_ok()
            });
            locked.recv().unwrap();
            assert_eq!(k.with("c", 0, || make(30), |v| *v), Err(Miss::Refused));
            let _ = done.send(());
            assert!(holder.join().unwrap(), "refused with no lock taken");
        });
        assert_eq!(k.with("a", 0, || make(40), |v| *v), Ok(10), "found anew");
        assert_eq!(asked.get(), 2, "`c` still refused from the cache");
        // Room now: the refusal is dropped, `c` made.
        assert!(k.forget("b", 0, |_| {}));
        assert_eq!(k.with("c", 0, || make(3), |v| *v), Ok(3));
        // Refused again after a forget with room: the names' buffer is
        // reused, not grown.
        assert_eq!(k.with("d", 0, || None, |v| *v), Err(Miss::Refused));
        assert!(k.forget("c", 0, |_| {}));
        assert_eq!(k.with("d", 0, || None, |v| *v), Err(Miss::Refused));
        let local = k.local.get().unwrap().borrow();
        assert_eq!(local.refused.len(), 1);
        assert_eq!(local.refused_names, "d");
        assert_eq!(local.refused_names.capacity(), room_before.1);
    }

    #[test]
    fn hashes_differ_by_number_and_name() {
        assert_ne!(hash(Key::new("a", 0)), hash(Key::new("a", 1)));
        assert_ne!(hash(Key::new("a", 0)), hash(Key::new("b", 0)));
        let key = |name, second, number| Key {
            name,
            second,
            number,
        };
        assert_ne!(hash(key("ab", "", 0)), hash(key("a", "b", 0)));
    }

    #[test]
    fn names_compare_as_strings() {
        let names = [
            "",
            "a",
            "orders",
            "orders-1",
            "orders-12",
            "ordersX12",
            "é",
            "e\u{301}",
        ];
        for a in names {
            for b in names {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
            }
        }
        let long = "a-topic-name-of-some-length".repeat(3);
        let mut other = long.clone();
        other.replace_range(40..41, "X");
        assert!(same(&long, &long.clone()) && !same(&long, &other));
    }

    #[test]
    fn two_names_are_one_key() {
        let k: Keyed<u32> = Keyed::new(2);
        assert_eq!(k.with2("s", "t1", 0, || Some(1), |v| *v), Ok(1));
        assert_eq!(k.with2("s", "t2", 0, || Some(2), |v| *v), Ok(2));
        assert_eq!(k.with2("s", "t1", 0, || Some(9), |v| *v), Ok(1));
        assert_eq!(
            k.with2("st", "1", 0, || Some(3), |v| *v),
            Err(Miss::Refused),
            "full"
        );
        // A refused pair is remembered whole, not by its first name.
        assert_eq!(
            k.with2("st", "1", 0, || Some(3), |v| *v),
            Err(Miss::Refused)
        );
        assert_eq!(k.with2("s", "t2", 0, || None, |v| *v), Ok(2));
        let keys: Vec<_> = k
            .entries()
            .iter()
            .map(|e| (e.name.to_string(), e.second.to_string()))
            .collect();
        assert_eq!(keys, [("s".into(), "t1".into()), ("s".into(), "t2".into())]);
    }
}
