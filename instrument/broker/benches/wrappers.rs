//! What each client wrapper adds per message over the raw client call.
//!
//! In process (no broker): a lapin consumer's deliveries (lapin's mock
//! deliveries, whose ack settles locally) and a core NATS subscription's
//! messages, each taken from a stream and settled, raw and through the
//! wrapper; a Redis stream group's entries read (`XREADGROUP`) and acked
//! (`XACK`), and `XADD`s, on a connection that answers with recorded
//! replies at once; an MQTT event loop's incoming QoS 0 Publishes, and
//! QoS 0 publishes, from and to a broker in the bench's process (on loopback: a CONNACK, then Publishes without end; what the
//! client sends is read and dropped), so the client's decoding and its
//! socket reads are in both paths. (Not QoS 1 acked in the polling task:
//! against a broker that floods, rumqttc's event loop reads ten packets
//! per read and sends one queued ack per turn, so the acks fill the
//! request channel and the task waits on it for good.) Against the local servers test.sh starts
//! (HOTMETRICS_RABBITMQ_URL, HOTMETRICS_NATS_URL; the bench fails without
//! them): a core NATS publish (handed to the client's connection task, no
//! round trip) and the publishes that wait for the broker, a RabbitMQ
//! publish with its confirm and a JetStream publish with its ack, where
//! the round trip dominates and the wrapper's share is within the noise.
//!
//! Kafka (rdkafka) on librdkafka's mock cluster, in this process: a
//! `StreamConsumer` assigned a partition preloaded with 64-byte messages
//! receives each from its prefetch queue (no round trip per message) and
//! commits its offset asynchronously (queued, not awaited), raw and
//! through the wrapper; between batches, untimed, a synchronous commit
//! waits for the batch's commits, and it seeks back to the start when
//! fewer than a batch are left. (librdkafka's own threads, which fetch and
//! send each commit, share the cores with the measured one: the spread
//! is wide, and the medians and minima say more than the means.) And a
//! `FutureProducer` send
//! awaited to its delivery report (`linger.ms=0`): a round trip to the
//! mock broker's thread, which dominates.
//!
//! `cargo bench -p hotmetrics-broker --all-features --bench wrappers`

use async_nats::jetstream;
use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use hotmetrics_broker::lapin::{MeteredConsumer, MeteredPublisher};
use hotmetrics_broker::nats::{
    MeteredJetStream, MeteredPublisher as NatsPublisher, MeteredSubscriber,
};
use hotmetrics_broker::{Broker, BrokerMetrics};
use hotmetrics_core::Registry;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use redis::aio::ConnectionLike;
use redis::{Arg, AsyncCommands, Cmd, Pipeline, RedisFuture, Value};
use rumqttc::{
    AsyncClient, ConnAck, ConnectReturnCode, Event, EventLoop, Incoming, MqttOptions, Publish, QoS,
};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

/// Messages per measured batch in process.
const BATCH: u64 = 1_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: this bench needs the local broker ./test.sh starts (run it, or export {var})")
    })
}

fn deliveries() -> Vec<lapin::Result<Delivery>> {
    (0..BATCH)
        .map(|i| {
            Ok(Delivery::mock(
                i,
                "".into(),
                "orders".into(),
                false,
                vec![0; 64],
            ))
        })
        .collect()
}

fn nats_messages() -> Vec<async_nats::Message> {
    (0..BATCH)
        .map(|_| async_nats::Message {
            subject: "orders.created".into(),
            reply: None,
            payload: Bytes::from_static(&[0; 64]),
            headers: None,
            status: None,
            description: None,
            length: 64,
        })
        .collect()
}

