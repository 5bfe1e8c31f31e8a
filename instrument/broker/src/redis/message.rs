//! Pub/sub channels and lists: messages with nothing to settle, which
//! record what FastStream records when they are dropped.

use super::Error;
use crate::BrokerMetrics;
use crate::wrappers::{InProcess, Meter};
use futures_core::Stream;
use redis::Msg;
use redis::aio::ConnectionLike;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Computes a message's per-message custom label values from its channel
/// or list and its payload.
type Labels = dyn Fn(&str, &[u8]) -> Vec<String> + Send + Sync;

/// A stream of pub/sub messages (`PubSub::into_on_message()`, or
/// `on_message()`) that yields [`MeteredRedisMessage`]s; handler: the
/// channel each was published on.
pub struct MeteredPubSub<S> {
    inner: S,
    meter: Meter<Labels>,
}

impl<S> fmt::Debug for MeteredPubSub<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredPubSub").finish_non_exhaustive()
    }
}

impl<S> MeteredPubSub<S> {
    /// Wraps a stream of pub/sub messages.
    pub fn from_stream(stream: S, metrics: &BrokerMetrics) -> Self {
        Self {
            inner: stream,
            meter: Meter::new(metrics),
        }
    }

    /// The values of the builder's
    /// [per-message labels](crate::BrokerMetricsBuilder::per_message_label),
    /// computed from each message's channel and payload. A wrong number of
    /// values makes the stream yield [`Error::Metrics`] in place of that
    /// message.
    pub fn per_message_labels(
        mut self,
        labels: impl Fn(&str, &[u8]) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.meter.set_labels(Box::new(labels));
        self
    }
}

impl<S> Stream for MeteredPubSub<S>
where
    S: Stream<Item = Msg> + Unpin,
{
    type Item = Result<MeteredRedisMessage, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx).map(|msg| {
            msg.map(|m| {
                let channel = m.get_channel_name().to_owned();
                receive(&mut self.meter, channel, m.get_payload_bytes().to_vec())
            })
        })
    }
}

/// Pops messages from lists (`BLPOP`) as [`MeteredRedisMessage`]s;
/// handler: the list each came from.
pub struct MeteredListConsumer<C> {
    conn: C,
    meter: Meter<Labels>,
}

impl<C> fmt::Debug for MeteredListConsumer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredListConsumer")
            .finish_non_exhaustive()
    }
}

impl<C> MeteredListConsumer<C>
where
    C: ConnectionLike + Send + Sync,
{
    /// Pops on `conn`. `BLPOP` holds the connection while it waits: give
    /// it one of its own (not a multiplexed one that others share).
    pub fn new(conn: C, metrics: &BrokerMetrics) -> Self {
        Self {
            conn,
            meter: Meter::new(metrics),
        }
    }

    /// The values of the builder's
    /// [per-message labels](crate::BrokerMetricsBuilder::per_message_label),
    /// computed from each message's list and payload.
    pub fn per_message_labels(
        mut self,
        labels: impl Fn(&str, &[u8]) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.meter.set_labels(Box::new(labels));
        self
    }

    /// `BLPOP {lists} {timeout}`: the head of the first of `lists` that
    /// has one, waiting up to `timeout` (`None` on a timeout).
    pub async fn pop(
        &mut self,
        lists: &[&str],
        timeout: Duration,
    ) -> Result<Option<MeteredRedisMessage>, Error> {
        let popped: Option<(String, Vec<u8>)> = redis::cmd("BLPOP")
            .arg(lists)
            .arg(timeout.as_secs_f64())
            .query_async(&mut self.conn)
            .await?;
        popped
            .map(|(list, payload)| receive(&mut self.meter, list, payload))
            .transpose()
    }
}

/// The message `payload` from `source` (a channel or list), counted as
/// received.
fn receive(
    meter: &mut Meter<Labels>,
    source: String,
    payload: Vec<u8>,
) -> Result<MeteredRedisMessage, Error> {
    let guard = meter.receive(&source, payload.len(), |f| f(&source, &payload))?;
    Ok(MeteredRedisMessage {
        in_process: InProcess::new(guard, false),
        source,
        payload,
    })
}

/// A channel's or list's message being processed; processing ends when it
/// is dropped (or [`finish`](Self::finish)ed): `acked`, or `error` after
/// an exception.
pub struct MeteredRedisMessage {
    /// First, so processing ends before the message is dropped.
    in_process: InProcess,
    source: String,
    payload: Vec<u8>,
}

impl fmt::Debug for MeteredRedisMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredRedisMessage")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl MeteredRedisMessage {
    /// The channel or list it came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Counts one exception of `exception_type`; processing goes on, and
    /// the status will be `error`.
    pub fn exception(&mut self, exception_type: &str) {
        self.in_process.exception(exception_type);
    }

    /// Processing ends now (as on drop).
    pub fn finish(self) {}
}
