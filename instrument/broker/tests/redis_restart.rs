//! A redis-server restart mid-run (append-only file, fsync always, so
//! that the stream, its consumer group and the group's pending entries
//! survive): totals stay consistent with what the server says.
//!
//! The test runs a server of its own (`redis-server` on PATH, which
//! `./test.sh` installs) on a free loopback port, so that it can stop and
//! start it; it fails, not skips, without one. A `MultiplexedConnection`
//! does not reconnect: the client opens a new one after the restart, as
//! an application's reconnect loop would. Entries in flight when the
//! server goes (read, not yet acked) count once as received and once as
//! an error of the client's error kind; they stay pending in the group on
//! the server (Redis gives them to a consumer again only on `XCLAIM`).
#![cfg(feature = "redis")]

mod common;

use common::plan::Counts;
use common::{OwnServer, Scrape, free_port, unique};
use hotmetrics_broker::redis::{
    GroupLag, MeteredRedisPublisher, MeteredStreamGroup, record_group_lag,
};
use hotmetrics_broker::{Broker, BrokerMetrics};
use hotmetrics_core::Registry;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use redis::streams::StreamPendingReply;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

/// A redis-server on `port`, its append-only file under `dir`; stopped
/// (SIGTERM, as a service manager does: the server syncs the file and
/// exits) by [`OwnServer::stop`], killed when dropped.
struct Server;

impl Server {
    fn start(port: u16, dir: &Path) -> OwnServer {
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join("server.log"));
        OwnServer::spawn(command, "redis-server")
    }
}

/// A connection once the server answers (it takes a moment to start and
/// to load its append-only file).
async fn connect(client: &redis::Client) -> MultiplexedConnection {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
            let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
            if pong.is_ok() {
                return conn;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "redis-server does not answer within {WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads `n` entries and acks each.
async fn ack(group: &mut MeteredStreamGroup<MultiplexedConnection>, stream: &str, n: usize) {
    let mut seen = 0;
    while seen < n {
        let entries = tokio::time::timeout(WITHIN, group.read(&[stream], n - seen, Some(WITHIN)))
            .await
            .expect("entries within 10 s")
            .unwrap();
        assert!(!entries.is_empty(), "{seen} of {n} entries read");
        for entry in entries {
            entry.unwrap().ack().await.unwrap();
            seen += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_stay_consistent_across_a_server_restart() {
    let dir = std::env::temp_dir().join(unique("hotmetrics-redis-restart"));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let server = Server::start(port, &dir);
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}").as_str()).unwrap();
    let mut conn = connect(&client).await;

    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Redis).unwrap();
    let stream = "restart-orders";
    let () = conn
        .xgroup_create_mkstream(stream, "billing", "$")
        .await
        .unwrap();
    let publisher = MeteredRedisPublisher::new(conn.clone(), &metrics);
    for i in 0..10 {
        publisher.xadd(stream, &[("n", i)]).await.unwrap();
    }
    let mut group = MeteredStreamGroup::new(conn.clone(), "billing", "worker-1", &metrics);
    ack(&mut group, stream, 5).await;
    // Two entries in flight: read, not acked yet, when the server goes.
    let in_flight = group.read(&[stream], 2, None).await.unwrap();
    assert_eq!(in_flight.len(), 2);
    let before = Scrape::of(&registry, "redis");
    assert_eq!(before.in_process(stream), 2.0);

    server.stop();
    for entry in in_flight {
        let acked = entry.unwrap().ack().await;
        assert!(acked.is_err(), "an ack with the server down: {acked:?}");
    }
    // A publish while the server is down fails, and counts as such.
    let refused = publisher.xadd(stream, &[("n", "lost")]).await.unwrap_err();
    let down = Scrape::of(&registry, "redis");
    assert_eq!(down.in_process(stream), 0.0);

    let server = Server::start(port, &dir);
    let mut conn = connect(&client).await;
    let publisher = MeteredRedisPublisher::new(conn.clone(), &metrics);
    let mut group = MeteredStreamGroup::new(conn.clone(), "billing", "worker-1", &metrics);
    for i in 10..15 {
        publisher.xadd(stream, &[("n", i)]).await.unwrap();
    }
    // The 3 entries never read before the restart, and the 5 new ones.
    ack(&mut group, stream, 8).await;
    let lag = record_group_lag(&mut conn, stream, "billing", &metrics)
        .await
        .unwrap();

    let stored: usize = conn.xlen(stream).await.unwrap();
    let pending: StreamPendingReply = conn.xpending(stream, "billing").await.unwrap();
    let s = Scrape::of(&registry, "redis");
    s.assert_kept(&down);
    down.assert_kept(&before);
    assert_eq!(stored, 15, "the stream kept every entry across the restart");
    assert_eq!(pending.count(), 2, "the in-flight entries stay pending");
    assert_eq!(s.published(stream, "success"), 15.0);
    assert_eq!(s.published(stream, "error"), 1.0, "after {refused}");
    // The client's error kind: the connection is gone.
    assert_eq!(s.publish_exceptions(stream, "Io"), 1.0);
    // The 13 acked once; each in-flight entry's ack failed once.
    Counts::default()
        .ended(13, "acked", None)
        .ended(2, "error", Some("Io"))
        .assert_sole_handler(&s, stream);
    assert_eq!(lag, GroupLag::Lag(0));
    assert_eq!(s.lag(stream), 0.0);
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
