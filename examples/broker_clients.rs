//! A real consumer on a real local broker, RabbitMQ (lapin), NATS
//! JetStream (async-nats), a Redis stream consumer group (redis) or MQTT
//! (rumqttc), or on librdkafka's in-process mock Kafka cluster
//! (`--broker kafka-mock`, rdkafka's `MockCluster`: no server), instrumented by wrapping the client's consumer and publisher
//! (one line each), serving `/metrics` with FastStream's names, so Grafana
//! dashboard 22130 works as is.
//!
//! ```sh
//! # ./test.sh --setup installs rabbitmq-server, nats-server, redis-server
//! # and mosquitto; start one:
//! nats-server -js &
//! cargo run --release --example broker_clients \
//!     --features http,broker-lapin,broker-nats,broker-redis,broker-mqtt,broker-kafka -- --broker nats
//! curl -s http://127.0.0.1:9464/metrics | grep ^faststream_
//! ```
//!
//! One program for every broker: the traffic it produces, the outcome
//! mix, `/metrics`, the reports and the shutdown are written once
//! (`serve`); each broker's module opens its client and gives the
//! calls the loop makes (a `Consumer` that receives and reports the lag,
//! its `Delivery`s' settle calls, a `Publisher`).
//!
//! Unless `--no-produce`, it produces its own traffic: a task publishes a
//! numbered message every `--interval-ms` through the metered publisher
//! (to the queue `hotmetrics-example` through the default exchange, to
//! the subject `hotmetrics.example.orders` of the JetStream stream
//! `HOTMETRICS_EXAMPLE`, with `XADD` to the stream `hotmetrics-example`
//! read by its group `broker_clients`, or to the MQTT topic
//! `hotmetrics/example/orders`, QoS 1, or to the Kafka topic
//! `hotmetrics-example` of the mock cluster, read by the group
//! `broker_clients`), and after every 20th message one that is refused,
//! so that the publish side has errors too (`status="error"` and an
//! exception): a mandatory RabbitMQ message no queue is bound for
//! (returned: `PublishError`), a subject no JetStream stream takes
//! (`StreamNotFound`), an `XADD` to a key that holds a string
//! (`WRONGTYPE`), an MQTT topic with a wildcard (refused by the client:
//! `InvalidTopic`), a Kafka message over the producer's
//! `message.max.bytes` (`MessageSizeTooLarge`). The consumer settles message `n`
//! by `n % 10`: 0-5 ack, 6 exception `DecodeError` then reject, 7 nack
//! (NATS: nak, to be redelivered a second later and acked then), 8 reject
//! (NATS: term), 9 ack then exception `ValueError` (status `acked`, one
//! exception). Redis has no negative ack: a nacked or rejected entry is
//! recorded so and stays pending in the group, as in FastStream. MQTT's
//! nack sends nothing and its reject acks; the messages to be nacked are
//! published at QoS 0, so that the ones never acked do not fill the
//! broker's in-flight window (mosquitto's `max_inflight_messages`, 20).
//! Kafka's ack and reject commit the offset (reject counts `acked`, as in
//! FastStream), its nack seeks back: the message comes again and is acked
//! then.
//! Every two seconds it prints the processed totals by status and the lag
//! the broker reports (`faststream_consumer_lag_messages`, our extension;
//! the Redis group's `lag` from `XINFO GROUPS`; Kafka's high watermark
//! minus the committed offset; MQTT reports none).

use futures_util::StreamExt;
use hotmetrics::broker::{Broker, BrokerMetrics, Status};
use hotmetrics::http::{DEFAULT_ADDR, Server};
use hotmetrics::{Registry, Snapshot, ValueSnapshot};
use std::collections::HashSet;
use std::error::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: broker_clients --broker rabbitmq|nats|redis|mqtt|kafka-mock [--url URL] [--addr HOST:PORT] [--seconds N]
                      [--interval-ms N] [--no-produce]

  --broker rabbitmq|nats|redis|mqtt|kafka-mock
                          the broker and client: lapin, async-nats (JetStream),
                          redis (a stream consumer group), rumqttc, or rdkafka on
                          librdkafka's in-process mock cluster (no --url)
  --url URL               the broker (default HOTMETRICS_RABBITMQ_URL / HOTMETRICS_NATS_URL /
                          HOTMETRICS_REDIS_URL / HOTMETRICS_MQTT_URL, else
                          amqp://127.0.0.1:5672/%2f / nats://127.0.0.1:4222 /
                          redis://127.0.0.1:6379 / mqtt://127.0.0.1:1883)
  --addr HOST:PORT        where /metrics is served (default 127.0.0.1:9464; port 0 picks one)
  --seconds N             stop after N seconds (default: run until killed)
  --interval-ms N         one message produced every N milliseconds (default 5)
  --no-produce            consume only what others publish
  --help                  this text";

const QUEUE: &str = "hotmetrics-example";
const STREAM: &str = "HOTMETRICS_EXAMPLE";
const SUBJECT: &str = "hotmetrics.example.orders";
const TOPIC: &str = "hotmetrics/example/orders";
const GROUP: &str = "broker_clients";
const REPORT_EVERY: Duration = Duration::from_secs(2);
/// How long one receive waits for a message.
const POLL: Duration = Duration::from_millis(200);
/// After every this many messages, one that is refused.
const REFUSED_EVERY: u64 = 20;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Rabbit,
    Nats,
    Redis,
    Mqtt,
    KafkaMock,
}

