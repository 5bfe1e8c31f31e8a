//! `hotmetrics::broker`: the FastStream metric set, name for name, and every
//! path through the guards counting exactly once.

use bytes::BytesMut;
use hotmetrics::broker::{
    Broker, BrokerMetrics, DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS, DROPPED,
    DestinationMetrics, HandlerMetrics, Outcome, PANIC, PublishOutcome,
};
use hotmetrics::text::TextEncoder;
use hotmetrics::{Buckets, Error, MetricType, Registry, Snapshot, ValueSnapshot};
use std::time::Duration;

/// (name after the prefix, type, label names, help) as FastStream registers them.
const FASTSTREAM: [(&str, MetricType, &[&str], &str); 9] = [
    (
        "received_messages_total",
        MetricType::Counter,
        &["app_name", "broker", "handler"],
        "Count of received messages by broker and handler",
    ),
    (
        "received_messages_size_bytes",
        MetricType::Histogram,
        &["app_name", "broker", "handler"],
        "Histogram of received messages size in bytes by broker and handler",
    ),
    (
        "received_messages_in_process",
        MetricType::Gauge,
        &["app_name", "broker", "handler"],
        "Gauge of received messages in process by broker and handler",
    ),
    (
        "received_processed_messages_total",
        MetricType::Counter,
        &["app_name", "broker", "handler", "status"],
        "Count of received processed messages by broker, handler and status",
    ),
    (
        "received_processed_messages_duration_seconds",
        MetricType::Histogram,
        &["app_name", "broker", "handler"],
        "Histogram of received processed messages duration in seconds by broker and handler",
    ),
    (
        "received_processed_messages_exceptions_total",
        MetricType::Counter,
        &["app_name", "broker", "handler", "exception_type"],
        "Count of received processed messages exceptions by broker, handler and exception_type",
    ),
    (
        "published_messages_total",
        MetricType::Counter,
        &["app_name", "broker", "destination", "status"],
        "Count of published messages by destination and status",
    ),
    (
        "published_messages_duration_seconds",
        MetricType::Histogram,
        &["app_name", "broker", "destination"],
        "Histogram of published messages duration in seconds by broker and destination",
    ),
    (
        "published_messages_exceptions_total",
        MetricType::Counter,
        &["app_name", "broker", "destination", "exception_type"],
        "Count of published messages exceptions by broker, destination and exception_type",
    ),
];

fn text(registry: &Registry) -> String {
    let mut buf = BytesMut::new();
    TextEncoder::new().encode(registry, &mut buf);
    String::from_utf8(buf.to_vec()).unwrap()
}

/// Snapshot name of a family: counters are stored without `_total`.
fn stored(prefix: &str, name: &str) -> String {
    let full = format!("{prefix}_{name}");
    full.strip_suffix("_total")
        .map_or(full.clone(), str::to_owned)
}

struct View {
    snap: Snapshot,
    prefix: String,
    app: String,
    broker: String,
}

impl View {
    fn new(registry: &Registry, m: &BrokerMetrics) -> Self {
        Self {
            snap: registry.snapshot(),
            prefix: m.prefix().to_owned(),
            app: m.app_name().to_owned(),
            broker: m.broker().as_str().to_owned(),
        }
    }

