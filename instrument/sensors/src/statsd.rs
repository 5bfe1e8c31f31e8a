//! [`StatsdMonitor`]: faust-streaming's `StatsdMonitor` names on the
//! StatsD sink of the export runtime (feature `statsd`).

use crate::clock::{Clock, Started};
use crate::keyed::Keyed;
use crate::names::FAUST_BUCKETS_MS;
use crate::sensor::{Sensor, StreamTask, TopicPartition};
use hotmetrics_core::{
    Buckets, Counter, Error, Gauge, GaugeF64, Histogram, NameValidation, Registry,
};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The prefix Faust's `StatsdMonitor` uses by default; it goes on the
/// wire as written (plain StatsD names keep `[A-Za-z0-9_.-]`).
pub const DEFAULT_STATSD_PREFIX: &str = "faust-app";

struct TopicSeries {
    received: Counter,
    sent: Counter,
}

struct PartitionSeries {
    topic_received: Counter,
    read_offset: GaugeF64,
}

struct TableSeries {
    retrieved: Counter,
    updated: Counter,
    deleted: Counter,
}

struct Inner {
    clock: Clock,
    registry: Registry,
    messages_received: Counter,
    messages_active: Gauge,
    events: Counter,
    events_active: Gauge,
    events_runtime: Histogram,
    commit_latency: Histogram,
    messages_sent: Counter,
    send_latency: Histogram,
    messages_sent_error: Counter,
    send_latency_for_error: Histogram,
    assignments_complete: Counter,
    assignments_error: Counter,
    assignment_latency: Histogram,
    rebalances: Gauge,
    rebalances_recovering: Gauge,
    rebalance_return_latency: Histogram,
    rebalance_end_latency: Histogram,
    http_response_latency: Histogram,
    refused: Counter,
    topics: Keyed<TopicSeries>,
    partitions: Keyed<PartitionSeries>,
    committed: Keyed<GaugeF64>,
    end: Keyed<GaugeF64>,
    streams: Keyed<Counter>,
    tables: Keyed<TableSeries>,
    counts: Keyed<Counter>,
    http_codes: Keyed<Counter>,
}

/// Faust's `StatsdMonitor`: a [`Sensor`] whose series are named as
/// faust-streaming's statsd names (`messages_received`,
/// `topic.<topic>.messages_received`, `read_offset.<topic>.<partition>`,
/// `stream.<stream>.events`, `table.<table>.keys_retrieved`, …, see
/// [`FAUST_STATSD_NAMES`]), kept in a registry of its own
/// ([`registry`](Self::registry)) that the StatsD sink exports every
/// interval ([`export_to`](Self::export_to)). The event path is the
/// [`Monitor`](crate::Monitor)'s: per-thread cells, series resolved once
/// per key; nothing is sent from it (Faust sends one datagram per call).
///
/// ```
/// use hotmetrics_sensors::{Sensor, StatsdMonitor, TopicPartition};
///
/// let statsd = StatsdMonitor::new(1000);
/// statsd.on_message_in(TopicPartition::new("orders", 0), 41);
/// let snapshot = statsd.registry().snapshot();
/// assert_eq!(snapshot.counter("topic.orders.messages_received", &[]), Some(1.0));
/// assert_eq!(snapshot.gauge("read_offset.orders.0", &[]), Some(41.0));
/// ```
///
/// # Differences from faust-streaming's
/// - What goes on the wire is what the sink makes of a registry
///   ([`hotmetrics_statsd`]): counters as their increase per export
///   (`|c`, rate 1: no client-side sampling), gauges (`|g`) when they
///   change, and the latencies (Faust's `|ms` timings, one per call) as
///   millisecond histograms with Faust's Prometheus buckets:
///   `<name>_count`, `<name>_sum` and `<name>_bucket.le.<bound>` counters.
/// - The levels `messages_active`, `events_active`, `rebalances` and
///   `rebalances_recovering` are gauges (absolute levels; Faust sends
///   `±1` counters, which a daemon reports as net change per flush);
///   `events_active` goes down for every event out, a manual ack with
///   [`Started::UNSET`] too (no runtime recorded then).
/// - A send or assignment error without its start still counts
///   (`messages_sent_error`, `assignments_error`).
/// - `rebalance_return_latency`, `rebalance_end_latency` and
///   `http_response_latency` measure from the start (Faust's ≈ 0).
/// - The sink keeps `[A-Za-z0-9_.-]` in plain StatsD names (the default
///   prefix `faust-app` and a topic `a-b` arrive as written); other
///   characters become `_`. A `.` in a topic, table or stream name adds a
///   level, as in Faust.
/// - [`Sensor::on_partitions_revoked`] changes nothing here: a revoked
///   partition's offset gauges stop changing, so the sink stops sending
///   them and the daemon keeps their last value (the
///   [`Monitor`](crate::Monitor) drops its own, which is what the health
///   monitor's lag reads).
/// - Beyond Faust's: `sensor_errors` (events refused: new keys past the
///   limit, ends without their start, negative latencies).
#[derive(Clone)]
pub struct StatsdMonitor(Arc<Inner>);

