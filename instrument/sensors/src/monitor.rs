//! [`Monitor`]: Faust's `Monitor` on hotmetrics series. Every total and
//! every per-topic, per-partition, per-stream and per-table count lives in
//! a sharded series (per-thread cells, no lock, no shared write); the
//! series of a key are resolved once and found again in the calling
//! thread's cache. Rates and latency summaries are computed when read.

use crate::clock::{Clock, Started};
use crate::history::{History, LatencyStats};
use crate::keyed::{Keyed, Miss};
use crate::names::{
    DEFAULT_NAMESPACE, FAUST_BUCKETS_MS, SENSOR_ERRORS, sent_topic_label, stream_label, table_label,
};
use crate::rates::Rates;
use crate::sensor::{Sensor, StreamTask, TopicPartition};
use crossbeam_utils::CachePadded;
use hotmetrics_core::{Buckets, Counter, Error, Family, Gauge, Histogram, Opts, Registry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use thread_local::ThreadLocal;

/// An offset not seen yet.
const NONE: i64 = i64::MIN;

/// How a [`Monitor`] is set up; [`Monitor::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build`"]
pub struct MonitorBuilder {
    namespace: String,
    max_avg_history: usize,
    max_commit_latency_history: usize,
    max_send_latency_history: usize,
    max_assignment_latency_history: usize,
    max_keys: usize,
    rate_window: Duration,
    clock: Clock,
}

impl Default for MonitorBuilder {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            max_avg_history: 100,
            max_commit_latency_history: 30,
            max_send_latency_history: 30,
            max_assignment_latency_history: 30,
            max_keys: hotmetrics_core::DEFAULT_MAX_SERIES,
            rate_window: Duration::from_secs(1),
            clock: Clock::monotonic(),
        }
    }
}

impl MonitorBuilder {
    /// The namespace in front of every family (`<namespace>_<name>`;
    /// default `faust_app`). Faust derives it from the app name:
    /// [`namespace_of`](crate::namespace_of).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Samples kept of event runtimes, rebalance and HTTP latencies
    /// (Faust's `max_avg_history`, default 100).
    pub fn max_avg_history(mut self, n: usize) -> Self {
        self.max_avg_history = n;
        self
    }

    /// Samples kept of commit latencies (default 30).
    pub fn max_commit_latency_history(mut self, n: usize) -> Self {
        self.max_commit_latency_history = n;
        self
    }

    /// Samples kept of send latencies (default 30).
    pub fn max_send_latency_history(mut self, n: usize) -> Self {
        self.max_send_latency_history = n;
        self
    }

    /// Samples kept of assignment latencies (default 30).
    pub fn max_assignment_latency_history(mut self, n: usize) -> Self {
        self.max_assignment_latency_history = n;
        self
    }

    /// At most this many topics, partitions, streams, tasks, tables,
    /// count names and HTTP status codes each (default 10,000, the
    /// families' series limit); past it an event's per-key part is
    /// dropped and counted as `sensor_errors_total{kind="cardinality"}`
    /// (its totals still count). Streams and tasks are bounded apart: a
    /// stream event counts in its stream whenever the stream is known,
    /// however many (stream, task) pairs there are.
    pub fn max_keys(mut self, n: usize) -> Self {
        self.max_keys = n;
        self
    }

    /// Rates cover at least this long once it has passed (default 1 s,
    /// Faust's sampler tick); see [`MonitorSnapshot::messages_s`].
    pub fn rate_window(mut self, window: Duration) -> Self {
        self.rate_window = window;
        self
    }

    /// The clock of latencies and rates (default monotonic).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The monitor, with its families registered in `registry`: Faust's
    /// `PrometheusMonitor` when `registry` is the one you serve. Fails if
    /// a family of that name is already registered.
    pub fn build(self, registry: &Registry) -> Result<Monitor, Error> {
        Monitor::create(self, registry)
    }
}

/// The families, under the namespace.
struct Families {
    registry: Registry,
    messages_received: Counter,
    active_messages: Gauge,
    per_topic: Family<Counter>,
    per_partition: Family<Gauge>,
    events_runtime_ms: Histogram,
    total_events: Counter,
    total_active_events: Gauge,
    per_stream: Family<Counter>,
    table_operations: Family<Counter>,
    topic_messages_sent: Family<Counter>,
    total_sent_messages: Counter,
    producer_send_latency: Histogram,
    total_error_messages_sent: Counter,
    producer_error_send_latency: Histogram,
    assignments_completed: Counter,
    assignments_failed: Counter,
    assign_latency: Histogram,
    total_rebalances: Gauge,
    total_rebalances_recovering: Gauge,
    rebalance_done_consumer_latency: Histogram,
    rebalance_done_latency: Histogram,
    metrics_by_name: Family<Gauge>,
    http_status_codes: Family<Counter>,
    http_latency: Histogram,
    end_offsets: Family<Gauge>,
    committed_offsets: Family<Gauge>,
    consumer_commit_latency: Histogram,
    errors_cardinality: Counter,
    errors_unpaired: Counter,
    errors_invalid_latency: Counter,
    /// Sends initiated (Faust's Monitor `messages_sent`), not exported.
    sends_initiated: Counter,
    /// Stream events per task (Faust's Monitor `events_by_task`), not
    /// exported (Faust's Prometheus monitor does not either).
    events_by_task: Family<Counter>,
}