#[derive(Debug)]
struct Config {
    kind: Kind,
    url: String,
    addr: SocketAddr,
    seconds: Option<u64>,
    interval: Duration,
    produce: bool,
}

/// What the consumer does with message `n`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Plan {
    Ack,
    RejectAfterError,
    Nack,
    Reject,
    AckThenError,
}

fn plan(n: u64) -> Plan {
    match n % 10 {
        0..=5 => Plan::Ack,
        6 => Plan::RejectAfterError,
        7 => Plan::Nack,
        8 => Plan::Reject,
        _ => Plan::AckThenError,
    }
}

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Some(c)) => c,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("broker_clients: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("broker_clients: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("broker_clients: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> std::result::Result<Option<Config>, String> {
    let mut kind = None;
    let mut url = None;
    let mut config = Config {
        kind: Kind::Rabbit,
        url: String::new(),
        addr: DEFAULT_ADDR,
        seconds: None,
        interval: Duration::from_millis(5),
        produce: true,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--no-produce" => config.produce = false,
            "--broker" => {
                kind = Some(match value("--broker")?.as_str() {
                    "rabbitmq" => Kind::Rabbit,
                    "nats" => Kind::Nats,
                    "redis" => Kind::Redis,
                    "mqtt" => Kind::Mqtt,
                    "kafka-mock" => Kind::KafkaMock,
                    other => {
                        return Err(format!(
                            "--broker {other:?}: rabbitmq, nats, redis, mqtt or kafka-mock"
                        ));
                    }
                })
            }
            "--url" => url = Some(value("--url")?),
            "--addr" => {
                let v = value("--addr")?;
                config.addr = v.parse().map_err(|e| format!("--addr {v:?}: {e}"))?;
            }
            "--seconds" => {
                let v = value("--seconds")?;
                config.seconds = Some(v.parse().map_err(|e| format!("--seconds {v:?}: {e}"))?);
            }
            "--interval-ms" => {
                let v = value("--interval-ms")?;
                let ms: u64 = v.parse().map_err(|e| format!("--interval-ms {v:?}: {e}"))?;
                config.interval = Duration::from_millis(ms.max(1));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    config.kind = kind.ok_or("--broker is required")?;
    let (var, default) = match config.kind {
        Kind::Rabbit => ("HOTMETRICS_RABBITMQ_URL", "amqp://127.0.0.1:5672/%2f"),
        Kind::Nats => ("HOTMETRICS_NATS_URL", "nats://127.0.0.1:4222"),
        Kind::Redis => ("HOTMETRICS_REDIS_URL", "redis://127.0.0.1:6379"),
        Kind::Mqtt => ("HOTMETRICS_MQTT_URL", "mqtt://127.0.0.1:1883"),
        Kind::KafkaMock if url.is_some() => {
            return Err("--broker kafka-mock runs its own mock cluster: no --url".into());
        }
        // The mock cluster's address, known once it runs.
        Kind::KafkaMock => return Ok(Some(config)),
    };
    config.url = url
        .or_else(|| std::env::var(var).ok())
        .unwrap_or_else(|| default.to_owned());
    Ok(Some(config))
}

async fn run(config: Config) -> Result<()> {
    let registry = Registry::new();
    let broker = match config.kind {
        Kind::Rabbit => Broker::Rabbit,
        Kind::Nats => Broker::Nats,
        Kind::Redis => Broker::Redis,
        Kind::Mqtt => Broker::Mqtt,
        Kind::KafkaMock => Broker::Kafka,
    };
    let metrics = BrokerMetrics::new(&registry, broker)?;
    let server = Server::builder(registry.clone())
        .addr(config.addr)
        .start()
        .map_err(|e| format!("cannot serve on {}: {e}", config.addr))?;
    let session = Session {
        config: &config,
        registry: &registry,
        serving: server.local_addr(),
    };
    match config.kind {
        Kind::Rabbit => {
            session
                .serve(rabbitmq::open(&config, &metrics).await?)
                .await?
        }
        Kind::Nats => session.serve(nats::open(&config, &metrics).await?).await?,
        Kind::Redis => {
            session
                .serve(redis_streams::open(&config, &metrics).await?)
                .await?
        }
        Kind::Mqtt => session.serve(mqtt::open(&config, &metrics).await?).await?,
        Kind::KafkaMock => session.serve(kafka_mock::open(&metrics).await?).await?,
    }
    server.shutdown()?;
    Ok(())
}

/// A broker's consumer, as the loop drives it.
trait Consumer {
    /// A message received, being processed.
    type Delivery<'a>: Delivery
    where
        Self: 'a;

    /// Whether the broker delivers a nacked message again (it is acked
    /// then).
    const NACK_REDELIVERS: bool;

    /// The messages that came within `wait` (none: empty).
    async fn receive(&mut self, wait: Duration) -> Result<Vec<Self::Delivery<'_>>>;

    /// Records the lag the broker reports, and returns it (`None`: the
    /// broker reports none).
    async fn lag(&mut self) -> Result<Option<u64>>;

    /// Ends the session with the broker, where the client wants it ended.
    async fn close(self) -> Result<()>
    where
        Self: Sized,
    {
        Ok(())
    }
}

/// A received message, as the outcome mix settles it (through the
/// wrapper, which records its ack state).
trait Delivery {
    /// What the message number is read from.
    fn body(&self) -> &[u8];
    /// Counts one exception; processing goes on.
    fn exception(&mut self, exception_type: &str);
    /// Acks, nacks or rejects it with the broker.
    async fn settle(&mut self, how: Settle) -> Result<()>;
}

/// How a message is settled with the broker.
#[derive(Clone, Copy, Debug)]
enum Settle {
    Ack,
    Nack,
    Reject,
}

/// A broker's metered publisher, as the traffic task drives it.
trait Publisher: Send + Sync + 'static {
    /// Publishes message `n` where the consumer reads it.
    fn publish(&self, n: u64) -> impl Future<Output = Result<()>> + Send;
    /// Publishes a message that is refused; the error says how.
    fn publish_refused(&self) -> impl Future<Output = Result<()>> + Send;
}

/// A broker's client, opened.
struct Opened<C, P> {
    /// Where the broker is, for the first line printed.
    at: String,
    consumer: C,
    publisher: P,
}

/// What the loop runs with: the command line, the registry, where
/// `/metrics` is served.
struct Session<'a> {
    config: &'a Config,
    registry: &'a Registry,
    serving: SocketAddr,
}

impl Session<'_> {
    /// The loop every broker runs: produces (unless `--no-produce`),
    /// consumes and settles by the outcome mix until `--seconds`,
    /// reporting every two seconds; then stops producing, reports once
    /// more and closes.
    async fn serve<C: Consumer, P: Publisher>(&self, opened: Opened<C, P>) -> Result<()> {
        let config = self.config;
        println!(
            "broker_clients: {:?} at {}; serving http://{}/metrics",
            config.kind, opened.at, self.serving
        );
        let producer = config
            .produce
            .then(|| tokio::spawn(produce(opened.publisher, config.interval)));
        let mut consumer = opened.consumer;
        let deadline = config
            .seconds
            .map(|s| Instant::now() + Duration::from_secs(s));
        let consumed = consume(&mut consumer, deadline, self.registry).await;
        if let Some(producer) = producer {
            producer.abort();
            // Its publisher dropped before the consumer closes; the error
            // says it was cancelled, as asked.
            let _ = producer.await;
        }
        consumed?;
        report(self.registry, consumer.lag().await?);
        consumer.close().await
    }
}