    fn labels<'a>(&'a self, key: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("app_name", &self.app),
            ("broker", &self.broker),
            (key, value),
        ]
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.snap
            .counter(&stored(&self.prefix, name), labels)
            .unwrap_or(0.0)
    }

    fn processed(&self, handler: &str, status: &str) -> f64 {
        let mut l = self.labels("handler", handler);
        l.push(("status", status));
        self.counter("received_processed_messages_total", &l)
    }

    fn exceptions(&self, handler: &str, ty: &str) -> f64 {
        let mut l = self.labels("handler", handler);
        l.push(("exception_type", ty));
        self.counter("received_processed_messages_exceptions_total", &l)
    }

    fn published(&self, dest: &str, status: &str) -> f64 {
        let mut l = self.labels("destination", dest);
        l.push(("status", status));
        self.counter("published_messages_total", &l)
    }

    fn publish_exceptions(&self, dest: &str, ty: &str) -> f64 {
        let mut l = self.labels("destination", dest);
        l.push(("exception_type", ty));
        self.counter("published_messages_exceptions_total", &l)
    }

    fn received(&self, handler: &str) -> f64 {
        self.counter("received_messages_total", &self.labels("handler", handler))
    }

    fn in_process(&self, handler: &str) -> f64 {
        let name = format!("{}_received_messages_in_process", self.prefix);
        self.snap
            .gauge(&name, &self.labels("handler", handler))
            .unwrap()
    }

    /// (bounds, count, sum) of a histogram series.
    fn histogram(&self, name: &str, key: &str, value: &str) -> (Vec<f64>, u64, f64) {
        let name = format!("{}_{name}", self.prefix);
        match self.snap.value(&name, &self.labels(key, value)) {
            Some(ValueSnapshot::Histogram {
                upper_bounds,
                count,
                sum,
                ..
            }) => (upper_bounds.clone(), *count, *sum),
            other => panic!("{name}: {other:?}"),
        }
    }

    fn duration_count(&self, handler: &str) -> u64 {
        self.histogram(
            "received_processed_messages_duration_seconds",
            "handler",
            handler,
        )
        .1
    }

    fn publish_duration_count(&self, dest: &str) -> u64 {
        self.histogram("published_messages_duration_seconds", "destination", dest)
            .1
    }
}

fn setup() -> (Registry, BrokerMetrics, HandlerMetrics, DestinationMetrics) {
    let registry = Registry::new();
    let m = BrokerMetrics::new(&registry, Broker::Kafka).unwrap();
    let h = m.handler("orders").unwrap();
    let d = m.destination("payments").unwrap();
    (registry, m, h, d)
}

#[test]
fn families_match_faststream_names_types_labels_help() {
    let (registry, m, h, d) = setup();
    h.receive(10).error("ValueError");
    d.publish().error("TimeoutError");
    let snap = registry.snapshot();
    assert_eq!(snap.families.len(), 9);
    for (name, ty, labels, help) in FASTSTREAM {
        let fam = snap
            .family(&stored("faststream", name))
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(fam.metric_type, ty, "{name}");
        assert_eq!(fam.help, help, "{name}");
        assert_eq!(fam.unit, None, "{name}");
        assert!(!fam.series.is_empty(), "{name} has no series");
        for s in &fam.series {
            let names: Vec<&str> = s.labels.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, labels, "{name}");
            assert_eq!(
                s.labels[0].1, "faststream",
                "app_name defaults to the prefix"
            );
            assert_eq!(s.labels[1].1, "kafka");
        }
    }
    let view = View::new(&registry, &m);
    let (bounds, ..) = view.histogram("received_messages_size_bytes", "handler", "orders");
    assert_eq!(bounds, DEFAULT_SIZE_BUCKETS);
    assert_eq!(
        bounds,
        (0..11).map(|i| 2f64.powi(4 + 2 * i)).collect::<Vec<_>>()
    );
    let (bounds, ..) = view.histogram(
        "received_processed_messages_duration_seconds",
        "handler",
        "orders",
    );
    assert_eq!(bounds, DEFAULT_DURATION_BUCKETS);
    assert_eq!(
        DEFAULT_DURATION_BUCKETS,
        [
            0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0
        ]
    );
    let (bounds, ..) = view.histogram(
        "published_messages_duration_seconds",
        "destination",
        "payments",
    );
    assert_eq!(bounds, DEFAULT_DURATION_BUCKETS);
}

