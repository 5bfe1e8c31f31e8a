//! A metered [`rumqttc`] event loop and client: each incoming Publish
//! records what FastStream records (`broker="mqtt"`), its ack state from
//! the QoS ack the client sends; each publish records `published_*`,
//! QoS 0 when handed to the event loop, QoS 1 at its PubAck, QoS 2 at its
//! PubComp.
//!
//! [`metered`] wraps the client and the event loop `AsyncClient::new`
//! gives, in one line:
//!
//! ```no_run
//! use hotmetrics_broker::mqtt::{MeteredEvent, metered};
//! use hotmetrics_broker::{Broker, BrokerMetrics};
//! use rumqttc::{AsyncClient, MqttOptions, QoS};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let registry = hotmetrics_core::Registry::new();
//! let metrics = BrokerMetrics::new(&registry, Broker::Mqtt)?;
//! let mut options = MqttOptions::new("billing", "127.0.0.1", 1883);
//! options.set_manual_acks(true); // the PubAck waits for `ack`
//! let (client, mut events) = metered(AsyncClient::new(options, 64), &metrics);
//! client.client().subscribe("orders/#", QoS::AtLeastOnce).await?;
//! loop {
//!     if let MeteredEvent::Publish(mut msg) = events.poll().await? {
//!         client.publish("invoices", QoS::AtLeastOnce, false, msg.payload().to_vec()).await?;
//!         // This task polls the event loop: an ack that never waits.
//!         msg.try_ack()?; // the PubAck: acked
//!     }
//! }
//! # }
//! ```
//!
//! # What is recorded
//! - `handler` is the topic a message was published on, and
//!   `destination` the topic published to, as in FastStream (not the
//!   subscription's filter: `orders/1` and `orders/2` are two handlers of
//!   `orders/#`).
//! - Incoming Publish ([`MeteredMqttMessage`]):
//!   [`ack`](MeteredMqttMessage::ack) sends the PubAck (QoS 1; PubRec for
//!   QoS 2) when the client acks manually (`set_manual_acks(true)`), and
//!   is the ack state `acked`. `ack` waits for room in the client's
//!   request channel, which the event loop's `poll` drains: await it in a
//!   task of its own; in the task that polls the event loop use
//!   [`try_ack`](MeteredMqttMessage::try_ack), which never waits (a full
//!   channel: the error, nothing recorded, the message still unsettled,
//!   to ack again after the next poll). MQTT has no negative ack, so, as in
//!   FastStream, [`nack`](MeteredMqttMessage::nack) sends nothing (the
//!   broker delivers the message again on the next session) and records
//!   `nacked`, and [`reject`](MeteredMqttMessage::reject) acks it (so it
//!   is not delivered again) and records `rejected`. An exception after an
//!   ack is `acked` plus the exception. A QoS 1 or 2 message under manual
//!   acks dropped neither settled nor raising: `error` with
//!   [`DROPPED`](crate::DROPPED); a QoS 0 message (or any, when the client
//!   acks by itself) dropped: `acked`, or `error` after an
//!   [`exception`](MeteredMqttMessage::exception). An ack the client
//!   cannot take (its event loop is gone) counts the message once, as
//!   `error` of type `Request`.
//! - Redelivery: a QoS 1 (or 2) message the broker had not got the ack
//!   of when the connection dropped is delivered again once the session
//!   resumes (a persistent session: `set_clean_session(false)`), and is
//!   received, and counted, again: one delivery each, as FastStream counts
//!   deliveries. The first delivery's outcome stays as it was recorded (a
//!   message acked whose PubAck was lost with the connection stays
//!   `acked`; one dropped unacked is `error` with `Dropped`), and the
//!   second records its own.
//! - Publishes ([`MeteredMqttClient::publish`]): QoS 0 `success` once the
//!   event loop has it; QoS 1 and 2 stay open until the broker's PubAck /
//!   PubComp reaches [`MeteredEventLoop::poll`], which finishes them
//!   `success` (a publish the loop resends after a reconnect is still
//!   one). A topic MQTT refuses (empty, or with `+` / `#`) is `error` of
//!   type `InvalidTopic`, a client whose event loop is gone `Request`; a
//!   QoS 1 / 2 publish still unacked when the event loop is dropped is
//!   `error` with [`DROPPED`](crate::DROPPED). Publish QoS 1 and 2
//!   messages through the [`MeteredMqttClient`] only: the event loop
//!   matches each outgoing Publish to the metered ones in order.
//! - RPC: MQTT 3.1.1 (what `rumqttc::AsyncClient` speaks) has no reply
//!   topic, so no message is an RPC reply.
//! - Lag: an MQTT broker reports none.

mod client;
mod event_loop;

pub use client::MeteredMqttClient;
pub use event_loop::{MeteredEvent, MeteredEventLoop, MeteredMqttMessage, PollError};

use crate::BrokerMetrics;
use crate::wrappers::kind_name;
use rumqttc::{AsyncClient, ClientError, EventLoop};
use std::fmt;
use std::sync::Arc;

/// The exception type of a publish to a topic MQTT refuses.
const INVALID_TOPIC: &str = "InvalidTopic";

/// Wraps the client and event loop that `AsyncClient::new` returns; they
/// share the publishes in flight, which the event loop finishes at their
/// PubAck / PubComp.
pub fn metered(
    (client, event_loop): (AsyncClient, EventLoop),
    metrics: &BrokerMetrics,
) -> (MeteredMqttClient, MeteredEventLoop) {
    let in_flight = Arc::default();
    (
        MeteredMqttClient::new(client.clone(), metrics, Arc::clone(&in_flight)),
        MeteredEventLoop::new(event_loop, client, metrics, in_flight),
    )
}

/// What a wrapper's call can fail with: the client's error, or the
/// metrics' (a family at its series limit, a wrong number of per-message
/// label values).
#[derive(Debug)]
pub enum Error {
    /// The client's: a refused topic, or its event loop is gone.
    Client(ClientError),
    /// The metrics'.
    Metrics(hotmetrics_core::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Client(e) => write!(f, "MQTT: {e}"),
            Self::Metrics(e) => write!(f, "broker metrics: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Client(e) => Some(e),
            Self::Metrics(e) => Some(e),
        }
    }
}

impl From<hotmetrics_core::Error> for Error {
    fn from(e: hotmetrics_core::Error) -> Self {
        Self::Metrics(e)
    }
}

/// A client error as an exception type: its variant name.
fn exception_type(e: &ClientError) -> String {
    kind_name(e)
}
