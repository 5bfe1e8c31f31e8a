//! The monitor registers exactly the families `FAUST_FAMILIES` (and
//! `SENSOR_ERRORS`) describe: name, type, help, label names, buckets.

use hotmetrics_core::{Registry, ValueSnapshot};
use hotmetrics_sensors::{
    FAUST_BUCKETS_MS, FAUST_FAMILIES, Monitor, SENSOR_ERRORS, Sensor, StreamTask, TopicPartition,
};

#[test]
fn the_table_is_what_the_monitor_registers() {
    let registry = Registry::new();
    let monitor = Monitor::builder().namespace("ns").build(&registry).unwrap();
    let tp = TopicPartition::new("t", 0);
    monitor.on_message_in(tp, 0);
    // Counted per task too (`events_by_task`), exported by no family.
    monitor.on_stream_event_in(tp, 0, StreamTask::new("s", "agent"));
    monitor.on_table_get("x");
    monitor.on_send_initiated("out", 1, 1);
    monitor.on_tp_commit(&[(tp, 1)]);
    monitor.on_partition_end_offset(tp, 1);
    monitor.count("c", 1);
    let w = monitor.on_web_request_start("GET", "/");
    monitor.on_web_request_end("GET", "/", 200, w);
    let snapshot = registry.snapshot();
    let all: Vec<_> = FAUST_FAMILIES.iter().chain([&SENSOR_ERRORS]).collect();
    assert_eq!(snapshot.families.len(), all.len());
    assert_eq!(monitor.snapshot().events_by_task["agent"], 1);
    for f in all {
        let name = format!("ns_{}", f.name);
        let got = snapshot
            .family(&name)
            .unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(
            (got.metric_type, got.help.as_str()),
            (f.metric_type, f.help),
            "{name}"
        );
        assert!(!got.series.is_empty(), "{name}");
        for series in &got.series {
            let labels: Vec<&str> = series.labels.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(labels, f.labels, "{name}");
            if let ValueSnapshot::Histogram { upper_bounds, .. } = &series.value {
                assert_eq!(upper_bounds, &FAUST_BUCKETS_MS, "{name}");
            }
        }
    }
}
