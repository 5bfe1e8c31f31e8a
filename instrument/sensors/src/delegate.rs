//! [`SensorDelegate`]: Faust's `app.sensors`, fanning every event out to
//! the sensors it holds.

use crate::clock::Started;
use crate::monitor::Monitor;
use crate::sensor::{Sensor, StreamTask, TopicPartition};
use arc_swap::{ArcSwap, Cache};
use crossbeam_utils::CachePadded;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use thread_local::ThreadLocal;

/// A sensor of the list and the generation its add published.
#[derive(Clone)]
struct Entry {
    sensor: Arc<dyn Sensor>,
    /// The sensor when it is a [`Monitor`]: called without dynamic
    /// dispatch, its event path inlined here.
    monitor: Option<Monitor>,
    /// [`Sensor::is_enabled`], asked once, when the sensor was added.
    enabled: bool,
    added: u64,
}

impl Entry {
    /// Asks the sensor what the delegate keeps of it (user code: run
    /// before the add takes the generations' lock); `added` is set under
    /// that lock.
    fn new(sensor: Arc<dyn Sensor>) -> Self {
        let monitor = sensor.as_monitor().cloned();
        let enabled = sensor.is_enabled();
        Self {
            sensor,
            monitor,
            enabled,
            added: 0,
        }
    }

    /// Runs the callback on the sensor: `m` for a monitor, `f` for any
    /// other.
    #[inline(always)]
    fn call<R>(&self, (f, m): &(impl Fn(&dyn Sensor) -> R, impl Fn(&Monitor) -> R)) -> R {
        match &self.monitor {
            Some(monitor) => m(monitor),
            None => f(&*self.sensor),
        }
    }
}

/// The same callback for any sensor and for a [`Monitor`] (statically
/// dispatched): `both!(|s| s.on_table_get(table))`.
macro_rules! both {
    (|$s:ident| $body:expr) => {
        (|$s: &dyn Sensor| $body, |$s: &Monitor| $body)
    };
}

/// One version of the list: swapped as a whole, never changed.
struct List {
    /// The generation of the change that made it: every entry's is at or
    /// below it, and the list holds every entry of this delegate added
    /// at or below it and not removed since (one lock orders the changes
    /// of every delegate).
    generation: u64,
    /// Every sensor held, in the order added.
    all: Vec<Entry>,
    /// Those that are called ([`Sensor::is_enabled`] when added).
    called: Vec<Entry>,
}

type Shared = Arc<ArcSwap<List>>;

/// A thread's cached list (padded: each event writes its borrow flag).
type ThreadList = CachePadded<RefCell<Cache<Shared, Arc<List>>>>;

/// Generations of every delegate's lists, one sequence for all, so that a
/// delegate nested in another carries its generation in the same token
/// (see [`SensorDelegate`]): the last one drawn, under this lock, which
/// every delegate's [`add`](SensorDelegate::add) and
/// [`remove`](SensorDelegate::remove) holds while it draws one and
/// publishes its new list. Changes are rare; events never take it.
static CHANGES: Mutex<u64> = Mutex::new(FIRST);

/// The last generation whose list is published: stored (release) after
/// the list is swapped in, under [`CHANGES`]; a start loads it (acquire)
/// before it loads its list. Only goes up.
static PUBLISHED: AtomicU64 = AtomicU64::new(FIRST);

/// The generation before any add: a start's token always has one (0 is
/// "no generation", which ends at every sensor), and every entry's is
/// later.
const FIRST: u64 = 1;

