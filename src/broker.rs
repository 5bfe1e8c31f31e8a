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
//! - receive `status`: `acked`, `nacked`, `rejected`, `skipped`, `error`;
//!   publish `status`: `success`, `error`.
//! - `exception_type`: the error's type name (Python writes
//!   `type(err).__name__`); only for errors, never for the
//!   ack/nack/reject/skip control outcomes.
//! - size buckets: 2^4, 2^6, ..., 2^24 bytes ([`DEFAULT_SIZE_BUCKETS`]);
//!   duration buckets: the Python client's defaults, 5 ms to 10 s
//!   ([`DEFAULT_DURATION_BUCKETS`], which has 0.075, 0.75 and 7.5 that
//!   [`DEFAULT_BUCKETS`](crate::DEFAULT_BUCKETS) lacks).
//!
//! # The hot path
//! [`BrokerMetrics::handler`] resolves every series of one handler once
//! (the five status counters included) into a [`HandlerMetrics`]; per
//! message, [`HandlerMetrics::receive`] counts the message, observes its
//! size, raises the in-process gauge and starts the clock, and the
//! [`ProcessingGuard`] it returns records the outcome, the duration and
//! lowers the gauge when finished with [`ack`][ProcessingGuard::ack],
//! [`nack`][ProcessingGuard::nack], [`reject`][ProcessingGuard::reject],
//! [`skip`][ProcessingGuard::skip] or [`error`][ProcessingGuard::error].
//! No lookup, no lock, no allocation, only per-thread cells; exception
//! types, being open-ended, are looked up in the family (a per-thread cache
//! hit after the first time).
//!
//! A guard dropped unfinished (an early return, `?`, a cancelled future, a
//! panic) records status `error` with exception type [`PANIC`] (`"Panic"`)
//! when the thread is panicking and [`DROPPED`] (`"Dropped"`) otherwise.
//! A guard records exactly once.
//!
//! Publishing works the same way through [`BrokerMetrics::destination`] and
//! [`DestinationMetrics::publish`]. Every type is `Clone + Send + Sync`;
//! clones share the series.
//!
//! ```
//! use hotmetrics::Registry;
//! use hotmetrics::broker::{Broker, BrokerMetrics};
//!
//! # fn main() -> Result<(), hotmetrics::Error> {
//! let registry = Registry::new();
//! let metrics = BrokerMetrics::builder(Broker::Kafka).app_name("billing").build(&registry)?;
//!
//! let orders = metrics.handler("orders")?;
//! let payments = metrics.destination("payments")?;
//!
//! // The consumer loop.
//! let inbox: Vec<&[u8]> = vec![b"{\"id\":1}", b"{\"id\":2}", b"not json"];
//! for body in inbox {
//!     let msg = orders.receive(body.len());
//!     if body.starts_with(b"{") {
//!         let send = payments.publish();
//!         // ... producer.send(...) ...
//!         send.success();
//!         msg.ack();
//!     } else {
//!         msg.error("ParseError");
//!     }
//! }
//!
//! let mut buf = bytes::BytesMut::new();
//! hotmetrics::text::TextEncoder::new().encode(&registry, &mut buf);
//! let text = std::str::from_utf8(&buf).unwrap();
//! let labels = r#"app_name="billing",broker="kafka",handler="orders""#;
//! assert!(text.contains(&format!("faststream_received_messages_total{{{labels}}} 3\n")));
//! assert!(text.contains(&format!(
//!     "faststream_received_processed_messages_total{{{labels},status=\"acked\"}} 2\n"
//! )));
//! assert!(text.contains(&format!(
//!     "faststream_received_processed_messages_exceptions_total{{{labels},exception_type=\"ParseError\"}} 1\n"
//! )));
//! assert!(text.contains(&format!("faststream_received_messages_in_process{{{labels}}} 0\n")));
//! # Ok(())
//! # }
//! ```
//!
//! [FastStream]: https://faststream.airt.ai/latest/getting-started/observability/prometheus/
//! [`BrokerMetrics`]: crate::broker::BrokerMetrics
//! [`DEFAULT_SIZE_BUCKETS`]: crate::broker::DEFAULT_SIZE_BUCKETS
//! [`DEFAULT_DURATION_BUCKETS`]: crate::broker::DEFAULT_DURATION_BUCKETS
//! [`BrokerMetrics::handler`]: crate::broker::BrokerMetrics::handler
//! [`HandlerMetrics`]: crate::broker::HandlerMetrics
//! [`HandlerMetrics::receive`]: crate::broker::HandlerMetrics::receive
//! [`ProcessingGuard`]: crate::broker::ProcessingGuard
//! [ProcessingGuard::ack]: crate::broker::ProcessingGuard::ack
//! [ProcessingGuard::nack]: crate::broker::ProcessingGuard::nack
//! [ProcessingGuard::reject]: crate::broker::ProcessingGuard::reject
//! [ProcessingGuard::skip]: crate::broker::ProcessingGuard::skip
//! [ProcessingGuard::error]: crate::broker::ProcessingGuard::error
//! [`PANIC`]: crate::broker::PANIC
//! [`DROPPED`]: crate::broker::DROPPED
//! [`BrokerMetrics::destination`]: crate::broker::BrokerMetrics::destination
//! [`DestinationMetrics::publish`]: crate::broker::DestinationMetrics::publish

