//! `Family`: a labeled metric (a "vec"): one series per distinct tuple of
//! label values, created on first lookup.
//!
//! **Lookup without shared writes.** Each thread keeps a small cache of the
//! series it looked up (per family, in a `thread_local::ThreadLocal`). A hit
//! reads the thread's own cache, one shared word (the family's generation,
//! written only by `remove`/`clear`) and nothing else: no lock word, no
//! reference count. A miss takes the family's read lock, or its write lock to
//! create the series. `remove` and `clear` bump the generation, and every
//! thread's cache empties itself on its next lookup.
//!
//! **Handles from the cache.** An entry can also hold a [`Handle`]: the
//! series in an `Arc` of the thread's own, so handing one out on a hit is an
//! increment of a count no other thread takes handles from (the series' own
//! `Arc` is shared by every thread, and cloning it would bounce its cache
//! line); a handle dropped on another thread updates it from there, once.
//!
//! **Expiry.** A family with [`Opts::expire_after`](crate::Opts::expire_after)
//! also keeps, beside its live map, the series that expired and are still
//! referenced (`expiry.rs` tells the protocol, `family/sweep.rs` runs it).

use crate::error::Error;
use crate::expiry::Seen;
use crate::handle::Handle;
use crate::labels::{NameValidation, Origin, SeriesLabels, hash_values, quick_hash};
use crate::metric::{Metric, Scratch};
use crate::visit::{FamilyDesc, MetricVisitor};
use crossbeam_utils::CachePadded;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use thread_local::ThreadLocal;

mod series_map;
mod sweep;
mod values;

use series_map::{MAX_SERIES, Series, SeriesMap};
pub(crate) use values::LabelValues;

use sweep::Expiry;

/// Series a thread caches per family before it starts over.
const LOCAL_CACHE_CAP: usize = 512;

/// Default for [`Opts::max_series`](crate::Opts::max_series).
pub const DEFAULT_MAX_SERIES: usize = 10_000;

/// A family's fixed description. Public only inside this private module
/// (the sealed metric trait takes it): nameable by the crate, by nobody else.
#[derive(Debug)]
pub struct Desc {
    /// Full name: prefix included, `_total`/`_info` suffix stripped.
    pub(crate) name: Box<str>,
    /// The name as the registrant gave it, for messages.
    pub(crate) given: Box<str>,
    pub(crate) help: Box<str>,
    pub(crate) unit: Option<Box<str>>,
    /// The registry's constant labels, then the metric's.
    pub(crate) const_labels: Box<[(Box<str>, Box<str>)]>,
    /// How many of `const_labels` are the registry's.
    pub(crate) registry_consts: usize,
    pub(crate) label_names: Box<[Box<str>]>,
    pub(crate) max_series: usize,
    /// The registry's name validation (info labels are checked with it).
    pub(crate) validation: NameValidation,
}

impl Desc {
    /// Every label name a series of the family carries, with where it
    /// comes from.
    pub(crate) fn label_origins(&self) -> impl Iterator<Item = (&str, Origin)> {
        let consts = self.const_labels.iter().enumerate().map(|(i, (n, _))| {
            let origin = if i < self.registry_consts {
                Origin::RegistryConst
            } else {
                Origin::MetricConst
            };
            (&**n, origin)
        });
        consts.chain(self.label_names.iter().map(|n| (&**n, Origin::Label)))
    }
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

/// A family's series: the live ones, which scrapes export, and (in a family
/// with expiry) the expired ones that something still refers to.
struct Store<M> {
    live: SeriesMap<M>,
    expired: SeriesMap<M>,
}

impl<M> Store<M> {
    fn new() -> Self {
        Self {
            live: SeriesMap::new(),
            expired: SeriesMap::new(),
        }
    }
}

/// Entries a thread scans linearly (by hash first) before its hash map: a
/// hot loop usually cycles through a handful of label sets.
const LOCAL_FLAT: usize = 16;

/// One series in a thread's cache: the handle `with` lends out, and the
/// thread's own [`Handle`] to it once one was asked for.
struct Cached<M: Metric> {
    metric: M,
    handle: Option<Handle<M>>,
}

impl<M: Metric> Cached<M> {
    fn new(metric: M) -> Self {
        Self {
            metric,
            handle: None,
        }
    }

    /// A clone of the thread's handle, made on first use (the one
    /// allocation, and the one increment of the series' shared count).
    fn handle(&mut self) -> Handle<M> {
        self.handle
            .get_or_insert_with(|| Handle::new(self.metric.clone()))
            .clone()
    }
}

struct LocalCache<M: Metric> {
    generation: u64,
    flat: Vec<(u64, LabelValues, Cached<M>)>,
    more: ByHash<Vec<(LabelValues, Cached<M>)>>,
    len: usize,
}

impl<M: Metric> LocalCache<M> {
    fn new(generation: u64) -> Self {
        Self {
            generation,
            flat: Vec::new(),
            more: ByHash::default(),
            len: 0,
        }
    }