impl Families {
    /// `max_keys`: the series limit of the families the monitor keeps
    /// out of `registry` (those of `registry` keep their own).
    fn register(ns: &str, registry: &Registry, max_keys: usize) -> Result<Self, Error> {
        let n = |name: &str| format!("{ns}_{name}");
        let ms = || Buckets::new(FAUST_BUCKETS_MS.to_vec());
        let h = |name: &str, help: &str| registry.histogram((n(name), help), ms()?);
        let assignment_operations = registry.counter_vec(
            (
                n("assignment_operations"),
                "Total assigment operations (completed/error)",
            ),
            &["operation"],
        )?;
        let errors = registry.counter_vec(
            (n(SENSOR_ERRORS.name), SENSOR_ERRORS.help),
            SENSOR_ERRORS.labels,
        )?;
        // Not exported: a registry of its own.
        let internal = Registry::new();
        Ok(Self {
            registry: registry.clone(),
            messages_received: registry
                .counter((n("messages_received"), "Total messages received"))?,
            active_messages: registry.gauge((n("active_messages"), "Total active messages"))?,
            per_topic: registry.counter_vec(
                (
                    n("messages_received_per_topic"),
                    "Messages received per topic",
                ),
                &["topic"],
            )?,
            per_partition: registry.gauge_vec(
                (
                    n("messages_received_per_topics_partition"),
                    "Messages received per topic/partition",
                ),
                &["topic", "partition"],
            )?,
            events_runtime_ms: h("events_runtime_ms", "Events runtime in ms")?,
            total_events: registry.counter((n("total_events"), "Total events received"))?,
            total_active_events: registry
                .gauge((n("total_active_events"), "Total active events"))?,
            per_stream: registry.counter_vec(
                (n("total_events_per_stream"), "Events received per Stream"),
                &["stream"],
            )?,
            table_operations: registry.counter_vec(
                (n("table_operations"), "Total table operations"),
                &["table", "operation"],
            )?,
            topic_messages_sent: registry.counter_vec(
                (n("topic_messages_sent"), "Total messages sent per topic"),
                &["topic"],
            )?,
            total_sent_messages: registry
                .counter((n("total_sent_messages"), "Total messages sent"))?,
            producer_send_latency: h("producer_send_latency", "Producer send latency in ms")?,
            total_error_messages_sent: registry
                .counter((n("total_error_messages_sent"), "Total error messages sent"))?,
            producer_error_send_latency: h(
                "producer_error_send_latency",
                "Producer error send latency in ms",
            )?,
            assignments_completed: assignment_operations.get_or_create(&["completed"])?,
            assignments_failed: assignment_operations.get_or_create(&["error"])?,
            assign_latency: h("assign_latency", "Assignment latency in ms")?,
            total_rebalances: registry.gauge((n("total_rebalances"), "Total rebalances"))?,
            total_rebalances_recovering: registry.gauge((
                n("total_rebalances_recovering"),
                "Total rebalances recovering",
            ))?,
            rebalance_done_consumer_latency: h(
                "rebalance_done_consumer_latency",
                "Consumer replying that rebalance is done to broker in ms",
            )?,
            rebalance_done_latency: h(
                "rebalance_done_latency",
                "Rebalance finished latency in ms",
            )?,
            metrics_by_name: registry
                .gauge_vec((n("metrics_by_name"), "Total metrics by name"), &["metric"])?,
            http_status_codes: registry.counter_vec(
                (n("http_status_codes"), "Total http_status code"),
                &["status_code"],
            )?,
            http_latency: h("http_latency", "Http response latency in ms")?,
            end_offsets: registry.gauge_vec(
                (
                    n("topic_partition_end_offset"),
                    "Offset ends per topic/partition",
                ),
                &["topic", "partition"],
            )?,
            committed_offsets: registry.gauge_vec(
                (
                    n("topic_partition_offset_commited"),
                    "Offset commited per topic/partition",
                ),
                &["topic", "partition"],
            )?,
            consumer_commit_latency: h("consumer_commit_latency", "Consumer commit latency in ms")?,
            errors_cardinality: errors.get_or_create(&["cardinality"])?,
            errors_unpaired: errors.get_or_create(&["unpaired"])?,
            errors_invalid_latency: errors.get_or_create(&["invalid_latency"])?,
            sends_initiated: internal.counter(("sends_initiated", "Sends initiated"))?,
            events_by_task: internal.counter_vec(
                Opts::new("events_by_task", "Stream events per task").max_series(max_keys),
                &["task"],
            )?,
        })
    }
}

/// What a topic sent to has.
struct TopicSeries {
    sent: Counter,
}

/// What a partition has. The offsets a consumer thread writes per message
/// sit on a cache line of their own. The offset gauges are made on their
/// first value and dropped when the partition is revoked (written once
/// per commit or fetched batch: a mutex is cheap there, and orders a set
/// with a revoke).
struct PartitionSeries {
    topic_received: Counter,
    received: Gauge,
    end_gauge: Mutex<Option<Gauge>>,
    committed_gauge: Mutex<Option<Gauge>>,
    hot: CachePadded<PartitionHot>,
    committed: AtomicI64,
    end: AtomicI64,
    buffer_full: AtomicU64,
}

