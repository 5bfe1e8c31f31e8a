//! The lapin wrappers against a real RabbitMQ (`./test.sh` starts one and
//! exports HOTMETRICS_RABBITMQ_URL): a known mix of outcomes and publishes,
//! exact counts per family, status and exception type; the queue lag as the
//! broker reports it; RPC replies not counted.
#![cfg(feature = "lapin")]

mod common;

use common::plan::{Counts, Outcome, OutcomePlan, Settle};
use common::{Scrape, server_url, unique};
use futures_util::StreamExt;
use hotmetrics_broker::lapin::{
    MeteredConsumer, MeteredDelivery, MeteredPublisher, record_queue_lag,
};
use hotmetrics_broker::{Broker, BrokerMetrics, DROPPED};
use hotmetrics_core::Registry;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
    BasicRejectOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use std::time::Duration;

/// Each outcome four times (lapin has no skip).
const PLAN: OutcomePlan = OutcomePlan::new(Outcome::WITHOUT_SKIP, 4);

impl Settle for MeteredDelivery {
    fn body(&self) -> &[u8] {
        self.data()
    }

    async fn ack(&mut self) {
        let options = BasicAckOptions::default();
        assert!(MeteredDelivery::ack(self, options).await.unwrap());
    }

    async fn nack(&mut self) {
        let options = BasicNackOptions {
            requeue: false,
            ..Default::default()
        };
        assert!(MeteredDelivery::nack(self, options).await.unwrap());
    }

    async fn reject(&mut self) {
        let options = BasicRejectOptions { requeue: false };
        assert!(MeteredDelivery::reject(self, options).await.unwrap());
    }

    fn raise(&mut self, exception_type: &str) {
        self.exception(exception_type);
    }
}

async fn connect() -> Connection {
    let url = server_url("HOTMETRICS_RABBITMQ_URL", "RabbitMQ (rabbitmq-server)");
    let connecting = Connection::connect(&url, ConnectionProperties::default());
    match tokio::time::timeout(Duration::from_secs(20), connecting).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!("cannot connect to RabbitMQ at HOTMETRICS_RABBITMQ_URL={url}: {e}"),
        Err(_) => panic!("RabbitMQ at HOTMETRICS_RABBITMQ_URL={url} did not answer within 20 s"),
    }
}

