//! Metered [`redis`] consumers and publishes: stream consumer groups
//! (`XREADGROUP`, settled with `XACK`), pub/sub channels, lists, and
//! `XADD` / `PUBLISH` / `RPUSH`, recording FastStream's nine families
//! with `broker="redis"`.
//!
//! One line wraps each (the connection is any async one:
//! `MultiplexedConnection`, `ConnectionManager`, ...):
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use hotmetrics_broker::redis::{MeteredPubSub, MeteredRedisPublisher, MeteredStreamGroup, record_group_lag};
//! use hotmetrics_broker::{Broker, BrokerMetrics};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let registry = hotmetrics_core::Registry::new();
//! let metrics = BrokerMetrics::new(&registry, Broker::Redis)?;
//! let client = redis::Client::open("redis://127.0.0.1:6379")?;
//! let conn = client.get_multiplexed_async_connection().await?;
//!
//! // A stream consumer group: each entry acked (XACK), or left pending.
//! let mut orders = MeteredStreamGroup::new(conn.clone(), "billing", "worker-1", &metrics);
//! let publisher = MeteredRedisPublisher::new(conn.clone(), &metrics);
//! for entry in orders.read(&["orders"], 10, Some(Duration::from_secs(1))).await? {
//!     let mut entry = entry?;
//!     publisher.xadd("invoices", &[("order", entry.id())]).await?;
//!     entry.ack().await?;
//! }
//! record_group_lag(&mut conn.clone(), "orders", "billing", &metrics).await?;
//! // Entries a dead consumer read and never acked: taken over once a minute idle.
//! for entry in orders.claim_idle("orders", Duration::from_secs(60), 10).await? {
//!     entry?.ack().await?;
//! }
//!
//! // Pub/sub: processing ends when the message is dropped.
//! let mut pubsub = client.get_async_pubsub().await?;
//! pubsub.subscribe("events").await?;
//! let mut events = MeteredPubSub::from_stream(pubsub.into_on_message(), &metrics);
//! if let Some(msg) = events.next().await {
//!     let msg = msg?;
//!     publisher.publish("audit", msg.payload()).await?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # What is recorded
//! - `handler` is the stream, channel or list the message came from, and
//!   `destination` the one it is sent to, as in FastStream (its
//!   `channel`, `list` or `stream` name; for a pattern subscription, the
//!   channel the message was published on).
//! - Size: a stream entry's field names and values, in bytes (FastStream
//!   measures the body it decoded from them); a channel's or list's
//!   message payload.
//! - Streams ([`MeteredStreamGroup`], [`MeteredStreamEntry`]):
//!   [`ack`](MeteredStreamEntry::ack) sends `XACK` and is the ack state
//!   `acked`. [`nack`](MeteredStreamEntry::nack) and
//!   [`reject`](MeteredStreamEntry::reject) send nothing, as FastStream's
//!   do: they record `nacked` / `rejected`, and the entry stays in the
//!   group's pending list (a consumer reading from id `0`, `XCLAIM` or
//!   [`claim_idle`](MeteredStreamGroup::claim_idle) gets it again). [`skip`](MeteredStreamEntry::skip) is FastStream's
//!   `SkipMessage`: `skipped`, the entry left pending. An exception after
//!   an ack is `acked` plus the exception. Dropped neither settled nor
//!   raising nor skipped: `error` with [`DROPPED`](crate::DROPPED). An
//!   `XACK` that fails counts the entry once, as `error` with the error's
//!   type.
//! - Pending entries: an entry read and never acked (its consumer died,
//!   its connection dropped, it was nacked) stays in the group's pending
//!   list until a consumer takes it over.
//!   [`claim_idle`](MeteredStreamGroup::claim_idle) does, with
//!   `XAUTOCLAIM` (Redis 6.2 and later): entries pending longer than
//!   `min_idle` on any consumer become the caller's, and each counts as
//!   received again, as a redelivery (the first delivery's outcome stays
//!   as recorded: `error` with `Dropped` for one dropped unsettled).
//! - Channels and lists ([`MeteredPubSub`], [`MeteredListConsumer`],
//!   [`MeteredRedisMessage`]): nothing to settle (at most once).
//!   Processing ends when the message is dropped: `acked`, or `error`
//!   after an [`exception`](MeteredRedisMessage::exception).
//! - Publishes ([`MeteredRedisPublisher`]): `XADD`, `PUBLISH`, `RPUSH`,
//!   until the server's reply.
//! - Exception types of the client's errors: the server's error code for
//!   an error reply (`WRONGTYPE`, `NOGROUP`, `ERR`, ...), else the
//!   `redis::ErrorKind` variant (`Io`, `Parse`, ...). (Python's redis
//!   client raises `ResponseError` for every error reply; the code says
//!   more.)
//! - Lag (our extension, [`LAG_SUFFIX`](crate::LAG_SUFFIX)):
//!   [`record_group_lag`] sets the gauge of a stream (handler: the
//!   stream) to its group's `lag` as `XINFO GROUPS` reports it: the
//!   entries not delivered to the group yet (Redis 7.0 and later). Where
//!   the server reports no lag (Redis 6, or a stream whose entries were
//!   deleted in a way that leaves it unknown), it uses the group's
//!   `pending`, the entries delivered and not acked, and says so
//!   ([`GroupLag::Pending`]).
//!
//! Per-message custom labels come from a closure over the message
//! (`per_message_labels` on each consumer); handles are cached per name
//! and label values in the consumer.

mod message;
mod publisher;
mod stream;

pub use message::{MeteredListConsumer, MeteredPubSub, MeteredRedisMessage};
pub use publisher::MeteredRedisPublisher;
pub use stream::{GroupLag, MeteredStreamEntry, MeteredStreamGroup, record_group_lag};

use redis::{ErrorKind, RedisError};
use std::fmt;

/// What a wrapper's call can fail with: the client's error, or the
/// metrics' (a family at its series limit, a wrong number of per-message
/// label values).
#[derive(Debug)]
pub enum Error {
    /// The client's.
    Redis(RedisError),
    /// The metrics'.
    Metrics(hotmetrics_core::Error),
    /// `XINFO GROUPS` lists no such group on the stream.
    NoGroup {
        /// The stream.
        stream: String,
        /// The group asked for.
        group: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redis(e) => write!(f, "Redis: {e}"),
            Self::Metrics(e) => write!(f, "broker metrics: {e}"),
            Self::NoGroup { stream, group } => {
                write!(
                    f,
                    "Redis: stream {stream:?} has no consumer group {group:?}"
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Redis(e) => Some(e),
            Self::Metrics(e) => Some(e),
            Self::NoGroup { .. } => None,
        }
    }
}

impl From<hotmetrics_core::Error> for Error {
    fn from(e: hotmetrics_core::Error) -> Self {
        Self::Metrics(e)
    }
}

impl From<RedisError> for Error {
    fn from(e: RedisError) -> Self {
        Self::Redis(e)
    }
}

/// A Redis error as an exception type: the server's error code, or the
/// client's error kind.
fn exception_type(e: &RedisError) -> String {
    match (e.kind(), e.code()) {
        (ErrorKind::Server(_) | ErrorKind::Extension, Some(code)) => code.to_owned(),
        (kind, _) => crate::wrappers::kind_name(&kind),
    }
}