/// Publishes message 0, 1, 2, ... one every `interval`, and after every
/// `REFUSED_EVERY`th one a message that is refused.
async fn produce(publisher: impl Publisher, interval: Duration) {
    for n in 0u64.. {
        if let Err(e) = publisher.publish(n).await {
            eprintln!("publish: {e}");
        }
        if (n + 1) % REFUSED_EVERY == 0 && publisher.publish_refused().await.is_ok() {
            eprintln!("publish: a message meant to be refused was accepted");
        }
        tokio::time::sleep(interval).await;
    }
}

/// Receives and settles until `deadline`, reporting every two seconds.
async fn consume<C: Consumer>(
    consumer: &mut C,
    deadline: Option<Instant>,
    registry: &Registry,
) -> Result<()> {
    let mut mix = Mix::new(C::NACK_REDELIVERS);
    let mut next_report = Instant::now() + REPORT_EVERY;
    while !done(deadline) {
        for mut delivery in consumer.receive(POLL).await? {
            let plan = mix.plan(number(delivery.body()));
            settle(&mut delivery, plan).await?;
        }
        if Instant::now() >= next_report {
            next_report += REPORT_EVERY;
            report(registry, consumer.lag().await?);
        }
    }
    Ok(())
}

/// The outcome mix: message `n` by its [`plan`], except that one the
/// broker delivers again after a nack is acked; a body without a number
/// is rejected.
struct Mix {
    nack_redelivers: bool,
    /// The numbers nacked and not delivered since.
    nacked: HashSet<u64>,
}

