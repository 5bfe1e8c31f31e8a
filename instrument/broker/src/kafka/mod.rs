//! A metered [`rdkafka`] `StreamConsumer` and `FutureProducer`: each
//! message received records what FastStream records (`broker="kafka"`),
//! its ack state from the offset commit; each send records
//! `published_*` until the delivery report; and the consumer lag from the
//! broker's watermarks and the group's committed offsets.
//!
//! One line wraps each:
//!
//! ```no_run
//! use hotmetrics_broker::kafka::{MeteredFutureProducer, MeteredStreamConsumer, record_topic_lag};
//! use hotmetrics_broker::{Broker, BrokerMetrics};
//! use rdkafka::ClientConfig;
//! use rdkafka::consumer::{Consumer, StreamConsumer};
//! use rdkafka::producer::{FutureProducer, FutureRecord};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let registry = hotmetrics_core::Registry::new();
//! let metrics = BrokerMetrics::new(&registry, Broker::Kafka)?;
//! let mut config = ClientConfig::new();
//! config.set("bootstrap.servers", "127.0.0.1:9092");
//! let producer = MeteredFutureProducer::new(config.create::<FutureProducer>()?, &metrics);
//! let consumer: StreamConsumer = config
//!     .clone()
//!     .set("group.id", "billing")
//!     .set("enable.auto.commit", "false") // the commit is the ack
//!     .create()?;
//! consumer.subscribe(&["orders"])?;
//! let consumer = MeteredStreamConsumer::new(consumer, &metrics);
//! loop {
//!     let mut msg = consumer.recv().await?;
//!     let record = FutureRecord::<(), _>::to("invoices").payload(msg.payload());
//!     producer.send(record, Duration::from_secs(5)).await?;
//!     msg.ack()?; // queues the commit of its offset: acked
//!     # break;
//! }
//! // Blocks for the broker's answers: off the async threads.
//! record_topic_lag(consumer.consumer(), "orders", &metrics, Duration::from_secs(5))?;
//! # Ok(())
//! # }
//! ```
//!
//! # What is recorded
//! - `handler` is the topic a message came from, and `destination` the
//!   topic sent to, as in FastStream.
//! - Size: the payload, in bytes (none: 0).
//! - Messages ([`MeteredKafkaMessage`]), as FastStream's Kafka messages
//!   under a manual ack policy: [`ack`](MeteredKafkaMessage::ack) commits
//!   the message's offset and is the ack state `acked`;
//!   [`reject`](MeteredKafkaMessage::reject) commits too and, as in
//!   FastStream (whose Kafka `reject` is its `ack`), records `acked`;
//!   [`nack`](MeteredKafkaMessage::nack) seeks the partition back to the
//!   message, which the consumer receives again, and records `nacked`;
//!   [`skip`](MeteredKafkaMessage::skip) is FastStream's `SkipMessage`:
//!   `skipped`, nothing committed. An exception after an ack is `acked`
//!   plus the exception. Dropped neither settled nor raising nor skipped:
//!   `error` with [`DROPPED`](crate::DROPPED). A commit or seek that
//!   fails counts the message once, as `error` with the error's code. A
//!   message settles once: an `ack` after a `nack` (or the reverse)
//!   sends nothing.
//! - Commits: `ack` and `reject` queue the commit (librdkafka's
//!   `CommitMode::Async`) and never block, so they suit an async task; a
//!   commit the broker then fails goes to the consumer context's
//!   `commit_callback` (as the consumer is next polled), not to the
//!   metrics, and the next commit on the partition covers the offset.
//!   [`ack_sync`](MeteredKafkaMessage::ack_sync) waits for the broker
//!   (`CommitMode::Sync`, blocking the thread: from a blocking thread,
//!   `spawn_blocking` or `block_in_place`), and counts the commit's error
//!   as the message's exception.
//! - Under `enable.auto.commit` (FastStream's other ack policies commit
//!   for the client, and then every message is `acked`), say so with
//!   [`MeteredStreamConsumer::auto_commit`]: each message is `acked`
//!   from the start, plus the exceptions its handling counts.
//! - Sends ([`MeteredFutureProducer::send`]): until the delivery report;
//!   a send the producer refuses (a message over `message.max.bytes`, a
//!   full queue past `queue_timeout`) or the broker fails is `error`.
//! - Exception types: the error's librdkafka code
//!   (`MessageSizeTooLarge`, `UnknownTopicOrPartition`, `MessageTimedOut`,
//!   ...: `rdkafka::types::RDKafkaErrorCode`'s variant names), else the
//!   `KafkaError` variant (`Canceled`, ...). (aiokafka raises an error
//!   class per code, `MessageSizeTooLargeError` and the like; the code is
//!   the same fact.)
//! - Lag (our extension, [`LAG_SUFFIX`](crate::LAG_SUFFIX)):
//!   [`record_topic_lag`] sets the gauge of a topic (handler: the topic)
//!   to the sum over its partitions of the high watermark minus the
//!   group's committed offset (the low watermark where the group
//!   committed none).
//! - RPC: Kafka has no reply-to; no message is an RPC reply.

