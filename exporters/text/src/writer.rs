//! The one text writer, generic over its [`Dialect`].

use std::marker::PhantomData;

use bytes::{BufMut, BytesMut};
use hotmetrics_core::{
    Encoder, Escaping, Exemplar, FamilyDesc, LabelSet, MetricSource, MetricType, MetricVisitor,
    Number, SeriesValue, is_legacy_metric_name,
};

use crate::dialect::Dialect;
use crate::lexical::{
    BoundsText, FamilyName, LabelBlock, NamePieces, put_buckets, put_escaped, put_label_name,
    put_quantiles, put_sample, put_single, put_states,
};

/// Encodes registries in the text dialect `D`; use it as [`TextEncoder`]
/// (text 0.0.4) or [`OpenMetricsEncoder`] (OpenMetrics 1.0.0). Keep one per
/// scraper: it holds scratch space that makes steady-state scrapes
/// allocation-free.
///
/// Names that are not legacy-valid (a
/// [`NameValidation::Utf8`](hotmetrics_core::NameValidation::Utf8)
/// registry's) are written as its [`Escaping`] says, underscores unless
/// told otherwise ([`set_escaping`](Self::set_escaping)); legacy names are
/// written the same in every scheme. See the crate docs for examples.
///
/// [`TextEncoder`]: crate::TextEncoder
/// [`OpenMetricsEncoder`]: crate::OpenMetricsEncoder
#[derive(Debug)]
pub struct DialectEncoder<D: Dialect> {
    escaping: Escaping,
    /// The current family's name as its lines write it.
    family: FamilyName,
    /// A state set's name as a label name, as its lines write it.
    state_label: Vec<u8>,
    /// Scratch for escaped names.
    scratch: String,
    /// Scratch for the family's name before escaping.
    unescaped: String,
    bounds: BoundsText,
    labels: LabelBlock,
    /// The current family's label names, spelled once.
    names: NamePieces,
    dialect: PhantomData<D>,
}

impl<D: Dialect> Default for DialectEncoder<D> {
    fn default() -> Self {
        Self {
            escaping: Escaping::default(),
            family: FamilyName::default(),
            state_label: Vec::new(),
            scratch: String::new(),
            unescaped: String::new(),
            bounds: BoundsText::default(),
            labels: LabelBlock::default(),
            names: NamePieces::default(),
            dialect: PhantomData,
        }
    }
}

impl<D: Dialect> DialectEncoder<D> {
    /// The `Content-Type` of this dialect.
    pub const CONTENT_TYPE: &'static str = D::CONTENT_TYPE;

    /// A new encoder, escaping names with [`Escaping::Underscores`] (what
    /// prometheus/common does for a scrape that names no scheme).
    pub fn new() -> Self {
        Self::default()
    }

    /// This encoder, writing names as `escaping` says.
    pub fn with_escaping(mut self, escaping: Escaping) -> Self {
        self.escaping = escaping;
        self
    }

    /// Writes names as `escaping` says from the next encode on (a server
    /// sets the scheme each scrape negotiated).
    pub fn set_escaping(&mut self, escaping: Escaping) {
        self.escaping = escaping;
    }

    /// How names that are not legacy-valid are written.
    pub fn escaping(&self) -> Escaping {
        self.escaping
    }

    /// Appends the exposition of `source` (a
    /// [`Registry`](hotmetrics_core::Registry)) to `out`, with the
    /// dialect's end marker (OpenMetrics' `# EOF`); returns the number of
    /// series written.
    pub fn encode(&mut self, source: &dyn MetricSource, out: &mut BytesMut) -> usize {
        let mut writer = Writer::<D> {
            enc: self,
            out,
            series: 0,
        };
        source.visit(&mut writer);
        let series = writer.series;
        out.put_slice(D::END);
        series
    }
}

impl<D: Dialect> Encoder for DialectEncoder<D> {
    fn content_type(&self) -> &'static str {
        D::CONTENT_TYPE
    }

    fn encode(&mut self, source: &dyn MetricSource, out: &mut BytesMut) -> usize {
        DialectEncoder::encode(self, source, out)
    }
}

struct Writer<'a, D: Dialect> {
    enc: &'a mut DialectEncoder<D>,
    out: &'a mut BytesMut,
    series: usize,
}

