//! The registry every format test encodes: every metric type and the bits
//! that tend to go wrong (escaping, special floats, canonical bucket bounds,
//! empty families, units, constant labels, info and state sets both as
//! metrics and from a collector, collector-only types), with
//! creation times pinned so its encodings can be compared byte for byte.
//!
//! Names follow `promtool check metrics`' lint (counters end in `_total`,
//! base units, HELP on every family), so the text output must pass it clean.

use bytes::BytesMut;
use hotmetrics::{
    Buckets, Collector, Described, FamilyDesc, HistogramValue, LabelSet, MetricType, MetricVisitor,
    Number, Opts, Registry, SeriesValue, StateSet, States, SummaryValue,
};

/// The creation time every series of [`registry`] reports (seconds since the
/// Unix epoch), instead of the wall-clock time the core records.
pub const CREATED: f64 = 1_700_000_000.25;

/// Help text with a backslash, a newline and double quotes: text 0.0.4
/// escapes the first two, OpenMetrics all three.
pub const TRICKY_HELP: &str =
    "Messages handled per queue; a queue name may hold \\, \"quotes\"\nand more lines.";

/// Label values that need escaping or are not ASCII.
pub const TRICKY_VALUES: [&str; 6] = [
    "orders",
    "back\\slash",
    "say \"hi\"",
    "two\nlines",
    "zürich-東京-🦀",
    "",
];

/// The fixture registry, its creation times pinned to [`CREATED`].
///
/// It exposes a live registry (prefix `shop`, constant label
/// `region="eu-west"`) through a second registry whose only collector
/// re-visits the live one and rewrites every creation time.
pub fn registry() -> Registry {
    pinned(live())
}

/// `inner` seen through a registry that rewrites every creation time
/// (counters', histograms', summaries') to [`CREATED`].
pub fn pinned(inner: Registry) -> Registry {
    pinned_in(Registry::new(), inner)
}

/// [`pinned`], seen through `outer` (a UTF-8 registry for a UTF-8 `inner`,
/// whose names a legacy one would drop).
pub fn pinned_in(outer: Registry, inner: Registry) -> Registry {
    outer
        .register_collector(PinnedCreated { inner })
        .expect("the pinned view registers");
    outer
}

