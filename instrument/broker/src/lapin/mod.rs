//! A metered [`lapin`] (RabbitMQ) consumer and publisher:
//! FastStream's nine families, and the queue lag, from the client you
//! already use, one line each.
//!
//! ```no_run
//! use hotmetrics_broker::lapin::{MeteredConsumer, MeteredPublisher};
//! use hotmetrics_broker::{Broker, BrokerMetrics};
//! use futures_util::StreamExt;
//! use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicPublishOptions};
//! use lapin::{BasicProperties, Connection, ConnectionProperties, types::FieldTable};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = hotmetrics_core::Registry::new();
//! let metrics = BrokerMetrics::new(&registry, Broker::Rabbit)?;
//! let conn = Connection::connect("amqp://127.0.0.1:5672/%2f", ConnectionProperties::default()).await?;
//! let channel = conn.create_channel().await?;
//!
//! let consumer = channel
//!     .basic_consume("orders".into(), "".into(), BasicConsumeOptions::default(), FieldTable::default())
//!     .await?;
//! let mut consumer = MeteredConsumer::new(consumer, &metrics); // the one line
//! let publisher = MeteredPublisher::new(channel.clone(), &metrics); // and this one
//!
//! while let Some(delivery) = consumer.next().await {
//!     let mut delivery = delivery?;
//!     publisher
//!         .publish("", "audit", BasicPublishOptions::default(), delivery.data(), BasicProperties::default())
//!         .await?;
//!     delivery.ack(BasicAckOptions::default()).await?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # What is recorded
//! - Each delivery, as [`MeteredConsumer`] yields it: received, size,
//!   in process, the clock starts; `handler` is FastStream's RabbitMQ
//!   label, `"{exchange or 'default'}.{routing_key}"`.
//! - [`MeteredDelivery::ack`], [`nack`](MeteredDelivery::nack),
//!   [`reject`](MeteredDelivery::reject) settle the message with the broker
//!   and record its ack state; [`exception`](MeteredDelivery::exception)
//!   counts an exception. Processing ends when the delivery is dropped (or
//!   [`finish`](MeteredDelivery::finish)ed): the duration, and the status
//!   from the ack state (an exception after an ack is `acked` plus the
//!   exception), else `error` after an exception.
//! - A delivery dropped without being settled nor raising: `error` with
//!   exception type [`DROPPED`](crate::DROPPED). FastStream would say
//!   `acked` (it acks such messages itself); lapin does not, the broker
//!   will deliver the message again, and counting it acked would count it
//!   acked twice. Consumed with `no_ack` ([`MeteredConsumer::no_ack`]),
//!   the broker acked it on delivery: status `acked`.
//! - An ack, nack or reject that fails (the channel or connection dropped
//!   with the message in flight): status `error` and one exception,
//!   `ChannelClosed` when lapin refuses it for its closed channel, else
//!   named after lapin's [`ErrorKind`](::lapin::ErrorKind) variant
//!   (`InvalidChannelState`, `IOError`, ...). The message is counted once
//!   so; the broker delivers it again, to be counted again then.
//! - [`MeteredPublisher::publish`]: `basic_publish` and its publisher
//!   confirm (when the channel has confirms on), `destination`
//!   `"{exchange or 'default'}.{routing_key}"`. A nacked confirm is an
//!   error of type `DeliveryError`, a mandatory message returned unroutable
//!   one of type `PublishError` (aiormq's names, under FastStream's
//!   RabbitMQ broker); a lapin error is named after its kind.
//! - RPC replies are not counted, as in FastStream: deliveries from the
//!   direct reply-to pseudo-queue (`amq.rabbitmq.reply-to`), and replies
//!   sent with [`MeteredPublisher::reply`].
//! - Lag (our extension, [`LAG_SUFFIX`](crate::LAG_SUFFIX)):
//!   [`record_queue_lag`] sets the queue's gauge to the message count a
//!   passive `queue.declare` reports (ready messages, not the unacked).
//!
//! Per-message custom labels come from a closure over the delivery
//! ([`MeteredConsumer::per_message_labels`]); handles are cached per
//! handler and label values in the consumer, so a delivery does one hash
//! lookup and no allocation once its handler was seen.

mod consumer;
mod publisher;

pub use consumer::{MeteredConsumer, MeteredDelivery, record_queue_lag};
pub use publisher::MeteredPublisher;

use std::fmt;

/// What a wrapper's call can fail with: the client's error, or the
/// metrics' (a family at its series limit, a wrong number of per-message
/// label values).
#[derive(Debug)]
pub enum Error {
    /// The client's.
    Lapin(::lapin::Error),
    /// The metrics'.
    Metrics(hotmetrics_core::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lapin(e) => write!(f, "RabbitMQ: {e}"),
            Self::Metrics(e) => write!(f, "broker metrics: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Lapin(e) => Some(e),
            Self::Metrics(e) => Some(e),
        }
    }
}

impl From<::lapin::Error> for Error {
    fn from(e: ::lapin::Error) -> Self {
        Self::Lapin(e)
    }
}

impl From<hotmetrics_core::Error> for Error {
    fn from(e: hotmetrics_core::Error) -> Self {
        Self::Metrics(e)
    }
}

/// The exception type of a lapin error: its kind's variant name.
pub(crate) fn exception_type(e: &::lapin::Error) -> String {
    crate::wrappers::kind_name(e.kind())
}

/// FastStream's RabbitMQ name of an exchange and routing key, into `out`:
/// `"{exchange or 'default'}.{routing_key}"`.
pub(crate) fn destination_name(out: &mut String, exchange: &str, routing_key: &str) {
    out.clear();
    out.push_str(if exchange.is_empty() {
        "default"
    } else {
        exchange
    });
    out.push('.');
    out.push_str(routing_key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_faststream() {
        let mut s = String::new();
        destination_name(&mut s, "", "orders");
        assert_eq!(s, "default.orders");
        destination_name(&mut s, "events", "user.created");
        assert_eq!(s, "events.user.created");
    }

    #[test]
    fn exception_types_are_variant_names() {
        let e = ::lapin::Error::from(::lapin::ErrorKind::ChannelsLimitReached);
        assert_eq!(exception_type(&e), "ChannelsLimitReached");
        let e = ::lapin::Error::from(::lapin::ErrorKind::InvalidChannel(3));
        assert_eq!(exception_type(&e), "InvalidChannel");
    }
}
