//! A mosquitto restart mid-run (persistence on, persistent sessions):
//! rumqttc reconnects, and the totals stay consistent with what the
//! broker delivers.
//!
//! The test runs a broker of its own (`mosquitto`, which `./test.sh`
//! installs) on a free loopback port, so that it can stop and start it;
//! it fails, not skips, without one. Both clients keep their sessions
//! (`clean_session` off), so the broker keeps what it has not delivered,
//! and what it delivered without a PubAck, across the restart. Messages
//! in flight in the consumer when the connection goes (received, not
//! acked) cannot be acked on that connection: the handler drops them,
//! each counts once as `error` of type [`DROPPED`]; the broker delivers
//! them again (DUP) on the next session, where they are received and
//! acked: FastStream counts each delivery its handler takes. Publishes
//! made while the broker is down wait in the client and count once, at
//! their PubAck after the reconnect.
#![cfg(feature = "rumqttc")]

mod common;

use common::plan::Counts;
use common::{OwnServer, Scrape, free_port, unique};
use hotmetrics_broker::mqtt::{MeteredEvent, MeteredEventLoop, MeteredMqttMessage, metered};
use hotmetrics_broker::{Broker, BrokerMetrics, DROPPED};
use hotmetrics_core::Registry;
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);
const TOPIC: &str = "restart/orders";

/// A mosquitto on `port`, persisting under `dir`; stopped (SIGTERM: it
/// saves its database and exits) by [`OwnServer::stop`], killed when
/// dropped.
struct Server;

impl Server {
    fn start(port: u16, dir: &Path) -> OwnServer {
        let config = dir.join("mosquitto.conf");
        // Mosquitto 2 listens on loopback only and refuses anonymous
        // clients unless told otherwise; as root it would switch to the
        // mosquitto user, who cannot write here.
        let text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nuser root\n\
             persistence true\npersistence_location {}/\nlog_dest file {}\n",
            dir.display(),
            dir.join("server.log").display()
        );
        std::fs::write(&config, text).expect("the mosquitto configuration");
        // In /usr/sbin, off a user's PATH.
        let program = ["/usr/sbin/mosquitto", "mosquitto"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("mosquitto");
        let mut command = Command::new(program);
        command.arg("-c").arg(&config);
        OwnServer::spawn(command, "mosquitto")
    }
}

fn options(id: &str, port: u16) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_clean_session(false);
    o
}

