//! What goes on the wire, decoded with prost from Prometheus' official
//! protos: 1.0 and 2.0 requests, their headers, batching, and the 2.0 →
//! 1.0 fallback on a 415 (a scripted loopback receiver); native
//! histograms and exemplars field by field and byte for byte, with the
//! switches on and off.

mod common;

use common::scripted::{Reply, Scripted};
use common::{decode, fixture, fixture_series};
use hotmetrics_core::{
    BucketSpan, Exemplar, FamilyDesc, HistogramValue, MetricSource, MetricType, MetricVisitor,
    NativeBuckets, Number, SeriesValue,
};
use hotmetrics_export::{Batch, Exporter, ExporterHandle, Sink};
use hotmetrics_remote_write::{Protocol, RemoteWrite, RemoteWriteBuilder};
use hotmetrics_remote_write_prompb::{prometheus as p1, v2 as p2};
use prost::Message;
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

/// A source with every native and exemplar field set to known values: a
/// counter with an exemplar (its labels given unsorted, one empty), a
/// classic+native histogram (both signs, a zero bucket, a bucket exemplar,
/// two native exemplars, one without a timestamp), an empty native-only
/// histogram and a gauge of 0. Honours `wants_native` as a registry does
/// unless `unasked` (a collector handing native buckets over anyway).
struct Fixed {
    counter: Exemplar,
    bucket: Exemplar,
    native: [Exemplar; 2],
    unasked: bool,
}

const PX_CREATED: f64 = 1_699_999_999.5;
const PH_CREATED: f64 = 1_699_999_990.0;

impl Fixed {
    fn new() -> Self {
        let e = |labels: &[(&str, &str)], v, t| Exemplar::new(labels, v, t).unwrap();
        Self {
            counter: e(
                &[("trace_id", "t1"), ("span_id", "s1"), ("empty", "")],
                2.5,
                Some(1_700_000_000.123),
            ),
            bucket: e(&[("trace_id", "b1")], 0.5, Some(1_700_000_001.0)),
            native: [
                e(&[("trace_id", "n1")], 0.75, None),
                e(&[("trace_id", "n2")], -1.0, Some(1_700_000_002.5)),
            ],
            unasked: false,
        }
    }
}

impl MetricSource for Fixed {
    fn visit(&self, out: &mut dyn MetricVisitor) {
        let family = |name, help, metric_type, unit| FamilyDesc {
            name,
            help,
            metric_type,
            unit,
        };
        out.begin_family(&family("px", "Px.", MetricType::Counter, None));
        out.series(
            &[("queue", "a")],
            &SeriesValue::Counter {
                value: Number::UInt(10),
                created: PX_CREATED,
                exemplar: Some(&self.counter),
            },
        );
        out.end_family();
        let wanted = self.unasked || out.wants_native();
        let native = |b| wanted.then_some(b);
        let positive = [
            BucketSpan {
                offset: -1,
                length: 2,
            },
            BucketSpan {
                offset: 3,
                length: 1,
            },
        ];
        let negative = [BucketSpan {
            offset: 0,
            length: 1,
        }];
        let ph = native(NativeBuckets {
            schema: 1,
            zero_threshold: 0.001,
            zero_count: 1,
            positive_spans: &positive,
            positive_deltas: &[1, 1, -1],
            negative_spans: &negative,
            negative_deltas: &[1],
            exemplars: &self.native,
        });
        out.begin_family(&family(
            "ph_seconds",
            "Ph.",
            MetricType::Histogram,
            Some("seconds"),
        ));
        out.series(
            &[],
            &SeriesValue::Histogram(HistogramValue {
                upper_bounds: &[1.0],
                bucket_counts: &[3, 3],
                count: 6,
                sum: 7.5,
                created: Some(PH_CREATED),
                exemplars: &[Some(self.bucket.clone()), None],
                native: ph,
            }),
        );
        out.end_family();
        let pn = native(NativeBuckets {
            schema: 3,
            zero_threshold: 0.0,
            zero_count: 0,
            positive_spans: &[],
            positive_deltas: &[],
            negative_spans: &[],
            negative_deltas: &[],
            exemplars: &[],
        });
        out.begin_family(&family("pn", "Pn.", MetricType::Histogram, None));
        out.series(
            &[],
            &SeriesValue::Histogram(HistogramValue {
                upper_bounds: &[],
                bucket_counts: &[0],
                count: 0,
                sum: 0.0,
                created: None,
                exemplars: &[],
                native: pn,
            }),
        );
        out.end_family();
        out.begin_family(&family("pg", "Pg.", MetricType::Gauge, None));
        out.series(&[], &SeriesValue::Gauge(Number::Float(0.0)));
        out.end_family();
    }
}