mod consumer;
mod lag;
mod producer;

pub use consumer::{MeteredKafkaMessage, MeteredStreamConsumer};
pub use lag::record_topic_lag;
pub use producer::MeteredFutureProducer;

use crate::wrappers::kind_name;
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use std::fmt;

/// What a wrapper's call can fail with: the client's error, or the
/// metrics' (a family at its series limit, a wrong number of per-message
/// label values).
#[derive(Debug)]
pub enum Error {
    /// The client's.
    Kafka(KafkaError),
    /// A send that failed, with the message the producer gives back.
    Send(KafkaError, Box<OwnedMessage>),
    /// The metrics'.
    Metrics(hotmetrics_core::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kafka(e) => write!(f, "Kafka: {e}"),
            Self::Send(e, m) => {
                use rdkafka::Message;
                write!(f, "Kafka: send to {:?}: {e}", m.topic())
            }
            Self::Metrics(e) => write!(f, "broker metrics: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Kafka(e) | Self::Send(e, _) => Some(e),
            Self::Metrics(e) => Some(e),
        }
    }
}

impl From<hotmetrics_core::Error> for Error {
    fn from(e: hotmetrics_core::Error) -> Self {
        Self::Metrics(e)
    }
}

impl From<KafkaError> for Error {
    fn from(e: KafkaError) -> Self {
        Self::Kafka(e)
    }
}

/// A Kafka error as an exception type: its librdkafka code, else its
/// variant (`KafkaError`'s `Debug` is a sentence, not the variant).
fn exception_type(e: &KafkaError) -> String {
    if let Some(code) = e.rdkafka_error_code() {
        return kind_name(&code);
    }
    match e {
        KafkaError::AdminOpCreation(_) => "AdminOpCreation",
        KafkaError::Canceled => "Canceled",
        KafkaError::ClientConfig(..) => "ClientConfig",
        KafkaError::ClientCreation(_) => "ClientCreation",
        KafkaError::NoMessageReceived => "NoMessageReceived",
        KafkaError::Nul(_) => "Nul",
        KafkaError::PartitionEOF(_) => "PartitionEOF",
        KafkaError::PauseResume(_) => "PauseResume",
        KafkaError::Seek(_) => "Seek",
        KafkaError::Subscription(_) => "Subscription",
        _ => "KafkaError",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::types::RDKafkaErrorCode;

    #[test]
    fn exception_types_are_codes_else_variants() {
        let e = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert_eq!(exception_type(&e), "MessageSizeTooLarge");
        assert_eq!(exception_type(&KafkaError::Canceled), "Canceled");
        assert_eq!(exception_type(&KafkaError::Seek("gone".into())), "Seek");
    }
}
