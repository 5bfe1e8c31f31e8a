//! Streams: a consumer group's entries (`XREADGROUP`), whose `XACK`
//! records the ack state, and the group's lag (`XINFO GROUPS`).

use super::{Error, exception_type};
use crate::wrappers::{InProcess, Meter};
use crate::{AckState, BrokerMetrics};
use redis::aio::ConnectionLike;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamInfoGroupsReply,
    StreamReadOptions, StreamReadReply,
};
use redis::{AsyncCommands, Value};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Computes an entry's per-message custom label values from its stream
/// and the entry.
type Labels = dyn Fn(&str, &StreamId) -> Vec<String> + Send + Sync;

/// XAUTOCLAIM's cursor at the start of the pending list, and the one it
/// answers once it has scanned all of it.
const PENDING_START: &str = "0-0";

/// A consumer in a stream's consumer group: [`read`](Self::read) runs
/// `XREADGROUP` for new entries (id `>`), and
/// [`claim_idle`](Self::claim_idle) `XAUTOCLAIM` for entries another
/// consumer left pending; both yield [`MeteredStreamEntry`]s. The group
/// must exist (`XGROUP CREATE`).
pub struct MeteredStreamGroup<C> {
    conn: C,
    group: Arc<str>,
    consumer: String,
    meter: Meter<Labels>,
}

impl<C> fmt::Debug for MeteredStreamGroup<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredStreamGroup")
            .field("group", &self.group)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

impl<C> MeteredStreamGroup<C>
where
    C: ConnectionLike + Clone + Send + Sync,
{
    /// Reads as `consumer` of `group`, on `conn` (each entry keeps a clone
    /// of it to send its `XACK`).
    pub fn new(conn: C, group: &str, consumer: &str, metrics: &BrokerMetrics) -> Self {
        Self {
            conn,
            group: group.into(),
            consumer: consumer.to_owned(),
            meter: Meter::new(metrics),
        }
    }

    /// The values of the builder's
    /// [per-message labels](crate::BrokerMetricsBuilder::per_message_label),
    /// computed from each entry and its stream. A wrong number of values
    /// gives [`Error::Metrics`] in place of that entry.
    pub fn per_message_labels(
        mut self,
        labels: impl Fn(&str, &StreamId) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.meter.set_labels(Box::new(labels));
        self
    }

    /// `XREADGROUP GROUP {group} {consumer} COUNT {count} [BLOCK ..]
    /// STREAMS {streams} > ...`: up to `count` new entries of each stream,
    /// waiting up to `block` for one (at once without). Each entry counts
    /// as received; an empty reply is an empty list.
    pub async fn read(
        &mut self,
        streams: &[&str],
        count: usize,
        block: Option<Duration>,
    ) -> Result<Vec<Result<MeteredStreamEntry<C>, Error>>, Error> {
        let mut options = StreamReadOptions::default()
            .group(&*self.group, &self.consumer)
            .count(count);
        if let Some(block) = block {
            options = options.block(usize::try_from(block.as_millis()).unwrap_or(usize::MAX));
        }
        let ids = vec![">"; streams.len()];
        let reply: Option<StreamReadReply> =
            self.conn.xread_options(streams, &ids, &options).await?;
        let mut entries = Vec::new();
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            let stream: Arc<str> = key.key.into();
            for entry in key.ids {
                entries.push(self.receive(&stream, entry));
            }
        }
        Ok(entries)
    }

    /// Takes over up to `count` entries of `stream` that have been pending
    /// (read by a consumer of the group, never acked: it died, its
    /// connection dropped) for at least `min_idle`, on any consumer:
    /// `XAUTOCLAIM {stream} {group} {consumer} {min_idle_ms} {cursor}
    /// COUNT {left}` from the start of the pending list, on the cursor each
    /// reply gives, until `count` are claimed or the whole list was
    /// scanned (Redis 6.2 and later). Each claimed entry is now this
    /// consumer's and counts as received again (a redelivery, as
    /// FastStream counts each delivery), to be settled as a
    /// [`read`](Self::read) one. Entries deleted from the stream while
    /// pending are not yielded (Redis 7 lists their ids apart and drops
    /// them from the pending list; Redis 6.2 answers nil in their place). An
    /// error on a later round returns the error: the entries claimed
    /// before it are dropped unsettled, each counted so
    /// ([`DROPPED`](crate::DROPPED)), and stay pending, now on this
    /// consumer, to be claimed again.
    pub async fn claim_idle(
        &mut self,
        stream: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Result<MeteredStreamEntry<C>, Error>>, Error> {
        let stream: Arc<str> = stream.into();
        let min_idle_ms = u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX);
        let mut entries = Vec::new();
        let mut cursor = PENDING_START.to_owned();
        while entries.len() < count {
            let options = StreamAutoClaimOptions::default().count(count - entries.len());
            let reply: StreamAutoClaimReply = self
                .conn
                .xautoclaim_options(
                    &*stream,
                    &*self.group,
                    &self.consumer,
                    min_idle_ms,
                    &cursor,
                    options,
                )
                .await?;
            for entry in reply.claimed {
                entries.push(self.receive(&stream, entry));
            }
            if reply.next_stream_id == PENDING_START {
                break;
            }
            cursor = reply.next_stream_id;
        }
        Ok(entries)
    }

    fn receive(
        &mut self,
        stream: &Arc<str>,
        entry: StreamId,
    ) -> Result<MeteredStreamEntry<C>, Error> {
        let guard = self
            .meter
            .receive(stream, entry_size(&entry), |f| f(stream, &entry))?;
        Ok(MeteredStreamEntry {
            in_process: InProcess::new(guard, true),
            conn: self.conn.clone(),
            group: Arc::clone(&self.group),
            stream: Arc::clone(stream),
            entry,
        })
    }
}

