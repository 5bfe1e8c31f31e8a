//! The nine families, with FastStream's names, labels, help texts and
//! buckets; the builder that registers them (or finds them registered);
//! the `broker` label; custom labels.

use crate::shared;
use hotmetrics_core::{Buckets, Counter, Error, Family, Gauge, Histogram, Opts, Registry};
use std::fmt;
use std::sync::{Arc, Mutex};
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
/// assert_eq!(Broker::Mqtt.as_str(), "mqtt");
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
    /// `mqtt` (FastStream's MQTT broker).
    Mqtt,
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
            Self::Mqtt => "mqtt",
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
    /// Custom labels with one value for every series.
    static_labels: Vec<(String, String)>,
    /// Custom labels whose values each handle is resolved with.
    per_message_labels: Vec<String>,
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

    /// A custom label with one value on every series of all nine
    /// families (FastStream's `custom_labels={"env": "prod"}`). Custom
    /// labels come after FastStream's own, in the order given, static ones
    /// first.
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.static_labels.push((name.into(), value.into()));
        self
    }

    /// A custom label whose value is computed per message (FastStream's
    /// `custom_labels={"tenant": lambda msg: ...}`): each handle is resolved
    /// with its values, in declaration order,
    /// ([`BrokerMetrics::handler_with`], [`BrokerMetrics::destination_with`]),
    /// and the client wrappers compute them per message with the closure
    /// they are given. A wrong number of values is an
    /// [`Error::LabelCount`], never a panic.
    pub fn per_message_label(mut self, name: impl Into<String>) -> Self {
        self.per_message_labels.push(name.into());
        self
    }

    /// Expires the series of a handler or destination once they have not
    /// changed for `after` (see
    /// [`Opts::expire_after`](hotmetrics_core::Opts::expire_after)): for
    /// handler and destination names that come from outside, such as
    /// reply queues or per-tenant topics. Without it the families follow
    /// the registry's default
    /// ([`RegistryBuilder::expire_after`](hotmetrics_core::RegistryBuilder::expire_after)).
    /// The lag gauge never expires: it is set to what the broker reports,
    /// often the same value for hours.
    ///
    /// `received_messages_in_process` is a gauge: while one message takes
    /// longer than `after`, the gauge stays at its value and expires; it
    /// comes back when the message is done. Pick `after` well above the
    /// longest handling time. `BrokerMetrics` sharing the families of an
    /// earlier one must ask for the same expiry.
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

    /// Registers the nine families in `registry`, or takes the ones a
    /// `BrokerMetrics` with the same prefix registered there before (for
    /// another broker, say: FastStream's Kafka and RabbitMQ middlewares
    /// share them in one registry the same way; `broker` is a label).
    ///
    /// Fails, registering nothing, on an invalid prefix or label name, a
    /// name taken by a metric that is not these families, or with
    /// [`Error::AlreadyRegistered`] when the families already registered
    /// for this prefix have other custom label names, other buckets or
    /// another [`expire_after`](Self::expire_after).
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
        let custom: Box<[Box<str>]> = self
            .static_labels
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(self.per_message_labels.iter().map(String::as_str))
            .map(Box::from)
            .collect();
        let families = shared::families(registry, &self.prefix, || {
            Families::register(
                registry,
                &self.prefix,
                &custom,
                size_buckets.clone(),
                duration_buckets.clone(),
                self.expire_after,
            )
        })?;
        if families.custom != custom
            || families.size_buckets != size_buckets
            || families.duration_buckets != duration_buckets
            || families.expire_after != self.expire_after
        {
            return Err(Error::AlreadyRegistered {
                name: format!("{}_received_messages_total", self.prefix),
                metric_type: hotmetrics_core::MetricType::Counter,
                existing: format!(
                    "the {}_* broker families, with custom labels {} where {} were asked \
                     for, or with other buckets or expiry",
                    self.prefix,
                    names(&families.custom),
                    names(&custom)
                ),
                existing_type: hotmetrics_core::MetricType::Counter,
                sample: None,
            });
        }
        Ok(BrokerMetrics(Arc::new(BrokerInner {
            registry: registry.clone(),
            app_name: self.app_name.unwrap_or_else(|| self.prefix.clone()).into(),
            broker: self.broker,
            prefix: self.prefix.into(),
            static_values: self
                .static_labels
                .into_iter()
                .map(|(_, v)| v.into())
                .collect(),
            per_message: self.per_message_labels.len(),
            families,
        })))
    }
}

/// `a, b` for label names, `none` for none.
fn names(labels: &[Box<str>]) -> String {
    if labels.is_empty() {
        "none".to_owned()
    } else {
        labels.join(", ")
    }
}

const RECEIVE_LABELS: [&str; 3] = ["app_name", "broker", "handler"];
const PUBLISH_LABELS: [&str; 3] = ["app_name", "broker", "destination"];

