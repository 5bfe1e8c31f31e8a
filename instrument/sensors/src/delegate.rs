//! [`SensorDelegate`]: Faust's `app.sensors`, fanning every event out to
//! the sensors it holds.

use crate::clock::Started;
use crate::monitor::Monitor;
use crate::sensor::{Sensor, StreamTask, TopicPartition};
use arc_swap::{ArcSwap, Cache};
use crossbeam_utils::CachePadded;
use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use thread_local::ThreadLocal;

/// A sensor of the list and the generation it was added at.
#[derive(Clone)]
struct Entry {
    sensor: Arc<dyn Sensor>,
    /// The sensor when it is a [`Monitor`]: called without dynamic
    /// dispatch, its event path inlined here.
    monitor: Option<Monitor>,
    added: u64,
}

impl Entry {
    fn new(sensor: Arc<dyn Sensor>, added: u64) -> Self {
        let monitor = (&*sensor as &dyn Any).downcast_ref::<Monitor>().cloned();
        Self {
            sensor,
            monitor,
            added,
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
    /// The generation of this version (that of its last add or remove).
    generation: u64,
    /// Every sensor held, in the order added.
    all: Vec<Entry>,
    /// Those that are called ([`Sensor::is_enabled`] when added).
    called: Vec<Entry>,
}

type Shared = Arc<ArcSwap<List>>;

/// A thread's cached list (padded: each event writes its borrow flag).
type ThreadList = CachePadded<RefCell<Cache<Shared, Arc<List>>>>;

/// Generations of every delegate's lists: one counter for all, so that a
/// delegate nested in another can carry its generation in the same token
/// (see [`SensorDelegate`]). Starts at 1: 0 is "no generation".
fn next_generation() -> u64 {
    static GENERATIONS: AtomicU64 = AtomicU64::new(0);
    // Relaxed: a list's generation travels inside the list, published by
    // the swap (release) and read with it (acquire); a start that
    // happened before an add has read a generation that the add's
    // increment follows in the counter's order.
    GENERATIONS.fetch_add(1, Ordering::Relaxed) + 1
}

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
/// it). The token also carries the generation of the list the start went
/// to (every [`add`](Self::add) and [`remove`](Self::remove) makes a new
/// one), and the end goes only to the sensors of its current list that
/// were added at or before it: those that saw the start. A sensor added
/// between a start and its end gets neither, so its levels
/// (`events_active`, `active_messages`, `total_rebalances_recovering`)
/// never go below zero and it records no latency it did not see begin
/// (Faust raises a `KeyError` there); a removed sensor gets no more
/// events. A rebalance's start, return and end share one token: a sensor
/// added after the start sees none of its return and end. An end given
/// [`Started::UNSET`] (a manual ack, a token not kept) goes to every
/// sensor, as before.
///
/// Delegates nest: a delegate held by another returns its own generation
/// in the token, and the outer one the larger of its own and those its
/// sensors returned; generations come from one process-wide counter, so
/// each delegate's check holds for its own list. (One race is left: a
/// sensor added to the outer delegate while one start is going through
/// it, after the outer list was read and before a change to the inner
/// list that this same start then reads, gets that start's end.)
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
        let called = all
            .iter()
            .filter(|e| e.sensor.is_enabled())
            .cloned()
            .collect();
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
            sensors: Arc::new(ArcSwap::from_pointee(List::new(
                next_generation(),
                Vec::new(),
            ))),
            cache: ThreadLocal::new(),
        }
    }

    /// Adds `sensor` (again, if it is there already: it then gets each
    /// event twice). It gets the ends of the starts that come after.
    pub fn add(&self, sensor: Arc<dyn Sensor>) {
        self.sensors.rcu(|list| {
            // A generation per try: the published ones only go up.
            let generation = next_generation();
            let mut all = list.all.clone();
            all.push(Entry::new(Arc::clone(&sensor), generation));
            List::new(generation, all)
        });
    }

    /// Removes every entry of `sensor` (the same `Arc` value that was
    /// added); whether there was one. It gets no event from then on.
    pub fn remove(&self, sensor: &Arc<dyn Sensor>) -> bool {
        let target = addr(sensor);
        let mut removed = false;
        self.sensors.rcu(|list| {
            let kept: Vec<_> = list
                .all
                .iter()
                .filter(|e| addr(&e.sensor) != target)
                .cloned()
                .collect();
            removed = kept.len() != list.all.len();
            List::new(next_generation(), kept)
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
    /// list's generation (or a nested delegate's, when later).
    #[inline]
    fn start(
        &self,
        f: (
            impl Fn(&dyn Sensor) -> Started,
            impl Fn(&Monitor) -> Started,
        ),
    ) -> Started {
        self.with_list(|list| {
            let mut first = Started::UNSET;
            let mut generation = list.generation;
            for e in &list.called {
                let t = e.call(&f);
                generation = generation.max(t.generation());
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
