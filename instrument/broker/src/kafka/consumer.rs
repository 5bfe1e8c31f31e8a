//! The consumer side: a `StreamConsumer` whose messages record what
//! FastStream records, their ack state from the offset commit.

use super::{Error, exception_type};
use crate::wrappers::{InProcess, Meter};
use crate::{AckState, BrokerMetrics};
use rdkafka::consumer::{
    CommitMode, Consumer, ConsumerContext, DefaultConsumerContext, StreamConsumer,
};
use rdkafka::message::BorrowedMessage;
use rdkafka::util::DefaultRuntime;
use rdkafka::{Message, Offset};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Computes a message's per-message custom label values.
type Labels = dyn Fn(&BorrowedMessage<'_>) -> Vec<String> + Send + Sync;

/// A `StreamConsumer` whose [`recv`](Self::recv) yields
/// [`MeteredKafkaMessage`]s; shared as the consumer is (`&self`).
pub struct MeteredStreamConsumer<C = DefaultConsumerContext, R = DefaultRuntime>
where
    C: ConsumerContext + 'static,
{
    inner: StreamConsumer<C, R>,
    /// Held for one lookup per message.
    meter: Mutex<Meter<Labels>>,
    auto_commit: bool,
}

impl<C: ConsumerContext + 'static, R> fmt::Debug for MeteredStreamConsumer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredStreamConsumer")
            .field("auto_commit", &self.auto_commit)
            .finish_non_exhaustive()
    }
}

impl<C: ConsumerContext + 'static, R> MeteredStreamConsumer<C, R> {
    /// Wraps `consumer` (made with `enable.auto.commit=false`: messages
    /// are settled with [`MeteredKafkaMessage::ack`] and the like; else
    /// say [`auto_commit`](Self::auto_commit)).
    pub fn new(consumer: StreamConsumer<C, R>, metrics: &BrokerMetrics) -> Self {
        Self {
            inner: consumer,
            meter: Mutex::new(Meter::new(metrics)),
            auto_commit: false,
        }
    }

    /// Says the consumer commits by itself (`enable.auto.commit`): each
    /// message is `acked`, plus the exceptions its handling counts.
    pub fn auto_commit(mut self) -> Self {
        self.auto_commit = true;
        self
    }

    /// The values of the builder's
    /// [per-message labels](crate::BrokerMetricsBuilder::per_message_label),
    /// computed from each message, in declaration order. A wrong number of
    /// values makes [`recv`](Self::recv) return [`Error::Metrics`] for that
    /// message: it is not counted, nor committed.
    pub fn per_message_labels(
        mut self,
        labels: impl Fn(&BorrowedMessage<'_>) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.meter
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .set_labels(Box::new(labels));
        self
    }

    /// The consumer (subscribe, assignment, positions, the lag).
    pub fn consumer(&self) -> &StreamConsumer<C, R> {
        &self.inner
    }

    /// The next message, counted as received; a consumer error is
    /// [`Error::Kafka`], as `StreamConsumer::recv` returns it.
    pub async fn recv(&self) -> Result<MeteredKafkaMessage<'_, C, R>, Error> {
        let message = self.inner.recv().await?;
        let mut guard = self
            .meter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .receive(message.topic(), message.payload_len(), |f| f(&message))?;
        if self.auto_commit {
            guard.settle(AckState::Acked);
        }
        Ok(MeteredKafkaMessage {
            in_process: InProcess::new(guard, !self.auto_commit),
            consumer: &self.inner,
            message,
        })
    }
}

/// A message being processed; from [`MeteredStreamConsumer::recv`].
/// Settle it with [`ack`](Self::ack), [`reject`](Self::reject) or
/// [`nack`](Self::nack), or [`skip`](Self::skip) it; processing ends when
/// it is dropped.
pub struct MeteredKafkaMessage<'a, C = DefaultConsumerContext, R = DefaultRuntime>
where
    C: ConsumerContext + 'static,
{
    /// First, so processing ends before the message is dropped.
    in_process: InProcess,
    consumer: &'a StreamConsumer<C, R>,
    message: BorrowedMessage<'a>,
}