// The links above name `crate::broker::...` in full: with the outer doc
// comment on `pub mod broker;`, rustdoc resolves them from `lib.rs`.

use crate::{Buckets, Counter, Error, Family, Gauge, Histogram, Registry};
use quanta::Instant;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Size buckets in bytes: 2^4, 2^6, ..., 2^24 (FastStream's
/// `DEFAULT_SIZE_BUCKETS`); `+Inf` is implied.
pub const DEFAULT_SIZE_BUCKETS: [f64; 11] = [
    16.0,
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
];

/// Duration buckets in seconds: the Python client's default buckets, which
/// FastStream uses; `+Inf` is implied.
pub const DEFAULT_DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The default metric name prefix (and app name).
pub const DEFAULT_PREFIX: &str = "faststream";

/// The exception type recorded when a guard is dropped unfinished while its
/// thread is panicking.
pub const PANIC: &str = "Panic";

/// The exception type recorded when a guard is dropped unfinished without a
/// panic (early return, `?`, a cancelled future).
pub const DROPPED: &str = "Dropped";

/// The `broker` label: which messaging system, spelled as FastStream
/// spells it.
///
/// ```
/// use hotmetrics::broker::Broker;
/// assert_eq!(Broker::Kafka.as_str(), "kafka");
/// assert_eq!(Broker::Rabbit.as_str(), "rabbitmq");
/// assert_eq!(Broker::custom("aws_sqs").as_str(), "aws_sqs");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Broker {
    /// `kafka` (FastStream's aiokafka and confluent brokers).
    Kafka,
    /// `rabbitmq`: the value FastStream's RabbitMQ middleware writes.
    Rabbit,
    /// `nats`.
    Nats,
    /// `redis`.
    Redis,
    /// Any other value, written as given.
    Custom(String),
}

impl Broker {
    /// A broker label value of your choosing.
    pub fn custom(name: impl Into<String>) -> Self {
        Self::Custom(name.into())
    }

    /// The label value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Kafka => "kafka",
            Self::Rabbit => "rabbitmq",
            Self::Nats => "nats",
            Self::Redis => "redis",
            Self::Custom(s) => s,
        }
    }
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How processing a received message ended: the `status` label, and for
/// `Error` the `exception_type` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome<'a> {
    /// `acked`.
    Acked,
    /// `nacked`.
    Nacked,
    /// `rejected`.
    Rejected,
    /// `skipped`.
    Skipped,
    /// `error`, with the exception type.
    Error(&'a str),
}

impl Outcome<'_> {
    /// The `status` label value.
    pub fn status(&self) -> &'static str {
        STATUSES[self.index()]
    }

    fn index(&self) -> usize {
        match self {
            Self::Acked => 0,
            Self::Nacked => 1,
            Self::Rejected => 2,
            Self::Skipped => 3,
            Self::Error(_) => 4,
        }
    }
}

