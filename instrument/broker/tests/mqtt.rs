//! The rumqttc wrappers against a real mosquitto (`./test.sh` starts one
//! and exports HOTMETRICS_MQTT_URL): incoming QoS 1 Publishes acked,
//! nacked, rejected, raising, acked then raising, dropped; QoS 0 ones;
//! QoS 1 publishes finished at their PubAck, QoS 0 ones and a refused
//! topic: exact counts per family, status and exception type. And acks
//! from the task that polls the event loop: `try_ack` on a full request
//! channel fails and records nothing (where `ack` would wait), and
//! succeeds once the loop was polled.
#![cfg(feature = "rumqttc")]

mod common;

use common::plan::{Counts, Outcome, OutcomePlan, Settle};
use common::{Scrape, server_url, unique};
use hotmetrics_broker::mqtt::{Error, MeteredEvent, MeteredEventLoop, MeteredMqttMessage, metered};
use hotmetrics_broker::{Broker, BrokerMetrics};
use hotmetrics_core::Registry;
use rumqttc::{AsyncClient, ClientError, Event, Incoming, MqttOptions, Outgoing, QoS};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

fn options(id: &str) -> MqttOptions {
    let url = server_url("HOTMETRICS_MQTT_URL", "mosquitto");
    let rest = url.strip_prefix("mqtt://").unwrap_or(&url);
    let (host, port) = rest
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.trim_end_matches('/').parse::<u16>().ok()?)))
        .unwrap_or_else(|| panic!("HOTMETRICS_MQTT_URL={url} is not mqtt://host:port"));
    let mut o = MqttOptions::new(unique(id), host, port);
    o.set_keep_alive(Duration::from_secs(30));
    o
}

/// Polls until the broker answers `what` (a ConnAck, a SubAck).
async fn until(events: &mut MeteredEventLoop, what: fn(&Incoming) -> bool) {
    let url = server_url("HOTMETRICS_MQTT_URL", "mosquitto");
    let wait = async {
        loop {
            match events.poll().await {
                Ok(MeteredEvent::Other(Event::Incoming(p))) if what(&p) => return,
                Ok(_) => {}
                Err(e) => panic!("MQTT at HOTMETRICS_MQTT_URL={url}: {e}"),
            }
        }
    };
    if tokio::time::timeout(WITHIN, wait).await.is_err() {
        panic!("MQTT at HOTMETRICS_MQTT_URL={url} did not answer within {WITHIN:?}");
    }
}

/// Each outcome twice (rumqttc has no skip): a nack sends nothing, a
/// reject acks.
const PLAN: OutcomePlan = OutcomePlan::new(Outcome::WITHOUT_SKIP, 2);
/// QoS 0 messages, on a topic of their own: nothing to settle.
const QOS0: usize = 2;

impl Settle for MeteredMqttMessage {
    fn body(&self) -> &[u8] {
        self.payload()
    }

    async fn ack(&mut self) {
        MeteredMqttMessage::ack(self).await.unwrap();
    }

    async fn nack(&mut self) {
        MeteredMqttMessage::nack(self);
    }

    async fn reject(&mut self) {
        MeteredMqttMessage::reject(self).await.unwrap();
    }

    fn raise(&mut self, exception_type: &str) {
        self.exception(exception_type);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos_acks_and_publishes_count_exactly() {
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Mqtt).unwrap();
    let base = unique("hm");
    let (a, b) = (format!("{base}/a"), format!("{base}/b"));

    let mut consumer_options = options("hm-consumer");
    consumer_options.set_manual_acks(true);
    let (consumer, mut incoming) = metered(AsyncClient::new(consumer_options, 64), &metrics);
    consumer
        .client()
        .subscribe(format!("{base}/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    until(&mut incoming, |p| matches!(p, Incoming::SubAck(_))).await;

    let (producer, mut producer_events) =
        metered(AsyncClient::new(options("hm-producer"), 64), &metrics);
    let producing = tokio::spawn(async move {
        // Drives the producer's connection: the PubAcks finish its publishes.
        while producer_events.poll().await.is_ok() {}
    });
    for i in 0..PLAN.messages() {
        producer
            .publish(&a, QoS::AtLeastOnce, false, OutcomePlan::body(i))
            .await
            .unwrap();
    }
    for i in 0..QOS0 {
        producer
            .publish(&b, QoS::AtMostOnce, false, format!("q{i}"))
            .await
            .unwrap();
    }
    // A filter is no topic to publish to: refused, InvalidTopic.
    let bad = format!("{base}/+");
    let err = producer
        .publish(&bad, QoS::AtLeastOnce, false, "x")
        .await
        .unwrap_err();

    let mut driver = PLAN.driver();
    let mut qos0 = 0;
    let consume = async {
        while driver.received() < PLAN.deliveries() || qos0 < QOS0 {
            match incoming.poll().await.unwrap() {
                MeteredEvent::Publish(msg) if msg.topic() == b => qos0 += 1,
                MeteredEvent::Publish(msg) => driver.settle(msg).await,
                MeteredEvent::Other(_) => {}
            }
        }
    };
    tokio::time::timeout(WITHIN, consume)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} of {} planned and {qos0} of {QOS0} QoS 0 messages received",
                driver.received(),
                PLAN.deliveries()
            )
        });

    // The producer's publishes end at their PubAcks, read by its task.
    let deadline = tokio::time::Instant::now() + WITHIN;
    while Scrape::of(&registry, "mqtt").published(&a, "success") < PLAN.messages() as f64
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    producing.abort();

    let s = Scrape::of(&registry, "mqtt");
    assert_eq!(
        s.handlers(),
        [a.clone(), b.clone()],
        "the handlers that received"
    );
    PLAN.expected().assert_scraped(&s, &a);
    Counts::default()
        .ended(QOS0 as u32, "acked", None)
        .assert_scraped(&s, &b);
    assert_eq!(s.published(&a, "success"), PLAN.messages() as f64);
    assert_eq!(s.publish_durations(&a), PLAN.messages() as f64);
    assert_eq!(s.published(&b, "success"), QOS0 as f64);
    assert_eq!(s.published(&bad, "error"), 1.0);
    assert_eq!(
        s.publish_exceptions(&bad, "InvalidTopic"),
        1.0,
        "after {err}"
    );
}