impl Mix {
    fn new(nack_redelivers: bool) -> Self {
        Self {
            nack_redelivers,
            nacked: HashSet::new(),
        }
    }

    fn plan(&mut self, number: Option<u64>) -> Plan {
        let Some(n) = number else {
            return Plan::Reject;
        };
        if self.nacked.remove(&n) {
            return Plan::Ack;
        }
        let plan = plan(n);
        if plan == Plan::Nack && self.nack_redelivers {
            self.nacked.insert(n);
        }
        plan
    }
}

/// Carries out `plan` on `delivery`.
async fn settle(delivery: &mut impl Delivery, plan: Plan) -> Result<()> {
    match plan {
        Plan::Ack => delivery.settle(Settle::Ack).await,
        Plan::RejectAfterError => {
            delivery.exception("DecodeError");
            delivery.settle(Settle::Reject).await
        }
        Plan::Nack => delivery.settle(Settle::Nack).await,
        Plan::Reject => delivery.settle(Settle::Reject).await,
        Plan::AckThenError => {
            delivery.settle(Settle::Ack).await?;
            delivery.exception("ValueError");
            Ok(())
        }
    }
}

/// The message number in a body.
fn number(body: &[u8]) -> Option<u64> {
    std::str::from_utf8(body).ok()?.parse().ok()
}

/// One line from the registry: processed by status, and the lag (none
/// for MQTT).
fn report(registry: &Registry, lag: Option<u64>) {
    let snap = registry.snapshot();
    let total = |status: Status| {
        sum(&snap, "faststream_received_processed_messages", |l| {
            l.iter().any(|(n, v)| n == "status" && v == status.as_str())
        })
    };
    let statuses: Vec<String> = Status::ALL
        .iter()
        .map(|s| format!("{s} {}", total(*s)))
        .collect();
    let exceptions = sum(
        &snap,
        "faststream_received_processed_messages_exceptions",
        |_| true,
    );
    let lag = lag.map_or("none reported".to_owned(), |l| l.to_string());
    println!(
        "processed: {}; exceptions {exceptions}; lag {lag}",
        statuses.join(", ")
    );
}

/// The sum of a counter family's series whose labels pass `keep`.
fn sum(snap: &Snapshot, family: &str, keep: impl Fn(&[(String, String)]) -> bool) -> f64 {
    snap.families
        .iter()
        .filter(|f| f.name == family)
        .flat_map(|f| &f.series)
        .filter(|s| keep(&s.labels))
        .map(|s| match s.value {
            ValueSnapshot::Counter(v) => v,
            _ => 0.0,
        })
        // An empty sum is -0.0: printed as 0.
        .sum::<f64>()
        + 0.0
}