/// faust-streaming 0.15.3's statsd names (after the prefix) and types as
/// this monitor sends them: `c` counter, `g` gauge, `h` a millisecond
/// histogram (Faust: `ms` timing). `{topic}`, `{partition}`, `{stream}`,
/// `{table}`, `{code}` and `{name}` stand for the key.
pub const FAUST_STATSD_NAMES: [(&str, char); 30] = [
    ("messages_received", 'c'),
    ("messages_active", 'g'),
    ("topic.{topic}.messages_received", 'c'),
    ("read_offset.{topic}.{partition}", 'g'),
    ("events", 'c'),
    ("stream.{stream}.events", 'c'),
    ("events_active", 'g'),
    ("events_runtime", 'h'),
    ("table.{table}.keys_retrieved", 'c'),
    ("table.{table}.keys_updated", 'c'),
    ("table.{table}.keys_deleted", 'c'),
    ("commit_latency", 'h'),
    ("topic.{topic}.messages_sent", 'c'),
    ("messages_sent", 'c'),
    ("send_latency", 'h'),
    ("messages_sent_error", 'c'),
    ("send_latency_for_error", 'h'),
    ("assignments_complete", 'c'),
    ("assignments_error", 'c'),
    ("assignment_latency", 'h'),
    ("rebalances", 'g'),
    ("rebalances_recovering", 'g'),
    ("rebalance_return_latency", 'h'),
    ("rebalance_end_latency", 'h'),
    ("{name}", 'c'),
    ("committed_offset.{topic}.{partition}", 'g'),
    ("end_offset.{topic}.{partition}", 'g'),
    ("http_status_code.{code}", 'c'),
    ("http_response_latency", 'h'),
    ("sensor_errors", 'c'),
];

impl fmt::Debug for StatsdMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatsdMonitor")
            .field("topics", &self.0.topics.len())
            .field("partitions", &self.0.partitions.len())
            .finish_non_exhaustive()
    }
}

/// Why [`StatsdMonitor::export_to`] could not start.
#[derive(Debug)]
pub enum StatsdMonitorError {
    /// The sink refused its settings.
    Sink(hotmetrics_statsd::Error),
    /// The export runtime did not start.
    Export(hotmetrics_export::Error),
}

impl fmt::Display for StatsdMonitorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsdMonitorError::Sink(e) => write!(f, "the StatsD sink: {e}"),
            StatsdMonitorError::Export(e) => write!(f, "the export runtime: {e}"),
        }
    }
}

impl std::error::Error for StatsdMonitorError {}

impl StatsdMonitor {
    /// A monitor with the monotonic clock and at most `max_keys` topics,
    /// partitions, streams, tables, count names and status codes each
    /// (past it, an event's per-key part is dropped and counted in
    /// `sensor_errors`).
    pub fn new(max_keys: usize) -> Self {
        Self::with_clock(max_keys, Clock::monotonic())
    }

