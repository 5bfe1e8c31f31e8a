//! [`StatsdMonitor`]: faust-streaming's `StatsdMonitor` names on the
//! StatsD sink of the export runtime (feature `statsd`).

use crate::clock::{Clock, Started};
use crate::keyed::{Keyed, Miss};
use crate::sensor::{Sensor, StreamTask, TopicPartition};
use hotmetrics_core::{Counter, Error, Gauge, GaugeF64, NameValidation, Registry};
use hotmetrics_statsd::{Timer, Timings};
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
    timings: Timings,
    messages_received: Counter,
    messages_active: Gauge,
    events: Counter,
    events_active: Gauge,
    events_runtime: Timer,
    commit_latency: Timer,
    messages_sent: Counter,
    send_latency: Timer,
    messages_sent_error: Counter,
    send_latency_for_error: Timer,
    assignments_complete: Counter,
    assignments_error: Counter,
    assignment_latency: Timer,
    rebalances: Gauge,
    rebalances_recovering: Gauge,
    rebalance_return_latency: Timer,
    rebalance_end_latency: Timer,
    http_response_latency: Timer,
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
/// interval ([`export_to`](Self::export_to)), with its latencies as
/// StatsD timers ([`timings`](Self::timings)). The event path is the
/// [`Monitor`](crate::Monitor)'s: per-thread cells, series resolved once
/// per key, a latency a sample in the thread's own timer ring; nothing is
/// sent from it (Faust sends one datagram per call).
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
///   change. The latencies are StatsD timers as Faust's (`<name>:<ms>|ms`,
///   one line per sample), sent at each export rather than at each call;
///   Faust prints six decimals of milliseconds, the sink the shortest
///   exact form (`20`, `12.5`). Each thread keeps up to
///   [`DEFAULT_TIMER_CAPACITY`](hotmetrics_statsd::DEFAULT_TIMER_CAPACITY)
///   samples of each latency per export interval; past that, samples are
///   dropped (counted: [`Timer::dropped`](hotmetrics_statsd::Timer::dropped))
///   and the lines carry sample rates of whole weights summing to the
///   samples recorded (`|@0.5`, `|@0.3333333333333333`), so the daemon's
///   counts stay exact (Faust samples at random client-side with
///   its `rate`).
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
/// - [`Sensor::on_partitions_revoked`] drops the revoked partitions'
///   `read_offset`, `committed_offset` and `end_offset` gauges from the
///   registry (counters stay: they are monotonic), so the sink stops
///   sending them; a partition assigned again starts them afresh at its
///   next message, commit or end offset. (A plain StatsD daemon keeps a
///   gauge's last value until it restarts, unless it runs with
///   `deleteGauges`.) Faust changes nothing at a revoke.
/// - Beyond Faust's: `sensor_errors` (events refused: new keys past the
///   limit, ends without their start, negative latencies).
#[derive(Clone)]
pub struct StatsdMonitor(Arc<Inner>);