fn in_process(c: &mut Criterion) {
    let rt = runtime();
    let registry = Registry::new();
    let rabbit = BrokerMetrics::new(&registry, Broker::Rabbit).unwrap();
    let nats = BrokerMetrics::new(&registry, Broker::Nats).unwrap();

    let mut g = c.benchmark_group("consume_in_process");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("lapin/raw", |b| {
        b.iter_batched(
            deliveries,
            |ds| {
                rt.block_on(async {
                    let mut s = futures_util::stream::iter(ds);
                    while let Some(d) = s.next().await {
                        black_box(d.unwrap().ack(BasicAckOptions::default()).await.unwrap());
                    }
                })
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("lapin/metered", |b| {
        b.iter_batched(
            deliveries,
            |ds| {
                rt.block_on(async {
                    let mut s = MeteredConsumer::from_stream(
                        futures_util::stream::iter(ds),
                        "orders",
                        &rabbit,
                    );
                    while let Some(d) = s.next().await {
                        black_box(d.unwrap().ack(BasicAckOptions::default()).await.unwrap());
                    }
                })
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("nats_core/raw", |b| {
        b.iter_batched(
            nats_messages,
            |ms| {
                rt.block_on(async {
                    let mut s = futures_util::stream::iter(ms);
                    while let Some(m) = s.next().await {
                        black_box(m);
                    }
                })
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("nats_core/metered", |b| {
        b.iter_batched(
            nats_messages,
            |ms| {
                rt.block_on(async {
                    let mut s =
                        MeteredSubscriber::from_stream(futures_util::stream::iter(ms), &nats);
                    while let Some(m) = s.next().await {
                        black_box(m.unwrap());
                    }
                })
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// A Redis connection answering every command at once with what a server
/// would: the recorded `XREADGROUP` reply (`BATCH` entries of stream
/// `orders`, one 64-byte field each), `1` for an `XACK`, an id for an
/// `XADD`. Cheap to clone, as a multiplexed connection is (the wrappers
/// clone it per entry and per publish).
#[derive(Clone)]
struct Recorded {
    read_reply: Arc<Value>,
}

impl Recorded {
    fn new() -> Self {
        let entry = |i: u64| {
            Value::Array(vec![
                Value::BulkString(format!("1700000000000-{i}").into_bytes()),
                Value::Array(vec![
                    Value::BulkString(b"body".to_vec()),
                    Value::BulkString(vec![b'x'; 64]),
                ]),
            ])
        };
        Self {
            read_reply: Arc::new(Value::Array(vec![Value::Array(vec![
                Value::BulkString(b"orders".to_vec()),
                Value::Array((0..BATCH).map(entry).collect()),
            ])])),
        }
    }
}

impl ConnectionLike for Recorded {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let reply = match cmd.args_iter().next() {
            Some(Arg::Simple(b"XREADGROUP")) => Value::clone(&self.read_reply),
            Some(Arg::Simple(b"XADD")) => Value::BulkString(b"1700000000000-0".to_vec()),
            _ => Value::Int(1),
        };
        Box::pin(async move { Ok(reply) })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        _: &'a Pipeline,
        _: usize,
        _: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

fn redis_in_process(c: &mut Criterion) {
    use hotmetrics_broker::redis::{MeteredRedisPublisher, MeteredStreamGroup};
    use redis::streams::{StreamReadOptions, StreamReadReply};

    let rt = runtime();
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Redis).unwrap();
    let conn = Recorded::new();
    let count = usize::try_from(BATCH).unwrap();

    let mut g = c.benchmark_group("consume_in_process");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("redis_stream/raw", |b| {
        let mut conn = conn.clone();
        b.iter(|| {
            rt.block_on(async {
                let options = StreamReadOptions::default()
                    .group("billing", "worker-1")
                    .count(count);
                let reply: StreamReadReply = conn
                    .xread_options(&["orders"], &[">"], &options)
                    .await
                    .unwrap();
                for key in reply.keys {
                    for entry in key.ids {
                        let acked: usize =
                            conn.xack(&key.key, "billing", &[&entry.id]).await.unwrap();
                        black_box((entry, acked));
                    }
                }
            })
        })
    });
    g.bench_function("redis_stream/metered", |b| {
        let mut group = MeteredStreamGroup::new(conn.clone(), "billing", "worker-1", &metrics);
        b.iter(|| {
            rt.block_on(async {
                for entry in group.read(&["orders"], count, None).await.unwrap() {
                    entry.unwrap().ack().await.unwrap();
                }
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("publish_in_process");
    g.bench_function("redis_xadd/raw", |b| {
        let mut conn = conn.clone();
        b.iter(|| {
            rt.block_on(async {
                let id: String = conn.xadd("orders", "*", &[("body", "x")]).await.unwrap();
                black_box(id)
            })
        })
    });
    let publisher = MeteredRedisPublisher::new(conn.clone(), &metrics);
    g.bench_function("redis_xadd/metered", |b| {
        b.iter(|| {
            rt.block_on(publisher.xadd("orders", &[("body", "x")]))
                .unwrap()
        })
    });
    g.finish();
}

/// An MQTT broker in this process, on a loopback port: it answers a
/// connection with a CONNACK and, when `publishes`, sends QoS 0 Publishes
/// of 64 bytes to `orders/1` without end; what the client sends is read
/// and dropped.
async fn mqtt_broker(publishes: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut packets = bytes::BytesMut::new();
    ConnAck::new(ConnectReturnCode::Success, false)
        .write(&mut packets)
        .unwrap();
    let hello = packets.split().freeze();
    for _ in 0..BATCH {
        Publish::new("orders/1", QoS::AtMostOnce, vec![0; 64])
            .write(&mut packets)
            .unwrap();
    }
    let batch = packets.freeze();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (mut rd, mut wr) = socket.into_split();
            tokio::spawn(async move {
                let mut buf = vec![0; 64 << 10];
                while rd.read(&mut buf).await.is_ok_and(|n| n > 0) {}
            });
            let (hello, batch) = (hello.clone(), batch.clone());
            tokio::spawn(async move {
                let mut sent = wr.write_all(&hello).await;
                while publishes && sent.is_ok() {
                    sent = wr.write_all(&batch).await;
                }
                // Dropping the write half would end the connection.
                std::future::pending::<()>().await;
                drop(wr);
            });
        }
    });
    port
}

fn mqtt_options(id: &str, port: u16) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    // The broker answers no PingReq: none within a run.
    o.set_keep_alive(Duration::from_secs(3600));
    o
}

fn mqtt_in_process(c: &mut Criterion) {
    use hotmetrics_broker::mqtt::{MeteredEvent, metered};

    let rt = runtime();
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Mqtt).unwrap();
    let port = rt.block_on(mqtt_broker(true));
    let quiet_port = rt.block_on(mqtt_broker(false));

    let mut g = c.benchmark_group("consume_in_process");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("mqtt_qos0/raw", |b| {
        let (_client, mut events) = AsyncClient::new(mqtt_options("raw", port), 64);
        b.iter(|| {
            rt.block_on(async {
                let mut n = 0;
                while n < BATCH {
                    if let Event::Incoming(Incoming::Publish(p)) = events.poll().await.unwrap() {
                        black_box(p);
                        n += 1;
                    }
                }
            })
        })
    });
    g.bench_function("mqtt_qos0/metered", |b| {
        let options = mqtt_options("metered", port);
        let (_client, mut events) = metered(AsyncClient::new(options, 64), &metrics);
        b.iter(|| {
            rt.block_on(async {
                let mut n = 0;
                while n < BATCH {
                    // Processing ends as it is dropped: acked.
                    if let MeteredEvent::Publish(m) = events.poll().await.unwrap() {
                        black_box(m);
                        n += 1;
                    }
                }
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("publish_in_process");
    g.bench_function("mqtt_qos0/raw", |b| {
        let (client, events) = AsyncClient::new(mqtt_options("raw-pub", quiet_port), 64);
        let driver = rt.spawn(drive(events));
        b.iter(|| {
            rt.block_on(client.publish("orders/1", QoS::AtMostOnce, false, vec![0; 64]))
                .unwrap()
        });
        driver.abort();
    });
    g.bench_function("mqtt_qos0/metered", |b| {
        let options = mqtt_options("metered-pub", quiet_port);
        let (client, mut events) = metered(AsyncClient::new(options, 64), &metrics);
        let driver = rt.spawn(async move { while events.poll().await.is_ok() {} });
        b.iter(|| {
            rt.block_on(client.publish("orders/1", QoS::AtMostOnce, false, vec![0; 64]))
                .unwrap()
        });
        driver.abort();
    });
    g.finish();
}

/// Polls a raw event loop until its connection fails.
async fn drive(mut events: EventLoop) {
    while events.poll().await.is_ok() {}
}

/// The bench's Kafka topic and its one partition.
const KAFKA_TOPIC: &str = "orders";
/// Messages preloaded there (the consumers go through them and seek
/// back): a mock partition keeps its last 5 MB or 100,000 messages.
const KAFKA_MESSAGES: u64 = 40_000;
const KAFKA_TIMEOUT: Duration = Duration::from_secs(10);

/// Fills the mock cluster's topic with `KAFKA_MESSAGES` 64-byte messages.
fn kafka_fill(rt: &Runtime, config: &ClientConfig) {
    let producer: FutureProducer = config.create().unwrap();
    rt.block_on(async {
        let body = [0u8; 64];
        let mut sends = futures_util::stream::FuturesUnordered::new();
        for _ in 0..KAFKA_MESSAGES {
            sends.push(producer.send(
                FutureRecord::<(), _>::to(KAFKA_TOPIC).payload(&body[..]),
                KAFKA_TIMEOUT,
            ));
        }
        while let Some(sent) = sends.next().await {
            sent.map_err(|(e, _)| e).unwrap();
        }
    });
}

/// A consumer of group `group`, assigned the topic's partition (no group
/// join), committing by hand; primed: the first fetch after the
/// assignment waits half a second, so one message is received, untimed.
fn kafka_consumer(rt: &Runtime, config: &ClientConfig, group: &str) -> StreamConsumer {
    let consumer: StreamConsumer = config
        .clone()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        // The whole topic fits in the prefetch queue: the fetcher then
        // waits at the end of the partition, and a seek waits for that.
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    let mut partition = TopicPartitionList::new();
    partition
        .add_partition_offset(KAFKA_TOPIC, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&partition).unwrap();
    rt.block_on(consumer.recv()).unwrap();
    consumer
}

/// Seeks back to the first message, receives it and lets the fetcher fill
/// the prefetch queue again, untimed.
async fn kafka_rewind(consumer: &StreamConsumer) {
    consumer
        .seek(KAFKA_TOPIC, 0, Offset::Beginning, KAFKA_TIMEOUT)
        .unwrap();
    consumer.recv().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Times `iters` batches of `BATCH` messages; untimed between them, waits
/// for their commits and rewinds when fewer than a batch are left
/// (`read`: the messages read since the last rewind, or since the consumer
/// was primed).
async fn kafka_batches(
    consumer: &StreamConsumer,
    read: &mut u64,
    iters: u64,
    mut batch: impl AsyncFnMut(),
) -> Duration {
    let mut timed = Duration::ZERO;
    for _ in 0..iters {
        if *read + BATCH > KAFKA_MESSAGES {
            kafka_rewind(consumer).await;
            *read = 1;
        }
        let start = Instant::now();
        batch().await;
        timed += start.elapsed();
        *read += BATCH;
        // The batch's asynchronous commits are still being sent: one
        // synchronous commit after them waits until the broker has had
        // them all, so that they do not slow the next batch down.
        let position = consumer.position().unwrap();
        consumer.commit(&position, CommitMode::Sync).unwrap();
    }
    timed
}

fn kafka_in_process(c: &mut Criterion) {
    use hotmetrics_broker::kafka::{MeteredFutureProducer, MeteredStreamConsumer};

    let rt = runtime();
    // A `StreamConsumer` spawns on the runtime it is made in.
    let _in_runtime = rt.enter();
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Kafka).unwrap();
    let cluster = MockCluster::new(1).expect("librdkafka's mock cluster");
    cluster.create_topic(KAFKA_TOPIC, 1, 1).unwrap();
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", cluster.bootstrap_servers());
    kafka_fill(&rt, &config);

    // Made once: criterion calls a bench's closure once per sample.
    let raw = kafka_consumer(&rt, &config, "raw");
    let metered = MeteredStreamConsumer::new(kafka_consumer(&rt, &config, "metered"), &metrics);
    let mut g = c.benchmark_group("consume_in_process");
    g.throughput(Throughput::Elements(BATCH));
    let mut raw_read = 1;
    g.bench_function("kafka_commit_async/raw", |b| {
        b.iter_custom(|iters| {
            rt.block_on(kafka_batches(&raw, &mut raw_read, iters, async || {
                for _ in 0..BATCH {
                    let m = raw.recv().await.unwrap();
                    raw.commit_message(&m, CommitMode::Async).unwrap();
                    black_box(m);
                }
            }))
        })
    });
    let mut metered_read = 1;
    g.bench_function("kafka_commit_async/metered", |b| {
        b.iter_custom(|iters| {
            rt.block_on(kafka_batches(
                metered.consumer(),
                &mut metered_read,
                iters,
                async || {
                    for _ in 0..BATCH {
                        let mut m = metered.recv().await.unwrap();
                        m.ack().unwrap();
                        black_box(m);
                    }
                },
            ))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("publish_in_process");
    config.set("linger.ms", "0");
    let producer: FutureProducer = config.create().unwrap();
    let payload = [0u8; 64];
    let record = || FutureRecord::<(), _>::to(KAFKA_TOPIC).payload(&payload[..]);
    g.bench_function("kafka_delivery_report/raw", |b| {
        b.iter(|| {
            rt.block_on(producer.send(record(), KAFKA_TIMEOUT))
                .map_err(|(e, _)| e)
                .unwrap()
        })
    });
    let metered = MeteredFutureProducer::new(producer.clone(), &metrics);
    g.bench_function("kafka_delivery_report/metered", |b| {
        b.iter(|| rt.block_on(metered.send(record(), KAFKA_TIMEOUT)).unwrap())
    });
    g.finish();
}

fn local_servers(c: &mut Criterion) {
    let rt = runtime();
    // JetStream's context spawns on the runtime it is made in.
    let _in_runtime = rt.enter();
    let registry = Registry::new();
    let rabbit = BrokerMetrics::new(&registry, Broker::Rabbit).unwrap();
    let nats = BrokerMetrics::new(&registry, Broker::Nats).unwrap();

    let client = rt
        .block_on(async_nats::connect(url("HOTMETRICS_NATS_URL").as_str()))
        .expect("connect to HOTMETRICS_NATS_URL");
    let publisher = NatsPublisher::new(client.clone(), &nats);
    let payload = Bytes::from_static(&[0; 64]);
    let mut g = c.benchmark_group("publish_local_server");
    g.bench_function("nats_core/raw", |b| {
        b.iter(|| {
            rt.block_on(client.publish("bench.core", payload.clone()))
                .unwrap()
        })
    });
    g.bench_function("nats_core/metered", |b| {
        b.iter(|| {
            rt.block_on(publisher.publish("bench.core", payload.clone()))
                .unwrap()
        })
    });

    let js = jetstream::new(client.clone());
    rt.block_on(js.get_or_create_stream(jetstream::stream::Config {
        name: "HOTMETRICS_BENCH".into(),
        subjects: vec!["bench.js".into()],
        max_messages: 10_000,
        ..Default::default()
    }))
    .expect("a JetStream stream (nats-server -js)");
    let metered_js = MeteredJetStream::new(js.clone(), &nats);
    g.bench_function("jetstream_ack/raw", |b| {
        b.iter(|| {
            rt.block_on(async {
                js.publish("bench.js", payload.clone())
                    .await
                    .unwrap()
                    .await
                    .unwrap()
            })
        })
    });
    g.bench_function("jetstream_ack/metered", |b| {
        b.iter(|| {
            rt.block_on(metered_js.publish("bench.js", payload.clone()))
                .unwrap()
        })
    });

    let conn = rt
        .block_on(Connection::connect(
            &url("HOTMETRICS_RABBITMQ_URL"),
            ConnectionProperties::default(),
        ))
        .expect("connect to HOTMETRICS_RABBITMQ_URL");
    let channel = rt.block_on(conn.create_channel()).unwrap();
    rt.block_on(channel.confirm_select(ConfirmSelectOptions::default()))
        .unwrap();
    let queue = format!("hotmetrics-bench-{}", std::process::id());
    let options = QueueDeclareOptions {
        auto_delete: true,
        ..QueueDeclareOptions::default()
    };
    rt.block_on(channel.queue_declare(queue.as_str().into(), options, FieldTable::default()))
        .unwrap();
    let metered_rabbit = MeteredPublisher::new(channel.clone(), &rabbit);
    g.bench_function("rabbitmq_confirm/raw", |b| {
        b.iter(|| {
            rt.block_on(async {
                channel
                    .basic_publish(
                        "".into(),
                        queue.as_str().into(),
                        BasicPublishOptions::default(),
                        &payload,
                        BasicProperties::default(),
                    )
                    .await
                    .unwrap()
                    .await
                    .unwrap()
            })
        })
    });
    g.bench_function("rabbitmq_confirm/metered", |b| {
        b.iter(|| {
            rt.block_on(metered_rabbit.publish(
                "",
                &queue,
                BasicPublishOptions::default(),
                &payload,
                BasicProperties::default(),
            ))
            .unwrap()
        })
    });
    g.finish();
    rt.block_on(async {
        let _ = channel
            .queue_delete(queue.as_str().into(), Default::default())
            .await;
        let _ = js.delete_stream("HOTMETRICS_BENCH").await;
    });
}

criterion_group!(
    benches,
    in_process,
    redis_in_process,
    mqtt_in_process,
    kafka_in_process,
    local_servers
);
criterion_main!(benches);