fn done(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

mod rabbitmq {
    use super::*;
    use hotmetrics::broker::lapin::{MeteredConsumer, MeteredDelivery, MeteredPublisher};
    use lapin::options::{
        BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
        BasicRejectOptions, ConfirmSelectOptions, QueueDeclareOptions,
    };
    use lapin::types::FieldTable;
    use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};

    /// A queue nothing is bound for: a mandatory message to it comes back.
    const UNROUTED: &str = "hotmetrics-example-unrouted";

    pub struct Rabbit {
        conn: Connection,
        channel: Channel,
        consumer: MeteredConsumer,
    }

    pub struct Publish(MeteredPublisher);

    pub async fn open(config: &Config, metrics: &BrokerMetrics) -> Result<Opened<Rabbit, Publish>> {
        let conn = Connection::connect(&config.url, ConnectionProperties::default())
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", config.url))?;
        let channel = conn.create_channel().await?;
        let queue_options = QueueDeclareOptions {
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(QUEUE.into(), queue_options, FieldTable::default())
            .await?;
        let publish_channel = conn.create_channel().await?;
        publish_channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let publisher = MeteredPublisher::new(publish_channel, metrics); // the one line
        let consumer = channel
            .basic_consume(
                QUEUE.into(),
                GROUP.into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let consumer = MeteredConsumer::new(consumer, metrics); // the one line
        Ok(Opened {
            at: config.url.clone(),
            consumer: Rabbit {
                conn,
                channel,
                consumer,
            },
            publisher: Publish(publisher),
        })
    }

    impl Consumer for Rabbit {
        type Delivery<'a> = MeteredDelivery;
        // Nacked without requeue: dropped.
        const NACK_REDELIVERS: bool = false;

        async fn receive(&mut self, wait: Duration) -> Result<Vec<MeteredDelivery>> {
            match tokio::time::timeout(wait, self.consumer.next()).await {
                Ok(Some(delivery)) => Ok(vec![delivery?]),
                Ok(None) => Err("the broker cancelled the consumer".into()),
                Err(_) => Ok(Vec::new()),
            }
        }

        async fn lag(&mut self) -> Result<Option<u64>> {
            let lag = self.consumer.record_lag(&self.channel).await?;
            Ok(Some(u64::from(lag)))
        }

        async fn close(self) -> Result<()> {
            Ok(self.conn.close(200, "done".into()).await?)
        }
    }

    impl Delivery for MeteredDelivery {
        fn body(&self) -> &[u8] {
            self.data()
        }

        fn exception(&mut self, exception_type: &str) {
            MeteredDelivery::exception(self, exception_type);
        }

        async fn settle(&mut self, how: Settle) -> Result<()> {
            // Nacked or rejected: dropped, not requeued.
            match how {
                Settle::Ack => self.ack(BasicAckOptions::default()).await?,
                Settle::Nack => {
                    let options = BasicNackOptions {
                        requeue: false,
                        ..Default::default()
                    };
                    self.nack(options).await?
                }
                Settle::Reject => self.reject(BasicRejectOptions { requeue: false }).await?,
            };
            Ok(())
        }
    }

    impl Publisher for Publish {
        async fn publish(&self, n: u64) -> Result<()> {
            let body = n.to_string();
            let options = BasicPublishOptions::default();
            let properties = BasicProperties::default();
            self.0
                .publish("", QUEUE, options, body.as_bytes(), properties)
                .await?;
            Ok(())
        }

        async fn publish_refused(&self) -> Result<()> {
            let mandatory = BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            };
            let properties = BasicProperties::default();
            match self
                .0
                .publish("", UNROUTED, mandatory, b"unrouted", properties)
                .await?
            {
                Confirmation::Ack(Some(_)) => {
                    Err(format!("{UNROUTED}: returned unroutable").into())
                }
                Confirmation::Nack(_) => Err(format!("{UNROUTED}: nacked").into()),
                Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
            }
        }
    }
}

mod nats {
    use super::*;
    use async_nats::jetstream::{self, consumer::PullConsumer, consumer::pull, stream};
    use hotmetrics::broker::nats::{
        MeteredJetStream, MeteredJetStreamMessage, MeteredMessages, record_consumer_lag,
    };

    /// A subject no stream takes: a JetStream publish to it has no answer.
    const NOWHERE: &str = "hotmetrics.nowhere";

    pub struct Nats {
        consumer: PullConsumer,
        messages: MeteredMessages,
        metrics: BrokerMetrics,
    }

    pub struct Publish(MeteredJetStream);

    pub async fn open(config: &Config, metrics: &BrokerMetrics) -> Result<Opened<Nats, Publish>> {
        let client = async_nats::connect(config.url.as_str())
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", config.url))?;
        let js = jetstream::new(client);
        let stream = js
            .get_or_create_stream(stream::Config {
                name: STREAM.into(),
                subjects: vec![SUBJECT.to_owned()],
                ..Default::default()
            })
            .await
            .map_err(|e| {
                format!("JetStream stream {STREAM} (is the server started with -js?): {e}")
            })?;
        let consumer: PullConsumer = stream
            .get_or_create_consumer(
                GROUP,
                pull::Config {
                    durable_name: Some(GROUP.into()),
                    ..Default::default()
                },
            )
            .await?;
        let publisher = MeteredJetStream::new(js, metrics); // the one line
        let messages = MeteredMessages::new(consumer.messages().await?, metrics); // the one line
        Ok(Opened {
            at: config.url.clone(),
            consumer: Nats {
                consumer,
                messages,
                metrics: metrics.clone(),
            },
            publisher: Publish(publisher),
        })
    }

    impl Consumer for Nats {
        type Delivery<'a> = MeteredJetStreamMessage;
        // Nak: delivered again a second later (and counted again then, as
        // FastStream would).
        const NACK_REDELIVERS: bool = true;

        async fn receive(&mut self, wait: Duration) -> Result<Vec<MeteredJetStreamMessage>> {
            match tokio::time::timeout(wait, self.messages.next()).await {
                Ok(Some(message)) => Ok(vec![message?]),
                Ok(None) => Err("the pull consumer's messages ended".into()),
                Err(_) => Ok(Vec::new()),
            }
        }

        async fn lag(&mut self) -> Result<Option<u64>> {
            Ok(Some(
                record_consumer_lag(&self.consumer, &self.metrics).await?,
            ))
        }
    }

    impl Delivery for MeteredJetStreamMessage {
        fn body(&self) -> &[u8] {
            self.payload()
        }

        fn exception(&mut self, exception_type: &str) {
            MeteredJetStreamMessage::exception(self, exception_type);
        }

        async fn settle(&mut self, how: Settle) -> Result<()> {
            match how {
                Settle::Ack => self.ack().await?,
                Settle::Nack => self.nak(Some(Duration::from_secs(1))).await?,
                Settle::Reject => self.term().await?,
            }
            Ok(())
        }
    }

    impl Publisher for Publish {
        async fn publish(&self, n: u64) -> Result<()> {
            self.0.publish(SUBJECT, n.to_string().into()).await?;
            Ok(())
        }

        async fn publish_refused(&self) -> Result<()> {
            self.0.publish(NOWHERE, "nowhere".into()).await?;
            Ok(())
        }
    }
}

mod redis_streams {
    use super::*;
    use hotmetrics::broker::redis::{
        MeteredRedisPublisher, MeteredStreamEntry, MeteredStreamGroup, record_group_lag,
    };
    use redis::AsyncCommands;
    use redis::aio::MultiplexedConnection;

    /// A key holding a string: an `XADD` to it is refused.
    const NOT_A_STREAM: &str = "hotmetrics-example-not-a-stream";
    /// Entries read at most at once.
    const COUNT: usize = 100;

    pub struct Redis {
        conn: MultiplexedConnection,
        group: MeteredStreamGroup<MultiplexedConnection>,
        metrics: BrokerMetrics,
    }

    pub struct Publish(MeteredRedisPublisher<MultiplexedConnection>);

    pub async fn open(config: &Config, metrics: &BrokerMetrics) -> Result<Opened<Redis, Publish>> {
        let client =
            redis::Client::open(config.url.as_str()).map_err(|e| format!("{}: {e}", config.url))?;
        // The consumer's reads block (XREADGROUP BLOCK): a connection of its
        // own, apart from the publisher's.
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", config.url))?;
        let created: redis::RedisResult<()> = conn.xgroup_create_mkstream(QUEUE, GROUP, "$").await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => return Err(e.into()),
            _ => {}
        }
        let () = conn.set(NOT_A_STREAM, "a string").await?;
        let publish_conn = client.get_multiplexed_async_connection().await?;
        let publisher = MeteredRedisPublisher::new(publish_conn, metrics); // the one line
        let group = MeteredStreamGroup::new(conn.clone(), GROUP, "worker-1", metrics); // the one line
        Ok(Opened {
            at: config.url.clone(),
            consumer: Redis {
                conn,
                group,
                metrics: metrics.clone(),
            },
            publisher: Publish(publisher),
        })
    }

    impl Consumer for Redis {
        type Delivery<'a> = MeteredStreamEntry<MultiplexedConnection>;
        // Nacked entries stay pending in the group.
        const NACK_REDELIVERS: bool = false;

        async fn receive(
            &mut self,
            wait: Duration,
        ) -> Result<Vec<MeteredStreamEntry<MultiplexedConnection>>> {
            let entries = self.group.read(&[QUEUE], COUNT, Some(wait)).await?;
            Ok(entries.into_iter().collect::<std::result::Result<_, _>>()?)
        }

        async fn lag(&mut self) -> Result<Option<u64>> {
            let lag = record_group_lag(&mut self.conn, QUEUE, GROUP, &self.metrics).await?;
            Ok(Some(lag.value()))
        }
    }

    impl Delivery for MeteredStreamEntry<MultiplexedConnection> {
        fn body(&self) -> &[u8] {
            self.field("n").unwrap_or_default()
        }

        fn exception(&mut self, exception_type: &str) {
            MeteredStreamEntry::exception(self, exception_type);
        }

        async fn settle(&mut self, how: Settle) -> Result<()> {
            match how {
                Settle::Ack => self.ack().await?,
                // Recorded, and left pending in the group.
                Settle::Nack => self.nack(),
                Settle::Reject => self.reject(),
            }
            Ok(())
        }
    }

    impl Publisher for Publish {
        async fn publish(&self, n: u64) -> Result<()> {
            self.0.xadd(QUEUE, &[("n", n)]).await?;
            Ok(())
        }

        async fn publish_refused(&self) -> Result<()> {
            self.0.xadd(NOT_A_STREAM, &[("n", 0)]).await?;
            Ok(())
        }
    }
}

