//! The [`Sensor`] trait: one method per event of a stream processor's
//! life, as Faust's `faust.sensors.Sensor` has them.

use crate::clock::Started;
use std::fmt;

/// A topic partition, by its stable name and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition number.
    pub partition: i32,
}

impl<'a> TopicPartition<'a> {
    /// `topic`'s partition `partition`.
    pub const fn new(topic: &'a str, partition: i32) -> Self {
        Self { topic, partition }
    }
}

impl fmt::Display for TopicPartition<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.topic, self.partition)
    }
}

/// The events of a Faust-style stream processor, one method each; every
/// method does nothing unless a sensor overrides it.
///
/// Paired events return a [`Started`] from their first callback that the
/// caller hands to the matching end callback (Faust's `state`): a stream
/// event `in` → `out`, a commit, a send (completed or error), an
/// assignment (completed or error), a rebalance (start → return → end,
/// the same token to both) and a web request. The default start methods
/// return [`Started::UNSET`]; sensors that measure latencies return their
/// clock's now.
///
/// Offsets are Kafka's: a message's own offset for `message_in` and the
/// stream events, the next offset to read for committed offsets and the
/// high watermark.
///
/// Callbacks run on the application's threads, on its hot path: a sensor
/// must not block or allocate per event.
#[allow(unused_variables)]
pub trait Sensor: Send + Sync {
    /// A message was taken from a topic partition (once per message,
    /// however many streams read it).
    fn on_message_in(&self, tp: TopicPartition<'_>, offset: i64) {}

    /// The message's last reference was acknowledged: it is done. Call it
    /// once per `on_message_in`, for the same message.
    fn on_message_out(&self, tp: TopicPartition<'_>, offset: i64) {}

    /// A stream (by its stable name) took an event, before its processors
    /// run.
    fn on_stream_event_in(&self, tp: TopicPartition<'_>, offset: i64, stream: &str) -> Started {
        Started::UNSET
    }

    /// The stream is done with the event; `state` is what `on_stream_event_in`
    /// returned, or [`Started::UNSET`] when it is not known (Faust's
    /// manual `Stream.ack`).
    fn on_stream_event_out(
        &self,
        tp: TopicPartition<'_>,
        offset: i64,
        stream: &str,
        state: Started,
    ) {
    }

    /// The channel of a topic partition is full: the consumer waits for room.
    fn on_topic_buffer_full(&self, tp: TopicPartition<'_>) {}

    /// A key of a table was read.
    fn on_table_get(&self, table: &str) {}

    /// A key of a table was written.
    fn on_table_set(&self, table: &str) {}

    /// A key of a table was deleted.
    fn on_table_del(&self, table: &str) {}

    /// The consumer starts committing offsets.
    fn on_commit_initiated(&self) -> Started {
        Started::UNSET
    }

    /// The commit started at `state` is done.
    fn on_commit_completed(&self, state: Started) {}

    /// The offsets a commit committed (Kafka's next offset to read), per
    /// partition (Faust's `Monitor.on_tp_commit`).
    fn on_tp_commit(&self, offsets: &[(TopicPartition<'_>, i64)]) {}

    /// The high watermark of a partition, as the consumer saw it (Faust's
    /// `track_tp_end_offset`; once per fetched batch is enough).
    fn on_partition_end_offset(&self, tp: TopicPartition<'_>, high_watermark: i64) {}

    /// A record is handed to the producer.
    fn on_send_initiated(&self, topic: &str, key_size: usize, value_size: usize) -> Started {
        Started::UNSET
    }

    /// The send started at `state` was acknowledged.
    fn on_send_completed(&self, topic: &str, state: Started) {}

    /// The send started at `state` failed.
    fn on_send_error(&self, topic: &str, error: &dyn fmt::Display, state: Started) {}

    /// The group leader starts computing a partition assignment.
    fn on_assignment_start(&self) -> Started {
        Started::UNSET
    }

    /// The assignment started at `state` is done.
    fn on_assignment_completed(&self, state: Started) {}

    /// The assignment started at `state` failed.
    fn on_assignment_error(&self, error: &dyn fmt::Display, state: Started) {}

    /// A rebalance starts (partitions revoked).
    fn on_rebalance_start(&self) -> Started {
        Started::UNSET
    }

    /// Partitions taken from this consumer (a rebalance's revoke, before
    /// `on_rebalance_start` or with it): what a sensor knows of their
    /// offsets is no longer this consumer's. The [`Monitor`](crate::Monitor)
    /// forgets their read, committed and end offsets and drops their
    /// offset gauges, so their lag stops counting (counters stay: they
    /// are monotonic). Faust clears its offset maps at every rebalance.
    fn on_partitions_revoked(&self, partitions: &[TopicPartition<'_>]) {}

    /// The consumer replied to the broker: partitions assigned.
    fn on_rebalance_return(&self, state: Started) {}

    /// Tables recovered: the worker is ready again.
    fn on_rebalance_end(&self, state: Started) {}

    /// A web request starts.
    fn on_web_request_start(&self, method: &str, path: &str) -> Started {
        Started::UNSET
    }

    /// The web request started at `state` answered `status`.
    fn on_web_request_end(&self, method: &str, path: &str, status: u16, state: Started) {}

    /// A custom count (Faust's `Monitor.count(name, n)`).
    fn count(&self, name: &str, n: u64) {}
}