#[test]
fn text_exposition_uses_faststream_names() {
    let (registry, _m, h, d) = setup();
    h.receive(100).ack();
    d.publish().success();
    let text = text(&registry);
    for (name, ty, _, help) in FASTSTREAM {
        let ty = match ty {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            _ => unreachable!(),
        };
        assert!(
            text.contains(&format!("# HELP faststream_{name} {help}\n")),
            "{name}:\n{text}"
        );
        assert!(
            text.contains(&format!("# TYPE faststream_{name} {ty}\n")),
            "{name}:\n{text}"
        );
    }
    let l = r#"app_name="faststream",broker="kafka",handler="orders""#;
    for line in [
        format!("faststream_received_messages_total{{{l}}} 1\n"),
        format!("faststream_received_messages_in_process{{{l}}} 0\n"),
        format!("faststream_received_processed_messages_total{{{l},status=\"acked\"}} 1\n"),
        format!("faststream_received_processed_messages_total{{{l},status=\"nacked\"}} 0\n"),
        format!("faststream_received_processed_messages_total{{{l},status=\"rejected\"}} 0\n"),
        format!("faststream_received_processed_messages_total{{{l},status=\"skipped\"}} 0\n"),
        format!("faststream_received_processed_messages_total{{{l},status=\"error\"}} 0\n"),
        format!("faststream_received_messages_size_bytes_bucket{{{l},le=\"64\"}} 0\n"),
        format!("faststream_received_messages_size_bytes_bucket{{{l},le=\"256\"}} 1\n"),
        format!("faststream_received_messages_size_bytes_sum{{{l}}} 100.0\n"),
        format!("faststream_received_processed_messages_duration_seconds_count{{{l}}} 1\n"),
        format!(
            "faststream_received_processed_messages_duration_seconds_bucket{{{l},le=\"0.075\"}} 1\n"
        ),
    ] {
        assert!(text.contains(&line), "{line}:\n{text}");
    }
    let l = r#"app_name="faststream",broker="kafka",destination="payments""#;
    for line in [
        format!("faststream_published_messages_total{{{l},status=\"success\"}} 1\n"),
        format!("faststream_published_messages_total{{{l},status=\"error\"}} 0\n"),
        format!("faststream_published_messages_duration_seconds_count{{{l}}} 1\n"),
    ] {
        assert!(text.contains(&line), "{line}:\n{text}");
    }
    assert!(!text.contains("exceptions_total{"), "no exception yet");
}

#[test]
fn every_receive_status_counts_once() {
    let (registry, m, h, _d) = setup();
    h.receive(1).ack();
    h.receive(1).ack();
    h.receive(1).nack();
    h.receive(1).reject();
    h.receive(1).skip();
    h.receive(1).error("ValueError");
    h.receive(1).error("ValueError");
    h.receive(1).error("KeyError");
    h.receive(1).finish(Outcome::Skipped);
    let v = View::new(&registry, &m);
    assert_eq!(v.received("orders"), 9.0);
    assert_eq!(v.processed("orders", "acked"), 2.0);
    assert_eq!(v.processed("orders", "nacked"), 1.0);
    assert_eq!(v.processed("orders", "rejected"), 1.0);
    assert_eq!(v.processed("orders", "skipped"), 2.0);
    assert_eq!(v.processed("orders", "error"), 3.0);
    assert_eq!(v.exceptions("orders", "ValueError"), 2.0);
    assert_eq!(v.exceptions("orders", "KeyError"), 1.0);
    let exceptions = v
        .snap
        .family("faststream_received_processed_messages_exceptions")
        .unwrap();
    assert_eq!(
        exceptions.series.len(),
        2,
        "control outcomes are no exceptions"
    );
    assert_eq!(v.duration_count("orders"), 9);
    assert_eq!(v.in_process("orders"), 0.0);
    let (_, count, sum) = v.histogram("received_messages_size_bytes", "handler", "orders");
    assert_eq!((count, sum), (9, 9.0));
}

#[test]
fn in_process_counts_open_guards() {
    let (registry, m, h, _d) = setup();
    let a = h.receive(1);
    let b = h.receive(1);
    let c = h.receive_batch(5, 500);
    assert_eq!(View::new(&registry, &m).in_process("orders"), 7.0);
    a.ack();
    assert_eq!(View::new(&registry, &m).in_process("orders"), 6.0);
    c.nack();
    b.ack();
    let v = View::new(&registry, &m);
    assert_eq!(v.in_process("orders"), 0.0);
    assert_eq!(v.received("orders"), 7.0);
    assert_eq!(v.processed("orders", "acked"), 2.0);
    assert_eq!(v.processed("orders", "nacked"), 5.0);
    assert_eq!(v.duration_count("orders"), 3, "a batch is timed once");
}