/// The nine families; `receive.rs` and `publish.rs` resolve their series.
pub(crate) struct Families {
    /// The custom label names, static ones first.
    pub(crate) custom: Box<[Box<str>]>,
    size_buckets: Buckets,
    duration_buckets: Buckets,
    expire_after: Option<Duration>,
    /// The lag gauge family (our extension), registered on first use.
    pub(crate) lag: Mutex<Option<Family<Gauge>>>,
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

impl Families {
    /// Registers the families, or none of them.
    fn register(
        r: &Registry,
        prefix: &str,
        custom: &[Box<str>],
        size_buckets: Buckets,
        duration_buckets: Buckets,
        expire_after: Option<Duration>,
    ) -> Result<Self, Error> {
        let mut registered = Vec::with_capacity(9);
        let families = register(
            r,
            prefix,
            custom,
            size_buckets,
            duration_buckets,
            expire_after,
            &mut registered,
        );
        if families.is_err() {
            for name in registered {
                r.unregister(&name);
            }
        }
        families
    }
}

/// Registers the families, pushing each registered name onto `registered`
/// so a failure part-way can be undone.
fn register(
    r: &Registry,
    prefix: &str,
    custom: &[Box<str>],
    size_buckets: Buckets,
    duration_buckets: Buckets,
    expire_after: Option<Duration>,
    registered: &mut Vec<String>,
) -> Result<Families, Error> {
    let name = |suffix: &str, help: &str| {
        let opts = Opts::new(format!("{prefix}_{suffix}"), help);
        match expire_after {
            Some(after) => opts.expire_after(after),
            None => opts,
        }
    };
    // FastStream's label names, then the custom ones.
    let with = |base: [&'static str; 3], extra: Option<&'static str>| -> Vec<&str> {
        base.into_iter()
            .chain(extra)
            .chain(custom.iter().map(|c| &**c))
            .collect()
    };
    let receive = with(RECEIVE_LABELS, None);
    let publish = with(PUBLISH_LABELS, None);
    macro_rules! reg {
        ($e:expr) => {{
            let f = $e?;
            registered.push(f.name().to_owned());
            f
        }};
    }
    Ok(Families {
        custom: custom.into(),
        lag: Mutex::new(None),
        size_buckets: size_buckets.clone(),
        duration_buckets: duration_buckets.clone(),
        expire_after,
        received: reg!(r.counter_vec(
            name("received_messages_total", "Count of received messages by broker and handler"),
            &receive,
        )),
        size: reg!(r.histogram_vec(
            name("received_messages_size_bytes", "Histogram of received messages size in bytes by broker and handler"),
            size_buckets,
            &receive,
        )),
        in_process: reg!(r.gauge_vec(
            name("received_messages_in_process", "Gauge of received messages in process by broker and handler"),
            &receive,
        )),
        processed: reg!(r.counter_vec(
            name("received_processed_messages_total", "Count of received processed messages by broker, handler and status"),
            &with(RECEIVE_LABELS, Some("status")),
        )),
        duration: reg!(r.histogram_vec(
            name("received_processed_messages_duration_seconds", "Histogram of received processed messages duration in seconds by broker and handler"),
            duration_buckets.clone(),
            &receive,
        )),
        exceptions: reg!(r.counter_vec(
            name("received_processed_messages_exceptions_total", "Count of received processed messages exceptions by broker, handler and exception_type"),
            &with(RECEIVE_LABELS, Some("exception_type")),
        )),
        published: reg!(r.counter_vec(
            name("published_messages_total", "Count of published messages by destination and status"),
            &with(PUBLISH_LABELS, Some("status")),
        )),
        publish_duration: reg!(r.histogram_vec(
            name("published_messages_duration_seconds", "Histogram of published messages duration in seconds by broker and destination"),
            duration_buckets,
            &publish,
        )),
        publish_exceptions: reg!(r.counter_vec(
            name("published_messages_exceptions_total", "Count of published messages exceptions by broker, destination and exception_type"),
            &with(PUBLISH_LABELS, Some("exception_type")),
        )),
    })
}

/// FastStream's nine broker metric families in one registry, for one app
/// and one broker. Cheap to clone; clones share everything.
///
/// `BrokerMetrics` for other brokers (or app names, or static custom label
/// values) built on the same registry and prefix share the families, as
/// FastStream's middlewares do:
///
/// ```
/// use hotmetrics_broker::{Broker, BrokerMetrics};
/// use hotmetrics_core::Registry;
///
/// # fn main() -> Result<(), hotmetrics_core::Error> {
/// let registry = Registry::new();
/// let kafka = BrokerMetrics::new(&registry, Broker::Kafka)?;
/// let rabbit = BrokerMetrics::new(&registry, Broker::Rabbit)?; // no AlreadyRegistered
/// kafka.handler("orders")?.receive(2).ack();
/// rabbit.handler("default.orders")?.receive(2).ack();
/// let received = |broker, handler| {
///     let labels = [("app_name", "faststream"), ("broker", broker), ("handler", handler)];
///     registry.snapshot().counter("faststream_received_messages", &labels)
/// };
/// assert_eq!(received("kafka", "orders"), Some(1.0));
/// assert_eq!(received("rabbitmq", "default.orders"), Some(1.0));
/// assert_eq!(registry.family_names().len(), 9);
/// # Ok(())
/// # }
/// ```
///
/// Keep one per process (or per broker connection) and take a
/// [`HandlerMetrics`](crate::HandlerMetrics) per handler and a
/// [`DestinationMetrics`](crate::DestinationMetrics) per destination; the `record_*` methods here look the series up on every
/// call instead, for names only known per message.
#[derive(Clone)]
pub struct BrokerMetrics(Arc<BrokerInner>);

struct BrokerInner {
    /// Where the lag family is registered on first use.
    registry: Registry,
    app_name: Box<str>,
    broker: Broker,
    prefix: Box<str>,
    /// The values of the static custom labels.
    static_values: Box<[Box<str>]>,
    /// How many per-message custom labels follow them.
    per_message: usize,
    families: Arc<Families>,
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
            static_labels: Vec::new(),
            per_message_labels: Vec::new(),
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

    /// The label values of a handler or destination called `name` with
    /// the per-message custom label values `values`: app name, broker,
    /// name, then the custom values (static, then `values`). Fails with
    /// [`Error::LabelCount`] on a wrong number of values.
    pub(crate) fn labels<'a>(
        &'a self,
        name: &'a str,
        values: &[&'a str],
    ) -> Result<SeriesLabels<'a>, Error> {
        if values.len() != self.0.per_message {
            let f = &self.0.families;
            return Err(Error::LabelCount {
                family: f.received.name().to_owned(),
                expected: f.custom[f.custom.len() - self.0.per_message..]
                    .iter()
                    .map(|n| n.to_string())
                    .collect(),
                got: values.len(),
            });
        }
        let base = [&*self.0.app_name, self.0.broker.as_str(), name];
        let custom = self.0.static_values.iter().map(|v| &**v);
        Ok(SeriesLabels {
            base,
            custom: custom.chain(values.iter().copied()).collect(),
        })
    }

    pub(crate) fn families(&self) -> &Families {
        &self.0.families
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.0.registry
    }

    #[cfg(test)]
    pub(crate) fn families_arc(&self) -> &Arc<Families> {
        &self.0.families
    }
}

/// The label values of one handler's or destination's series.
pub(crate) struct SeriesLabels<'a> {
    /// app_name, broker, handler or destination.
    base: [&'a str; 3],
    /// The custom label values.
    custom: Vec<&'a str>,
}

impl<'a> SeriesLabels<'a> {
    /// The values of a family without an extra label.
    pub(crate) fn plain(&self) -> Vec<&'a str> {
        self.base.iter().chain(&self.custom).copied().collect()
    }