/// The receive `status` values, in [`Outcome`] order.
const STATUSES: [&str; 5] = ["acked", "nacked", "rejected", "skipped", "error"];

/// How publishing ended: the `status` label, and for `Error` the
/// `exception_type` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PublishOutcome<'a> {
    /// `success`.
    Success,
    /// `error`, with the exception type.
    Error(&'a str),
}

impl PublishOutcome<'_> {
    /// The `status` label value.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error(_) => "error",
        }
    }
}

fn unfinished() -> &'static str {
    if std::thread::panicking() {
        PANIC
    } else {
        DROPPED
    }
}

/// Configures and registers a [`BrokerMetrics`]; from
/// [`BrokerMetrics::builder`].
#[derive(Clone, Debug)]
pub struct BrokerMetricsBuilder {
    prefix: String,
    app_name: Option<String>,
    broker: Broker,
    size_buckets: Option<Buckets>,
    duration_buckets: Option<Buckets>,
}

impl BrokerMetricsBuilder {
    /// The metric name prefix (default `faststream`): families are named
    /// `{prefix}_received_messages_total` and so on. A prefix of the
    /// registry itself comes in front of this one.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The `app_name` label. Like FastStream, it defaults to the prefix,
    /// so `faststream` unless [`prefix`](Self::prefix) is set.
    pub fn app_name(mut self, app_name: impl Into<String>) -> Self {
        self.app_name = Some(app_name.into());
        self
    }

    /// The `broker` label.
    pub fn broker(mut self, broker: Broker) -> Self {
        self.broker = broker;
        self
    }

    /// Buckets of `received_messages_size_bytes` (default
    /// [`DEFAULT_SIZE_BUCKETS`]).
    pub fn size_buckets(mut self, buckets: Buckets) -> Self {
        self.size_buckets = Some(buckets);
        self
    }

    /// Buckets of both duration histograms (default
    /// [`DEFAULT_DURATION_BUCKETS`]).
    pub fn duration_buckets(mut self, buckets: Buckets) -> Self {
        self.duration_buckets = Some(buckets);
        self
    }

    /// Registers the nine families in `registry`. Fails, registering
    /// nothing, on an invalid prefix or a name already taken (a second
    /// `BrokerMetrics` with the same prefix in the same registry, say).
    pub fn build(self, registry: &Registry) -> Result<BrokerMetrics, Error> {
        crate::validate_metric_name(&self.prefix)?;
        let size_buckets = match self.size_buckets {
            Some(b) => b,
            None => Buckets::new(DEFAULT_SIZE_BUCKETS.to_vec())?,
        };
        let duration_buckets = match self.duration_buckets {
            Some(b) => b,
            None => Buckets::new(DEFAULT_DURATION_BUCKETS.to_vec())?,
        };
        let mut registered = Vec::with_capacity(9);
        let families = register(
            registry,
            &self.prefix,
            size_buckets,
            duration_buckets,
            &mut registered,
        );
        let families = match families {
            Ok(f) => f,
            Err(e) => {
                for name in registered {
                    registry.unregister(&name);
                }
                return Err(e);
            }
        };
        Ok(BrokerMetrics(Arc::new(BrokerInner {
            app_name: self.app_name.unwrap_or_else(|| self.prefix.clone()).into(),
            broker: self.broker,
            prefix: self.prefix.into(),
            families,
        })))
    }
}

const RECEIVE_LABELS: [&str; 3] = ["app_name", "broker", "handler"];
const PUBLISH_LABELS: [&str; 3] = ["app_name", "broker", "destination"];

struct Families {
    received: Family<Counter>,
    size: Family<Histogram>,
    in_process: Family<Gauge>,
    processed: Family<Counter>,
    duration: Family<Histogram>,
    exceptions: Family<Counter>,
    published: Family<Counter>,
    publish_duration: Family<Histogram>,
    publish_exceptions: Family<Counter>,
}

