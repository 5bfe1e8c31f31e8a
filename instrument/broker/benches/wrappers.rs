//! What each client wrapper adds per message over the raw client call.
//!
//! In process (no broker): a lapin consumer's deliveries (lapin's mock
//! deliveries, whose ack settles locally) and a core NATS subscription's
//! messages, each taken from a stream and settled, raw and through the
//! wrapper. Against the local servers test.sh starts
//! (HOTMETRICS_RABBITMQ_URL, HOTMETRICS_NATS_URL; the bench fails without
//! them): a core NATS publish (handed to the client's connection task, no
//! round trip) and the publishes that wait for the broker, a RabbitMQ
//! publish with its confirm and a JetStream publish with its ack, where
//! the round trip dominates and the wrapper's share is within the noise.
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
use std::hint::black_box;
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

criterion_group!(benches, in_process, local_servers);
criterion_main!(benches);
