//! The health monitor behind `/health` of the real `/metrics` server:
//! 503 with the JSON report when the lag crosses its threshold, 200 again
//! when it recovers, an alert at each transition; `/stats` serves the
//! monitor's snapshot with Faust's keys.

#[path = "../../../exporters/http/tests/common/mod.rs"]
mod common;

use hotmetrics_core::Registry;
use hotmetrics_sensors::{
    CheckStatus, HealthMonitor, ManualClock, Monitor, Monitoring, Sensor, Started, StreamTask,
    TopicPartition,
};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// faust-streaming's `Monitor.asdict()` keys.
const FAUST_KEYS: [&str; 32] = [
    "messages_active",
    "messages_received_total",
    "messages_sent",
    "messages_sent_by_topic",
    "messages_s",
    "messages_received_by_topic",
    "events_active",
    "events_total",
    "events_s",
    "events_runtime_avg",
    "events_by_task",
    "events_by_stream",
    "commit_latency",
    "send_latency",
    "send_errors",
    "assignment_latency",
    "assignments_completed",
    "assignments_failed",
    "topic_buffer_full",
    "tables",
    "metric_counts",
    "topic_committed_offsets",
    "topic_read_offsets",
    "topic_end_offsets",
    "rebalances",
    "rebalance_return_latency",
    "rebalance_end_latency",
    "rebalance_return_avg",
    "rebalance_end_avg",
    "http_response_codes",
    "http_response_latency",
    "http_response_latency_avg",
];

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[test]
fn health_flips_to_503_and_back_with_the_lag() {
    let registry = Registry::new();
    let transitions = Arc::new(Mutex::new(Vec::new()));
    let seen = transitions.clone();
    let monitoring = Monitoring::builder(&registry)
        .health(move |h| {
            h.max_lag(100)
                .max_rss_bytes(u64::MAX)
                .on_transition(move |r| seen.lock().unwrap().push(r.status))
        })
        .build()
        .unwrap();
    let server = monitoring
        .serve(hotmetrics_http::Server::builder(registry.clone()))
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .unwrap();
    let addr = server.local_addr();
    let sensors = monitoring.sensors();
    let tp = TopicPartition::new("orders", 2);

    let r = common::get(addr, "/health", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let body = json(&r.body);
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["checks"][0]["name"], "consumer_lag");
    assert_eq!(body["checks"][0]["status"], "unknown", "no partition yet");

    sensors.on_partition_end_offset(tp, 1_000);
    sensors.on_tp_commit(&[(tp, 850)]);
    let r = common::get(addr, "/health", &[]);
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = json(&r.body);
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["healthy"], false);
    let lag = &body["checks"][0];
    assert_eq!(lag["status"], "failing");
    assert_eq!(lag["value"], 150.0);
    assert_eq!(lag["threshold"], 100.0);
    assert_eq!(lag["detail"], "orders:2");
    let rss = &body["checks"][1];
    assert_eq!(rss["name"], "rss_bytes");
    assert_eq!(rss["status"], "ok");
    assert!(rss["value"].as_f64().unwrap() > 0.0);

    sensors.on_tp_commit(&[(tp, 990)]);
    let r = common::get(addr, "/health", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r.body)["checks"][0]["value"], 10.0);
    assert_eq!(*transitions.lock().unwrap(), ["unhealthy", "healthy"]);
}

#[test]
fn stats_serves_the_snapshot_with_fausts_keys() {
    let registry = Registry::new();
    let monitoring = Monitoring::builder(&registry).build().unwrap();
    let server = monitoring
        .serve(hotmetrics_http::Server::builder(registry.clone()))
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .unwrap();
    let sensors = monitoring.sensors();
    let tp = TopicPartition::new("orders", 0);
    sensors.on_message_in(tp, 5);
    let stream = StreamTask::new("orders", "orders.process");
    let e = sensors.on_stream_event_in(tp, 5, stream);
    sensors.on_stream_event_out(tp, 5, stream, e);
    sensors.on_table_set("totals");
    sensors.on_topic_buffer_full(tp);
    let w = sensors.on_web_request_start("GET", "/x");
    sensors.on_web_request_end("GET", "/x", 404, w);

    let r = common::get(server.local_addr(), "/stats", &[]);
    assert_eq!(r.status, 200);
    let body = json(&r.body);
    let object = body.as_object().unwrap();
    for key in FAUST_KEYS {
        assert!(object.contains_key(key), "missing {key}: {body}");
    }
    for key in [
        "sends_s",
        "latency",
        "consumer_lag",
        "consumer_lag_total",
        "sensor_errors",
    ] {
        assert!(object.contains_key(key), "missing {key}");
    }
    assert_eq!(body["messages_received_total"], 1);
    assert_eq!(body["topic_read_offsets"]["orders"]["0"], 5);
    assert_eq!(body["topic_buffer_full"]["orders"]["0"], 1);
    assert_eq!(body["tables"]["totals"]["keys_updated"], 1);
    assert_eq!(body["http_response_codes"]["404"], 1);
    assert!(body["commit_latency"].as_array().unwrap().is_empty());
    assert_eq!(body["latency"]["events_runtime"]["count"], 1);
    assert!(body["events_runtime_avg"].is_number());
    // No health monitor: the plain route.
    let r = common::get(server.local_addr(), "/health", &[]);
    assert_eq!((r.status, r.text()), (200, "OK\n"));
}