struct PartitionHot {
    /// The last message's own offset.
    read: AtomicI64,
}

/// What a (stream, task) pair counts: its stream's series and its task's
/// (those of the `streams` and `tasks` maps, shared by every pair of that
/// stream, of that task).
struct StreamSeries {
    stream: Counter,
    task: Counter,
}

struct TableSeries {
    retrieved: Counter,
    updated: Counter,
    deleted: Counter,
}

struct Inner {
    clock: Clock,
    started: f64,
    f: Families,
    topics: Keyed<TopicSeries>,
    partitions: Keyed<PartitionSeries>,
    /// By stream and task: one lookup per event for both counts (the
    /// fast path; a pair refused here falls back to `streams` and
    /// `tasks` apart).
    pairs: Keyed<StreamSeries>,
    /// Each stream's count (`total_events_per_stream`), bounded apart.
    streams: Keyed<Counter>,
    /// Each task's count (`events_by_task`), bounded apart.
    tasks: Keyed<Counter>,
    tables: Keyed<TableSeries>,
    counts: Keyed<Gauge>,
    http_codes: Keyed<Counter>,
    events_runtime: History,
    commit_latency: History,
    send_latency: History,
    assignment_latency: History,
    rebalance_return_latency: History,
    rebalance_end_latency: History,
    http_latency: History,
    /// messages received, events, sends initiated.
    rates: Rates<3>,
    /// Per thread: clock nanoseconds of its last stream event in (0: none).
    last_event: ThreadLocal<CachePadded<AtomicU64>>,
}

/// Faust's `Monitor`: totals, per-topic / partition / stream / table
/// counts, offsets and latencies of a stream processor, kept in hotmetrics
/// series; a [`Sensor`]. Clones share the monitor.
///
/// [`Monitor::new`] keeps its series in a registry of its own (read them
/// with [`snapshot`](Self::snapshot)); [`Monitor::prometheus`] or
/// [`MonitorBuilder::build`] registers them in yours, under
/// faust-streaming's names, types, labels and buckets (its
/// `PrometheusMonitor`: dashboards made for a Faust app read them).
///
/// ```
/// use hotmetrics_sensors::{Monitor, Sensor, StreamTask, TopicPartition};
///
/// let registry = hotmetrics_core::Registry::new();
/// let monitor = Monitor::prometheus(&registry).unwrap();
/// let tp = TopicPartition::new("orders", 0);
/// let stream = StreamTask::new("orders", "orders.process");
/// let message = monitor.on_message_in(tp, 41);
/// let state = monitor.on_stream_event_in(tp, 41, stream);
/// monitor.on_stream_event_out(tp, 41, stream, state);
/// monitor.on_message_out(tp, 41, message);
///
/// let snapshot = monitor.snapshot();
/// assert_eq!(snapshot.messages_received_total, 1);
/// assert_eq!(snapshot.topic_read_offsets["orders"][&0], 41);
/// assert_eq!(
///     registry.snapshot().counter("faust_app_messages_received_per_topic", &[("topic", "orders")]),
///     Some(1.0)
/// );
/// ```
///
/// # Differences from faust-streaming's `PrometheusMonitor`
/// The names, types, label names and buckets are Faust's; where Faust's
/// values contradict their help text, these follow the help text:
/// - `rebalance_done_consumer_latency`, `rebalance_done_latency` and
///   `http_latency` measure from the start (Faust measures from the end
///   time, so ≈ 0);
/// - `messages_received_per_topics_partition` counts the messages received
///   (Faust sets it to the last offset);
/// - `total_rebalances` is the number of rebalances started (Faust's goes
///   up at a start and down at the return: the rebalances in their join
///   phase); `total_rebalances_recovering` is, as Faust's, those between
///   return and end;
/// - no series is removed at a rebalance (Faust deletes every per-topic
///   and per-partition series at each start and end);
/// - `total_active_events` goes down for every event out, a manual ack
///   that passes [`Started::UNSET`] too (as Faust's Prometheus gauge;
///   Faust's Monitor leaks `events_active` there); that ack records no
///   runtime and counts `sensor_errors_total{kind="unpaired"}`;
/// - a send or assignment error without its start still counts as an
///   error (`total_error_messages_sent`, `assignment_operations{error}`),
///   and as `unpaired`, with no latency;
/// - `topic_partition_end_offset` and `topic_partition_offset_commited`
///   series of a partition are dropped when it is revoked
///   ([`Sensor::on_partitions_revoked`]), and made again by its next
///   offset: a revoked partition's lag no longer counts;
/// - Faust's names break Prometheus' naming conventions in places, and
///   are kept so its dashboards work: `total_events_total`,
///   `total_sent_messages_total` (a `total_` prefix before the counter's
///   `_total`), millisecond histograms without a unit in the name (and
///   `events_runtime_ms`, the one name `promtool check metrics` lints:
///   "abbreviated units"), `topic_partition_offset_commited` (sic), and
///   `metrics_by_name`, a gauge that only goes up;
/// - one family more: `<namespace>_sensor_errors_total{kind}`
///   ([`SENSOR_ERRORS`](crate::SENSOR_ERRORS)).
#[derive(Clone)]
pub struct Monitor(Arc<Inner>);

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("topics", &self.0.topics.len())
            .field("partitions", &self.0.partitions.len())
            .field("clock", &self.0.clock)
            .finish_non_exhaustive()
    }
}

