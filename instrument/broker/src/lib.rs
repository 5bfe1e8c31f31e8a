//! FastStream's broker metrics, name for name, for a Rust consumer.
//!
//! [FastStream]'s Prometheus middleware (Python; Kafka, RabbitMQ, NATS,
//! Redis) defines nine consumer/producer metrics, and the public Grafana
//! dashboard 22130 ("FastStream Metrics") is built on exactly them.
//! [`BrokerMetrics`] registers the same nine families, with the same names,
//! types, label names, help texts and default buckets, so a Rust consumer
//! gets that dashboard unchanged, side by side with Python services.
//!
//! | metric (`faststream_` is the default prefix) | type | labels |
//! |---|---|---|
//! | `faststream_received_messages_total` | counter | `app_name`, `broker`, `handler` |
//! | `faststream_received_messages_size_bytes` | histogram | `app_name`, `broker`, `handler` |
//! | `faststream_received_messages_in_process` | gauge | `app_name`, `broker`, `handler` |
//! | `faststream_received_processed_messages_total` | counter | `app_name`, `broker`, `handler`, `status` |
//! | `faststream_received_processed_messages_duration_seconds` | histogram | `app_name`, `broker`, `handler` |
//! | `faststream_received_processed_messages_exceptions_total` | counter | `app_name`, `broker`, `handler`, `exception_type` |
//! | `faststream_published_messages_total` | counter | `app_name`, `broker`, `destination`, `status` |
//! | `faststream_published_messages_duration_seconds` | histogram | `app_name`, `broker`, `destination` |
//! | `faststream_published_messages_exceptions_total` | counter | `app_name`, `broker`, `destination`, `exception_type` |
//!
//! - `broker` ([`Broker`]): `kafka`, `rabbitmq`, `nats`, `redis`, `mqtt`.
//! - receive `status` ([`Status`]): `acked`, `nacked`, `rejected`,
//!   `skipped`, `error`; publish `status`: `success`, `error`.
//! - `exception_type`: the error's type name (Python writes
//!   `type(err).__name__`); only for errors, never for the
//!   ack/nack/reject/skip control outcomes.
//! - custom labels ([`BrokerMetricsBuilder::label`], static, and
//!   [`BrokerMetricsBuilder::per_message_label`], whose values each handle
//!   is resolved with) come after these, on all nine families, as
//!   FastStream's `custom_labels`.
//! - size buckets: 2^4, 2^6, ..., 2^24 bytes ([`DEFAULT_SIZE_BUCKETS`]);
//!   duration buckets: the Python client's defaults, 5 ms to 10 s
//!   ([`DEFAULT_DURATION_BUCKETS`], which has 0.075, 0.75 and 7.5 that
//!   [`DEFAULT_BUCKETS`](hotmetrics_core::DEFAULT_BUCKETS) lacks).
//!
//! # The hot path
//! [`BrokerMetrics::handler`] resolves every series of one handler once
//! (the five status counters included) into a [`HandlerMetrics`]; per
//! message, [`HandlerMetrics::receive`] counts the message, observes its
//! size, raises the in-process gauge and starts the clock, and the
//! [`ProcessingGuard`] it returns records the outcome, the duration and
//! lowers the gauge when finished with [`ack`](ProcessingGuard::ack),
//! [`nack`](ProcessingGuard::nack), [`reject`](ProcessingGuard::reject),
//! [`skip`](ProcessingGuard::skip) or [`error`](ProcessingGuard::error).
//! No lookup, no lock, no allocation, only per-thread cells, and one
//! reference count taken on the receiving thread's own copy of the
//! handler's series (so threads receiving on one handler share no count; a
//! guard finished on another thread releases it from there, once); exception
//! types, being open-ended, are looked up in the family (a per-thread cache
//! hit after the first time).
//!
//! A guard dropped unfinished (an early return, `?`, a cancelled future, a
//! panic) counts one exception of type [`PANIC`] (`"Panic"`) when the
//! thread is panicking and [`DROPPED`] (`"Dropped"`) otherwise, with status
//! `error` (or the ack state, if the message was settled first). A guard
//! records exactly once.
//!
//! Publishing works the same way through [`BrokerMetrics::destination`] and
//! [`DestinationMetrics::publish`]. The handles are `Clone + Send + Sync`
//! (clones share the series); the guards are `Send + 'static`.
//!
//! # Ack state and exceptions
//! As in FastStream, the processed `status` is the message's **ack state**
//! (how it was settled with the broker), and exceptions are counted
//! apart: a handler that acks and then fails records `status="acked"` and
//! one `exceptions_total{exception_type}`. A guard keeps both
//! ([`ProcessingGuard::settle`], [`ProcessingGuard::exception`]) until
//! processing ends; its table says which status each combination gives.
//!
//! # Several brokers, one registry
//! FastStream reuses the families a registry has; so does
//! [`BrokerMetricsBuilder::build`]: `BrokerMetrics` for Kafka and for
//! RabbitMQ on one registry (and prefix) write the same nine families,
//! `broker` tells them apart.
//!
//! # RPC replies
//! FastStream counts neither a reply to a request it made (its middleware
//! skips a message whose `source_type` is `SourceType.RESPONSE`) nor the
//! publish of a reply to a request it handled (a publish command whose
//! `publish_type` is `PublishType.REPLY`). With the guards, do not
//! `receive` or `publish` those; the client wrappers pass them through
//! uncounted (RabbitMQ's direct reply-to, NATS inbox subjects, and their
//! `reply` / `respond` calls).
//!
//! # Client wrappers and lag
//! With feature `lapin`, `lapin` wraps a RabbitMQ consumer
//! and publisher; with `async-nats`, `nats` wraps core NATS
//! subscriptions, JetStream pull consumers and publishes; with `redis`,
//! `redis` wraps stream consumer groups, pub/sub channels, lists and
//! their publishes; with `rumqttc`, `mqtt` wraps an MQTT event loop and
//! client; with `rdkafka`, `kafka` wraps a `StreamConsumer` (the ack state
//! from the offset commit) and a `FutureProducer`: one line each,
//! FastStream's label values per broker, the ack state from the client's
//! own ack calls. Where the broker reports a backlog, one more gauge
//! family, our extension: [`BrokerMetrics::lag`]
//! (`{prefix}_consumer_lag_messages`, [`LAG_SUFFIX`]).
//!
//! # A task per message
//! A guard owns what it records into, so the usual tokio shape works:
//! receive in a poll loop, move the guard into a task of its own, finish it
//! there, on whichever thread runs the task, after the handle is gone if
//! need be.
//!
//! ```
//! use hotmetrics_broker::{Broker, BrokerMetrics};
//! use hotmetrics_core::Registry;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), hotmetrics_core::Error> {
//!     let registry = Registry::new();
//!     let metrics = BrokerMetrics::new(&registry, Broker::Kafka)?;
//!     let orders = metrics.handler("orders")?;
//!
//!     // Stands in for the broker client's stream of messages.
//!     let (deliver, mut inbox) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
//!     tokio::spawn(async move {
//!         for body in [&b"{}"[..], b"{\"id\":7}", b"oops"] {
//!             let _ = deliver.send(body.to_vec()).await;
//!         }
//!     });
//!
//!     let mut handling = tokio::task::JoinSet::new();
//!     while let Some(body) = inbox.recv().await {
//!         let msg = orders.receive(body.len());
//!         handling.spawn(async move {
//!             match body.first() {
//!                 Some(b'{') => msg.ack(),
//!                 _ => msg.error("ParseError"),
//!             }
//!         });
//!     }
//!     handling.join_all().await;
//!
//!     // Counters are stored without `_total`, which exporters add.
//!     let processed = |status| {
//!         let labels = [("app_name", "faststream"), ("broker", "kafka"), ("handler", "orders")];
//!         let [a, b, h] = labels;
//!         registry.snapshot().counter("faststream_received_processed_messages", &[a, b, h, ("status", status)])
//!     };
//!     assert_eq!(processed("acked"), Some(2.0));
//!     assert_eq!(processed("error"), Some(1.0));
//!     Ok(())
//! }
//! ```
//!
//! The consumer loop, and what a scrape of it reads (the counters and the
//! gauge, families in name order; the histograms are left out here):
//!
//! ```
//! use hotmetrics_broker::{Broker, BrokerMetrics};
//! use hotmetrics_core::Registry;
//!
//! # fn main() -> Result<(), hotmetrics_core::Error> {
//! let registry = Registry::new();
//! // FastStream's metric set: Grafana dashboard 22130 works unchanged.
//! let metrics = BrokerMetrics::builder(Broker::Kafka).app_name("billing").build(&registry)?;
//! let orders = metrics.handler("orders")?; // resolve the series once
//! let payments = metrics.destination("payments")?;
//!
//! let inbox: [&[u8]; 3] = [b"{\"id\":1}", b"{\"id\":2}", b"not json"];
//! for body in inbox {
//!     let msg = orders.receive(body.len()); // received, size, in-process, timer
//!     if body.starts_with(b"{") {
//!         let send = payments.publish();
//!         // ... producer.send(...) ...
//!         send.success(); // published{status="success"}, duration
//!         msg.ack(); // processed{status="acked"}, duration
//!     } else {
//!         msg.error("ParseError"); // ...{status="error"}, exceptions{exception_type}
//!     }
//! }
//!
//! let mut buf = bytes::BytesMut::new();
//! hotmetrics_text::TextEncoder::new().encode(&registry, &mut buf);
//! let text = std::str::from_utf8(&buf).unwrap();
//! let samples: Vec<&str> = text
//!     .lines()
//!     .filter(|l| !l.starts_with('#') && !l.contains("_seconds") && !l.contains("_bytes"))
//!     .collect();
//! assert_eq!(samples, [
//!     r#"faststream_published_messages_total{app_name="billing",broker="kafka",destination="payments",status="success"} 2"#,
//!     r#"faststream_published_messages_total{app_name="billing",broker="kafka",destination="payments",status="error"} 0"#,
//!     r#"faststream_received_messages_total{app_name="billing",broker="kafka",handler="orders"} 3"#,
//!     r#"faststream_received_messages_in_process{app_name="billing",broker="kafka",handler="orders"} 0"#,
//!     r#"faststream_received_processed_messages_total{app_name="billing",broker="kafka",handler="orders",status="acked"} 2"#,
//!     r#"faststream_received_processed_messages_total{app_name="billing",broker="kafka",handler="orders",status="nacked"} 0"#,
//!     r#"faststream_received_processed_messages_total{app_name="billing",broker="kafka",handler="orders",status="rejected"} 0"#,
//!     r#"faststream_received_processed_messages_total{app_name="billing",broker="kafka",handler="orders",status="skipped"} 0"#,
//!     r#"faststream_received_processed_messages_total{app_name="billing",broker="kafka",handler="orders",status="error"} 1"#,
//!     r#"faststream_received_processed_messages_exceptions_total{app_name="billing",broker="kafka",handler="orders",exception_type="ParseError"} 1"#,
//! ]);
//! # Ok(())
//! # }
//! ```
//!
//! # Modules in one line each
//! `families` the nine families, their builder and the `broker` label;
//! `receive` a handler's series and the processing guard; `publish` a
//! destination's series and the publish guard; `guard` what both guards
//! share (the clock, the series they own, recording once); `per_thread`
//! the per-thread copies of the series that the guards own; `outcome` the
//! statuses, ack states and exception types they record; `shared` the one
//! set of families per registry and prefix that every `BrokerMetrics`
//! on them shares; `lag` the lag gauge; `wrappers` what the client
//! wrappers share (the metered consumer's core: families, handler handles
//! and the per-message label closure; a message in process until it is
//! dropped; the publishers' destination handles); `lapin`,
//! `nats`, `redis`, `mqtt` and `kafka` the wrappers, one module per
//! client.
//!
//! [FastStream]: https://faststream.airt.ai/latest/getting-started/observability/prometheus/
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod families;
mod guard;
#[cfg(feature = "rdkafka")]
#[cfg_attr(docsrs, doc(cfg(feature = "rdkafka")))]
pub mod kafka;
mod lag;
#[cfg(feature = "lapin")]
#[cfg_attr(docsrs, doc(cfg(feature = "lapin")))]
pub mod lapin;
#[cfg(feature = "rumqttc")]
#[cfg_attr(docsrs, doc(cfg(feature = "rumqttc")))]
pub mod mqtt;
#[cfg(feature = "async-nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-nats")))]
pub mod nats;
mod outcome;
mod per_thread;
mod publish;
mod receive;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod shared;
#[cfg(any(
    feature = "lapin",
    feature = "async-nats",
    feature = "redis",
    feature = "rumqttc",
    feature = "rdkafka"
))]
mod wrappers;

pub use families::{
    Broker, BrokerMetrics, BrokerMetricsBuilder, DEFAULT_DURATION_BUCKETS, DEFAULT_PREFIX,
    DEFAULT_SIZE_BUCKETS,
};
pub use lag::LAG_SUFFIX;
pub use outcome::{AckState, DROPPED, Outcome, PANIC, PublishOutcome, Status};
pub use publish::{DestinationMetrics, PublishGuard};
pub use receive::{HandlerMetrics, ProcessingGuard};