    /// The same with `clock` (share the delegate's).
    pub fn with_clock(max_keys: usize, clock: Clock) -> Self {
        Self::create(max_keys, clock)
            .unwrap_or_else(|e| unreachable!("a fresh registry takes every fixed series: {e}"))
    }

    fn create(max_keys: usize, clock: Clock) -> Result<Self, Error> {
        let registry = Registry::builder()
            .name_validation(NameValidation::Utf8)
            .build()?;
        let r = &registry;
        let c = |name: &str| r.counter((name, "Faust statsd counter"));
        let g = |name: &str| r.gauge((name, "Faust statsd level"));
        let h = |name: &str| {
            r.histogram(
                (name, "Faust statsd timing, milliseconds"),
                Buckets::new(FAUST_BUCKETS_MS.to_vec())?,
            )
        };
        Ok(Self(Arc::new(Inner {
            clock,
            messages_received: c("messages_received")?,
            messages_active: g("messages_active")?,
            events: c("events")?,
            events_active: g("events_active")?,
            events_runtime: h("events_runtime")?,
            commit_latency: h("commit_latency")?,
            messages_sent: c("messages_sent")?,
            send_latency: h("send_latency")?,
            messages_sent_error: c("messages_sent_error")?,
            send_latency_for_error: h("send_latency_for_error")?,
            assignments_complete: c("assignments_complete")?,
            assignments_error: c("assignments_error")?,
            assignment_latency: h("assignment_latency")?,
            rebalances: g("rebalances")?,
            rebalances_recovering: g("rebalances_recovering")?,
            rebalance_return_latency: h("rebalance_return_latency")?,
            rebalance_end_latency: h("rebalance_end_latency")?,
            http_response_latency: h("http_response_latency")?,
            refused: c("sensor_errors")?,
            topics: Keyed::new(max_keys),
            partitions: Keyed::new(max_keys),
            committed: Keyed::new(max_keys),
            end: Keyed::new(max_keys),
            streams: Keyed::new(max_keys),
            tables: Keyed::new(max_keys),
            counts: Keyed::new(max_keys),
            http_codes: Keyed::new(max_keys),
            registry,
        })))
    }

    /// The registry holding the series (names accepted as UTF-8: they
    /// hold dots). Export it with the StatsD sink.
    pub fn registry(&self) -> &Registry {
        &self.0.registry
    }

    /// Starts the export runtime sending this monitor's registry to the
    /// StatsD daemon at `address` (UDP, `host:port`) every `interval`,
    /// under `prefix` ([`DEFAULT_STATSD_PREFIX`] as Faust's).
    pub fn export_to(
        &self,
        address: &str,
        prefix: &str,
        interval: Duration,
    ) -> Result<hotmetrics_export::ExporterHandle, StatsdMonitorError> {
        let sink = hotmetrics_statsd::StatsdSink::udp(address)
            .prefix(prefix)
            .build()
            .map_err(StatsdMonitorError::Sink)?;
        hotmetrics_export::Exporter::builder(self.0.registry.clone(), sink)
            .interval(interval)
            .start()
            .map_err(StatsdMonitorError::Export)
    }

    /// A counter named `name` (registered on the cold path of a new key).
    fn counter(&self, name: String) -> Option<Counter> {
        self.0.registry.counter((name, "Faust statsd counter")).ok()
    }

    fn offset_gauge(&self, name: String) -> Option<GaugeF64> {
        self.0
            .registry
            .gauge_f64((name, "Faust statsd offset"))
            .ok()
    }

    fn refused<R>(&self, r: Option<R>) {
        if r.is_none() {
            self.0.refused.inc();
        }
    }

    #[inline]
    fn topic(&self, topic: &str, f: impl FnOnce(&TopicSeries)) {
        self.refused(self.topic_series(topic, f));
    }