mod mqtt {
    use super::*;
    use hotmetrics::broker::mqtt::{
        MeteredEvent, MeteredEventLoop, MeteredMqttClient, MeteredMqttMessage, metered,
    };
    use rumqttc::{AsyncClient, MqttOptions, QoS};

    /// A topic with a wildcard, which no publish may name.
    const WILDCARD: &str = "hotmetrics/example/#";

    pub struct Mqtt {
        /// It also sends the publishes and reads their PubAcks.
        events: MeteredEventLoop,
        url: String,
    }

    pub struct Publish(MeteredMqttClient);

    pub async fn open(config: &Config, metrics: &BrokerMetrics) -> Result<Opened<Mqtt, Publish>> {
        let (host, port) = host_port(&config.url)?;
        let mut options =
            MqttOptions::new(format!("broker_clients-{}", std::process::id()), host, port);
        options.set_manual_acks(true); // each PubAck waits for `ack`
        options.set_keep_alive(Duration::from_secs(30));
        let (client, events) = metered(AsyncClient::new(options, 256), metrics); // the one line
        client.client().subscribe(TOPIC, QoS::AtLeastOnce).await?;
        Ok(Opened {
            at: config.url.clone(),
            consumer: Mqtt {
                events,
                url: config.url.clone(),
            },
            publisher: Publish(client),
        })
    }