impl Default for Monitor {
    fn default() -> Self {
        Self::new()
    }
}

impl Monitor {
    /// A monitor with the defaults, its series in a registry of its own.
    pub fn new() -> Self {
        Self::builder()
            .build(&Registry::new())
            .unwrap_or_else(|e| unreachable!("a fresh registry takes every family: {e}"))
    }

    /// Faust's `PrometheusMonitor`: the defaults, the families registered
    /// in `registry` under the namespace `faust_app`.
    pub fn prometheus(registry: &Registry) -> Result<Self, Error> {
        Self::builder().build(registry)
    }

    /// The settings.
    pub fn builder() -> MonitorBuilder {
        MonitorBuilder::default()
    }

    fn create(b: MonitorBuilder, registry: &Registry) -> Result<Self, Error> {
        // Each family takes as many series as the key maps may create.
        let f = Families::register(&b.namespace, registry, b.max_keys)?;
        let started = b.clock.seconds();
        Ok(Self(Arc::new(Inner {
            started,
            f,
            topics: Keyed::new(b.max_keys),
            partitions: Keyed::new(b.max_keys),
            pairs: Keyed::new(b.max_keys),
            streams: Keyed::new(b.max_keys),
            tasks: Keyed::new(b.max_keys),
            tables: Keyed::new(b.max_keys),
            counts: Keyed::new(b.max_keys),
            http_codes: Keyed::new(b.max_keys),
            events_runtime: History::new(b.max_avg_history),
            commit_latency: History::new(b.max_commit_latency_history),
            send_latency: History::new(b.max_send_latency_history),
            assignment_latency: History::new(b.max_assignment_latency_history),
            rebalance_return_latency: History::new(b.max_avg_history),
            rebalance_end_latency: History::new(b.max_avg_history),
            http_latency: History::new(b.max_avg_history),
            rates: Rates::new(b.rate_window.as_secs_f64(), started),
            last_event: ThreadLocal::new(),
            clock: b.clock,
        })))
    }

    /// The registry holding the monitor's families.
    pub fn registry(&self) -> &Registry {
        &self.0.f.registry
    }

    /// The monitor's clock.
    pub fn clock(&self) -> &Clock {
        &self.0.clock
    }

    /// Faust's `Monitor.count(name, n)`: adds `n` to
    /// `metrics_by_name{metric=name}` (a gauge: an `n` over `i64::MAX`
    /// adds `i64::MAX`, never a negative).
    pub fn count(&self, name: &str, n: u64) {
        let i = &self.0;
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let hit = i.counts.with(
            name,
            0,
            || i.f.metrics_by_name.get_or_create(&[name]).ok(),
            |g| g.add(n),
        );
        if hit.is_err_and(|m| m == Miss::Refused) {
            i.f.errors_cardinality.inc();
        }
    }

    /// Runs `f` on the topic's series, counting an overflow.
    #[inline]
    fn topic(&self, topic: &str, f: impl FnOnce(&TopicSeries)) {
        let i = &self.0;
        let make = || {
            Some(TopicSeries {
                sent: i
                    .f
                    .topic_messages_sent
                    .get_or_create(&[&sent_topic_label(topic)])
                    .ok()?,
            })
        };
        if i.topics
            .with(topic, 0, make, f)
            .is_err_and(|m| m == Miss::Refused)
        {
            i.f.errors_cardinality.inc();
        }
    }

    /// Runs `f` on `stream`'s counter (an error: the stream is refused).
    #[inline]
    fn stream_counter<R>(&self, stream: &str, f: impl FnOnce(&Counter) -> R) -> Result<R, Miss> {
        let per_stream = &self.0.f.per_stream;
        let make = || per_stream.get_or_create(&[&stream_label(stream)]).ok();
        self.0.streams.with(stream, 0, make, f)
    }

    /// Runs `f` on `task`'s counter (an error: the task is refused).
    #[inline]
    fn task_counter<R>(&self, task: &str, f: impl FnOnce(&Counter) -> R) -> Result<R, Miss> {
        let by_task = &self.0.f.events_by_task;
        self.0
            .tasks
            .with(task, 0, || by_task.get_or_create(&[task]).ok(), f)
    }

    /// A stream event whose (stream, task) pair is refused (too many
    /// pairs, or its stream or task refused): counted in its stream and
    /// in its task apart, an error for each part dropped.
    #[cold]
    fn stream_event_apart(&self, stream: StreamTask<'_>) {
        let errors = &self.0.f.errors_cardinality;
        if Miss::refused(&self.stream_counter(stream.stream, Counter::inc)) {
            errors.inc();
        }
        if Miss::refused(&self.task_counter(stream.task, Counter::inc)) {
            errors.inc();
        }
    }

