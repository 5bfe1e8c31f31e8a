//! The redis wrappers against a real redis-server (`./test.sh` starts one
//! and exports HOTMETRICS_REDIS_URL): a stream consumer group's entries
//! acked (XACK), nacked, rejected, skipped, raising, acked then raising;
//! pub/sub channels and lists; XADD / PUBLISH / RPUSH with a failure:
//! exact counts per family, status and exception type, and the group's lag
//! as XINFO GROUPS reports it. Entries a consumer dropped unsettled,
//! claimed by another with XAUTOCLAIM (on its cursor, past deleted ones)
//! and acked: the pending list empties, each claim counts as a delivery.
#![cfg(feature = "redis")]

mod common;

use common::plan::{Counts, Outcome, OutcomePlan, Settle};
use common::{Scrape, server_url, unique};
use futures_util::StreamExt;
use hotmetrics_broker::redis::{
    Error, GroupLag, MeteredListConsumer, MeteredPubSub, MeteredRedisPublisher, MeteredStreamEntry,
    MeteredStreamGroup, record_group_lag,
};
use hotmetrics_broker::{Broker, BrokerMetrics, DROPPED};
use hotmetrics_core::Registry;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamClaimReply, StreamInfoGroupsReply, StreamPendingReply};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

fn client() -> redis::Client {
    let url = server_url("HOTMETRICS_REDIS_URL", "redis-server");
    redis::Client::open(url.as_str())
        .unwrap_or_else(|e| panic!("HOTMETRICS_REDIS_URL={url} is not a Redis URL: {e}"))
}

async fn connect(client: &redis::Client) -> MultiplexedConnection {
    let url = server_url("HOTMETRICS_REDIS_URL", "redis-server");
    match tokio::time::timeout(WITHIN, client.get_multiplexed_async_connection()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!("cannot connect to Redis at HOTMETRICS_REDIS_URL={url}: {e}"),
        Err(_) => panic!("Redis at HOTMETRICS_REDIS_URL={url} did not answer within {WITHIN:?}"),
    }
}

/// Each outcome twice (a skip where the others drop: the dropped entry
/// has tests of its own); nack and reject send nothing.
const PLAN: OutcomePlan = OutcomePlan::new(Outcome::WITHOUT_DROP, 2);

impl Settle for MeteredStreamEntry<MultiplexedConnection> {
    fn body(&self) -> &[u8] {
        self.field("body")
            .expect("a planned entry has a body field")
    }

    async fn ack(&mut self) {
        MeteredStreamEntry::ack(self).await.unwrap();
    }

    async fn nack(&mut self) {
        MeteredStreamEntry::nack(self);
    }

    async fn reject(&mut self) {
        MeteredStreamEntry::reject(self);
    }

    fn raise(&mut self, exception_type: &str) {
        self.exception(exception_type);
    }

