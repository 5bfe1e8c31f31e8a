//! Exact totals from many threads for every callback, straight into the
//! monitor and through a delegate, read from the snapshot and from the
//! exported series.

use hotmetrics_core::Registry;
use hotmetrics_sensors::{
    ManualClock, Monitor, Sensor, SensorDelegate, StreamTask, TopicPartition,
};
use std::sync::Arc;
use std::time::Duration;

const THREADS: usize = 8;
const ROUNDS: usize = 2_000;

/// The tasks (agents) that run stream `in`: thread `t` is `TASKS[t % 3]`.
const TASKS: [&str; 3] = ["in.count", "in.audit", "in.forward"];

/// Events task `TASKS[k]` gets: one per round of each of its threads.
fn task_events(k: usize) -> u64 {
    ((0..THREADS).filter(|t| t % TASKS.len() == k).count() * ROUNDS) as u64
}

/// Every callback, `ROUNDS` times per thread; thread `t` consumes
/// partition `t % 4` of `in` as task `TASKS[t % 3]` and sends to `out`.
fn drive(sensor: &dyn Sensor, manual: &ManualClock) {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                let tp = TopicPartition::new("in", (t % 4) as i32);
                let stream = StreamTask::new("in", TASKS[t % TASKS.len()]);
                for i in 0..ROUNDS {
                    let offset = i as i64;
                    let message = sensor.on_message_in(tp, offset);
                    let event = sensor.on_stream_event_in(tp, offset, stream);
                    sensor.on_table_get("counts");
                    sensor.on_table_set("counts");
                    if i % 10 == 0 {
                        sensor.on_table_del("counts");
                    }
                    let send = sensor.on_send_initiated("out", 4, 100);
                    if i % 100 == 0 {
                        sensor.on_send_error("out", &"broker down", send);
                    } else {
                        sensor.on_send_completed("out", send);
                    }
                    sensor.on_stream_event_out(tp, offset, stream, event);
                    sensor.on_message_out(tp, offset, message);
                    if i % 50 == 0 {
                        let commit = sensor.on_commit_initiated();
                        sensor.on_commit_completed(commit);
                        sensor.on_topic_buffer_full(tp);
                    }
                    if i % 500 == 0 {
                        let r = sensor.on_rebalance_start();
                        sensor.on_rebalance_return(r);
                        sensor.on_rebalance_end(r);
                        let a = sensor.on_assignment_start();
                        if t == 0 {
                            sensor.on_assignment_error(&"no members", a);
                        } else {
                            sensor.on_assignment_completed(a);
                        }
                        let w = sensor.on_web_request_start("GET", "/");
                        sensor.on_web_request_end(
                            "GET",
                            "/",
                            if t % 2 == 0 { 200 } else { 500 },
                            w,
                        );
                    }
                    sensor.count("business", 3);
                }
            });
        }
    });
    // Offsets, once the threads are done (last writer wins per partition).
    for p in 0..4 {
        let tp = TopicPartition::new("in", p);
        sensor.on_partition_end_offset(tp, ROUNDS as i64 + 10);
        sensor.on_tp_commit(&[(tp, ROUNDS as i64)]);
    }
    manual.advance(Duration::from_secs(1));
}