/// Registers the families, pushing each registered name onto `registered`
/// so a failure part-way can be undone.
fn register(
    r: &Registry,
    prefix: &str,
    size_buckets: Buckets,
    duration_buckets: Buckets,
    registered: &mut Vec<String>,
) -> Result<Families, Error> {
    let name = |suffix: &str| format!("{prefix}_{suffix}");
    let with = |base: [&'static str; 3], extra: &'static str| [base[0], base[1], base[2], extra];
    macro_rules! reg {
        ($e:expr) => {{
            let f = $e?;
            registered.push(f.name().to_owned());
            f
        }};
    }
    Ok(Families {
        received: reg!(r.counter_vec(
            (
                name("received_messages_total"),
                "Count of received messages by broker and handler",
            ),
            &RECEIVE_LABELS,
        )),
        size: reg!(r.histogram_vec(
            (
                name("received_messages_size_bytes"),
                "Histogram of received messages size in bytes by broker and handler",
            ),
            size_buckets,
            &RECEIVE_LABELS,
        )),
        in_process: reg!(r.gauge_vec(
            (
                name("received_messages_in_process"),
                "Gauge of received messages in process by broker and handler",
            ),
            &RECEIVE_LABELS,
        )),
        processed: reg!(r.counter_vec(
            (
                name("received_processed_messages_total"),
                "Count of received processed messages by broker, handler and status",
            ),
            &with(RECEIVE_LABELS, "status"),
        )),
        duration: reg!(r.histogram_vec(
            (
                name("received_processed_messages_duration_seconds"),
                "Histogram of received processed messages duration in seconds by broker and handler",
            ),
            duration_buckets.clone(),
            &RECEIVE_LABELS,
        )),
        exceptions: reg!(r.counter_vec(
            (
                name("received_processed_messages_exceptions_total"),
                "Count of received processed messages exceptions by broker, handler and exception_type",
            ),
            &with(RECEIVE_LABELS, "exception_type"),
        )),
        published: reg!(r.counter_vec(
            (
                name("published_messages_total"),
                "Count of published messages by destination and status",
            ),
            &with(PUBLISH_LABELS, "status"),
        )),
        publish_duration: reg!(r.histogram_vec(
            (
                name("published_messages_duration_seconds"),
                "Histogram of published messages duration in seconds by broker and destination",
            ),
            duration_buckets,
            &PUBLISH_LABELS,
        )),
        publish_exceptions: reg!(r.counter_vec(
            (
                name("published_messages_exceptions_total"),
                "Count of published messages exceptions by broker, destination and exception_type",
            ),
            &with(PUBLISH_LABELS, "exception_type"),
        )),
    })
}

/// FastStream's nine broker metric families in one registry, for one app
/// and one broker. Cheap to clone; clones share everything.
///
/// Keep one per process (or per broker connection) and take a
/// [`HandlerMetrics`] per handler and a [`DestinationMetrics`] per
/// destination; the `record_*` methods here look the series up on every
/// call instead, for names only known per message.
#[derive(Clone)]
pub struct BrokerMetrics(Arc<BrokerInner>);

struct BrokerInner {
    app_name: Box<str>,
    broker: Broker,
    prefix: Box<str>,
    families: Families,
}

impl fmt::Debug for BrokerMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerMetrics")
            .field("prefix", &self.0.prefix)
            .field("app_name", &self.0.app_name)
            .field("broker", &self.0.broker)
            .finish_non_exhaustive()
    }
}

impl BrokerMetrics {
    /// A builder for `broker`, with FastStream's defaults: prefix and
    /// app name `faststream`, [`DEFAULT_SIZE_BUCKETS`],
    /// [`DEFAULT_DURATION_BUCKETS`].
    pub fn builder(broker: Broker) -> BrokerMetricsBuilder {
        BrokerMetricsBuilder {
            prefix: DEFAULT_PREFIX.to_owned(),
            app_name: None,
            broker,
            size_buckets: None,
            duration_buckets: None,
        }
    }

    /// Registers the families with FastStream's defaults.
    pub fn new(registry: &Registry, broker: Broker) -> Result<Self, Error> {
        Self::builder(broker).build(registry)
    }

    /// The metric name prefix.
    pub fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// The `app_name` label value.
    pub fn app_name(&self) -> &str {
        &self.0.app_name
    }

