//! The [`Sensor`] trait: one method per event of a stream processor's
//! life, as Faust's `faust.sensors.Sensor` has them.

use crate::clock::Started;
use crate::monitor::Monitor;
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

/// A stream and the task that runs it (Faust's `stream.task_owner`: the
/// agent, or the actor of an agent with concurrency), each by a stable
/// name the application chooses: the stream's topic or channel name, the
/// agent's name (`"orders.process"`, `"orders.process-2"`), never an
/// object's string with its memory address, so that every run and every
/// thread counts under the same key. The [`Monitor`](crate::Monitor)
/// counts events per stream (`events_by_stream`, the
/// `total_events_per_stream` family) and per task (`events_by_task`).
///
/// ```
/// use hotmetrics_sensors::StreamTask;
/// let stream = StreamTask::new("orders", "orders.process");
/// assert_eq!((stream.stream, stream.task), ("orders", "orders.process"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamTask<'a> {
    /// The stream's stable name.
    pub stream: &'a str,
    /// The stable name of the task (agent) that runs the stream.
    pub task: &'a str,
}

impl<'a> StreamTask<'a> {
    /// `stream`, run by `task`.
    pub const fn new(stream: &'a str, task: &'a str) -> Self {
        Self { stream, task }
    }
}

impl fmt::Display for StreamTask<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (task {})", self.stream, self.task)
    }
}

/// The events of a Faust-style stream processor, one method each; every
/// method does nothing unless a sensor overrides it.
///
/// Paired events return a [`Started`] from their first callback that the
/// caller hands to the matching end callback (Faust's `state`; keep it
/// with the message or event): a message `in` → `out`, a stream event
/// `in` → `out`, a commit, a send (completed or error), an
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
///
/// A [`SensorDelegate`](crate::SensorDelegate) recognises a
/// [`Monitor`] when it is added and calls it without dynamic dispatch.
#[allow(unused_variables)]
pub trait Sensor: Send + Sync {
    /// Whether any callback of this sensor does something. A
    /// [`SensorDelegate`](crate::SensorDelegate) asks once, when the
    /// sensor is added, and never calls one that says `false` (a
    /// [`LoggingSensor`](crate::LoggingSensor) with sampling off), so the
    /// answer must not change while the sensor is held. Default `true`.
    fn is_enabled(&self) -> bool {
        true
    }

    /// The sensor as a [`Monitor`], when it is one: how a
    /// [`SensorDelegate`](crate::SensorDelegate) calls a monitor without
    /// dynamic dispatch (and without requiring sensors to be `'static`).
    /// Only `Monitor` overrides it.
    #[doc(hidden)]
    fn as_monitor(&self) -> Option<&Monitor> {
        None
    }

    /// A message was taken from a topic partition (once per message,
    /// however many streams read it). The token goes back to
    /// `on_message_out` (Faust tracks the message itself).
    fn on_message_in(&self, tp: TopicPartition<'_>, offset: i64) -> Started {
        Started::UNSET
    }

    /// The message's last reference was acknowledged: it is done. Call it
    /// once per `on_message_in`, for the same message, with the token
    /// `on_message_in` returned ([`Started::UNSET`] when it was not kept).
    fn on_message_out(&self, tp: TopicPartition<'_>, offset: i64, state: Started) {}

    /// A stream took an event, before its processors run.
    fn on_stream_event_in(
        &self,
        tp: TopicPartition<'_>,
        offset: i64,
        stream: StreamTask<'_>,
    ) -> Started {
        Started::UNSET
    }

    /// The stream is done with the event; `state` is what `on_stream_event_in`
    /// returned, or [`Started::UNSET`] when it is not known (Faust's
    /// manual `Stream.ack`).
    fn on_stream_event_out(
        &self,
        tp: TopicPartition<'_>,
        offset: i64,
        stream: StreamTask<'_>,
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
