//! Encodes registries and decodes the output with prost, through the
//! workspace's mirror of `metrics.proto`; the registry with every type is
//! the workspace's fixture (both from hotmetrics-tests).

use bytes::BytesMut;
use hotmetrics_core::BucketSpan;
use hotmetrics_core::{
    Collector, Described, Exemplar, FamilyDesc, HistogramValue, MetricType, MetricVisitor,
    NativeBuckets, Number, Registry, SeriesValue, SummaryValue,
};
use hotmetrics_protobuf::ProtobufEncoder;
use hotmetrics_tests::fixture::{self, CREATED, TRICKY_HELP, TRICKY_VALUES};
use hotmetrics_tests::proto::{self, MetricFamily, MetricType as Type, decode_delimited};
use proptest::prelude::*;

fn encode(registry: &Registry) -> BytesMut {
    let mut buf = BytesMut::new();
    ProtobufEncoder::new().encode(registry, &mut buf);
    buf
}

fn decode(registry: &Registry) -> Vec<MetricFamily> {
    decode_delimited(&encode(registry)).expect("valid delimited MetricFamily stream")
}

fn labels(m: &proto::Metric) -> Vec<(&str, &str)> {
    m.label.iter().map(|l| (l.name(), l.value())).collect()
}

fn ts(seconds: i64, nanos: i32) -> Option<proto::Timestamp> {
    Some(proto::Timestamp { seconds, nanos })
}

fn by_name<'a>(families: &'a [MetricFamily], name: &str) -> &'a MetricFamily {
    families
        .iter()
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

/// A gauge series: its labels and value.
type Gauge<'a> = (Vec<(&'a str, &'a str)>, Option<f64>);

fn gauges(f: &MetricFamily) -> Vec<Gauge<'_>> {
    f.metric
        .iter()
        .map(|m| (labels(m), m.gauge.as_ref().unwrap().value))
        .collect()
}