    /// The `broker` label.
    pub fn broker(&self) -> &Broker {
        &self.0.broker
    }

    /// The series of the handler (topic, queue, subject) called `handler`,
    /// resolved once: the status counters are created now and appear in
    /// scrapes at 0. Calling it again for the same name shares the series.
    /// Fails only when a family is at its series limit.
    pub fn handler(&self, handler: &str) -> Result<HandlerMetrics, Error> {
        let b = &*self.0;
        let f = &b.families;
        let labels = [&*b.app_name, b.broker.as_str(), handler];
        let status = |s: &str| {
            f.processed
                .get_or_create(&[labels[0], labels[1], labels[2], s])
        };
        Ok(HandlerMetrics(Arc::new(HandlerInner {
            received: f.received.get_or_create(&labels)?,
            size: f.size.get_or_create(&labels)?,
            in_process: f.in_process.get_or_create(&labels)?,
            duration: f.duration.get_or_create(&labels)?,
            processed: [
                status(STATUSES[0])?,
                status(STATUSES[1])?,
                status(STATUSES[2])?,
                status(STATUSES[3])?,
                status(STATUSES[4])?,
            ],
            exceptions: f.exceptions.clone(),
            labels: labels.map(Box::from),
        })))
    }

    /// The series of the destination called `destination`, resolved once:
    /// both status counters are created now. Fails only when a family is at
    /// its series limit.
    pub fn destination(&self, destination: &str) -> Result<DestinationMetrics, Error> {
        let b = &*self.0;
        let f = &b.families;
        let labels = [&*b.app_name, b.broker.as_str(), destination];
        let status = |s: &str| {
            f.published
                .get_or_create(&[labels[0], labels[1], labels[2], s])
        };
        Ok(DestinationMetrics(Arc::new(DestinationInner {
            success: status("success")?,
            error: status("error")?,
            duration: f.publish_duration.get_or_create(&labels)?,
            exceptions: f.publish_exceptions.clone(),
            labels: labels.map(Box::from),
        })))
    }

    /// Records one message of `handler`, start to end, without a guard and
    /// without a handle: everything [`HandlerMetrics::record`] records, with
    /// each series looked up in the calling thread's cache. Errors only at a
    /// family's series limit.
    pub fn record_processed(
        &self,
        handler: &str,
        size_bytes: usize,
        elapsed: Duration,
        outcome: Outcome<'_>,
    ) -> Result<(), Error> {
        let b = &*self.0;
        let f = &b.families;
        let l = [&*b.app_name, b.broker.as_str(), handler];
        f.received.with(&l, |c| c.inc())?;
        f.size.with(&l, |h| h.observe(size_bytes as f64))?;
        f.duration.with(&l, |h| h.observe_duration(elapsed))?;
        f.processed
            .with(&[l[0], l[1], l[2], outcome.status()], |c| c.inc())?;
        if let Outcome::Error(ty) = outcome {
            f.exceptions.with(&[l[0], l[1], l[2], ty], |c| c.inc())?;
        }
        Ok(())
    }

    /// Records one send to `destination` without a guard and without a
    /// handle, as [`DestinationMetrics::record`] does. Errors only at a
    /// family's series limit.
    pub fn record_published(
        &self,
        destination: &str,
        elapsed: Duration,
        outcome: PublishOutcome<'_>,
    ) -> Result<(), Error> {
        let b = &*self.0;
        let f = &b.families;
        let l = [&*b.app_name, b.broker.as_str(), destination];
        f.publish_duration
            .with(&l, |h| h.observe_duration(elapsed))?;
        f.published
            .with(&[l[0], l[1], l[2], outcome.status()], |c| c.inc())?;
        if let PublishOutcome::Error(ty) = outcome {
            f.publish_exceptions
                .with(&[l[0], l[1], l[2], ty], |c| c.inc())?;
        }
        Ok(())
    }
}

/// One handler's series, resolved; from [`BrokerMetrics::handler`]. Cheap
/// to clone (one reference count); clones share the series.
#[derive(Clone)]
pub struct HandlerMetrics(Arc<HandlerInner>);