    impl Consumer for Mqtt {
        type Delivery<'a> = MeteredMqttMessage;
        // Nack sends nothing: the broker does not send it again.
        const NACK_REDELIVERS: bool = false;

        async fn receive(&mut self, wait: Duration) -> Result<Vec<MeteredMqttMessage>> {
            match tokio::time::timeout(wait, self.events.poll()).await {
                Ok(Ok(MeteredEvent::Publish(message))) => Ok(vec![message]),
                Ok(Ok(MeteredEvent::Other(_))) | Err(_) => Ok(Vec::new()),
                Ok(Err(e)) => Err(format!("MQTT at {}: {e}", self.url).into()),
            }
        }

        async fn lag(&mut self) -> Result<Option<u64>> {
            Ok(None)
        }
    }

    impl Delivery for MeteredMqttMessage {
        fn body(&self) -> &[u8] {
            self.payload()
        }

        fn exception(&mut self, exception_type: &str) {
            MeteredMqttMessage::exception(self, exception_type);
        }

        async fn settle(&mut self, how: Settle) -> Result<()> {
            match how {
                // This task polls the event loop: an ack that waited for
                // room in the client's channel would wait for itself.
                Settle::Ack => self.try_ack()?,
                // Sends nothing.
                Settle::Nack => self.nack(),
                // Acks (the channel holds 256 requests and one message is
                // in hand at a time: there is room).
                Settle::Reject => self.reject().await?,
            }
            Ok(())
        }
    }

    impl Publisher for Publish {
        async fn publish(&self, n: u64) -> Result<()> {
            // Nacked ones are never acked: QoS 0, holding no slot of the
            // broker's in-flight window.
            let qos = match plan(n) {
                Plan::Nack => QoS::AtMostOnce,
                _ => QoS::AtLeastOnce,
            };
            Ok(self.0.publish(TOPIC, qos, false, n.to_string()).await?)
        }

        async fn publish_refused(&self) -> Result<()> {
            Ok(self
                .0
                .publish(WILDCARD, QoS::AtMostOnce, false, "refused")
                .await?)
        }
    }