/// One export of `source` by a sink with the switches given: each
/// request decompressed.
fn encode(
    source: &dyn MetricSource,
    protocol: Protocol,
    native: bool,
    exemplars: bool,
    max_samples: usize,
) -> (Vec<Vec<u8>>, Vec<u64>) {
    let mut sink = RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
        .protocol(protocol)
        .external_label("job", "rw")
        .send_native_histograms(native)
        .send_exemplars(exemplars)
        .max_samples_per_request(max_samples)
        .build()
        .unwrap();
    let mut batch = Batch::default();
    sink.encode(source, &mut batch).unwrap();
    batch
        .payloads()
        .iter()
        .map(|p| (decode::decompress(&p.bytes), p.samples))
        .unzip()
}

fn ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// What 1.0 must carry of [`Fixed`] with both switches on, every field,
/// at export time `ts`.
fn fixed_v1(ts: i64) -> p1::WriteRequest {
    use p1::histogram::{Count, ZeroCount};
    let labels = |pairs: &[(&str, &str)]| -> Vec<p1::Label> {
        pairs
            .iter()
            .map(|(n, v)| p1::Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect()
    };
    let exemplar = |pairs: &[(&str, &str)], value, timestamp| p1::Exemplar {
        labels: labels(pairs),
        value,
        timestamp,
    };
    let float = |pairs: &[(&str, &str)], value| p1::TimeSeries {
        labels: labels(pairs),
        samples: vec![p1::Sample {
            value,
            timestamp: ts,
        }],
        ..Default::default()
    };
    let span = |offset, length| p1::BucketSpan { offset, length };
    let series = vec![
        p1::TimeSeries {
            exemplars: vec![exemplar(
                &[("span_id", "s1"), ("trace_id", "t1")],
                2.5,
                1_700_000_000_123,
            )],
            ..float(
                &[("__name__", "px_total"), ("job", "rw"), ("queue", "a")],
                10.0,
            )
        },
        p1::TimeSeries {
            exemplars: vec![exemplar(&[("trace_id", "b1")], 0.5, 1_700_000_001_000)],
            ..float(
                &[
                    ("__name__", "ph_seconds_bucket"),
                    ("job", "rw"),
                    ("le", "1"),
                ],
                3.0,
            )
        },
        float(
            &[
                ("__name__", "ph_seconds_bucket"),
                ("job", "rw"),
                ("le", "+Inf"),
            ],
            6.0,
        ),
        float(&[("__name__", "ph_seconds_sum"), ("job", "rw")], 7.5),
        float(&[("__name__", "ph_seconds_count"), ("job", "rw")], 6.0),
        p1::TimeSeries {
            labels: labels(&[("__name__", "ph_seconds"), ("job", "rw")]),
            histograms: vec![p1::Histogram {
                count: Some(Count::CountInt(6)),
                sum: 7.5,
                schema: 1,
                zero_threshold: 0.001,
                zero_count: Some(ZeroCount::ZeroCountInt(1)),
                negative_spans: vec![span(0, 1)],
                negative_deltas: vec![1],
                positive_spans: vec![span(-1, 2), span(3, 1)],
                positive_deltas: vec![1, 1, -1],
                reset_hint: 0,
                timestamp: ts,
                ..Default::default()
            }],
            ..Default::default()
        },
        // A native histogram's exemplars follow its histogram in a series
        // of their own (Prometheus appends a series' exemplars before its
        // histograms).
        p1::TimeSeries {
            labels: labels(&[("__name__", "ph_seconds"), ("job", "rw")]),
            exemplars: vec![
                exemplar(&[("trace_id", "n1")], 0.75, ts),
                exemplar(&[("trace_id", "n2")], -1.0, 1_700_000_002_500),
            ],
            ..Default::default()
        },
        p1::TimeSeries {
            labels: labels(&[("__name__", "pn"), ("job", "rw")]),
            histograms: vec![p1::Histogram {
                count: Some(Count::CountInt(0)),
                schema: 3,
                zero_count: Some(ZeroCount::ZeroCountInt(0)),
                timestamp: ts,
                ..Default::default()
            }],
            ..Default::default()
        },
        float(&[("__name__", "pg"), ("job", "rw")], 0.0),
    ];
    use p1::metric_metadata::MetricType as T;
    let metadata = |t: T, name: &str, help: &str, unit: &str| p1::MetricMetadata {
        r#type: t as i32,
        metric_family_name: name.into(),
        help: help.into(),
        unit: unit.into(),
    };
    p1::WriteRequest {
        timeseries: series,
        metadata: vec![
            metadata(T::Counter, "px_total", "Px.", ""),
            metadata(T::Histogram, "ph_seconds", "Ph.", "seconds"),
            metadata(T::Histogram, "pn", "Pn.", ""),
            metadata(T::Gauge, "pg", "Pg.", ""),
        ],
    }
}

/// The export's timestamp: its first series' sample's.
fn export_ms(request: &p1::WriteRequest) -> i64 {
    request.timeseries[0].samples[0].timestamp
}

/// 1.0, both switches on: every field as [`fixed_v1`] says, and the
/// request byte for byte what prost writes of it from Prometheus' own
/// proto (fields in number order, packed deltas, defaults left out, the
/// `oneof` counts written even when 0).
#[test]
fn v1_native_histograms_and_exemplars_are_byte_exact() {
    let (requests, samples) = encode(&Fixed::new(), Protocol::V1, true, true, 2000);
    assert_eq!(requests.len(), 1);
    // 5 floats (a counter, 2 buckets, sum, count), 2 native histograms, a gauge.
    assert_eq!(samples, [8]);
    let got = p1::WriteRequest::decode(&requests[0][..]).unwrap();
    let ts = export_ms(&got);
    assert!((decode::now_ms() - ts).abs() < 60_000, "{ts}");
    let want = fixed_v1(ts);
    assert_eq!(got, want);
    assert_eq!(requests[0], want.encode_to_vec());
}

/// 2.0's symbol table as the sink fills it: each string once, in first
/// use, `""` first.
#[derive(Default)]
struct Table(Vec<String>);

impl Table {
    fn new() -> Self {
        Self(vec![String::new()])
    }

    fn sym(&mut self, s: &str) -> u32 {
        match self.0.iter().position(|x| x == s) {
            Some(i) => i as u32,
            None => {
                self.0.push(s.to_owned());
                self.0.len() as u32 - 1
            }
        }
    }

    fn refs(&mut self, pairs: &[(&str, &str)]) -> Vec<u32> {
        pairs
            .iter()
            .flat_map(|(n, v)| [self.sym(n), self.sym(v)])
            .collect()
    }
}

/// 2.0, both switches on: the same content as 1.0 (series labels, then
/// exemplar labels, then help and unit interned series by series), start
/// timestamps on the counter and the histogram's samples, the native
/// histogram's in its field 17, the metadata on every series; byte for
/// byte what prost writes.
#[test]
fn v2_native_histograms_and_exemplars_are_byte_exact() {
    use p2::histogram::{Count, ZeroCount};
    use p2::metadata::MetricType as T;
    let (requests, samples) = encode(&Fixed::new(), Protocol::V2, true, true, 2000);
    assert_eq!((requests.len(), samples), (1, vec![8]));
    let got = p2::Request::decode(&requests[0][..]).unwrap();
    let ts = got.timeseries[0].samples[0].timestamp;
    // 2.0 keeps a native histogram's exemplars in its own series (its
    // receivers append them after the histogram; 1.0 writes them apart).
    let mut v1 = fixed_v1(ts);
    let mut merged: Vec<p1::TimeSeries> = Vec::new();
    for s in v1.timeseries.drain(..) {
        match merged.last_mut() {
            Some(prev) if s.samples.is_empty() && s.histograms.is_empty() => {
                assert_eq!(prev.labels, s.labels);
                prev.exemplars.extend(s.exemplars);
            }
            _ => merged.push(s),
        }
    }
    v1.timeseries = merged;
    let mut table = Table::new();
    let mut series = Vec::new();
    for (i, s) in v1.timeseries.iter().enumerate() {
        let pairs: Vec<(&str, &str)> = s
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        let labels_refs = table.refs(&pairs);
        let exemplars = s
            .exemplars
            .iter()
            .map(|e| {
                let pairs: Vec<(&str, &str)> = e
                    .labels
                    .iter()
                    .map(|l| (l.name.as_str(), l.value.as_str()))
                    .collect();
                p2::Exemplar {
                    labels_refs: table.refs(&pairs),
                    value: e.value,
                    timestamp: e.timestamp,
                }
            })
            .collect();
        let (t, help, unit, start) = match i {
            0 => (T::Counter, "Px.", "", ms(PX_CREATED)),
            1..=5 => (T::Histogram, "Ph.", "seconds", ms(PH_CREATED)),
            6 => (T::Histogram, "Pn.", "", 0),
            _ => (T::Gauge, "Pg.", "", 0),
        };
        let metadata = Some(p2::Metadata {
            r#type: t as i32,
            help_ref: table.sym(help),
            unit_ref: table.sym(unit),
        });
        let samples = s
            .samples
            .iter()
            .map(|x| p2::Sample {
                value: x.value,
                timestamp: x.timestamp,
                start_timestamp: start,
            })
            .collect();
        let histograms = s
            .histograms
            .iter()
            .map(|h| p2::Histogram {
                count: match h.count {
                    Some(p1::histogram::Count::CountInt(c)) => Some(Count::CountInt(c)),
                    other => panic!("{other:?}"),
                },
                sum: h.sum,
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                zero_count: match h.zero_count {
                    Some(p1::histogram::ZeroCount::ZeroCountInt(z)) => {
                        Some(ZeroCount::ZeroCountInt(z))
                    }
                    other => panic!("{other:?}"),
                },
                negative_spans: h
                    .negative_spans
                    .iter()
                    .map(|s| p2::BucketSpan {
                        offset: s.offset,
                        length: s.length,
                    })
                    .collect(),
                negative_deltas: h.negative_deltas.clone(),
                positive_spans: h
                    .positive_spans
                    .iter()
                    .map(|s| p2::BucketSpan {
                        offset: s.offset,
                        length: s.length,
                    })
                    .collect(),
                positive_deltas: h.positive_deltas.clone(),
                timestamp: h.timestamp,
                start_timestamp: start,
                ..Default::default()
            })
            .collect();
        series.push(p2::TimeSeries {
            labels_refs,
            samples,
            histograms,
            exemplars,
            metadata,
        });
    }
    let want = p2::Request {
        symbols: table.0,
        timeseries: series,
    };
    assert_eq!(got, want);
    assert_eq!(requests[0], want.encode_to_vec());
}

/// Each series' name and labels, its value (a float, or a native
/// histogram's count as `h<count>`) and how many exemplars it carries,
/// with the timestamps left out.
fn summary_v1(request: &[u8]) -> Vec<(String, String, usize)> {
    let req = p1::WriteRequest::decode(request).unwrap();
    req.timeseries
        .iter()
        .map(|s| {
            let labels: Vec<String> = s
                .labels
                .iter()
                .map(|l| format!("{}={}", l.name, l.value))
                .collect();
            let value = match (&s.samples[..], &s.histograms[..]) {
                ([x], []) => x.value.to_string(),
                ([], [h]) => format!("h{:?}", h.count),
                other => panic!("one sample or one histogram a series: {other:?}"),
            };
            (labels.join(","), value, s.exemplars.len())
        })
        .collect()
}

/// The classic view of [`Fixed`], as every export sends it with the
/// switches off.
fn fixed_classic() -> Vec<(String, String, usize)> {
    [
        ("__name__=px_total,job=rw,queue=a", "10"),
        ("__name__=ph_seconds_bucket,job=rw,le=1", "3"),
        ("__name__=ph_seconds_bucket,job=rw,le=+Inf", "6"),
        ("__name__=ph_seconds_sum,job=rw", "7.5"),
        ("__name__=ph_seconds_count,job=rw", "6"),
        ("__name__=pn_bucket,job=rw,le=+Inf", "0"),
        ("__name__=pn_sum,job=rw", "0"),
        ("__name__=pn_count,job=rw", "0"),
        ("__name__=pg,job=rw", "0"),
    ]
    .iter()
    .map(|(l, v)| (l.to_string(), v.to_string(), 0))
    .collect()
}

/// The switches off (the default): no native histogram and no exemplar,
/// the classic view as before, even from a collector that hands native
/// buckets over unasked; each switch alone sends only its part.
#[test]
fn switched_off_nothing_native_or_exemplar_is_sent() {
    let mut unasked = Fixed::new();
    unasked.unasked = true;
    for source in [Fixed::new(), unasked] {
        let (requests, samples) = encode(&source, Protocol::V1, false, false, 2000);
        assert_eq!(samples, [9]);
        assert_eq!(summary_v1(&requests[0]), fixed_classic());
        let (requests, _) = encode(&source, Protocol::V2, false, false, 2000);
        let req = p2::Request::decode(&requests[0][..]).unwrap();
        assert_eq!(req.timeseries.len(), 9);
        assert!(
            req.timeseries
                .iter()
                .all(|s| s.histograms.is_empty() && s.exemplars.is_empty() && s.samples.len() == 1)
        );
    }
    // Exemplars alone: on the counter and the bucket; the native ones have
    // no series to go on.
    let (requests, _) = encode(&Fixed::new(), Protocol::V1, false, true, 2000);
    let mut want = fixed_classic();
    want[0].2 = 1;
    want[1].2 = 1;
    assert_eq!(summary_v1(&requests[0]), want);
    // Native histograms alone: no exemplar anywhere.
    let (requests, samples) = encode(&Fixed::new(), Protocol::V1, true, false, 2000);
    assert_eq!(samples, [8]);
    let got = summary_v1(&requests[0]);
    assert!(got.iter().all(|(_, _, e)| *e == 0), "{got:?}");
    assert_eq!(got.len(), 8);
}

/// A native-only histogram (no classic bounds) of a real registry, switch
/// on: one native sample, no `_bucket`, `_sum` or `_count`; off, its
/// classic view (`+Inf`, `_sum`, `_count`). A classic+native one sends
/// both with the switch on.
#[test]
fn a_native_only_histogram_sends_only_its_native_sample() {
    let registry = common::native_fixture();
    let names = |native: bool| -> Vec<String> {
        let (requests, _) = encode(&registry, Protocol::V1, native, false, 2000);
        let mut names: Vec<String> = summary_v1(&requests[0])
            .into_iter()
            .filter(|(l, _, _)| l.contains("rw_wait_") || l.contains("rw_job_"))
            .map(|(l, v, _)| format!("{l} {v}"))
            .collect();
        names.sort();
        names
    };
    let on = names(true);
    assert_eq!(
        on,
        [
            "__name__=rw_job_seconds,job=rw h11",
            "__name__=rw_job_seconds_bucket,job=rw,le=+Inf 11",
            "__name__=rw_job_seconds_bucket,job=rw,le=0.1 8",
            "__name__=rw_job_seconds_bucket,job=rw,le=0.5 9",
            "__name__=rw_job_seconds_bucket,job=rw,le=1 9",
            "__name__=rw_job_seconds_count,job=rw 11",
            "__name__=rw_job_seconds_sum,job=rw 5.753",
            "__name__=rw_wait_seconds,job=rw h11",
        ]
        .map(|s| s.replace("h11", "hSome(CountInt(11))"))
    );
    let off = names(false);
    assert!(off.contains(&"__name__=rw_wait_seconds_bucket,job=rw,le=+Inf 11".to_owned()));
    assert!(off.contains(&"__name__=rw_wait_seconds_count,job=rw 11".to_owned()));
    assert!(off.iter().all(|s| !s.contains(" h")), "{off:?}");
}

/// At `max_samples_per_request(1)` every request holds one series: a
/// native histogram is one sample, whole, with its exemplars; every
/// request has its family's metadata (1.0). The exporter counts 8.
#[test]
fn batching_counts_a_native_histogram_as_one_sample() {
    for protocol in [Protocol::V1, Protocol::V2] {
        let (requests, samples) = encode(&Fixed::new(), protocol, true, true, 1);
        assert_eq!(samples, [1; 8], "{protocol:?}");
        let whole = encode(&Fixed::new(), protocol, true, true, 2000).0;
        match protocol {
            Protocol::V1 => {
                let all = p1::WriteRequest::decode(&whole[0][..]).unwrap();
                let mut want = all.timeseries.iter();
                for r in &requests {
                    let got = p1::WriteRequest::decode(&r[..]).unwrap();
                    // One sample a request; a native histogram's exemplars
                    // ride in the same request, in a series after it.
                    let with_exemplars = got.timeseries.len() == 2;
                    if with_exemplars {
                        let apart = &got.timeseries[1];
                        assert!(apart.samples.is_empty() && apart.histograms.is_empty());
                        assert_eq!(got.timeseries[0].histograms.len(), 1, "{got:?}");
                    } else {
                        assert_eq!(got.timeseries.len(), 1, "{got:?}");
                    }
                    for got_series in &got.timeseries {
                        let mut got_series = got_series.clone();
                        let mut want = want.next().unwrap().clone();
                        for s in [&mut got_series, &mut want] {
                            s.samples.iter_mut().for_each(|x| x.timestamp = 0);
                            s.histograms.iter_mut().for_each(|h| h.timestamp = 0);
                            // The untimed exemplar has the export's time.
                            s.exemplars.iter_mut().for_each(|e| {
                                if e.timestamp > 1_700_000_010_000 {
                                    e.timestamp = 0;
                                }
                            });
                        }
                        assert_eq!(got_series, want);
                    }
                    assert_eq!(got.metadata.len(), 1, "{got:?}");
                }
                assert!(want.next().is_none());
            }
            Protocol::V2 => {
                for r in &requests {
                    let got = p2::Request::decode(&r[..]).unwrap();
                    assert_eq!(got.timeseries.len(), 1);
                    let s = &got.timeseries[0];
                    assert_eq!(s.samples.len() + s.histograms.len(), 1, "{s:?}");
                }
                let native: Vec<usize> = requests
                    .iter()
                    .map(|r| {
                        p2::Request::decode(&r[..]).unwrap().timeseries[0]
                            .exemplars
                            .len()
                    })
                    .collect();
                assert_eq!(native, [1, 1, 0, 0, 0, 2, 0, 0]);
            }
        }
    }
    let receiver = Scripted::start(vec![]);
    let sink = builder(receiver.url())
        .send_native_histograms(true)
        .send_exemplars(true)
        .max_samples_per_request(1)
        .build()
        .unwrap();
    let exporter = Exporter::builder(Fixed::new(), sink)
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    exporter.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(receiver.requests().len(), 8);
    assert_eq!(exporter.stats().samples_sent, 8);
    exporter.shutdown().unwrap();
}

/// Exemplars switched on before any was recorded: none is sent, and the
/// requests are those of the switch off (timestamps aside).
#[test]
fn exemplars_on_with_none_recorded_yet() {
    let registry = hotmetrics_core::Registry::new();
    registry.counter(("c", "C.")).unwrap().inc();
    let h = registry
        .histogram(
            ("h", "H."),
            hotmetrics_core::Buckets::new(vec![1.0])
                .unwrap()
                .with_native(hotmetrics_core::NativeOpts::new())
                .unwrap(),
        )
        .unwrap();
    h.observe(0.5);
    for protocol in [Protocol::V1, Protocol::V2] {
        let strip = |requests: Vec<Vec<u8>>| -> Vec<String> {
            requests
                .iter()
                .map(|r| match protocol {
                    Protocol::V1 => {
                        let mut req = p1::WriteRequest::decode(&r[..]).unwrap();
                        for s in &mut req.timeseries {
                            assert!(s.exemplars.is_empty(), "{s:?}");
                            s.samples.iter_mut().for_each(|x| x.timestamp = 0);
                            s.histograms.iter_mut().for_each(|h| h.timestamp = 0);
                        }
                        format!("{req:?}")
                    }
                    Protocol::V2 => {
                        let mut req = p2::Request::decode(&r[..]).unwrap();
                        for s in &mut req.timeseries {
                            assert!(s.exemplars.is_empty(), "{s:?}");
                            s.samples.iter_mut().for_each(|x| x.timestamp = 0);
                            s.histograms.iter_mut().for_each(|h| h.timestamp = 0);
                        }
                        format!("{req:?}")
                    }
                })
                .collect()
        };
        let on = strip(encode(&registry, protocol, true, true, 2000).0);
        let off = strip(encode(&registry, protocol, true, false, 2000).0);
        assert_eq!(on, off, "{protocol:?}");
        assert!(on[0].contains("CountInt(1)"), "{protocol:?}: {on:?}");
    }
}

/// A 415 to 2.0: the queued 2.0 payload with native histograms and
/// exemplars is re-encoded as 1.0 with all of them, byte for byte the
/// 1.0 request the sink would have written (start timestamps dropped).
#[test]
fn the_1_0_fallback_keeps_native_histograms_and_exemplars() {
    let receiver = Scripted::start(vec![Reply::Status(415, vec![], "unsupported")]);
    let sink = builder(receiver.url())
        .protocol(Protocol::V2)
        .send_native_histograms(true)
        .send_exemplars(true)
        .build()
        .unwrap();
    let exporter = Exporter::builder(Fixed::new(), sink)
        .interval(Duration::from_secs(3600))
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .start()
        .unwrap();
    exporter.flush(Duration::from_secs(5)).unwrap();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "the refused one, then its 1.0 form");
    assert_eq!(
        requests[1].header("content-type"),
        Some("application/x-protobuf")
    );
    let raw = decode::decompress(&requests[1].body);
    let got = p1::WriteRequest::decode(&raw[..]).unwrap();
    // `builder` adds `instance`: drop it to compare with the fixed request.
    let mut want = fixed_v1(export_ms(&got));
    for s in &mut want.timeseries {
        let at = s.labels.iter().position(|l| l.name == "job").unwrap();
        s.labels.insert(
            at,
            p1::Label {
                name: "instance".into(),
                value: "host-1".into(),
            },
        );
        s.labels.iter_mut().find(|l| l.name == "job").unwrap().value = "rw-test".into();
    }
    assert_eq!(got, want);
    assert_eq!(raw, want.encode_to_vec());
    assert_eq!(exporter.stats().samples_sent, 8);
    exporter.shutdown().unwrap();
}

