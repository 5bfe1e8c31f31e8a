//! Bad input: new keys past the limit, ends without starts, negative
//! latencies, bad custom keys and values. Counted, never a panic, never
//! unbounded memory.

use hotmetrics_core::Registry;
use hotmetrics_sensors::{
    CustomError, CustomSensor, ManualClock, Monitor, Sensor, Started, StreamTask, TopicPartition,
};
use std::time::Duration;

#[test]
fn keys_past_the_limit_are_counted_not_stored() {
    let registry = Registry::new();
    let monitor = Monitor::builder().max_keys(3).build(&registry).unwrap();
    for p in 0..10 {
        monitor.on_message_in(TopicPartition::new("t", p), 1);
        monitor.on_table_get(&format!("table{p}"));
    }
    let s = monitor.snapshot();
    assert_eq!(s.messages_received_total, 10, "totals still count");
    assert_eq!(s.topic_read_offsets["t"].len(), 3);
    assert_eq!(s.tables.len(), 3);
    assert_eq!(s.sensor_errors.cardinality, 14);
    assert_eq!(
        registry
            .snapshot()
            .counter("faust_app_sensor_errors", &[("kind", "cardinality")]),
        Some(14.0)
    );
}

#[test]
fn tasks_past_the_limit_are_counted_not_stored() {
    let monitor = Monitor::builder()
        .max_keys(3)
        .build(&Registry::new())
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    let tasks: Vec<String> = (0..10).map(|t| format!("agent-{t}")).collect();
    for task in &tasks {
        let stream = StreamTask::new("s", task);
        let e = monitor.on_stream_event_in(tp, 0, stream);
        monitor.on_stream_event_out(tp, 0, stream, e);
    }
    let s = monitor.snapshot();
    assert_eq!(s.events_total, 10, "totals still count");
    // Streams and tasks are bounded apart: the known stream counts every
    // event, only the refused tasks' part is dropped.
    assert_eq!(s.events_by_stream["s"], 10);
    assert_eq!(s.events_by_task.len(), 3);
    assert_eq!(s.events_by_task.values().sum::<u64>(), 3);
    assert_eq!(s.sensor_errors.cardinality, 7, "one per refused task part");
}

#[test]
fn more_pairs_than_keys_still_count_every_stream_and_task() {
    let registry = Registry::new();
    let monitor = Monitor::builder().max_keys(3).build(&registry).unwrap();
    let tp = TopicPartition::new("t", 0);
    // 3 streams × 3 tasks: 9 pairs, 3 keys of each kind.
    for round in 0..2 {
        for s in 0..3 {
            for t in 0..3 {
                let (stream, task) = (format!("s{s}"), format!("agent-{t}"));
                let stream = StreamTask::new(&stream, &task);
                let e = monitor.on_stream_event_in(tp, round, stream);
                monitor.on_stream_event_out(tp, round, stream, e);
            }
        }
    }
    let s = monitor.snapshot();
    assert_eq!(s.events_total, 18);
    let by = |m: &std::collections::BTreeMap<String, u64>| m.values().copied().collect::<Vec<_>>();
    assert_eq!(
        by(&s.events_by_stream),
        [6, 6, 6],
        "{:?}",
        s.events_by_stream
    );
    assert_eq!(by(&s.events_by_task), [6, 6, 6], "{:?}", s.events_by_task);
    assert_eq!(s.sensor_errors.cardinality, 0, "nothing was dropped");
    let scraped = registry.snapshot();
    for stream in ["stream.s0.events", "stream.s1.events", "stream.s2.events"] {
        assert_eq!(
            scraped.counter("faust_app_total_events_per_stream", &[("stream", stream)]),
            Some(6.0),
            "{stream}"
        );
    }
}

#[test]
fn tasks_are_bounded_by_max_keys_not_the_default_series_limit() {
    let n = hotmetrics_core::DEFAULT_MAX_SERIES + 20;
    let monitor = Monitor::builder()
        .max_keys(n)
        .build(&Registry::new())
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    for t in 0..n {
        let task = format!("agent-{t}");
        let stream = StreamTask::new("s", &task);
        let e = monitor.on_stream_event_in(tp, 0, stream);
        monitor.on_stream_event_out(tp, 0, stream, e);
    }
    let s = monitor.snapshot();
    assert_eq!(s.events_by_task.len(), n);
    assert_eq!(s.events_by_stream["s"], n as u64);
    assert_eq!(s.sensor_errors.cardinality, 0);
}

#[test]
fn ends_without_a_start_are_counted_and_ignored() {
    let monitor = Monitor::new();
    let tp = TopicPartition::new("t", 0);
    let stream = StreamTask::new("s", "agent");
    monitor.on_stream_event_in(tp, 0, stream);
    monitor.on_stream_event_out(tp, 0, stream, Started::UNSET); // a manual ack
    monitor.on_send_completed("out", Started::UNSET);
    monitor.on_commit_completed(Started::UNSET);
    monitor.on_rebalance_return(Started::UNSET);
    monitor.on_web_request_end("GET", "/", 200, Started::UNSET);
    monitor.on_send_error("out", &"refused", Started::UNSET);
    monitor.on_assignment_error(&"no leader", Started::UNSET);
    let s = monitor.snapshot();
    assert_eq!(s.sensor_errors.unpaired, 7);
    assert_eq!(
        s.events_active, 0,
        "a manual ack ends its event: only the runtime is unknown"
    );
    assert!(s.events_runtime.is_empty(), "no runtime without the start");
    assert_eq!(s.send_errors, 1, "an error without its start still counts");
    assert_eq!(s.assignments_failed, 1);
    assert_eq!(monitor.errors_total(), 2, "the health monitor sees both");
    assert!(s.assignment_latency.is_empty());
    assert!(s.send_latency.is_empty() && s.commit_latency.is_empty());
    assert_eq!(s.rebalances_recovering, 0);
    assert!(s.http_response_codes.is_empty());
}