#[derive(Debug)]
struct HandlerInner {
    received: Counter,
    size: Histogram,
    in_process: Gauge,
    duration: Histogram,
    /// By [`Outcome::index`].
    processed: [Counter; 5],
    exceptions: Family<Counter>,
    /// app_name, broker, handler.
    labels: [Box<str>; 3],
}

impl fmt::Debug for HandlerMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerMetrics")
            .field("labels", &self.0.labels)
            .finish_non_exhaustive()
    }
}

impl HandlerInner {
    #[inline]
    fn start(&self, count: u64, size_bytes: usize) {
        self.received.inc_by(count);
        self.size.observe(size_bytes as f64);
        self.in_process.add(count as i64);
    }

    /// Everything but the in-process gauge.
    #[inline]
    fn processed(&self, count: u64, elapsed: Duration, outcome: Outcome<'_>) {
        if let Outcome::Error(ty) = outcome {
            self.exception(ty);
        }
        self.duration.observe_duration(elapsed);
        self.processed[outcome.index()].inc_by(count);
    }

    #[inline]
    fn finish(&self, count: u64, elapsed: Duration, outcome: Outcome<'_>) {
        self.processed(count, elapsed, outcome);
        self.in_process.sub(count as i64);
    }

    fn exception(&self, ty: &str) {
        let [a, b, h] = &self.labels;
        // Only a full family can refuse, and then the error is still
        // counted under `status="error"`.
        let _ = self.exceptions.with(&[&**a, &**b, &**h, ty], |c| c.inc());
    }
}

impl HandlerMetrics {
    /// The handler label value.
    pub fn name(&self) -> &str {
        &self.0.labels[2]
    }

    /// A message of `size_bytes` arrived: counts it, observes its size,
    /// raises the in-process gauge and starts the clock. Finish the guard
    /// with the outcome; dropping it unfinished records `error`.
    #[inline]
    #[must_use = "dropping the guard records the message as an error"]
    pub fn receive(&self, size_bytes: usize) -> ProcessingGuard<'_> {
        self.receive_batch(1, size_bytes)
    }

    /// A batch of `count` messages of `total_size_bytes` arrived, handled
    /// in one go (FastStream's batch subscribers): received, in-process and
    /// processed move by `count`, the size and the duration are observed
    /// once, an error counts one exception.
    #[inline]
    #[must_use = "dropping the guard records the batch as an error"]
    pub fn receive_batch(&self, count: u64, total_size_bytes: usize) -> ProcessingGuard<'_> {
        self.0.start(count, total_size_bytes);
        ProcessingGuard {
            handler: &self.0,
            start: Instant::now(),
            count,
            armed: true,
        }
    }

    /// Records one message after the fact, for code that times processing
    /// itself: received, size, processed with the outcome's status,
    /// duration, and the exception for an error. The in-process gauge is
    /// not touched (it only means something while processing).
    #[inline]
    pub fn record(&self, size_bytes: usize, elapsed: Duration, outcome: Outcome<'_>) {
        self.0.received.inc();
        self.0.size.observe(size_bytes as f64);
        self.0.processed(1, elapsed, outcome);
    }
}

/// A message being processed; from [`HandlerMetrics::receive`]. Finish it
/// with one of [`ack`](Self::ack), [`nack`](Self::nack),
/// [`reject`](Self::reject), [`skip`](Self::skip), [`error`](Self::error)
/// or [`finish`](Self::finish). Dropped unfinished, it records status
/// `error` with exception type [`PANIC`] or [`DROPPED`].
#[derive(Debug)]
pub struct ProcessingGuard<'h> {
    handler: &'h HandlerInner,
    start: Instant,
    count: u64,
    armed: bool,
}

