//! End to end with a real Prometheus (Debian's 2.42): the `latencies`
//! example serves a summary, a classic+native histogram, a native-only
//! histogram and a counter, the last two kinds with exemplars. Prometheus
//! scrapes it twice over:
//!
//! - with `--enable-feature=native-histograms,exemplar-storage`, when it
//!   negotiates protobuf: it stores the native histograms
//!   (`histogram_count(rate(..))`, and `histogram_quantile(0.9, ..)` within
//!   one bucket's width of the data's exact 0.9-quantile), the summary's
//!   quantiles, and the exemplars;
//! - with `--enable-feature=exemplar-storage` only, when it negotiates
//!   OpenMetrics: the classic buckets, the summary's quantiles and the
//!   exemplars of the counter and of the histogram's buckets.
//!
//! The example's request times cycle evenly through 1..=1000 ms, so the
//! q-quantile of its data is q seconds (to within 1 ms).
//!
//! A missing `prometheus` fails the test (never skips it): `./test.sh`
//! installs it.

use hotmetrics_tests::e2e::{Example, Prometheus, build_example, wait_for};
use std::time::Duration;

const JOB: &str = "latencies";
/// Relative accuracy of the summary's quantiles (`SummaryOpts`' default),
/// plus the data's own granularity (1 ms in the 0.5 s..1 s range).
const SUMMARY_TOLERANCE: f64 = 0.01 + 0.002;
/// A native bucket of schema 3 (factor 1.1, `NativeOpts`' default) spans
/// a factor of 2^(1/8) = 1.0905: Prometheus' interpolation inside the
/// bucket that holds the quantile stays within that.
const NATIVE_TOLERANCE: f64 = 0.0905;

fn start_demo() -> Example {
    let exe = build_example(JOB, "http");
    Example::start(
        &exe,
        &["--addr", "127.0.0.1:0", "--seconds", "180"],
        "latencies_rpc_seconds_count",
    )
}

fn near(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= want * tolerance
}

/// Waits for `promql`'s single value to satisfy `ok`, and returns it.
fn eventually(prometheus: &Prometheus, promql: &str, what: &str, ok: impl Fn(f64) -> bool) -> f64 {
    wait_for(Duration::from_secs(30), what, || {
        match &prometheus.query(promql)?[..] {
            [s] if ok(s.value) => Ok(s.value),
            other => Err(format!("{promql}: {other:?}\n{}", prometheus.log_tail())),
        }
    })
}

fn wait_for_scrapes(prometheus: &Prometheus) {
    let scrapes = format!(r#"count_over_time(up{{job="{JOB}"}}[1m])"#);
    eventually(prometheus, &scrapes, "6 scrapes", |n| n >= 6.0);
    let up = prometheus.value(&format!(r#"up{{job="{JOB}"}}"#));
    assert_eq!(up, 1.0, "the demo is down:\n{}", prometheus.log_tail());
}

fn check_summary(prometheus: &Prometheus) {
    for q in [0.5, 0.9, 0.99] {
        let promql = format!(r#"latencies_rpc_seconds{{quantile="{q}"}}"#);
        eventually(prometheus, &promql, "the summary's quantile", |v| {
            near(v, q, SUMMARY_TOLERANCE)
        });
    }
    eventually(
        prometheus,
        "rate(latencies_rpc_seconds_count[30s])",
        "the summary's count moving",
        |v| v > 0.0,
    );
}

/// The exemplars of `promql`: there are some, each with a 32-hex-digit
/// trace id, and their values are request times of the data.
fn check_exemplars(prometheus: &Prometheus, promql: &str) {
    let exemplars = wait_for(Duration::from_secs(30), promql, || {
        let e = prometheus.exemplars(promql, 120)?;
        if e.is_empty() {
            return Err(format!("no exemplars yet\n{}", prometheus.log_tail()));
        }
        Ok(e)
    });
    for e in &exemplars {
        let trace = e.labels.get("trace_id").map_or("", String::as_str);
        assert!(
            trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit()),
            "{promql}: exemplar without a trace id: {e:?}"
        );
        assert_eq!(e.labels.len(), 1, "{promql}: {e:?}");
        assert!(
            (0.0..=1.0).contains(&e.value),
            "{promql}: exemplar value {} outside the data: {e:?}",
            e.value
        );
    }
}

#[test]
fn prometheus_stores_native_histograms_summaries_and_exemplars() {
    let demo = start_demo();
    let prometheus = Prometheus::start_with_features(
        JOB,
        &[demo.addr],
        &["native-histograms", "exemplar-storage"],
    );
    wait_for_scrapes(&prometheus);

    for name in ["latencies_request_seconds", "latencies_queue_wait_seconds"] {
        eventually(
            &prometheus,
            &format!("histogram_count(rate({name}[30s]))"),
            "a native histogram's count moving",
            |v| v > 0.0,
        );
    }
    // 2 writers × 100 observations per ~10 ms: some thousands a second.
    let rate = prometheus.value("histogram_count(rate(latencies_request_seconds[30s]))");
    assert!(rate > 1_000.0, "native count rate {rate}/s");
    eventually(
        &prometheus,
        "histogram_quantile(0.9, rate(latencies_request_seconds[1m]))",
        "the native 0.9-quantile near 0.9 s",
        |v| near(v, 0.9, NATIVE_TOLERANCE),
    );
    eventually(
        &prometheus,
        "histogram_quantile(0.5, rate(latencies_queue_wait_seconds[1m]))",
        "the native-only histogram's median near 0.05 s",
        |v| near(v, 0.05, NATIVE_TOLERANCE),
    );
    // The native histogram's sum and count agree with the data's mean.
    eventually(
        &prometheus,
        "histogram_sum(rate(latencies_request_seconds[1m])) / histogram_count(rate(latencies_request_seconds[1m]))",
        "the mean request time near 0.5 s",
        |v| near(v, 0.5005, 0.01),
    );

    check_summary(&prometheus);
    check_exemplars(&prometheus, "latencies_requests_total");
    // Prometheus 2.42 reads a native histogram's exemplars from its
    // buckets' exemplar fields (the encoder puts the newest on `+Inf`).
    check_exemplars(&prometheus, "latencies_request_seconds");
}

#[test]
fn prometheus_stores_exemplars_from_openmetrics() {
    let demo = start_demo();
    let prometheus = Prometheus::start_with_features(JOB, &[demo.addr], &["exemplar-storage"]);
    wait_for_scrapes(&prometheus);

    // OpenMetrics has no native form: the classic buckets are what is stored.
    eventually(
        &prometheus,
        "histogram_quantile(0.9, rate(latencies_request_seconds_bucket[1m]))",
        "the classic 0.9-quantile near 0.9 s",
        // Uniform data inside the (0.5, 1] bucket: interpolation is close.
        |v| near(v, 0.9, 0.02),
    );
    check_summary(&prometheus);
    check_exemplars(&prometheus, "latencies_requests_total");
    check_exemplars(&prometheus, "latencies_request_seconds_bucket");
}
