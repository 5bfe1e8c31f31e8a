//! JetStream: a pull consumer's messages, whose ack / nak / term record
//! the ack state, and the consumer lag.

use super::Error;
use crate::wrappers::{HandlerCache, end_on_drop, kind_name};
use crate::{AckState, BrokerMetrics, ProcessingGuard};
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::consumer::pull::Stream as PullStream;
use async_nats::jetstream::{AckKind, Message};
use bytes::Bytes;
use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The exception type of a failed ack whose error has no kind.
const ACK_ERROR: &str = "AckError";

/// Computes a message's per-message custom label values.
type LabelsFn = Box<dyn Fn(&Message) -> Vec<String> + Send + Sync>;

/// A pull consumer's message stream (`consumer.messages().await?`) that
/// yields [`MeteredJetStreamMessage`]s.
pub struct MeteredMessages {
    inner: PullStream,
    metrics: BrokerMetrics,
    handlers: HandlerCache,
    labels: Option<LabelsFn>,
}

impl fmt::Debug for MeteredMessages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredMessages").finish_non_exhaustive()
    }
}

impl MeteredMessages {
    /// Wraps a pull consumer's `messages()` stream.
    pub fn new(messages: PullStream, metrics: &BrokerMetrics) -> Self {
        Self {
            inner: messages,
            metrics: metrics.clone(),
            handlers: HandlerCache::default(),
            labels: None,
        }
    }

    /// The values of the builder's
    /// [per-message labels](crate::BrokerMetricsBuilder::per_message_label),
    /// computed from each message. A wrong number of values makes the
    /// stream yield [`Error::Metrics`] in place of that message.
    pub fn per_message_labels(
        mut self,
        labels: impl Fn(&Message) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.labels = Some(Box::new(labels));
        self
    }

    fn receive(&mut self, msg: &Message) -> Result<ProcessingGuard, Error> {
        let values = self.labels.as_ref().map(|f| f(msg));
        let handler = self.handlers.get(&self.metrics, &msg.subject, values)?;
        Ok(handler.receive(msg.payload.len()))
    }
}

impl Stream for MeteredMessages {
    type Item = Result<MeteredJetStreamMessage, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let message = match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(m))) => m,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(Error::Nats(e.into())))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        Poll::Ready(Some(self.receive(&message).map(|guard| {
            MeteredJetStreamMessage {
                message,
                guard: Some(guard),
            }
        })))
    }
}

/// A JetStream message being processed; settle it with
/// [`ack`](Self::ack), [`nak`](Self::nak) or [`term`](Self::term);
/// processing ends when it is dropped.
pub struct MeteredJetStreamMessage {
    message: Message,
    guard: Option<ProcessingGuard>,
}

impl fmt::Debug for MeteredJetStreamMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredJetStreamMessage")
            .field("subject", &self.message.subject)
            .finish_non_exhaustive()
    }
}

impl MeteredJetStreamMessage {
    /// The message (subject, headers, payload, `info()`).
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.message.payload
    }

    /// Counts one exception of `exception_type`; processing goes on.
    pub fn exception(&mut self, exception_type: &str) {
        if let Some(g) = &mut self.guard {
            g.exception(exception_type);
        }
    }

    /// Acks it: the ack state `acked`.
    pub async fn ack(&mut self) -> Result<(), Error> {
        self.settle(AckKind::Ack, AckState::Acked).await
    }

    /// Naks it (redelivered after `delay`, or at once): `nacked`.
    pub async fn nak(&mut self, delay: Option<std::time::Duration>) -> Result<(), Error> {
        self.settle(AckKind::Nak(delay), AckState::Nacked).await
    }

    /// Terminates it (never redelivered): `rejected`.
    pub async fn term(&mut self) -> Result<(), Error> {
        self.settle(AckKind::Term, AckState::Rejected).await
    }

    async fn settle(&mut self, kind: AckKind, state: AckState) -> Result<(), Error> {
        match self.message.ack_with(kind).await {
            Ok(()) => {
                if let Some(g) = &mut self.guard {
                    g.settle(state);
                }
                Ok(())
            }
            Err(e) => {
                let ty = match e.downcast_ref::<async_nats::PublishError>() {
                    Some(p) => kind_name(&p.kind()),
                    None => ACK_ERROR.to_owned(),
                };
                self.exception(&ty);
                Err(Error::Nats(e))
            }
        }
    }

    /// Processing ends now (as on drop).
    pub fn finish(self) {}
}

impl Drop for MeteredJetStreamMessage {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            end_on_drop(guard, true);
        }
    }
}

/// Sets the lag gauge of `consumer` (handler label: the consumer's name)
/// to its `num_pending` as the server reports it now: the stream's
/// messages the consumer has not delivered yet. Returns it.
pub async fn record_consumer_lag(
    consumer: &PullConsumer,
    metrics: &BrokerMetrics,
) -> Result<u64, Error> {
    let info = consumer
        .get_info()
        .await
        .map_err(|e| Error::Nats(Box::new(e)))?;
    let pending = info.num_pending;
    metrics
        .lag(&info.name)?
        .set(i64::try_from(pending).unwrap_or(i64::MAX));
    Ok(pending)
}
