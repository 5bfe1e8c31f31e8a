//! The nine families, with FastStream's names, labels, help texts and
//! buckets; the builder that registers them; the `broker` label.

use hotmetrics_core::{Buckets, Counter, Error, Family, Gauge, Histogram, Opts, Registry};
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

/// The `broker` label: which messaging system, spelled as FastStream
/// spells it.
///
/// ```
/// use hotmetrics_broker::Broker;
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

/// Configures and registers a [`BrokerMetrics`]; from
/// [`BrokerMetrics::builder`].
#[derive(Clone, Debug)]
pub struct BrokerMetricsBuilder {
    prefix: String,
    app_name: Option<String>,
    broker: Broker,
    size_buckets: Option<Buckets>,
    duration_buckets: Option<Buckets>,
    expire_after: Option<Duration>,
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

    /// Expires the series of a handler or destination once they have not
    /// changed for `after` (see
    /// [`Opts::expire_after`](hotmetrics_core::Opts::expire_after)): for
    /// handler and destination names that come from outside, such as
    /// reply queues or per-tenant topics. Without it the families follow
    /// the registry's default
    /// ([`RegistryBuilder::expire_after`](hotmetrics_core::RegistryBuilder::expire_after)).
    ///
    /// `received_messages_in_process` is a gauge: while one message takes
    /// longer than `after`, the gauge stays at its value and expires; it
    /// comes back when the message is done. Pick `after` well above the
    /// longest handling time.
    ///
    /// ```
    /// use hotmetrics_broker::{Broker, BrokerMetrics, PublishOutcome};
    /// use hotmetrics_core::Registry;
    /// use std::time::Duration;
    ///
    /// let registry = Registry::new();
    /// let metrics = BrokerMetrics::builder(Broker::Kafka)
    ///     .expire_after(Duration::ZERO)
    ///     .build(&registry)
    ///     .unwrap();
    /// metrics
    ///     .record_published("replies-7f3a", Duration::from_millis(3), PublishOutcome::Success)
    ///     .unwrap();
    /// registry.expire_idle();
    /// assert_eq!(registry.expire_idle(), 2, "the destination's counter and histogram");
    /// let snap = registry.snapshot();
    /// assert!(snap.family("faststream_published_messages").unwrap().series.is_empty());
    /// ```
    pub fn expire_after(mut self, after: Duration) -> Self {
        self.expire_after = Some(after);
        self
    }

    /// Registers the nine families in `registry`. Fails, registering
    /// nothing, on an invalid prefix or a name already taken (a second
    /// `BrokerMetrics` with the same prefix in the same registry, say).
    pub fn build(self, registry: &Registry) -> Result<BrokerMetrics, Error> {
        hotmetrics_core::validate_metric_name(&self.prefix)?;
        let size_buckets = match self.size_buckets {
            Some(b) => b,
            None => Buckets::new(DEFAULT_SIZE_BUCKETS.to_vec())?,
        };
        let duration_buckets = match self.duration_buckets {
            Some(b) => b,
            None => Buckets::new(DEFAULT_DURATION_BUCKETS.to_vec())?,
        };
        let mut registered = Vec::with_capacity(9);
        let expire_after = self.expire_after;
        let opts = |name: String, help: &str| {
            let opts = Opts::new(name, help);
            match expire_after {
                Some(after) => opts.expire_after(after),
                None => opts,
            }
        };
        let families = register(
            registry,
            &self.prefix,
            size_buckets,
            duration_buckets,
            &opts,
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

/// The nine families; `receive.rs` and `publish.rs` resolve their series.
pub(crate) struct Families {
    pub(crate) received: Family<Counter>,
    pub(crate) size: Family<Histogram>,
    pub(crate) in_process: Family<Gauge>,
    pub(crate) processed: Family<Counter>,
    pub(crate) duration: Family<Histogram>,
    pub(crate) exceptions: Family<Counter>,
    pub(crate) published: Family<Counter>,
    pub(crate) publish_duration: Family<Histogram>,
    pub(crate) publish_exceptions: Family<Counter>,
}

/// Registers the families, pushing each registered name onto `registered`
/// so a failure part-way can be undone.
fn register(
    r: &Registry,
    prefix: &str,
    size_buckets: Buckets,
    duration_buckets: Buckets,
    opts: &dyn Fn(String, &str) -> Opts,
    registered: &mut Vec<String>,
) -> Result<Families, Error> {
    let name = |suffix: &str, help: &str| opts(format!("{prefix}_{suffix}"), help);
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
            name("received_messages_total", "Count of received messages by broker and handler"),
            &RECEIVE_LABELS,
        )),
        size: reg!(r.histogram_vec(
            name("received_messages_size_bytes", "Histogram of received messages size in bytes by broker and handler"),
            size_buckets,
            &RECEIVE_LABELS,
        )),
        in_process: reg!(r.gauge_vec(
            name("received_messages_in_process", "Gauge of received messages in process by broker and handler"),
            &RECEIVE_LABELS,
        )),
        processed: reg!(r.counter_vec(
            name("received_processed_messages_total", "Count of received processed messages by broker, handler and status"),
            &with(RECEIVE_LABELS, "status"),
        )),
        duration: reg!(r.histogram_vec(
            name("received_processed_messages_duration_seconds", "Histogram of received processed messages duration in seconds by broker and handler"),
            duration_buckets.clone(),
            &RECEIVE_LABELS,
        )),
        exceptions: reg!(r.counter_vec(
            name("received_processed_messages_exceptions_total", "Count of received processed messages exceptions by broker, handler and exception_type"),
            &with(RECEIVE_LABELS, "exception_type"),
        )),
        published: reg!(r.counter_vec(
            name("published_messages_total", "Count of published messages by destination and status"),
            &with(PUBLISH_LABELS, "status"),
        )),
        publish_duration: reg!(r.histogram_vec(
            name("published_messages_duration_seconds", "Histogram of published messages duration in seconds by broker and destination"),
            duration_buckets,
            &PUBLISH_LABELS,
        )),
        publish_exceptions: reg!(r.counter_vec(
            name("published_messages_exceptions_total", "Count of published messages exceptions by broker, destination and exception_type"),
            &with(PUBLISH_LABELS, "exception_type"),
        )),
    })
}

/// FastStream's nine broker metric families in one registry, for one app
/// and one broker. Cheap to clone; clones share everything.
///
/// Keep one per process (or per broker connection) and take a
/// [`HandlerMetrics`](crate::HandlerMetrics) per handler and a
/// [`DestinationMetrics`](crate::DestinationMetrics) per destination; the `record_*` methods here look the series up on every
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
            expire_after: None,
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

    /// `[app_name, broker, name]`: the labels every series of a handler or
    /// destination called `name` starts with.
    pub(crate) fn labels<'a>(&'a self, name: &'a str) -> [&'a str; 3] {
        [&self.0.app_name, self.0.broker.as_str(), name]
    }

    pub(crate) fn families(&self) -> &Families {
        &self.0.families
    }
}