/// The live fixture registry, wall-clock creation times and all.
pub fn live() -> Registry {
    let r = Registry::builder()
        .prefix("shop")
        .const_label("region", "eu-west")
        .build()
        .expect("valid prefix and labels");

    let orders = r
        .counter(Opts::new("orders_total", "Orders placed.").const_label("shard", "7"))
        .expect("orders");
    orders.inc_by(42);

    let messages = r
        .counter_vec(("messages_total", TRICKY_HELP), &["queue"])
        .expect("messages");
    for (i, queue) in TRICKY_VALUES.iter().enumerate() {
        messages
            .with(&[queue], |c| c.inc_by(i as u64 + 1))
            .expect("series");
    }

    let busy = r
        .counter_f64(Opts::new("busy_seconds_total", "Time spent busy.").unit("seconds"))
        .expect("busy");
    busy.inc_by(0.1).expect("finite");
    busy.inc_by(0.2).expect("finite"); // 0.30000000000000004: shortest round trip

    let delta = r
        .gauge_vec(
            (
                "inventory_delta",
                "Items gained or lost since the last audit.",
            ),
            &["warehouse"],
        )
        .expect("delta");
    delta.with(&["north"], |g| g.set(-17)).expect("series");
    delta.with(&["south"], |g| g.set(i64::MIN)).expect("series");

    let ratio = r
        .gauge_f64_vec(
            ("signal_ratio", "Signal over noise, specials included."),
            &["probe"],
        )
        .expect("ratio");
    for (probe, v) in [
        ("nan", f64::NAN),
        ("pos_inf", f64::INFINITY),
        ("neg_inf", f64::NEG_INFINITY),
        ("third", 1.0 / 3.0),
        ("tiny", 5e-324),
        ("huge", f64::MAX),
        ("neg_zero", -0.0),
    ] {
        ratio.with(&[probe], |g| g.set(v)).expect("series");
    }

    let duration = r
        .histogram(
            Opts::new("request_duration_seconds", "Time to answer a request.").unit("seconds"),
            Buckets::default(),
        )
        .expect("duration");
    for v in [0.003, 0.02, 0.3, 7.5, 20.0] {
        duration.observe(v);
    }

    let batch = r
        .histogram_vec(
            ("batch_duration_seconds", "Time to run one batch stage."),
            Buckets::new(vec![0.00001, 0.25, 1.0, 1_000_000.0]).expect("valid bounds"),
            &["stage"],
        )
        .expect("batch");
    for (stage, v) in [
        ("parse", 0.000001),
        ("parse", 0.125),
        ("parse", 5000.0),
        ("load", 2_000_000.0),
        ("load", 0.5),
    ] {
        batch.with(&[stage], |h| h.observe(v)).expect("series");
    }

    r.counter_vec(("refunds_total", "Refunds issued (none yet)."), &["reason"])
        .expect("refunds");

    r.info(
        ("release_info", "The running release."),
        &[("version", "2.0.1"), ("channel", "say \"hi\"\nback\\slash")],
    )
    .expect("release");

    let components = r
        .info_vec(("component", "Versions of the parts."), &["part"])
        .expect("components");
    for (part, version) in [("db", "15.4"), ("cache", "zürich-東京-🦀")] {
        components
            .with(&[part], |i| i.set(&[("version", version)]))
            .expect("series")
            .expect("info labels");
    }

    let workers = r
        .state_set_vec(
            ("worker_state", "Where each worker is."),
            &["idle", "busy", "draining"],
            &["worker"],
        )
        .expect("workers");
    workers
        .with(&["w1"], |w| w.set("busy"))
        .expect("series")
        .expect("state");
    workers.with(&["w2"], |_| ()).expect("series"); // starts idle

    let features = r
        .metric::<StateSet>(
            ("features", "Feature flags."),
            States::flags(&["tls", "gzip", "two\nlines"]).expect("states"),
        )
        .expect("features");
    features.set_state("gzip", true).expect("state");
    features.set_state("two\nlines", true).expect("state");

    r.register_collector(Computed).expect("collector");
    r
}

/// Families only a collector can produce: a summary, an info, a state set
/// and an untyped value.
struct Computed;

impl Collector for Computed {
    fn describe(&self) -> Vec<Described> {
        vec![
            Described::new("rpc_duration_seconds", MetricType::Summary),
            Described::new("build", MetricType::Info),
            Described::new("cache_mode", MetricType::StateSet),
            Described::new("legacy_score", MetricType::Unknown),
        ]
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        out.begin_family(&FamilyDesc {
            name: "rpc_duration_seconds",
            help: "Time to serve an RPC.",
            metric_type: MetricType::Summary,
            unit: Some("seconds"),
        });
        out.series(
            &[("method", "get")],
            &SeriesValue::Summary(SummaryValue {
                quantiles: &[(0.5, 0.012), (0.9, 0.05), (0.99, 0.25)],
                count: 1000,
                sum: 17.5,
                created: Some(1.0),
            }),
        );
        let nan = f64::NAN;
        out.series(
            &[("method", "put")],
            &SeriesValue::Summary(SummaryValue {
                quantiles: &[(0.5, nan), (0.9, nan), (0.99, nan)],
                count: 0,
                sum: 0.0,
                created: Some(1.0),
            }),
        );
        out.end_family();

        out.begin_family(&FamilyDesc {
            name: "build",
            help: "Build information.",
            metric_type: MetricType::Info,
            unit: None,
        });
        out.series(
            &[
                ("version", "1.4.0-rc.1"),
                ("revision", "a1b2c3 \"dirty\" \\"),
            ],
            &SeriesValue::Info,
        );
        out.end_family();

        out.begin_family(&FamilyDesc {
            name: "cache_mode",
            help: "The cache's write mode.",
            metric_type: MetricType::StateSet,
            unit: None,
        });
        out.series(
            &[],
            &SeriesValue::StateSet(&[
                ("write_back", true),
                ("write_through", false),
                ("off", false),
            ]),
        );
        out.end_family();

        out.begin_family(&FamilyDesc {
            name: "legacy_score",
            help: "A score imported without a type.",
            metric_type: MetricType::Unknown,
            unit: None,
        });
        out.series(
            &[("source", "import")],
            &SeriesValue::Unknown(Number::Float(2.5)),
        );
        out.series(
            &[("source", "manual")],
            &SeriesValue::Unknown(Number::Int(-3)),
        );
        out.end_family();
    }
}

