//! The async-nats wrappers against a real nats-server with JetStream
//! (`./test.sh` starts one and exports HOTMETRICS_NATS_URL): core
//! subscriptions and publishes, JetStream pull consumers (ack / nak / term)
//! and publishes, exact counts per family, status and exception type; the
//! consumer lag as the server reports it; RPC replies not counted.
#![cfg(feature = "async-nats")]

mod common;

use async_nats::jetstream::{self, consumer::PullConsumer, consumer::pull, stream};
use bytes::Bytes;
use common::plan::{Outcome, OutcomePlan, Settle};
use common::{Scrape, server_url, unique};
use futures_util::StreamExt;
use hotmetrics_broker::nats::{
    MeteredJetStream, MeteredJetStreamMessage, MeteredMessages, MeteredPublisher,
    MeteredSubscriber, record_consumer_lag,
};
use hotmetrics_broker::{Broker, BrokerMetrics};
use hotmetrics_core::Registry;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

async fn connect() -> async_nats::Client {
    let url = server_url("HOTMETRICS_NATS_URL", "nats-server (with JetStream, -js)");
    match tokio::time::timeout(WITHIN, async_nats::connect(url.as_str())).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!("cannot connect to NATS at HOTMETRICS_NATS_URL={url}: {e}"),
        Err(_) => panic!("NATS at HOTMETRICS_NATS_URL={url} did not answer within {WITHIN:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_subscriptions_and_publishes_count_exactly_and_replies_do_not() {
    let client = connect().await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Nats).unwrap();
    let base = unique("hm-core").replace('-', "_");
    let mut sub = MeteredSubscriber::new(
        client.subscribe(format!("{base}.>")).await.unwrap(),
        &metrics,
    );
    let publisher = MeteredPublisher::new(client.clone(), &metrics);
    let (a, b) = (format!("{base}.a"), format!("{base}.b"));
    for i in 0..10 {
        let subject = if i < 6 { &a } else { &b };
        publisher
            .publish(subject, Bytes::from(format!("m{i}")))
            .await
            .unwrap();
    }
    // Not a subject one can publish to: refused by the client, an error.
    let bad = format!("{a} and more");
    let err = publisher.publish(&bad, "x".into()).await.unwrap_err();
    client.flush().await.unwrap();

    for _ in 0..10 {
        let mut msg = tokio::time::timeout(WITHIN, sub.next())
            .await
            .expect("a message")
            .unwrap()
            .unwrap();
        let i: usize = std::str::from_utf8(msg.payload()).unwrap()[1..]
            .parse()
            .unwrap();
        // Every third fails; the others end well.
        if i.is_multiple_of(3) {
            msg.exception("ValueError");
        }
    }

    // A request to a metered subscription: the request is received and
    // counted; the reply (respond) is not; nor is a message on an inbox.
    let request = {
        let client = client.clone();
        let subject = format!("{base}.rpc");
        tokio::spawn(async move { client.request(subject, "ping".into()).await })
    };
    let msg = tokio::time::timeout(WITHIN, sub.next())
        .await
        .expect("the request")
        .unwrap()
        .unwrap();
    assert!(msg.is_counted());
    assert!(
        publisher
            .respond(msg.message(), "pong".into())
            .await
            .unwrap()
    );
    drop(msg);
    let reply = request.await.unwrap().unwrap();
    assert_eq!(&reply.payload[..], b"pong");
    let inbox = client.new_inbox();
    let mut replies =
        MeteredSubscriber::new(client.subscribe(inbox.clone()).await.unwrap(), &metrics);
    client.publish(inbox, "answer".into()).await.unwrap();
    let answer = tokio::time::timeout(WITHIN, replies.next())
        .await
        .expect("the answer")
        .unwrap()
        .unwrap();
    assert!(!answer.is_counted());
    drop(answer);

    let s = Scrape::of(&registry, "nats");
    // a: m0..m5 (m0, m3 fail); b: m6..m9 (m6, m9 fail).
    assert_eq!((s.received(&a), s.received(&b)), (6.0, 4.0));
    assert_eq!(
        (s.processed(&a, "acked"), s.processed(&a, "error")),
        (4.0, 2.0)
    );
    assert_eq!(
        (s.processed(&b, "acked"), s.processed(&b, "error")),
        (2.0, 2.0)
    );
    assert_eq!(
        (
            s.exceptions(&a, "ValueError"),
            s.exceptions(&b, "ValueError")
        ),
        (2.0, 2.0)
    );
    assert_eq!(
        (s.sizes(&a), s.durations(&b), s.in_process(&a)),
        (6.0, 4.0, 0.0)
    );
    let rpc = format!("{base}.rpc");
    assert_eq!((s.received(&rpc), s.processed(&rpc, "acked")), (1.0, 1.0));
    assert_eq!(
        (s.published(&a, "success"), s.published(&b, "success")),
        (6.0, 4.0)
    );
    assert_eq!(s.published(&bad, "error"), 1.0);
    assert_eq!(
        s.publish_exceptions(&bad, "InvalidSubject"),
        1.0,
        "after {err}"
    );
    assert_eq!(
        (s.publish_durations(&a), s.publish_durations(&bad)),
        (6.0, 1.0)
    );
    // Only a, b and rpc were received; only a, b and bad published to.
    let snap = registry.snapshot();
    let series = |name: &str| {
        snap.families
            .iter()
            .find(|f| f.name == name)
            .map_or(0, |f| f.series.len())
    };
    assert_eq!(series("faststream_received_messages"), 3);
    assert_eq!(series("faststream_published_messages"), 6);
}

