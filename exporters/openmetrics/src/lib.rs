//! OpenMetrics 1.0.0 text exposition for a hotmetrics registry, written
//! into a caller-owned [`BytesMut`] that is reused across scrapes.
//!
//! ```
//! use bytes::BytesMut;
//! use hotmetrics_core::{Buckets, Opts, Registry};
//! use hotmetrics_openmetrics::OpenMetricsEncoder;
//!
//! let registry = Registry::new();
//! let sent = registry.counter_vec(("sent_total", "Messages \"sent\"."), &["queue"]).unwrap();
//! sent.with(&["a\"b"], |c| c.inc_by(3)).unwrap();
//! let wait = registry
//!     .histogram(
//!         Opts::new("wait_seconds", "Time in queue.").unit("seconds"),
//!         Buckets::new(vec![0.5, 1.0]).unwrap(),
//!     )
//!     .unwrap();
//! wait.observe(0.75);
//!
//! let mut buf = BytesMut::new();
//! OpenMetricsEncoder::new().encode(&registry, &mut buf);
//! let text = std::str::from_utf8(&buf).unwrap();
//! // Creation times are wall-clock seconds; blank them for the comparison.
//! let stable: Vec<&str> = text
//!     .lines()
//!     .map(|l| if l.contains("_created") { l.split(' ').next().unwrap() } else { l })
//!     .collect();
//! assert_eq!(
//!     stable.join("\n"),
//!     "# HELP sent Messages \\\"sent\\\".\n\
//!      ## TYPE sent counter\n\
//!      sent_total{queue=\"a\\\"b\"} 3\n\
//!      sent_created{queue=\"a\\\"b\"}\n\
//!      ## HELP wait_seconds Time in queue.\n\
//!      ## TYPE wait_seconds histogram\n\
//!      ## UNIT wait_seconds seconds\n\
//!      wait_seconds_bucket{le=\"0.5\"} 0\n\
//!      wait_seconds_bucket{le=\"1.0\"} 1\n\
//!      wait_seconds_bucket{le=\"+Inf\"} 1\n\
//!      wait_seconds_sum 0.75\n\
//!      wait_seconds_count 1\n\
//!      wait_seconds_created\n\
//!      ## EOF"
//! );
//! ```
//!
//! Rules followed (OpenMetrics 1.0.0): metadata per family is `# HELP`
//! (escaping `\`, `"` and newline, as label values do), `# TYPE` and, when
//! the family has a unit, `# UNIT`; a counter family `foo` has samples
//! `foo_total` and `foo_created`; histograms and summaries carry
//! `_created` too (seconds since the epoch, recorded when each series was
//! created); `le` and `quantile` values are canonical (`1.0`, `1e+06`,
//! `+Inf`); info and state-set families keep their own types; untyped
//! families are `unknown`; the exposition ends with `# EOF`. Counter-like
//! values must not be NaN or negative: a histogram with a negative bucket
//! bound, or whose sum is negative or NaN, and a summary whose sum is
//! negative or NaN are written without `_sum` and `_count` (the spec forbids
//! the sum, and a count needs a sum; the `+Inf` bucket still carries the
//! count); a counter a collector reports as negative or NaN is left out.
//! Text 0.0.4 and protobuf carry these values as they are. Families whose
//! suffixed sample names would clash are refused at registration by the
//! core, so the output never holds two families claiming one sample name.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use bytes::{BufMut, BytesMut};
use hotmetrics_core::{
    FamilyDesc, LabelSet, MetricType, MetricVisitor, Number, Registry, SeriesValue,
};
use hotmetrics_text::lexical::{
    BoundsText, LabelBlock, put_buckets, put_escaped, put_quantiles, put_sample, put_states,
};

/// The Content-Type of this format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Encodes registries as OpenMetrics 1.0.0. Keep one per scraper: it holds
/// scratch space that makes steady-state scrapes allocation-free.
#[derive(Debug, Default)]
pub struct OpenMetricsEncoder {
    name: String,
    bounds: BoundsText,
    labels: LabelBlock,
}

impl OpenMetricsEncoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the registry's exposition, `# EOF` included, to `out`;
    /// returns the number of series written.
    pub fn encode(&mut self, registry: &Registry, out: &mut BytesMut) -> usize {
        let mut writer = Writer {
            enc: self,
            out,
            series: 0,
        };
        registry.visit(&mut writer);
        let series = writer.series;
        out.put_slice(b"# EOF\n");
        series
    }
}