#[test]
fn dropped_guard_counts_error_once() {
    let (registry, m, h, _d) = setup();
    fn early_return(h: &HandlerMetrics) -> Result<(), &'static str> {
        let msg = h.receive(3);
        Err("bail")?;
        msg.ack();
        Ok(())
    }
    assert!(early_return(&h).is_err());
    drop(h.receive(3));
    let v = View::new(&registry, &m);
    assert_eq!(v.received("orders"), 2.0);
    assert_eq!(v.processed("orders", "error"), 2.0);
    assert_eq!(v.processed("orders", "acked"), 0.0);
    assert_eq!(v.exceptions("orders", DROPPED), 2.0);
    assert_eq!(v.exceptions("orders", "Dropped"), 2.0);
    assert_eq!(v.duration_count("orders"), 2);
    assert_eq!(v.in_process("orders"), 0.0);
}

#[test]
fn panic_while_processing_counts_error_once() {
    let (registry, m, h, d) = setup();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _msg = h.receive(3);
        let _send = d.publish();
        panic!("handler failed");
    }));
    assert!(r.is_err());
    let v = View::new(&registry, &m);
    assert_eq!(v.processed("orders", "error"), 1.0);
    assert_eq!(v.exceptions("orders", PANIC), 1.0);
    assert_eq!(v.exceptions("orders", "Panic"), 1.0);
    assert_eq!(v.exceptions("orders", DROPPED), 0.0);
    assert_eq!(v.in_process("orders"), 0.0);
    assert_eq!(v.duration_count("orders"), 1);
    assert_eq!(v.published("payments", "error"), 1.0);
    assert_eq!(v.publish_exceptions("payments", PANIC), 1.0);
}

#[test]
fn publish_paths() {
    let (registry, m, _h, d) = setup();
    d.publish().success();
    d.publish().success();
    d.publish().finish(PublishOutcome::Success);
    d.publish().error("ConnectionError");
    d.publish().finish(PublishOutcome::Error("ConnectionError"));
    drop(d.publish());
    d.publish_batch(10).success();
    let v = View::new(&registry, &m);
    assert_eq!(v.published("payments", "success"), 13.0);
    assert_eq!(v.published("payments", "error"), 3.0);
    assert_eq!(v.publish_exceptions("payments", "ConnectionError"), 2.0);
    assert_eq!(v.publish_exceptions("payments", DROPPED), 1.0);
    assert_eq!(v.publish_duration_count("payments"), 7);
}

#[test]
fn one_shot_methods() {
    let (registry, m, h, d) = setup();
    let ms = Duration::from_millis(60);
    h.record(20, ms, Outcome::Acked);
    h.record(20, ms, Outcome::Error("IoError"));
    d.record(ms, PublishOutcome::Success);
    d.record(ms, PublishOutcome::Error("IoError"));
    m.record_processed("orders", 20, ms, Outcome::Rejected)
        .unwrap();
    m.record_processed("refunds", 20, ms, Outcome::Error("IoError"))
        .unwrap();
    m.record_published("payments", ms, PublishOutcome::Success)
        .unwrap();
    m.record_published("audit", ms, PublishOutcome::Error("IoError"))
        .unwrap();
    let v = View::new(&registry, &m);
    assert_eq!(v.received("orders"), 3.0);
    assert_eq!(v.processed("orders", "acked"), 1.0);
    assert_eq!(v.processed("orders", "rejected"), 1.0);
    assert_eq!(v.processed("orders", "error"), 1.0);
    assert_eq!(v.exceptions("orders", "IoError"), 1.0);
    assert_eq!(v.received("refunds"), 1.0);
    assert_eq!(v.processed("refunds", "error"), 1.0);
    assert_eq!(v.exceptions("refunds", "IoError"), 1.0);
    assert_eq!(
        v.in_process("orders"),
        0.0,
        "one-shots leave the gauge alone"
    );
    let (_, count, sum) = v.histogram(
        "received_processed_messages_duration_seconds",
        "handler",
        "orders",
    );
    assert_eq!(count, 3);
    assert!((sum - 0.18).abs() < 1e-9);
    assert_eq!(v.published("payments", "success"), 2.0);
    assert_eq!(v.published("payments", "error"), 1.0);
    assert_eq!(v.publish_exceptions("payments", "IoError"), 1.0);
    assert_eq!(v.published("audit", "error"), 1.0);
    assert_eq!(v.publish_exceptions("audit", "IoError"), 1.0);
    assert_eq!(v.publish_duration_count("payments"), 3);
}

