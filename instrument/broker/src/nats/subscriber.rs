//! Core NATS: a subscription whose messages record what FastStream
//! records.

use super::{Error, INBOX_PREFIX};
use crate::BrokerMetrics;
use crate::wrappers::{InProcess, Meter};
use async_nats::{Message, Subscriber};
use bytes::Bytes;
use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Computes a message's per-message custom label values.
type Labels = dyn Fn(&Message) -> Vec<String> + Send + Sync;

/// An `async_nats::Subscriber` that yields [`MeteredMessage`]s; a `Stream`
/// as the subscriber is. From [`new`](MeteredSubscriber::new), or
/// [`from_stream`](Self::from_stream) for any stream of NATS messages.
pub struct MeteredSubscriber<S = Subscriber> {
    inner: S,
    meter: Meter<Labels>,
}

impl<S> fmt::Debug for MeteredSubscriber<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredSubscriber").finish_non_exhaustive()
    }
}

impl MeteredSubscriber<Subscriber> {
    /// Wraps `subscriber`.
    pub fn new(subscriber: Subscriber, metrics: &BrokerMetrics) -> Self {
        Self::from_stream(subscriber, metrics)
    }

    /// The subscriber, to unsubscribe or drain it.
    pub fn subscriber_mut(&mut self) -> &mut Subscriber {
        &mut self.inner
    }
}

impl<S> MeteredSubscriber<S> {
    /// Wraps a stream of NATS messages.
    pub fn from_stream(stream: S, metrics: &BrokerMetrics) -> Self {
        Self {
            inner: stream,
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

    /// `message`, counted as received unless it is a reply on an inbox
    /// subject.
    fn receive(&mut self, message: Message) -> Result<MeteredMessage, Error> {
        let in_process = if message.subject.starts_with(INBOX_PREFIX) {
            InProcess::uncounted()
        } else {
            let guard = self
                .meter
                .receive(&message.subject, message.payload.len(), |f| f(&message))?;
            InProcess::new(guard, false)
        };
        Ok(MeteredMessage {
            in_process,
            message,
        })
    }
}

impl<S> Stream for MeteredSubscriber<S>
where
    S: Stream<Item = Message> + Unpin,
{
    type Item = Result<MeteredMessage, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(|message| message.map(|m| self.receive(m)))
    }
}

/// A core NATS message being processed; processing ends when it is
/// dropped (or [`finish`](Self::finish)ed): `acked`, or `error` after an
/// exception.
pub struct MeteredMessage {
    /// First, so processing ends before the message is dropped.
    in_process: InProcess,
    message: Message,
}

impl fmt::Debug for MeteredMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredMessage")
            .field("subject", &self.message.subject)
            .field("counted", &self.in_process.is_counted())
            .finish_non_exhaustive()
    }
}

impl MeteredMessage {
    /// The message: subject, reply subject, headers, payload.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.message.payload
    }

    /// Whether it is counted (not a reply on an inbox subject).
    pub fn is_counted(&self) -> bool {
        self.in_process.is_counted()
    }

    /// Counts one exception of `exception_type`; processing goes on, and
    /// the status will be `error`.
    pub fn exception(&mut self, exception_type: &str) {
        self.in_process.exception(exception_type);
    }

    /// Processing ends now (as on drop).
    pub fn finish(self) {}
}
