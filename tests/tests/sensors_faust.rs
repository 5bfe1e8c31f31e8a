//! The Prometheus monitor's exposition against faust-streaming 0.15.3's
//! metric list (family names as exposed, types, label names, the
//! millisecond buckets), read by Python's `prometheus_client` rather than
//! our own decoder; `promtool check metrics` and the strict OpenMetrics
//! parser accept it.

use hotmetrics::Registry;
use hotmetrics::sensors::{Monitor, Sensor, StreamTask, TopicPartition};
use hotmetrics_tests::fixture::{encode_openmetrics, encode_text};
use hotmetrics_tests::parse::Dialect;
use hotmetrics_tests::tools::{promtool, python_parse, text_of};
use std::collections::BTreeSet;

/// faust-streaming's `PrometheusMonitor` families, as its notes list them
/// (`../shared/notes/faust-sensors.md` §4): the family name Python reads
/// (counters without `_total`), the type, the label names.
const FAUST: [(&str, &str, &[&str]); 26] = [
    ("messages_received", "counter", &[]),
    ("active_messages", "gauge", &[]),
    ("messages_received_per_topic", "counter", &["topic"]),
    (
        "messages_received_per_topics_partition",
        "gauge",
        &["topic", "partition"],
    ),
    ("events_runtime_ms", "histogram", &[]),
    ("total_events", "counter", &[]),
    ("total_active_events", "gauge", &[]),
    ("total_events_per_stream", "counter", &["stream"]),
    ("table_operations", "counter", &["table", "operation"]),
    ("topic_messages_sent", "counter", &["topic"]),
    ("total_sent_messages", "counter", &[]),
    ("producer_send_latency", "histogram", &[]),
    ("total_error_messages_sent", "counter", &[]),
    ("producer_error_send_latency", "histogram", &[]),
    ("assignment_operations", "counter", &["operation"]),
    ("assign_latency", "histogram", &[]),
    ("total_rebalances", "gauge", &[]),
    ("total_rebalances_recovering", "gauge", &[]),
    ("rebalance_done_consumer_latency", "histogram", &[]),
    ("rebalance_done_latency", "histogram", &[]),
    ("metrics_by_name", "gauge", &["metric"]),
    ("http_status_codes", "counter", &["status_code"]),
    ("http_latency", "histogram", &[]),
    (
        "topic_partition_end_offset",
        "gauge",
        &["topic", "partition"],
    ),
    (
        "topic_partition_offset_commited",
        "gauge",
        &["topic", "partition"],
    ),
    ("consumer_commit_latency", "histogram", &[]),
];

/// prometheus_client's default buckets × 1000.
const BUCKETS_MS: [f64; 15] = [
    5.0,
    10.0,
    25.0,
    50.0,
    75.0,
    100.0,
    250.0,
    500.0,
    750.0,
    1000.0,
    2500.0,
    5000.0,
    7500.0,
    10000.0,
    f64::INFINITY,
];

/// A monitor in `registry` under namespace `orders_app` with every
/// callback made at least once, so every labeled family has series.
fn exercised(registry: &Registry) -> Monitor {
    let monitor = Monitor::builder()
        .namespace("orders_app")
        .build(registry)
        .unwrap();
    let tp = TopicPartition::new("orders", 1);
    let stream = StreamTask::new("orders", "orders.totals");
    let m = monitor.on_message_in(tp, 10);
    let e = monitor.on_stream_event_in(tp, 10, stream);
    monitor.on_table_get("totals");
    monitor.on_table_set("totals");
    monitor.on_table_del("totals");
    let s = monitor.on_send_initiated("invoices", 3, 30);
    monitor.on_send_completed("invoices", s);
    let s = monitor.on_send_initiated("invoices", 3, 30);
    monitor.on_send_error("invoices", &"timed out", s);
    monitor.on_stream_event_out(tp, 10, stream, e);
    monitor.on_message_out(tp, 10, m);
    let c = monitor.on_commit_initiated();
    monitor.on_tp_commit(&[(tp, 11)]);
    monitor.on_commit_completed(c);
    monitor.on_partition_end_offset(tp, 12);
    let a = monitor.on_assignment_start();
    monitor.on_assignment_completed(a);
    let a = monitor.on_assignment_start();
    monitor.on_assignment_error(&"no members", a);
    let r = monitor.on_rebalance_start();
    monitor.on_rebalance_return(r);
    monitor.on_rebalance_end(r);
    let w = monitor.on_web_request_start("GET", "/");
    monitor.on_web_request_end("GET", "/", 200, w);
    monitor.count("checked", 1);
    monitor
}