    /// The values of a family with `status` or `exception_type`: `extra`
    /// comes after the first three, before the custom ones.
    pub(crate) fn with(&self, extra: &'a str) -> Vec<&'a str> {
        self.base
            .iter()
            .chain(std::iter::once(&extra))
            .chain(&self.custom)
            .copied()
            .collect()
    }

    /// Owned, for the exception lookups of the guards.
    pub(crate) fn owned(&self) -> OwnedLabels {
        OwnedLabels(self.plain().into_iter().map(Box::from).collect())
    }
}

/// A series' label values, owned: app_name, broker, handler or
/// destination, then the custom values.
#[derive(Clone, Debug)]
pub(crate) struct OwnedLabels(Box<[Box<str>]>);

/// Label values on the stack up to this many; more take one allocation.
const STACK_LABELS: usize = 8;

impl OwnedLabels {
    /// The handler or destination.
    pub(crate) fn name(&self) -> &str {
        &self.0[2]
    }

    /// Calls `f` with the values of a family with `extra` (an exception
    /// type) after the first three: no allocation for up to
    /// [`STACK_LABELS`] values.
    #[inline]
    pub(crate) fn with_extra<R>(&self, extra: &str, f: impl FnOnce(&[&str]) -> R) -> R {
        let values = self.0[..3]
            .iter()
            .map(|v| &**v)
            .chain(std::iter::once(extra))
            .chain(self.0[3..].iter().map(|v| &**v));
        if self.0.len() < STACK_LABELS {
            let mut buf = [""; STACK_LABELS];
            let mut n = 0;
            for (slot, v) in buf.iter_mut().zip(values) {
                *slot = v;
                n += 1;
            }
            f(&buf[..n])
        } else {
            f(&values.collect::<Vec<_>>())
        }
    }
}