/// Each exemplar goes out once: an export sends those recorded since the
/// previous export (its millisecond included), so an unchanged exemplar is
/// not sent again and a native ring's older ones are never re-sent out of
/// order (which Prometheus refuses with a warning per request).
#[test]
fn exemplars_are_sent_by_the_first_export_after_they_are_recorded() {
    for protocol in [Protocol::V1, Protocol::V2] {
        let registry = hotmetrics_core::Registry::new();
        let c = registry.counter(("c", "C.")).unwrap();
        let h = registry
            .histogram(
                ("h", "H."),
                hotmetrics_core::Buckets::native(hotmetrics_core::NativeOpts::new()).unwrap(),
            )
            .unwrap();
        c.inc_with_exemplar(&[("trace_id", "c1")]).unwrap();
        h.observe_with_exemplar(0.5, &[("trace_id", "h1")]).unwrap();
        h.observe_with_exemplar(0.7, &[("trace_id", "h2")]).unwrap();
        let mut sink = RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
            .protocol(protocol)
            .send_native_histograms(true)
            .send_exemplars(true)
            .build()
            .unwrap();
        // The trace ids sent by one export, by series name.
        let mut export = || -> BTreeMap<String, Vec<String>> {
            // Past the millisecond of anything recorded before.
            std::thread::sleep(Duration::from_millis(3));
            let mut batch = Batch::default();
            sink.encode(&registry, &mut batch).unwrap();
            let mut sent = BTreeMap::new();
            for p in batch.payloads() {
                let raw = decode::decompress(&p.bytes);
                match protocol {
                    Protocol::V1 => {
                        for s in p1::WriteRequest::decode(&raw[..]).unwrap().timeseries {
                            let name = s.labels.iter().find(|l| l.name == "__name__").unwrap();
                            let ids = s.exemplars.iter().map(|e| e.labels[0].value.clone());
                            sent.insert(name.value.clone(), ids.collect::<Vec<_>>());
                        }
                    }
                    Protocol::V2 => {
                        let req = p2::Request::decode(&raw[..]).unwrap();
                        let sym = |i: u32| req.symbols[i as usize].clone();
                        for s in &req.timeseries {
                            let name = (0..s.labels_refs.len() / 2)
                                .find(|&i| sym(s.labels_refs[2 * i]) == "__name__")
                                .map(|i| sym(s.labels_refs[2 * i + 1]))
                                .unwrap();
                            let ids = s.exemplars.iter().map(|e| sym(e.labels_refs[1]));
                            sent.insert(name, ids.collect::<Vec<_>>());
                        }
                    }
                }
            }
            sent
        };
        let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let first = export();
        assert_eq!(first["c_total"], ids(&["c1"]), "{protocol:?}");
        assert_eq!(first["h"], ids(&["h1", "h2"]), "{protocol:?}");
        let second = export();
        assert!(
            second.values().all(Vec::is_empty),
            "{protocol:?}: {second:?}"
        );
        c.inc_with_exemplar(&[("trace_id", "c2")]).unwrap();
        h.observe_with_exemplar(0.9, &[("trace_id", "h3")]).unwrap();
        let third = export();
        assert_eq!(third["c_total"], ids(&["c2"]), "{protocol:?}");
        assert_eq!(third["h"], ids(&["h3"]), "{protocol:?}");
        // The series themselves go out every time.
        assert_eq!(third.len(), first.len(), "{protocol:?}");
    }
}
