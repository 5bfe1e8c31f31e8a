//! What goes on the wire, decoded with prost from Prometheus' official
//! protos: 1.0 and 2.0 requests, their headers, batching, and the 2.0 →
//! 1.0 fallback on a 415 (a scripted loopback receiver).

mod common;

use common::scripted::{Reply, Scripted};
use common::{decode, fixture, fixture_series};
use hotmetrics_export::{Exporter, ExporterHandle};
use hotmetrics_remote_write::{Protocol, RemoteWrite, RemoteWriteBuilder};
use std::collections::BTreeMap;
use std::time::Duration;

fn builder(url: String) -> RemoteWriteBuilder {
    RemoteWrite::builder(url)
        .external_label("job", "rw-test")
        .external_label("instance", "host-1")
}

fn start(builder: RemoteWriteBuilder) -> ExporterHandle {
    Exporter::builder(fixture(), builder.build().unwrap())
        .interval(Duration::from_secs(3600))
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .start()
        .unwrap()
}

#[test]
fn v1_requests_decode_with_the_official_proto() {
    let receiver = Scripted::start(vec![]);
    let exporter = start(
        builder(receiver.url())
            .basic_auth("alice", "s3cret")
            .header("X-Scope-OrgID", "tenant-7"),
    );
    exporter.flush(Duration::from_secs(5)).unwrap();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.header("content-encoding"), Some("snappy"));
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(r.header("x-prometheus-remote-write-version"), Some("0.1.0"));
    assert_eq!(r.header("x-scope-orgid"), Some("tenant-7"));
    // base64("alice:s3cret")
    assert_eq!(r.header("authorization"), Some("Basic YWxpY2U6czNjcmV0"));
    assert!(
        r.header("user-agent")
            .is_some_and(|u| u.starts_with("hotmetrics-remote-write/")),
        "{:?}",
        r.header("user-agent")
    );
    let (samples, request) = decode::v1(&r.body);
    assert_eq!(samples, fixture_series());
    let metadata: BTreeMap<&str, (i32, &str, &str)> = request
        .metadata
        .iter()
        .map(|m| {
            let name = m.metric_family_name.as_str();
            (name, (m.r#type, m.help.as_str(), m.unit.as_str()))
        })
        .collect();
    use hotmetrics_remote_write_prompb::prometheus::metric_metadata::MetricType as T;
    let want = BTreeMap::from([
        ("rw_build_info", (T::Info as i32, "Build information.", "")),
        ("rw_inflight", (T::Gauge as i32, "Requests in flight.", "")),
        ("rw_jobs_total", (T::Counter as i32, "Jobs done.", "")),
        (
            "rw_latency_seconds",
            (T::Histogram as i32, "Request latency.", "seconds"),
        ),
        (
            "rw_temperature_celsius",
            (T::Gauge as i32, "Room temperature.", ""),
        ),
    ]);
    assert_eq!(metadata, want);
    exporter.shutdown().unwrap();
}

#[test]
fn bearer_tokens_go_in_authorization() {
    let receiver = Scripted::start(vec![]);
    let exporter = start(builder(receiver.url()).bearer_token("tok-123"));
    exporter.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(
        receiver.requests()[0].header("authorization"),
        Some("Bearer tok-123")
    );
}

#[test]
fn an_export_is_split_into_requests_of_at_most_max_samples() {
    let receiver = Scripted::start(vec![]);
    let exporter = start(builder(receiver.url()).max_samples_per_request(3));
    exporter.flush(Duration::from_secs(5)).unwrap();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 4, "11 samples, 3 a request");
    let mut all = BTreeMap::new();
    for r in &requests {
        let (samples, request) = decode::v1(&r.body);
        assert!(samples.len() <= 3, "{samples:?}");
        // Each request carries the metadata of the families it holds.
        for name in samples.keys() {
            let family = name.split('"').nth(1).unwrap();
            assert!(
                request
                    .metadata
                    .iter()
                    .any(|m| family.starts_with(&m.metric_family_name)),
                "{family} without metadata"
            );
        }
        all.extend(samples);
    }
    assert_eq!(all, fixture_series());
    assert_eq!(exporter.stats().samples_sent, 11);
}