/// Re-visits `inner` with every creation time set to [`CREATED`].
struct PinnedCreated {
    inner: Registry,
}

impl Collector for PinnedCreated {
    fn describe(&self) -> Vec<Described> {
        struct Names(Vec<Described>);
        impl MetricVisitor for Names {
            fn begin_family(&mut self, f: &FamilyDesc<'_>) {
                self.0.push(Described::new(f.name, f.metric_type));
            }
            fn series(&mut self, _: &dyn LabelSet, _: &SeriesValue<'_>) {}
        }
        let mut names = Names(Vec::new());
        self.inner.visit(&mut names);
        names.0
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        self.inner.visit(&mut Pin { out });
    }
}

struct Pin<'a> {
    out: &'a mut dyn MetricVisitor,
}

impl MetricVisitor for Pin<'_> {
    fn begin_family(&mut self, family: &FamilyDesc<'_>) {
        self.out.begin_family(family);
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        let pinned = match *value {
            SeriesValue::Counter {
                value, exemplar, ..
            } => SeriesValue::Counter {
                value,
                created: CREATED,
                exemplar,
            },
            SeriesValue::Histogram(h) => SeriesValue::Histogram(HistogramValue {
                created: h.created.map(|_| CREATED),
                ..h
            }),
            SeriesValue::Summary(s) => SeriesValue::Summary(SummaryValue {
                created: s.created.map(|_| CREATED),
                ..s
            }),
            other => other,
        };
        self.out.series(labels, &pinned);
    }

    fn end_family(&mut self) {
        self.out.end_family();
    }
}

/// `registry` in Prometheus text 0.0.4.
pub fn encode_text(registry: &Registry) -> Vec<u8> {
    let mut buf = BytesMut::new();
    hotmetrics::text::TextEncoder::new().encode(registry, &mut buf);
    buf.to_vec()
}

/// `registry` in OpenMetrics 1.0.0.
pub fn encode_openmetrics(registry: &Registry) -> Vec<u8> {
    let mut buf = BytesMut::new();
    hotmetrics::openmetrics::OpenMetricsEncoder::new().encode(registry, &mut buf);
    buf.to_vec()
}

/// `registry` as length-delimited protobuf `MetricFamily` messages.
pub fn encode_protobuf(registry: &Registry) -> Vec<u8> {
    let mut buf = BytesMut::new();
    hotmetrics::protobuf::ProtobufEncoder::new().encode(registry, &mut buf);
    buf.to_vec()
}

/// The exemplar timestamp [`exemplars`] records: a millisecond fraction,
/// which every format must carry exactly.
pub const EXEMPLAR_TIME: f64 = 1_700_000_123.5;

/// A registry of exemplars and native histograms with fixed values, so
/// their encodings can be compared byte for byte: a counter with an
/// exemplar (escaped label value), one without, a classic histogram with
/// exemplars on a finite bucket (no timestamp) and on `+Inf`, a native-only
/// histogram (schema 3, its exemplars natively and its latest on `+Inf` as
/// a classic exemplar too, which OpenMetrics writes), a classic+native one
/// without classic exemplars (the protobuf encoder lends its `+Inf` bucket
/// the newest native exemplar), and an empty native one (the no-op span).
pub fn exemplars() -> Registry {
    let r = Registry::new();
    r.register_collector(FixedExemplars)
        .expect("the exemplar collector registers");
    r
}

/// The collector behind [`exemplars`].
struct FixedExemplars;

/// The exemplar `trace_id=<trace>` with `value` at `time`.
fn exemplar(trace: &str, value: f64, time: Option<f64>) -> hotmetrics::Exemplar {
    hotmetrics::Exemplar::new(&[("trace_id", trace)], value, time).expect("a valid exemplar")
}