fn check(monitor: &Monitor, registry: &Registry) {
    let n = (THREADS * ROUNDS) as u64;
    let per_partition = n / 4;
    let s = monitor.snapshot();
    assert_eq!(s.messages_received_total, n);
    assert_eq!(s.messages_active, 0);
    assert_eq!(s.messages_received_by_topic["in"], n);
    assert_eq!(s.events_total, n);
    assert_eq!(s.events_active, 0);
    assert_eq!(s.events_by_stream["in"], n);
    assert_eq!(s.events_by_task.len(), TASKS.len());
    for (k, task) in TASKS.iter().enumerate() {
        assert_eq!(s.events_by_task[*task], task_events(k), "{task}");
    }
    assert_eq!(s.events_by_task.values().sum::<u64>(), n);
    assert_eq!(s.tables["counts"].keys_retrieved, n);
    assert_eq!(s.tables["counts"].keys_updated, n);
    assert_eq!(s.tables["counts"].keys_deleted, n / 10);
    assert_eq!(s.messages_sent, n);
    assert_eq!(s.messages_sent_by_topic["out"], n);
    assert_eq!(s.send_errors, n / 100);
    let rare = (THREADS * ROUNDS.div_ceil(500)) as u64;
    assert_eq!(s.rebalances, rare as i64);
    assert_eq!(s.rebalances_recovering, 0);
    assert_eq!(s.assignments_failed, ROUNDS.div_ceil(500) as u64);
    assert_eq!(s.assignments_completed, rare - ROUNDS.div_ceil(500) as u64);
    assert_eq!(s.http_response_codes[&200], rare / 2);
    assert_eq!(s.http_response_codes[&500], rare / 2);
    assert_eq!(s.metric_counts["business"], 3 * n as i64);
    for p in 0..4 {
        assert_eq!(s.topic_read_offsets["in"][&p], ROUNDS as i64 - 1);
        assert_eq!(s.topic_end_offsets["in"][&p], ROUNDS as i64 + 10);
        assert_eq!(s.topic_committed_offsets["in"][&p], ROUNDS as i64);
        assert_eq!(s.consumer_lag["in"][&p], 10);
        let buffer_full = (THREADS / 4 * ROUNDS.div_ceil(50)) as i64;
        assert_eq!(s.topic_buffer_full["in"][&p], buffer_full);
    }
    assert_eq!(s.consumer_lag_total, 40);
    assert_eq!(s.sensor_errors.unpaired + s.sensor_errors.cardinality, 0);
    // The manual clock never moved while events ran: every latency is 0.
    assert_eq!(s.latency.events_runtime.count, 100);
    assert_eq!(s.latency.send.max, Some(0.0));

    let r = registry.snapshot();
    let c = |name: &str, labels: &[(&str, &str)]| {
        r.counter(name, labels)
            .unwrap_or_else(|| panic!("{name} {labels:?}"))
    };
    let g = |name: &str, labels: &[(&str, &str)]| {
        r.gauge(name, labels)
            .unwrap_or_else(|| panic!("{name} {labels:?}"))
    };
    let n = n as f64;
    assert_eq!(c("faust_app_messages_received", &[]), n);
    assert_eq!(
        c("faust_app_messages_received_per_topic", &[("topic", "in")]),
        n
    );
    for p in ["0", "1", "2", "3"] {
        let tp = [("topic", "in"), ("partition", p)];
        assert_eq!(
            g("faust_app_messages_received_per_topics_partition", &tp),
            per_partition as f64
        );
        assert_eq!(
            g("faust_app_topic_partition_end_offset", &tp),
            ROUNDS as f64 + 10.0
        );
        assert_eq!(
            g("faust_app_topic_partition_offset_commited", &tp),
            ROUNDS as f64
        );
    }
    assert_eq!(g("faust_app_active_messages", &[]), 0.0);
    assert_eq!(c("faust_app_total_events", &[]), n);
    assert_eq!(g("faust_app_total_active_events", &[]), 0.0);
    assert_eq!(
        c(
            "faust_app_total_events_per_stream",
            &[("stream", "stream.in.events")]
        ),
        n
    );
    let table = |op| {
        c(
            "faust_app_table_operations",
            &[("table", "table.counts"), ("operation", op)],
        )
    };
    assert_eq!(table("keys_retrieved"), n);
    assert_eq!(table("keys_updated"), n);
    assert_eq!(table("keys_deleted"), n / 10.0);
    assert_eq!(
        c("faust_app_topic_messages_sent", &[("topic", "topic.out")]),
        n
    );
    assert_eq!(c("faust_app_total_sent_messages", &[]), n - n / 100.0);
    assert_eq!(c("faust_app_total_error_messages_sent", &[]), n / 100.0);
    assert_eq!(g("faust_app_total_rebalances", &[]), rare as f64);
    assert_eq!(g("faust_app_total_rebalances_recovering", &[]), 0.0);
    assert_eq!(
        g("faust_app_metrics_by_name", &[("metric", "business")]),
        3.0 * n
    );
    assert_eq!(
        c("faust_app_http_status_codes", &[("status_code", "500")]),
        rare as f64 / 2.0
    );
    assert_eq!(
        c("faust_app_assignment_operations", &[("operation", "error")]),
        4.0
    );
    let hist_count = |name: &str| match &r.value(name, &[]).unwrap() {
        hotmetrics_core::ValueSnapshot::Histogram { count, .. } => *count,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(hist_count("faust_app_events_runtime_ms"), n as u64);
    assert_eq!(
        hist_count("faust_app_producer_send_latency"),
        (n - n / 100.0) as u64
    );
    assert_eq!(
        hist_count("faust_app_producer_error_send_latency"),
        (n / 100.0) as u64
    );
    assert_eq!(
        hist_count("faust_app_consumer_commit_latency"),
        (THREADS * ROUNDS / 50) as u64
    );
    assert_eq!(hist_count("faust_app_assign_latency"), rare);
    assert_eq!(
        hist_count("faust_app_rebalance_done_consumer_latency"),
        rare
    );
    assert_eq!(hist_count("faust_app_rebalance_done_latency"), rare);
    assert_eq!(hist_count("faust_app_http_latency"), rare);
}

#[test]
fn every_callback_counts_exactly_from_many_threads() {
    let manual = ManualClock::new();
    let registry = Registry::new();
    let monitor = Monitor::builder()
        .clock(manual.clock())
        .build(&registry)
        .unwrap();
    drive(&monitor, &manual);
    check(&monitor, &registry);
}

#[test]
fn the_same_through_a_delegate() {
    let manual = ManualClock::new();
    let registry = Registry::new();
    let monitor = Monitor::builder()
        .clock(manual.clock())
        .build(&registry)
        .unwrap();
    let delegate = SensorDelegate::new();
    delegate.add(Arc::new(monitor.clone()));
    // A sensor with no overrides takes part and changes nothing.
    struct Quiet;
    impl Sensor for Quiet {}
    delegate.add(Arc::new(Quiet));
    drive(&delegate, &manual);
    check(&monitor, &registry);
}