#[test]
fn families_are_fausts_as_python_reads_them() {
    let registry = Registry::new();
    let _monitor = exercised(&registry);
    let text = encode_text(&registry);
    let families = python_parse(&[(Dialect::Text, &text)])
        .remove(0)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&text)));
    let mut names = BTreeSet::new();
    for (name, ty, labels) in FAUST {
        let full = format!("orders_app_{name}");
        let fam = families
            .iter()
            .find(|f| f.name == full)
            .unwrap_or_else(|| panic!("no family {full}"));
        assert_eq!(fam.ty, ty, "{full}");
        assert!(!fam.samples.is_empty(), "{full} has samples");
        for sample in &fam.samples {
            let got: BTreeSet<&str> = sample
                .labels
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| *n != "le")
                .collect();
            assert_eq!(got, labels.iter().copied().collect(), "{full}: {sample:?}");
        }
        if ty == "histogram" {
            let le: Vec<f64> = fam
                .samples
                .iter()
                .filter(|s| s.name.ends_with("_bucket"))
                .flat_map(|s| s.labels.iter().filter(|(n, _)| n == "le"))
                .map(|(_, v)| {
                    if v == "+Inf" {
                        f64::INFINITY
                    } else {
                        v.parse().unwrap()
                    }
                })
                .collect();
            assert_eq!(le, BUCKETS_MS, "{full}");
        }
        if ty == "counter" {
            assert!(
                fam.samples
                    .iter()
                    .any(|s| s.name == format!("{full}_total")),
                "{full}"
            );
        }
        names.insert(full);
    }
    // Our one extension, and nothing else.
    let extra: Vec<&str> = families
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| !names.contains(*n))
        .collect();
    assert_eq!(extra, ["orders_app_sensor_errors"]);
    // Faust's label value spellings.
    let text = String::from_utf8(text).unwrap();
    for line in [
        "orders_app_total_events_per_stream_total{stream=\"stream.orders.events\"} 1\n",
        "orders_app_table_operations_total{table=\"table.totals\",operation=\"keys_deleted\"} 1\n",
        "orders_app_topic_messages_sent_total{topic=\"topic.invoices\"} 2\n",
        "orders_app_messages_received_per_topic_total{topic=\"orders\"} 1\n",
        "orders_app_assignment_operations_total{operation=\"error\"} 1\n",
        "orders_app_http_status_codes_total{status_code=\"200\"} 1\n",
        "orders_app_metrics_by_name{metric=\"checked\"} 1\n",
        "orders_app_topic_partition_offset_commited{topic=\"orders\",partition=\"1\"} 11\n",
        "orders_app_total_sent_messages_total 1\n",
        "orders_app_total_rebalances 1\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn promtool_and_the_strict_openmetrics_parser_accept_it() {
    let registry = Registry::new();
    let _monitor = exercised(&registry);
    let text = encode_text(&registry);
    let out = promtool(&text);
    let report = text_of(&out);
    // One lint, on a name that is Faust's (kept so its dashboards work;
    // documented on `Monitor`): exit status 3 is "lint problems only".
    assert!(
        out.status.code() == Some(3)
            && report.lines().collect::<Vec<_>>()
                == [
                    "orders_app_events_runtime_ms metric names should not contain abbreviated units"
                ],
        "promtool check metrics: {}\n{report}\non:\n{}",
        out.status,
        String::from_utf8_lossy(&text)
    );
    let om = encode_openmetrics(&registry);
    let parsed = python_parse(&[(Dialect::OpenMetrics, &om)]).remove(0);
    assert!(
        parsed.is_ok(),
        "{parsed:?}\n{}",
        String::from_utf8_lossy(&om)
    );
}