    #[inline]
    fn find(&mut self, hash: u64, values: &[&str]) -> Option<&mut Cached<M>> {
        if let Some(i) = self
            .flat
            .iter()
            .position(|(h, v, _)| *h == hash && v.eq_values(values))
        {
            return Some(&mut self.flat[i].2);
        }
        if self.more.is_empty() {
            return None;
        }
        self.more
            .get_mut(&hash)?
            .iter_mut()
            .find(|(v, _)| v.eq_values(values))
            .map(|(_, m)| m)
    }

    fn insert(&mut self, hash: u64, values: LabelValues, metric: M) -> &mut Cached<M> {
        if self.len >= LOCAL_CACHE_CAP {
            self.reset(self.generation);
        }
        self.len += 1;
        let entry = Cached::new(metric);
        if self.flat.len() < LOCAL_FLAT {
            self.flat.push((hash, values, entry));
            let last = self.flat.len() - 1;
            return &mut self.flat[last].2;
        }
        let bucket = self.more.entry(hash).or_default();
        bucket.push((values, entry));
        let last = bucket.len() - 1;
        &mut bucket[last].1
    }

    fn reset(&mut self, generation: u64) {
        self.flat.clear();
        self.more.clear();
        self.len = 0;
        self.generation = generation;
    }
}

pub(crate) struct FamilyInner<M: Metric> {
    pub(crate) desc: Desc,
    config: M::Config,
    map: RwLock<Store<M>>,
    /// `Some` when series expire.
    expiry: Option<Expiry>,
    generation: AtomicU64,
    /// Padded: `thread_local` packs neighbouring threads' entries into one
    /// allocation, and every lookup writes its `RefCell` flag.
    local: ThreadLocal<CachePadded<RefCell<LocalCache<M>>>>,
}

/// A labeled metric: one series of `M` per distinct tuple of label values.
///
/// ```
/// let registry = hotmetrics_core::Registry::new();
/// let processed = registry
///     .counter_vec(("processed_total", "Messages processed"), &["handler", "status"])
///     .unwrap();
///
/// // Lazy use: look the series up on every call; a cache hit writes no shared memory.
/// processed.with(&["orders", "acked"], |c| c.inc()).unwrap();
///
/// // Or keep the handle.
/// let acked = processed.get_or_create(&["orders", "acked"]).unwrap();
/// acked.inc();
/// assert_eq!(acked.get(), 2);
///
/// // Or take the thread's cached handle out of the lookup (to keep across
/// // an `.await`, or to time with: see `Family::<Histogram>::start_timer`).
/// let nacked = processed.handle(&["orders", "nacked"]).unwrap();
/// nacked.inc();
/// assert_eq!(nacked.get(), 1);
///
/// // Wrong number of values: an error, never a panic.
/// let e = processed.with(&["orders"], |c| c.inc()).unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     r#""processed_total" takes 2 label values ("handler", "status"), got 1"#
/// );
/// ```
pub struct Family<M: Metric>(Arc<FamilyInner<M>>);

impl<M: Metric> Clone for Family<M> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<M: Metric> std::fmt::Debug for Family<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family")
            .field("name", &self.0.desc.name)
            .field("label_names", &self.0.desc.label_names)
            .field("series", &self.len())
            .finish()
    }
}

impl<M: Metric> Family<M> {
    /// A family whose series expire after `expire_after` unchanged, if
    /// given.
    pub(crate) fn new(
        desc: Desc,
        config: M::Config,
        expire_after: Option<std::time::Duration>,
    ) -> Self {
        Self(Arc::new(FamilyInner {
            desc,
            config,
            map: RwLock::new(Store::new()),
            expiry: expire_after.map(Expiry::new),
            generation: AtomicU64::new(0),
            local: ThreadLocal::new(),
        }))
    }

    pub(crate) fn inner(&self) -> Arc<FamilyInner<M>> {
        Arc::clone(&self.0)
    }

    /// The family name as exported: prefix included, no `_total` (counters)
    /// or `_info` (info metrics).
    pub fn name(&self) -> &str {
        &self.0.desc.name
    }

    /// The name as its registrant gave it, for messages.
    pub(crate) fn given_name(&self) -> &str {
        &self.0.desc.given
    }