/// Polls until `n` incoming Publishes arrived; other events are skipped.
async fn publishes(events: &mut MeteredEventLoop, n: usize) -> Vec<MeteredMqttMessage> {
    let mut got = Vec::new();
    let wait = async {
        while got.len() < n {
            if let MeteredEvent::Publish(msg) = events.poll().await.unwrap() {
                got.push(msg);
            }
        }
    };
    if tokio::time::timeout(WITHIN, wait).await.is_err() {
        panic!("{} of {n} Publishes arrived within {WITHIN:?}", got.len());
    }
    got
}

/// Polls until the event loop has sent `n` PubAcks.
async fn pubacks_sent(events: &mut MeteredEventLoop, n: usize) {
    let mut sent = 0;
    let wait = async {
        while sent < n {
            match events.poll().await.unwrap() {
                MeteredEvent::Other(Event::Outgoing(Outgoing::PubAck(_))) => sent += 1,
                MeteredEvent::Publish(msg) => panic!("an unexpected Publish: {msg:?}"),
                MeteredEvent::Other(_) => {}
            }
        }
    };
    if tokio::time::timeout(WITHIN, wait).await.is_err() {
        panic!("{sent} of {n} PubAcks sent within {WITHIN:?}");
    }
}

/// The request channel's capacity of the consumer in the try_ack test.
const CHANNEL: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_ack_never_waits_and_a_full_channel_records_nothing() {
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Mqtt).unwrap();
    let topic = unique("hm-try");
    let mut consumer_options = options("hm-try-consumer");
    consumer_options.set_manual_acks(true);
    let (consumer, mut incoming) = metered(AsyncClient::new(consumer_options, CHANNEL), &metrics);
    consumer
        .client()
        .subscribe(&topic, QoS::AtLeastOnce)
        .await
        .unwrap();
    until(&mut incoming, |p| matches!(p, Incoming::SubAck(_))).await;

    let (producer, mut producer_events) =
        metered(AsyncClient::new(options("hm-try-producer"), 64), &metrics);
    let producing = tokio::spawn(async move { while producer_events.poll().await.is_ok() {} });
    let messages = CHANNEL + 2;
    for i in 0..messages {
        producer
            .publish(&topic, QoS::AtLeastOnce, false, format!("m{i}"))
            .await
            .unwrap();
    }
    let mut msgs = publishes(&mut incoming, messages).await;

    // Nobody polls the consumer's event loop now: the channel fills.
    for msg in &mut msgs[..CHANNEL] {
        msg.try_ack().unwrap();
    }
    let full = msgs[CHANNEL].try_ack();
    assert!(
        matches!(full, Err(Error::Client(ClientError::TryRequest(_)))),
        "{full:?}"
    );
    // Where `ack` waits, for a poll that this task would make.
    let waited = tokio::time::timeout(Duration::from_millis(200), msgs[CHANNEL].ack()).await;
    assert!(waited.is_err(), "ack did not wait: {waited:?}");
    // Settled ones send nothing again: no room needed.
    msgs[0].try_ack().unwrap();

    pubacks_sent(&mut incoming, CHANNEL).await;
    for msg in &mut msgs[CHANNEL..] {
        msg.try_ack().unwrap();
    }
    pubacks_sent(&mut incoming, messages - CHANNEL).await;
    drop(msgs);
    producing.abort();

    let s = Scrape::of(&registry, "mqtt");
    Counts::default()
        .ended(messages as u32, "acked", None)
        .assert_sole_handler(&s, &topic);
}