/// Fans every event out to the sensors it holds, in the order they were
/// added. [`add`](Self::add) and [`remove`](Self::remove) may run while
/// events flow: the list is swapped as a whole (`arc-swap`), and an event
/// reads it without a lock or an allocation, so it goes to every sensor
/// of the list it saw, before or after the change, never half. Each
/// thread keeps the list it last saw (an `arc_swap::Cache`): an event
/// costs one load of the shared pointer to check it is still current, and
/// a removed sensor is dropped once every thread that used it has sent
/// its next event. A sensor whose [`Sensor::is_enabled`] is false when
/// added is held (it counts in [`len`](Self::len)) but never called; a
/// [`Monitor`](crate::Monitor) is called directly (its event path inlined,
/// no dynamic dispatch).
///
/// Paired callbacks: the delegate returns the first start token that a
/// sensor returned with a time, and hands that one token to every
/// sensor's end callback; sensors that share start tokens must share one
/// [`Clock`](crate::Clock) ([`Monitoring`](crate::Monitoring) sees to
/// it). The token also carries a generation: every [`add`](Self::add)
/// and [`remove`](Self::remove) draws a new one (one sequence for every
/// delegate of the process, drawn under one lock with the list's swap),
/// and a start takes the later of the last one published before it read
/// its list and the generation of the list it read. An end goes only to
/// the sensors of its current list added at or before the token's
/// generation: each of those was in the list the start read, so it saw
/// the start; and every sensor of that list is at or before it, so it
/// gets the end. A sensor added between a start and its end (a
/// rebalance's return and end included) gets none of its ends, and it
/// records no latency it did not see begin (Faust raises a `KeyError`
/// there); a removed sensor gets no more events. A rebalance's start,
/// return and end share one token.
///
/// What is left, by design:
///
/// - An end given [`Started::UNSET`] (a manual ack, a token not kept, or
///   any token of generation 0) goes to every sensor, as Faust's does, so
///   a sensor added since its start sees its level go one below what it
///   saw: levels are exact only for ends given their tokens.
/// - Nested delegates (below): a sensor added to the inner delegate
///   while a start is between the outer delegate's read of the
///   published generation and the inner one's read of its list sees the
///   start but not its end: its levels stay one too high (a rare leak
///   upward, never below zero). A delegate that holds no delegate has no
///   such window.
/// - A sensor removed and added again (the same `Arc`) is a new sensor
///   for pairing: the ends of the starts it saw before it was removed no
///   longer reach it, so its levels keep what was in flight at the
///   remove. Add a fresh sensor where levels matter.
///
/// Delegates nest: a delegate held by another returns its own generation
/// in the token, and the outer one keeps the smallest of its own and
/// those its sensors returned (a plain sensor's token has none): every
/// sensor of either list at or below it was in the list that delegate
/// read at the start. (The larger would not do: a sensor added to the
/// outer delegate after it read its list, before the inner one read
/// its own, would get an end it did not see start.)
///
/// A panicking sensor panics the caller, as any callback would.
///
/// ```
/// use hotmetrics_sensors::{Monitor, Sensor, SensorDelegate, StreamTask, TopicPartition};
/// use std::sync::Arc;
///
/// let delegate = SensorDelegate::new();
/// let monitor = Arc::new(Monitor::new());
/// delegate.add(monitor.clone());
/// let tp = TopicPartition::new("orders", 0);
/// let message = delegate.on_message_in(tp, 7);
/// // Added while the message is in flight: it gets none of its end.
/// let late = Arc::new(Monitor::new());
/// delegate.add(late.clone());
/// delegate.on_message_out(tp, 7, message);
/// assert_eq!(late.snapshot().messages_active, 0);
/// assert!(delegate.remove(&(monitor.clone() as Arc<dyn Sensor>)));
/// delegate.on_message_in(tp, 8);
/// assert_eq!(monitor.snapshot().messages_received_total, 1);
/// ```
pub struct SensorDelegate {
    sensors: Shared,
    /// Each thread's copy of the list, revalidated per event.
    /// On a cache line of its own: each event writes its borrow flag, and
    /// threads' entries may sit side by side.
    cache: ThreadLocal<ThreadList>,
}

impl fmt::Debug for SensorDelegate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = self.sensors.load();
        f.debug_struct("SensorDelegate")
            .field("sensors", &list.all.len())
            .field("called", &list.called.len())
            .field("generation", &list.generation)
            .finish()
    }
}

impl Default for SensorDelegate {
    fn default() -> Self {
        Self::new()
    }
}

/// The address of a sensor's value: what identifies it in the list.
fn addr(s: &Arc<dyn Sensor>) -> *const () {
    Arc::as_ptr(s).cast()
}

