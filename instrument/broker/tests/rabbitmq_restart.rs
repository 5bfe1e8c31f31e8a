//! A rabbitmq-server restart mid-run (a durable queue, persistent
//! messages): totals stay consistent with what the broker delivers.
//!
//! The test runs a node of its own (RabbitMQ's server script,
//! `/usr/lib/rabbitmq/bin/rabbitmq-server`, which `./test.sh` installs),
//! with its own node name, ports, data, logs and configuration in a
//! temporary directory, and an `epmd` of its own on a free port, so that
//! it can stop and start the node and leaves nothing running; it fails,
//! not skips, without one. lapin does not reconnect by default: the
//! test opens a new connection after the restart, as an application's
//! reconnect loop would.
//!
//! What counts: each message published is acked once, before or after
//! the restart. The delivery in flight when the broker goes (received,
//! not acked) cannot be acked on its dead channel: the ack is refused,
//! and the delivery counts once, as `error` of type `ChannelClosed`; the
//! broker delivers it again after the restart (redelivered), where it is
//! received and acked: FastStream counts each delivery its handler takes.
//! A publish on the dead channel fails, an error of lapin's kind
//! `InvalidChannelState`.
#![cfg(feature = "lapin")]

mod common;

use common::plan::Counts;
use common::{OwnServer, Scrape, free_port, unique};
use futures_util::StreamExt;
use hotmetrics_broker::lapin::{
    MeteredConsumer, MeteredDelivery, MeteredPublisher, record_queue_lag,
};
use hotmetrics_broker::{Broker, BrokerMetrics};
use hotmetrics_core::Registry;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long a delivery, a confirm or a state change may take.
const WITHIN: Duration = Duration::from_secs(20);
/// How long the node may take to boot: seconds on an idle machine, far
/// more on CI's two busy cores.
const BOOT_WITHIN: Duration = Duration::from_secs(180);
/// RabbitMQ's server script itself (not /usr/sbin's wrapper, which
/// switches to the rabbitmq user and its fixed directories).
const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const QUEUE: &str = "restart-orders";
/// FastStream's RabbitMQ handler and destination name of [`QUEUE`].
const HANDLER: &str = "default.restart-orders";

/// A RabbitMQ node of the test's own and its epmd, on free loopback ports,
/// its files in a temporary directory (removed when dropped).
struct Rabbit {
    port: u16,
    dist_port: u16,
    epmd_port: u16,
    dir: PathBuf,
    server: Option<OwnServer>,
    epmd: Option<OwnServer>,
}