impl<D: Dialect> Writer<'_, D> {
    /// One line with the current series' labels.
    fn sample(&mut self, suffix: &str, v: Number) {
        self.sample_with(suffix, v, None);
    }

    /// One line with the current series' labels and `exemplar`, when the
    /// dialect writes exemplars.
    fn sample_with(&mut self, suffix: &str, v: Number, exemplar: Option<&Exemplar>) {
        put_sample(
            self.out,
            &self.enc.family,
            suffix,
            &self.enc.labels,
            None,
            v,
            exemplar.filter(|_| D::EXEMPLARS),
        );
    }

    /// The suffix of a single-valued series' sample after the family name
    /// as the metadata lines write it: `_total` in OpenMetrics, nothing in
    /// text 0.0.4 (whose family name already ends in it).
    fn value_suffix(t: MetricType) -> &'static str {
        let suffix = t.value_suffix();
        suffix.strip_prefix(D::metadata_suffix(t)).unwrap_or(suffix)
    }

    /// `<name>_created` for the series, when the dialect writes it and the
    /// creation time is known.
    fn created(&mut self, created: Option<f64>) {
        if let Some(t) = created.filter(|t| D::CREATED && t.is_finite()) {
            self.sample("_created", Number::Float(t));
        }
    }

    /// `_sum` and `_count`, when the dialect allows the sum.
    fn sum_and_count(&mut self, sum: f64, count: u64, allowed: bool) {
        if allowed && D::counter_like(sum) {
            self.sample("_sum", Number::Float(sum));
            self.sample("_count", Number::UInt(count));
        }
    }

    /// `<keyword><name> <text>\n`.
    fn metadata(&mut self, keyword: &str, text: &str, escape: bool) {
        let out = &mut *self.out;
        out.put_slice(keyword.as_bytes());
        self.enc.family.put(out);
        out.put_u8(b' ');
        if escape {
            put_escaped(out, text, D::HELP_QUOTES);
        } else {
            out.put_slice(text.as_bytes());
        }
        out.put_u8(b'\n');
    }
}

