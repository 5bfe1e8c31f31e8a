//! Metered [`async_nats`] subscriptions, JetStream pull consumers and
//! publishes: FastStream's nine families, and the JetStream consumer lag,
//! from the client you already use, one line each.
//!
//! ```no_run
//! use async_nats::jetstream;
//! use futures_util::StreamExt;
//! use hotmetrics_broker::nats::{MeteredJetStream, MeteredMessages, MeteredPublisher, MeteredSubscriber};
//! use hotmetrics_broker::{Broker, BrokerMetrics};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let registry = hotmetrics_core::Registry::new();
//! let metrics = BrokerMetrics::new(&registry, Broker::Nats)?;
//! let client = async_nats::connect("nats://127.0.0.1:4222").await?;
//!
//! // Core NATS: a subscription and publishes.
//! let mut orders = MeteredSubscriber::new(client.subscribe("orders.>").await?, &metrics);
//! let publisher = MeteredPublisher::new(client.clone(), &metrics);
//! if let Some(msg) = orders.next().await {
//!     let msg = msg?;
//!     publisher.publish("audit", msg.payload().clone()).await?;
//! } // processing ends when the message is dropped
//!
//! // JetStream: a pull consumer's messages, acked, nakked or terminated.
//! let js = jetstream::new(client);
//! let consumer: jetstream::consumer::PullConsumer =
//!     js.get_stream("ORDERS").await?.get_consumer("billing").await?;
//! let mut messages = MeteredMessages::new(consumer.messages().await?, &metrics);
//! let js = MeteredJetStream::new(js, &metrics);
//! while let Some(msg) = messages.next().await {
//!     let mut msg = msg?;
//!     js.publish("invoices", msg.payload().clone()).await?; // waits for the PublishAck
//!     msg.ack().await?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # What is recorded
//! - `handler` and `destination` are the subject, as in FastStream.
//! - Core NATS ([`MeteredSubscriber`], [`MeteredMessage`]): nothing to
//!   settle (at most once). Processing ends when the message is dropped:
//!   `acked`, or `error` after an [`exception`](MeteredMessage::exception)
//!   (FastStream's statuses for a message it did not settle).
//! - JetStream ([`MeteredMessages`], [`MeteredJetStreamMessage`]):
//!   [`ack`](MeteredJetStreamMessage::ack), [`nak`](MeteredJetStreamMessage::nak)
//!   and [`term`](MeteredJetStreamMessage::term) are the ack states
//!   `acked`, `nacked` and `rejected`; an exception after an ack is `acked`
//!   plus the exception. Dropped neither settled nor raising: `error` with
//!   [`DROPPED`](crate::DROPPED) (the server redelivers it after
//!   `ack_wait`). An ack that fails (the connection dropped with the
//!   message in flight and the client gave up reconnecting) counts the
//!   message once, as `error` with an exception named after the error's
//!   kind: [`CONNECTION_CLOSED`] when the client could not send it,
//!   `AckError` when the error has no kind. While the client is still
//!   reconnecting (its default), an ack waits in it and is sent after the
//!   reconnect.
//! - Publishes: [`MeteredPublisher::publish`] (core: handed to the client,
//!   which flushes it) and [`MeteredJetStream::publish`] (until the
//!   stream's `PublishAck`): errors are named after their kind
//!   (`StreamNotFound`, `TimedOut`, `MaxPayloadExceeded`, ...).
//! - RPC replies are not counted, as in FastStream: replies sent with
//!   [`MeteredPublisher::respond`], and messages on the client's inbox
//!   subjects (`_INBOX.`), which answer requests.
//! - Lag (our extension, [`LAG_SUFFIX`](crate::LAG_SUFFIX)):
//!   [`record_consumer_lag`] sets the JetStream consumer's gauge (handler:
//!   the consumer's name) to its `num_pending`, the stream's messages it
//!   has not delivered yet.
//!
//! Per-message custom labels come from a closure over the message
//! (`per_message_labels` on each stream wrapper); handles are cached per
//! subject and label values in the wrapper.

mod jetstream;
mod publisher;
mod subscriber;

pub use jetstream::{MeteredJetStreamMessage, MeteredMessages, record_consumer_lag};
pub use publisher::{MeteredJetStream, MeteredPublisher};
pub use subscriber::{MeteredMessage, MeteredSubscriber};

use std::fmt;

/// The prefix of the subjects a client's requests get their replies on.
const INBOX_PREFIX: &str = "_INBOX.";

/// What a wrapper's call can fail with: the client's error, or the
/// metrics' (a family at its series limit, a wrong number of per-message
/// label values).
#[derive(Debug)]
pub enum Error {
    /// The client's.
    Nats(async_nats::Error),
    /// The metrics'.
    Metrics(hotmetrics_core::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nats(e) => write!(f, "NATS: {e}"),
            Self::Metrics(e) => write!(f, "broker metrics: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Nats(e) => Some(&**e),
            Self::Metrics(e) => Some(e),
        }
    }
}

impl From<hotmetrics_core::Error> for Error {
    fn from(e: hotmetrics_core::Error) -> Self {
        Self::Metrics(e)
    }
}

/// The exception type of a publish or ack the client could not hand to
/// its connection: the client gave up reconnecting, or was dropped
/// (async-nats' `Send` error kind).
pub const CONNECTION_CLOSED: &str = "ConnectionClosed";

/// An async-nats error as an exception type: its kind's variant name
/// (`Send`, which names nothing a reader would recognise, is
/// [`CONNECTION_CLOSED`]).
fn exception_type<K>(e: &async_nats::error::Error<K>) -> String
where
    K: Clone + fmt::Debug + fmt::Display + PartialEq,
{
    kind_type(&e.kind())
}

/// An error kind's variant name as an exception type.
fn kind_type(kind: &dyn fmt::Debug) -> String {
    let name = crate::wrappers::kind_name(kind);
    if name == "Send" {
        CONNECTION_CLOSED.to_owned()
    } else {
        name
    }
}
