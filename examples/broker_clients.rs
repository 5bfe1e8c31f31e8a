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
//! Unless `--no-produce`, it produces its own traffic: a task publishes a
//! numbered message every `--interval-ms` through the metered publisher
//! (to the queue `hotmetrics-example` through the default exchange, to
//! the subject `hotmetrics.example.orders` of the JetStream stream
//! `HOTMETRICS_EXAMPLE`, with `XADD` to the stream `hotmetrics-example`
//! read by its group `broker_clients`, or to the MQTT topic
//! `hotmetrics/example/orders`, QoS 1, or to the Kafka topic
//! `hotmetrics-example` of the mock cluster, read by the group
//! `broker_clients`). The consumer settles message `n`
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
use std::error::Error;
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
    if config.kind != Kind::KafkaMock {
        println!(
            "broker_clients: {:?} at {}; serving http://{}/metrics",
            config.kind,
            config.url,
            server.local_addr()
        );
    }
    let deadline = config
        .seconds
        .map(|s| Instant::now() + Duration::from_secs(s));
    match config.kind {
        Kind::Rabbit => rabbitmq::run(&config, &metrics, &registry, deadline).await?,
        Kind::Nats => nats::run(&config, &metrics, &registry, deadline).await?,
        Kind::Redis => redis_streams::run(&config, &metrics, &registry, deadline).await?,
        Kind::Mqtt => mqtt::run(&config, &metrics, &registry, deadline).await?,
        Kind::KafkaMock => {
            let at = server.local_addr();
            kafka_mock::run(&config, &metrics, &registry, deadline, at).await?
        }
    }
    server.shutdown()?;
    Ok(())
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
    use hotmetrics::broker::lapin::{MeteredConsumer, MeteredPublisher, record_queue_lag};
    use lapin::options::{
        BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
        BasicRejectOptions, ConfirmSelectOptions, QueueDeclareOptions,
    };
    use lapin::types::FieldTable;
    use lapin::{BasicProperties, Connection, ConnectionProperties};

    pub async fn run(
        config: &Config,
        metrics: &BrokerMetrics,
        registry: &Registry,
        deadline: Option<Instant>,
    ) -> Result<()> {
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
        let mut producer = None;
        if config.produce {
            let publish_channel = conn.create_channel().await?;
            publish_channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            let publisher = MeteredPublisher::new(publish_channel, metrics); // the one line
            let interval = config.interval;
            producer = Some(tokio::spawn(async move {
                for n in 0u64.. {
                    let body = n.to_string();
                    let sent = publisher
                        .publish(
                            "",
                            QUEUE,
                            BasicPublishOptions::default(),
                            body.as_bytes(),
                            BasicProperties::default(),
                        )
                        .await;
                    if let Err(e) = sent {
                        eprintln!("publish: {e}");
                    }
                    tokio::time::sleep(interval).await;
                }
            }));
        }
        let consumer = channel
            .basic_consume(
                QUEUE.into(),
                "broker_clients".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut consumer = MeteredConsumer::new(consumer, metrics); // the one line
        let mut next_report = Instant::now() + REPORT_EVERY;
        while !done(deadline) {
            let next = tokio::time::timeout(Duration::from_millis(200), consumer.next()).await;
            if let Ok(Some(delivery)) = next {
                let mut d = delivery?;
                let requeue_no = BasicNackOptions {
                    requeue: false,
                    ..Default::default()
                };
                match number(d.data()).map(plan) {
                    Some(Plan::Ack) => {
                        d.ack(BasicAckOptions::default()).await?;
                    }
                    Some(Plan::RejectAfterError) => {
                        d.exception("DecodeError");
                        d.reject(BasicRejectOptions { requeue: false }).await?;
                    }
                    Some(Plan::Nack) => {
                        d.nack(requeue_no).await?;
                    }
                    Some(Plan::Reject) | None => {
                        d.reject(BasicRejectOptions { requeue: false }).await?;
                    }
                    Some(Plan::AckThenError) => {
                        d.ack(BasicAckOptions::default()).await?;
                        d.exception("ValueError");
                    }
                }
            }
            if Instant::now() >= next_report {
                next_report += REPORT_EVERY;
                let lag = record_queue_lag(&channel, metrics, QUEUE).await?;
                report(registry, Some(u64::from(lag)));
            }
        }
        if let Some(p) = producer {
            p.abort();
        }
        let lag = record_queue_lag(&channel, metrics, QUEUE).await?;
        report(registry, Some(u64::from(lag)));
        conn.close(200, "done".into()).await?;
        Ok(())
    }
}

mod nats {
    use super::*;
    use async_nats::jetstream::{self, consumer::PullConsumer, consumer::pull, stream};
    use hotmetrics::broker::nats::{MeteredJetStream, MeteredMessages, record_consumer_lag};

