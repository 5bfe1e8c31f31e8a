//! [`SensorDelegate`]: Faust's `app.sensors`, fanning every event out to
//! the sensors it holds.

use crate::clock::Started;
use crate::sensor::{Sensor, TopicPartition};
use arc_swap::{ArcSwap, Cache};
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use thread_local::ThreadLocal;

type List = Arc<Vec<Arc<dyn Sensor>>>;
type Shared = Arc<ArcSwap<Vec<Arc<dyn Sensor>>>>;

/// Fans every event out to the sensors it holds, in the order they were
/// added. [`add`](Self::add) and [`remove`](Self::remove) may run while
/// events flow: the list is swapped as a whole (`arc-swap`), and an event
/// reads it without a lock or an allocation, so it goes to every sensor
/// of the list it saw, before or after the change, never half. Each
/// thread keeps the list it last saw (an `arc_swap::Cache`): an event
/// costs one load of the shared pointer to check it is still current, and
/// a removed sensor is dropped once every thread that used it has sent
/// its next event.
///
/// Paired callbacks: the delegate returns the first start token that a
/// sensor returned (set), and hands that one token to every sensor's end
/// callback; sensors that share start tokens must share one
/// [`Clock`](crate::Clock) ([`Monitoring`](crate::Monitoring) sees to
/// it). A sensor added between a start and its end gets that end with the
/// token of the others, so it records a latency rather than failing
/// (Faust raises a `KeyError`); it also gets the ends of events, messages
/// and rebalances it never saw start, so its levels (`events_active`,
/// `active_messages`, `total_rebalances_recovering`) read low by the ones
/// in flight when it was added, and can go below zero. Add sensors before
/// events flow where levels matter.
///
/// A panicking sensor panics the caller, as any callback would.
///
/// ```
/// use hotmetrics_sensors::{Monitor, Sensor, SensorDelegate, TopicPartition};
/// use std::sync::Arc;
///
/// let delegate = SensorDelegate::new();
/// let monitor = Arc::new(Monitor::new());
/// delegate.add(monitor.clone());
/// delegate.on_message_in(TopicPartition::new("orders", 0), 7);
/// assert!(delegate.remove(&(monitor.clone() as Arc<dyn Sensor>)));
/// delegate.on_message_in(TopicPartition::new("orders", 0), 8);
/// assert_eq!(monitor.snapshot().messages_received_total, 1);
/// ```
pub struct SensorDelegate {
    sensors: Shared,
    /// Each thread's copy of the list, revalidated per event.
    cache: ThreadLocal<RefCell<Cache<Shared, List>>>,
}

impl fmt::Debug for SensorDelegate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SensorDelegate")
            .field("sensors", &self.len())
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

impl SensorDelegate {
    /// A delegate with no sensors.
    pub fn new() -> Self {
        Self {
            sensors: Arc::new(ArcSwap::from_pointee(Vec::new())),
            cache: ThreadLocal::new(),
        }
    }

    /// Adds `sensor` (again, if it is there already: it then gets each
    /// event twice).
    pub fn add(&self, sensor: Arc<dyn Sensor>) {
        self.sensors.rcu(|list| {
            let mut list = Vec::clone(list);
            list.push(Arc::clone(&sensor));
            list
        });
    }

    /// Removes every entry of `sensor` (the same `Arc` value that was
    /// added); whether there was one.
    pub fn remove(&self, sensor: &Arc<dyn Sensor>) -> bool {
        let target = addr(sensor);
        let mut removed = false;
        self.sensors.rcu(|list| {
            let kept: Vec<_> = list.iter().filter(|s| addr(s) != target).cloned().collect();
            removed = kept.len() != list.len();
            kept
        });
        removed
    }

