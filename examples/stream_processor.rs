//! A simulated Faust-style stream processor, every sensor on: three agents
//! consume the six partitions of `orders` (a producer thread keeps
//! writing to them), keep a table of totals, send an invoice per order to
//! `invoices` (1% of sends fail), commit every 200 ms; the group rebalances
//! every 3 s (every partition revoked and assigned again). Partition 5 stalls from the 1 s mark until 60% of the run,
//! so its lag crosses the health threshold (`/health` answers 503) and
//! recovers. The monitor, the Prometheus families, a sampled logging
//! sensor, the health monitor and a custom sensor share one delegate;
//! `/metrics`, `/health` and `/stats` are served.
//!
//! `cargo run --release --example stream_processor --features http,sensors -- [--seconds N] [--addr HOST:PORT]`
//! (defaults: 5 s, 127.0.0.1:9464; `HOTMETRICS_EXAMPLE_SECONDS` also sets the run time).

use hotmetrics::Registry;
use hotmetrics::http::Server;
use hotmetrics::sensors::{
    CustomSensor, Level, LoggingSensor, Monitoring, Sensor, StreamTask, TopicPartition,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

const TOPIC: &str = "orders";
const PARTITIONS: usize = 6;
const AGENTS: usize = 3;
/// The agents: the tasks that run the `orders` stream.
const AGENT_NAMES: [&str; AGENTS] = ["orders.totals-0", "orders.totals-1", "orders.totals-2"];
const STALLED: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seconds: f64 = std::env::var("HOTMETRICS_EXAMPLE_SECONDS")
        .ok()
        .map_or(Ok(5.0), |s| s.parse())?;
    let mut addr: SocketAddr = "127.0.0.1:9464".parse()?;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--seconds" => seconds = value.parse()?,
            "--addr" => addr = value.parse()?,
            _ => return Err(format!("unknown argument {arg}").into()),
        }
    }
    let run = Duration::from_secs_f64(seconds);

    let registry = Registry::new();
    let monitoring = Monitoring::builder(&registry)
        .logging(LoggingSensor::new(Level::DEBUG).one_in(10_000))
        .health(|h| {
            h.max_lag(5_000)
                .max_idle(Duration::from_secs(10))
                .max_error_rate(1_000.0)
                .max_rss_bytes(2 << 30)
                .on_transition(|r| {
                    let lag = r.checks.iter().find(|c| c.name == "consumer_lag");
                    let detail = lag.and_then(|c| c.detail.clone()).unwrap_or_default();
                    let value = lag.and_then(|c| c.value).unwrap_or(0.0);
                    println!("health: {} (largest lag {value} at {detail})", r.status);
                })
        })
        .build()?;
    let shop = CustomSensor::new(&registry, "shop")?;
    let server = monitoring
        .serve(Server::builder(registry.clone()).addr(addr))
        .start()?;
    let addr = server.local_addr();
    println!("running for {seconds} s; /health and /stats beside:");
    println!("serving http://{addr}/metrics");

    let sensors = monitoring.sensors();
    let produced: Vec<AtomicI64> = (0..PARTITIONS).map(|_| AtomicI64::new(0)).collect();
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    std::thread::scope(|s| {
        // The producer: 20 records per partition every 5 ms.
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                for p in &produced {
                    p.fetch_add(20, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        for (agent, name) in AGENT_NAMES.into_iter().enumerate() {
            let (sensors, produced, stop, shop) = (&sensors, &produced, &stop, &shop);
            s.spawn(move || {
                let mine: Vec<usize> = (0..PARTITIONS).filter(|p| p % AGENTS == agent).collect();
                let stream = StreamTask::new(TOPIC, name);
                let mut position = [0i64; PARTITIONS];
                let mut last_commit = Instant::now();
                let mut sent = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for &p in &mine {
                        let tp = TopicPartition::new(TOPIC, p as i32);
                        let high_watermark = produced[p].load(Ordering::Relaxed);
                        sensors.on_partition_end_offset(tp, high_watermark);
                        let elapsed = start.elapsed();
                        if p == STALLED
                            && elapsed > Duration::from_secs(1)
                            && elapsed < run.mul_f64(0.6)
                        {
                            continue; // stuck: nothing consumed
                        }
                        let batch_end = high_watermark.min(position[p] + 500);
                        for offset in position[p]..batch_end {
                            let message = sensors.on_message_in(tp, offset);
                            let event = sensors.on_stream_event_in(tp, offset, stream);
                            sensors.on_table_get("order_totals");
                            sensors.on_table_set("order_totals");
                            let send = sensors.on_send_initiated("invoices", 16, 240);
                            sent += 1;
                            if sent.is_multiple_of(100) {
                                sensors.on_send_error("invoices", &"broker timed out", send);
                            } else {
                                sensors.on_send_completed("invoices", send);
                            }
                            let _ = shop.increment_counter("orders_placed", 1);
                            sensors.on_stream_event_out(tp, offset, stream, event);
                            sensors.on_message_out(tp, offset, message);
                        }
                        position[p] = batch_end;
                    }
                    if last_commit.elapsed() >= Duration::from_millis(200) {
                        let commit = sensors.on_commit_initiated();
                        let offsets: Vec<_> = mine
                            .iter()
                            .map(|&p| (TopicPartition::new(TOPIC, p as i32), position[p]))
                            .collect();
                        sensors.on_tp_commit(&offsets);
                        sensors.on_commit_completed(commit);
                        last_commit = Instant::now();
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        }
        // The group: a rebalance every 3 s; health and stats once a second.
        let mut next_rebalance = Duration::from_secs(3);
        while start.elapsed() < run {
            std::thread::sleep(Duration::from_millis(250).min(run.saturating_sub(start.elapsed())));
            if start.elapsed() >= next_rebalance {
                let rebalance = sensors.on_rebalance_start();
                // Every partition is revoked, then assigned to the same
                // agents again: their offsets (and lag) come back with the
                // next commit and fetch.
                let all: Vec<_> = (0..PARTITIONS)
                    .map(|p| TopicPartition::new(TOPIC, p as i32))
                    .collect();
                sensors.on_partitions_revoked(&all);
                let assignment = sensors.on_assignment_start();
                std::thread::sleep(Duration::from_millis(15));
                sensors.on_assignment_completed(assignment);
                sensors.on_rebalance_return(rebalance);
                std::thread::sleep(Duration::from_millis(30)); // table recovery
                sensors.on_rebalance_end(rebalance);
                next_rebalance += Duration::from_secs(3);
            }
            let request = sensors.on_web_request_start("GET", "/health");
            let (status, _) = get(addr, "/health");
            sensors.on_web_request_end("GET", "/health", status, request);
        }
        stop.store(true, Ordering::Relaxed);
    });

    let stats = monitoring.monitor().snapshot();
    println!(
        "received {} messages ({:.0}/s), {} events, {} sends ({} failed), {} rebalances",
        stats.messages_received_total,
        stats.messages_received_total as f64 / seconds,
        stats.events_total,
        stats.messages_sent,
        stats.send_errors,
        stats.rebalances,
    );
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |s| format!("{:.3} ms", s * 1000.0));
    println!(
        "event runtime median {} max {}; commit median {}; rebalance end median {}",
        ms(stats.latency.events_runtime.median),
        ms(stats.latency.events_runtime.max),
        ms(stats.latency.commit.median),
        ms(stats.rebalance_end_avg),
    );
    println!("events by agent {:?}", stats.events_by_task);
    println!(
        "consumer lag {:?} (total {})",
        stats.consumer_lag[TOPIC], stats.consumer_lag_total
    );
    let (status, health) = get(addr, "/health");
    println!("GET /health -> {status} {health}");
    let (status, body) = get(addr, "/stats");
    println!("GET /stats -> {status} ({} bytes of JSON)", body.len());
    let (status, metrics) = get(addr, "/metrics");
    println!("GET /metrics -> {status}; for instance:");
    for line in metrics.lines().filter(|l| {
        l.starts_with("faust_app_messages_received_total")
            || l.starts_with("faust_app_total_events_total")
            || l.starts_with(
                "faust_app_topic_partition_end_offset{topic=\"orders\",partition=\"5\"}",
            )
            || l.starts_with("faust_app_rebalance_done_latency_sum")
            || l.starts_with("shop_counts_total")
    }) {
        println!("  {line}");
    }
    server.shutdown()?;
    Ok(())
}

/// A GET on a fresh connection: the status and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let attempt = || -> std::io::Result<(u16, String)> {
        let mut conn = TcpStream::connect(addr)?;
        write!(
            conn,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        conn.read_to_string(&mut response)?;
        let status = response
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned();
        Ok((status, body))
    };
    attempt().unwrap_or((0, String::new()))
}
