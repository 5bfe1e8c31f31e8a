//! Failure handling against a fault-injecting loopback receiver: 429 with
//! `Retry-After`, 500, 400, a stall past the timeout, nothing listening.
//! Retries and refusals as specified, in `Stats` and the self-metrics.

mod common;

use common::scripted::{Reply, Scripted};
use common::{fixture, free_port};
use hotmetrics_core::Registry;
use hotmetrics_export::{Error, Exporter, ExporterHandle};
use hotmetrics_remote_write::RemoteWrite;
use std::time::Duration;

/// An exporter of the fixture (11 samples) to `url`, its self-metrics in
/// the registry returned (apart, so the fixture's sample count stays).
fn start(url: String, timeout: Duration) -> (ExporterHandle, Registry) {
    let own = Registry::new();
    let sink = RemoteWrite::builder(url).timeout(timeout).build().unwrap();
    let exporter = Exporter::builder(fixture(), sink)
        .interval(Duration::from_secs(3600))
        .backoff(Duration::from_millis(20), Duration::from_millis(100))
        .self_metrics(&own)
        .start()
        .unwrap();
    (exporter, own)
}

/// The exporter's own counter `name` (its `exporter` label the URL).
fn self_metric(own: &Registry, name: &str) -> f64 {
    let snapshot = own.snapshot();
    let family = snapshot.family(name).unwrap_or_else(|| panic!("no {name}"));
    assert_eq!(family.series.len(), 1, "{:?}", family.series);
    let labels = &family.series[0].labels;
    assert_eq!(labels[0], ("sink".to_owned(), "remote_write".to_owned()));
    let exporter = &labels[1];
    assert_eq!(exporter.0, "exporter");
    assert!(
        exporter.1.starts_with("http://127.0.0.1:") && exporter.1.ends_with("/api/v1/write"),
        "named after the receiver's URL: {exporter:?}"
    );
    snapshot
        .counter(name, &[("sink", "remote_write"), ("exporter", &exporter.1)])
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn a_429_waits_for_retry_after_and_a_500_is_retried() {
    let receiver = Scripted::start(vec![
        Reply::Status(429, vec![("Retry-After", "1".into())], "slow down"),
        Reply::Status(500, vec![], "internal error"),
    ]);
    let (exporter, own) = start(receiver.url(), Duration::from_secs(5));
    exporter.flush(Duration::from_secs(10)).unwrap();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3, "429, 500, then 204");
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After: 1 not honoured: {waited:?}"
    );
    assert!(
        requests.windows(2).all(|w| w[0].body == w[1].body),
        "the same payload"
    );
    let stats = exporter.stats();
    assert_eq!(
        (stats.retries, stats.samples_sent, stats.samples_failed),
        (2, 11, 0)
    );
    assert_eq!(self_metric(&own, "hotmetrics_export_retries"), 2.0);
    assert_eq!(self_metric(&own, "hotmetrics_export_samples_sent"), 11.0);
}

#[test]
fn a_400_is_not_retried_and_counts_as_failed() {
    let receiver = Scripted::start(vec![Reply::Status(400, vec![], "out of order sample")]);
    let (exporter, own) = start(receiver.url(), Duration::from_secs(5));
    exporter.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(receiver.requests().len(), 1, "no retry");
    let stats = exporter.stats();
    assert_eq!(
        (stats.retries, stats.samples_sent, stats.samples_failed),
        (0, 0, 11)
    );
    assert_eq!(self_metric(&own, "hotmetrics_export_samples_failed"), 11.0);
    // The next export goes through.
    exporter.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(exporter.stats().samples_sent, 11);
}

#[test]
fn a_stalled_receiver_times_out_and_is_retried() {
    let receiver = Scripted::start(vec![Reply::Stall(Duration::from_secs(3))]);
    let (exporter, own) = start(receiver.url(), Duration::from_millis(300));
    exporter.flush(Duration::from_secs(10)).unwrap();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "the stalled one, then the retry");
    let gap = requests[1].at - requests[0].at;
    assert!(
        gap >= Duration::from_millis(300) && gap < Duration::from_secs(3),
        "{gap:?}"
    );
    let stats = exporter.stats();
    assert_eq!((stats.retries, stats.samples_sent), (1, 11));
    assert_eq!(self_metric(&own, "hotmetrics_export_retries"), 1.0);
}

#[test]
fn nothing_listening_is_retried_until_the_deadline() {
    let url = format!("http://127.0.0.1:{}/api/v1/write", free_port());
    let (exporter, _own) = start(url, Duration::from_secs(1));
    match exporter.flush(Duration::from_millis(500)) {
        Err(Error::Timeout { samples: 11 }) => {}
        other => panic!("{other:?}"),
    }
    let stats = exporter.stats();
    assert!(stats.retries >= 2, "{stats:?}");
    assert_eq!((stats.samples_sent, stats.queued_batches), (0, 1));
}
