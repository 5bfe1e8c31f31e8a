//! JetStream: a pull consumer's messages, whose ack / nak / term record
//! the ack state, and the consumer lag.

use super::Error;
use super::kind_type;
use crate::wrappers::{InProcess, Meter};
use crate::{AckState, BrokerMetrics};
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
type Labels = dyn Fn(&Message) -> Vec<String> + Send + Sync;

/// A pull consumer's message stream (`consumer.messages().await?`) that
/// yields [`MeteredJetStreamMessage`]s.
pub struct MeteredMessages {
    inner: PullStream,
    meter: Meter<Labels>,
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
            meter: Meter::new(metrics),
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
        self.meter.set_labels(Box::new(labels));
        self
    }

    /// `message`, counted as received.
    fn receive(&mut self, message: Message) -> Result<MeteredJetStreamMessage, Error> {
        let guard = self
            .meter
            .receive(&message.subject, message.payload.len(), |f| f(&message))?;
        Ok(MeteredJetStreamMessage {
            in_process: InProcess::new(guard, true),
            message,
        })
    }
}

impl Stream for MeteredMessages {
    type Item = Result<MeteredJetStreamMessage, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(|message| message.map(|m| self.receive(m.map_err(|e| Error::Nats(e.into()))?)))
    }
}

/// A JetStream message being processed; settle it with
/// [`ack`](Self::ack), [`nak`](Self::nak) or [`term`](Self::term);
/// processing ends when it is dropped.
pub struct MeteredJetStreamMessage {
    /// First, so processing ends before the message is dropped.
    in_process: InProcess,
    message: Message,
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
        self.in_process.exception(exception_type);
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
        let acked = self.message.ack_with(kind).await;
        self.in_process
            .settled(acked, state, |e| {
                match e.downcast_ref::<async_nats::PublishError>() {
                    Some(p) => kind_type(&p.kind()),
                    None => ACK_ERROR.to_owned(),
                }
            })
            .map_err(Error::Nats)
    }

    /// Processing ends now (as on drop).
    pub fn finish(self) {}
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
