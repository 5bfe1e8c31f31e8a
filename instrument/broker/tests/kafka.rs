//! The rdkafka wrappers against librdkafka's mock cluster (in process,
//! no server; `rdkafka::mocking::MockCluster`): messages acked (an async
//! offset commit; a sync one, waited for off the async worker), nacked
//! (seek back, received again and acked), rejected (a commit, `acked` as
//! in FastStream), raising, acked then raising, skipped and dropped;
//! publishes, one refused as too large: exact counts per family, status
//! and exception type; the lag equals the high watermark minus the
//! committed offset.
#![cfg(feature = "rdkafka")]

mod common;

use common::plan::{Outcome, OutcomePlan, Settle};
use common::{Scrape, unique};
use hotmetrics_broker::kafka::{
    MeteredFutureProducer, MeteredKafkaMessage, MeteredStreamConsumer, record_topic_lag,
};
use hotmetrics_broker::{Broker, BrokerMetrics};
use hotmetrics_core::Registry;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(5);

/// Each outcome twice, as rdkafka has them: a nack seeks back, so the
/// message is received again (and acked then); a reject is a commit,
/// `acked` as in FastStream; the ack before a raise is `ack_sync`.
const PLAN: OutcomePlan = OutcomePlan::new(Outcome::ALL, 2)
    .redelivering_nacks()
    .rejects_recorded_as("acked");

impl Settle for MeteredKafkaMessage<'_> {
    fn body(&self) -> &[u8] {
        self.payload()
    }

    async fn ack(&mut self) {
        MeteredKafkaMessage::ack(self).unwrap();
    }

    async fn ack_waiting(&mut self) {
        // Waits for the broker: off the async worker.
        tokio::task::block_in_place(|| self.ack_sync()).unwrap();
    }

    async fn nack(&mut self) {
        MeteredKafkaMessage::nack(self, TIMEOUT).unwrap();
    }

    async fn reject(&mut self) {
        MeteredKafkaMessage::reject(self).unwrap();
    }

    fn raise(&mut self, exception_type: &str) {
        self.exception(exception_type);
    }

    fn skip(self) {
        MeteredKafkaMessage::skip(self);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_seeks_and_sends_count_exactly() {
    let mock = MockCluster::new(1)
        .unwrap_or_else(|e| panic!("librdkafka's mock cluster did not start: {e}"));
    let topic = unique("orders");
    mock.create_topic(&topic, 1, 1).unwrap();
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", mock.bootstrap_servers());

    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Kafka).unwrap();
    let producer: FutureProducer = config
        .clone()
        .set("message.max.bytes", "1000")
        .create()
        .unwrap();
    let producer = MeteredFutureProducer::new(producer, &metrics);
    for i in 0..PLAN.messages() {
        let body = OutcomePlan::body(i);
        let record = FutureRecord::<(), _>::to(&topic).payload(&body);
        producer.send(record, TIMEOUT).await.unwrap();
    }
    // Over message.max.bytes: refused by the producer.
    let big = vec![0u8; 2000];
    let err = producer
        .send(FutureRecord::<(), _>::to(&topic).payload(&big), TIMEOUT)
        .await
        .unwrap_err();

    let consumer: StreamConsumer = config
        .clone()
        .set("group.id", unique("billing"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let consumer = MeteredStreamConsumer::new(consumer, &metrics);

    let mut driver = PLAN.driver();
    let consume = async {
        while driver.received() < PLAN.deliveries() {
            driver.settle(consumer.recv().await.unwrap()).await;
        }
    };
    tokio::time::timeout(WITHIN, consume)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} of {} deliveries received within {WITHIN:?}",
                driver.received(),
                PLAN.deliveries()
            )
        });

    let s = Scrape::of(&registry, "kafka");
    PLAN.expected().assert_sole_handler(&s, &topic);
    assert_eq!(s.published(&topic, "success"), PLAN.messages() as f64);
    assert_eq!(s.published(&topic, "error"), 1.0);
    assert_eq!(s.publish_durations(&topic), PLAN.messages() as f64 + 1.0);
    assert_eq!(
        s.publish_exceptions(&topic, "MessageSizeTooLarge"),
        1.0,
        "after {err}"
    );

    // The last two (the plan ends with a skip and a drop) are not
    // committed: the group committed up to the one before them (that
    // commit, the last, was waited for, and the async ones before it were
    // answered first).
    let kafka = consumer.consumer();
    let lag =
        tokio::task::block_in_place(|| record_topic_lag(kafka, &topic, &metrics, TIMEOUT)).unwrap();
    let (_, high) = kafka.fetch_watermarks(&topic, 0, TIMEOUT).unwrap();
    let mut partition = TopicPartitionList::new();
    partition.add_partition(&topic, 0);
    let committed = kafka.committed_offsets(partition, TIMEOUT).unwrap();
    let committed = match committed.find_partition(&topic, 0).map(|p| p.offset()) {
        Some(Offset::Offset(o)) => o,
        other => panic!("no committed offset: {other:?}"),
    };
    let messages = PLAN.messages() as i64;
    assert_eq!((high, committed), (messages, messages - 2));
    assert_eq!(lag, high - committed);
    assert_eq!(Scrape::of(&registry, "kafka").lag(&topic), 2.0);
}
