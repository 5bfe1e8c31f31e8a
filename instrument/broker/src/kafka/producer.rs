//! Publishing: `FutureProducer::send`, recorded as FastStream records a
//! publish, until the delivery report.

use super::{Error, exception_type};
use crate::BrokerMetrics;
use crate::wrappers::DestinationCache;
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::message::ToBytes;
use rdkafka::producer::future_producer::Delivery;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::{AsyncRuntime, DefaultRuntime, Timeout};
use std::fmt;

/// A `FutureProducer` whose [`send`](Self::send) records FastStream's
/// `published_*` families (destination: the topic); share it (`&self`).
pub struct MeteredFutureProducer<C = DefaultClientContext, R = DefaultRuntime>
where
    C: ClientContext + 'static,
{
    inner: FutureProducer<C, R>,
    metrics: BrokerMetrics,
    destinations: DestinationCache,
}

impl<C: ClientContext + 'static, R> fmt::Debug for MeteredFutureProducer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredFutureProducer")
            .finish_non_exhaustive()
    }
}

impl<C: ClientContext + 'static, R: AsyncRuntime> MeteredFutureProducer<C, R> {
    /// Wraps `producer`.
    pub fn new(producer: FutureProducer<C, R>, metrics: &BrokerMetrics) -> Self {
        Self {
            inner: producer,
            metrics: metrics.clone(),
            destinations: DestinationCache::default(),
        }
    }

    /// The producer (flush, transactions, ...; send through
    /// [`send`](Self::send)).
    pub fn producer(&self) -> &FutureProducer<C, R> {
        &self.inner
    }

    /// `FutureProducer::send`: the message's partition and offset once
    /// the broker has it, `success`; a send the producer refuses (over
    /// `message.max.bytes`, a queue still full after `queue_timeout`) or
    /// the broker fails is `error` with the error's code, and
    /// [`Error::Send`] gives the message back.
    pub async fn send<K, P, T>(
        &self,
        record: FutureRecord<'_, K, P>,
        queue_timeout: T,
    ) -> Result<Delivery, Error>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
        T: Into<Timeout>,
    {
        let send = self
            .destinations
            .get(&self.metrics, record.topic)?
            .publish();
        match self.inner.send(record, queue_timeout).await {
            Ok(delivery) => {
                send.success();
                Ok(delivery)
            }
            Err((e, message)) => {
                send.error(&exception_type(&e));
                Err(Error::Send(e, Box::new(message)))
            }
        }
    }
}