/// An entry's size: its field names and values, in bytes.
fn entry_size(entry: &StreamId) -> usize {
    entry
        .map
        .iter()
        .map(|(field, value)| field.len() + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::BulkString(b) => b.len(),
        Value::SimpleString(s) => s.len(),
        Value::VerbatimString { text, .. } => text.len(),
        _ => 0,
    }
}

/// A stream entry being processed; settle it with [`ack`](Self::ack),
/// [`nack`](Self::nack) or [`reject`](Self::reject), or
/// [`skip`](Self::skip) it; processing ends when it is dropped.
pub struct MeteredStreamEntry<C> {
    /// First, so processing ends before the entry is dropped.
    in_process: InProcess,
    conn: C,
    group: Arc<str>,
    stream: Arc<str>,
    entry: StreamId,
}

impl<C> fmt::Debug for MeteredStreamEntry<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredStreamEntry")
            .field("stream", &self.stream)
            .field("id", &self.entry.id)
            .finish_non_exhaustive()
    }
}

impl<C> MeteredStreamEntry<C>
where
    C: ConnectionLike + Send + Sync,
{
    /// The stream it came from.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Its id (`1700000000000-0`).
    pub fn id(&self) -> &str {
        &self.entry.id
    }

    /// The entry: id and fields.
    pub fn entry(&self) -> &StreamId {
        &self.entry
    }

    /// The value of `field`, as bytes, if it has one.
    pub fn field(&self, field: &str) -> Option<&[u8]> {
        match self.entry.map.get(field)? {
            Value::BulkString(b) => Some(b),
            Value::SimpleString(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// Counts one exception of `exception_type`; processing goes on.
    pub fn exception(&mut self, exception_type: &str) {
        self.in_process.exception(exception_type);
    }

    /// `XACK {stream} {group} {id}`: the ack state `acked`. A failed
    /// `XACK` counts one exception (the error's type) and returns the
    /// error; the entry stays pending.
    pub async fn ack(&mut self) -> Result<(), Error> {
        let acked: Result<usize, _> = self
            .conn
            .xack(&*self.stream, &*self.group, &[&self.entry.id])
            .await;
        self.in_process
            .settled(acked, AckState::Acked, exception_type)
            .map(drop)
            .map_err(Error::Redis)
    }

    /// The ack state `nacked`, as FastStream records it; no command is
    /// sent (Redis has no negative ack): the entry stays pending.
    pub fn nack(&mut self) {
        self.in_process.settle(AckState::Nacked);
    }

    /// The ack state `rejected`, as FastStream records it; no command is
    /// sent: the entry stays pending.
    pub fn reject(&mut self) {
        self.in_process.settle(AckState::Rejected);
    }

    /// Processing ends with status `skipped` (FastStream's
    /// `SkipMessage`), unless the entry was settled or raised; the entry
    /// stays pending.
    pub fn skip(mut self) {
        self.in_process.skip();
    }

    /// Processing ends now (as on drop).
    pub fn finish(self) {}
}

/// What [`record_group_lag`] set the gauge to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupLag {
    /// The group's `lag`: entries not delivered to it yet.
    Lag(u64),
    /// The group's `pending` (delivered, not acked), where the server
    /// reports no `lag` (before Redis 7.0, or when it cannot tell).
    Pending(u64),
}

impl GroupLag {
    /// The number, whichever it is.
    pub fn value(self) -> u64 {
        match self {
            Self::Lag(n) | Self::Pending(n) => n,
        }
    }
}

/// Sets the lag gauge of `stream` (handler label: the stream) to the
/// `lag` that `XINFO GROUPS {stream}` reports for `group` now, or its
/// `pending` where there is no lag ([`GroupLag`] says which). A group the
/// stream does not have is [`Error::NoGroup`].
pub async fn record_group_lag<C>(
    conn: &mut C,
    stream: &str,
    group: &str,
    metrics: &BrokerMetrics,
) -> Result<GroupLag, Error>
where
    C: ConnectionLike + Send + Sync,
{
    let reply: StreamInfoGroupsReply = conn.xinfo_groups(stream).await?;
    let Some(info) = reply.groups.into_iter().find(|g| g.name == group) else {
        return Err(Error::NoGroup {
            stream: stream.to_owned(),
            group: group.to_owned(),
        });
    };
    let lag = match info.lag {
        Some(lag) => GroupLag::Lag(lag as u64),
        None => GroupLag::Pending(info.pending as u64),
    };
    metrics
        .lag(stream)?
        .set(i64::try_from(lag.value()).unwrap_or(i64::MAX));
    Ok(lag)
}