    fn partition(&self, tp: TopicPartition<'_>, f: impl FnOnce(&PartitionSeries)) {
        let i = &self.0;
        let make = || {
            let p = tp.partition.to_string();
            let labels = [tp.topic, p.as_str()];
            Some(PartitionSeries {
                topic_received: i.f.per_topic.get_or_create(&[tp.topic]).ok()?,
                received: i.f.per_partition.get_or_create(&labels).ok()?,
                end_gauge: Mutex::new(None),
                committed_gauge: Mutex::new(None),
                hot: CachePadded::new(PartitionHot {
                    read: AtomicI64::new(NONE),
                }),
                committed: AtomicI64::new(NONE),
                end: AtomicI64::new(NONE),
                buffer_full: AtomicU64::new(0),
            })
        };
        if i.partitions
            .with(tp.topic, tp.partition, make, f)
            .is_err_and(|m| m == Miss::Refused)
        {
            i.f.errors_cardinality.inc();
        }
    }

    /// The latency from `state` to now, in seconds, and now; `None` (and
    /// an error counted) for an unset or later-than-now start.
    #[inline]
    fn latency(&self, state: Started) -> Option<(f64, u64)> {
        if state.is_unset() {
            self.0.f.errors_unpaired.inc();
            return None;
        }
        let now = self.0.clock.now();
        match state.seconds_until(now) {
            Some(s) => Some((s, now.nanos())),
            None => {
                self.0.f.errors_invalid_latency.inc();
                None
            }
        }
    }

    /// Consumer lag per partition: high watermark − committed offset, or
    /// − (last read offset + 1) before the first commit; only where the
    /// high watermark and one of those are known; never below 0.
    pub fn consumer_lag(&self) -> BTreeMap<String, BTreeMap<i32, i64>> {
        let mut out: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
        for e in self.0.partitions.entries() {
            let p = &e.value;
            let end = p.end.load(Ordering::Relaxed);
            let committed = p.committed.load(Ordering::Relaxed);
            let read = p.hot.read.load(Ordering::Relaxed);
            let position = if committed != NONE {
                committed
            } else if read != NONE {
                read.saturating_add(1)
            } else {
                continue;
            };
            if end == NONE {
                continue;
            }
            out.entry(e.name.to_string())
                .or_default()
                .insert(e.number, end.saturating_sub(position).max(0));
        }
        out
    }

    /// Seconds since the last stream event in (since the monitor was made
    /// when there was none).
    pub fn seconds_since_last_event(&self) -> f64 {
        let last = self
            .0
            .last_event
            .iter()
            .map(|t| t.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0);
        let last = if last == 0 {
            self.0.started
        } else {
            last as f64 / 1e9
        };
        (self.0.clock.seconds() - last).max(0.0)
    }

    /// Send errors and failed assignments so far (the health monitor's
    /// error rate counts them).
    pub fn errors_total(&self) -> u64 {
        self.0.f.total_error_messages_sent.get() + self.0.f.assignments_failed.get()
    }

    /// Everything the monitor knows, as Faust's `Monitor.asdict()` has it
    /// (plus the rates' and latencies' summaries, lag and refused events),
    /// computed now.
    pub fn snapshot(&self) -> MonitorSnapshot {
        let i = &self.0;
        let f = &i.f;
        let now = i.clock.seconds();
        let sent_total = f.sends_initiated.get();
        let [messages_s, events_s, sends_s] = i.rates.read(
            now,
            [f.messages_received.get(), f.total_events.get(), sent_total],
        );
        let topics = i.topics.entries();
        let partitions = i.partitions.entries();
        let streams = i.streams.entries();
        let tasks = i.tasks.entries();
        let by_tp = |get: &dyn Fn(&PartitionSeries) -> Option<i64>| {
            let mut out: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
            for e in &partitions {
                if let Some(v) = get(&e.value) {
                    out.entry(e.name.to_string())
                        .or_default()
                        .insert(e.number, v);
                }
            }
            out
        };
        let known = |a: &AtomicI64| Some(a.load(Ordering::Relaxed)).filter(|&v| v != NONE);
        let events_runtime = i.events_runtime.stats();
        let commit = i.commit_latency.stats();
        let send = i.send_latency.stats();
        let assignment = i.assignment_latency.stats();
        let rebalance_return = i.rebalance_return_latency.stats();
        let rebalance_end = i.rebalance_end_latency.stats();
        let http = i.http_latency.stats();
        let consumer_lag = self.consumer_lag();
        MonitorSnapshot {
            messages_active: f.active_messages.get(),
            messages_received_total: f.messages_received.get(),
            messages_sent: sent_total,
            messages_sent_by_topic: topics
                .iter()
                .map(|e| (e.name.to_string(), e.value.sent.get()))
                .collect(),
            messages_s,
            // Every partition of a topic holds the topic's one counter.
            messages_received_by_topic: partitions
                .iter()
                .map(|e| (e.name.to_string(), e.value.topic_received.get()))
                .collect(),
            events_active: f.total_active_events.get(),
            events_total: f.total_events.get(),
            events_s,
            events_runtime_avg: events_runtime.median,
            events_by_task: tasks
                .iter()
                .map(|e| (e.name.to_string(), e.value.get()))
                .collect(),
            events_by_stream: streams
                .iter()
                .map(|e| (e.name.to_string(), e.value.get()))
                .collect(),
            commit_latency: commit.samples.clone(),
            send_latency: send.samples.clone(),
            send_errors: f.total_error_messages_sent.get(),
            assignment_latency: assignment.samples.clone(),
            assignments_completed: f.assignments_completed.get(),
            assignments_failed: f.assignments_failed.get(),
            topic_buffer_full: by_tp(&|p| {
                let n = p.buffer_full.load(Ordering::Relaxed);
                (n > 0).then_some(n as i64)
            }),
            tables: i
                .tables
                .entries()
                .iter()
                .map(|e| {
                    let t = &e.value;
                    (
                        e.name.to_string(),
                        TableSnapshot {
                            keys_retrieved: t.retrieved.get(),
                            keys_updated: t.updated.get(),
                            keys_deleted: t.deleted.get(),
                        },
                    )
                })
                .collect(),
            metric_counts: i
                .counts
                .entries()
                .iter()
                .map(|e| (e.name.to_string(), e.value.get()))
                .collect(),
            topic_committed_offsets: by_tp(&|p| known(&p.committed)),
            topic_read_offsets: by_tp(&|p| known(&p.hot.read)),
            topic_end_offsets: by_tp(&|p| known(&p.end)),
            rebalances: f.total_rebalances.get(),
            rebalances_recovering: f.total_rebalances_recovering.get(),
            rebalance_return_latency: rebalance_return.samples.clone(),
            rebalance_end_latency: rebalance_end.samples.clone(),
            rebalance_return_avg: rebalance_return.median,
            rebalance_end_avg: rebalance_end.median,
            http_response_codes: i
                .http_codes
                .entries()
                .iter()
                .map(|e| (e.number, e.value.get()))
                .collect(),
            http_response_latency: http.samples.clone(),
            http_response_latency_avg: http.median,
            sends_s,
            events_runtime: events_runtime.samples.clone(),
            latency: Latencies {
                events_runtime,
                commit,
                send,
                assignment,
                rebalance_return,
                rebalance_end,
                http,
            },
            consumer_lag_total: consumer_lag.values().flat_map(|p| p.values()).sum(),
            consumer_lag,
            sensor_errors: SensorErrors {
                cardinality: f.errors_cardinality.get(),
                unpaired: f.errors_unpaired.get(),
                invalid_latency: f.errors_invalid_latency.get(),
            },
        }
    }
}

