//! Publishing: `XADD`, `PUBLISH` and `RPUSH`, each recorded as FastStream
//! records a publish, until the server's reply.

use super::{Error, exception_type};
use crate::BrokerMetrics;
use crate::wrappers::DestinationCache;
use redis::aio::ConnectionLike;
use redis::{AsyncCommands, RedisResult, ToRedisArgs, ToSingleRedisArg};
use std::fmt;

/// A connection whose `XADD`, `PUBLISH` and `RPUSH` record FastStream's
/// `published_*` families (destination: the stream, channel or list);
/// share it (`&self` methods, each on a clone of the connection).
pub struct MeteredRedisPublisher<C> {
    conn: C,
    metrics: BrokerMetrics,
    destinations: DestinationCache,
}

impl<C> fmt::Debug for MeteredRedisPublisher<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredRedisPublisher")
            .finish_non_exhaustive()
    }
}

impl<C> MeteredRedisPublisher<C>
where
    C: ConnectionLike + Clone + Send + Sync,
{
    /// Publishes on `conn` (a `MultiplexedConnection` or
    /// `ConnectionManager`: cloned per call).
    pub fn new(conn: C, metrics: &BrokerMetrics) -> Self {
        Self {
            conn,
            metrics: metrics.clone(),
            destinations: DestinationCache::default(),
        }
    }

    /// The connection.
    pub fn connection(&self) -> &C {
        &self.conn
    }

    /// `XADD {stream} * {fields}`: the new entry's id. An error reply
    /// (`WRONGTYPE` when the key holds no stream) is `error` with its code.
    pub async fn xadd<F, V>(&self, stream: &str, fields: &[(F, V)]) -> Result<String, Error>
    where
        F: ToRedisArgs + Send + Sync,
        V: ToRedisArgs + Send + Sync,
    {
        let mut conn = self.conn.clone();
        self.record(stream, conn.xadd(stream, "*", fields)).await
    }

    /// `PUBLISH {channel} {payload}`: how many subscribers received it.
    pub async fn publish<P>(&self, channel: &str, payload: P) -> Result<usize, Error>
    where
        P: ToSingleRedisArg + Send + Sync,
    {
        let mut conn = self.conn.clone();
        self.record(channel, conn.publish(channel, payload)).await
    }

    /// `RPUSH {list} {payload}`: the list's length after it.
    pub async fn rpush<P>(&self, list: &str, payload: P) -> Result<usize, Error>
    where
        P: ToRedisArgs + Send + Sync,
    {
        let mut conn = self.conn.clone();
        self.record(list, conn.rpush(list, payload)).await
    }

    async fn record<T>(
        &self,
        destination: &str,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, Error> {
        let send = self.destinations.get(&self.metrics, destination)?.publish();
        match call.await {
            Ok(v) => {
                send.success();
                Ok(v)
            }
            Err(e) => {
                send.error(&exception_type(&e));
                Err(Error::Redis(e))
            }
        }
    }
}
