//! End to end with real receivers, started here on free loopback ports:
//! Debian's Prometheus 2.42 (`--web.enable-remote-write-receiver`, and
//! `--enable-feature=native-histograms,exemplar-storage` for the native
//! histograms and exemplars) and VictoriaMetrics 1.79. After an export,
//! their query APIs return exactly the fixture registry's values,
//! histogram buckets included, with the external labels; what each does
//! with native histograms and exemplars, switched on and off. A missing
//! receiver fails the test: `./test.sh` installs both.

mod common;

use common::{
    Kind, NATIVE_EXEMPLARS, NATIVE_OBSERVED, Receiver, fixture, fixture_series,
    native_bucket_width, native_fixture, native_fixture_floats,
};
use hotmetrics_export::Exporter;
use hotmetrics_remote_write::RemoteWrite;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn write_fixture_to(kind: Kind) -> Receiver {
    let receiver = Receiver::start(kind);
    let stats = write_fixture_into(&receiver);
    assert_eq!(stats.samples_sent, 11, "{stats:?}\n{}", receiver.log_tail());
    assert_eq!((stats.samples_failed, stats.retries), (0, 0), "{stats:?}");
    receiver
}

/// The classic fixture, one export, external labels `job="rw-test"` and
/// `instance="host-1"`, several requests.
fn write_fixture_into(receiver: &Receiver) -> hotmetrics_export::Stats {
    let sink = RemoteWrite::builder(receiver.write_url())
        .external_label("job", "rw-test")
        .external_label("instance", "host-1")
        // Several requests per export.
        .max_samples_per_request(4)
        .build()
        .unwrap();
    let exporter = Exporter::builder(fixture(), sink)
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    exporter.flush(Duration::from_secs(10)).unwrap();
    let stats = exporter.stats();
    exporter.shutdown().unwrap();
    stats
}