/// The next incoming Publish; connection errors (the broker still
/// starting) are retried, as a reconnect loop does.
async fn next(events: &mut MeteredEventLoop) -> MeteredMqttMessage {
    let wait = async {
        loop {
            match events.poll().await {
                Ok(MeteredEvent::Publish(msg)) => return msg,
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    tokio::time::timeout(WITHIN, wait)
        .await
        .expect("a Publish within 10 s")
}

/// Polls until the broker answers `what` (retrying connection errors).
async fn until(events: &mut MeteredEventLoop, what: fn(&Incoming) -> bool) {
    let wait = async {
        loop {
            match events.poll().await {
                Ok(MeteredEvent::Other(Event::Incoming(p))) if what(&p) => return,
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    tokio::time::timeout(WITHIN, wait)
        .await
        .expect("mosquitto answers within 10 s");
}

/// Polls until the broker answers a Subscribe sent after everything the
/// client was asked before (the acks): the broker has taken those, in
/// order, on this connection. Returns the Publishes that came meanwhile.
async fn synced(client: &AsyncClient, events: &mut MeteredEventLoop) -> Vec<MeteredMqttMessage> {
    client
        .subscribe("restart/sync", QoS::AtLeastOnce)
        .await
        .unwrap();
    let mut came = Vec::new();
    let wait = async {
        loop {
            match events.poll().await {
                Ok(MeteredEvent::Other(Event::Incoming(Incoming::SubAck(_)))) => return,
                Ok(MeteredEvent::Publish(msg)) => came.push(msg),
                Ok(_) => {}
                Err(e) => panic!("the connection went before the SubAck: {e}"),
            }
        }
    };
    tokio::time::timeout(WITHIN, wait)
        .await
        .expect("a SubAck within 10 s");
    came
}

/// Waits until `n` publishes to [`TOPIC`] succeeded.
async fn published(registry: &Registry, n: f64) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    while Scrape::of(registry, "mqtt").published(TOPIC, "success") < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} publishes not acked within {WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_stay_consistent_across_a_broker_restart() {
    let dir = std::env::temp_dir().join(unique("hotmetrics-mqtt-restart"));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let server = Server::start(port, &dir);
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Mqtt).unwrap();

    let mut consumer_options = options(&unique("hm-consumer"), port);
    consumer_options.set_manual_acks(true);
    let (consumer, mut incoming) = metered(AsyncClient::new(consumer_options, 64), &metrics);
    consumer
        .client()
        .subscribe(TOPIC, QoS::AtLeastOnce)
        .await
        .unwrap();
    until(&mut incoming, |p| matches!(p, Incoming::SubAck(_))).await;

    let (producer, mut producer_events) = metered(
        AsyncClient::new(options(&unique("hm-producer"), port), 64),
        &metrics,
    );
    let producing = tokio::spawn(async move {
        // Drives (and reconnects) the producer: PubAcks finish publishes.
        loop {
            if producer_events.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    for i in 0..10 {
        producer
            .publish(TOPIC, QoS::AtLeastOnce, false, format!("m{i}"))
            .await
            .unwrap();
    }
    published(&registry, 10.0).await;
    // m0..m4 acked; the rest, received but not acked, are in flight when
    // the broker goes.
    let mut in_flight = Vec::new();
    for _ in 0..7 {
        in_flight.push(next(&mut incoming).await);
    }
    for msg in &mut in_flight[..5] {
        msg.ack().await.unwrap();
    }
    in_flight.drain(..5);
    in_flight.extend(synced(consumer.client(), &mut incoming).await);
    let lost: Vec<String> = in_flight
        .iter()
        .map(|m| String::from_utf8_lossy(m.payload()).into_owned())
        .collect();

    let before = Scrape::of(&registry, "mqtt");
    assert_eq!(before.in_process(TOPIC), lost.len() as f64);

    server.stop();
    let gone = tokio::time::timeout(WITHIN, async { while incoming.poll().await.is_ok() {} }).await;
    assert!(gone.is_ok(), "the consumer sees the connection go");
    drop(in_flight);
    let down = Scrape::of(&registry, "mqtt");
    assert_eq!(down.in_process(TOPIC), 0.0);
    // Published while the broker is down: the client sends them later.
    for i in 10..15 {
        producer
            .publish(TOPIC, QoS::AtLeastOnce, false, format!("m{i}"))
            .await
            .unwrap();
    }

    let server = Server::start(port, &dir);
    // What the broker had not delivered, and those in flight again.
    let mut after = BTreeMap::new();
    while after.len() < 10 {
        let mut msg = next(&mut incoming).await;
        let payload = String::from_utf8_lossy(msg.payload()).into_owned();
        let dup = msg.publish().dup;
        msg.ack().await.unwrap();
        assert!(
            after.insert(payload.clone(), dup).is_none(),
            "{payload} delivered twice after the restart"
        );
    }
    published(&registry, 15.0).await;
    producing.abort();

    let expected: Vec<String> = (5..15).map(|i| format!("m{i}")).collect();
    assert_eq!(after.keys().cloned().collect::<Vec<_>>(), {
        let mut e = expected;
        e.sort();
        e
    });
    for payload in &lost {
        assert_eq!(
            after.get(payload),
            Some(&true),
            "{payload} delivered again, DUP"
        );
    }
    let s = Scrape::of(&registry, "mqtt");
    s.assert_kept(&down);
    down.assert_kept(&before);
    assert_eq!(s.published(TOPIC, "success"), 15.0);
    assert_eq!(s.published(TOPIC, "error"), 0.0);
    // Each of the 15 acked once; those in flight, dropped, once more.
    Counts::default()
        .ended(15, "acked", None)
        .ended(lost.len() as u32, "error", Some(DROPPED))
        .assert_sole_handler(&s, TOPIC);
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