#[test]
fn collector_types_map_like_the_text_encoder() {
    let families = decode(&fixture::registry());
    let names: Vec<_> = families.iter().map(|f| f.name()).collect();
    // `shop_refunds_total` has no series, so it is left out.
    assert_eq!(
        names,
        [
            "shop_batch_duration_seconds",
            "shop_busy_seconds_total",
            "shop_component_info",
            "shop_features",
            "shop_inventory_delta",
            "shop_messages_total",
            "shop_orders_total",
            "shop_release_info",
            "shop_request_duration_seconds",
            "shop_signal_ratio",
            "shop_worker_state",
            "shop_rpc_duration_seconds",
            "shop_build_info",
            "shop_cache_mode",
            "shop_legacy_score",
        ]
    );
    assert_eq!(
        by_name(&families, "shop_messages_total").help(),
        TRICKY_HELP
    );

    let summary = by_name(&families, "shop_rpc_duration_seconds");
    assert_eq!(summary.r#type(), Type::Summary);
    assert_eq!(summary.help(), "Time to serve an RPC.");
    assert_eq!(summary.unit.as_deref(), Some("seconds"));
    let m = &summary.metric[0];
    assert_eq!(labels(m), [("region", "eu-west"), ("method", "get")]);
    let s = m.summary.as_ref().unwrap();
    assert_eq!((s.sample_count, s.sample_sum), (Some(1000), Some(17.5)));
    let q: Vec<_> = s
        .quantile
        .iter()
        .map(|q| (q.quantile(), q.value()))
        .collect();
    assert_eq!(q, [(0.5, 0.012), (0.9, 0.05), (0.99, 0.25)]);
    assert_eq!(s.created_timestamp, ts(1_700_000_000, 250_000_000));
    let put = summary.metric[1].summary.as_ref().unwrap();
    assert!(put.quantile.iter().all(|q| q.value().is_nan()));
    assert_eq!((put.sample_count, put.sample_sum), (Some(0), Some(0.0)));

    let info = by_name(&families, "shop_build_info");
    assert_eq!(info.r#type(), Type::Gauge);
    assert_eq!(info.unit, None);
    assert_eq!(
        gauges(info),
        [(
            vec![
                ("region", "eu-west"),
                ("version", "1.4.0-rc.1"),
                ("revision", "a1b2c3 \"dirty\" \\"),
            ],
            Some(1.0)
        )]
    );

    let stateset = by_name(&families, "shop_cache_mode");
    assert_eq!(stateset.r#type(), Type::Gauge);
    let state = |s| vec![("region", "eu-west"), ("shop_cache_mode", s)];
    assert_eq!(
        gauges(stateset),
        [
            (state("write_back"), Some(1.0)),
            (state("write_through"), Some(0.0)),
            (state("off"), Some(0.0)),
        ]
    );

    // The same types registered as metrics rather than collected.
    let release = by_name(&families, "shop_release_info");
    assert_eq!(release.r#type(), Type::Gauge);
    assert_eq!(
        gauges(release),
        [(
            vec![
                ("region", "eu-west"),
                ("version", "2.0.1"),
                ("channel", "say \"hi\"\nback\\slash"),
            ],
            Some(1.0)
        )]
    );
    let workers = by_name(&families, "shop_worker_state");
    assert_eq!(workers.r#type(), Type::Gauge);
    let worker = |w, s| {
        vec![
            ("region", "eu-west"),
            ("worker", w),
            ("shop_worker_state", s),
        ]
    };
    assert_eq!(
        gauges(workers)[..3],
        [
            (worker("w1", "idle"), Some(0.0)),
            (worker("w1", "busy"), Some(1.0)),
            (worker("w1", "draining"), Some(0.0)),
        ]
    );

    let legacy = by_name(&families, "shop_legacy_score");
    assert_eq!(legacy.r#type(), Type::Untyped);
    let untyped: Vec<_> = legacy
        .metric
        .iter()
        .map(|m| (labels(m), m.untyped.as_ref().unwrap().value))
        .collect();
    assert_eq!(
        untyped,
        [
            (vec![("region", "eu-west"), ("source", "import")], Some(2.5)),
            (
                vec![("region", "eu-west"), ("source", "manual")],
                Some(-3.0)
            ),
        ]
    );
}

/// What the fixture does not hold: creation times protobuf's `Timestamp`
/// spells oddly or cannot carry, special values in summary fields, a
/// series without labels, and a family never ended.
struct EdgeValues;

impl Collector for EdgeValues {
    fn describe(&self) -> Vec<Described> {
        Vec::new()
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        let fam = |out: &mut dyn MetricVisitor, name, metric_type| {
            out.begin_family(&FamilyDesc {
                name,
                help: "help ü",
                metric_type,
                unit: None,
            });
        };
        fam(out, "rpc_seconds", MetricType::Summary);
        out.series(
            &[("m", "get")],
            &SeriesValue::Summary(SummaryValue {
                quantiles: &[(0.5, 0.25), (0.99, f64::INFINITY)],
                count: 4,
                sum: f64::NAN,
                created: Some(CREATED),
            }),
        );
        out.end_family();
        fam(out, "raw", MetricType::Unknown);
        out.series(&[], &SeriesValue::Unknown(Number::Float(f64::NEG_INFINITY)));
        out.end_family();
        fam(out, "jobs", MetricType::Counter);
        for (v, created) in [("0", 0.0), ("1", -1.5), ("nan", f64::NAN)] {
            out.series(
                &[("c", v)],
                &SeriesValue::Counter {
                    value: Number::UInt(0),
                    created,
                    exemplar: None,
                },
            );
        }
        out.end_family();
        fam(out, "lat", MetricType::Histogram);
        out.series(
            &[],
            &SeriesValue::Histogram(HistogramValue {
                upper_bounds: &[1.0, 2.0],
                bucket_counts: &[3, 0, 2],
                count: 5,
                sum: 7.5,
                created: None,
                exemplars: &[],
                native: None,
            }),
        );
        out.end_family();
        // A collector that forgets `end_family` still yields a valid stream.
        fam(out, "unclosed", MetricType::Gauge);
        out.series(&[], &SeriesValue::Gauge(Number::Int(-3)));
    }
}

#[test]
fn edge_values_and_creation_times_map() {
    let registry = Registry::new();
    registry.register_collector(EdgeValues).unwrap();
    let families = decode(&registry);
    let names: Vec<_> = families.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        ["rpc_seconds", "raw", "jobs_total", "lat", "unclosed"]
    );
    for f in &families {
        assert_eq!(f.help(), "help ü");
    }

    let s = families[0].metric[0].summary.as_ref().unwrap();
    assert_eq!(s.sample_count, Some(4));
    assert!(s.sample_sum.unwrap().is_nan());
    let q: Vec<_> = s
        .quantile
        .iter()
        .map(|q| (q.quantile(), q.value()))
        .collect();
    assert_eq!(q, [(0.5, 0.25), (0.99, f64::INFINITY)]);
    assert_eq!(s.created_timestamp, ts(1_700_000_000, 250_000_000));

    let raw = &families[1];
    assert_eq!(raw.r#type(), Type::Untyped);
    let untyped = raw.metric[0].untyped.as_ref().unwrap();
    assert_eq!(untyped.value, Some(f64::NEG_INFINITY));
    assert!(raw.metric[0].label.is_empty());

    let jobs = &families[2];
    assert_eq!(jobs.r#type(), Type::Counter);
    let counters: Vec<_> = jobs
        .metric
        .iter()
        .map(|m| m.counter.clone().unwrap())
        .collect();
    // A zero total is still written (proto2 presence).
    assert!(counters.iter().all(|c| c.value == Some(0.0)));
    assert_eq!(counters[0].created_timestamp, ts(0, 0));
    assert_eq!(counters[1].created_timestamp, ts(-2, 500_000_000));
    assert_eq!(counters[2].created_timestamp, None);

    let lat = &families[3];
    assert_eq!(lat.r#type(), Type::Histogram);
    let h = lat.metric[0].histogram.as_ref().unwrap();
    let buckets: Vec<_> = h
        .bucket
        .iter()
        .map(|b| (b.upper_bound(), b.cumulative_count))
        .collect();
    assert_eq!(buckets, [(1.0, Some(3)), (2.0, Some(3))]);
    assert_eq!((h.sample_count, h.sample_sum), (Some(5), Some(7.5)));
    assert_eq!(h.created_timestamp, None);
    assert_eq!(h.schema, None, "classic only: no native fields");
    assert!(h.positive_span.is_empty());

    assert_eq!(
        families[4].metric[0].gauge.as_ref().unwrap().value,
        Some(-3.0)
    );
}

/// The live fixture (wall-clock creation times): constant labels first,
/// escapes, units, special floats, and histograms without a `+Inf` bucket.
#[test]
fn registry_metrics_map_with_created_times_and_units() {
    let families = decode(&fixture::live());
    assert!(
        !families.iter().any(|f| f.name() == "shop_refunds_total"),
        "the family without series is left out"
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let recent = |t: &Option<proto::Timestamp>| {
        let t = t.expect("created_timestamp");
        assert!((now - 600..=now + 1).contains(&t.seconds), "{t:?}");
        assert!((0..1_000_000_000).contains(&t.nanos), "{t:?}");
    };

    let messages = by_name(&families, "shop_messages_total");
    assert_eq!(messages.r#type(), Type::Counter);
    assert_eq!(messages.help(), TRICKY_HELP);
    assert_eq!(messages.unit, None);
    for (i, (m, queue)) in messages.metric.iter().zip(TRICKY_VALUES).enumerate() {
        assert_eq!(labels(m), [("region", "eu-west"), ("queue", queue)]);
        let c = m.counter.as_ref().unwrap();
        assert_eq!(c.value, Some(i as f64 + 1.0));
        recent(&c.created_timestamp);
    }
    let orders = &by_name(&families, "shop_orders_total").metric[0];
    assert_eq!(labels(orders), [("region", "eu-west"), ("shard", "7")]);

    let busy = by_name(&families, "shop_busy_seconds_total");
    assert_eq!(busy.unit.as_deref(), Some("seconds"));
    assert_eq!(
        busy.metric[0].counter.as_ref().unwrap().value,
        Some(0.1 + 0.2)
    );

    let delta = by_name(&families, "shop_inventory_delta");
    assert_eq!(delta.r#type(), Type::Gauge);
    let values: Vec<_> = gauges(delta).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, [Some(-17.0), Some(i64::MIN as f64)]);
    let ratio = gauges(by_name(&families, "shop_signal_ratio"));
    let ratio: Vec<_> = ratio
        .iter()
        .map(|(l, v)| (l[1].1, v.unwrap().to_bits()))
        .collect();
    let bits = |v: f64| v.to_bits();
    assert_eq!(
        ratio,
        [
            ("nan", bits(f64::NAN)),
            ("pos_inf", bits(f64::INFINITY)),
            ("neg_inf", bits(f64::NEG_INFINITY)),
            ("third", bits(1.0 / 3.0)),
            ("tiny", bits(5e-324)),
            ("huge", bits(f64::MAX)),
            ("neg_zero", bits(-0.0)),
        ]
    );

    let duration = by_name(&families, "shop_request_duration_seconds");
    assert_eq!(duration.r#type(), Type::Histogram);
    assert_eq!(duration.unit.as_deref(), Some("seconds"));
    let h = duration.metric[0].histogram.as_ref().unwrap();
    let buckets: Vec<_> = h
        .bucket
        .iter()
        .map(|b| (b.upper_bound(), b.cumulative_count()))
        .collect();
    assert_eq!(
        buckets,
        [
            (0.005, 1),
            (0.01, 1),
            (0.025, 2),
            (0.05, 2),
            (0.1, 2),
            (0.25, 2),
            (0.5, 3),
            (1.0, 3),
            (2.5, 3),
            (5.0, 3),
            (10.0, 4),
        ],
        "no +Inf bucket"
    );
    assert_eq!((h.sample_count(), h.sample_sum()), (5, 27.823));
    recent(&h.created_timestamp);
}

#[test]
fn empty_registry_writes_nothing() {
    assert!(encode(&Registry::new()).is_empty());
    let registry = Registry::new();
    registry.gauge_vec(("idle", "No series."), &["x"]).unwrap();
    assert!(encode(&registry).is_empty());
}

#[test]
fn reuse_gives_identical_bytes_and_appends() {
    // The edge values too: a family left unclosed must not leak into the
    // next scrape.
    let registry = fixture::registry();
    registry.register_collector(EdgeValues).unwrap();

    let mut enc = ProtobufEncoder::new();
    let mut buf = BytesMut::new();
    enc.encode(&registry, &mut buf);
    let first = buf.clone();
    buf.clear();
    enc.encode(&registry, &mut buf);
    assert_eq!(buf, first);

    // `encode` appends: two scrapes back to back decode as both.
    enc.encode(&registry, &mut buf);
    assert_eq!(&buf[first.len()..], &first[..]);
    let once = decode_delimited(&first).unwrap();
    let twice = decode_delimited(&buf).unwrap();
    assert_eq!(twice.len(), 2 * once.len());
    let names = |f: &[MetricFamily]| f.iter().map(|f| f.name().to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&twice[once.len()..]), names(&once));
}

#[test]
fn families_of_every_length_prefix_size_decode() {
    // 1-, 2- and 3-byte length prefixes: the family body grows with series.
    let registry = Registry::new();
    let family = registry.gauge_vec(("g", "G."), &["id"]).unwrap();
    let mut last_len = 0;
    for n in [1usize, 10, 100, 1_000, 3_000] {
        while family.len() < n {
            let id = family.len().to_string();
            family.with(&[&id], |g| g.set(1)).unwrap();
        }
        let buf = encode(&registry);
        let families = decode_delimited(&buf).unwrap();
        assert_eq!(families.len(), 1);
        assert_eq!(families[0].metric.len(), n);
        assert!(buf.len() > last_len);
        last_len = buf.len();
    }
    assert!(last_len > 16_384 + 3, "a 3-byte prefix was exercised");
}

#[test]
fn gauge_bytes_are_exact() {
    let registry = Registry::new();
    registry.gauge(("up", "")).unwrap().set(0);
    let expected: &[u8] = &[
        0x15, // 21 bytes
        0x0a, 0x02, b'u', b'p', // name
        0x12, 0x00, // empty help, still written
        0x18, 0x01, // GAUGE
        0x22, 0x0b, 0x12, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, // value 0.0, still written
    ];
    assert_eq!(&encode(&registry)[..], expected);
}

mod native {
    use super::*;

    /// One histogram series with `native` buckets, `classic` exemplars on
    /// its buckets (`upper_bounds` empty: native only) and count 7.
    struct Native {
        native: NativeBuckets<'static>,
        classic: &'static [Option<Exemplar>],
    }

    impl Collector for Native {
        fn describe(&self) -> Vec<Described> {
            Vec::new()
        }

        fn collect(&self, out: &mut dyn MetricVisitor) {
            out.begin_family(&FamilyDesc {
                name: "n",
                help: "",
                metric_type: MetricType::Histogram,
                unit: None,
            });
            out.series(
                &[],
                &SeriesValue::Histogram(HistogramValue {
                    upper_bounds: &[],
                    bucket_counts: &[7],
                    count: 7,
                    sum: 2.5,
                    created: None,
                    exemplars: self.classic,
                    native: Some(self.native),
                }),
            );
            out.end_family();
        }
    }

    const EMPTY: NativeBuckets<'static> = NativeBuckets {
        schema: 0,
        zero_threshold: 0.0,
        zero_count: 0,
        positive_spans: &[],
        positive_deltas: &[],
        negative_spans: &[],
        negative_deltas: &[],
        exemplars: &[],
    };

    /// The histogram the encoder writes for `native` with `classic`
    /// bucket exemplars, decoded.
    fn written(native: NativeBuckets<'_>, classic: &[Option<Exemplar>]) -> proto::Histogram {
        let registry = Registry::new();
        // A registered collector is 'static: the test data is leaked (a few
        // bytes per call).
        let native: NativeBuckets<'static> = NativeBuckets {
            positive_spans: Box::leak(native.positive_spans.into()),
            positive_deltas: Box::leak(native.positive_deltas.into()),
            negative_spans: Box::leak(native.negative_spans.into()),
            negative_deltas: Box::leak(native.negative_deltas.into()),
            exemplars: Box::leak(native.exemplars.into()),
            ..native
        };
        let classic: &'static [Option<Exemplar>] = Box::leak(classic.into());
        registry
            .register_collector(Native { native, classic })
            .unwrap();
        let mut families = decode(&registry);
        assert_eq!(families.len(), 1);
        families[0].metric.remove(0).histogram.unwrap()
    }

    #[test]
    fn native_fields_roundtrip() {
        let neg = [BucketSpan {
            offset: i32::MIN,
            length: u32::MAX,
        }];
        let pos = [
            BucketSpan {
                offset: -3,
                length: 2,
            },
            BucketSpan {
                offset: 5,
                length: 1,
            },
        ];
        let decoded = written(
            NativeBuckets {
                schema: -4,
                zero_threshold: 1e-128,
                zero_count: 2,
                negative_spans: &neg,
                negative_deltas: &[i64::MIN, i64::MAX],
                positive_spans: &pos,
                positive_deltas: &[1, -1, 0],
                exemplars: &[],
            },
            &[],
        );
        assert_eq!(decoded.sample_count, Some(7));
        assert_eq!(decoded.sample_sum, Some(2.5));
        assert_eq!(decoded.schema, Some(-4));
        assert_eq!(decoded.zero_threshold, Some(1e-128));
        assert_eq!(decoded.zero_count, Some(2));
        let spans = |s: &[proto::BucketSpan]| -> Vec<(i32, u32)> {
            s.iter()
                .map(|s| (s.offset.unwrap(), s.length.unwrap()))
                .collect()
        };
        assert_eq!(spans(&decoded.negative_span), [(i32::MIN, u32::MAX)]);
        assert_eq!(decoded.negative_delta, [i64::MIN, i64::MAX]);
        assert_eq!(spans(&decoded.positive_span), [(-3, 2), (5, 1)]);
        assert_eq!(decoded.positive_delta, [1, -1, 0]);
        assert!(decoded.bucket.is_empty(), "no exemplar, no +Inf bucket");
    }

    #[test]
    fn empty_native_histogram_carries_a_no_op_span() {
        let decoded = written(EMPTY, &[]);
        assert_eq!(decoded.schema, Some(0));
        assert_eq!(decoded.zero_threshold, Some(0.0));
        assert_eq!(decoded.zero_count, Some(0));
        assert!(decoded.negative_span.is_empty());
        assert_eq!(
            decoded.positive_span,
            [proto::BucketSpan {
                offset: Some(0),
                length: Some(0),
            }]
        );

        // Anything else that marks it native makes the no-op span unnecessary.
        for h in [
            NativeBuckets {
                zero_threshold: 1e-9,
                ..EMPTY
            },
            NativeBuckets {
                zero_count: 1,
                ..EMPTY
            },
            NativeBuckets {
                negative_spans: &[BucketSpan {
                    offset: 0,
                    length: 1,
                }],
                negative_deltas: &[1],
                ..EMPTY
            },
        ] {
            assert!(written(h, &[]).positive_span.is_empty(), "{h:?}");
        }
    }

    fn e(trace: &str, t: Option<f64>) -> Exemplar {
        Exemplar::new(&[("trace_id", trace)], 1.0, t).unwrap()
    }

    fn traces(e: &[proto::Exemplar]) -> Vec<&str> {
        e.iter().map(|e| e.label[0].value()).collect()
    }

    /// The `+Inf` bucket's exemplar trace id, if the bucket is written.
    fn inf_trace(h: &proto::Histogram) -> Option<&str> {
        let inf = h.bucket.iter().find(|b| b.upper_bound() == f64::INFINITY)?;
        assert_eq!(inf.cumulative_count(), 7);
        Some(inf.exemplar.as_ref()?.label[0].value())
    }

    #[test]
    fn field_16_holds_only_timestamped_exemplars() {
        let exemplars = [
            e("a", Some(1.0)),
            e("untimed", None),
            e("year-33658", Some(1e12)),
            e("b", Some(2.0)),
        ];
        let h = written(
            NativeBuckets {
                exemplars: &exemplars,
                ..EMPTY
            },
            &[],
        );
        assert_eq!(traces(&h.exemplars), ["a", "b"]);
        assert!(h.exemplars.iter().all(|e| e.timestamp.is_some()));

        let untimed = [e("untimed", None)];
        let h = written(
            NativeBuckets {
                exemplars: &untimed,
                ..EMPTY
            },
            &[],
        );
        assert!(h.exemplars.is_empty());
        assert!(
            h.bucket.is_empty(),
            "an untimed exemplar is not lent to +Inf"
        );
    }

    #[test]
    fn the_newest_timestamped_native_exemplar_goes_to_inf() {
        let exemplars = [e("old", Some(1.0)), e("new", Some(2.0)), e("untimed", None)];
        let native = NativeBuckets {
            exemplars: &exemplars,
            ..EMPTY
        };
        // No classic exemplars at all, or none on +Inf: the native one.
        assert_eq!(inf_trace(&written(native, &[])), Some("new"));
        assert_eq!(inf_trace(&written(native, &[None])), Some("new"));
        // A classic +Inf exemplar stays.
        let classic = [Some(e("classic", None))];
        assert_eq!(inf_trace(&written(native, &classic)), Some("classic"));
        // The native list is written in full either way.
        assert_eq!(traces(&written(native, &classic).exemplars), ["old", "new"]);
    }
}

fn exemplar_of(e: &proto::Exemplar) -> (Vec<(&str, &str)>, f64, Option<proto::Timestamp>) {
    let labels = e.label.iter().map(|l| (l.name(), l.value())).collect();
    (labels, e.value(), e.timestamp)
}

/// `fixture::exemplars`, decoded: exemplars on counters and classic
/// buckets, native fields, native exemplars and the no-op span.
#[test]
fn exemplars_and_native_histograms_decode() {
    let families = decode(&fixture::exemplars());
    let t = ts(1_700_000_123, 500_000_000);

    let counter = by_name(&families, "jobs_total").metric[0]
        .counter
        .as_ref()
        .unwrap();
    assert_eq!(counter.value, Some(42.0));
    assert_eq!(
        exemplar_of(counter.exemplar.as_ref().unwrap()),
        (
            vec![("trace_id", "4bf92f3577b34da6"), ("note", "say \"hi\"\\\n")],
            3.0,
            t
        )
    );
    assert_eq!(counter.created_timestamp, ts(1_700_000_000, 250_000_000));

    let classic = by_name(&families, "wait_seconds").metric[0]
        .histogram
        .as_ref()
        .unwrap();
    let buckets: Vec<_> = classic
        .bucket
        .iter()
        .map(|b| {
            let e = b.exemplar.as_ref().map(exemplar_of);
            (b.upper_bound(), b.cumulative_count(), e)
        })
        .collect();
    assert_eq!(
        buckets,
        [
            (0.1, 2, Some((vec![("trace_id", "b-0.1")], 0.05, None))),
            (1.0, 2, None),
            (
                f64::INFINITY,
                3,
                Some((vec![("trace_id", "b-inf")], 12.5, t))
            ),
        ],
        "the +Inf bucket is written for its exemplar"
    );
    assert_eq!(classic.schema, None);

    let native = &by_name(&families, "latency_seconds").metric;
    assert_eq!(native.len(), 3);
    for m in &native[..2] {
        let h = m.histogram.as_ref().unwrap();
        assert_eq!((h.sample_count(), h.sample_sum()), (6, 9.3));
        assert_eq!(h.schema, Some(3));
        assert_eq!(h.zero_threshold, Some(2f64.powi(-128)));
        assert_eq!(h.zero_count, Some(1));
        let spans = |s: &[proto::BucketSpan]| -> Vec<(i32, u32)> {
            s.iter().map(|s| (s.offset(), s.length())).collect()
        };
        assert_eq!(spans(&h.positive_span), [(0, 1), (1, 2), (9, 1)]);
        assert_eq!(h.positive_delta, [1, 0, 0, 1]);
        assert!(h.negative_span.is_empty() && h.negative_delta.is_empty());
        let exemplars: Vec<_> = h.exemplars.iter().map(exemplar_of).collect();
        assert_eq!(
            exemplars,
            [
                (
                    vec![("trace_id", "n-1.1")],
                    1.1,
                    ts(1_700_000_122, 500_000_000)
                ),
                (vec![("trace_id", "n-3")], 3.0, t),
            ]
        );
        assert_eq!(h.created_timestamp, ts(1_700_000_000, 250_000_000));
    }
    let buckets = |m: &proto::Metric| -> Vec<_> {
        let h = m.histogram.as_ref().unwrap();
        h.bucket
            .iter()
            .map(|b| {
                let trace = b.exemplar.as_ref().map(|e| e.label[0].value().to_owned());
                (b.upper_bound(), b.cumulative_count(), trace)
            })
            .collect()
    };
    let newest = Some("n-3".to_owned());
    assert_eq!(
        buckets(&native[0]),
        [(f64::INFINITY, 6, newest.clone())],
        "native only: no classic buckets but the +Inf one holding its exemplar"
    );
    assert_eq!(
        buckets(&native[1]),
        [(1.0, 2, None), (f64::INFINITY, 6, newest)],
        "classic and native: both written, +Inf lent the newest native exemplar"
    );

    let empty = native[2].histogram.as_ref().unwrap();
    assert!(empty.bucket.is_empty());
    assert_eq!(empty.schema, Some(3));
    assert_eq!(
        empty.positive_span,
        [proto::BucketSpan {
            offset: Some(0),
            length: Some(0),
        }],
        "the no-op span marks an empty native histogram"
    );
}

/// Emits one gauge per value, labelled with the given label values.
struct Values(Vec<(String, f64)>);

impl Collector for Values {
    fn describe(&self) -> Vec<Described> {
        Vec::new()
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        out.begin_family(&FamilyDesc {
            name: "v",
            help: "",
            metric_type: MetricType::Gauge,
            unit: None,
        });
        for (label, value) in &self.0 {
            out.series(
                &[("l", label.as_str()), ("e", "")],
                &SeriesValue::Gauge(Number::Float(*value)),
            );
        }
        out.end_family();
    }
}

proptest! {
    #[test]
    fn any_label_value_and_float_roundtrips(
        series in proptest::collection::vec((any::<String>(), any::<f64>()), 1..20),
        special in prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0]),
    ) {
        let mut series = series;
        series.push(("\u{0}\"\\\n\u{10ffff}".into(), special));
        let registry = Registry::new();
        registry.register_collector(Values(series.clone())).unwrap();
        let families = decode(&registry);
        prop_assert_eq!(families.len(), 1);
        let got: Vec<_> = families[0]
            .metric
            .iter()
            .map(|m| (labels(m).iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<Vec<_>>(), m.gauge.as_ref().unwrap().value()))
            .collect();
        prop_assert_eq!(got.len(), series.len());
        for ((got_labels, got_value), (label, value)) in got.iter().zip(&series) {
            prop_assert_eq!(got_labels, &vec![("l".to_string(), label.clone()), ("e".to_string(), String::new())]);
            prop_assert_eq!(got_value.to_bits(), value.to_bits());
        }
    }
}
