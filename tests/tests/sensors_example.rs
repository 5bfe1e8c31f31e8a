//! `examples/stream_processor.rs` run as a user runs it: its `/health`
//! goes 503 while the stalled partition's lag is over the threshold and
//! 200 once it caught up, `/stats` serves the monitor's snapshot, and
//! `/metrics` has Faust's families; promtool reads the scrape.

use hotmetrics_tests::e2e::{Example, build_example, http_get, wait_for};
use hotmetrics_tests::tools::{promtool, text_of};
use std::time::Duration;

#[test]
fn stream_processor_health_flips_and_recovers() {
    let exe = build_example("stream_processor", "http,sensors");
    let example = Example::start(
        &exe,
        &["--seconds", "8", "--addr", "127.0.0.1:0"],
        "faust_app_messages_received_total",
    );
    let addr = example.addr;
    let unhealthy = wait_for(Duration::from_secs(20), "/health 503", || {
        match http_get(addr, "/health")? {
            (503, body) => Ok(body),
            (status, body) => Err(format!("{status}: {body}")),
        }
    });
    let report: serde_json::Value = serde_json::from_str(&unhealthy).unwrap();
    let lag = &report["checks"][0];
    assert_eq!(lag["name"], "consumer_lag");
    assert_eq!(lag["status"], "failing");
    assert_eq!(lag["detail"], "orders:5", "the stalled partition");
    wait_for(
        Duration::from_secs(20),
        "/health 200 again",
        || match http_get(addr, "/health")? {
            (200, body) => Ok(body),
            (status, body) => Err(format!("{status}: {body}")),
        },
    );
    let (status, stats) = http_get(addr, "/stats").unwrap();
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert!(stats["messages_received_total"].as_u64().unwrap() > 0);
    assert!(
        stats["send_errors"].as_u64().unwrap() > 0,
        "injected errors"
    );
    assert!(
        stats["tables"]["order_totals"]["keys_updated"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Faust's `events_by_task`: one key per agent, together every event.
    let by_task = stats["events_by_task"].as_object().unwrap();
    let tasks: Vec<&str> = by_task.keys().map(String::as_str).collect();
    assert_eq!(
        tasks,
        ["orders.totals-0", "orders.totals-1", "orders.totals-2"]
    );
    assert!(by_task.values().all(|n| n.as_u64().unwrap() > 0));
    assert_eq!(
        by_task.values().map(|n| n.as_u64().unwrap()).sum::<u64>(),
        stats["events_by_stream"]["orders"].as_u64().unwrap()
    );
    let (status, metrics) = http_get(addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics.contains("faust_app_total_events_total "),
        "{metrics}"
    );
    assert!(
        !metrics.contains("orders.totals-"),
        "events by task are not exported"
    );
    let out = promtool(metrics.as_bytes());
    let report = text_of(&out);
    assert!(
        report.lines().all(|l| l
            == "faust_app_events_runtime_ms metric names should not contain abbreviated units"),
        "promtool: {report}"
    );
    wait_for(Duration::from_secs(30), "the example's summary", || {
        let output = example.output();
        if output.contains("GET /metrics -> 200") {
            Ok(output)
        } else {
            Err(output)
        }
    });
    let output = example.output();
    assert!(
        output.contains("health: unhealthy (largest lag"),
        "{output}"
    );
    assert!(output.contains("health: healthy"), "{output}");
    assert!(output.contains("GET /health -> 200"), "{output}");
}