    pub async fn run(
        config: &Config,
        metrics: &BrokerMetrics,
        registry: &Registry,
        deadline: Option<Instant>,
    ) -> Result<()> {
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
                "broker_clients",
                pull::Config {
                    durable_name: Some("broker_clients".into()),
                    ..Default::default()
                },
            )
            .await?;
        let mut producer = None;
        if config.produce {
            let publisher = MeteredJetStream::new(js.clone(), metrics); // the one line
            let interval = config.interval;
            producer = Some(tokio::spawn(async move {
                for n in 0u64.. {
                    if let Err(e) = publisher.publish(SUBJECT, n.to_string().into()).await {
                        eprintln!("publish: {e}");
                    }
                    tokio::time::sleep(interval).await;
                }
            }));
        }
        let mut messages = MeteredMessages::new(consumer.messages().await?, metrics); // the one line
        let mut next_report = Instant::now() + REPORT_EVERY;
        while !done(deadline) {
            let next = tokio::time::timeout(Duration::from_millis(200), messages.next()).await;
            if let Ok(Some(msg)) = next {
                let mut m = msg?;
                match number(m.payload()).map(plan) {
                    Some(Plan::Ack) => m.ack().await?,
                    Some(Plan::RejectAfterError) => {
                        m.exception("DecodeError");
                        m.term().await?;
                    }
                    // Redelivered a second later (and counted again then,
                    // as FastStream would), acked the second time.
                    Some(Plan::Nack) if redelivered(&m) => m.ack().await?,
                    Some(Plan::Nack) => m.nak(Some(Duration::from_secs(1))).await?,
                    Some(Plan::Reject) | None => m.term().await?,
                    Some(Plan::AckThenError) => {
                        m.ack().await?;
                        m.exception("ValueError");
                    }
                }
            }
            if Instant::now() >= next_report {
                next_report += REPORT_EVERY;
                report(
                    registry,
                    Some(record_consumer_lag(&consumer, metrics).await?),
                );
            }
        }
        if let Some(p) = producer {
            p.abort();
        }
        report(
            registry,
            Some(record_consumer_lag(&consumer, metrics).await?),
        );
        Ok(())
    }

    fn redelivered(m: &hotmetrics::broker::nats::MeteredJetStreamMessage) -> bool {
        m.message().info().is_ok_and(|i| i.delivered > 1)
    }
}

mod redis_streams {
    use super::*;
    use hotmetrics::broker::redis::{MeteredRedisPublisher, MeteredStreamGroup, record_group_lag};
    use redis::AsyncCommands;

    pub async fn run(
        config: &Config,
        metrics: &BrokerMetrics,
        registry: &Registry,
        deadline: Option<Instant>,
    ) -> Result<()> {
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
        let mut producer = None;
        if config.produce {
            let conn = client.get_multiplexed_async_connection().await?;
            let publisher = MeteredRedisPublisher::new(conn, metrics); // the one line
            let interval = config.interval;
            producer = Some(tokio::spawn(async move {
                for n in 0u64.. {
                    if let Err(e) = publisher.xadd(QUEUE, &[("n", n)]).await {
                        eprintln!("publish: {e}");
                    }
                    tokio::time::sleep(interval).await;
                }
            }));
        }
        let mut group = MeteredStreamGroup::new(conn.clone(), GROUP, "worker-1", metrics); // the one line
        let mut next_report = Instant::now() + REPORT_EVERY;
        while !done(deadline) {
            let entries = group
                .read(&[QUEUE], 100, Some(Duration::from_millis(200)))
                .await?;
            for entry in entries {
                let mut e = entry?;
                match e.field("n").and_then(number).map(plan) {
                    Some(Plan::Ack) => e.ack().await?,
                    Some(Plan::RejectAfterError) => {
                        e.exception("DecodeError");
                        e.reject();
                    }
                    // Recorded, and left pending in the group.
                    Some(Plan::Nack) => e.nack(),
                    Some(Plan::Reject) | None => e.reject(),
                    Some(Plan::AckThenError) => {
                        e.ack().await?;
                        e.exception("ValueError");
                    }
                }
            }
            if Instant::now() >= next_report {
                next_report += REPORT_EVERY;
                let lag = record_group_lag(&mut conn, QUEUE, GROUP, metrics).await?;
                report(registry, Some(lag.value()));
            }
        }
        if let Some(p) = producer {
            p.abort();
        }
        let lag = record_group_lag(&mut conn, QUEUE, GROUP, metrics).await?;
        report(registry, Some(lag.value()));
        Ok(())
    }
}

mod mqtt {
    use super::*;
    use hotmetrics::broker::mqtt::{MeteredEvent, metered};
    use rumqttc::{AsyncClient, MqttOptions, QoS};