impl List {
    fn new(generation: u64, all: Vec<Entry>) -> Self {
        let called = all.iter().filter(|e| e.enabled).cloned().collect();
        Self {
            generation,
            all,
            called,
        }
    }
}

impl SensorDelegate {
    /// A delegate with no sensors.
    pub fn new() -> Self {
        Self {
            sensors: Arc::new(ArcSwap::from_pointee(List::new(FIRST, Vec::new()))),
            cache: ThreadLocal::new(),
        }
    }

    /// Makes the new list from the current one under the generations'
    /// lock (`change` is given the generation drawn), swaps it in and
    /// publishes the generation. The old list is dropped after the lock
    /// is released (it may hold the last reference to a sensor).
    fn change(&self, change: impl FnOnce(&List, u64) -> Vec<Entry>) {
        let old = {
            let mut last = CHANGES.lock().unwrap_or_else(PoisonError::into_inner);
            *last += 1;
            let generation = *last;
            let current = self.sensors.load_full();
            let old = self.sensors.swap(Arc::new(List::new(
                generation,
                change(&current, generation),
            )));
            // Release: a start that loads this generation (acquire) then
            // loads a list at least as new as the one just swapped in.
            PUBLISHED.store(generation, Ordering::Release);
            old
        };
        drop(old);
    }

    /// Adds `sensor` (again, if it is there already: it then gets each
    /// event twice). It gets the ends of the starts that come after; its
    /// [`Sensor::is_enabled`] is asked here, once.
    pub fn add(&self, sensor: Arc<dyn Sensor>) {
        let mut entry = Entry::new(sensor);
        self.change(|list, generation| {
            entry.added = generation;
            let mut all = list.all.clone();
            all.push(entry);
            all
        });
    }

    /// Removes every entry of `sensor` (the same `Arc` value that was
    /// added); whether there was one. It gets no event from then on
    /// (added again, it is a new sensor: see [`SensorDelegate`]).
    pub fn remove(&self, sensor: &Arc<dyn Sensor>) -> bool {
        let target = addr(sensor);
        let mut removed = false;
        self.change(|list, _| {
            let kept: Vec<_> = list
                .all
                .iter()
                .filter(|e| addr(&e.sensor) != target)
                .cloned()
                .collect();
            removed = kept.len() != list.all.len();
            kept
        });
        removed
    }

