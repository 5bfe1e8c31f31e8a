//! The consumer side: a `StreamConsumer` whose messages record what
//! FastStream records, their ack state from the offset commit.

use super::{Error, exception_type};
use crate::wrappers::{HandlerCache, end_on_drop};
use crate::{AckState, BrokerMetrics, Outcome, ProcessingGuard};
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
type LabelsFn = Box<dyn Fn(&BorrowedMessage<'_>) -> Vec<String> + Send + Sync>;

/// A `StreamConsumer` whose [`recv`](Self::recv) yields
/// [`MeteredKafkaMessage`]s; shared as the consumer is (`&self`).
pub struct MeteredStreamConsumer<C = DefaultConsumerContext, R = DefaultRuntime>
where
    C: ConsumerContext + 'static,
{
    inner: StreamConsumer<C, R>,
    metrics: BrokerMetrics,
    /// Held for one lookup per message.
    handlers: Mutex<HandlerCache>,
    labels: Option<LabelsFn>,
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
            metrics: metrics.clone(),
            handlers: Mutex::default(),
            labels: None,
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
        self.labels = Some(Box::new(labels));
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
        let values = self.labels.as_ref().map(|f| f(&message));
        let size = message.payload_len();
        let mut guard = self
            .handlers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&self.metrics, message.topic(), values)?
            .receive(size);
        if self.auto_commit {
            guard.settle(AckState::Acked);
        }
        Ok(MeteredKafkaMessage {
            consumer: &self.inner,
            message,
            guard: Some(guard),
            must_settle: !self.auto_commit,
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
    consumer: &'a StreamConsumer<C, R>,
    message: BorrowedMessage<'a>,
    guard: Option<ProcessingGuard>,
    must_settle: bool,
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
        if let Some(g) = &mut self.guard {
            g.exception(exception_type);
        }
    }

    /// Commits the message's offset (`mode`: `Sync` waits for the broker,
    /// blocking the thread as rdkafka's commit does; `Async` only queues
    /// it): the ack state `acked`. A commit that fails counts one
    /// exception (its code) and returns the error.
    pub fn ack(&mut self, mode: CommitMode) -> Result<(), Error> {
        self.commit(mode, AckState::Acked)
    }

    /// Commits the message's offset, as [`ack`](Self::ack), and records
    /// `acked`: FastStream's Kafka `reject` is its `ack` (the message is
    /// not delivered again).
    pub fn reject(&mut self, mode: CommitMode) -> Result<(), Error> {
        self.commit(mode, AckState::Acked)
    }

    fn commit(&mut self, mode: CommitMode, state: AckState) -> Result<(), Error> {
        if self.settled() {
            return Ok(());
        }
        match self.consumer.commit_message(&self.message, mode) {
            Ok(()) => {
                self.settle(state);
                Ok(())
            }
            Err(e) => {
                self.exception(&exception_type(&e));
                Err(Error::Kafka(e))
            }
        }
    }

    /// Seeks its partition back to the message, so that the consumer
    /// receives it again (waiting up to `timeout`), and records `nacked`,
    /// as FastStream's Kafka `nack`. A seek that fails counts one
    /// exception (its code) and returns the error.
    pub fn nack(&mut self, timeout: Duration) -> Result<(), Error> {
        if self.settled() {
            return Ok(());
        }
        let seek = self.consumer.seek(
            self.message.topic(),
            self.message.partition(),
            Offset::Offset(self.message.offset()),
            timeout,
        );
        match seek {
            Ok(()) => {
                self.settle(AckState::Nacked);
                Ok(())
            }
            Err(e) => {
                self.exception(&exception_type(&e));
                Err(Error::Kafka(e))
            }
        }
    }

    /// Processing ends with status `skipped` (FastStream's
    /// `SkipMessage`), unless the message was settled or raised; nothing
    /// is committed.
    pub fn skip(mut self) {
        if let Some(g) = self.guard.take() {
            g.finish(Outcome::Skipped);
        }
    }

    /// Processing ends now (as on drop).
    pub fn finish(self) {}

    fn settled(&self) -> bool {
        self.guard.as_ref().is_some_and(|g| g.ack_state().is_some())
    }

    fn settle(&mut self, state: AckState) {
        if let Some(g) = &mut self.guard {
            g.settle(state);
        }
    }
}

impl<C: ConsumerContext + 'static, R> Drop for MeteredKafkaMessage<'_, C, R> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            end_on_drop(guard, self.must_settle);
        }
    }
}