#[test]
fn idle_and_error_rate_checks() {
    let manual = ManualClock::new();
    let monitor = Monitor::builder()
        .clock(manual.clock())
        .build(&Registry::new())
        .unwrap();
    let health = HealthMonitor::builder(&monitor)
        .max_idle(Duration::from_secs(30))
        .max_error_rate(0.5)
        .error_window(Duration::from_secs(10))
        .build();
    let tp = TopicPartition::new("t", 0);
    assert!(health.is_healthy());
    manual.set(Duration::from_secs(31));
    let r = health.report();
    assert!(!r.healthy, "no event for 31 s");
    let check = |r: &hotmetrics_sensors::HealthReport, name: &str| {
        r.checks.iter().find(|c| c.name == name).unwrap().clone()
    };
    let idle = check(&r, "idle_seconds");
    assert_eq!(
        (idle.status, idle.value, idle.threshold),
        (CheckStatus::Failing, Some(31.0), 30.0)
    );
    monitor.on_stream_event_in(tp, 0, StreamTask::new("s", "agent"));
    assert!(health.is_healthy());
    // 20 send errors by 33 s: 20/33 per second since the start.
    for _ in 0..20 {
        let s = monitor.on_send_initiated("out", 1, 1);
        monitor.on_send_error("out", &"refused", s);
    }
    manual.set(Duration::from_secs(33));
    let r = health.report();
    let rate = check(&r, "error_rate");
    assert_eq!(
        (rate.status, rate.value),
        (CheckStatus::Failing, Some(20.0 / 33.0))
    );
    assert_eq!(check(&r, "idle_seconds").status, CheckStatus::Ok);
    // 3 s later the window (10 s) still reaches back to the start.
    manual.set(Duration::from_secs(36));
    monitor.on_stream_event_in(tp, 1, StreamTask::new("s", "agent"));
    assert_eq!(
        check(&health.report(), "error_rate").value,
        Some(20.0 / 36.0)
    );
    // 11 s after the errors' read, the rate is measured from it: none since.
    manual.set(Duration::from_secs(44));
    monitor.on_stream_event_in(tp, 2, StreamTask::new("s", "agent"));
    let r = health.report();
    assert!(r.healthy, "{r:?}");
    assert_eq!(check(&r, "error_rate").value, Some(0.0));
}

#[test]
fn a_revoked_lagging_partition_no_longer_fails_health() {
    let registry = Registry::new();
    let monitoring = Monitoring::builder(&registry)
        .health(|h| h.max_lag(100))
        .build()
        .unwrap();
    let server = monitoring
        .serve(hotmetrics_http::Server::builder(registry.clone()))
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .unwrap();
    let addr = server.local_addr();
    let sensors = monitoring.sensors();
    let (lagging, fine) = (
        TopicPartition::new("orders", 0),
        TopicPartition::new("orders", 1),
    );
    sensors.on_partition_end_offset(lagging, 1_000);
    sensors.on_tp_commit(&[(lagging, 10)]);
    sensors.on_partition_end_offset(fine, 50);
    sensors.on_tp_commit(&[(fine, 45)]);
    assert_eq!(common::get(addr, "/health", &[]).status, 503);
    // A rebalance takes the lagging partition to another worker.
    let r = sensors.on_rebalance_start();
    sensors.on_partitions_revoked(&[lagging]);
    sensors.on_rebalance_return(r);
    sensors.on_rebalance_end(r);
    let r = common::get(addr, "/health", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let body = json(&r.body);
    assert_eq!(body["checks"][0]["value"], 5.0);
    assert_eq!(body["checks"][0]["detail"], "orders:1");
}

#[test]
fn one_early_error_does_not_read_as_a_burst() {
    let manual = ManualClock::new();
    let monitor = Monitor::builder()
        .clock(manual.clock())
        .build(&Registry::new())
        .unwrap();
    let health = HealthMonitor::builder(&monitor)
        .max_error_rate(1.0)
        .error_window(Duration::from_secs(60))
        .build();
    manual.set(Duration::from_millis(200));
    let s = monitor.on_send_initiated("out", 1, 1);
    monitor.on_send_error("out", &"refused", s);
    let r = health.report();
    assert!(
        r.healthy,
        "1 error in the first 0.2 s of a 60 s window: {r:?}"
    );
    assert_eq!(r.checks[0].value, Some(1.0 / 60.0));
    // 120 errors by 10 s: over the threshold however it is divided.
    for _ in 0..119 {
        monitor.on_send_error("out", &"refused", Started::UNSET);
    }
    manual.set(Duration::from_secs(10));
    assert!(!health.is_healthy());
}

#[test]
fn transition_alerts_come_in_order_under_concurrent_reports() {
    let monitor = Monitor::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let health = HealthMonitor::builder(&monitor)
        .max_lag(100)
        .on_transition(move |r| {
            // Widen the gap between deciding and recording an alert.
            std::thread::yield_now();
            log.lock().unwrap().push(r.healthy);
        })
        .build();
    let tp = TopicPartition::new("t", 0);
    monitor.on_partition_end_offset(tp, 1_000);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    health.report();
                }
            });
        }
        let start = std::time::Instant::now();
        let mut i = 0u64;
        while start.elapsed() < Duration::from_millis(300) {
            // Lag 500 (failing) and 0 (ok) in turn.
            monitor.on_tp_commit(&[(tp, if i.is_multiple_of(2) { 500 } else { 1_000 })]);
            i += 1;
            std::thread::yield_now();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let last = health.report();
    let seen = seen.lock().unwrap();
    // Alerts alternate, starting with "unhealthy" (compared with healthy),
    // and the last one says what a report says now.
    for (i, healthy) in seen.iter().enumerate() {
        assert_eq!(
            *healthy,
            i % 2 == 1,
            "alert {i} of {}: out of order",
            seen.len()
        );
    }
    assert_eq!(seen.last().copied().unwrap_or(true), last.healthy);
}
