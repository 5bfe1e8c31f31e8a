//! The consumer side: a `lapin::Consumer` whose deliveries record what
//! FastStream records, and the queue lag.

use super::{Error, destination_name, exception_type};
use crate::wrappers::{InProcess, Meter};
use crate::{AckState, BrokerMetrics};
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

/// The exception type of a settlement lapin refuses because the
/// delivery's channel closed (or failed) with the message in flight.
pub(crate) const CHANNEL_CLOSED: &str = "ChannelClosed";

/// Computes a delivery's per-message custom label values.
type Labels = dyn Fn(&Delivery) -> Vec<String> + Send + Sync;

/// A `lapin::Consumer` that yields [`MeteredDelivery`]s; a `Stream` as the
/// consumer is. From [`new`](MeteredConsumer::new), or
/// [`from_stream`](Self::from_stream) for any stream of lapin deliveries
/// (a consumer behind a combinator, mock deliveries in a test).
pub struct MeteredConsumer<S = Consumer> {
    inner: S,
    /// The queue consumed.
    queue: String,
    meter: Meter<Labels>,
    /// The handler name of the delivery at hand, reused.
    name: String,
    no_ack: bool,
    /// Whether the queue is the direct reply-to pseudo-queue.
    replies: bool,
}

impl<S> fmt::Debug for MeteredConsumer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredConsumer")
            .field("queue", &self.queue)
            .field("no_ack", &self.no_ack)
            .finish_non_exhaustive()
    }
}

impl MeteredConsumer<Consumer> {
    /// Wraps `consumer` (from `basic_consume` without `no_ack`: deliveries
    /// are settled with [`MeteredDelivery::ack`] and the like).
    pub fn new(consumer: Consumer, metrics: &BrokerMetrics) -> Self {
        let queue = consumer.queue();
        Self::from_stream(consumer, queue.as_str(), metrics)
    }

    /// The consumer, to cancel it or read its tag.
    pub fn consumer(&self) -> &Consumer {
        &self.inner
    }
}

