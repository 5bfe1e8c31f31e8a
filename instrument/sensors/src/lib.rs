//! Faust-style sensors for stream processors, on hotmetrics' lock-free
//! engine: the [`Sensor`] callbacks of faust-streaming (message in/out,
//! stream events, tables, commits, sends, assignments, rebalances, web
//! requests, custom counts), a [`Monitor`] that keeps Faust's totals,
//! per-topic / partition / stream / task / table counts, offsets and latency
//! histories on sharded series, a [`SensorDelegate`] that fans events out
//! while sensors come and go, Faust's Prometheus families
//! ([`Monitor::prometheus`]), a sampled [`LoggingSensor`], a
//! [`HealthMonitor`] (consumer lag, error rate, memory, idleness) and
//! [`CustomSensor`] business metrics; [`Monitoring`] sets them up in one
//! call.
//!
//! ```
//! use hotmetrics_sensors::{Monitoring, Sensor, StreamTask, TopicPartition};
//!
//! let registry = hotmetrics_core::Registry::new();
//! let monitoring = Monitoring::builder(&registry)
//!     .health(|h| h.max_lag(1_000))
//!     .build()
//!     .unwrap();
//! let sensors = monitoring.sensors();
//!
//! // An agent's loop over a topic partition:
//! let tp = TopicPartition::new("orders", 0);
//! let stream = StreamTask::new("orders", "orders.process"); // stream, agent
//! sensors.on_partition_end_offset(tp, 2); // the fetch's high watermark
//! for offset in 0..2 {
//!     let message = sensors.on_message_in(tp, offset); // kept with the message
//!     let event = sensors.on_stream_event_in(tp, offset, stream);
//!     sensors.on_table_get("totals");
//!     sensors.on_table_set("totals");
//!     let send = sensors.on_send_initiated("invoices", 8, 120);
//!     sensors.on_send_completed("invoices", send);
//!     sensors.on_stream_event_out(tp, offset, stream, event);
//!     sensors.on_message_out(tp, offset, message);
//! }
//! let commit = sensors.on_commit_initiated();
//! sensors.on_tp_commit(&[(tp, 2)]);
//! sensors.on_commit_completed(commit);
//!
//! let stats = monitoring.monitor().snapshot();
//! assert_eq!(stats.events_total, 2);
//! assert_eq!(stats.events_by_task["orders.process"], 2);
//! assert_eq!(stats.tables["totals"].keys_updated, 2);
//! assert_eq!(stats.consumer_lag["orders"][&0], 0);
//! let mut text = hotmetrics_core::bytes::BytesMut::new();
//! hotmetrics_text::TextEncoder::new().encode(&registry, &mut text);
//! let text = String::from_utf8(text.to_vec()).unwrap();
//! assert!(text.contains("faust_app_table_operations_total{table=\"table.totals\",operation=\"keys_updated\"} 2\n"));
//! ```
//!
//! # The event path
//! Callbacks update per-thread cells (no lock, no shared write); the
//! series of a topic, partition, stream or table are resolved on first use
//! and found again in the calling thread's cache; latency histories are
//! per-thread rings. After a thread's first events nothing is allocated.
//! Rates, medians, maxima and lag are computed when read
//! ([`Monitor::snapshot`], [`HealthMonitor::report`]).
//!
//! # Faust compatibility
//! [`FAUST_FAMILIES`] lists faust-streaming 0.15.3's Prometheus families;
//! [`Monitor`]'s docs say where the values differ (Faust's bugs not
//! copied). With feature `statsd`, `StatsdMonitor` sends faust-streaming's
//! statsd names through the StatsD sink of the export runtime.
//!
//! StatsD latencies are timings, as Faust's: `events_runtime`,
//! `commit_latency`, `send_latency`, `send_latency_for_error`,
//! `assignment_latency`, `rebalance_return_latency`,
//! `rebalance_end_latency` and `http_response_latency` go as `|ms` lines,
//! one per sample (kept in per-thread rings between exports; a full ring
//! drops, and the lines then carry a sample rate so the daemon's count is
//! still exact), so a dashboard reading
//! `stats.timers.<prefix>.send_latency.mean` finds it. Counters and
//! gauges keep Faust's names; the default prefix `faust-app` travels as
//! written.
//!
//! # Features
//! - `http`: [`HealthMonitor`] is a `hotmetrics_http::HealthCheck` and
//!   [`Monitor`] a `hotmetrics_http::StatsJson`, for the `/metrics`
//!   server's `/health` and `/stats`; `Monitoring::serve` sets both.
//! - `statsd`: `StatsdMonitor` (and `Monitoring`'s `statsd`), on
//!   `hotmetrics-statsd` and `hotmetrics-export`. The facade turns it on
//!   when both its `sensors` and `statsd` features are on.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod custom;
mod delegate;
mod health;
mod history;
mod keyed;
mod logging;
mod monitor;
mod names;
mod rates;
mod sensor;
mod setup;
#[cfg(feature = "statsd")]
mod statsd;

pub use clock::{Clock, ManualClock, Started};
pub use custom::{CustomError, CustomMetrics, CustomSensor, HistogramSummary, MAX_KEY_BYTES};
pub use delegate::SensorDelegate;
pub use health::{CheckReport, CheckStatus, HealthMonitor, HealthMonitorBuilder, HealthReport};
pub use history::LatencyStats;
pub use logging::LoggingSensor;
pub use monitor::{
    Latencies, Monitor, MonitorBuilder, MonitorSnapshot, SensorErrors, TableSnapshot,
};
pub use names::{
    DEFAULT_NAMESPACE, FAUST_BUCKETS_MS, FAUST_FAMILIES, FaustFamily, SENSOR_ERRORS, namespace_of,
};
pub use sensor::{Sensor, StreamTask, TopicPartition};
pub use setup::{Monitoring, MonitoringBuilder};
#[cfg(feature = "statsd")]
#[cfg_attr(docsrs, doc(cfg(feature = "statsd")))]
pub use statsd::{DEFAULT_STATSD_PREFIX, FAUST_STATSD_NAMES, StatsdMonitor, StatsdMonitorError};
/// The `tracing` level a [`LoggingSensor`] logs at.
pub use tracing::Level;