impl ProcessingGuard<'_> {
    /// Time since the message was received.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records `outcome`, the duration, and lowers the in-process gauge.
    #[inline]
    pub fn finish(mut self, outcome: Outcome<'_>) {
        self.armed = false;
        self.handler
            .finish(self.count, self.start.elapsed(), outcome);
    }

    /// Status `acked`.
    #[inline]
    pub fn ack(self) {
        self.finish(Outcome::Acked);
    }

    /// Status `nacked`.
    #[inline]
    pub fn nack(self) {
        self.finish(Outcome::Nacked);
    }

    /// Status `rejected`.
    #[inline]
    pub fn reject(self) {
        self.finish(Outcome::Rejected);
    }

    /// Status `skipped`.
    #[inline]
    pub fn skip(self) {
        self.finish(Outcome::Skipped);
    }

    /// Status `error`, and one exception of `exception_type`.
    #[inline]
    pub fn error(self, exception_type: &str) {
        self.finish(Outcome::Error(exception_type));
    }
}

impl Drop for ProcessingGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.handler.finish(
                self.count,
                self.start.elapsed(),
                Outcome::Error(unfinished()),
            );
        }
    }
}

/// One destination's series, resolved; from
/// [`BrokerMetrics::destination`]. Cheap to clone; clones share the series.
#[derive(Clone)]
pub struct DestinationMetrics(Arc<DestinationInner>);

#[derive(Debug)]
struct DestinationInner {
    success: Counter,
    error: Counter,
    duration: Histogram,
    exceptions: Family<Counter>,
    /// app_name, broker, destination.
    labels: [Box<str>; 3],
}

impl fmt::Debug for DestinationMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DestinationMetrics")
            .field("labels", &self.0.labels)
            .finish_non_exhaustive()
    }
}

impl DestinationInner {
    #[inline]
    fn finish(&self, count: u64, elapsed: Duration, outcome: PublishOutcome<'_>) {
        self.duration.observe_duration(elapsed);
        match outcome {
            PublishOutcome::Success => self.success.inc_by(count),
            PublishOutcome::Error(ty) => {
                self.error.inc_by(count);
                let [a, b, d] = &self.labels;
                // Only a full family can refuse; the send is still counted
                // under `status="error"`.
                let _ = self.exceptions.with(&[&**a, &**b, &**d, ty], |c| c.inc());
            }
        }
    }
}

impl DestinationMetrics {
    /// The destination label value.
    pub fn name(&self) -> &str {
        &self.0.labels[2]
    }

    /// A send starts: the clock runs until the guard is finished.
    #[inline]
    #[must_use = "dropping the guard records the send as an error"]
    pub fn publish(&self) -> PublishGuard<'_> {
        self.publish_batch(1)
    }

    /// A send of `count` messages at once: `published_messages_total`
    /// moves by `count`, the duration is observed once, an error counts one
    /// exception.
    #[inline]
    #[must_use = "dropping the guard records the send as an error"]
    pub fn publish_batch(&self, count: u64) -> PublishGuard<'_> {
        PublishGuard {
            destination: &self.0,
            start: Instant::now(),
            count,
            armed: true,
        }
    }

    /// Records one send after the fact, for code that times it itself.
    #[inline]
    pub fn record(&self, elapsed: Duration, outcome: PublishOutcome<'_>) {
        self.0.finish(1, elapsed, outcome);
    }
}

/// A send in progress; from [`DestinationMetrics::publish`]. Finish it with
/// [`success`](Self::success) or [`error`](Self::error); dropped
/// unfinished, it records status `error` with exception type [`PANIC`] or
/// [`DROPPED`].
#[derive(Debug)]
pub struct PublishGuard<'d> {
    destination: &'d DestinationInner,
    start: Instant,
    count: u64,
    armed: bool,
}

impl PublishGuard<'_> {
    /// Time since the send started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records `outcome` and the duration.
    #[inline]
    pub fn finish(mut self, outcome: PublishOutcome<'_>) {
        self.armed = false;
        self.destination
            .finish(self.count, self.start.elapsed(), outcome);
    }

    /// Status `success`.
    #[inline]
    pub fn success(self) {
        self.finish(PublishOutcome::Success);
    }

    /// Status `error`, and one exception of `exception_type`.
    #[inline]
    pub fn error(self, exception_type: &str) {
        self.finish(PublishOutcome::Error(exception_type));
    }
}

impl Drop for PublishGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.destination.finish(
                self.count,
                self.start.elapsed(),
                PublishOutcome::Error(unfinished()),
            );
        }
    }
}
