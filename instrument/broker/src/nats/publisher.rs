//! Publishing: core NATS publishes and JetStream publishes (until the
//! stream's ack), recorded as FastStream records a publish; replies, not.

use super::{Error, exception_type};
use crate::BrokerMetrics;
use crate::wrappers::DestinationCache;
use async_nats::jetstream::Context;
use async_nats::jetstream::publish::PublishAck;
use async_nats::{Client, Message, Subject};
use bytes::Bytes;
use std::fmt;

/// An `async_nats::Client` whose publishes record FastStream's
/// `published_*` families; share it (`&self` methods).
pub struct MeteredPublisher {
    client: Client,
    metrics: BrokerMetrics,
    destinations: DestinationCache,
}

impl fmt::Debug for MeteredPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredPublisher").finish_non_exhaustive()
    }
}

impl MeteredPublisher {
    /// Wraps `client`.
    pub fn new(client: Client, metrics: &BrokerMetrics) -> Self {
        Self {
            client,
            metrics: metrics.clone(),
            destinations: DestinationCache::default(),
        }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Publishes `payload` to `subject` (handed to the client, which sends
    /// it with its next flush): destination `subject`, `success`, or
    /// `error` with the error's kind (`InvalidSubject`,
    /// `MaxPayloadExceeded`, `Send`).
    pub async fn publish(&self, subject: &str, payload: Bytes) -> Result<(), Error> {
        let send = self.destinations.get(&self.metrics, subject)?.publish();
        match self.client.publish(Subject::from(subject), payload).await {
            Ok(()) => {
                send.success();
                Ok(())
            }
            Err(e) => {
                send.error(&exception_type(&e));
                Err(Error::Nats(Box::new(e)))
            }
        }
    }

    /// Answers `request` on its reply subject, not counted (FastStream does
    /// not count the reply of an RPC). `Ok(false)` when it asked for no
    /// reply.
    pub async fn respond(&self, request: &Message, payload: Bytes) -> Result<bool, Error> {
        let Some(reply) = &request.reply else {
            return Ok(false);
        };
        self.client
            .publish(reply.clone(), payload)
            .await
            .map_err(|e| Error::Nats(Box::new(e)))?;
        Ok(true)
    }
}

/// A JetStream context whose publishes record FastStream's `published_*`
/// families, each until the stream acks it; share it (`&self` methods).
pub struct MeteredJetStream {
    context: Context,
    metrics: BrokerMetrics,
    destinations: DestinationCache,
}

impl fmt::Debug for MeteredJetStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredJetStream").finish_non_exhaustive()
    }
}

impl MeteredJetStream {
    /// Wraps `context`.
    pub fn new(context: Context, metrics: &BrokerMetrics) -> Self {
        Self {
            context,
            metrics: metrics.clone(),
            destinations: DestinationCache::default(),
        }
    }

    /// The context.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Publishes `payload` to `subject` and waits for the stream's ack:
    /// destination `subject`, its duration, `success`, or `error` with the
    /// error's kind (`StreamNotFound` when no stream takes the subject,
    /// `TimedOut`, ...).
    pub async fn publish(&self, subject: &str, payload: Bytes) -> Result<PublishAck, Error> {
        let send = self.destinations.get(&self.metrics, subject)?.publish();
        let acked = match self.context.publish(subject.to_owned(), payload).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        match acked {
            Ok(ack) => {
                send.success();
                Ok(ack)
            }
            Err(e) => {
                send.error(&exception_type(&e));
                Err(Error::Nats(Box::new(e)))
            }
        }
    }
}