impl Collector for FixedExemplars {
    fn describe(&self) -> Vec<Described> {
        vec![
            Described::new("jobs", MetricType::Counter),
            Described::new("wait_seconds", MetricType::Histogram),
            Described::new("latency_seconds", MetricType::Histogram),
        ]
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        out.begin_family(&FamilyDesc {
            name: "jobs",
            help: "Jobs run.",
            metric_type: MetricType::Counter,
            unit: None,
        });
        let traced = hotmetrics::Exemplar::new(
            &[("trace_id", "4bf92f3577b34da6"), ("note", "say \"hi\"\\\n")],
            3.0,
            Some(EXEMPLAR_TIME),
        )
        .expect("a valid exemplar");
        out.series(
            &[("queue", "a")],
            &SeriesValue::Counter {
                value: Number::UInt(42),
                created: CREATED,
                exemplar: Some(&traced),
            },
        );
        out.series(
            &[("queue", "b")],
            &SeriesValue::Counter {
                value: Number::UInt(1),
                created: CREATED,
                exemplar: None,
            },
        );
        out.end_family();

        out.begin_family(&FamilyDesc {
            name: "wait_seconds",
            help: "Time in queue.",
            metric_type: MetricType::Histogram,
            unit: Some("seconds"),
        });
        let classic = [
            Some(exemplar("b-0.1", 0.05, None)),
            None,
            Some(exemplar("b-inf", 12.5, Some(EXEMPLAR_TIME))),
        ];
        out.series(
            &[],
            &SeriesValue::Histogram(HistogramValue {
                upper_bounds: &[0.1, 1.0],
                bucket_counts: &[2, 0, 1],
                count: 3,
                sum: 12.625,
                created: Some(CREATED),
                exemplars: &classic,
                native: None,
            }),
        );
        out.end_family();

        out.begin_family(&FamilyDesc {
            name: "latency_seconds",
            help: "Time to answer, native.",
            metric_type: MetricType::Histogram,
            unit: Some("seconds"),
        });
        // Observations 0 (zero bucket), 1.0 (key 0), 1.1 (key 2), 1.2 (key
        // 3) and 3.0 twice (key 13) at schema 3.
        let spans = [
            hotmetrics::BucketSpan {
                offset: 0,
                length: 1,
            },
            hotmetrics::BucketSpan {
                offset: 1,
                length: 2,
            },
            hotmetrics::BucketSpan {
                offset: 9,
                length: 1,
            },
        ];
        let native_exemplars = [
            exemplar("n-1.1", 1.1, Some(EXEMPLAR_TIME - 1.0)),
            exemplar("n-3", 3.0, Some(EXEMPLAR_TIME)),
        ];
        let latest = [Some(exemplar("n-3", 3.0, Some(EXEMPLAR_TIME)))];
        let native = hotmetrics::NativeBuckets {
            schema: 3,
            zero_threshold: 2f64.powi(-128),
            zero_count: 1,
            positive_spans: &spans,
            positive_deltas: &[1, 0, 0, 1],
            negative_spans: &[],
            negative_deltas: &[],
            exemplars: &native_exemplars,
        };
        for (kind, upper_bounds, bucket_counts, exemplars) in [
            ("native", &[][..], &[6u64][..], &latest[..]),
            ("both", &[1.0][..], &[2, 4][..], &[][..]),
        ] {
            out.series(
                &[("kind", kind)],
                &SeriesValue::Histogram(HistogramValue {
                    upper_bounds,
                    bucket_counts,
                    count: 6,
                    sum: 9.3,
                    created: Some(CREATED),
                    exemplars,
                    native: Some(native),
                }),
            );
        }
        out.series(
            &[("kind", "empty")],
            &SeriesValue::Histogram(HistogramValue {
                upper_bounds: &[],
                bucket_counts: &[0],
                count: 0,
                sum: 0.0,
                created: Some(CREATED),
                exemplars: &[],
                native: Some(hotmetrics::NativeBuckets {
                    schema: 3,
                    zero_threshold: 0.0,
                    zero_count: 0,
                    positive_spans: &[],
                    positive_deltas: &[],
                    negative_spans: &[],
                    negative_deltas: &[],
                    exemplars: &[],
                }),
            }),
        );
        out.end_family();
    }
}