impl Sensor for Monitor {
    fn as_monitor(&self) -> Option<&Monitor> {
        Some(self)
    }

    /// No time: the monitor keeps no message latency (Faust's neither).
    #[inline]
    fn on_message_in(&self, tp: TopicPartition<'_>, offset: i64) -> Started {
        let f = &self.0.f;
        f.messages_received.inc();
        f.active_messages.inc();
        self.partition(tp, |p| {
            p.topic_received.inc();
            p.received.inc();
            p.hot.read.store(offset, Ordering::Relaxed);
        });
        Started::UNSET
    }

    /// Every message out lowers `active_messages`, its token set or not.
    #[inline]
    fn on_message_out(&self, _tp: TopicPartition<'_>, _offset: i64, _state: Started) {
        self.0.f.active_messages.dec();
    }

    #[inline]
    fn on_stream_event_in(
        &self,
        _tp: TopicPartition<'_>,
        _offset: i64,
        stream: StreamTask<'_>,
    ) -> Started {
        let i = &self.0;
        let now = i.clock.now();
        i.f.total_events.inc();
        i.f.total_active_events.inc();
        let make = || {
            Some(StreamSeries {
                stream: self.stream_counter(stream.stream, Counter::clone).ok()?,
                task: self.task_counter(stream.task, Counter::clone).ok()?,
            })
        };
        let count = |s: &StreamSeries| {
            s.stream.inc();
            s.task.inc();
        };
        if i.pairs
            .with2(stream.stream, stream.task, 0, make, count)
            .is_err_and(|m| m == Miss::Refused)
        {
            self.stream_event_apart(stream);
        }
        i.last_event
            .get_or(|| CachePadded::new(AtomicU64::new(0)))
            .store(now.nanos(), Ordering::Relaxed);
        now
    }

    #[inline]
    fn on_stream_event_out(
        &self,
        _tp: TopicPartition<'_>,
        _offset: i64,
        _stream: StreamTask<'_>,
        state: Started,
    ) {
        let i = &self.0;
        // The event is done whether or not its start is known (a manual
        // ack passes `UNSET`): the level goes down, only the latency needs
        // the start.
        i.f.total_active_events.dec();
        let Some((s, now)) = self.latency(state) else {
            return;
        };
        i.f.events_runtime_ms.observe(s * 1000.0);
        i.events_runtime.record(s, now);
    }

    fn on_topic_buffer_full(&self, tp: TopicPartition<'_>) {
        self.partition(tp, |p| {
            p.buffer_full.fetch_add(1, Ordering::Relaxed);
        });
    }

    #[inline]
    fn on_table_get(&self, table: &str) {
        self.table(table, |t| t.retrieved.inc());
    }

    #[inline]
    fn on_table_set(&self, table: &str) {
        self.table(table, |t| t.updated.inc());
    }

    #[inline]
    fn on_table_del(&self, table: &str) {
        self.table(table, |t| t.deleted.inc());
    }

    fn on_commit_initiated(&self) -> Started {
        self.0.clock.now()
    }

    fn on_commit_completed(&self, state: Started) {
        if let Some((s, now)) = self.latency(state) {
            self.0.f.consumer_commit_latency.observe(s * 1000.0);
            self.0.commit_latency.record(s, now);
        }
    }