#[test]
fn custom_prefix_app_name_broker_and_buckets() {
    let registry = Registry::new();
    let m = BrokerMetrics::builder(Broker::Rabbit)
        .prefix("shop")
        .app_name("checkout")
        .size_buckets(Buckets::new(vec![100.0, 1000.0]).unwrap())
        .duration_buckets(Buckets::new(vec![0.5, 1.0]).unwrap())
        .build(&registry)
        .unwrap();
    assert_eq!(
        (m.prefix(), m.app_name(), m.broker().as_str()),
        ("shop", "checkout", "rabbitmq")
    );
    let h = m.handler("in").unwrap();
    h.receive(500).ack();
    m.destination("out").unwrap().publish().success();
    let mut names = registry.family_names();
    names.sort();
    let mut want: Vec<String> = FASTSTREAM.iter().map(|f| stored("shop", f.0)).collect();
    want.sort();
    assert_eq!(names, want);
    let v = View::new(&registry, &m);
    assert_eq!(v.received("in"), 1.0);
    let (bounds, ..) = v.histogram("received_messages_size_bytes", "handler", "in");
    assert_eq!(bounds, [100.0, 1000.0]);
    let (bounds, ..) = v.histogram(
        "received_processed_messages_duration_seconds",
        "handler",
        "in",
    );
    assert_eq!(bounds, [0.5, 1.0]);
    let (bounds, ..) = v.histogram("published_messages_duration_seconds", "destination", "out");
    assert_eq!(bounds, [0.5, 1.0]);
    let text = text(&registry);
    assert!(text.contains(
        "shop_received_messages_total{app_name=\"checkout\",broker=\"rabbitmq\",handler=\"in\"} 1\n"
    ));

    // app_name follows the prefix unless given, as in FastStream.
    let m = BrokerMetrics::builder(Broker::custom("aws_sqs"))
        .prefix("other")
        .build(&registry)
        .unwrap();
    m.handler("q").unwrap().receive(1).ack();
    let v = View::new(&registry, &m);
    assert_eq!(
        v.snap.counter(
            "other_received_messages",
            &[
                ("app_name", "other"),
                ("broker", "aws_sqs"),
                ("handler", "q")
            ]
        ),
        Some(1.0)
    );
    for (b, s) in [
        (Broker::Kafka, "kafka"),
        (Broker::Rabbit, "rabbitmq"),
        (Broker::Nats, "nats"),
        (Broker::Redis, "redis"),
    ] {
        assert_eq!(b.as_str(), s);
        assert_eq!(b.to_string(), s);
    }
}

#[test]
fn registry_prefix_comes_first() {
    let registry = Registry::builder().prefix("svc").build().unwrap();
    let m = BrokerMetrics::new(&registry, Broker::Nats).unwrap();
    m.handler("subj").unwrap().receive(1).ack();
    assert!(text(&registry).contains(
        "svc_faststream_received_messages_total{app_name=\"faststream\",broker=\"nats\",handler=\"subj\"} 1\n"
    ));
}