    /// Sensors held.
    pub fn len(&self) -> usize {
        self.sensors.load().all.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` with the current list: the thread's cached copy when it
    /// is still current, the shared one when the cache is in use (a sensor
    /// that calls this delegate again from a callback).
    #[inline]
    fn with_list<R>(&self, f: impl FnOnce(&List) -> R) -> R {
        let cell = self
            .cache
            .get_or(|| CachePadded::new(RefCell::new(Cache::new(Arc::clone(&self.sensors)))));
        match cell.try_borrow_mut() {
            Ok(mut cache) => f(cache.load()),
            Err(_) => f(&self.sensors.load()),
        }
    }

    /// A one-shot callback: every sensor called.
    #[inline]
    fn each(&self, f: (impl Fn(&dyn Sensor), impl Fn(&Monitor))) {
        self.with_list(|list| {
            for e in &list.called {
                e.call(&f);
            }
        });
    }

    /// A start: every sensor called; the first token with a time, at the
    /// later of the generation published before the list was read and
    /// the list's own (or a nested delegate's, when smaller).
    #[inline]
    fn start(
        &self,
        f: (
            impl Fn(&dyn Sensor) -> Started,
            impl Fn(&Monitor) -> Started,
        ),
    ) -> Started {
        // Acquire, before the list: every entry at or below it is in the
        // list read next (or was removed since). So is every entry at or
        // below the list's own generation.
        let published = PUBLISHED.load(Ordering::Acquire);
        self.with_list(|list| {
            let mut first = Started::UNSET;
            let mut generation = published.max(list.generation);
            for e in &list.called {
                let t = e.call(&f);
                // 0: a plain sensor's token, no generation.
                if t.generation() != 0 {
                    generation = generation.min(t.generation());
                }
                if first.is_unset() {
                    first = t;
                }
            }
            first.with_generation(generation)
        })
    }

    /// An end: the sensors that saw `state`'s start (every sensor for a
    /// token of no generation).
    #[inline]
    fn end(&self, state: Started, f: (impl Fn(&dyn Sensor), impl Fn(&Monitor))) {
        let generation = match state.generation() {
            0 => u64::MAX,
            g => g,
        };
        self.with_list(|list| {
            for e in &list.called {
                if e.added <= generation {
                    e.call(&f);
                }
            }
        });
    }
}

impl Sensor for SensorDelegate {
    /// Always: its list may change while it is held.
    fn is_enabled(&self) -> bool {
        true
    }

    #[inline]
    fn on_message_in(&self, tp: TopicPartition<'_>, offset: i64) -> Started {
        self.start(both!(|s| s.on_message_in(tp, offset)))
    }

    #[inline]
    fn on_message_out(&self, tp: TopicPartition<'_>, offset: i64, state: Started) {
        self.end(state, both!(|s| s.on_message_out(tp, offset, state)));
    }

    #[inline]
    fn on_stream_event_in(
        &self,
        tp: TopicPartition<'_>,
        offset: i64,
        stream: StreamTask<'_>,
    ) -> Started {
        self.start(both!(|s| s.on_stream_event_in(tp, offset, stream)))
    }

    #[inline]
    fn on_stream_event_out(
        &self,
        tp: TopicPartition<'_>,
        offset: i64,
        stream: StreamTask<'_>,
        state: Started,
    ) {
        self.end(
            state,
            both!(|s| s.on_stream_event_out(tp, offset, stream, state)),
        );
    }

    fn on_topic_buffer_full(&self, tp: TopicPartition<'_>) {
        self.each(both!(|s| s.on_topic_buffer_full(tp)));
    }

    #[inline]
    fn on_table_get(&self, table: &str) {
        self.each(both!(|s| s.on_table_get(table)));
    }

    #[inline]
    fn on_table_set(&self, table: &str) {
        self.each(both!(|s| s.on_table_set(table)));
    }

    #[inline]
    fn on_table_del(&self, table: &str) {
        self.each(both!(|s| s.on_table_del(table)));
    }

    fn on_commit_initiated(&self) -> Started {
        self.start(both!(|s| s.on_commit_initiated()))
    }

    fn on_commit_completed(&self, state: Started) {
        self.end(state, both!(|s| s.on_commit_completed(state)));
    }

    fn on_tp_commit(&self, offsets: &[(TopicPartition<'_>, i64)]) {
        self.each(both!(|s| s.on_tp_commit(offsets)));
    }

    fn on_partition_end_offset(&self, tp: TopicPartition<'_>, high_watermark: i64) {
        self.each(both!(|s| s.on_partition_end_offset(tp, high_watermark)));
    }

    #[inline]
    fn on_send_initiated(&self, topic: &str, key_size: usize, value_size: usize) -> Started {
        self.start(both!(|s| s.on_send_initiated(topic, key_size, value_size)))
    }

    #[inline]
    fn on_send_completed(&self, topic: &str, state: Started) {
        self.end(state, both!(|s| s.on_send_completed(topic, state)));
    }

    fn on_send_error(&self, topic: &str, error: &dyn fmt::Display, state: Started) {
        self.end(state, both!(|s| s.on_send_error(topic, error, state)));
    }

    fn on_assignment_start(&self) -> Started {
        self.start(both!(|s| s.on_assignment_start()))
    }

    fn on_assignment_completed(&self, state: Started) {
        self.end(state, both!(|s| s.on_assignment_completed(state)));
    }

    fn on_assignment_error(&self, error: &dyn fmt::Display, state: Started) {
        self.end(state, both!(|s| s.on_assignment_error(error, state)));
    }

    fn on_rebalance_start(&self) -> Started {
        self.start(both!(|s| s.on_rebalance_start()))
    }

    fn on_partitions_revoked(&self, partitions: &[TopicPartition<'_>]) {
        self.each(both!(|s| s.on_partitions_revoked(partitions)));
    }

    fn on_rebalance_return(&self, state: Started) {
        self.end(state, both!(|s| s.on_rebalance_return(state)));
    }

    fn on_rebalance_end(&self, state: Started) {
        self.end(state, both!(|s| s.on_rebalance_end(state)));
    }

    fn on_web_request_start(&self, method: &str, path: &str) -> Started {
        self.start(both!(|s| s.on_web_request_start(method, path)))
    }

    fn on_web_request_end(&self, method: &str, path: &str, status: u16, state: Started) {
        self.end(
            state,
            both!(|s| s.on_web_request_end(method, path, status, state)),
        );
    }

    fn count(&self, name: &str, n: u64) {
        self.each(both!(|s| s.count(name, n)));
    }
}

/// A `loom` model of the generation protocol on two nested delegates (the
/// event path's orderings and the start's min of max; arc-swap is not
/// loom-aware, so each list is one atomic word here, swapped with
/// release and read with acquire as arc-swap does at least): a sensor
/// added to either delegate while a start goes through both never gets
/// an end it did not see start.
#[cfg(test)]
mod loom_model {
    use loom::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    use loom::sync::{Arc, Mutex};

    /// A list: its generation (high half) and its one sensor's `added`
    /// (low half; 0: none yet).
    fn pack(generation: u64, added: u64) -> u64 {
        (generation << 32) | added
    }

    struct World {
        changes: Mutex<u64>,
        published: AtomicU64,
        outer: AtomicU64,
        inner: AtomicU64,
        /// The levels of the sensor added to each (starts − ends).
        outer_level: AtomicI64,
        inner_level: AtomicI64,
    }

    /// `SensorDelegate::change`: draw, swap, publish, under one lock.
    fn add(w: &World, list: &AtomicU64) {
        let mut last = w.changes.lock().unwrap();
        *last += 1;
        list.store(pack(*last, *last), Ordering::Release);
        w.published.store(*last, Ordering::Release);
    }

    /// `SensorDelegate::start` on one delegate: its generation.
    fn start(w: &World, list: &AtomicU64, level: &AtomicI64) -> u64 {
        let published = w.published.load(Ordering::Acquire);
        let l = list.load(Ordering::Acquire);
        if l & 0xffff_ffff != 0 {
            level.fetch_add(1, Ordering::Relaxed);
        }
        published.max(l >> 32)
    }

    /// `SensorDelegate::end` on one delegate.
    fn end(list: &AtomicU64, level: &AtomicI64, token: u64) {
        let added = list.load(Ordering::Acquire) & 0xffff_ffff;
        if added != 0 && added <= token {
            level.fetch_sub(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn adds_to_nested_delegates_never_take_a_level_below_zero() {
        loom::model(|| {
            let w = Arc::new(World {
                changes: Mutex::new(super::FIRST),
                published: AtomicU64::new(super::FIRST),
                outer: AtomicU64::new(pack(super::FIRST, 0)),
                inner: AtomicU64::new(pack(super::FIRST, 0)),
                outer_level: AtomicI64::new(0),
                inner_level: AtomicI64::new(0),
            });
            let adders: Vec<_> = [false, true]
                .into_iter()
                .map(|to_inner| {
                    let w = Arc::clone(&w);
                    loom::thread::spawn(move || add(&w, if to_inner { &w.inner } else { &w.outer }))
                })
                .collect();
            // The outer delegate reads its list, then calls the inner one.
            let outer = start(&w, &w.outer, &w.outer_level);
            let inner = start(&w, &w.inner, &w.inner_level);
            let token = outer.min(inner);
            end(&w.outer, &w.outer_level, token);
            end(&w.inner, &w.inner_level, token);
            for a in adders {
                a.join().unwrap();
            }
            let levels = (
                w.outer_level.load(Ordering::Relaxed),
                w.inner_level.load(Ordering::Relaxed),
            );
            assert!(levels.0 >= 0 && levels.1 >= 0, "{levels:?}");
        });
    }
}
