//! The StatsD monitor read back from the real npm `statsd` daemon (as the
//! StatsD sink's own tests run it): faust-streaming's statsd names, exact
//! counts, offsets and levels as gauges, latencies as millisecond
//! histogram counters.

#[path = "../../../exporters/statsd/tests/common/mod.rs"]
mod common;

use common::StatsdDaemon;
use hotmetrics_sensors::{ManualClock, Sensor, StatsdMonitor, StreamTask, TopicPartition};
use std::time::Duration;

#[test]
fn faust_statsd_names_read_back_from_the_daemon() {
    let daemon = StatsdDaemon::start();
    let manual = ManualClock::new();
    let statsd = StatsdMonitor::with_clock(100, manual.clock());
    let exporter = statsd
        .export_to(&daemon.address(), "faust-app", Duration::from_secs(3600))
        .unwrap();
    let tp = TopicPartition::new("orders", 3);
    for offset in 0..10 {
        let m = statsd.on_message_in(tp, offset);
        let e = statsd.on_stream_event_in(tp, offset, StreamTask::new("orders", "agent"));
        statsd.on_table_get("totals");
        statsd.on_table_set("totals");
        let s = statsd.on_send_initiated("invoices", 1, 1);
        manual.advance(Duration::from_millis(20));
        if offset == 9 {
            statsd.on_send_error("invoices", &"timed out", s);
        } else {
            statsd.on_send_completed("invoices", s);
        }
        statsd.on_stream_event_out(tp, offset, StreamTask::new("orders", "agent"), e);
        if offset < 8 {
            statsd.on_message_out(tp, offset, m);
        }
    }
    statsd.on_table_del("totals");
    let c = statsd.on_commit_initiated();
    statsd.on_tp_commit(&[(tp, 10)]);
    manual.advance(Duration::from_millis(7));
    statsd.on_commit_completed(c);
    statsd.on_partition_end_offset(tp, 25);
    let r = statsd.on_rebalance_start();
    manual.advance(Duration::from_millis(30));
    statsd.on_rebalance_return(r);
    let w = statsd.on_web_request_start("GET", "/");
    statsd.on_web_request_end("GET", "/", 503, w);
    statsd.count("orders_checked", 4);
    // A `-` in a name travels as written (plain StatsD keeps it).
    statsd.on_send_initiated("audit-log", 1, 1);

    let before = daemon.own("metrics_received");
    exporter.flush(Duration::from_secs(5)).unwrap();
    // Wait for whatever the export sent, then read it back.
    common::wait_for(Duration::from_secs(10), "lines at the daemon", || {
        let got = daemon.own("metrics_received");
        if got > before {
            Ok(())
        } else {
            Err(format!("{got} lines"))
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let counters = daemon.counters();
    let gauges = daemon.read("gauges");
    let p = "faust-app.";
    let count = |name: &str| {
        counters
            .get(&format!("{p}{name}"))
            .copied()
            .unwrap_or_else(|| panic!("no counter {p}{name} in {counters:?}"))
    };
    let gauge = |name: &str| {
        gauges
            .get(&format!("{p}{name}"))
            .copied()
            .unwrap_or_else(|| panic!("no gauge {p}{name} in {gauges:?}"))
    };
    assert_eq!(count("messages_received"), 10.0);
    assert_eq!(count("topic.orders.messages_received"), 10.0);
    assert_eq!(count("events"), 10.0);
    assert_eq!(count("stream.orders.events"), 10.0);
    assert_eq!(count("table.totals.keys_retrieved"), 10.0);
    assert_eq!(count("table.totals.keys_updated"), 10.0);
    assert_eq!(count("table.totals.keys_deleted"), 1.0);
    assert_eq!(count("topic.invoices.messages_sent"), 10.0);
    assert_eq!(count("messages_sent"), 9.0);
    assert_eq!(count("messages_sent_error"), 1.0);
    assert_eq!(count("http_status_code.503"), 1.0);
    assert_eq!(count("orders_checked"), 4.0);
    assert_eq!(count("topic.audit-log.messages_sent"), 1.0);
    // Latencies in ms as histogram counters: 9 sends of 20 ms.
    assert_eq!(count("send_latency_count"), 9.0);
    assert_eq!(count("send_latency_sum"), 180.0);
    let unsent = counters.get(&format!("{p}send_latency_bucket.le.10"));
    assert!(unsent.is_none_or(|&v| v == 0.0), "{unsent:?}");
    assert_eq!(count("send_latency_bucket.le.25"), 9.0);
    assert_eq!(count("commit_latency_sum"), 7.0);
    assert_eq!(
        count("rebalance_return_latency_sum"),
        30.0,
        "from the start, not ≈ 0"
    );
    assert_eq!(count("events_runtime_count"), 10.0);
    assert_eq!(gauge("read_offset.orders.3"), 9.0);
    assert_eq!(gauge("committed_offset.orders.3"), 10.0);
    assert_eq!(gauge("end_offset.orders.3"), 25.0);
    assert_eq!(gauge("messages_active"), 2.0, "a level, not ±1 counts");
    assert_eq!(gauge("rebalances_recovering"), 1.0);
    exporter.shutdown().unwrap();
}
