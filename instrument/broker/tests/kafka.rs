//! The rdkafka wrappers against librdkafka's mock cluster (in process,
//! no server; `rdkafka::mocking::MockCluster`): messages acked (an async
//! offset commit; a sync one, waited for off the async worker), nacked (seek back, received again and acked), rejected (a
//! commit, `acked` as in FastStream), raising, acked then raising,
//! skipped and dropped; publishes, one refused as too large: exact counts
//! per family, status and exception type; the lag equals the high
//! watermark minus the committed offset.
#![cfg(feature = "rdkafka")]

mod common;

use common::{Scrape, unique};
use hotmetrics_broker::kafka::{MeteredFutureProducer, MeteredStreamConsumer, record_topic_lag};
use hotmetrics_broker::{Broker, BrokerMetrics, DROPPED};
use hotmetrics_core::Registry;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use std::collections::HashSet;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(5);

/// Plans by message index `i % PLANS`: ack, nack (acked when received
/// again), reject, exception, ack_sync then exception, skip, dropped.
const PLANS: usize = 7;
const MESSAGES: usize = 2 * PLANS;

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
    for i in 0..MESSAGES {
        let body = format!("m{i}");
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

    let mut seen = HashSet::new();
    let mut settled = 0;
    let consume = async {
        while settled < MESSAGES {
            let mut msg = consumer.recv().await.unwrap();
            let offset = msg.message().offset();
            if !seen.insert(offset) {
                msg.ack().unwrap(); // the nacked one, again
                settled += 1;
                continue;
            }
            let i: usize = std::str::from_utf8(msg.payload()).unwrap()[1..]
                .parse()
                .unwrap();
            match i % PLANS {
                0 => msg.ack().unwrap(),
                1 => {
                    msg.nack(TIMEOUT).unwrap();
                    continue; // settled when received again
                }
                2 => msg.reject().unwrap(),
                3 => msg.exception("ValueError"),
                4 => {
                    // Waits for the broker: off the async worker.
                    tokio::task::block_in_place(|| msg.ack_sync()).unwrap();
                    msg.exception("AfterAck");
                }
                5 => msg.skip(),
                _ => {}
            }
            settled += 1;
        }
    };
    tokio::time::timeout(WITHIN, consume)
        .await
        .unwrap_or_else(|_| panic!("{settled} of {MESSAGES} messages settled within {WITHIN:?}"));

    let s = Scrape::of(&registry, "kafka");
    let per_plan = (MESSAGES / PLANS) as f64;
    let received = MESSAGES as f64 + per_plan; // the nacked ones twice
    assert_eq!(s.received(&topic), received);
    assert_eq!(
        (s.sizes(&topic), s.durations(&topic), s.in_process(&topic)),
        (received, received, 0.0)
    );
    // ack, the nacked ones' second time, reject, ack then exception.
    assert_eq!(s.processed(&topic, "acked"), 4.0 * per_plan);
    assert_eq!(s.processed(&topic, "nacked"), per_plan);
    assert_eq!(s.processed(&topic, "rejected"), 0.0);
    assert_eq!(s.processed(&topic, "skipped"), per_plan);
    assert_eq!(s.processed(&topic, "error"), 2.0 * per_plan);
    assert_eq!(
        s.exception_types("received_processed_messages_exceptions"),
        [
            ("AfterAck".to_owned(), per_plan),
            (DROPPED.to_owned(), per_plan),
            ("ValueError".to_owned(), per_plan)
        ]
    );
    assert_eq!(s.published(&topic, "success"), MESSAGES as f64);
    assert_eq!(s.published(&topic, "error"), 1.0);
    assert_eq!(s.publish_durations(&topic), MESSAGES as f64 + 1.0);
    assert_eq!(
        s.publish_exceptions(&topic, "MessageSizeTooLarge"),
        1.0,
        "after {err}"
    );

    // The last two (skipped, dropped) are not committed: the group
    // committed up to the one before them (that commit, the last, was
    // waited for, and the async ones before it were answered first).
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
    assert_eq!((high, committed), (MESSAGES as i64, MESSAGES as i64 - 2));
    assert_eq!(lag, high - committed);
    assert_eq!(Scrape::of(&registry, "kafka").lag(&topic), 2.0);
}