impl<S> MeteredConsumer<S> {
    /// Wraps a stream of the deliveries of `queue`.
    pub fn from_stream(stream: S, queue: &str, metrics: &BrokerMetrics) -> Self {
        Self {
            inner: stream,
            queue: queue.to_owned(),
            meter: Meter::new(metrics),
            name: String::new(),
            no_ack: false,
            replies: queue == DIRECT_REPLY_TO,
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
    /// values makes the stream yield [`Error::Metrics`] in place of that
    /// delivery: it is not counted and, unsettled, the broker delivers it
    /// again once the channel closes.
    pub fn per_message_labels(
        mut self,
        labels: impl Fn(&Delivery) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.meter.set_labels(Box::new(labels));
        self
    }

    /// Sets the lag gauge of the consumer's queue to its message count
    /// ([`record_queue_lag`]).
    pub async fn record_lag(&self, channel: &Channel) -> Result<u32, Error> {
        record_queue_lag(channel, self.meter.metrics(), &self.queue).await
    }

    /// `delivery`, counted as received in its handler's series (resolved on
    /// the handler's first message), unless it is an RPC reply.
    fn receive(&mut self, delivery: Delivery) -> Result<MeteredDelivery, Error> {
        if self.replies {
            return Ok(MeteredDelivery {
                in_process: InProcess::uncounted(),
                delivery,
            });
        }
        destination_name(
            &mut self.name,
            delivery.exchange.as_str(),
            delivery.routing_key.as_str(),
        );
        let mut guard = self
            .meter
            .receive(&self.name, delivery.data.len(), |f| f(&delivery))?;
        if self.no_ack {
            guard.settle(AckState::Acked);
        }
        Ok(MeteredDelivery {
            in_process: InProcess::new(guard, true),
            delivery,
        })
    }
}

impl<S> Stream for MeteredConsumer<S>
where
    S: Stream<Item = ::lapin::Result<Delivery>> + Unpin,
{
    type Item = Result<MeteredDelivery, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(|delivery| delivery.map(|d| self.receive(d?)))
    }
}

/// A delivery being processed; from [`MeteredConsumer`]. Settle it through
/// its methods (settling through [`delivery`](Self::delivery)'s acker
/// bypasses the metrics); processing ends when it is dropped.
pub struct MeteredDelivery {
    /// First, so processing ends before the delivery is dropped.
    in_process: InProcess,
    delivery: Delivery,
}

impl fmt::Debug for MeteredDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredDelivery")
            .field("delivery_tag", &self.delivery.delivery_tag)
            .field("exchange", &self.delivery.exchange)
            .field("routing_key", &self.delivery.routing_key)
            .field("counted", &self.in_process.is_counted())
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
        self.in_process.is_counted()
    }

    /// Counts one exception of `exception_type`; processing goes on.
    pub fn exception(&mut self, exception_type: &str) {
        self.in_process.exception(exception_type);
    }

    /// `basic.ack`, and the ack state `acked`. `Ok(false)`: lapin refused,
    /// as it was settled already (nothing recorded), or as its channel
    /// closed with the message in flight (one exception `ChannelClosed`;
    /// the broker delivers it again, counted again then).
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
                self.in_process.settle(state);
                Ok(true)
            }
            // Refused: settled before (nothing to record), or the
            // delivery's channel closed with the message in flight.
            Ok(false) => {
                if self.delivery.acker.poisoned() {
                    self.exception(CHANNEL_CLOSED);
                }
                Ok(false)
            }
            Err(e) => {
                self.exception(&exception_type(&e));
                Err(e.into())
            }
        }
    }

    /// Processing ends now (as on drop).
    pub fn finish(self) {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Broker;
    use futures_util::StreamExt;
    use hotmetrics_core::Registry;

    fn mock(tag: u64, exchange: &str, routing_key: &str) -> ::lapin::Result<Delivery> {
        Ok(Delivery::mock(
            tag,
            exchange.into(),
            routing_key.into(),
            false,
            b"body".to_vec(),
        ))
    }

    fn processed(registry: &Registry, handler: &str, status: &str, extra: &[(&str, &str)]) -> f64 {
        let mut labels = vec![
            ("app_name", "faststream"),
            ("broker", "rabbitmq"),
            ("handler", handler),
            ("status", status),
        ];
        labels.extend_from_slice(extra);
        registry
            .snapshot()
            .counter("faststream_received_processed_messages", &labels)
            .unwrap_or(0.0)
    }

    #[tokio::test]
    async fn no_ack_deliveries_are_acked_and_exceptions_add_to_it() {
        let registry = Registry::new();
        let metrics = BrokerMetrics::new(&registry, Broker::Rabbit).unwrap();
        let stream = futures_util::stream::iter([mock(1, "", "q"), mock(2, "ex", "k")]);
        let mut consumer = MeteredConsumer::from_stream(stream, "q", &metrics).no_ack();
        let mut first = consumer.next().await.unwrap().unwrap();
        first.exception("ValueError");
        drop(first);
        consumer.next().await.unwrap().unwrap().finish();
        assert!(consumer.next().await.is_none());
        assert_eq!(processed(&registry, "default.q", "acked", &[]), 1.0);
        assert_eq!(processed(&registry, "ex.k", "acked", &[]), 1.0);
        assert_eq!(processed(&registry, "default.q", "error", &[]), 0.0);
    }

    #[tokio::test]
    async fn per_message_labels_of_the_wrong_count_are_errors() {
        let registry = Registry::new();
        let metrics = BrokerMetrics::builder(Broker::Rabbit)
            .per_message_label("redelivered")
            .build(&registry)
            .unwrap();
        let stream = futures_util::stream::iter([mock(1, "", "q"), mock(2, "", "q")]);
        let mut consumer = MeteredConsumer::from_stream(stream, "q", &metrics).per_message_labels(
            |d: &Delivery| {
                // The first delivery gets its one value, the second two.
                let value = d.redelivered.to_string();
                if d.delivery_tag == 1 {
                    vec![value]
                } else {
                    vec![value, "x".into()]
                }
            },
        );
        let mut ok = consumer.next().await.unwrap().unwrap();
        assert!(ok.ack(BasicAckOptions::default()).await.unwrap());
        drop(ok);
        let err = consumer.next().await.unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Metrics(hotmetrics_core::Error::LabelCount { got: 2, .. })
            ),
            "{err}"
        );
        assert_eq!(
            processed(&registry, "default.q", "acked", &[("redelivered", "false")]),
            1.0
        );
    }

    #[tokio::test]
    async fn replies_on_direct_reply_to_are_not_counted() {
        let registry = Registry::new();
        let metrics = BrokerMetrics::new(&registry, Broker::Rabbit).unwrap();
        let stream = futures_util::stream::iter([mock(1, "", "amq.rabbitmq.reply-to.x")]);
        let mut consumer = MeteredConsumer::from_stream(stream, DIRECT_REPLY_TO, &metrics).no_ack();
        let reply = consumer.next().await.unwrap().unwrap();
        assert!(!reply.is_counted());
        drop(reply);
        let snap = registry.snapshot();
        assert!(
            snap.families.iter().all(|f| f.series.is_empty()),
            "{snap:?}"
        );
    }
}