impl<C: ConsumerContext + 'static, R> fmt::Debug for MeteredKafkaMessage<'_, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredKafkaMessage")
            .field("topic", &self.message.topic())
            .field("partition", &self.message.partition())
            .field("offset", &self.message.offset())
            .finish_non_exhaustive()
    }
}

impl<'a, C: ConsumerContext + 'static, R> MeteredKafkaMessage<'a, C, R> {
    /// The message: topic, partition, offset, key, headers, payload.
    pub fn message(&self) -> &BorrowedMessage<'a> {
        &self.message
    }

    /// The payload (none: empty).
    pub fn payload(&self) -> &[u8] {
        self.message.payload().unwrap_or_default()
    }

    /// Counts one exception of `exception_type`; processing goes on.
    pub fn exception(&mut self, exception_type: &str) {
        self.in_process.exception(exception_type);
    }

    /// Commits the message's offset without waiting (librdkafka's
    /// `CommitMode::Async`: queued, never blocks, so it is the one to call
    /// in an async task): the ack state `acked`. An error librdkafka gives
    /// at once (no consumer group, say) counts one exception (its code) and
    /// is returned. A commit the broker fails later is reported to the
    /// consumer context's
    /// [`commit_callback`](rdkafka::consumer::ConsumerContext::commit_callback)
    /// as the consumer is next polled, and is not counted: the message stays
    /// `acked`, and the next commit on its partition covers its offset (a
    /// commit is the position, so it covers every offset before it). To
    /// count that error, use [`ack_sync`](Self::ack_sync).
    pub fn ack(&mut self) -> Result<(), Error> {
        self.commit(CommitMode::Async, AckState::Acked)
    }

    /// Commits the message's offset and waits for the broker's answer
    /// (librdkafka's `CommitMode::Sync`: it blocks the calling thread, so
    /// call it from a blocking thread, `tokio::task::spawn_blocking` or
    /// `block_in_place`, not on an async worker): the ack state `acked`, or,
    /// when the commit fails, one exception (its code) and the error. For
    /// when the commit's error must be counted; else [`ack`](Self::ack).
    pub fn ack_sync(&mut self) -> Result<(), Error> {
        self.commit(CommitMode::Sync, AckState::Acked)
    }

    /// Commits the message's offset without waiting, as
    /// [`ack`](Self::ack), and records `acked`: FastStream's Kafka `reject`
    /// is its `ack` (the message is not delivered again).
    pub fn reject(&mut self) -> Result<(), Error> {
        self.commit(CommitMode::Async, AckState::Acked)
    }

    fn commit(&mut self, mode: CommitMode, state: AckState) -> Result<(), Error> {
        if self.in_process.is_settled() {
            return Ok(());
        }
        let committed = self.consumer.commit_message(&self.message, mode);
        self.in_process
            .settled(committed, state, exception_type)
            .map_err(Error::Kafka)
    }

    /// Seeks its partition back to the message, so that the consumer
    /// receives it again (waiting up to `timeout`), and records `nacked`,
    /// as FastStream's Kafka `nack`. A seek that fails counts one
    /// exception (its code) and returns the error.
    pub fn nack(&mut self, timeout: Duration) -> Result<(), Error> {
        if self.in_process.is_settled() {
            return Ok(());
        }
        let seek = self.consumer.seek(
            self.message.topic(),
            self.message.partition(),
            Offset::Offset(self.message.offset()),
            timeout,
        );
        self.in_process
            .settled(seek, AckState::Nacked, exception_type)
            .map_err(Error::Kafka)
    }

    /// Processing ends with status `skipped` (FastStream's
    /// `SkipMessage`), unless the message was settled or raised; nothing
    /// is committed.
    pub fn skip(mut self) {
        self.in_process.skip();
    }

    /// Processing ends now (as on drop).
    pub fn finish(self) {}
}