#[test]
fn exact_totals_from_eight_threads() {
    const THREADS: usize = 8;
    const PER_THREAD: u64 = 24_000;
    let (registry, m, h, d) = setup();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (h, d, m) = (h.clone(), d.clone(), m.clone());
            s.spawn(move || {
                let other = m.handler(["a", "b"][t % 2]).unwrap();
                for i in 0..PER_THREAD {
                    let msg = h.receive(i as usize % 4096);
                    match i % 8 {
                        0 => msg.error(if i % 16 == 0 { "A" } else { "B" }),
                        1 => msg.nack(),
                        2 => msg.reject(),
                        3 => msg.skip(),
                        4 => drop(msg),
                        _ => msg.ack(),
                    }
                    let send = d.publish();
                    if i % 5 == 0 {
                        send.error("E");
                    } else {
                        send.success();
                    }
                    other.receive(1).ack();
                }
            });
        }
    });
    let n = (THREADS as u64 * PER_THREAD) as f64;
    let v = View::new(&registry, &m);
    assert_eq!(v.received("orders"), n);
    assert_eq!(v.processed("orders", "acked"), n * 3.0 / 8.0);
    for status in ["nacked", "rejected", "skipped"] {
        assert_eq!(v.processed("orders", status), n / 8.0, "{status}");
    }
    assert_eq!(v.processed("orders", "error"), n * 2.0 / 8.0);
    assert_eq!(v.exceptions("orders", "A"), n / 16.0);
    assert_eq!(v.exceptions("orders", "B"), n / 16.0);
    assert_eq!(v.exceptions("orders", DROPPED), n / 8.0);
    assert_eq!(v.duration_count("orders"), n as u64);
    assert_eq!(v.in_process("orders"), 0.0);
    let (_, count, sum) = v.histogram("received_messages_size_bytes", "handler", "orders");
    assert_eq!(count, n as u64);
    let per_thread: u64 = (0..PER_THREAD).map(|i| i % 4096).sum();
    assert_eq!(sum, (per_thread * THREADS as u64) as f64);
    assert_eq!(v.published("payments", "success"), n * 4.0 / 5.0);
    assert_eq!(v.published("payments", "error"), n / 5.0);
    assert_eq!(v.publish_exceptions("payments", "E"), n / 5.0);
    assert_eq!(v.publish_duration_count("payments"), n as u64);
    assert_eq!(v.processed("a", "acked"), n / 2.0);
    assert_eq!(v.processed("b", "acked"), n / 2.0);
}

#[test]
fn a_second_broker_shares_the_families_and_a_clash_registers_nothing() {
    let registry = Registry::new();
    let _m = BrokerMetrics::new(&registry, Broker::Kafka).unwrap();
    let _redis = BrokerMetrics::new(&registry, Broker::Redis).unwrap();
    assert_eq!(registry.family_names().len(), 9);

    // A clash part-way: the families registered before it are taken back.
    let registry = Registry::new();
    registry
        .gauge(("faststream_published_messages_total", "someone else's"))
        .unwrap();
    let err = BrokerMetrics::new(&registry, Broker::Kafka).unwrap_err();
    assert!(matches!(err, Error::AlreadyRegistered { .. }), "{err:?}");
    assert_eq!(
        registry.family_names(),
        ["faststream_published_messages_total"]
    );
    // A different prefix coexists.
    BrokerMetrics::builder(Broker::Kafka)
        .prefix("faststream2")
        .build(&registry)
        .unwrap();
}

#[test]
fn invalid_prefix_is_an_error() {
    let registry = Registry::new();
    for prefix in ["", "my-app", "1st", "a b"] {
        let err = BrokerMetrics::builder(Broker::Kafka)
            .prefix(prefix)
            .build(&registry)
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidMetricName(_)),
            "{prefix:?}: {err:?}"
        );
    }
    assert!(registry.family_names().is_empty());
}

#[test]
fn label_values_are_free_form_and_escaped() {
    let registry = Registry::new();
    let m = BrokerMetrics::new(&registry, Broker::Kafka).unwrap();
    // Label values are free-form: any string is a valid handler name.
    let h = m.handler("weird \"name\"\n").unwrap();
    h.receive(1).ack();
    assert!(text(&registry).contains(r#"handler="weird \"name\"\n"} 1"#));
}

#[test]
fn handles_are_clone_send_sync_and_share_series() {
    fn assert_all<T: Clone + Send + Sync + 'static>() {}
    assert_all::<BrokerMetrics>();
    assert_all::<HandlerMetrics>();
    assert_all::<DestinationMetrics>();
    assert_all::<Broker>();
    fn assert_send<T: Send + Sync + 'static>() {}
    assert_send::<hotmetrics::broker::ProcessingGuard>();
    assert_send::<hotmetrics::broker::PublishGuard>();

    let (registry, m, h, _d) = setup();
    let again = m.handler("orders").unwrap();
    h.receive(1).ack();
    again.receive(1).ack();
    h.clone().receive(1).ack();
    assert_eq!(h.name(), "orders");
    assert_eq!(View::new(&registry, &m).processed("orders", "acked"), 3.0);
}