    /// The generation `remove` and `clear` bump (Acquire: a thread that
    /// sees the new one also sees the series gone from the map).
    pub(crate) fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    /// The label names, in declared order.
    pub fn label_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.desc.label_names.iter().map(|n| &**n)
    }

    #[inline]
    fn check_arity(&self, values: &[&str]) -> Result<(), Error> {
        if values.len() == self.0.desc.label_names.len() {
            Ok(())
        } else {
            Err(self.arity_error(values.len()))
        }
    }

    #[cold]
    fn arity_error(&self, got: usize) -> Error {
        Error::LabelCount {
            family: self.0.desc.given.to_string(),
            expected: self.label_names().map(str::to_owned).collect(),
            got,
        }
    }

    /// Runs `f` on the series for `values`, creating it on first use.
    ///
    /// This is the call for lookups on every update: a hit in the calling
    /// thread's cache touches no shared memory but one read-only word. Errors
    /// on a wrong number of values or when the family is at its series limit.
    #[inline]
    pub fn with<R>(&self, values: &[&str], f: impl FnOnce(&M) -> R) -> Result<R, Error> {
        self.cached(values, |c| f(&c.metric))
    }

    /// The series for `values` as an owned [`Handle`] from the calling
    /// thread's lookup cache, created on first use: what
    /// [`with`](Self::with) lends out, but one that can be kept, held across
    /// an `.await` and sent to other threads.
    ///
    /// A hit costs what `with` costs plus one increment (and, when the
    /// handle is dropped, one decrement) of a count that only this thread's
    /// cache shares, and allocates nothing. The first `handle` of a series
    /// on a thread allocates its entry (256 B), and so does the first after
    /// the thread's cache emptied itself: after any
    /// [`remove`](Self::remove) or [`clear`](Self::clear) of the family, or
    /// when the cache is full (512 entries). A family whose label values
    /// are removed often allocates that often. [`get_or_create`](Self::get_or_create)
    /// instead takes the family's lock and clones the series' shared count
    /// on every call. See [`Handle`] for what a handle does across
    /// [`remove`](Self::remove) and [`clear`](Self::clear).
    ///
    /// ```
    /// let registry = hotmetrics_core::Registry::new();
    /// let requests = registry.counter_vec(("requests_total", "Requests"), &["route"]).unwrap();
    /// let route = requests.handle(&["/orders"]).unwrap();
    /// std::thread::spawn(move || route.inc()).join().unwrap();
    /// assert_eq!(requests.get_or_create(&["/orders"]).unwrap().get(), 1);
    /// ```
    #[inline]
    pub fn handle(&self, values: &[&str]) -> Result<Handle<M>, Error> {
        self.cached(values, Cached::handle)
    }

    /// Finds `values` in the calling thread's cache (filling it from the
    /// shared map on a miss) and runs `hit` on the entry.
    #[inline]
    fn cached<R>(
        &self,
        values: &[&str],
        hit: impl FnOnce(&mut Cached<M>) -> R,
    ) -> Result<R, Error> {
        self.check_arity(values)?;
        // Acquire pairs with the Release bump in `remove`/`clear`: a thread
        // that sees the new generation also sees the series gone from the map.
        let generation = self.0.generation.load(Ordering::Acquire);
        let cell = match self.0.local.get() {
            Some(cell) => cell,
            None => self.new_local_cache(generation),
        };
        // A nested `with` on the same family from inside `f` finds the cache
        // borrowed and takes the shared path instead of panicking.
        let Ok(mut cache) = cell.try_borrow_mut() else {
            let (_, m) = self.lookup(hash_values(values), values)?;
            return Ok(hit(&mut Cached::new(m)));
        };
        if cache.generation != generation {
            cache.reset(generation);
        }
        let quick = quick_hash(values);
        if let Some(entry) = cache.find(quick, values) {
            return Ok(hit(entry));
        }
        let (key, m) = self.lookup(hash_values(values), values)?;
        Ok(hit(cache.insert(quick, key, m)))
    }

    /// The calling thread's lookup cache, made on its first lookup. Out of
    /// line: built inline, the cache's 128-byte alignment made every
    /// lookup realign its stack frame.
    #[cold]
    #[inline(never)]
    fn new_local_cache(&self, generation: u64) -> &CachePadded<RefCell<LocalCache<M>>> {
        self.0
            .local
            .get_or(|| CachePadded::new(RefCell::new(LocalCache::new(generation))))
    }

    /// The series for `values`, created on first use; keep the handle to
    /// update it without any lookup. Each call takes the family's lock and
    /// clones the series' reference count, a word every thread that holds
    /// the series shares; for a lookup on every update use
    /// [`with`](Self::with), for an owned handle from a hot path
    /// [`handle`](Self::handle).
    ///
    /// It goes straight to the shared map and leaves the calling thread's
    /// lookup cache (kept for [`with`](Self::with)) alone: handles meant to
    /// be kept should not take its slots.
    pub fn get_or_create(&self, values: &[&str]) -> Result<M, Error> {
        self.check_arity(values)?;
        self.lookup(hash_values(values), values).map(|(_, m)| m)
    }

    /// Finds, revives (from the expired map) or creates the series in the
    /// shared map.
    fn lookup(&self, hash: u64, values: &[&str]) -> Result<(LabelValues, M), Error> {
        let found = |s: &Series<M>| (s.values.clone(), s.metric.clone());
        {
            let map = self.0.map.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(i) = map.live.find(hash, values) {
                return Ok(found(&map.live.series[i]));
            }
        }
        let mut map = self.0.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = map.live.find(hash, values) {
            return Ok(found(&map.live.series[i]));
        }
        if let Some(i) = map.expired.find(hash, values) {
            // Revived, never refused: the series exists, and its value
            // must not be lost.
            let (series, seen) = map.expired.remove_at(i);
            let out = found(&series);
            map.live.insert(series, seen.map(|_| Seen::unseen()));
            return Ok(out);
        }
        // Indices are `u32`: no map holds more than `MAX_SERIES`, the live
        // one taking revived series beyond `max_series` included (revivals
        // and expiry move series between the maps, never adding one).
        if map.live.len() >= self.0.desc.max_series
            || map.live.len() + map.expired.len() >= MAX_SERIES
        {
            return Err(Error::CardinalityLimit {
                family: self.0.desc.given.to_string(),
                limit: self.0.desc.max_series,
            });
        }
        let metric = M::create(&self.0.config, &self.0.desc)?;
        let key = LabelValues::new(values);
        let seen = self.0.expiry.as_ref().map(|_| Seen::unseen());
        map.live.insert(
            Series {
                values: key.clone(),
                metric: metric.clone(),
            },
            seen,
        );
        Ok((key, metric))
    }

    /// Removes the series for `values`; `Ok(true)` if it existed, an
    /// [`Error::LabelCount`] for a wrong number of values. Handles kept by
    /// callers (from [`get_or_create`](Self::get_or_create) or
    /// [`handle`](Self::handle), timers and guards included) stay usable but
    /// write into the removed series, which is no longer exported; every
    /// thread's next lookup of the same values starts a new series at zero.
    /// A series that [expired](crate::Opts::expire_after) is removed too
    /// (`Ok(true)`), and will not be revived.
    pub fn remove(&self, values: &[&str]) -> Result<bool, Error> {
        self.check_arity(values)?;
        let hash = hash_values(values);
        let removed = {
            let mut map = self.0.map.write().unwrap_or_else(PoisonError::into_inner);
            let removed = map
                .live
                .remove(hash, values)
                .or_else(|| map.expired.remove(hash, values));
            if removed.is_some() {
                self.0.generation.fetch_add(1, Ordering::Release);
            }
            removed
        };
        Ok(removed.is_some())
    }

    /// Removes every series; handles kept by callers behave as after
    /// [`remove`](Self::remove).
    pub fn clear(&self) {
        let old = {
            let mut map = self.0.map.write().unwrap_or_else(PoisonError::into_inner);
            let old = (map.live.clear(), map.expired.clear());
            self.0.generation.fetch_add(1, Ordering::Release);
            old
        };
        drop(old);
    }

    /// Number of series, as scrapes export them: expired series are not
    /// counted.
    pub fn len(&self) -> usize {
        self.0
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .live
            .len()
    }

    /// Whether the family has no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the registry keeps of a family: its description and a way to visit it.