#[test]
fn revoked_partitions_drop_their_offsets_and_lag() {
    let registry = Registry::new();
    let monitor = Monitor::prometheus(&registry).unwrap();
    let (a, b) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
    for tp in [a, b] {
        monitor.on_message_in(tp, 9);
        monitor.on_partition_end_offset(tp, 100);
        monitor.on_tp_commit(&[(tp, 10)]);
    }
    assert_eq!(monitor.consumer_lag()["t"][&0], 90);
    monitor.on_partitions_revoked(&[a, TopicPartition::new("never-seen", 3)]);
    let s = monitor.snapshot();
    assert_eq!(s.consumer_lag["t"].keys().collect::<Vec<_>>(), [&1]);
    assert!(!s.topic_end_offsets["t"].contains_key(&0));
    assert!(!s.topic_committed_offsets["t"].contains_key(&0));
    assert!(!s.topic_read_offsets["t"].contains_key(&0));
    let r = registry.snapshot();
    let labels = |p| [("topic", "t"), ("partition", p)];
    assert_eq!(
        r.gauge("faust_app_topic_partition_end_offset", &labels("0")),
        None
    );
    assert_eq!(
        r.gauge("faust_app_topic_partition_offset_commited", &labels("0")),
        None
    );
    assert_eq!(
        r.gauge("faust_app_topic_partition_end_offset", &labels("1")),
        Some(100.0)
    );
    assert_eq!(
        r.counter("faust_app_messages_received_per_topic", &[("topic", "t")]),
        Some(2.0),
        "counters are kept"
    );
    // Assigned again: its offsets come back.
    monitor.on_partition_end_offset(a, 120);
    monitor.on_tp_commit(&[(a, 115)]);
    assert_eq!(monitor.consumer_lag()["t"][&0], 5);
    assert_eq!(
        registry
            .snapshot()
            .gauge("faust_app_topic_partition_end_offset", &labels("0")),
        Some(120.0)
    );
}

#[test]
fn a_count_over_i64_max_does_not_wrap() {
    let monitor = Monitor::new();
    monitor.count("big", u64::MAX);
    assert_eq!(monitor.snapshot().metric_counts["big"], i64::MAX);
}

#[test]
fn negative_latencies_are_refused() {
    let manual = ManualClock::new();
    let monitor = Monitor::builder()
        .clock(manual.clock())
        .build(&Registry::new())
        .unwrap();
    manual.set(Duration::from_secs(10));
    let send = monitor.on_send_initiated("out", 1, 1);
    manual.set(Duration::from_secs(9)); // a start from the future
    monitor.on_send_completed("out", send);
    monitor.on_commit_completed(Started::at(Duration::from_secs(20)));
    let s = monitor.snapshot();
    assert_eq!(s.sensor_errors.invalid_latency, 2);
    assert!(s.send_latency.is_empty());
    assert_eq!(s.messages_sent, 1, "the initiation counted");
}

#[test]
fn custom_sensor_validates_and_bounds_keys() {
    let registry = Registry::new();
    let custom =
        CustomSensor::with(&registry, "shop", hotmetrics_core::Buckets::default(), 2).unwrap();
    assert_eq!(custom.name(), "shop");
    custom.increment_counter("a", 1).unwrap();
    custom.increment_counter("a", 4).unwrap();
    custom.increment_counter("b", 1).unwrap();
    assert_eq!(
        custom.increment_counter("c", 1),
        Err(CustomError::TooManyKeys { limit: 2 })
    );
    assert!(matches!(
        custom.increment_counter("", 1),
        Err(CustomError::InvalidKey(_))
    ));
    let long = "k".repeat(129);
    assert!(matches!(
        custom.set_gauge(&long, 1.0),
        Err(CustomError::InvalidKey(_))
    ));
    assert!(matches!(
        custom.set_gauge("g", f64::NAN),
        Err(CustomError::InvalidValue(_))
    ));
    assert!(matches!(
        custom.record_histogram("h", f64::INFINITY),
        Err(CustomError::InvalidValue(_))
    ));
    custom.set_gauge("g", 2.5).unwrap();
    custom.record_histogram("h", 3.0).unwrap();
    custom.record_histogram("h", 4.0).unwrap();
    custom.record_metric("m", -1.5).unwrap();
    let m = custom.get_metrics();
    assert_eq!(m.counters["a"], 5);
    assert_eq!(m.gauges["g"], 2.5);
    assert_eq!((m.histograms["h"].count, m.histograms["h"].sum), (2, 7.0));
    assert_eq!(m.metrics["m"], -1.5);
    let r = registry.snapshot();
    assert_eq!(r.counter("shop_counts", &[("key", "a")]), Some(5.0));
    assert_eq!(r.gauge("shop_levels", &[("key", "g")]), Some(2.5));
    assert_eq!(r.gauge("shop_last_value", &[("key", "m")]), Some(-1.5));
    assert!(
        CustomSensor::new(&registry, "shop").is_err(),
        "registered twice"
    );
}

#[test]
fn monitor_count_is_fausts() {
    let registry = Registry::new();
    let monitor = Monitor::prometheus(&registry).unwrap();
    monitor.count("orders_checked", 2);
    Sensor::count(&monitor, "orders_checked", 3);
    assert_eq!(monitor.snapshot().metric_counts["orders_checked"], 5);
    assert_eq!(
        registry
            .snapshot()
            .gauge("faust_app_metrics_by_name", &[("metric", "orders_checked")]),
        Some(5.0)
    );
    assert!(
        Monitor::prometheus(&registry).is_err(),
        "the families exist already"
    );
}