async fn declare(channel: &Channel, queue: &str) {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue.declare");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_mix_of_outcomes_and_publishes_counts_exactly() {
    let conn = connect().await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Rabbit).unwrap();
    let queue = unique("hotmetrics-mix");
    let publish_channel = conn.create_channel().await.unwrap();
    publish_channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    declare(&publish_channel, &queue).await;
    let publisher = MeteredPublisher::new(publish_channel.clone(), &metrics);

    let mut body_bytes = 0;
    for i in 0..PLAN.messages() {
        let body = OutcomePlan::body(i);
        body_bytes += body.len();
        let confirmation = publisher
            .publish(
                "",
                &queue,
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default(),
            )
            .await
            .unwrap();
        assert_eq!(confirmation, Confirmation::Ack(None));
    }
    // Unroutable and mandatory: returned, an error of type PublishError.
    let nowhere = unique("hotmetrics-nowhere");
    let mandatory = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    let returned = publisher
        .publish("", &nowhere, mandatory, b"lost", BasicProperties::default())
        .await
        .unwrap();
    assert!(
        matches!(returned, Confirmation::Ack(Some(_))),
        "{returned:?}"
    );
    // An exchange that does not exist: the broker closes the channel.
    let failing = MeteredPublisher::new(conn.create_channel().await.unwrap(), &metrics);
    failing
        .channel()
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let missing = unique("hotmetrics-missing-exchange");
    let err = failing
        .publish(
            &missing,
            "k",
            BasicPublishOptions::default(),
            b"x",
            BasicProperties::default(),
        )
        .await
        .unwrap_err();

    // Lag: everything published waits in the queue.
    let lag = record_queue_lag(&publish_channel, &metrics, &queue)
        .await
        .unwrap();
    assert_eq!(lag as usize, PLAN.messages());
    assert_eq!(
        Scrape::of(&registry, "rabbitmq").lag(&queue),
        PLAN.messages() as f64
    );

    let consume_channel = conn.create_channel().await.unwrap();
    let consumer = consume_channel
        .basic_consume(
            queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut consumer = MeteredConsumer::new(consumer, &metrics);
    let mut driver = PLAN.driver();
    for _ in 0..PLAN.deliveries() {
        let next = tokio::time::timeout(Duration::from_secs(10), consumer.next()).await;
        let delivery = next
            .expect("a delivery within 10 s")
            .expect("stream open")
            .unwrap();
        driver.settle(delivery).await;
    }
    // The messages left unsettled are delivered and unacked: not ready.
    let lag = record_queue_lag(&publish_channel, &metrics, &queue)
        .await
        .unwrap();
    assert_eq!(lag, 0);

    let handler = format!("default.{queue}");
    let s = Scrape::of(&registry, "rabbitmq");
    PLAN.expected().assert_sole_handler(&s, &handler);
    let size_sum = registry
        .snapshot()
        .value(
            "faststream_received_messages_size_bytes",
            &[
                ("app_name", "faststream"),
                ("broker", "rabbitmq"),
                ("handler", &handler),
            ],
        )
        .cloned();
    match size_sum {
        Some(hotmetrics_core::ValueSnapshot::Histogram { sum, .. }) => {
            assert_eq!(sum, body_bytes as f64)
        }
        other => panic!("size histogram: {other:?}"),
    }

    let dest = format!("default.{queue}");
    assert_eq!(s.published(&dest, "success"), PLAN.messages() as f64);
    assert_eq!(s.published(&dest, "error"), 0.0);
    assert_eq!(s.publish_durations(&dest), PLAN.messages() as f64);
    let nowhere = format!("default.{nowhere}");
    assert_eq!(s.published(&nowhere, "error"), 1.0);
    assert_eq!(s.publish_exceptions(&nowhere, "PublishError"), 1.0);
    let missing = format!("{missing}.k");
    assert_eq!(s.published(&missing, "error"), 1.0);
    assert_eq!(s.publish_durations(&missing), 1.0);
    // The broker closes the channel with NOT_FOUND: lapin's ProtocolError.
    assert_eq!(
        s.publish_exceptions(&missing, "ProtocolError"),
        1.0,
        "after {err}"
    );
    assert_eq!(
        s.exception_types("published_messages_exceptions"),
        [
            ("ProtocolError".to_owned(), 1.0),
            ("PublishError".to_owned(), 1.0)
        ]
    );
    conn.close(200, "done".into()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_replies_are_not_counted() {
    let conn = connect().await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Rabbit).unwrap();
    let queue = unique("hotmetrics-rpc");
    let server_channel = conn.create_channel().await.unwrap();
    declare(&server_channel, &queue).await;
    let server = MeteredPublisher::new(server_channel.clone(), &metrics);
    let requests = server_channel
        .basic_consume(
            queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut requests = MeteredConsumer::new(requests, &metrics);

    // The client consumes direct reply-to (no_ack, as RabbitMQ requires),
    // then sends its request on the same channel.
    let client_channel = conn.create_channel().await.unwrap();
    let no_ack = BasicConsumeOptions {
        no_ack: true,
        ..BasicConsumeOptions::default()
    };
    let replies = client_channel
        .basic_consume(
            "amq.rabbitmq.reply-to".into(),
            "".into(),
            no_ack,
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut replies = MeteredConsumer::new(replies, &metrics).no_ack();
    let client = MeteredPublisher::new(client_channel.clone(), &metrics);
    let props = BasicProperties::default()
        .with_reply_to("amq.rabbitmq.reply-to".into())
        .with_correlation_id("42".into());
    client
        .publish("", &queue, BasicPublishOptions::default(), b"ping", props)
        .await
        .unwrap();

    let mut request = tokio::time::timeout(Duration::from_secs(10), requests.next())
        .await
        .expect("the request within 10 s")
        .unwrap()
        .unwrap();
    assert!(request.is_counted());
    let sent = server
        .reply(request.delivery(), b"pong", BasicProperties::default())
        .await
        .unwrap();
    assert!(sent.is_some());
    request.ack(BasicAckOptions::default()).await.unwrap();
    drop(request);
    let reply = tokio::time::timeout(Duration::from_secs(10), replies.next())
        .await
        .expect("the reply within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(reply.data(), b"pong");
    assert_eq!(
        reply
            .delivery()
            .properties
            .correlation_id()
            .as_ref()
            .map(|c| c.as_str()),
        Some("42")
    );
    assert!(!reply.is_counted());
    drop(reply);

    let s = Scrape::of(&registry, "rabbitmq");
    let handler = format!("default.{queue}");
    assert_eq!(s.received(&handler), 1.0);
    assert_eq!(s.processed(&handler, "acked"), 1.0);
    assert_eq!(s.published(&handler, "success"), 1.0);
    // Neither the reply's publish nor its delivery: only the request's
    // destination and handler have series.
    let snap = registry.snapshot();
    for family in [
        "faststream_received_messages",
        "faststream_published_messages",
    ] {
        let f = snap.families.iter().find(|f| f.name == family).unwrap();
        let series: Vec<_> = f.series.iter().map(|s| &s.labels).collect();
        assert_eq!(
            f.series.len(),
            if family.contains("published") { 2 } else { 1 },
            "{series:?}"
        );
    }
    conn.close(200, "done".into()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_in_flight_when_its_channel_closes_counts_once_as_an_error() {
    let conn = connect().await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Rabbit).unwrap();
    let queue = unique("hotmetrics-inflight");
    let channel = conn.create_channel().await.unwrap();
    // Not auto-delete: it outlives its first consumer; deleted at the end.
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let publisher = MeteredPublisher::new(channel.clone(), &metrics);
    for body in ["a", "b", "c"] {
        publisher
            .publish(
                "",
                &queue,
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default(),
            )
            .await
            .unwrap();
    }

    let consume = |channel: Channel| {
        let queue = queue.clone();
        let metrics = metrics.clone();
        async move {
            let consumer = channel
                .basic_consume(
                    queue.as_str().into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
            MeteredConsumer::new(consumer, &metrics)
        }
    };
    let first_channel = conn.create_channel().await.unwrap();
    let mut first = consume(first_channel.clone()).await;
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), first.next())
            .await
            .expect("a delivery within 10 s")
            .unwrap()
            .unwrap()
    };
    let (mut a, mut b, c) = (next().await, next().await, next().await);
    assert!(a.ack(BasicAckOptions::default()).await.unwrap());
    drop(a);
    // The channel goes with b and c in flight: b's ack is refused, c is
    // dropped unsettled. The broker requeues both.
    first_channel.close(200, "gone".into()).await.unwrap();
    let refused = b.ack(BasicAckOptions::default()).await;
    assert!(matches!(refused, Ok(false) | Err(_)), "{refused:?}");
    drop(b);
    drop(c);

    let mut second = consume(conn.create_channel().await.unwrap()).await;
    for _ in 0..2 {
        let mut again = tokio::time::timeout(Duration::from_secs(10), second.next())
            .await
            .expect("a redelivery within 10 s")
            .unwrap()
            .unwrap();
        assert!(again.delivery().redelivered);
        assert!(again.ack(BasicAckOptions::default()).await.unwrap());
    }

    let handler = format!("default.{queue}");
    let s = Scrape::of(&registry, "rabbitmq");
    // a, b, c, then b and c again; b's refused ack, c dropped.
    Counts::default()
        .ended(3, "acked", None)
        .ended(1, "error", Some("ChannelClosed"))
        .ended(1, "error", Some(DROPPED))
        .assert_sole_handler(&s, &handler);
    channel
        .queue_delete(queue.as_str().into(), Default::default())
        .await
        .unwrap();
    conn.close(200, "done".into()).await.unwrap();
}
