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
//! let mut buf = hotmetrics::bytes::BytesMut::new();
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
//! let mut body = hotmetrics::bytes::BytesMut::new();
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
//! ## A consumer's metrics
//! [`broker`][broker-mod] (feature `broker`) registers FastStream's broker
//! metric set, so Grafana dashboard 22130 works unchanged, and hands out a
//! guard per message that records how handling ended, exactly once; the
//! guard is `Send + 'static`, so a poll loop can move it into a task of its
//! own.
//!
//! ## Features
//! - `text` (default): the Prometheus text 0.0.4 encoder, in
//!   [`text`][text-mod].
//! - `openmetrics`: the OpenMetrics 1.0 encoder, in
//!   [`openmetrics`][openmetrics-mod] (the same writer as `text`, in the
//!   OpenMetrics dialect).
//! - `protobuf`: the length-delimited `io.prometheus.client.MetricFamily`
//!   encoder, in [`protobuf`][protobuf-mod].
//! - `http`: the `/metrics` server on a thread of its own, and the same
//!   routes as a hyper service for an application's own server, in
//!   [`http`][http-mod]; turns on every format.
//! - `tls`: HTTPS for that server ([`tls_pem`][tls-item]; rustls with
//!   ring); turns on `http`.
//! - `tower`: `MetricsService` as a `tower::Service`, to mount in axum or
//!   a tower stack at any path; turns on `http`.
//! - `tower-layer`: HTTP request metrics as a `tower::Layer` for axum,
//!   tonic and hyper services (aioprometheus' middleware: requests,
//!   responses by status code, exceptions, duration, in flight, by method
//!   and route template), in [`tower_layer`][tower-layer-mod].
//! - `test-util`: helpers for your tests (read one sample, assert a
//!   family's series with readable failure messages, diff two points of a
//!   test, a registry of the test's own), in [`testing`][testing-mod];
//!   outside semver.
//! - `push`: the Pushgateway client, in [`push`][push-mod].
//! - `push-tokio`: its `AsyncPusher`, for tokio code; turns on `push`.
//! - `export`: the periodic export runtime (a background thread sending
//!   to a sink every interval, with retries and a bounded queue), in
//!   [`export`][export-mod].
//! - `export-tokio`: its handle's `flush_async` and `shutdown_async`, for
//!   tokio code; turns on `export`.
//! - `statsd`: a StatsD / DogStatsD sink for the export runtime, over UDP
//!   or a Unix datagram socket, in [`statsd`][statsd-mod]; turns on
//!   `export`.
//! - `remote-write`: Prometheus remote write 1.0 and 2.0, in
//!   `remote_write`, on the export runtime; turns on `export`.
//! - `broker`: FastStream's broker metric set and its guards, in
//!   [`broker`][broker-mod].
//! - `broker-lapin`: a metered `lapin` (RabbitMQ) consumer and publisher,
//!   in `broker::lapin`; turns on `broker`.
//! - `broker-nats`: metered `async-nats` subscriptions, JetStream pull
//!   consumers and publishes, in `broker::nats`; turns on `broker`.
//! - `broker-redis`: metered `redis` stream consumer groups, pub/sub
//!   channels, lists and publishes, in `broker::redis`; turns on `broker`.
//! - `broker-mqtt`: a metered `rumqttc` event loop (incoming Publishes and
//!   their QoS acks) and client, in `broker::mqtt`; turns on `broker`.
//! - `broker-kafka`: a metered `rdkafka` `StreamConsumer` (the ack state
//!   from the offset commit) and `FutureProducer`, in `broker::kafka`;
//!   turns on `broker`; builds librdkafka from source.
//! - `metrics-recorder`: a `metrics` facade recorder on the engine, in
//!   [`recorder`][recorder-mod]: crates instrumented with
//!   `metrics::counter!`, `gauge!` and `histogram!` land in a registry.
//! - `sensors`: Faust's stream-processor sensors (a monitor with Faust's
//!   Prometheus families, a delegate, logging, health and custom
//!   sensors), in [`sensors`][sensors-mod]; with `http`, the `/metrics`
//!   server's `/health` and `/stats` serve its health report and snapshot.
//!
//! [`exposition`] is always present; it only ever chooses formats whose
//! feature is on.
//!
// Where the feature list's links lead: the module, or back to the list
// when its feature is off (rather than a link that does not resolve).
#![cfg_attr(feature = "text", doc = "[text-mod]: crate::text")]
#![cfg_attr(not(feature = "text"), doc = "[text-mod]: #features")]
#![cfg_attr(feature = "openmetrics", doc = "[openmetrics-mod]: crate::openmetrics")]
#![cfg_attr(not(feature = "openmetrics"), doc = "[openmetrics-mod]: #features")]
#![cfg_attr(feature = "protobuf", doc = "[protobuf-mod]: crate::protobuf")]
#![cfg_attr(not(feature = "protobuf"), doc = "[protobuf-mod]: #features")]
#![cfg_attr(feature = "http", doc = "[http-mod]: crate::http")]
#![cfg_attr(not(feature = "http"), doc = "[http-mod]: #features")]
#![cfg_attr(
    feature = "tls",
    doc = "[tls-item]: crate::http::ServerBuilder::tls_pem"
)]
#![cfg_attr(not(feature = "tls"), doc = "[tls-item]: #features")]
#![cfg_attr(feature = "tower-layer", doc = "[tower-layer-mod]: crate::tower_layer")]
#![cfg_attr(not(feature = "tower-layer"), doc = "[tower-layer-mod]: #features")]
#![cfg_attr(feature = "test-util", doc = "[testing-mod]: crate::testing")]
#![cfg_attr(not(feature = "test-util"), doc = "[testing-mod]: #features")]
#![cfg_attr(feature = "push", doc = "[push-mod]: crate::push")]
#![cfg_attr(not(feature = "push"), doc = "[push-mod]: #features")]
#![cfg_attr(feature = "export", doc = "[export-mod]: crate::export")]
#![cfg_attr(not(feature = "export"), doc = "[export-mod]: #features")]
#![cfg_attr(feature = "statsd", doc = "[statsd-mod]: crate::statsd")]
#![cfg_attr(not(feature = "statsd"), doc = "[statsd-mod]: #features")]
#![cfg_attr(feature = "broker", doc = "[broker-mod]: crate::broker")]
#![cfg_attr(not(feature = "broker"), doc = "[broker-mod]: #features")]
#![cfg_attr(feature = "metrics-recorder", doc = "[recorder-mod]: crate::recorder")]
#![cfg_attr(not(feature = "metrics-recorder"), doc = "[recorder-mod]: #features")]
#![cfg_attr(feature = "sensors", doc = "[sensors-mod]: crate::sensors")]
#![cfg_attr(not(feature = "sensors"), doc = "[sensors-mod]: #features")]
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
    BucketSpan, Buckets, Collector, CollectorId, Counter, CounterF64, CounterVec, DEFAULT_BUCKETS,
    DEFAULT_MAX_SERIES, Described, Encoder, Error, Escaping, Exemplar, Family, FamilyDesc,
    FamilySnapshot, Gauge, GaugeF64, GaugeVec, Handle, Histogram, HistogramSnapshot,
    HistogramTimer, HistogramValue, HistogramVec, InProgressGuard, Info, InfoVec, LabelSet,
    LabelValue, Labels, MAX_DENSE, MAX_EXEMPLAR_CHARS, Metric, MetricSource, MetricType,
    MetricVisitor, NameValidation, NativeBuckets, NativeOpts, NativeSnapshot, Number, Opts,
    Registry, RegistryBuilder, SeriesSnapshot, SeriesValue, Snapshot, StateSet, StateSetVec,
    States, Summary, SummaryOpts, SummarySnapshot, SummaryTimer, SummaryValue, SummaryVec,
    TypedFamily, ValueSnapshot, default_registry, is_legacy_label_name, is_legacy_metric_name,
    validate_label_name, validate_metric_name,
};

