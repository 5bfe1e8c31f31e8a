//! A nats-server restart mid-run (JetStream, file storage): the client
//! reconnects, and the totals stay consistent with what the server says.
//! The test runs a server of its own (`nats-server` on PATH, which
//! `./test.sh` installs) on a free loopback port, so that it can stop and
//! start it; it fails, not skips, without one.
#![cfg(feature = "async-nats")]

mod common;

use async_nats::connection::State;
use async_nats::jetstream::{self, consumer::PullConsumer, consumer::pull, stream};
use bytes::Bytes;
use common::{OwnServer, Scrape, free_port, unique};
use futures_util::StreamExt;
use hotmetrics_broker::nats::{MeteredJetStream, MeteredMessages, record_consumer_lag};
use hotmetrics_broker::{Broker, BrokerMetrics};
use hotmetrics_core::Registry;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

/// A nats-server with JetStream on `port`, storing under `dir`; stopped
/// (SIGTERM, as a service manager does) by [`OwnServer::stop`].
struct Server;

impl Server {
    fn start(port: u16, dir: &Path) -> OwnServer {
        let mut command = Command::new("nats-server");
        command
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.join("jetstream"))
            .arg("-l")
            .arg(dir.join("server.log"));
        OwnServer::spawn(command, "nats-server")
    }
}

/// Waits until the client's connection is in `state`.
async fn until(client: &async_nats::Client, state: State) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    while client.connection_state() != state {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the client is not {state:?} within {WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Takes and acks `n` messages from a fresh pull stream.
async fn ack(consumer: &PullConsumer, metrics: &BrokerMetrics, n: usize) {
    let mut messages = MeteredMessages::new(consumer.messages().await.unwrap(), metrics);
    for _ in 0..n {
        let mut msg = tokio::time::timeout(WITHIN, messages.next())
            .await
            .expect("a message within 10 s")
            .unwrap()
            .unwrap();
        msg.ack().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_stay_consistent_across_a_server_restart() {
    let dir = std::env::temp_dir().join(unique("hotmetrics-nats-restart"));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let server = Server::start(port, &dir);
    let url = format!("nats://127.0.0.1:{port}");
    let options = async_nats::ConnectOptions::new().retry_on_initial_connect();
    let client = options.connect(url.as_str()).await.unwrap();
    until(&client, State::Connected).await;

    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Nats).unwrap();
    let js = jetstream::new(client.clone());
    let stream = js
        .create_stream(stream::Config {
            name: "RESTART".into(),
            subjects: vec!["restart.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("restart".into()),
            // What the first pull stream fetched but never yielded comes
            // back soon after that stream is gone.
            ack_wait: Duration::from_secs(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let publisher = MeteredJetStream::new(js.clone(), &metrics);
    for i in 0..10 {
        publisher
            .publish("restart.orders", Bytes::from(format!("m{i}")))
            .await
            .unwrap();
    }
    ack(&consumer, &metrics, 5).await;
    client.flush().await.unwrap();

    server.stop();
    until(&client, State::Disconnected).await;
    let server = Server::start(port, &dir);
    until(&client, State::Connected).await;

    for i in 10..15 {
        publisher
            .publish("restart.orders", Bytes::from(format!("m{i}")))
            .await
            .unwrap();
    }
    ack(&consumer, &metrics, 10).await;
    let lag = record_consumer_lag(&consumer, &metrics).await.unwrap();

    let info = consumer.get_info().await.unwrap();
    let stored = js
        .get_stream("RESTART")
        .await
        .unwrap()
        .get_info()
        .await
        .unwrap()
        .state
        .messages;
    let s = Scrape::of(&registry, "nats");
    let subject = "restart.orders";
    assert_eq!(
        stored, 15,
        "the stream kept every message across the restart"
    );
    assert_eq!(s.published(subject, "success"), 15.0);
    assert_eq!(s.published(subject, "error"), 0.0);
    // Each message reached the handler once and was acked once: those the
    // first pull stream had fetched but not yielded when the server went
    // are delivered again by the server (num_redelivered), and counted
    // only when they reach the handler.
    assert_eq!(
        s.received(subject),
        15.0,
        "server redelivered {}",
        info.num_redelivered
    );
    assert_eq!(s.processed(subject, "acked"), 15.0);
    assert_eq!(s.processed(subject, "error"), 0.0);
    assert_eq!(s.in_process(subject), 0.0);
    assert_eq!((lag, info.num_pending, info.num_ack_pending), (0, 0, 0));
    assert_eq!(s.lag("restart"), 0.0);
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