/// faust-streaming 0.15.3's statsd names (after the prefix) and types as
/// this monitor sends them: `c` counter, `g` gauge, `m` a StatsD timer
/// (`|ms`, one line per sample, as Faust's). `{topic}`, `{partition}`,
/// `{stream}`, `{table}`, `{code}` and `{name}` stand for the key.
pub const FAUST_STATSD_NAMES: [(&str, char); 30] = [
    ("messages_received", 'c'),
    ("messages_active", 'g'),
    ("topic.{topic}.messages_received", 'c'),
    ("read_offset.{topic}.{partition}", 'g'),
    ("events", 'c'),
    ("stream.{stream}.events", 'c'),
    ("events_active", 'g'),
    ("events_runtime", 'm'),
    ("table.{table}.keys_retrieved", 'c'),
    ("table.{table}.keys_updated", 'c'),
    ("table.{table}.keys_deleted", 'c'),
    ("commit_latency", 'm'),
    ("topic.{topic}.messages_sent", 'c'),
    ("messages_sent", 'c'),
    ("send_latency", 'm'),
    ("messages_sent_error", 'c'),
    ("send_latency_for_error", 'm'),
    ("assignments_complete", 'c'),
    ("assignments_error", 'c'),
    ("assignment_latency", 'm'),
    ("rebalances", 'g'),
    ("rebalances_recovering", 'g'),
    ("rebalance_return_latency", 'm'),
    ("rebalance_end_latency", 'm'),
    ("{name}", 'c'),
    ("committed_offset.{topic}.{partition}", 'g'),
    ("end_offset.{topic}.{partition}", 'g'),
    ("http_status_code.{code}", 'c'),
    ("http_response_latency", 'm'),
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
        Self::with_timer_capacity(max_keys, clock, hotmetrics_statsd::DEFAULT_TIMER_CAPACITY)
    }

    /// The same, each thread keeping up to `samples` samples of each
    /// latency between two exports ([`Timings::with_capacity`]: rounded
    /// up to a power of two, 8 bytes a sample, per thread and latency).
    /// Past it, samples are dropped and counted, and the daemon's counts
    /// stay exact (a sample rate), but its mean, upper and percentiles see
    /// only the first `samples` of each thread's interval: size it to a
    /// thread's events per export interval.
    pub fn with_timer_capacity(max_keys: usize, clock: Clock, samples: usize) -> Self {
        Self::create(max_keys, clock, samples)
            .unwrap_or_else(|e| unreachable!("a fresh registry takes every fixed series: {e}"))
    }

    fn create(max_keys: usize, clock: Clock, samples: usize) -> Result<Self, Error> {
        let registry = Registry::builder()
            .name_validation(NameValidation::Utf8)
            .build()?;
        let r = &registry;
        let c = |name: &str| r.counter((name, "Faust statsd counter"));
        let g = |name: &str| r.gauge((name, "Faust statsd level"));
        let timings = Timings::with_capacity(samples);
        let t = |name: &str| {
            timings
                .timer(name)
                .unwrap_or_else(|e| unreachable!("a fixed timer name: {e}"))
        };
        Ok(Self(Arc::new(Inner {
            clock,
            messages_received: c("messages_received")?,
            messages_active: g("messages_active")?,
            events: c("events")?,
            events_active: g("events_active")?,
            events_runtime: t("events_runtime"),
            commit_latency: t("commit_latency"),
            messages_sent: c("messages_sent")?,
            send_latency: t("send_latency"),
            messages_sent_error: c("messages_sent_error")?,
            send_latency_for_error: t("send_latency_for_error"),
            assignments_complete: c("assignments_complete")?,
            assignments_error: c("assignments_error")?,
            assignment_latency: t("assignment_latency"),
            rebalances: g("rebalances")?,
            rebalances_recovering: g("rebalances_recovering")?,
            rebalance_return_latency: t("rebalance_return_latency"),
            rebalance_end_latency: t("rebalance_end_latency"),
            http_response_latency: t("http_response_latency"),
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
            timings,
        })))
    }

    /// The registry holding the series (names accepted as UTF-8: they
    /// hold dots), but not the 8 latencies: those are StatsD timers, in
    /// [`timings`](Self::timings). A StatsD sink of your own exporting
    /// this registry needs them too, or it silently sends no latency:
    ///
    /// ```
    /// use hotmetrics_export::Exporter;
    /// use hotmetrics_sensors::StatsdMonitor;
    /// use hotmetrics_statsd::StatsdSink;
    /// use std::time::Duration;
    ///
    /// let statsd = StatsdMonitor::new(1_000);
    /// let sink = StatsdSink::udp("127.0.0.1:8125")
    ///     .prefix("faust-app")
    ///     .timings(statsd.timings().clone())
    ///     .build()?;
    /// let exporter = Exporter::builder(statsd.registry().clone(), sink).start()?;
    /// // The timers' samples go to that sink (one sink a set).
    /// let again = statsd.export_to("127.0.0.1:8125", "x", Duration::from_secs(10));
    /// assert!(again.is_err());
    /// # exporter.shutdown()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ([`export_to`](Self::export_to) does both.)
    pub fn registry(&self) -> &Registry {
        &self.0.registry
    }

    /// The StatsD timers of the 8 latencies (`events_runtime`,
    /// `commit_latency`, `send_latency`, `send_latency_for_error`,
    /// `assignment_latency`, `rebalance_return_latency`,
    /// `rebalance_end_latency`, `http_response_latency`): each thread
    /// keeps up to [`hotmetrics_statsd::DEFAULT_TIMER_CAPACITY`] samples
    /// of each between exports (see
    /// [`with_timer_capacity`](Self::with_timer_capacity)). Give them to
    /// a StatsD sink of your own
    /// ([`StatsdBuilder::timings`](hotmetrics_statsd::StatsdBuilder::timings),
    /// with [`registry`](Self::registry) as its source), or let
    /// [`export_to`](Self::export_to) do both.
    pub fn timings(&self) -> &Timings {
        &self.0.timings
    }

    /// Starts the export runtime sending this monitor's registry and its
    /// [`timings`](Self::timings) to the StatsD daemon at `address` (UDP,
    /// `host:port`) every `interval`, under `prefix`
    /// ([`DEFAULT_STATSD_PREFIX`] as Faust's). The timers' samples go to
    /// one sink: while an exporter from here (or a sink given
    /// [`timings`](Self::timings)) lives, another `export_to` fails
    /// ([`hotmetrics_statsd::Error::TimingsShared`]).
    pub fn export_to(
        &self,
        address: &str,
        prefix: &str,
        interval: Duration,
    ) -> Result<hotmetrics_export::ExporterHandle, StatsdMonitorError> {
        let sink = hotmetrics_statsd::StatsdSink::udp(address)
            .prefix(prefix)
            .timings(self.0.timings.clone())
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

    /// Counts a refusal (not an event that raced with a revoke: it counts
    /// as before the revoke).
    fn refused<R>(&self, r: Result<R, Miss>) {
        if Miss::refused(&r) {
            self.0.refused.inc();
        }
    }

    #[inline]
    fn topic(&self, topic: &str, f: impl FnOnce(&TopicSeries)) {
        self.refused(self.topic_series(topic, f));
    }

    /// Runs `f` on the topic's series; an error (not counted) when refused.
    #[inline]
    fn topic_series<R>(&self, topic: &str, f: impl FnOnce(&TopicSeries) -> R) -> Result<R, Miss> {
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
                topic_received: self.topic_series(tp.topic, |t| t.received.clone()).ok()?,
                read_offset: self
                    .offset_gauge(format!("read_offset.{}.{}", tp.topic, tp.partition))?,
            })
        };
        let hit = i.partitions.with(tp.topic, tp.partition, make, |p| {
            p.topic_received.inc();
            p.read_offset.set(offset as f64);
        });
        if hit == Err(Miss::Revoked) {
            // Before the revoke: its offset gauge is gone, its topic's
            // count is not.
            self.topic(tp.topic, |t| t.received.inc());
        }
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
            self.0.events_runtime.record_ms(ms);
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
            self.0.commit_latency.record_ms(ms);
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

    fn on_partitions_revoked(&self, partitions: &[TopicPartition<'_>]) {
        let i = &self.0;
        for &tp in partitions {
            // Under the map's lock: no thread makes the key again (and
            // fails to register its name) before the series is gone.
            let drop_series = |kind: &str| {
                let name = format!("{kind}.{}.{}", tp.topic, tp.partition);
                i.registry.unregister(&name);
            };
            i.partitions
                .forget(tp.topic, tp.partition, |_| drop_series("read_offset"));
            i.committed
                .forget(tp.topic, tp.partition, |_| drop_series("committed_offset"));
            i.end
                .forget(tp.topic, tp.partition, |_| drop_series("end_offset"));
        }
    }

    fn on_send_initiated(&self, topic: &str, _: usize, _: usize) -> Started {
        self.topic(topic, |t| t.sent.inc());
        self.0.clock.now()
    }

    fn on_send_completed(&self, _: &str, state: Started) {
        if let Some(ms) = self.latency(state) {
            self.0.messages_sent.inc();
            self.0.send_latency.record_ms(ms);
        }
    }

    fn on_send_error(&self, _: &str, _: &dyn fmt::Display, state: Started) {
        self.0.messages_sent_error.inc();
        if let Some(ms) = self.latency(state) {
            self.0.send_latency_for_error.record_ms(ms);
        }
    }

    fn on_assignment_start(&self) -> Started {
        self.0.clock.now()
    }

    fn on_assignment_completed(&self, state: Started) {
        if let Some(ms) = self.latency(state) {
            self.0.assignments_complete.inc();
            self.0.assignment_latency.record_ms(ms);
        }
    }

    fn on_assignment_error(&self, _: &dyn fmt::Display, state: Started) {
        self.0.assignments_error.inc();
        if let Some(ms) = self.latency(state) {
            self.0.assignment_latency.record_ms(ms);
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
            i.rebalance_return_latency.record_ms(ms);
        }
    }

    fn on_rebalance_end(&self, state: Started) {
        if let Some(ms) = self.latency(state) {
            self.0.rebalances_recovering.dec();
            self.0.rebalance_end_latency.record_ms(ms);
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
        self.0.http_response_latency.record_ms(ms);
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
    fn latencies_are_timer_samples_and_the_capacity_is_set() {
        let statsd = StatsdMonitor::with_timer_capacity(10, Clock::monotonic(), 2);
        assert_eq!(statsd.timings().capacity(), 2);
        for _ in 0..3 {
            let c = statsd.on_commit_initiated();
            statsd.on_commit_completed(c);
        }
        assert_eq!(statsd.timings().dropped(), 1, "a ring of 2 took 3");
        let names = statsd.registry().family_names();
        assert!(names.contains(&"messages_sent".to_owned()), "{names:?}");
        assert!(
            !names.iter().any(|n| n.contains("latency")),
            "no histograms: {names:?}"
        );
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