impl Rabbit {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(unique("hotmetrics-rabbitmq-restart"));
        std::fs::create_dir_all(dir.join("home")).unwrap();
        // No plugins (the management plugin off); none of /etc/rabbitmq's
        // settings.
        std::fs::write(dir.join("enabled_plugins"), "[].\n").unwrap();
        std::fs::write(dir.join("rabbitmq.conf"), "log.file.level = info\n").unwrap();
        std::fs::write(dir.join("rabbitmq-env.conf"), "").unwrap();
        let mut rabbit = Self {
            port: free_port(),
            dist_port: free_port(),
            epmd_port: free_port(),
            dir,
            server: None,
            epmd: None,
        };
        rabbit.start_epmd();
        rabbit.restart();
        rabbit
    }

    /// An epmd in the foreground (not the daemon the node would start,
    /// which would outlive the test), listening before the node starts.
    fn start_epmd(&mut self) {
        let mut command = Command::new("epmd");
        command.args([
            "-address",
            "127.0.0.1",
            "-port",
            &self.epmd_port.to_string(),
        ]);
        self.epmd = Some(OwnServer::spawn(command, "epmd (erlang-base)"));
        let deadline = std::time::Instant::now() + WITHIN;
        while TcpStream::connect(("127.0.0.1", self.epmd_port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "epmd does not listen on {} within {WITHIN:?}",
                self.epmd_port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the node (again) on the same ports and data.
    fn restart(&mut self) {
        let dir = &self.dir;
        let mut command = Command::new(SERVER);
        command
            .current_dir(dir)
            .env("HOME", dir.join("home"))
            .env("RABBITMQ_NODENAME", format!("test-{}@localhost", self.port))
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            // The node uses the test's epmd, never starts one.
            .env("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-start_epmd false")
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", dir.join("advanced.config"))
            .env("RABBITMQ_CONF_ENV_FILE", dir.join("rabbitmq-env.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", dir.join("pid"));
        self.server = Some(OwnServer::spawn(command, SERVER));
    }

    /// Stops the node cleanly (SIGTERM: the script stops the Erlang VM,
    /// which closes its connections with CONNECTION_FORCED), and waits;
    /// the runtime's other worker goes on meanwhile.
    fn stop(&mut self) {
        let server = self.server.take().expect("the node runs");
        tokio::task::block_in_place(|| server.stop());
    }

    fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// A connection once the node answers; fails with its log's tail when
    /// it has not booted within [`BOOT_WITHIN`].
    async fn connect(&self) -> Connection {
        let deadline = tokio::time::Instant::now() + BOOT_WITHIN;
        let url = self.url();
        loop {
            let connecting = Connection::connect(&url, ConnectionProperties::default());
            if let Ok(Ok(conn)) = tokio::time::timeout(WITHIN, connecting).await {
                return conn;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "rabbitmq-server did not answer on {url} within {BOOT_WITHIN:?}; its log:\n{}",
                log_tail(&self.dir.join("log"))
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        drop(self.server.take());
        drop(self.epmd.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The last lines of each log file in `dir`.
fn log_tail(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        out.push_str(&format!("== {}\n", entry.path().display()));
        for line in &lines[lines.len().saturating_sub(40)..] {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A channel with publisher confirms on, the durable queue declared.
async fn publishing_channel(conn: &Connection) -> Channel {
    let channel = conn.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(QUEUE.into(), durable, FieldTable::default())
        .await
        .unwrap();
    channel
}

/// Publishes persistent messages `m{i}`, each until its confirm.
async fn publish(publisher: &MeteredPublisher, range: std::ops::Range<usize>) {
    for i in range {
        let persistent = BasicProperties::default().with_delivery_mode(2);
        let body = format!("m{i}");
        let confirmation = publisher
            .publish(
                "",
                QUEUE,
                BasicPublishOptions::default(),
                body.as_bytes(),
                persistent,
            )
            .await
            .unwrap();
        assert_eq!(confirmation, Confirmation::Ack(None), "{body}");
    }
}

/// A consumer of the queue on a channel of its own that gets one message
/// at a time (the next after the last is acked), so that exactly one is
/// in flight when the broker goes.
async fn consumer(conn: &Connection, metrics: &BrokerMetrics) -> MeteredConsumer {
    let channel = conn.create_channel().await.unwrap();
    channel
        .basic_qos(1, BasicQosOptions::default())
        .await
        .unwrap();
    let consumer = channel
        .basic_consume(
            QUEUE.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    MeteredConsumer::new(consumer, metrics)
}

async fn next(consumer: &mut MeteredConsumer) -> MeteredDelivery {
    tokio::time::timeout(WITHIN, consumer.next())
        .await
        .expect("a delivery in time")
        .expect("the consumer is open")
        .unwrap()
}

/// Waits until lapin sees the connection gone.
async fn disconnected(conn: &Connection) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    while conn.status().connected() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the connection still looks up {WITHIN:?} after the broker stopped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_stay_consistent_across_a_broker_restart() {
    let mut rabbit = Rabbit::start();
    let conn = rabbit.connect().await;
    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Rabbit).unwrap();
    let publisher = MeteredPublisher::new(publishing_channel(&conn).await, &metrics);
    publish(&publisher, 0..10).await;
    let mut deliveries = consumer(&conn, &metrics).await;
    for i in 0..5 {
        let mut delivery = next(&mut deliveries).await;
        assert_eq!(delivery.data(), format!("m{i}").as_bytes());
        assert!(delivery.ack(BasicAckOptions::default()).await.unwrap());
    }
    let mut in_flight = next(&mut deliveries).await;
    assert_eq!(in_flight.data(), b"m5");
    let before = Scrape::of(&registry, "rabbitmq");
    assert_eq!(before.in_process(HANDLER), 1.0);

    rabbit.stop();
    disconnected(&conn).await;
    let refused = in_flight.ack(BasicAckOptions::default()).await;
    assert!(matches!(refused, Ok(false)), "{refused:?}");
    drop(in_flight);
    drop(deliveries);
    let lost = publisher
        .publish(
            "",
            QUEUE,
            BasicPublishOptions::default(),
            b"lost",
            BasicProperties::default(),
        )
        .await
        .unwrap_err();
    let down = Scrape::of(&registry, "rabbitmq");
    assert_eq!(down.in_process(HANDLER), 0.0);

    rabbit.restart();
    let conn = rabbit.connect().await;
    let channel = publishing_channel(&conn).await;
    let kept = record_queue_lag(&channel, &metrics, QUEUE).await.unwrap();
    assert_eq!(kept, 5, "the durable queue kept m5..m9 across the restart");
    let publisher = MeteredPublisher::new(channel.clone(), &metrics);
    publish(&publisher, 10..15).await;
    // m5 again, then m6..m9 (never delivered before), then m10..m14.
    let mut deliveries = consumer(&conn, &metrics).await;
    for i in 5..15 {
        let mut delivery = next(&mut deliveries).await;
        assert_eq!(delivery.data(), format!("m{i}").as_bytes());
        assert_eq!(delivery.delivery().redelivered, i == 5, "m{i} redelivered");
        assert!(delivery.ack(BasicAckOptions::default()).await.unwrap());
    }
    let lag = record_queue_lag(&channel, &metrics, QUEUE).await.unwrap();

    let s = Scrape::of(&registry, "rabbitmq");
    s.assert_kept(&down);
    down.assert_kept(&before);
    assert_eq!(lag, 0, "every message acked");
    assert_eq!(s.lag(QUEUE), 0.0);
    assert_eq!(s.published(HANDLER, "success"), 15.0);
    assert_eq!(s.published(HANDLER, "error"), 1.0, "after {lost}");
    assert_eq!(s.publish_durations(HANDLER), 16.0);
    assert_eq!(
        s.exception_types("published_messages_exceptions"),
        [("InvalidChannelState".to_owned(), 1.0)]
    );
    // Each of the 15 acked once; m5's first delivery, refused, once.
    Counts::default()
        .ended(15, "acked", None)
        .ended(1, "error", Some("ChannelClosed"))
        .assert_sole_handler(&s, HANDLER);
    conn.close(200, "done".into()).await.unwrap();
}