#[test]
fn prometheus_stores_exactly_the_registry() {
    let prometheus = write_fixture_to(Kind::Prometheus);
    prometheus.expect(r#"{job="rw-test"}"#, &fixture_series());
}

#[test]
fn victoria_metrics_stores_exactly_the_registry() {
    let vm = write_fixture_to(Kind::VictoriaMetrics);
    vm.expect(r#"{job="rw-test"}"#, &fixture_series());
}

/// VictoriaMetrics goes away for 10 s while two writers keep counting,
/// and comes back: the counters read back exactly (they are cumulative),
/// the queue drains, what was dropped is counted (the queue held at most
/// its capacity meanwhile) and every export is accounted for.
#[test]
fn counters_read_back_exactly_after_a_receiver_outage() {
    const CAPACITY: usize = 4;
    let mut vm = Receiver::start(Kind::VictoriaMetrics);
    let registry = hotmetrics_core::Registry::new();
    let events = registry
        .counter_vec(("rw_outage_events", "Events counted."), &["writer"])
        .unwrap();
    let own = hotmetrics_core::Registry::new();
    let sink = RemoteWrite::builder(vm.write_url())
        .external_label("job", "outage")
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let exporter = Exporter::builder(registry.clone(), sink)
        .interval(Duration::from_millis(200))
        .queue_capacity(CAPACITY)
        .backoff(Duration::from_millis(50), Duration::from_millis(400))
        .self_metrics(&own)
        .start()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|i| {
            let counter = events.get_or_create(&[&i.to_string()]).unwrap();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    counter.inc();
                    n += 1;
                    if n.is_multiple_of(64) {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    vm.stop();
    let outage = Instant::now();
    let mut max_queued = 0;
    while outage.elapsed() < Duration::from_secs(10) {
        max_queued = max_queued.max(exporter.stats().queued_batches);
        std::thread::sleep(Duration::from_millis(50));
    }
    vm.restart();
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let totals: Vec<u64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    exporter.flush(Duration::from_secs(15)).unwrap();
    let stats = exporter.stats();
    assert_eq!(stats.queued_batches, 0, "drained: {stats:?}");
    assert!(max_queued <= CAPACITY as u64, "queue grew to {max_queued}");
    assert!(
        stats.samples_dropped > 0,
        "10 s of 200 ms exports fit no 4-batch queue: {stats:?}"
    );
    assert_eq!(
        stats.samples_sent + stats.samples_dropped + stats.samples_failed,
        2 * stats.exports,
        "every export (2 samples) sent or dropped: {stats:?}"
    );
    assert_eq!(stats.samples_failed, 0);
    let dropped = own.snapshot().counter(
        "hotmetrics_export_samples_dropped",
        &[("sink", "remote_write"), ("exporter", exporter.name())],
    );
    assert_eq!(dropped, Some(stats.samples_dropped as f64));
    let want = totals
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let key = format!(r#"{{__name__="rw_outage_events_total",job="outage",writer="{i}"}}"#);
            (key, n as f64)
        })
        .collect();
    vm.expect(r#"rw_outage_events_total{job="outage"}"#, &want);
    exporter.shutdown().unwrap();
}

/// The native fixture written to `receiver` under `job="<job>"`, one
/// export, the switches as given; returns the exporter's stats.
fn write_native_fixture(
    receiver: &Receiver,
    job: &str,
    native: bool,
    exemplars: bool,
) -> hotmetrics_export::Stats {
    let sink = RemoteWrite::builder(receiver.write_url())
        .external_label("job", job)
        .send_native_histograms(native)
        .send_exemplars(exemplars)
        .build()
        .unwrap();
    let exporter = Exporter::builder(native_fixture(), sink)
        .interval(Duration::from_secs(3600))
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .start()
        .unwrap();
    // A receiver that refuses the request makes this time out: the stats
    // say so.
    let _ = exporter.flush(Duration::from_secs(5));
    let stats = exporter.stats();
    drop(exporter);
    stats
}

/// Every float series of the native fixture (not the native samples,
/// which an instant query returns as histograms).
const FLOATS: &str = r#"__name__=~"rw_.+_(bucket|sum|count|total)""#;

/// The exemplars of `promql`'s series as (series, labels, value), after
/// checking that each was taken in the last minute.
fn exemplars_of(receiver: &Receiver, promql: &str) -> Vec<(String, String, f64)> {
    let now = common::decode::now_ms();
    receiver
        .exemplars(promql)
        .unwrap()
        .into_iter()
        .map(|e| {
            assert!(
                (now - 60_000..=now).contains(&e.timestamp_ms),
                "{promql}: {e:?}"
            );
            (e.series, e.labels, e.value)
        })
        .collect()
}

/// Prometheus 2.42 with `--enable-feature=native-histograms,exemplar-storage`,
/// both switches on: the native histograms' count and sum read back
/// exactly, the median within one bucket of the data's, the empty one as
/// empty; the classic series as before (none for native-only histograms);
/// the exemplars of a counter, of classic buckets and of native
/// histograms, with their values. Then, into the same Prometheus, the
/// switches off: the classic view only, and no exemplar.
#[test]
fn prometheus_stores_native_histograms_and_exemplars() {
    let prometheus =
        Receiver::start_with_features(Kind::Prometheus, "native-histograms,exemplar-storage");
    let stats = write_native_fixture(&prometheus, "rw-native", true, true);
    // 5 + 2 (rw_job_seconds) + 6 (rw_latency_seconds) float samples, 3
    // native histograms (one each), 1 counter.
    assert_eq!(
        (stats.samples_sent, stats.samples_failed, stats.retries),
        (16, 0, 0),
        "{stats:?}\n{}",
        prometheus.log_tail()
    );
    let job = |v: f64| BTreeMap::from([(r#"{job="rw-native"}"#.to_owned(), v)]);
    let sum: f64 = NATIVE_OBSERVED.iter().sum();
    for name in ["rw_wait_seconds", "rw_job_seconds"] {
        let of = |f: &str| format!(r#"{f}({name}{{job="rw-native"}})"#);
        prometheus.expect(&of("histogram_count"), &job(11.0));
        prometheus.expect(&of("histogram_sum"), &job(sum));
        let q = format!(r#"histogram_quantile(0.5, {name}{{job="rw-native"}})"#);
        let got = prometheus.query(&q).unwrap();
        let median = 0.02; // the 6th of the 11 values
        let width = native_bucket_width(median);
        let value = got.values().next().copied().unwrap_or(f64::NAN);
        assert!(
            got.len() == 1 && (value - median).abs() <= width,
            "{q}: {got:?}, want {median} ± {width}"
        );
    }
    prometheus.expect(
        r#"histogram_count(rw_idle_seconds{job="rw-native"})"#,
        &job(0.0),
    );
    prometheus.expect(
        r#"histogram_sum(rw_idle_seconds{job="rw-native"})"#,
        &job(0.0),
    );
    prometheus.expect(
        &format!(r#"{{job="rw-native",{FLOATS}}}"#),
        &native_fixture_floats("rw-native", true),
    );

    let series = |name: &str, le: &str| {
        let le = if le.is_empty() {
            String::new()
        } else {
            format!(r#",le="{le}""#)
        };
        format!(r#"{{__name__="{name}",job="rw-native"{le}}}"#)
    };
    let trace = |t: &str| format!(r#"{{trace_id="{t}"}}"#);
    let selector = |name: &str| format!(r#"{name}{{job="rw-native"}}"#);
    assert_eq!(
        exemplars_of(&prometheus, &selector("rw_orders_total")),
        [(series("rw_orders_total", ""), trace("order-4"), 1.0)]
    );
    assert_eq!(
        exemplars_of(&prometheus, &selector("rw_latency_seconds_bucket")),
        [(
            series("rw_latency_seconds_bucket", "1"),
            trace("latency-700"),
            0.7
        )]
    );
    assert_eq!(
        exemplars_of(&prometheus, &selector("rw_job_seconds_bucket")),
        [(
            series("rw_job_seconds_bucket", "0.5"),
            trace("job-300"),
            0.3
        )]
    );
    assert_eq!(
        exemplars_of(&prometheus, &selector("rw_job_seconds")),
        [(series("rw_job_seconds", ""), trace("job-300"), 0.3)]
    );
    let wait: Vec<_> = NATIVE_EXEMPLARS
        .iter()
        .map(|&(i, t)| (series("rw_wait_seconds", ""), trace(t), NATIVE_OBSERVED[i]))
        .collect();
    assert_eq!(
        exemplars_of(&prometheus, &selector("rw_wait_seconds")),
        wait
    );
    assert_eq!(exemplars_of(&prometheus, r#"{job="rw-native"}"#).len(), 6);

    // The switches off, the same Prometheus: the classic view as before.
    let stats = write_native_fixture(&prometheus, "rw-off", false, false);
    assert_eq!(
        (stats.samples_sent, stats.samples_failed),
        (19, 0),
        "{stats:?}"
    );
    prometheus.expect(r#"{job="rw-off"}"#, &native_fixture_floats("rw-off", false));
    prometheus.expect(
        r#"histogram_count({__name__=~"rw_.+",job="rw-off"})"#,
        &BTreeMap::new(),
    );
    assert_eq!(exemplars_of(&prometheus, r#"{job="rw-off"}"#), []);
    // And the classic fixture, as every other test writes it.
    let stats = write_fixture_into(&prometheus);
    assert_eq!(stats.samples_sent, 11, "{stats:?}");
    prometheus.expect(r#"{job="rw-test"}"#, &fixture_series());
}

/// Prometheus 2.42 without `--enable-feature=native-histograms` answers a
/// request with a native histogram with a 500 ("native histograms are
/// disabled") and stores nothing of it: the exporter retries (the queue
/// holds the export). Without `exemplar-storage` exemplars are dropped and
/// the samples stored.
#[test]
fn prometheus_without_its_features_refuses_native_histograms_and_drops_exemplars() {
    let prometheus = Receiver::start(Kind::Prometheus);
    let stats = write_native_fixture(&prometheus, "rw-native", true, false);
    assert_eq!(stats.samples_sent, 0, "{stats:?}");
    assert!(stats.retries > 0 && stats.queued_batches == 1, "{stats:?}");
    assert!(
        prometheus
            .log_tail()
            .contains("native histograms are disabled"),
        "{}",
        prometheus.log_tail()
    );
    assert_eq!(
        prometheus.query(r#"{job="rw-native"}"#).unwrap(),
        BTreeMap::new()
    );

    let stats = write_native_fixture(&prometheus, "rw-exemplars", false, true);
    assert_eq!((stats.samples_sent, stats.retries), (19, 0), "{stats:?}");
    prometheus.expect(
        r#"{job="rw-exemplars"}"#,
        &native_fixture_floats("rw-exemplars", false),
    );
    assert_eq!(exemplars_of(&prometheus, r#"{job="rw-exemplars"}"#), []);
}

/// VictoriaMetrics 1.79 takes a request with native histograms and
/// exemplars (204), stores its float samples and drops the rest without
/// a word: the native-only histograms leave no series at all. With the
/// switches off, it stores the classic view.
#[test]
fn victoria_metrics_stores_the_floats_and_drops_native_histograms_and_exemplars() {
    let vm = Receiver::start(Kind::VictoriaMetrics);
    let stats = write_native_fixture(&vm, "rw-native", true, true);
    assert_eq!(
        (stats.samples_sent, stats.samples_failed, stats.retries),
        (16, 0, 0),
        "{stats:?}"
    );
    vm.expect(
        r#"{job="rw-native"}"#,
        &native_fixture_floats("rw-native", true),
    );
    // Off, the classic view, zeros included (a value of 0 is left out of
    // its `Sample`, as proto3 leaves out a default).
    let stats = write_native_fixture(&vm, "rw-off", false, false);
    assert_eq!((stats.samples_sent, stats.retries), (19, 0), "{stats:?}");
    vm.expect(r#"{job="rw-off"}"#, &native_fixture_floats("rw-off", false));
}