    fn skip(self) {
        MeteredStreamEntry::skip(self);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_group_outcomes_publishes_and_lag_count_exactly() {
    let client = client();
    let mut conn = connect(&client).await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Redis).unwrap();
    let stream = unique("hm-orders");
    let list = unique("hm-list");
    let () = conn
        .xgroup_create_mkstream(&stream, "billing", "$")
        .await
        .unwrap();

    let publisher = MeteredRedisPublisher::new(conn.clone(), &metrics);
    for i in 0..PLAN.messages() {
        publisher
            .xadd(&stream, &[("body", OutcomePlan::body(i))])
            .await
            .unwrap();
    }
    // The key holds a list: XADD to it is refused, WRONGTYPE.
    assert_eq!(publisher.rpush(&list, "x").await.unwrap(), 1);
    let err = publisher.xadd(&list, &[("n", "0")]).await.unwrap_err();

    let lag = record_group_lag(&mut conn, &stream, "billing", &metrics)
        .await
        .unwrap();
    assert_eq!(lag, GroupLag::Lag(PLAN.messages() as u64));
    assert_eq!(
        Scrape::of(&registry, "redis").lag(&stream),
        PLAN.messages() as f64
    );
    let missing = record_group_lag(&mut conn, &stream, "nobody", &metrics).await;
    assert!(matches!(missing, Err(Error::NoGroup { .. })), "{missing:?}");

    let mut group = MeteredStreamGroup::new(conn.clone(), "billing", "worker-1", &metrics);
    let mut driver = PLAN.driver();
    while driver.received() < PLAN.deliveries() {
        let entries = tokio::time::timeout(
            WITHIN,
            group.read(&[&stream], 5, Some(Duration::from_secs(1))),
        )
        .await
        .expect("entries")
        .unwrap();
        assert!(
            !entries.is_empty(),
            "{} of {} entries read",
            driver.received(),
            PLAN.deliveries()
        );
        for entry in entries {
            driver.settle(entry.unwrap()).await;
        }
    }

    // Acked entries left the pending list; the others stay.
    let pending: StreamPendingReply = conn.xpending(&stream, "billing").await.unwrap();
    let unacked: usize = [
        Outcome::Nack,
        Outcome::Reject,
        Outcome::Raise,
        Outcome::Skip,
    ]
    .map(|o| PLAN.count(o))
    .iter()
    .sum();
    assert_eq!(pending.count(), unacked);
    let info: StreamInfoGroupsReply = conn.xinfo_groups(&stream).await.unwrap();
    assert_eq!(info.groups[0].lag, Some(0));
    let lag = record_group_lag(&mut conn, &stream, "billing", &metrics)
        .await
        .unwrap();
    assert_eq!(lag, GroupLag::Lag(0), "every entry was delivered");

    let s = Scrape::of(&registry, "redis");
    assert_eq!(s.lag(&stream), 0.0);
    PLAN.expected().assert_sole_handler(&s, &stream);
    assert_eq!(s.published(&stream, "success"), PLAN.messages() as f64);
    assert_eq!(s.publish_durations(&stream), PLAN.messages() as f64);
    assert_eq!(
        (s.published(&list, "success"), s.published(&list, "error")),
        (1.0, 1.0)
    );
    assert_eq!(s.publish_exceptions(&list, "WRONGTYPE"), 1.0, "after {err}");
    let () = conn.del(&[&stream, &list]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_xack_and_an_unsettled_entry_count_once_as_errors() {
    let client = client();
    let mut conn = connect(&client).await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Redis).unwrap();
    let stream = unique("hm-gone");
    let () = conn
        .xgroup_create_mkstream(&stream, "billing", "$")
        .await
        .unwrap();
    let publisher = MeteredRedisPublisher::new(conn.clone(), &metrics);
    for i in 0..2 {
        publisher.xadd(&stream, &[("n", i)]).await.unwrap();
    }
    let mut group = MeteredStreamGroup::new(conn.clone(), "billing", "worker-1", &metrics);
    let mut entries = group.read(&[&stream], 2, None).await.unwrap();
    assert_eq!(entries.len(), 2);
    // Dropped without a settle or an exception: Dropped.
    drop(entries.pop().unwrap().unwrap());
    // The key no longer holds a stream when the entry is acked.
    let () = conn.del(&stream).await.unwrap();
    let () = conn.set(&stream, "not a stream").await.unwrap();
    let mut entry = entries.pop().unwrap().unwrap();
    let acked = entry.ack().await;
    assert!(acked.is_err(), "XACK on a string: {acked:?}");
    drop(entry);

    let s = Scrape::of(&registry, "redis");
    Counts::default()
        .ended(1, "error", Some(DROPPED))
        .ended(1, "error", Some("WRONGTYPE"))
        .assert_sole_handler(&s, &stream);
    let () = conn.del(&stream).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_and_lists_count_exactly() {
    let client = client();
    let conn = connect(&client).await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Redis).unwrap();
    let publisher = MeteredRedisPublisher::new(conn.clone(), &metrics);
    let channel = unique("hm-events");
    let list = unique("hm-jobs");

    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe(&channel).await.unwrap();
    let mut events = MeteredPubSub::from_stream(pubsub.into_on_message(), &metrics);
    for i in 0..5 {
        let receivers = publisher.publish(&channel, format!("e{i}")).await.unwrap();
        assert_eq!(receivers, 1);
    }
    for i in 0..5 {
        let mut msg = tokio::time::timeout(WITHIN, events.next())
            .await
            .expect("a message")
            .unwrap()
            .unwrap();
        assert_eq!(msg.source(), channel);
        assert_eq!(msg.payload(), format!("e{i}").as_bytes());
        if i % 2 == 0 {
            msg.exception("ValueError");
        }
    }

    // BLPOP holds its connection: one of its own.
    let mut jobs = MeteredListConsumer::new(connect(&client).await, &metrics);
    for i in 0..4 {
        publisher.rpush(&list, format!("job{i}")).await.unwrap();
    }
    for i in 0..4 {
        let mut msg = jobs.pop(&[&list], WITHIN).await.unwrap().expect("a job");
        assert_eq!(msg.source(), list);
        if i == 3 {
            msg.exception("KeyError");
        }
    }
    let empty = jobs
        .pop(&[&list], Duration::from_millis(100))
        .await
        .unwrap();
    assert!(empty.is_none());

    let s = Scrape::of(&registry, "redis");
    assert_eq!(s.handlers(), [channel.clone(), list.clone()]);
    // e0, e2, e4 raised; job3 raised.
    Counts::default()
        .ended(2, "acked", None)
        .ended(3, "error", Some("ValueError"))
        .assert_scraped(&s, &channel);
    Counts::default()
        .ended(3, "acked", None)
        .ended(1, "error", Some("KeyError"))
        .assert_scraped(&s, &list);
    assert_eq!(s.published(&channel, "success"), 5.0);
    assert_eq!(s.published(&list, "success"), 4.0);
}

/// Entries read by the consumer that dies in the claim test.
const DEAD: usize = 15;
/// How many of them are made busy again (idle reset) before the claim:
/// more than one XAUTOCLAIM COUNT 1 scans (ten), so the claim follows the
/// cursor.
const BUSY: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_a_dead_consumer_left_pending_are_claimed_and_acked() {
    let client = client();
    let mut conn = connect(&client).await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Redis).unwrap();
    let stream = unique("hm-claim");
    let () = conn
        .xgroup_create_mkstream(&stream, "billing", "$")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..DEAD {
        let id: String = conn.xadd(&stream, "*", &[("n", i)]).await.unwrap();
        ids.push(id);
    }

    // Worker A reads them all and dies: each dropped unsettled.
    let mut a = MeteredStreamGroup::new(conn.clone(), "billing", "worker-a", &metrics);
    let read = a.read(&[&stream], DEAD, None).await.unwrap();
    assert_eq!(read.len(), DEAD);
    drop(read);

    let mut b = MeteredStreamGroup::new(conn.clone(), "billing", "worker-b", &metrics);
    let min_idle = Duration::from_millis(200);
    let early = b
        .claim_idle(&stream, Duration::from_secs(60), DEAD)
        .await
        .unwrap();
    assert_eq!(early.len(), 0, "nothing pending a minute yet");
    tokio::time::sleep(min_idle + Duration::from_millis(100)).await;
    // The first BUSY are taken by a third consumer now (idle 0); of the
    // idle rest, one is deleted from the stream.
    let claimed: StreamClaimReply = conn
        .xclaim(&stream, "billing", "worker-c", 0, &ids[..BUSY])
        .await
        .unwrap();
    assert_eq!(claimed.ids.len(), BUSY);
    let deleted: usize = conn.xdel(&stream, &[&ids[BUSY + 1]]).await.unwrap();
    assert_eq!(deleted, 1);

    // COUNT 1 scans ten pending entries, all busy: the claim goes on from
    // the cursor to the first idle one.
    let mut first = b.claim_idle(&stream, min_idle, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    let mut entry = first.pop().unwrap().unwrap();
    assert_eq!(entry.id(), ids[BUSY]);
    entry.ack().await.unwrap();
    drop(entry);
    // The deleted one is skipped: the last idle one only.
    let rest = b.claim_idle(&stream, min_idle, DEAD).await.unwrap();
    let rest: Vec<_> = rest.into_iter().map(Result::unwrap).collect();
    let rest_ids: Vec<&str> = rest.iter().map(|e| e.id()).collect();
    assert_eq!(rest_ids, [ids[DEAD - 1].as_str()]);
    for mut entry in rest {
        entry.ack().await.unwrap();
    }
    // The busy ones, from worker C, with no idle time asked.
    let busy = b.claim_idle(&stream, Duration::ZERO, DEAD).await.unwrap();
    assert_eq!(busy.len(), BUSY);
    for entry in busy {
        entry.unwrap().ack().await.unwrap();
    }

    let pending: StreamPendingReply = conn.xpending(&stream, "billing").await.unwrap();
    assert_eq!(pending.count(), 0, "{pending:?}");
    let s = Scrape::of(&registry, "redis");
    // Each read dropped by A; each claimed (all but the deleted) acked.
    Counts::default()
        .ended(DEAD as u32, "error", Some(DROPPED))
        .ended(DEAD as u32 - 1, "acked", None)
        .assert_sole_handler(&s, &stream);
    let () = conn.del(&stream).await.unwrap();
}