    /// Runs `f` on the topic's series; `None` (not counted) when refused.
    #[inline]
    fn topic_series<R>(&self, topic: &str, f: impl FnOnce(&TopicSeries) -> R) -> Option<R> {
        let make = || {
            Some(TopicSeries {
                received: self.counter(format!("topic.{topic}.messages_received"))?,
                sent: self.counter(format!("topic.{topic}.messages_sent"))?,
            })
        };
        self.0.topics.with(topic, 0, make, f)
    }

    #[inline]
    fn latency(&self, state: Started) -> Option<f64> {
        let s = state.seconds_until(self.0.clock.now());
        if s.is_none() {
            self.0.refused.inc();
        }
        s.map(|s| s * 1000.0)
    }

    fn table(&self, table: &str, f: impl FnOnce(&TableSeries)) {
        let make = || {
            Some(TableSeries {
                retrieved: self.counter(format!("table.{table}.keys_retrieved"))?,
                updated: self.counter(format!("table.{table}.keys_updated"))?,
                deleted: self.counter(format!("table.{table}.keys_deleted"))?,
            })
        };
        self.refused(self.0.tables.with(table, 0, make, f));
    }

    fn offset(&self, which: &Keyed<GaugeF64>, kind: &str, tp: TopicPartition<'_>, v: i64) {
        let make = || self.offset_gauge(format!("{kind}.{}.{}", tp.topic, tp.partition));
        self.refused(which.with(tp.topic, tp.partition, make, |g| g.set(v as f64)));
    }
}

impl Sensor for StatsdMonitor {
    #[inline]
    fn on_message_in(&self, tp: TopicPartition<'_>, offset: i64) -> Started {
        let i = &self.0;
        i.messages_received.inc();
        i.messages_active.inc();
        let make = || {
            // A refused topic refuses the partition: counted once, below.
            Some(PartitionSeries {
                topic_received: self.topic_series(tp.topic, |t| t.received.clone())?,
                read_offset: self
                    .offset_gauge(format!("read_offset.{}.{}", tp.topic, tp.partition))?,
            })
        };
        let hit = i.partitions.with(tp.topic, tp.partition, make, |p| {
            p.topic_received.inc();
            p.read_offset.set(offset as f64);
        });
        self.refused(hit);
        Started::UNSET
    }

    #[inline]
    fn on_message_out(&self, _: TopicPartition<'_>, _: i64, _: Started) {
        self.0.messages_active.dec();
    }

    #[inline]
    fn on_stream_event_in(&self, _: TopicPartition<'_>, _: i64, stream: StreamTask<'_>) -> Started {
        let i = &self.0;
        i.events.inc();
        i.events_active.inc();
        let make = || self.counter(crate::names::stream_label(stream.stream));
        self.refused(i.streams.with(stream.stream, 0, make, Counter::inc));
        i.clock.now()
    }

    #[inline]
    fn on_stream_event_out(
        &self,
        _: TopicPartition<'_>,
        _: i64,
        _: StreamTask<'_>,
        state: Started,
    ) {
        self.0.events_active.dec();
        if let Some(ms) = self.latency(state) {
            self.0.events_runtime.observe(ms);
        }
    }

    fn on_table_get(&self, table: &str) {
        self.table(table, |t| t.retrieved.inc());
    }

    fn on_table_set(&self, table: &str) {
        self.table(table, |t| t.updated.inc());
    }

    fn on_table_del(&self, table: &str) {
        self.table(table, |t| t.deleted.inc());
    }

    fn on_commit_initiated(&self) -> Started {
        self.0.clock.now()
    }

    fn on_commit_completed(&self, state: Started) {
        if let Some(ms) = self.latency(state) {
            self.0.commit_latency.observe(ms);
        }
    }