    /// `mqtt://host:port` as the host and port.
    fn host_port(url: &str) -> Result<(String, u16)> {
        let rest = url
            .strip_prefix("mqtt://")
            .unwrap_or(url)
            .trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("{url:?} is not mqtt://host:port"))?;
        let port = port
            .parse()
            .map_err(|e| format!("{url:?}: port {port:?}: {e}"))?;
        Ok((host.to_owned(), port))
    }
}

mod kafka_mock {
    use super::*;
    use hotmetrics::broker::kafka::{
        MeteredFutureProducer, MeteredKafkaMessage, MeteredStreamConsumer, record_topic_lag,
    };
    use rdkafka::ClientConfig;
    use rdkafka::consumer::{Consumer as _, StreamConsumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{DefaultProducerContext, FutureProducer, FutureRecord};

    const TIMEOUT: Duration = Duration::from_secs(5);
    /// The producer's `message.max.bytes` (librdkafka's least).
    const MAX_MESSAGE: usize = 1000;

    pub struct Kafka {
        consumer: MeteredStreamConsumer,
        metrics: BrokerMetrics,
        /// Dropped last: the clients talk to it.
        _cluster: MockCluster<'static, DefaultProducerContext>,
    }

    pub struct Publish(MeteredFutureProducer);

    pub async fn open(metrics: &BrokerMetrics) -> Result<Opened<Kafka, Publish>> {
        let cluster = MockCluster::new(1).map_err(|e| format!("the mock cluster: {e}"))?;
        cluster.create_topic(QUEUE, 1, 1)?;
        let bootstrap = cluster.bootstrap_servers();
        let mut client = ClientConfig::new();
        client.set("bootstrap.servers", &bootstrap);
        let kafka: FutureProducer = client
            .clone()
            .set("message.max.bytes", MAX_MESSAGE.to_string())
            .create()?;
        let publisher = MeteredFutureProducer::new(kafka, metrics); // the one line
        let kafka: StreamConsumer = client
            .set("group.id", GROUP)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()?;
        kafka.subscribe(&[QUEUE])?;
        let consumer = MeteredStreamConsumer::new(kafka, metrics); // the one line
        Ok(Opened {
            at: format!("librdkafka's mock cluster {bootstrap}"),
            consumer: Kafka {
                consumer,
                metrics: metrics.clone(),
                _cluster: cluster,
            },
            publisher: Publish(publisher),
        })
    }

    impl Consumer for Kafka {
        type Delivery<'a> = MeteredKafkaMessage<'a>;
        // Nack seeks back to the message.
        const NACK_REDELIVERS: bool = true;

        async fn receive(&mut self, wait: Duration) -> Result<Vec<MeteredKafkaMessage<'_>>> {
            match tokio::time::timeout(wait, self.consumer.recv()).await {
                Ok(message) => Ok(vec![message?]),
                Err(_) => Ok(Vec::new()),
            }
        }

        /// The high watermark minus the committed offset (librdkafka's
        /// calls block: off the runtime's worker).
        async fn lag(&mut self) -> Result<Option<u64>> {
            let lag = tokio::task::block_in_place(|| {
                record_topic_lag(self.consumer.consumer(), QUEUE, &self.metrics, TIMEOUT)
            })?;
            Ok(Some(u64::try_from(lag).unwrap_or(0)))
        }
    }

    impl Delivery for MeteredKafkaMessage<'_> {
        fn body(&self) -> &[u8] {
            self.payload()
        }

        fn exception(&mut self, exception_type: &str) {
            MeteredKafkaMessage::exception(self, exception_type);
        }

        async fn settle(&mut self, how: Settle) -> Result<()> {
            match how {
                Settle::Ack => self.ack()?,
                // Seeks back to the message.
                Settle::Nack => self.nack(TIMEOUT)?,
                // Commits, as an ack.
                Settle::Reject => self.reject()?,
            }
            Ok(())
        }
    }

    impl Publisher for Publish {
        async fn publish(&self, n: u64) -> Result<()> {
            let body = n.to_string();
            let record = FutureRecord::<(), _>::to(QUEUE).payload(&body);
            self.0.send(record, TIMEOUT).await?;
            Ok(())
        }

        async fn publish_refused(&self) -> Result<()> {
            let body = vec![0u8; 2 * MAX_MESSAGE];
            let record = FutureRecord::<(), _>::to(QUEUE).payload(&body);
            self.0.send(record, TIMEOUT).await?;
            Ok(())
        }
    }
}
