//! # hotmetrics
//!
//! Prometheus metrics for the hottest loops of message consumers and stream
//! processors. Counters, gauges and histograms are updated through cheap
//! handles into per-thread cells (no lock, no contended atomic, no
//! allocation after a thread's first touch) and merged exactly at scrape
//! time. Exporters encode the merged view into reusable byte buffers.
//!
//! ```
//! # #[cfg(feature = "text")] {
//! use hotmetrics::{Buckets, Registry};
//!
//! let registry = Registry::new();
//! let received = registry
//!     .counter_vec(("received_messages_total", "Messages received"), &["handler"])
//!     .unwrap();
//! let in_flight = registry.gauge(("in_process", "Messages being handled")).unwrap();
//! let duration = registry
//!     .histogram(("processing_seconds", "Processing time"), Buckets::default())
//!     .unwrap();
//!
//! // In the consumer loop:
//! received.with(&["orders"], |c| c.inc()).unwrap();
//! {
//!     let _in_flight = in_flight.track_in_progress();
//!     let _timer = duration.start_timer();
//!     // handle the message
//! }
//!
//! // At scrape time (feature `text`, on by default):
//! let mut buf = bytes::BytesMut::new();
//! hotmetrics::text::TextEncoder::new().encode(&registry, &mut buf);
//! assert!(std::str::from_utf8(&buf).unwrap().contains("received_messages_total{handler=\"orders\"} 1\n"));
//! # }
//! ```
//!
//! ## Serving a scrape in the format the scraper asks for
//! [`exposition::negotiate`] reads an `Accept` header exactly as Prometheus
//! sends it and picks among the compiled-in formats;
//! [`exposition::ScrapeEncoder`] writes the registry in it into a reused
//! buffer, and the answer carries the `Content-Type` to send.
//!
//! ```
//! # #[cfg(feature = "text")] {
//! use hotmetrics::exposition::ScrapeEncoder;
//!
//! let registry = hotmetrics::Registry::new();
//! registry.gauge(("workers", "Worker threads.")).unwrap().set(8);
//! let mut encoder = ScrapeEncoder::new();
//! let mut body = bytes::BytesMut::new();
//! let accept = "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
//! let chosen = encoder.encode_negotiated(Some(accept), &registry, &mut body).unwrap();
//! assert_eq!(chosen.content_type(), "text/plain; version=0.0.4; charset=utf-8");
//! assert!(body.ends_with(b"workers 8\n"));
//! # }
//! ```
//!
//! ## Writing an exporter of your own
//! Every format goes through one seam: an [`Encoder`] (a content type, and
//! an `encode` that walks a [`MetricSource`] such as a [`Registry`]
//! through a [`MetricVisitor`] into a reused buffer): the built-in formats
//! implement it and the server, the push client and
//! [`exposition::ScrapeEncoder`] use them through it. A format of your own
//! is a crate that implements it on the public API alone;
//! [`Encoder`]'s docs show a complete one, and
//! [`MetricType`] says how each type is named and which sample suffixes it
//! uses.
//!
//! ## Features
//! - `text` (default): the Prometheus text 0.0.4 encoder, as [`text`].
//! - `openmetrics`: the OpenMetrics 1.0 encoder, as `openmetrics` (the
//!   same writer as `text`, in the OpenMetrics dialect).
//! - `protobuf`: the length-delimited `io.prometheus.client.MetricFamily`
//!   encoder, as `protobuf`.
//! - `http`: the `/metrics` server, as `http` (turns on every format);
//!   `tls` adds HTTPS to it, `tower` makes its `MetricsService` a
//!   `tower::Service` (to mount in axum).
//! - `push`: the Pushgateway client, as `push`; `push-tokio` adds its
//!   `AsyncPusher`, for tokio code.
//! - `broker`: FastStream's broker metric set, as `broker`.
//!
//! [`exposition`] is always present; it only ever chooses formats whose
//! feature is on.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The `bytes` crate encoders write into (`bytes::BytesMut`), the one
/// the [`Encoder`] seam names.
pub use hotmetrics_core::bytes;

// The engine's public API, item by item: what users update, register and
// read, and the seams exporters implement. Nothing of the engine's
// plumbing comes along.
pub use hotmetrics_core::{
    Buckets, Collector, CollectorId, Counter, CounterF64, CounterVec, DEFAULT_BUCKETS,
    DEFAULT_MAX_SERIES, Described, Encoder, Error, Family, FamilyDesc, FamilySnapshot, Gauge,
    GaugeF64, GaugeVec, Handle, Histogram, HistogramSnapshot, HistogramTimer, HistogramValue,
    HistogramVec, InProgressGuard, Info, InfoVec, LabelSet, Metric, MetricSource, MetricType,
    MetricVisitor, Number, Opts, Registry, RegistryBuilder, SeriesSnapshot, SeriesValue, Snapshot,
    StateSet, StateSetVec, States, SummaryValue, ValueSnapshot, default_registry,
    validate_label_name, validate_metric_name,
};

#[cfg(target_os = "linux")]
pub use hotmetrics_core::ProcessCollector;

/// Prometheus text exposition format 0.0.4, and the one text writer both
/// text formats share (re-export of `hotmetrics-text`).
#[cfg(feature = "text")]
#[cfg_attr(docsrs, doc(cfg(feature = "text")))]
pub use hotmetrics_text as text;

/// OpenMetrics 1.0 (the OpenMetrics dialect of `hotmetrics-text`).
#[cfg(feature = "openmetrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "openmetrics")))]
pub use hotmetrics_text::openmetrics;

/// Length-delimited protobuf (re-export of `hotmetrics-protobuf`).
#[cfg(feature = "protobuf")]
#[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
pub use hotmetrics_protobuf as protobuf;

/// Picking a format from an `Accept` header and encoding in it (re-export
/// of `hotmetrics-exposition`).
pub use hotmetrics_exposition as exposition;

/// FastStream's broker metric set (Grafana dashboard 22130) with guards for
/// a consumer loop (re-export of `hotmetrics-broker`).
#[cfg(feature = "broker")]
#[cfg_attr(docsrs, doc(cfg(feature = "broker")))]
pub use hotmetrics_broker as broker;

/// The `/metrics` HTTP server (re-export of `hotmetrics-http`).
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use hotmetrics_http as http;

/// The Pushgateway client (re-export of `hotmetrics-push`).
#[cfg(feature = "push")]
#[cfg_attr(docsrs, doc(cfg(feature = "push")))]
pub use hotmetrics_push as push;
