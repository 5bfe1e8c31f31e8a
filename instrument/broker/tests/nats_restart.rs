//! nats-server restarts mid-run (JetStream, file storage): the totals stay
//! consistent with what the server says, and a message in flight when the
//! connection goes counts once.
//!
//! Each test runs a server of its own (`nats-server` on PATH, which
//! `./test.sh` installs) on a free loopback port, so that it can stop and
//! start it; it fails, not skips, without one. What a message in flight
//! (received, not yet settled) when the server goes counts:
//! - JetStream, the client reconnecting (async-nats' default): an ack
//!   made while it is disconnected waits in the client, reaches the
//!   restarted server after the reconnect, and is applied there: `acked`,
//!   once, not delivered again.
//! - JetStream, the client gone for good (its reconnects used up): the
//!   ack fails, an `error` of type `ConnectionClosed` (async-nats'
//!   `PublishErrorKind::Send`: the client's connection task is gone), once; the server delivers the
//!   message again after `ack_wait`, to a new client: a new receive.
//! - Core NATS (at most once, nothing to settle): processing ends when
//!   the message is dropped, `acked`, once; the server never delivers it
//!   again.
#![cfg(feature = "async-nats")]

mod common;

use async_nats::connection::State;
use async_nats::jetstream::{self, consumer::PullConsumer, consumer::pull, stream};
use bytes::Bytes;
use common::plan::Counts;
use common::{OwnServer, Scrape, free_port, unique};
use futures_util::StreamExt;
use hotmetrics_broker::nats::{
    CONNECTION_CLOSED, MeteredJetStream, MeteredJetStreamMessage, MeteredMessages,
    MeteredPublisher, MeteredSubscriber, record_consumer_lag,
};
use hotmetrics_broker::{Broker, BrokerMetrics};
use hotmetrics_core::Registry;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

/// A nats-server of the test's own with JetStream on: a free loopback
/// port, storage in a temporary directory (removed when dropped).
struct Nats {
    port: u16,
    dir: PathBuf,
    server: Option<OwnServer>,
}