    fn on_tp_commit(&self, offsets: &[(TopicPartition<'_>, i64)]) {
        for &(tp, offset) in offsets {
            self.offset(&self.0.committed, "committed_offset", tp, offset);
        }
    }

    fn on_partition_end_offset(&self, tp: TopicPartition<'_>, high_watermark: i64) {
        self.offset(&self.0.end, "end_offset", tp, high_watermark);
    }

    fn on_send_initiated(&self, topic: &str, _: usize, _: usize) -> Started {
        self.topic(topic, |t| t.sent.inc());
        self.0.clock.now()
    }

    fn on_send_completed(&self, _: &str, state: Started) {
        if let Some(ms) = self.latency(state) {
            self.0.messages_sent.inc();
            self.0.send_latency.observe(ms);
        }
    }

    fn on_send_error(&self, _: &str, _: &dyn fmt::Display, state: Started) {
        self.0.messages_sent_error.inc();
        if let Some(ms) = self.latency(state) {
            self.0.send_latency_for_error.observe(ms);
        }
    }

    fn on_assignment_start(&self) -> Started {
        self.0.clock.now()
    }

    fn on_assignment_completed(&self, state: Started) {
        if let Some(ms) = self.latency(state) {
            self.0.assignments_complete.inc();
            self.0.assignment_latency.observe(ms);
        }
    }

    fn on_assignment_error(&self, _: &dyn fmt::Display, state: Started) {
        self.0.assignments_error.inc();
        if let Some(ms) = self.latency(state) {
            self.0.assignment_latency.observe(ms);
        }
    }

    fn on_rebalance_start(&self) -> Started {
        self.0.rebalances.inc();
        self.0.clock.now()
    }

    fn on_rebalance_return(&self, state: Started) {
        if let Some(ms) = self.latency(state) {
            let i = &self.0;
            i.rebalances.dec();
            i.rebalances_recovering.inc();
            i.rebalance_return_latency.observe(ms);
        }
    }

    fn on_rebalance_end(&self, state: Started) {
        if let Some(ms) = self.latency(state) {
            self.0.rebalances_recovering.dec();
            self.0.rebalance_end_latency.observe(ms);
        }
    }

    fn on_web_request_start(&self, _: &str, _: &str) -> Started {
        self.0.clock.now()
    }

    fn on_web_request_end(&self, _: &str, _: &str, status: u16, state: Started) {
        let Some(ms) = self.latency(state) else {
            return;
        };
        let make = || self.counter(format!("http_status_code.{status}"));
        self.refused(
            self.0
                .http_codes
                .with("", i32::from(status), make, Counter::inc),
        );
        self.0.http_response_latency.observe(ms);
    }

    fn count(&self, name: &str, n: u64) {
        let make = || self.counter(name.to_owned());
        self.refused(self.0.counts.with(name, 0, make, |c| c.inc_by(n)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(s: &StatsdMonitor, name: &str) -> Option<f64> {
        s.registry().snapshot().counter(name, &[])
    }

    #[test]
    fn a_refused_topic_refuses_its_partition_once() {
        let statsd = StatsdMonitor::new(1);
        statsd.on_message_in(TopicPartition::new("a", 0), 1);
        statsd.on_message_in(TopicPartition::new("b", 0), 1);
        assert_eq!(counter(&statsd, "sensor_errors"), Some(1.0));
    }

    #[test]
    fn unpaired_ends_still_end_and_errors_still_count() {
        let statsd = StatsdMonitor::new(10);
        let tp = TopicPartition::new("a", 0);
        let stream = StreamTask::new("s", "t");
        statsd.on_stream_event_in(tp, 0, stream);
        statsd.on_stream_event_out(tp, 0, stream, Started::UNSET);
        statsd.on_send_error("out", &"refused", Started::UNSET);
        statsd.on_assignment_error(&"no leader", Started::UNSET);
        let snapshot = statsd.registry().snapshot();
        assert_eq!(snapshot.gauge("events_active", &[]), Some(0.0));
        assert_eq!(counter(&statsd, "messages_sent_error"), Some(1.0));
        assert_eq!(counter(&statsd, "assignments_error"), Some(1.0));
        assert_eq!(counter(&statsd, "sensor_errors"), Some(3.0), "3 unpaired");
    }
}
