//! The lag of a group on a topic: the broker's high watermarks minus the
//! group's committed offsets.

use super::Error;
use crate::BrokerMetrics;
use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// Sets the lag gauge of `topic` (handler label: the topic) to the sum
/// over its partitions of the high watermark minus the offset the
/// consumer's group committed there (the low watermark where it
/// committed none), and returns it. Blocks for up to `timeout` per
/// request to the broker (metadata, committed offsets, each partition's
/// watermarks), as rdkafka's calls do: from async code, call it on a
/// blocking thread (`spawn_blocking`).
pub fn record_topic_lag<C, X>(
    consumer: &C,
    topic: &str,
    metrics: &BrokerMetrics,
    timeout: Duration,
) -> Result<i64, Error>
where
    C: Consumer<X>,
    X: ConsumerContext,
{
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut partitions = TopicPartitionList::new();
    for t in metadata.topics().iter().filter(|t| t.name() == topic) {
        if let Some(e) = t.error() {
            return Err(Error::Kafka(rdkafka::error::KafkaError::MetadataFetch(
                e.into(),
            )));
        }
        for p in t.partitions() {
            partitions.add_partition(topic, p.id());
        }
    }
    let committed = consumer.committed_offsets(partitions, timeout)?;
    let mut lag = 0i64;
    for p in committed.elements_for_topic(topic) {
        let (low, high) = consumer.fetch_watermarks(topic, p.partition(), timeout)?;
        let from = match p.offset() {
            Offset::Offset(o) => o,
            _ => low,
        };
        lag += (high - from).max(0);
    }
    metrics.lag(topic)?.set(lag);
    Ok(lag)
}