impl Nats {
    fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(name));
        std::fs::create_dir_all(&dir).unwrap();
        let mut nats = Self {
            port: free_port(),
            dir,
            server: None,
        };
        nats.restart();
        nats
    }

    /// Starts it (again) on the same port and storage.
    fn restart(&mut self) {
        let mut command = Command::new("nats-server");
        command
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.dir.join("jetstream"))
            .arg("-l")
            .arg(self.dir.join("server.log"));
        self.server = Some(OwnServer::spawn(command, "nats-server"));
    }

    /// Stops it as a service manager does (SIGTERM), and waits.
    fn stop(&mut self) {
        self.server.take().expect("the server runs").stop();
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// A client that reconnects for ever, once connected.
    async fn client(&self) -> async_nats::Client {
        let options = async_nats::ConnectOptions::new().retry_on_initial_connect();
        let client = options.connect(self.url()).await.unwrap();
        until(&client, State::Connected).await;
        client
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        drop(self.server.take());
        let _ = std::fs::remove_dir_all(&self.dir);
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

/// A stream `name` on subjects `{name}.>` and its durable pull consumer
/// `name`, whose unacked deliveries come back after `ack_wait`.
async fn stream_and_consumer(
    js: &jetstream::Context,
    name: &str,
    ack_wait: Duration,
) -> PullConsumer {
    let stream = js
        .create_stream(stream::Config {
            name: name.to_uppercase(),
            subjects: vec![format!("{name}.>")],
            ..Default::default()
        })
        .await
        .unwrap();
    stream
        .create_consumer(pull::Config {
            durable_name: Some(name.into()),
            ack_wait,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Publishes `bodies` to `subject`, each until its PublishAck.
async fn publish(
    publisher: &MeteredJetStream,
    subject: &str,
    bodies: impl Iterator<Item = String>,
) {
    for body in bodies {
        publisher.publish(subject, Bytes::from(body)).await.unwrap();
    }
}

/// The next message of `messages`.
async fn next(messages: &mut MeteredMessages) -> MeteredJetStreamMessage {
    tokio::time::timeout(WITHIN, messages.next())
        .await
        .expect("a message within 10 s")
        .unwrap()
        .unwrap()
}

/// Takes and acks `n` messages from a fresh pull stream; returns their
/// bodies and how often each was delivered.
async fn ack(consumer: &PullConsumer, metrics: &BrokerMetrics, n: usize) -> Vec<(String, i64)> {
    let mut messages = MeteredMessages::new(consumer.messages().await.unwrap(), metrics);
    let mut acked = Vec::new();
    for _ in 0..n {
        let mut msg = next(&mut messages).await;
        let body = String::from_utf8_lossy(msg.payload()).into_owned();
        let delivered = msg.message().info().unwrap().delivered;
        msg.ack().await.unwrap();
        acked.push((body, delivered));
    }
    acked.sort();
    acked
}

/// Waits until the server counts `n` of `consumer`'s deliveries unacked.
async fn ack_pending(consumer: &PullConsumer, n: usize) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let pending = consumer.get_info().await.unwrap().num_ack_pending;
        if pending == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} deliveries unacked, not {n}, after {WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn bodies(range: std::ops::Range<usize>) -> impl Iterator<Item = String> {
    range.map(|i| format!("m{i}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_stay_consistent_across_a_server_restart() {
    let mut nats = Nats::start("hotmetrics-nats-restart");
    let client = nats.client().await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Nats).unwrap();
    let js = jetstream::new(client.clone());
    // What the first pull stream fetched but never yielded comes back soon
    // after that stream is gone.
    let consumer = stream_and_consumer(&js, "restart", Duration::from_secs(1)).await;
    let publisher = MeteredJetStream::new(js.clone(), &metrics);
    let subject = "restart.orders";
    publish(&publisher, subject, bodies(0..10)).await;
    ack(&consumer, &metrics, 5).await;
    client.flush().await.unwrap();
    let before = Scrape::of(&registry, "nats");

    nats.stop();
    until(&client, State::Disconnected).await;
    nats.restart();
    until(&client, State::Connected).await;

    publish(&publisher, subject, bodies(10..15)).await;
    ack(&consumer, &metrics, 10).await;
    // The server applies acks asynchronously.
    ack_pending(&consumer, 0).await;
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
    s.assert_kept(&before);
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
    Counts::default()
        .ended(15, "acked", None)
        .assert_sole_handler(&s, subject);
    assert_eq!(
        (lag, info.num_pending),
        (0, 0),
        "server redelivered {}",
        info.num_redelivered
    );
    assert_eq!(s.lag("restart"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_made_while_reconnecting_reaches_the_restarted_server_and_counts_once() {
    let mut nats = Nats::start("hotmetrics-nats-late-ack");
    let client = nats.client().await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Nats).unwrap();
    let js = jetstream::new(client.clone());
    // Long enough that the server does not deliver m0 again before the
    // late ack reaches it.
    let consumer = stream_and_consumer(&js, "lateack", Duration::from_secs(60)).await;
    let publisher = MeteredJetStream::new(js.clone(), &metrics);
    let subject = "lateack.orders";
    publish(&publisher, subject, bodies(0..1)).await;
    let mut messages = MeteredMessages::new(consumer.messages().await.unwrap(), &metrics);
    let mut in_flight = next(&mut messages).await;
    assert_eq!(Scrape::of(&registry, "nats").in_process(subject), 1.0);

    nats.stop();
    until(&client, State::Disconnected).await;
    // Taken by the client, sent once it is connected again.
    in_flight.ack().await.unwrap();
    drop(in_flight);
    drop(messages);
    let down = Scrape::of(&registry, "nats");
    assert_eq!(
        (down.processed(subject, "acked"), down.in_process(subject)),
        (1.0, 0.0)
    );

    nats.restart();
    until(&client, State::Connected).await;
    client.flush().await.unwrap();
    ack_pending(&consumer, 0).await;
    publish(&publisher, subject, bodies(1..2)).await;
    // m1 next: m0 is not delivered again.
    assert_eq!(ack(&consumer, &metrics, 1).await, [("m1".to_owned(), 1)]);
    ack_pending(&consumer, 0).await;

    let info = consumer.get_info().await.unwrap();
    assert_eq!((info.num_redelivered, info.num_pending), (0, 0));
    let s = Scrape::of(&registry, "nats");
    s.assert_kept(&down);
    assert_eq!(s.published(subject, "success"), 2.0);
    Counts::default()
        .ended(2, "acked", None)
        .assert_sole_handler(&s, subject);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_the_client_cannot_send_counts_once_as_an_error_and_the_redelivery_anew() {
    let mut nats = Nats::start("hotmetrics-nats-gone");
    let admin = nats.client().await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Nats).unwrap();
    let admin_js = jetstream::new(admin.clone());
    // What the worker's stream fetched and never acked comes back soon.
    let consumer = stream_and_consumer(&admin_js, "gone", Duration::from_secs(1)).await;
    let publisher = MeteredJetStream::new(admin_js.clone(), &metrics);
    let subject = "gone.orders";
    publish(&publisher, subject, bodies(0..3)).await;

    // A worker whose client gives up after one failed reconnect.
    let worker = async_nats::ConnectOptions::new()
        .max_reconnects(1)
        .reconnect_delay_callback(|_| Duration::from_millis(10))
        .connect(nats.url())
        .await
        .unwrap();
    let worker_consumer: PullConsumer = jetstream::new(worker.clone())
        .get_stream("GONE")
        .await
        .unwrap()
        .get_consumer("gone")
        .await
        .unwrap();
    let mut messages = MeteredMessages::new(worker_consumer.messages().await.unwrap(), &metrics);
    next(&mut messages).await.ack().await.unwrap();
    let mut in_flight = next(&mut messages).await;
    assert_eq!(in_flight.payload(), "m1");

    nats.stop();
    gave_up(&worker).await;
    let refused = in_flight.ack().await.unwrap_err();
    drop(in_flight);
    drop(messages);
    let down = Scrape::of(&registry, "nats");
    assert_eq!(
        (
            down.processed(subject, "error"),
            down.exceptions(subject, CONNECTION_CLOSED),
            down.in_process(subject)
        ),
        (1.0, 1.0, 0.0),
        "after {refused}"
    );

    nats.restart();
    until(&admin, State::Connected).await;
    // A new client, as the worker's reconnect loop would make: the server
    // delivers m1 again (and m2, fetched by the old stream, not yielded).
    let again = ack(&consumer, &metrics, 2).await;
    assert_eq!(again[0].0, "m1");
    assert!(again[0].1 >= 2, "m1 delivered again: {again:?}");
    assert_eq!(again[1].0, "m2");
    ack_pending(&consumer, 0).await;

    let s = Scrape::of(&registry, "nats");
    s.assert_kept(&down);
    assert_eq!(s.published(subject, "success"), 3.0);
    // m0, m1 (refused), m1 again, m2.
    Counts::default()
        .ended(3, "acked", None)
        .ended(1, "error", Some(CONNECTION_CLOSED))
        .assert_sole_handler(&s, subject);
}

/// Waits until `client` gave up reconnecting: its connection task is gone,
/// so what it is asked to send fails.
async fn gave_up(client: &async_nats::Client) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    while client.publish("probe", Bytes::new()).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the client still reconnects after {WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_message_in_flight_when_the_connection_drops_counts_once_acked() {
    let mut nats = Nats::start("hotmetrics-nats-core");
    let client = nats.client().await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Nats).unwrap();
    let subject = "core.orders";
    let mut sub = MeteredSubscriber::new(client.subscribe(subject).await.unwrap(), &metrics);
    let publisher = MeteredPublisher::new(client.clone(), &metrics);
    publisher.publish(subject, "m0".into()).await.unwrap();
    let in_flight = tokio::time::timeout(WITHIN, sub.next())
        .await
        .expect("m0 within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(Scrape::of(&registry, "nats").in_process(subject), 1.0);

    nats.stop();
    until(&client, State::Disconnected).await;
    // Taken by the client while it is disconnected, sent after the
    // reconnect: a success.
    publisher.publish(subject, "m1".into()).await.unwrap();
    drop(in_flight);
    let down = Scrape::of(&registry, "nats");
    assert_eq!(
        (down.processed(subject, "acked"), down.in_process(subject)),
        (1.0, 0.0)
    );

    nats.restart();
    until(&client, State::Connected).await;
    // The client subscribes again on the new connection, then sends m1;
    // m0 is not delivered again.
    let next = tokio::time::timeout(WITHIN, sub.next())
        .await
        .expect("m1 within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(next.payload(), "m1");
    drop(next);

    let s = Scrape::of(&registry, "nats");
    s.assert_kept(&down);
    assert_eq!(
        (
            s.published(subject, "success"),
            s.published(subject, "error")
        ),
        (2.0, 0.0)
    );
    Counts::default()
        .ended(2, "acked", None)
        .assert_sole_handler(&s, subject);
}