    /// Sensors held.
    pub fn len(&self) -> usize {
        self.sensors.load().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` with the current list: the thread's cached copy when it
    /// is still current, the shared one when the cache is in use (a sensor
    /// that calls this delegate again from a callback).
    #[inline]
    fn with_list<R>(&self, f: impl FnOnce(&[Arc<dyn Sensor>]) -> R) -> R {
        let cell = self
            .cache
            .get_or(|| RefCell::new(Cache::new(Arc::clone(&self.sensors))));
        match cell.try_borrow_mut() {
            Ok(mut cache) => f(cache.load()),
            Err(_) => f(&self.sensors.load()),
        }
    }

    #[inline]
    fn each(&self, f: impl Fn(&dyn Sensor)) {
        self.with_list(|list| {
            for s in list {
                f(&**s);
            }
        });
    }

    #[inline]
    fn start(&self, f: impl Fn(&dyn Sensor) -> Started) -> Started {
        self.with_list(|list| {
            let mut first = Started::UNSET;
            for s in list {
                let t = f(&**s);
                if first.is_unset() {
                    first = t;
                }
            }
            first
        })
    }
}

impl Sensor for SensorDelegate {
    #[inline]
    fn on_message_in(&self, tp: TopicPartition<'_>, offset: i64) {
        self.each(|s| s.on_message_in(tp, offset));
    }

    #[inline]
    fn on_message_out(&self, tp: TopicPartition<'_>, offset: i64) {
        self.each(|s| s.on_message_out(tp, offset));
    }

    #[inline]
    fn on_stream_event_in(&self, tp: TopicPartition<'_>, offset: i64, stream: &str) -> Started {
        self.start(|s| s.on_stream_event_in(tp, offset, stream))
    }

    #[inline]
    fn on_stream_event_out(
        &self,
        tp: TopicPartition<'_>,
        offset: i64,
        stream: &str,
        state: Started,
    ) {
        self.each(|s| s.on_stream_event_out(tp, offset, stream, state));
    }

    fn on_topic_buffer_full(&self, tp: TopicPartition<'_>) {
        self.each(|s| s.on_topic_buffer_full(tp));
    }

    #[inline]
    fn on_table_get(&self, table: &str) {
        self.each(|s| s.on_table_get(table));
    }

    #[inline]
    fn on_table_set(&self, table: &str) {
        self.each(|s| s.on_table_set(table));
    }

    #[inline]
    fn on_table_del(&self, table: &str) {
        self.each(|s| s.on_table_del(table));
    }

    fn on_commit_initiated(&self) -> Started {
        self.start(|s| s.on_commit_initiated())
    }

    fn on_commit_completed(&self, state: Started) {
        self.each(|s| s.on_commit_completed(state));
    }

    fn on_tp_commit(&self, offsets: &[(TopicPartition<'_>, i64)]) {
        self.each(|s| s.on_tp_commit(offsets));
    }

    fn on_partition_end_offset(&self, tp: TopicPartition<'_>, high_watermark: i64) {
        self.each(|s| s.on_partition_end_offset(tp, high_watermark));
    }

    #[inline]
    fn on_send_initiated(&self, topic: &str, key_size: usize, value_size: usize) -> Started {
        self.start(|s| s.on_send_initiated(topic, key_size, value_size))
    }

    #[inline]
    fn on_send_completed(&self, topic: &str, state: Started) {
        self.each(|s| s.on_send_completed(topic, state));
    }

    fn on_send_error(&self, topic: &str, error: &dyn fmt::Display, state: Started) {
        self.each(|s| s.on_send_error(topic, error, state));
    }

    fn on_assignment_start(&self) -> Started {
        self.start(|s| s.on_assignment_start())
    }

    fn on_assignment_completed(&self, state: Started) {
        self.each(|s| s.on_assignment_completed(state));
    }

    fn on_assignment_error(&self, error: &dyn fmt::Display, state: Started) {
        self.each(|s| s.on_assignment_error(error, state));
    }

    fn on_rebalance_start(&self) -> Started {
        self.start(|s| s.on_rebalance_start())
    }

    fn on_partitions_revoked(&self, partitions: &[TopicPartition<'_>]) {
        self.each(|s| s.on_partitions_revoked(partitions));
    }

    fn on_rebalance_return(&self, state: Started) {
        self.each(|s| s.on_rebalance_return(state));
    }

    fn on_rebalance_end(&self, state: Started) {
        self.each(|s| s.on_rebalance_end(state));
    }

    fn on_web_request_start(&self, method: &str, path: &str) -> Started {
        self.start(|s| s.on_web_request_start(method, path))
    }

    fn on_web_request_end(&self, method: &str, path: &str, status: u16, state: Started) {
        self.each(|s| s.on_web_request_end(method, path, status, state));
    }

    fn count(&self, name: &str, n: u64) {
        self.each(|s| s.count(name, n));
    }
}
