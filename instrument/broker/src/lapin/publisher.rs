//! The publish side: `basic_publish` and its confirm, recorded as
//! FastStream records a publish; replies, not recorded.

use super::{Error, destination_name, exception_type};
use crate::BrokerMetrics;
use crate::wrappers::DestinationCache;
use ::lapin::message::Delivery;
use ::lapin::options::BasicPublishOptions;
use ::lapin::{BasicProperties, Channel, Confirmation};
use std::fmt;

/// The exception type of a publish the broker nacked (aiormq's).
const NACKED: &str = "DeliveryError";
/// The exception type of a mandatory publish returned unroutable.
const RETURNED: &str = "PublishError";

/// A `lapin::Channel` whose publishes record FastStream's `published_*`
/// families. From [`new`](Self::new); share it (`&self` methods).
pub struct MeteredPublisher {
    channel: Channel,
    metrics: BrokerMetrics,
    destinations: DestinationCache,
}

impl fmt::Debug for MeteredPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredPublisher")
            .field("channel", &self.channel.id())
            .finish_non_exhaustive()
    }
}

impl MeteredPublisher {
    /// Wraps `channel`. With publisher confirms on (`confirm_select`), a
    /// publish is a success once the broker confirms it.
    pub fn new(channel: Channel, metrics: &BrokerMetrics) -> Self {
        Self {
            channel,
            metrics: metrics.clone(),
            destinations: DestinationCache::default(),
        }
    }

    /// The channel.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// `basic_publish`, then waits for the confirm: one publish of
    /// destination `"{exchange or 'default'}.{routing_key}"`, its duration
    /// (the confirm included), and its status: `success` on a broker ack
    /// (or without confirms), `error` on a nack (`DeliveryError`), an
    /// unroutable mandatory message returned (`PublishError`) or a lapin
    /// error (named after its kind). The confirmation is returned as lapin
    /// gave it; an error as [`Error::Lapin`].
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        options: BasicPublishOptions,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<Confirmation, Error> {
        let mut name = String::with_capacity(exchange.len() + routing_key.len() + 8);
        destination_name(&mut name, exchange, routing_key);
        let send = self.destinations.get(&self.metrics, &name)?.publish();
        let confirmed = match self
            .channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                options,
                payload,
                properties,
            )
            .await
        {
            Ok(confirm) => confirm.await,
            Err(e) => Err(e),
        };
        match &confirmed {
            Ok(Confirmation::Nack(_)) => send.error(NACKED),
            Ok(Confirmation::Ack(Some(_))) => send.error(RETURNED),
            Ok(_) => send.success(),
            Err(e) => send.error(&exception_type(e)),
        }
        Ok(confirmed?)
    }

    /// Replies to `request` (to its `reply_to`, with its `correlation_id`)
    /// through the default exchange, not counted: FastStream does not count
    /// the reply of an RPC. `Ok(None)` when the request asked for no reply.
    pub async fn reply(
        &self,
        request: &Delivery,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<Option<Confirmation>, Error> {
        let Some(reply_to) = request.properties.reply_to() else {
            return Ok(None);
        };
        let properties = match request.properties.correlation_id() {
            Some(id) => properties.with_correlation_id(id.clone()),
            None => properties,
        };
        let confirm = self
            .channel
            .basic_publish(
                "".into(),
                reply_to.clone(),
                BasicPublishOptions::default(),
                payload,
                properties,
            )
            .await?;
        Ok(Some(confirm.await?))
    }
}
