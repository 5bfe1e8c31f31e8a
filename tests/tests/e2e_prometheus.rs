//! End to end with a real Prometheus: the `broker_consumer` example (the
//! README's main job) is built and started, then Debian's `prometheus`
//! (2.42) scrapes it, twice: as is, when it negotiates OpenMetrics, and
//! with `--enable-feature=native-histograms`, when it negotiates protobuf.
//! Each time the test asks Prometheus' query API what it stored: the target
//! is up, the demo's series are there and move, the median handling time
//! computed from the duration histogram lies in the latency range the demo
//! was given, and the server's self-metrics counted scrapes in the format
//! expected.
//!
//! A missing `prometheus` fails the test (never skips it): `./test.sh`
//! installs it. Every port is picked free on loopback (Debian's package may
//! have started a Prometheus service on :9090).

use hotmetrics_tests::e2e::{Example, PROMETHEUS_SETUP, Prometheus, build_example, wait_for};
use std::process::Command;
use std::time::Duration;

/// The demo's handling time range, milliseconds (`--latency-ms`).
const LATENCY_MS: (f64, f64) = (2.0, 12.0);
/// A published message adds up to this much send time, milliseconds.
const PUBLISH_MS: f64 = 1.0;
const WORKERS: u32 = 4;
const JOB: &str = "broker_consumer";

/// Builds and starts the demo.
fn start_demo() -> Example {
    let exe = build_example(JOB, "http,broker");
    let latency = format!("{}-{}", LATENCY_MS.0, LATENCY_MS.1);
    let workers = WORKERS.to_string();
    let args = [
        "--addr",
        "127.0.0.1:0",
        "--seconds",
        "120",
        "--workers",
        &workers,
        "--latency-ms",
        &latency,
    ];
    Example::start(&exe, &args, "faststream_received_messages_total{")
}

/// One Prometheus run against the demo; returns the median handling time
/// Prometheus computed, in seconds.
fn scrape_with(demo: &Example, native_histograms: bool, format: &str) -> f64 {
    let prometheus = Prometheus::start(JOB, &[demo.addr], native_histograms);
    let context = || {
        format!(
            "\n--- prometheus log (tail):\n{}\n--- demo output:\n{}",
            prometheus.log_tail(),
            demo.output()
        )
    };

    // A few scrapes, so that rate() over 5 s has samples to work with.
    let scrapes = format!(r#"count_over_time(up{{job="{JOB}"}}[1m])"#);
    wait_for(Duration::from_secs(30), "5 scrapes", || {
        match &prometheus.query(&scrapes)?[..] {
            [n] if n.value >= 5.0 => Ok(()),
            other => Err(format!("{other:?}{}", context())),
        }
    });

    let up = prometheus.value(&format!(r#"up{{job="{JOB}"}}"#));
    assert_eq!(up, 1.0, "the demo target is down{}", context());

    // Every family of the broker set is there.
    for family in [
        "faststream_received_messages_total",
        "faststream_received_messages_size_bytes_count",
        "faststream_received_messages_in_process",
        "faststream_received_processed_messages_total",
        "faststream_received_processed_messages_duration_seconds_count",
        "faststream_received_processed_messages_exceptions_total",
        "faststream_published_messages_total",
        "faststream_published_messages_duration_seconds_count",
        "faststream_published_messages_exceptions_total",
    ] {
        let series = prometheus.query(family).unwrap_or_else(|e| panic!("{e}"));
        assert!(!series.is_empty(), "no series of {family}{}", context());
    }
    let acked =
        prometheus.value(r#"sum(faststream_received_processed_messages_total{status="acked"})"#);
    assert!(acked > 0.0, "nothing acked{}", context());
    let in_process = prometheus.value("sum(faststream_received_messages_in_process)");
    assert!(
        (0.0..=f64::from(WORKERS)).contains(&in_process),
        "{in_process} messages in process with {WORKERS} workers{}",
        context()
    );

    // The counters move.
    let received = "sum(faststream_received_messages_total)";
    let before = prometheus.value(received);
    std::thread::sleep(Duration::from_millis(2500));
    let after = prometheus.value(received);
    assert!(
        after > before,
        "received went from {before} to {after}{}",
        context()
    );

    // The median from the duration histogram's buckets lies in the range
    // the demo was told to sleep for (plus a send, for published ones).
    let median = prometheus.value(
        "histogram_quantile(0.5, sum by (le) \
         (rate(faststream_received_processed_messages_duration_seconds_bucket[5s])))",
    );
    let (lo, hi) = (LATENCY_MS.0 / 1e3, (LATENCY_MS.1 + PUBLISH_MS) / 1e3);
    assert!(
        (lo..=hi).contains(&median),
        "median handling time {median} s outside [{lo}, {hi}]{}",
        context()
    );

    // The server says which format it served.
    let served = |f: &str| {
        prometheus.value(&format!(
            r#"sum(hotmetrics_http_scrapes_total{{job="{JOB}",format="{f}"}})"#
        ))
    };
    let count = served(format);
    assert!(count > 0.0, "no {format} scrape counted{}", context());
    if !native_histograms {
        // The demo is fresh: nobody has asked it for protobuf yet.
        assert_eq!(served("protobuf"), 0.0, "protobuf served{}", context());
    }
    eprintln!(
        "prometheus{}: up, {format} scrapes {count}, received {before} -> {after}, \
         median handling time {:.2} ms",
        if native_histograms {
            " (native histograms)"
        } else {
            ""
        },
        median * 1e3
    );
    median
}

#[test]
fn prometheus_scrapes_the_broker_consumer_demo() {
    match Command::new("prometheus").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`prometheus --version` failed ({}); {PROMETHEUS_SETUP}",
            out.status
        ),
        Err(e) => panic!("`prometheus` is not installed or not on PATH ({e}); {PROMETHEUS_SETUP}"),
    }
    let demo = start_demo();
    // Prometheus 2.42 asks for OpenMetrics first...
    scrape_with(&demo, false, "openmetrics");
    // ...and protobuf first once native histograms are on; the classic
    // buckets it reads from protobuf give the same median.
    scrape_with(&demo, true, "protobuf");
}