#[cfg(target_os = "linux")]
pub use hotmetrics_core::ProcessCollector;

/// `#[derive(Labels)]` on a struct of label values and
/// `#[derive(LabelValue)]` on a fieldless enum: typed label sets, looked
/// up by a dense index ([`Family::typed`]).
pub use hotmetrics_derive::{LabelValue, Labels};

// What the derives' code calls.
#[doc(hidden)]
pub use hotmetrics_core::cardinality_product;

// Every ```rust block of README.md is a doctest, compiled (and run unless
// `no_run`), so the README cannot drift from the API. The blocks use the
// server, the push client, the broker metrics, the export sinks, the
// `metrics` recorder, the tower layer, the test helpers and the sensors,
// hence the features (on under `--all-features`).
#[cfg(all(
    doctest,
    feature = "tower-layer",
    feature = "test-util",
    feature = "http",
    feature = "tower",
    feature = "push",
    feature = "push-tokio",
    feature = "broker",
    feature = "remote-write",
    feature = "statsd",
    feature = "metrics-recorder",
    feature = "sensors"
))]
#[doc = include_str!("../README.md")]
mod readme {}

// The other crates, inlined: each gets its page here, with its own docs.

#[cfg(feature = "text")]
#[cfg_attr(docsrs, doc(cfg(feature = "text")))]
#[doc(inline)]
pub use hotmetrics_text as text;

#[cfg(feature = "openmetrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "openmetrics")))]
#[doc(inline)]
pub use hotmetrics_text::openmetrics;

#[cfg(feature = "protobuf")]
#[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
#[doc(inline)]
pub use hotmetrics_protobuf as protobuf;

#[doc(inline)]
pub use hotmetrics_exposition as exposition;

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[doc(inline)]
pub use hotmetrics_http as http;

#[cfg(feature = "tower-layer")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower-layer")))]
#[doc(inline)]
pub use hotmetrics_tower as tower_layer;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
#[doc(inline)]
pub use hotmetrics_core::testing;

#[cfg(feature = "push")]
#[cfg_attr(docsrs, doc(cfg(feature = "push")))]
#[doc(inline)]
pub use hotmetrics_push as push;

#[cfg(feature = "export")]
#[cfg_attr(docsrs, doc(cfg(feature = "export")))]
#[doc(inline)]
pub use hotmetrics_export as export;

#[cfg(feature = "statsd")]
#[cfg_attr(docsrs, doc(cfg(feature = "statsd")))]
#[doc(inline)]
pub use hotmetrics_statsd as statsd;

#[cfg(feature = "remote-write")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote-write")))]
#[doc(inline)]
pub use hotmetrics_remote_write as remote_write;

#[cfg(feature = "broker")]
#[cfg_attr(docsrs, doc(cfg(feature = "broker")))]
#[doc(inline)]
pub use hotmetrics_broker as broker;

#[cfg(feature = "metrics-recorder")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics-recorder")))]
#[doc(inline)]
pub use hotmetrics_recorder as recorder;
#[cfg(feature = "sensors")]
#[cfg_attr(docsrs, doc(cfg(feature = "sensors")))]
#[doc(inline)]
pub use hotmetrics_sensors as sensors;
