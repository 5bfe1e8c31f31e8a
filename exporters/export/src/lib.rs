//! The periodic export runtime of hotmetrics: a background thread that
//! hands a registry's state to a [`Sink`] every interval — remote write,
//! StatsD, or one of your own — for processes that send their metrics
//! instead of being scraped (behind NAT, short-lived, at the edge).
//!
//! The runtime owns what every sink needs, once:
//! - **an interval** and [`flush`](ExporterHandle::flush) on demand;
//!   [`shutdown`](ExporterHandle::shutdown) (or dropping the handle) sends
//!   a final export within a deadline;
//! - **retries** of [`SendError::Retryable`] failures (connection errors,
//!   timeouts, 5xx, 429) with exponential backoff and jitter, honouring the
//!   receiver's `Retry-After`, each distinct failure logged as a warning
//!   once until a send succeeds again (an unreachable receiver, or one
//!   whose certificate is refused, shows at the default log level; every
//!   retry is at debug); [`SendError::Permanent`] ones (other 4xx)
//!   are dropped, counted and logged once (through the `log` crate);
//! - **a bounded queue** of exports not yet sent: when a new one does not
//!   fit, the oldest is dropped and counted, so a dead receiver never
//!   grows memory without bound;
//! - **self-metrics** on a registry of your choice
//!   ([`ExporterBuilder::self_metrics`]), and [`Stats`] on the handle.
//!
//! Writers of metrics never wait for it: the exporter's thread reads the
//! registry as a scrape does (no lock a writer takes on its update path),
//! and every send happens on that thread. No async runtime is needed; in
//! tokio code, feature `tokio` adds
//! [`flush_async`][flush_async] and
//! [`shutdown_async`][shutdown_async], which the task
//! awaits while the runtime's thread goes on.
//!
//! ```
//! use hotmetrics_core::{FamilyDesc, LabelSet, MetricSource, MetricVisitor, Registry, SeriesValue};
//! use hotmetrics_export::{Batch, EncodeError, Exporter, Payload, SendError, Sink};
//! use std::sync::mpsc;
//! use std::time::Duration;
//!
//! /// A sink that hands one line per series (`name value`) to a channel.
//! struct ToChannel(mpsc::Sender<Vec<u8>>);
//!
//! struct Lines<'a>(&'a mut Payload, String);
//!
//! impl MetricVisitor for Lines<'_> {
//!     fn begin_family(&mut self, family: &FamilyDesc<'_>) {
//!         self.1 = family.name.to_owned();
//!     }
//!     fn series(&mut self, _labels: &dyn LabelSet, value: &SeriesValue<'_>) {
//!         if let SeriesValue::Counter { value, .. } = value {
//!             let line = format!("{} {}\n", self.1, value.as_f64());
//!             self.0.bytes.extend_from_slice(line.as_bytes());
//!             self.0.samples += 1;
//!         }
//!     }
//! }
//!
//! impl Sink for ToChannel {
//!     fn name(&self) -> &str {
//!         "channel"
//!     }
//!     fn encode(&mut self, source: &dyn MetricSource, batch: &mut Batch) -> Result<(), EncodeError> {
//!         source.visit(&mut Lines(batch.payload(), String::new()));
//!         Ok(())
//!     }
//!     fn send(&mut self, payload: &Payload) -> Result<(), SendError> {
//!         self.0.send(payload.bytes.clone()).map_err(|e| SendError::permanent(e.to_string()))
//!     }
//! }
//!
//! let registry = Registry::new();
//! registry.counter(("jobs_total", "Jobs done.")).unwrap().inc();
//! let (tx, rx) = mpsc::channel();
//! let exporter = Exporter::builder(registry.clone(), ToChannel(tx))
//!     .interval(Duration::from_secs(10))
//!     .self_metrics(&registry)
//!     .start()
//!     .unwrap();
//! exporter.flush(Duration::from_secs(1)).unwrap(); // one export now
//! let lines = String::from_utf8(rx.recv().unwrap()).unwrap();
//! assert!(lines.lines().any(|l| l == "jobs 1"), "{lines}");
//! // The exporter's own counters are in the registry too.
//! assert!(lines.contains("hotmetrics_export_samples_sent 0"), "{lines}");
//! exporter.shutdown().unwrap(); // a final export, sent
//! assert!(rx.recv().is_ok());
//! ```

//!
#![cfg_attr(
    feature = "tokio",
    doc = "[flush_async]: ExporterHandle::flush_async\n[shutdown_async]: ExporterHandle::shutdown_async"
)]
// Without the feature the methods are not there: the handle's page.
#![cfg_attr(
    not(feature = "tokio"),
    doc = "[flush_async]: ExporterHandle\n[shutdown_async]: ExporterHandle"
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backoff;
mod exporter;
mod sink;
mod stats;

pub use exporter::{
    DEFAULT_INTERVAL, DEFAULT_MAX_BACKOFF, DEFAULT_MIN_BACKOFF, DEFAULT_QUEUE_CAPACITY,
    DEFAULT_SHUTDOWN_TIMEOUT, Error, Exporter, ExporterBuilder, ExporterHandle,
};
pub use sink::{Batch, EncodeError, Payload, SendError, Sink};
pub use stats::Stats;
