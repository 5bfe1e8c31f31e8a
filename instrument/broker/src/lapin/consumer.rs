//! The consumer side: a `lapin::Consumer` whose deliveries record what
//! FastStream records, and the queue lag.

use super::{Error, destination_name, exception_type};
use crate::wrappers::{HandlerCache, end_on_drop};
use crate::{AckState, BrokerMetrics, ProcessingGuard};
use ::lapin::message::Delivery;
use ::lapin::options::{
    BasicAckOptions, BasicNackOptions, BasicRejectOptions, QueueDeclareOptions,
};
use ::lapin::types::FieldTable;
use ::lapin::{Channel, Consumer};
use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The pseudo-queue of RabbitMQ's direct reply-to: what arrives there
/// answers a request this process made, and is not counted.
const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// Computes a delivery's per-message custom label values.
type LabelsFn = Box<dyn Fn(&Delivery) -> Vec<String> + Send + Sync>;

/// A `lapin::Consumer` that yields [`MeteredDelivery`]s; a `Stream` as the
/// consumer is. From [`new`](Self::new).
pub struct MeteredConsumer {
    inner: Consumer,
    metrics: BrokerMetrics,
    handlers: HandlerCache,
    /// The handler name of the delivery at hand, reused.
    name: String,
    labels: Option<LabelsFn>,
    no_ack: bool,
    /// Whether the queue is the direct reply-to pseudo-queue.
    replies: bool,
}

impl fmt::Debug for MeteredConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredConsumer")
            .field("queue", &self.inner.queue())
            .field("no_ack", &self.no_ack)
            .finish_non_exhaustive()
    }
}

impl MeteredConsumer {
    /// Wraps `consumer` (from `basic_consume` without `no_ack`: deliveries
    /// are settled with [`MeteredDelivery::ack`] and the like).
    pub fn new(consumer: Consumer, metrics: &BrokerMetrics) -> Self {
        let replies = consumer.queue().as_str() == DIRECT_REPLY_TO;
        Self {
            inner: consumer,
            metrics: metrics.clone(),
            handlers: HandlerCache::default(),
            name: String::new(),
            labels: None,
            no_ack: false,
            replies,
        }
    }

    /// Says the consumer was made with `no_ack`: the broker acked each
    /// message on delivery, so each is `acked` (plus the exceptions its
    /// handling counts).
    pub fn no_ack(mut self) -> Self {
        self.no_ack = true;
        self
    }

    /// The values of the builder's
    /// [per-message labels](crate::BrokerMetricsBuilder::per_message_label),
    /// computed from each delivery, in declaration order. A wrong number of
    /// values makes the stream yield [`Error::Metrics`] for that delivery
    /// (which is then not counted, and is yielded no more).
    pub fn per_message_labels(
        mut self,
        labels: impl Fn(&Delivery) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.labels = Some(Box::new(labels));
        self
    }

    /// The consumer, to cancel it or read its tag.
    pub fn consumer(&self) -> &Consumer {
        &self.inner
    }

    /// Sets the lag gauge of the consumer's queue to its message count
    /// ([`record_queue_lag`]).
    pub async fn record_lag(&self, channel: &Channel) -> Result<u32, Error> {
        record_queue_lag(channel, &self.metrics, self.inner.queue().as_str()).await
    }

    /// A guard for `delivery`, from its handler's series (resolved on the
    /// handler's first message).
    fn receive(&mut self, delivery: &Delivery) -> Result<ProcessingGuard, Error> {
        destination_name(
            &mut self.name,
            delivery.exchange.as_str(),
            delivery.routing_key.as_str(),
        );
        let values = self.labels.as_ref().map(|f| f(delivery));
        let handler = self.handlers.get(&self.metrics, &self.name, values)?;
        let mut guard = handler.receive(delivery.data.len());
        if self.no_ack {
            guard.settle(AckState::Acked);
        }
        Ok(guard)
    }
}

impl Stream for MeteredConsumer {
    type Item = Result<MeteredDelivery, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let delivery = match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(d))) => d,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if self.replies {
            return Poll::Ready(Some(Ok(MeteredDelivery {
                delivery,
                guard: None,
            })));
        }
        let guard = match self.receive(&delivery) {
            Ok(g) => g,
            Err(e) => return Poll::Ready(Some(Err(e))),
        };
        Poll::Ready(Some(Ok(MeteredDelivery {
            delivery,
            guard: Some(guard),
        })))
    }
}

/// A delivery being processed; from [`MeteredConsumer`]. Settle it through
/// its methods (settling through [`delivery`](Self::delivery)'s acker
/// bypasses the metrics); processing ends when it is dropped.
pub struct MeteredDelivery {
    delivery: Delivery,
    /// `None` for an RPC reply, which is not counted.
    guard: Option<ProcessingGuard>,
}

impl fmt::Debug for MeteredDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredDelivery")
            .field("delivery_tag", &self.delivery.delivery_tag)
            .field("exchange", &self.delivery.exchange)
            .field("routing_key", &self.delivery.routing_key)
            .field("counted", &self.guard.is_some())
            .finish_non_exhaustive()
    }
}

impl MeteredDelivery {
    /// The delivery: exchange, routing key, properties, body.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// The body.
    pub fn data(&self) -> &[u8] {
        &self.delivery.data
    }

    /// Whether it is counted (not an RPC reply).
    pub fn is_counted(&self) -> bool {
        self.guard.is_some()
    }

    /// Counts one exception of `exception_type`; processing goes on.
    pub fn exception(&mut self, exception_type: &str) {
        if let Some(g) = &mut self.guard {
            g.exception(exception_type);
        }
    }

    /// `basic.ack`, and the ack state `acked`. `Ok(false)`: lapin had
    /// settled it already (nothing recorded).
    pub async fn ack(&mut self, options: BasicAckOptions) -> Result<bool, Error> {
        let r = self.delivery.acker.ack(options).await;
        self.settled(r, AckState::Acked)
    }

    /// `basic.nack`, and the ack state `nacked`.
    pub async fn nack(&mut self, options: BasicNackOptions) -> Result<bool, Error> {
        let r = self.delivery.acker.nack(options).await;
        self.settled(r, AckState::Nacked)
    }

    /// `basic.reject`, and the ack state `rejected`.
    pub async fn reject(&mut self, options: BasicRejectOptions) -> Result<bool, Error> {
        let r = self.delivery.acker.reject(options).await;
        self.settled(r, AckState::Rejected)
    }

    fn settled(&mut self, r: ::lapin::Result<bool>, state: AckState) -> Result<bool, Error> {
        match r {
            Ok(true) => {
                if let Some(g) = &mut self.guard {
                    g.settle(state);
                }
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) => {
                self.exception(&exception_type(&e));
                Err(e.into())
            }
        }
    }

    /// Processing ends now (as on drop).
    pub fn finish(self) {}
}

impl Drop for MeteredDelivery {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            end_on_drop(guard, true);
        }
    }
}

/// Sets the lag gauge of `queue` (handler label: the queue's name) to the
/// message count a passive `queue.declare` reports: ready messages, not
/// those delivered and unacked. Returns the count.
pub async fn record_queue_lag(
    channel: &Channel,
    metrics: &BrokerMetrics,
    queue: &str,
) -> Result<u32, Error> {
    let q = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    let count = q.message_count();
    metrics.lag(queue)?.set(i64::from(count));
    Ok(count)
}