pub(crate) trait Collect: Send + Sync {
    /// Hands the family to `visitor`; in a family with expiry, this is
    /// also a sweep.
    fn visit(&self, visitor: &mut dyn MetricVisitor, scratch: &mut Scratch);
    /// Sweeps without exporting; the number of series that expired.
    fn expire_idle(&self, scratch: &mut Scratch) -> usize;
}

impl<M: Metric> Collect for FamilyInner<M> {
    fn visit(&self, visitor: &mut dyn MetricVisitor, scratch: &mut Scratch) {
        let d = &self.desc;
        visitor.begin_family(&FamilyDesc {
            name: &d.name,
            help: &d.help,
            metric_type: M::TYPE,
            unit: d.unit.as_deref(),
        });
        if let Some(expiry) = &self.expiry {
            self.sweep(expiry, Some(&mut *visitor), scratch);
        } else {
            let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
            for s in &map.live.series {
                s.metric.visit_series(&self.labels(s), scratch, visitor);
            }
        }
        visitor.end_family();
    }

    fn expire_idle(&self, scratch: &mut Scratch) -> usize {
        self.expiry
            .as_ref()
            .map_or(0, |expiry| self.sweep(expiry, None, scratch))
    }
}

impl<M: Metric> FamilyInner<M> {
    /// The labels a scrape exports `series` with.
    fn labels<'a>(&'a self, series: &'a Series<M>) -> SeriesLabels<'a> {
        SeriesLabels {
            consts: &self.desc.const_labels,
            names: &self.desc.label_names,
            values: &series.values,
        }
    }
}