    fn on_tp_commit(&self, offsets: &[(TopicPartition<'_>, i64)]) {
        for &(tp, offset) in offsets {
            self.partition(tp, |p| {
                p.committed.store(offset, Ordering::Relaxed);
                self.offset_gauge(&p.committed_gauge, &self.0.f.committed_offsets, tp, offset);
            });
        }
    }

    fn on_partition_end_offset(&self, tp: TopicPartition<'_>, high_watermark: i64) {
        self.partition(tp, |p| {
            p.end.store(high_watermark, Ordering::Relaxed);
            self.offset_gauge(&p.end_gauge, &self.0.f.end_offsets, tp, high_watermark);
        });
    }

    fn on_partitions_revoked(&self, partitions: &[TopicPartition<'_>]) {
        let f = &self.0.f;
        for &tp in partitions {
            let Some(e) = self.0.partitions.get(tp.topic, tp.partition) else {
                continue;
            };
            let p = &e.value;
            let labels = [tp.topic, &tp.partition.to_string()];
            for (gauge, family) in [
                (&p.end_gauge, &f.end_offsets),
                (&p.committed_gauge, &f.committed_offsets),
            ] {
                let mut g = gauge.lock().unwrap_or_else(PoisonError::into_inner);
                if g.take().is_some() {
                    // The labels are those it was made with: it is there.
                    let _ = family.remove(&labels);
                }
            }
            p.end.store(NONE, Ordering::Relaxed);
            p.committed.store(NONE, Ordering::Relaxed);
            p.hot.read.store(NONE, Ordering::Relaxed);
        }
    }

    #[inline]
    fn on_send_initiated(&self, topic: &str, _key_size: usize, _value_size: usize) -> Started {
        self.0.f.sends_initiated.inc();
        self.topic(topic, |t| t.sent.inc());
        self.0.clock.now()
    }

    #[inline]
    fn on_send_completed(&self, _topic: &str, state: Started) {
        if let Some((s, now)) = self.latency(state) {
            let i = &self.0;
            i.f.total_sent_messages.inc();
            i.f.producer_send_latency.observe(s * 1000.0);
            i.send_latency.record(s, now);
        }
    }

    fn on_send_error(&self, _topic: &str, _error: &dyn fmt::Display, state: Started) {
        // An error is an error, its start known or not.
        self.0.f.total_error_messages_sent.inc();
        if let Some((s, _)) = self.latency(state) {
            self.0.f.producer_error_send_latency.observe(s * 1000.0);
        }
    }

    fn on_assignment_start(&self) -> Started {
        self.0.clock.now()
    }

    fn on_assignment_completed(&self, state: Started) {
        if let Some((s, now)) = self.latency(state) {
            self.0.f.assignments_completed.inc();
            self.assignment_latency(s, now);
        }
    }

    fn on_assignment_error(&self, _error: &dyn fmt::Display, state: Started) {
        self.0.f.assignments_failed.inc();
        if let Some((s, now)) = self.latency(state) {
            self.assignment_latency(s, now);
        }
    }

    fn on_rebalance_start(&self) -> Started {
        self.0.f.total_rebalances.inc();
        self.0.clock.now()
    }

    fn on_rebalance_return(&self, state: Started) {
        if let Some((s, now)) = self.latency(state) {
            let i = &self.0;
            i.f.total_rebalances_recovering.inc();
            i.f.rebalance_done_consumer_latency.observe(s * 1000.0);
            i.rebalance_return_latency.record(s, now);
        }
    }

    fn on_rebalance_end(&self, state: Started) {
        if let Some((s, now)) = self.latency(state) {
            let i = &self.0;
            i.f.total_rebalances_recovering.dec();
            i.f.rebalance_done_latency.observe(s * 1000.0);
            i.rebalance_end_latency.record(s, now);
        }
    }

    fn on_web_request_start(&self, _method: &str, _path: &str) -> Started {
        self.0.clock.now()
    }

    fn on_web_request_end(&self, _method: &str, _path: &str, status: u16, state: Started) {
        let Some((s, now)) = self.latency(state) else {
            return;
        };
        let i = &self.0;
        let make = || {
            i.f.http_status_codes
                .get_or_create(&[&status.to_string()])
                .ok()
        };
        if i.http_codes
            .with("", i32::from(status), make, Counter::inc)
            .is_err_and(|m| m == Miss::Refused)
        {
            i.f.errors_cardinality.inc();
        }
        i.f.http_latency.observe(s * 1000.0);
        i.http_latency.record(s, now);
    }

    fn count(&self, name: &str, n: u64) {
        Monitor::count(self, name, n);
    }
}

impl Monitor {
    #[inline]
    fn table(&self, table: &str, f: impl FnOnce(&TableSeries)) {
        let i = &self.0;
        let make = || {
            let label = table_label(table);
            let op = |name: &str| i.f.table_operations.get_or_create(&[&label, name]).ok();
            Some(TableSeries {
                retrieved: op("keys_retrieved")?,
                updated: op("keys_updated")?,
                deleted: op("keys_deleted")?,
            })
        };
        if i.tables
            .with(table, 0, make, f)
            .is_err_and(|m| m == Miss::Refused)
        {
            i.f.errors_cardinality.inc();
        }
    }

    /// Sets a partition's offset gauge, making it on its first value
    /// (again after a revoke); a refused series counts an overflow.
    fn offset_gauge(
        &self,
        gauge: &Mutex<Option<Gauge>>,
        family: &Family<Gauge>,
        tp: TopicPartition<'_>,
        v: i64,
    ) {
        let mut g = gauge.lock().unwrap_or_else(PoisonError::into_inner);
        if g.is_none() {
            *g = family
                .get_or_create(&[tp.topic, &tp.partition.to_string()])
                .ok();
        }
        match &*g {
            Some(g) => g.set(v),
            None => self.0.f.errors_cardinality.inc(),
        }
    }

    fn assignment_latency(&self, s: f64, now: u64) {
        self.0.f.assign_latency.observe(s * 1000.0);
        self.0.assignment_latency.record(s, now);
    }
}

/// A table's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TableSnapshot {
    /// Keys read.
    pub keys_retrieved: u64,
    /// Keys written.
    pub keys_updated: u64,
    /// Keys deleted.
    pub keys_deleted: u64,
}

/// The summaries of every latency history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latencies {
    /// Stream event runtimes (in → out).
    pub events_runtime: LatencyStats,
    /// Commits.
    pub commit: LatencyStats,
    /// Sends that completed.
    pub send: LatencyStats,
    /// Assignments, completed or failed.
    pub assignment: LatencyStats,
    /// Rebalance start → return.
    pub rebalance_return: LatencyStats,
    /// Rebalance start → end.
    pub rebalance_end: LatencyStats,
    /// Web requests.
    pub http: LatencyStats,
}

/// Events the monitor refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SensorErrors {
    /// A new key past the key limit.
    pub cardinality: u64,
    /// An end callback without a start ([`Started::UNSET`]).
    pub unpaired: u64,
    /// A start later than the end: a negative latency.
    pub invalid_latency: u64,
}