#[test]
fn v2_requests_decode_with_the_official_proto() {
    let receiver = Scripted::start(vec![]);
    let exporter = start(builder(receiver.url()).protocol(Protocol::V2));
    exporter.flush(Duration::from_secs(5)).unwrap();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        r.header("content-type"),
        Some("application/x-protobuf;proto=io.prometheus.write.v2.Request")
    );
    assert_eq!(r.header("x-prometheus-remote-write-version"), Some("2.0.0"));
    assert_eq!(r.header("content-encoding"), Some("snappy"));
    let (values, meta) = decode::v2(&r.body);
    assert_eq!(values, fixture_series());
    use hotmetrics_remote_write_prompb::v2::metadata::MetricType as T;
    let now = decode::now_ms();
    for (series, (t, help, unit, start)) in &meta {
        let (want_type, want_help, want_unit, has_start) = if series.contains("rw_jobs_total") {
            (T::Counter, "Jobs done.", "", true)
        } else if series.contains("rw_latency_seconds") {
            (T::Histogram, "Request latency.", "seconds", true)
        } else if series.contains("rw_build_info") {
            (T::Info, "Build information.", "", false)
        } else if series.contains("rw_inflight") {
            (T::Gauge, "Requests in flight.", "", false)
        } else {
            (T::Gauge, "Room temperature.", "", false)
        };
        assert_eq!(
            (*t, help.as_str(), unit.as_str()),
            (want_type as i32, want_help, want_unit),
            "{series}"
        );
        // Counters and histograms carry when they were created.
        if has_start {
            assert!(*start > now - 60_000 && *start <= now, "{series}: {start}");
        } else {
            assert_eq!(*start, 0, "{series}");
        }
    }
}

#[test]
fn a_415_to_v2_falls_back_to_v1_and_re_encodes_what_was_queued() {
    let receiver = Scripted::start(vec![Reply::Status(415, vec![], "unsupported")]);
    // Three payloads per export: the first gets the 415; the other two
    // were encoded as 2.0 too.
    let exporter = start(
        builder(receiver.url())
            .protocol(Protocol::V2)
            .max_samples_per_request(4),
    );
    exporter.flush(Duration::from_secs(5)).unwrap();
    exporter.flush(Duration::from_secs(5)).unwrap();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1 + 3 + 3, "the refused one, then 2 exports");
    let v2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
    assert_eq!(requests[0].header("content-type"), Some(v2));
    let mut first = BTreeMap::new();
    let mut second = BTreeMap::new();
    for (i, r) in requests.iter().enumerate().skip(1) {
        assert_eq!(
            r.header("content-type"),
            Some("application/x-protobuf"),
            "{i}"
        );
        assert_eq!(r.header("x-prometheus-remote-write-version"), Some("0.1.0"));
        let (samples, request) = decode::v1(&r.body);
        assert!(!request.metadata.is_empty());
        if i <= 3 { &mut first } else { &mut second }.extend(samples);
    }
    assert_eq!(first, fixture_series(), "the re-encoded export");
    assert_eq!(
        second,
        fixture_series(),
        "the next export, 1.0 from the start"
    );
    let stats = exporter.stats();
    assert_eq!(
        (stats.samples_sent, stats.samples_failed),
        (22, 0),
        "{stats:?}"
    );
}

#[test]
fn empty_label_values_are_no_labels_and_external_labels_fill_them() {
    let registry = hotmetrics_core::Registry::new();
    let jobs = registry
        .counter_vec(("jobs_total", "Jobs."), &["job", "queue"])
        .unwrap();
    jobs.with(&["", "mail"], |c| c.inc()).unwrap();
    jobs.with(&["own", ""], |c| c.inc_by(2)).unwrap();
    let receiver = Scripted::start(vec![]);
    let exporter = Exporter::builder(registry, builder(receiver.url()).build().unwrap())
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    exporter.flush(Duration::from_secs(5)).unwrap();
    let requests = receiver.requests();
    let (samples, _) = decode::v1(&requests[0].body);
    let want = BTreeMap::from([
        (
            r#"{__name__="jobs_total",instance="host-1",job="rw-test",queue="mail"}"#.to_owned(),
            1.0,
        ),
        (
            r#"{__name__="jobs_total",instance="host-1",job="own"}"#.to_owned(),
            2.0,
        ),
    ]);
    assert_eq!(samples, want);
    exporter.shutdown().unwrap();
}