/// Each outcome twice (JetStream has no skip): nack is a nak, reject a
/// term.
const PLAN: OutcomePlan = OutcomePlan::new(Outcome::WITHOUT_SKIP, 2);

impl Settle for MeteredJetStreamMessage {
    fn body(&self) -> &[u8] {
        self.payload()
    }

    async fn ack(&mut self) {
        MeteredJetStreamMessage::ack(self).await.unwrap();
    }

    async fn nack(&mut self) {
        // Not redelivered while the test runs.
        self.nak(Some(Duration::from_secs(120))).await.unwrap();
    }

    async fn reject(&mut self) {
        self.term().await.unwrap();
    }

    fn raise(&mut self, exception_type: &str) {
        self.exception(exception_type);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_acks_naks_terms_and_lag_count_exactly() {
    let client = connect().await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Nats).unwrap();
    let js = jetstream::new(client.clone());
    let name = unique("HM").replace('-', "_");
    let subject = format!("{name}.orders");
    let stream = js
        .create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![format!("{name}.>")],
            ..Default::default()
        })
        .await
        .expect("create the stream (is JetStream on? nats-server -js)");
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("billing".into()),
            ack_wait: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .unwrap();

    let publisher = MeteredJetStream::new(js.clone(), &metrics);
    for i in 0..PLAN.messages() {
        publisher
            .publish(&subject, Bytes::from(OutcomePlan::body(i)))
            .await
            .unwrap();
    }
    // No stream takes this subject: no responders, StreamNotFound.
    let orphan = unique("hm-orphan").replace('-', "_");
    let err = publisher.publish(&orphan, "lost".into()).await.unwrap_err();

    let lag = record_consumer_lag(&consumer, &metrics).await.unwrap();
    assert_eq!(lag as usize, PLAN.messages());
    assert_eq!(
        Scrape::of(&registry, "nats").lag("billing"),
        PLAN.messages() as f64
    );

    let mut messages = MeteredMessages::new(consumer.messages().await.unwrap(), &metrics);
    let mut driver = PLAN.driver();
    for _ in 0..PLAN.deliveries() {
        let msg = tokio::time::timeout(WITHIN, messages.next())
            .await
            .expect("a message")
            .unwrap()
            .unwrap();
        driver.settle(msg).await;
    }
    drop(messages);
    client.flush().await.unwrap();
    // The acked and termed messages leave the consumer's ack-pending set;
    // the unacked (nak with a delay, raised, dropped) stay. The server
    // applies acks asynchronously: wait for it.
    let unacked =
        PLAN.count(Outcome::Nack) + PLAN.count(Outcome::Raise) + PLAN.count(Outcome::Drop);
    let deadline = tokio::time::Instant::now() + WITHIN;
    let info = loop {
        let info = consumer.get_info().await.unwrap();
        if info.num_ack_pending == unacked || tokio::time::Instant::now() > deadline {
            break info;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(info.num_ack_pending, unacked);
    let lag = record_consumer_lag(&consumer, &metrics).await.unwrap();
    assert_eq!(lag, 0, "every message was delivered");

    let s = Scrape::of(&registry, "nats");
    assert_eq!(s.lag("billing"), 0.0);
    PLAN.expected().assert_sole_handler(&s, &subject);
    assert_eq!(s.published(&subject, "success"), PLAN.messages() as f64);
    assert_eq!(s.published(&orphan, "error"), 1.0);
    assert_eq!(
        s.publish_exceptions(&orphan, "StreamNotFound"),
        1.0,
        "after {err}"
    );
    js.delete_stream(&name).await.unwrap();
}