impl<D: Dialect> MetricVisitor for Writer<'_, D> {
    fn begin_family(&mut self, f: &FamilyDesc<'_>) {
        let enc = &mut *self.enc;
        // The family's name with its value suffix (`_total`, `_info`) is
        // what gets escaped, as prometheus/common escapes a MetricFamily's
        // name in every format, so a series has one name whichever format
        // a scrape negotiates (`a.b` counts as `a_dot_b__total` under
        // `dots`). The metadata lines write that less the suffix the
        // dialect appends to samples (OpenMetrics' `_total` and `_info`:
        // `# TYPE a_dot_b_ counter`, as Go writes it); other sample
        // suffixes go after the escaped name.
        enc.unescaped.clear();
        enc.unescaped.push_str(f.name);
        enc.unescaped.push_str(f.metric_type.value_suffix());
        let full = enc.escaping.metric_name(&enc.unescaped, &mut enc.scratch);
        let name = full
            .strip_suffix(Self::value_suffix(f.metric_type))
            .unwrap_or(full);
        enc.family.quoted = enc.escaping == Escaping::AllowUtf8 && !is_legacy_metric_name(name);
        enc.family.text.clear();
        enc.family.text.push_str(name);
        enc.state_label.clear();
        if f.metric_type == MetricType::StateSet {
            put_label_name(&mut enc.state_label, f.name, enc.escaping, &mut enc.scratch);
        }
        enc.bounds.reset();
        enc.names.reset();
        if !f.help.is_empty() {
            self.metadata("# HELP ", f.help, true);
        }
        self.metadata("# TYPE ", D::type_name(f.metric_type), false);
        if let Some(unit) = f.unit.filter(|_| D::UNIT_LINE) {
            self.metadata("# UNIT ", unit, false);
        }
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        self.series += 1;
        // A series of one line writes its labels straight into the output.
        let single = match *value {
            SeriesValue::Counter {
                value, exemplar, ..
            } if !D::CREATED => D::counter_like(value.as_f64())
                .then(|| (Self::value_suffix(MetricType::Counter), value, exemplar)),
            SeriesValue::Gauge(v) | SeriesValue::Unknown(v) => Some(("", v, None)),
            SeriesValue::Info => {
                Some((Self::value_suffix(MetricType::Info), Number::UInt(1), None))
            }
            _ => None,
        };
        let enc = &mut *self.enc;
        if let Some((suffix, value, exemplar)) = single {
            let exemplar = exemplar.filter(|_| D::EXEMPLARS);
            let (name, escaping) = (&enc.family, enc.escaping);
            let (names, scratch) = (&mut enc.names, &mut enc.scratch);
            put_single(
                self.out, name, suffix, labels, names, escaping, scratch, value, exemplar,
            );
            return;
        }
        let (names, scratch) = (&mut enc.names, &mut enc.scratch);
        enc.labels.set(labels, names, enc.escaping, scratch);
        match *value {
            SeriesValue::Counter {
                value,
                created,
                exemplar,
            } => {
                if D::counter_like(value.as_f64()) {
                    self.sample_with(Self::value_suffix(MetricType::Counter), value, exemplar);
                    self.created(Some(created));
                }
            }
            SeriesValue::Gauge(v) | SeriesValue::Unknown(v) => self.sample("", v),
            SeriesValue::Info => {
                self.sample(Self::value_suffix(MetricType::Info), Number::UInt(1));
            }
            SeriesValue::StateSet(states) => {
                let enc = &*self.enc;
                put_states(self.out, &enc.family, &enc.state_label, &enc.labels, states);
            }
            SeriesValue::Histogram(h) => {
                let (out, enc) = (&mut *self.out, &mut *self.enc);
                put_buckets(
                    out,
                    &enc.family,
                    &mut enc.labels,
                    &mut enc.bounds,
                    &h,
                    D::BOUNDS,
                    if D::EXEMPLARS { h.exemplars } else { &[] },
                );
                let bounds_ok = h.upper_bounds.iter().all(|&b| D::counter_like(b));
                self.sum_and_count(h.sum, h.count, bounds_ok);
                self.created(h.created);
            }
            SeriesValue::Summary(s) => {
                let (out, enc) = (&mut *self.out, &*self.enc);
                put_quantiles(out, &enc.family, &enc.labels, s.quantiles, D::BOUNDS);
                self.sum_and_count(s.sum, s.count, true);
                self.created(s.created);
            }
        }
    }

    /// Text 0.0.4 and OpenMetrics have no native-histogram form: only the
    /// classic buckets, count and sum are written, so the scrape skips the
    /// native merge.
    fn wants_native(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use hotmetrics_core::{
        BucketSpan, Buckets, Collector, Described, Exemplar, FamilyDesc, HistogramValue,
        MetricType, MetricVisitor, NativeBuckets, Number, Registry, SeriesValue, SummaryValue,
    };

    use crate::{OpenMetricsEncoder, TextEncoder};

    /// Emits one family of every collector-only type, with awkward text.
    struct Everything;
    impl Collector for Everything {
        fn describe(&self) -> Vec<Described> {
            Vec::new()
        }
        fn collect(&self, out: &mut dyn MetricVisitor) {
            let fam = |out: &mut dyn MetricVisitor, name, metric_type, help| {
                out.begin_family(&FamilyDesc {
                    name,
                    help,
                    metric_type,
                    unit: None,
                });
            };
            fam(out, "rpc_seconds", MetricType::Summary, "a \\ b\n\"c\"");
            let quantiles = [(0.5, 0.25), (1.0, f64::INFINITY)];
            out.series(
                &[("m", "get")],
                &SeriesValue::Summary(SummaryValue {
                    quantiles: &quantiles,
                    count: 4,
                    sum: f64::NAN,
                    created: Some(1.5),
                }),
            );
            out.end_family();
            fam(out, "build", MetricType::Info, "");
            out.series(&[("version", "1.2\n")], &SeriesValue::Info);
            out.end_family();
            fam(out, "mode", MetricType::StateSet, "m");
            out.series(&[], &SeriesValue::StateSet(&[("on", true), ("off", false)]));
            out.end_family();
            fam(out, "raw", MetricType::Unknown, "r");
            out.series(&[], &SeriesValue::Unknown(Number::Float(f64::NEG_INFINITY)));
            out.end_family();
            fam(out, "big", MetricType::Histogram, "b");
            out.series(
                &[],
                &SeriesValue::Histogram(HistogramValue {
                    upper_bounds: &[1e-5, 1e6],
                    bucket_counts: &[1, 0, 2],
                    count: 3,
                    sum: 2e6,
                    created: None,
                    exemplars: &[],
                    native: None,
                }),
            );
            out.end_family();
        }
    }

    /// Encodes the collector twice with one encoder and one buffer: both
    /// scrapes must write `expected`.
    fn check(encode: &mut dyn FnMut(&Registry, &mut BytesMut) -> usize, expected: &str) {
        let registry = Registry::new();
        registry.register_collector(Everything).unwrap();
        let mut buf = BytesMut::new();
        for _ in 0..2 {
            buf.clear();
            assert_eq!(encode(&registry, &mut buf), 5);
            assert_eq!(std::str::from_utf8(&buf).unwrap(), expected);
        }
    }

    #[test]
    fn text_summary_info_stateset_untyped_and_escapes() {
        let mut enc = TextEncoder::new();
        check(
            &mut |r, b| enc.encode(r, b),
            "# HELP rpc_seconds a \\\\ b\\n\"c\"\n# TYPE rpc_seconds summary\n\
             rpc_seconds{m=\"get\",quantile=\"0.5\"} 0.25\n\
             rpc_seconds{m=\"get\",quantile=\"1\"} +Inf\n\
             rpc_seconds_sum{m=\"get\"} NaN\n\
             rpc_seconds_count{m=\"get\"} 4\n\
             # TYPE build_info gauge\n\
             build_info{version=\"1.2\\n\"} 1\n\
             # HELP mode m\n# TYPE mode gauge\n\
             mode{mode=\"on\"} 1\nmode{mode=\"off\"} 0\n\
             # HELP raw r\n# TYPE raw untyped\nraw -Inf\n\
             # HELP big b\n# TYPE big histogram\n\
             big_bucket{le=\"1e-05\"} 1\n\
             big_bucket{le=\"1e+06\"} 1\n\
             big_bucket{le=\"+Inf\"} 3\n\
             big_sum 2000000.0\n\
             big_count 3\n",
        );
    }

    #[test]
    fn openmetrics_summary_info_stateset_unknown_and_escapes() {
        let mut enc = OpenMetricsEncoder::new();
        check(
            &mut |r, b| enc.encode(r, b),
            "# HELP rpc_seconds a \\\\ b\\n\\\"c\\\"\n# TYPE rpc_seconds summary\n\
             rpc_seconds{m=\"get\",quantile=\"0.5\"} 0.25\n\
             rpc_seconds{m=\"get\",quantile=\"1.0\"} +Inf\n\
             rpc_seconds_created{m=\"get\"} 1.5\n\
             # TYPE build info\n\
             build_info{version=\"1.2\\n\"} 1\n\
             # HELP mode m\n# TYPE mode stateset\n\
             mode{mode=\"on\"} 1\nmode{mode=\"off\"} 0\n\
             # HELP raw r\n# TYPE raw unknown\nraw -Inf\n\
             # HELP big b\n# TYPE big histogram\n\
             big_bucket{le=\"1e-05\"} 1\n\
             big_bucket{le=\"1e+06\"} 1\n\
             big_bucket{le=\"+Inf\"} 3\n\
             big_sum 2000000.0\n\
             big_count 3\n\
             # EOF\n",
        );
    }

    #[test]
    fn every_sample_name_is_one_the_type_table_lists() {
        let families = [
            ("rpc_seconds", MetricType::Summary),
            ("build", MetricType::Info),
            ("mode", MetricType::StateSet),
            ("raw", MetricType::Unknown),
            ("big", MetricType::Histogram),
            ("jobs", MetricType::Counter),
            ("lat", MetricType::Histogram),
        ];
        let registry = Registry::new();
        registry.register_collector(Everything).unwrap();
        registry.counter(("jobs", "Jobs.")).unwrap().inc();
        let lat = registry.histogram(("lat", "Latency."), Buckets::default());
        lat.unwrap().observe(0.1);
        let mut buf = BytesMut::new();
        TextEncoder::new().encode(&registry, &mut buf);
        OpenMetricsEncoder::new().encode(&registry, &mut buf);
        let text = std::str::from_utf8(&buf).unwrap();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let listed = families.iter().any(|(family, t)| {
                t.sample_suffixes()
                    .iter()
                    .any(|suffix| name == format!("{family}{suffix}"))
            });
            assert!(listed, "{line}");
        }
    }

    /// A counter and histograms with exemplars: an escaped label value, no
    /// timestamp, an empty label set, the `+Inf` bucket's, and a native-only
    /// histogram whose native exemplars text has no place for.
    struct WithExemplars;
    impl Collector for WithExemplars {
        fn describe(&self) -> Vec<Described> {
            Vec::new()
        }
        fn collect(&self, out: &mut dyn MetricVisitor) {
            let e = |labels: &[(&str, &str)], v, t| Exemplar::new(labels, v, t).unwrap();
            let fam = |out: &mut dyn MetricVisitor, name, metric_type| {
                out.begin_family(&FamilyDesc {
                    name,
                    help: "",
                    metric_type,
                    unit: None,
                });
            };
            fam(out, "jobs", MetricType::Counter);
            let traced = e(&[("trace_id", "a\"b\\c\n")], 2.0, Some(1_700_000_000.125));
            out.series(
                &[("q", "x")],
                &SeriesValue::Counter {
                    value: Number::UInt(5),
                    created: 1.5,
                    exemplar: Some(&traced),
                },
            );
            out.end_family();
            fam(out, "lat", MetricType::Histogram);
            let exemplars = [
                Some(e(&[("trace_id", "t1"), ("span", "s")], 0.25, None)),
                None,
                Some(e(&[], f64::INFINITY, Some(2.0))),
            ];
            out.series(
                &[],
                &SeriesValue::Histogram(HistogramValue {
                    upper_bounds: &[0.5, 1.0],
                    bucket_counts: &[1, 0, 1],
                    count: 2,
                    sum: 3.0,
                    created: None,
                    exemplars: &exemplars,
                    native: None,
                }),
            );
            out.end_family();
            fam(out, "native", MetricType::Histogram);
            let native_exemplars = [e(&[("trace_id", "n")], 4.0, Some(3.0))];
            out.series(
                &[],
                &SeriesValue::Histogram(HistogramValue {
                    upper_bounds: &[],
                    bucket_counts: &[3],
                    count: 3,
                    sum: 12.0, // 4.0 three times: bucket 16 at schema 3 is (2^(15/8), 4]
                    created: None,
                    exemplars: &[],
                    native: Some(NativeBuckets {
                        schema: 3,
                        zero_threshold: 0.0,
                        zero_count: 0,
                        positive_spans: &[BucketSpan {
                            offset: 16,
                            length: 1,
                        }],
                        positive_deltas: &[3],
                        negative_spans: &[],
                        negative_deltas: &[],
                        exemplars: &native_exemplars,
                    }),
                }),
            );
            out.end_family();
        }
    }

    fn encode_exemplars(encode: &mut dyn FnMut(&Registry, &mut BytesMut) -> usize) -> String {
        let registry = Registry::new();
        registry.register_collector(WithExemplars).unwrap();
        let mut buf = BytesMut::new();
        encode(&registry, &mut buf);
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[test]
    fn openmetrics_writes_exemplars_on_totals_and_buckets() {
        let mut enc = OpenMetricsEncoder::new();
        assert_eq!(
            encode_exemplars(&mut |r, b| enc.encode(r, b)),
            "# TYPE jobs counter\n\
             jobs_total{q=\"x\"} 5 # {trace_id=\"a\\\"b\\\\c\\n\"} 2.0 1700000000.125\n\
             jobs_created{q=\"x\"} 1.5\n\
             # TYPE lat histogram\n\
             lat_bucket{le=\"0.5\"} 1 # {trace_id=\"t1\",span=\"s\"} 0.25\n\
             lat_bucket{le=\"1.0\"} 1\n\
             lat_bucket{le=\"+Inf\"} 2 # {} +Inf 2.0\n\
             lat_sum 3.0\n\
             lat_count 2\n\
             # TYPE native histogram\n\
             native_bucket{le=\"+Inf\"} 3\n\
             native_sum 12.0\n\
             native_count 3\n\
             # EOF\n",
        );
    }

    #[test]
    fn text_writes_no_exemplars() {
        let mut enc = TextEncoder::new();
        assert_eq!(
            encode_exemplars(&mut |r, b| enc.encode(r, b)),
            "# TYPE jobs_total counter\n\
             jobs_total{q=\"x\"} 5\n\
             # TYPE lat histogram\n\
             lat_bucket{le=\"0.5\"} 1\n\
             lat_bucket{le=\"1\"} 1\n\
             lat_bucket{le=\"+Inf\"} 2\n\
             lat_sum 3.0\n\
             lat_count 2\n\
             # TYPE native histogram\n\
             native_bucket{le=\"+Inf\"} 3\n\
             native_sum 12.0\n\
             native_count 3\n",
        );
    }

    #[test]
    fn empty_registry() {
        let mut buf = BytesMut::new();
        OpenMetricsEncoder::new().encode(&Registry::new(), &mut buf);
        assert_eq!(&buf[..], b"# EOF\n");
        buf.clear();
        TextEncoder::new().encode(&Registry::new(), &mut buf);
        assert_eq!(&buf[..], b"");
    }
}