/// What [`Monitor::snapshot`] returns: Faust's `Monitor.asdict()` keys and
/// meanings (latencies in seconds, deques as lists, oldest first), with
/// these differences:
/// - rates are per second over at least the monitor's rate window, from
///   the real elapsed time (Faust: the last 1 s sampler tick);
/// - `*_avg` fields are medians, as Faust's, and `null` when nothing was
///   recorded;
/// - `topic_buffer_full` is per topic and partition (Faust's collapses
///   every partition into one key `"TP"`);
/// - `events_by_stream` and `events_by_task` are keyed by the stable
///   names of [`StreamTask`](crate::StreamTask) (Faust's by the objects'
///   strings, with memory addresses);
/// - more keys: `rebalances_recovering`, `sends_s`, `events_runtime`,
///   `latency` (count, mean, median, p95, max of each history),
///   `consumer_lag` and `consumer_lag_total`, `sensor_errors`.
///
/// Offsets and lag maps are topic → partition → value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)] // Each field is Faust's, described above and in its docs.
pub struct MonitorSnapshot {
    pub messages_active: i64,
    pub messages_received_total: u64,
    /// Sends initiated (attempts, as Faust's).
    pub messages_sent: u64,
    pub messages_sent_by_topic: BTreeMap<String, u64>,
    /// Messages received per second.
    pub messages_s: f64,
    pub messages_received_by_topic: BTreeMap<String, u64>,
    pub events_active: i64,
    pub events_total: u64,
    /// Stream events per second.
    pub events_s: f64,
    /// Median event runtime, seconds.
    pub events_runtime_avg: Option<f64>,
    /// Stream events per task ([`StreamTask::task`](crate::StreamTask)).
    pub events_by_task: BTreeMap<String, u64>,
    /// Stream events per stream ([`StreamTask::stream`](crate::StreamTask)).
    pub events_by_stream: BTreeMap<String, u64>,
    pub commit_latency: Vec<f64>,
    pub send_latency: Vec<f64>,
    pub send_errors: u64,
    pub assignment_latency: Vec<f64>,
    pub assignments_completed: u64,
    pub assignments_failed: u64,
    pub topic_buffer_full: BTreeMap<String, BTreeMap<i32, i64>>,
    pub tables: BTreeMap<String, TableSnapshot>,
    pub metric_counts: BTreeMap<String, i64>,
    pub topic_committed_offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    pub topic_read_offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    pub topic_end_offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Rebalances started.
    pub rebalances: i64,
    /// Rebalances between return and end.
    pub rebalances_recovering: i64,
    pub rebalance_return_latency: Vec<f64>,
    pub rebalance_end_latency: Vec<f64>,
    pub rebalance_return_avg: Option<f64>,
    pub rebalance_end_avg: Option<f64>,
    pub http_response_codes: BTreeMap<i32, u64>,
    pub http_response_latency: Vec<f64>,
    pub http_response_latency_avg: Option<f64>,
    /// Sends initiated per second.
    pub sends_s: f64,
    /// The event runtime history, seconds, oldest first.
    pub events_runtime: Vec<f64>,
    pub latency: Latencies,
    pub consumer_lag: BTreeMap<String, BTreeMap<i32, i64>>,
    pub consumer_lag_total: i64,
    pub sensor_errors: SensorErrors,
}