/// Whether `v` may be written where OpenMetrics wants a counter-like value
/// (`_total`, and the `_sum` of histograms and summaries): not NaN, not
/// negative.
fn counter_like(v: f64) -> bool {
    v >= 0.0
}

struct Writer<'a> {
    enc: &'a mut OpenMetricsEncoder,
    out: &'a mut BytesMut,
    series: usize,
}

impl Writer<'_> {
    /// One line with the current series' labels.
    fn sample(&mut self, suffix: &str, v: Number) {
        put_sample(self.out, &self.enc.name, suffix, &self.enc.labels, None, v);
    }

    /// `<name>_created` for the series, when its creation time is known.
    fn created(&mut self, created: Option<f64>) {
        if let Some(t) = created.filter(|t| t.is_finite()) {
            self.sample("_created", Number::Float(t));
        }
    }

    fn metadata(&mut self, keyword: &str, text: &str, escape: bool) {
        let out = &mut *self.out;
        out.put_slice(keyword.as_bytes());
        out.put_slice(self.enc.name.as_bytes());
        out.put_u8(b' ');
        if escape {
            put_escaped(out, text, true);
        } else {
            out.put_slice(text.as_bytes());
        }
        out.put_u8(b'\n');
    }
}

impl MetricVisitor for Writer<'_> {
    fn begin_family(&mut self, f: &FamilyDesc<'_>) {
        let type_name = match f.metric_type {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        };
        self.enc.name.clear();
        self.enc.name.push_str(f.name);
        self.enc.bounds.reset();
        if !f.help.is_empty() {
            self.metadata("# HELP ", f.help, true);
        }
        self.metadata("# TYPE ", type_name, false);
        if let Some(unit) = f.unit {
            self.metadata("# UNIT ", unit, false);
        }
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        self.series += 1;
        self.enc.labels.set(labels);
        match *value {
            SeriesValue::Counter { value, created } => {
                if counter_like(value.as_f64()) {
                    self.sample("_total", value);
                    self.created(Some(created));
                }
            }
            SeriesValue::Gauge(v) | SeriesValue::Unknown(v) => self.sample("", v),
            SeriesValue::Info => self.sample("_info", Number::UInt(1)),
            SeriesValue::StateSet(states) => {
                put_states(self.out, &self.enc.name, &self.enc.labels, states);
            }
            SeriesValue::Histogram(h) => {
                let (out, enc) = (&mut *self.out, &mut *self.enc);
                put_buckets(out, &enc.name, &mut enc.labels, &mut enc.bounds, &h, true);
                if counter_like(h.sum) && h.upper_bounds.iter().all(|&b| b >= 0.0) {
                    self.sample("_sum", Number::Float(h.sum));
                    self.sample("_count", Number::UInt(h.count));
                }
                self.created(h.created);
            }
            SeriesValue::Summary(s) => {
                put_quantiles(
                    self.out,
                    &self.enc.name,
                    &self.enc.labels,
                    s.quantiles,
                    true,
                );
                if counter_like(s.sum) {
                    self.sample("_sum", Number::Float(s.sum));
                    self.sample("_count", Number::UInt(s.count));
                }
                self.created(s.created);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotmetrics_core::{Collector, Described, HistogramValue, SummaryValue};

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
            let help = "a \\ b\n\"c\"";
            fam(out, "rpc_seconds", MetricType::Summary, help);
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
                }),
            );
            out.end_family();
        }
    }

    #[test]
    fn summary_info_stateset_unknown_and_escapes() {
        let registry = Registry::new();
        registry.register_collector(Everything).unwrap();
        let mut enc = OpenMetricsEncoder::new();
        let mut buf = BytesMut::new();
        enc.encode(&registry, &mut buf);
        let expected = "# HELP rpc_seconds a \\\\ b\\n\\\"c\\\"\n# TYPE rpc_seconds summary\n\
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
             # EOF\n";
        assert_eq!(std::str::from_utf8(&buf).unwrap(), expected);
        // Reusing the encoder and buffer writes the same bytes.
        buf.clear();
        enc.encode(&registry, &mut buf);
        assert_eq!(std::str::from_utf8(&buf).unwrap(), expected);
    }

    #[test]
    fn empty_registry_is_just_eof() {
        let mut buf = BytesMut::new();
        OpenMetricsEncoder::new().encode(&Registry::new(), &mut buf);
        assert_eq!(&buf[..], b"# EOF\n");
    }
}
