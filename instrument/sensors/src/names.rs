//! faust-streaming's Prometheus names, label spellings and buckets: one
//! table, read by the monitor that registers them and by the tests.

use hotmetrics_core::MetricType;

/// The bucket bounds of every Faust histogram, in milliseconds:
/// prometheus_client's default seconds buckets × 1000.
pub const FAUST_BUCKETS_MS: [f64; 14] = [
    5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// The namespace Faust gives its families when the app is called
/// `faust-app` (the StatsD monitor's default prefix): see [`namespace_of`].
pub const DEFAULT_NAMESPACE: &str = "faust_app";

/// One family of faust-streaming 0.15.3's `PrometheusMonitor`: its name
/// after the namespace (`<namespace>_<name>`; counters get `_total` in
/// the exposition, as prometheus_client writes them), type, label names
/// and help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaustFamily {
    /// The name after `<namespace>_`.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub metric_type: MetricType,
    /// The label names, in order.
    pub labels: &'static [&'static str],
    /// The help text, as Faust's (its typos kept).
    pub help: &'static str,
}

const fn fam(
    name: &'static str,
    metric_type: MetricType,
    labels: &'static [&'static str],
    help: &'static str,
) -> FaustFamily {
    FaustFamily {
        name,
        metric_type,
        labels,
        help,
    }
}

use MetricType::{Counter as C, Gauge as G, Histogram as H};

/// The 26 families, in Faust's order.
pub const FAUST_FAMILIES: [FaustFamily; 26] = [
    fam("messages_received", C, &[], "Total messages received"),
    fam("active_messages", G, &[], "Total active messages"),
    fam(
        "messages_received_per_topic",
        C,
        &["topic"],
        "Messages received per topic",
    ),
    fam(
        "messages_received_per_topics_partition",
        G,
        &["topic", "partition"],
        "Messages received per topic/partition",
    ),
    fam("events_runtime_ms", H, &[], "Events runtime in ms"),
    fam("total_events", C, &[], "Total events received"),
    fam("total_active_events", G, &[], "Total active events"),
    fam(
        "total_events_per_stream",
        C,
        &["stream"],
        "Events received per Stream",
    ),
    fam(
        "table_operations",
        C,
        &["table", "operation"],
        "Total table operations",
    ),
    fam(
        "topic_messages_sent",
        C,
        &["topic"],
        "Total messages sent per topic",
    ),
    fam("total_sent_messages", C, &[], "Total messages sent"),
    fam(
        "producer_send_latency",
        H,
        &[],
        "Producer send latency in ms",
    ),
    fam(
        "total_error_messages_sent",
        C,
        &[],
        "Total error messages sent",
    ),
    fam(
        "producer_error_send_latency",
        H,
        &[],
        "Producer error send latency in ms",
    ),
    fam(
        "assignment_operations",
        C,
        &["operation"],
        "Total assigment operations (completed/error)",
    ),
    fam("assign_latency", H, &[], "Assignment latency in ms"),
    fam("total_rebalances", G, &[], "Total rebalances"),
    fam(
        "total_rebalances_recovering",
        G,
        &[],
        "Total rebalances recovering",
    ),
    fam(
        "rebalance_done_consumer_latency",
        H,
        &[],
        "Consumer replying that rebalance is done to broker in ms",
    ),
    fam(
        "rebalance_done_latency",
        H,
        &[],
        "Rebalance finished latency in ms",
    ),
    fam("metrics_by_name", G, &["metric"], "Total metrics by name"),
    fam(
        "http_status_codes",
        C,
        &["status_code"],
        "Total http_status code",
    ),
    fam("http_latency", H, &[], "Http response latency in ms"),
    fam(
        "topic_partition_end_offset",
        G,
        &["topic", "partition"],
        "Offset ends per topic/partition",
    ),
    fam(
        "topic_partition_offset_commited",
        G,
        &["topic", "partition"],
        "Offset commited per topic/partition",
    ),
    fam(
        "consumer_commit_latency",
        H,
        &[],
        "Consumer commit latency in ms",
    ),
];

/// Our one family beyond Faust's (after the namespace): the events the
/// sensors refused, by `kind` (`cardinality`, `unpaired`,
/// `invalid_latency`).
pub const SENSOR_ERRORS: FaustFamily = fam(
    "sensor_errors",
    C,
    &["kind"],
    "Sensor events refused: a new key past the series limit (cardinality), an end without its start (unpaired), a negative latency (invalid_latency)",
);

/// The namespace Faust derives from an app name: `-` and `.` become `_`
/// (nothing else is changed, as in `setup_prometheus_sensors`).
///
/// ```
/// assert_eq!(hotmetrics_sensors::namespace_of("orders-app.v2"), "orders_app_v2");
/// ```
pub fn namespace_of(app_name: &str) -> String {
    app_name.replace(['-', '.'], "_")
}

/// The `table` label value of a table: `table.<name>`.
pub(crate) fn table_label(name: &str) -> String {
    format!("table.{name}")
}

/// The `topic` label value of a sent-to topic: `topic.<name>`.
pub(crate) fn sent_topic_label(topic: &str) -> String {
    format!("topic.{topic}")
}

/// The `stream` label value of a stream: `stream.<label>.events`, the
/// label normalised as Faust's: a leading `Stream:` dropped, each run of
/// `<`, `>`, `:` and whitespace made one `_`, outer `_` trimmed, lower
/// case (Faust strips a leading run of any of the characters of
/// `"Stream: "`, which also eats the start of a name such as `alerts`;
/// here only the word is dropped).
pub(crate) fn stream_label(stream: &str) -> String {
    format!("stream.{}.events", normalise_stream(stream))
}

fn normalise_stream(stream: &str) -> String {
    let s = stream.trim_start();
    let s = s.strip_prefix("Stream:").unwrap_or(s);
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        if matches!(c, '<' | '>' | ':') || c.is_whitespace() {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() {
            out.push('_');
        }
        gap = false;
        out.extend(c.to_lowercase());
    }
    out.trim_matches('_').to_owned()
}

#[cfg(test)]
mod stream_label_tests {
    use super::stream_label;

    #[test]
    fn normalised_as_faust() {
        assert_eq!(stream_label("orders"), "stream.orders.events");
        assert_eq!(
            stream_label("Stream: <Topic: events>"),
            "stream.topic_events.events"
        );
        assert_eq!(
            stream_label("<Channel: anon>"),
            "stream.channel_anon.events"
        );
        assert_eq!(stream_label("Page Views"), "stream.page_views.events");
        assert_eq!(stream_label("orders-dlq.v2"), "stream.orders-dlq.v2.events");
        assert_eq!(stream_label("alerts"), "stream.alerts.events");
    }
}