    pub async fn run(
        config: &Config,
        metrics: &BrokerMetrics,
        registry: &Registry,
        deadline: Option<Instant>,
    ) -> Result<()> {
        let (host, port) = host_port(&config.url)?;
        let mut options =
            MqttOptions::new(format!("broker_clients-{}", std::process::id()), host, port);
        options.set_manual_acks(true); // each PubAck waits for `ack`
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut events) = metered(AsyncClient::new(options, 256), metrics); // the one line
        client.client().subscribe(TOPIC, QoS::AtLeastOnce).await?;
        let mut producer = None;
        if config.produce {
            let interval = config.interval;
            producer = Some(tokio::spawn(async move {
                for n in 0u64.. {
                    // Nacked ones are never acked: QoS 0, holding no slot
                    // of the broker's in-flight window.
                    let qos = match plan(n) {
                        Plan::Nack => QoS::AtMostOnce,
                        _ => QoS::AtLeastOnce,
                    };
                    if let Err(e) = client.publish(TOPIC, qos, false, n.to_string()).await {
                        eprintln!("publish: {e}");
                    }
                    tokio::time::sleep(interval).await;
                }
            }));
        }
        let mut next_report = Instant::now() + REPORT_EVERY;
        while !done(deadline) {
            // The event loop also sends the publishes and reads their PubAcks.
            let next = tokio::time::timeout(Duration::from_millis(200), events.poll()).await;
            match next {
                Ok(Ok(MeteredEvent::Publish(mut m))) => match number(m.payload()).map(plan) {
                    Some(Plan::Ack) => m.ack().await?,
                    Some(Plan::RejectAfterError) => {
                        m.exception("DecodeError");
                        m.reject().await?;
                    }
                    Some(Plan::Nack) => m.nack(),
                    Some(Plan::Reject) | None => m.reject().await?,
                    Some(Plan::AckThenError) => {
                        m.ack().await?;
                        m.exception("ValueError");
                    }
                },
                Ok(Ok(MeteredEvent::Other(_))) | Err(_) => {}
                Ok(Err(e)) => {
                    return Err(format!("MQTT at {}: {e}", config.url).into());
                }
            }
            if Instant::now() >= next_report {
                next_report += REPORT_EVERY;
                report(registry, None);
            }
        }
        if let Some(p) = producer {
            p.abort();
        }
        report(registry, None);
        Ok(())
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
        MeteredFutureProducer, MeteredStreamConsumer, record_topic_lag,
    };
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{FutureProducer, FutureRecord};
    use rdkafka::{ClientConfig, Message};
    use std::collections::HashSet;

    const TIMEOUT: Duration = Duration::from_secs(5);

    pub async fn run(
        config: &Config,
        metrics: &BrokerMetrics,
        registry: &Registry,
        deadline: Option<Instant>,
        serving: SocketAddr,
    ) -> Result<()> {
        let mock = MockCluster::new(1).map_err(|e| format!("the mock cluster: {e}"))?;
        mock.create_topic(QUEUE, 1, 1)?;
        let bootstrap = mock.bootstrap_servers();
        println!(
            "broker_clients: librdkafka's mock cluster at {bootstrap}; serving http://{serving}/metrics"
        );
        let mut client = ClientConfig::new();
        client.set("bootstrap.servers", &bootstrap);
        let mut producer = None;
        if config.produce {
            let kafka: FutureProducer = client.create()?;
            let publisher = MeteredFutureProducer::new(kafka, metrics); // the one line
            let interval = config.interval;
            producer = Some(tokio::spawn(async move {
                for n in 0u64.. {
                    let body = n.to_string();
                    let record = FutureRecord::<(), _>::to(QUEUE).payload(&body);
                    if let Err(e) = publisher.send(record, TIMEOUT).await {
                        eprintln!("publish: {e}");
                    }
                    tokio::time::sleep(interval).await;
                }
            }));
        }
        let kafka: StreamConsumer = client
            .clone()
            .set("group.id", GROUP)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()?;
        kafka.subscribe(&[QUEUE])?;
        let consumer = MeteredStreamConsumer::new(kafka, metrics); // the one line
        // Offsets nacked once: acked when they come again.
        let mut nacked = HashSet::new();
        let mut next_report = Instant::now() + REPORT_EVERY;
        while !done(deadline) {
            if let Ok(msg) = tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await
            {
                let mut m = msg?;
                let offset = (m.message().partition(), m.message().offset());
                let plan = match number(m.payload()).map(plan) {
                    Some(_) if nacked.remove(&offset) => Some(Plan::Ack),
                    p => p,
                };
                match plan {
                    Some(Plan::Ack) => m.ack()?,
                    Some(Plan::RejectAfterError) => {
                        m.exception("DecodeError");
                        m.reject()?;
                    }
                    Some(Plan::Nack) => {
                        nacked.insert(offset);
                        m.nack(TIMEOUT)?;
                    }
                    Some(Plan::Reject) | None => m.reject()?,
                    Some(Plan::AckThenError) => {
                        m.ack()?;
                        m.exception("ValueError");
                    }
                }
            }
            if Instant::now() >= next_report {
                next_report += REPORT_EVERY;
                report(registry, Some(lag(&consumer, metrics)?));
            }
        }
        if let Some(p) = producer {
            p.abort();
        }
        report(registry, Some(lag(&consumer, metrics)?));
        Ok(())
    }

    /// The high watermark minus the committed offset (librdkafka's calls
    /// block: off the runtime's worker).
    fn lag(consumer: &MeteredStreamConsumer, metrics: &BrokerMetrics) -> Result<u64> {
        let lag = tokio::task::block_in_place(|| {
            record_topic_lag(consumer.consumer(), QUEUE, metrics, TIMEOUT)
        })?;
        Ok(u64::try_from(lag).unwrap_or(0))
    }
}
