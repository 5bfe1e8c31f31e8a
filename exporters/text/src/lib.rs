//! Prometheus text exposition format 0.0.4 for a hotmetrics registry,
//! written into a caller-owned [`BytesMut`] that is reused across scrapes.
//!
//! ```
//! use bytes::BytesMut;
//! use hotmetrics_core::{Buckets, Registry};
//! use hotmetrics_text::TextEncoder;
//!
//! let registry = Registry::new();
//! let sent = registry.counter_vec(("sent_total", "Messages sent."), &["queue"]).unwrap();
//! sent.with(&["a\"b"], |c| c.inc_by(3)).unwrap();
//! let wait = registry
//!     .histogram(("wait_seconds", "Time in queue."), Buckets::new(vec![0.5, 1.0]).unwrap())
//!     .unwrap();
//! wait.observe(0.75);
//!
//! let mut buf = BytesMut::new();
//! TextEncoder::new().encode(&registry, &mut buf);
//! assert_eq!(
//!     std::str::from_utf8(&buf).unwrap(),
//!     "# HELP sent_total Messages sent.\n\
//!      ## TYPE sent_total counter\n\
//!      sent_total{queue=\"a\\\"b\"} 3\n\
//!      ## HELP wait_seconds Time in queue.\n\
//!      ## TYPE wait_seconds histogram\n\
//!      wait_seconds_bucket{le=\"0.5\"} 0\n\
//!      wait_seconds_bucket{le=\"1\"} 1\n\
//!      wait_seconds_bucket{le=\"+Inf\"} 1\n\
//!      wait_seconds_sum 0.75\n\
//!      wait_seconds_count 1\n"
//! );
//! ```
//!
//! Rules followed (from the Prometheus exposition docs): HELP escapes `\`
//! and newline; label values escape `\`, `"` and newline; counters are
//! named `<family>_total`; histogram buckets are cumulative and end with
//! `le="+Inf"`, equal to `_count`; `NaN`, `+Inf`, `-Inf` spelled so. Types
//! 0.0.4 lacks are written as gauges: an info family as `<name>_info 1`, a
//! state set as one `<name>{<name>="state"}` sample per state.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod lexical;

use bytes::{BufMut, BytesMut};
use hotmetrics_core::{
    FamilyDesc, LabelSet, MetricType, MetricVisitor, Number, Registry, SeriesValue,
};
use lexical::{
    BoundsText, LabelBlock, put_buckets, put_escaped, put_quantiles, put_sample, put_states,
};

/// The Content-Type of this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Encodes registries as text 0.0.4. Keep one per scraper: it holds scratch
/// space that makes steady-state scrapes allocation-free.
#[derive(Debug, Default)]
pub struct TextEncoder {
    name: String,
    bounds: BoundsText,
    labels: LabelBlock,
}

impl TextEncoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the registry's exposition to `out`; returns the number of
    /// series written.
    pub fn encode(&mut self, registry: &Registry, out: &mut BytesMut) -> usize {
        let mut writer = Writer {
            enc: self,
            out,
            series: 0,
        };
        registry.visit(&mut writer);
        writer.series
    }
}

struct Writer<'a> {
    enc: &'a mut TextEncoder,
    out: &'a mut BytesMut,
    series: usize,
}

impl Writer<'_> {
    /// One line with the current series' labels.
    fn sample(&mut self, suffix: &str, v: Number) {
        put_sample(self.out, &self.enc.name, suffix, &self.enc.labels, None, v);
    }
}

impl MetricVisitor for Writer<'_> {
    fn begin_family(&mut self, f: &FamilyDesc<'_>) {
        let (suffix, type_name) = match f.metric_type {
            MetricType::Counter => ("_total", "counter"),
            MetricType::Gauge | MetricType::StateSet => ("", "gauge"),
            MetricType::Info => ("_info", "gauge"),
            MetricType::Histogram => ("", "histogram"),
            MetricType::Summary => ("", "summary"),
            MetricType::Unknown => ("", "untyped"),
        };
        self.enc.name.clear();
        self.enc.name.push_str(f.name);
        self.enc.bounds.reset();
        let out = &mut *self.out;
        let help = (!f.help.is_empty()).then_some(("# HELP ", Some(f.help)));
        for (kw, text) in help.into_iter().chain([("# TYPE ", None)]) {
            out.put_slice(kw.as_bytes());
            out.put_slice(f.name.as_bytes());
            out.put_slice(suffix.as_bytes());
            out.put_u8(b' ');
            match text {
                Some(help) => put_escaped(out, help, false),
                None => out.put_slice(type_name.as_bytes()),
            }
            out.put_u8(b'\n');
        }
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        self.series += 1;
        self.enc.labels.set(labels);
        match *value {
            SeriesValue::Counter { value, .. } => self.sample("_total", value),
            SeriesValue::Gauge(v) => self.sample("", v),
            SeriesValue::Unknown(v) => self.sample("", v),
            SeriesValue::Info => self.sample("_info", Number::UInt(1)),
            SeriesValue::StateSet(states) => {
                put_states(self.out, &self.enc.name, &self.enc.labels, states);
            }
            SeriesValue::Histogram(h) => {
                let (out, enc) = (&mut *self.out, &mut *self.enc);
                put_buckets(out, &enc.name, &mut enc.labels, &mut enc.bounds, &h, false);
                self.sample("_sum", Number::Float(h.sum));
                self.sample("_count", Number::UInt(h.count));
            }
            SeriesValue::Summary(s) => {
                put_quantiles(
                    self.out,
                    &self.enc.name,
                    &self.enc.labels,
                    s.quantiles,
                    false,
                );
                self.sample("_sum", Number::Float(s.sum));
                self.sample("_count", Number::UInt(s.count));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotmetrics_core::{Collector, Described, SummaryValue};

    /// Emits one family of every collector-only type, with awkward text.
    struct Everything;
    impl Collector for Everything {
        fn describe(&self) -> Vec<Described> {
            Vec::new()
        }
        fn collect(&self, out: &mut dyn MetricVisitor) {
            let fam = |out: &mut dyn MetricVisitor, name, metric_type| {
                out.begin_family(&FamilyDesc {
                    name,
                    help: "a \\ b\n\"c\"",
                    metric_type,
                    unit: None,
                });
            };
            fam(out, "rpc_seconds", MetricType::Summary);
            let quantiles = [(0.5, 0.25), (0.99, f64::INFINITY)];
            out.series(
                &[("m", "get")],
                &SeriesValue::Summary(SummaryValue {
                    quantiles: &quantiles,
                    count: 4,
                    sum: f64::NAN,
                    created: None,
                }),
            );
            out.end_family();
            fam(out, "build", MetricType::Info);
            out.series(&[("version", "1.2\n")], &SeriesValue::Info);
            out.end_family();
            fam(out, "mode", MetricType::StateSet);
            out.series(&[], &SeriesValue::StateSet(&[("on", true), ("off", false)]));
            out.end_family();
            fam(out, "raw", MetricType::Unknown);
            out.series(&[], &SeriesValue::Unknown(Number::Float(f64::NEG_INFINITY)));
            out.end_family();
        }
    }

    #[test]
    fn summary_info_stateset_untyped_and_escapes() {
        let registry = Registry::new();
        registry.register_collector(Everything).unwrap();
        let mut enc = TextEncoder::new();
        let mut buf = BytesMut::new();
        enc.encode(&registry, &mut buf);
        let help = "a \\\\ b\\n\"c\"";
        let expected = format!(
            "# HELP rpc_seconds {help}\n# TYPE rpc_seconds summary\n\
             rpc_seconds{{m=\"get\",quantile=\"0.5\"}} 0.25\n\
             rpc_seconds{{m=\"get\",quantile=\"0.99\"}} +Inf\n\
             rpc_seconds_sum{{m=\"get\"}} NaN\n\
             rpc_seconds_count{{m=\"get\"}} 4\n\
             # HELP build_info {help}\n# TYPE build_info gauge\n\
             build_info{{version=\"1.2\\n\"}} 1\n\
             # HELP mode {help}\n# TYPE mode gauge\n\
             mode{{mode=\"on\"}} 1\nmode{{mode=\"off\"}} 0\n\
             # HELP raw {help}\n# TYPE raw untyped\nraw -Inf\n"
        );
        assert_eq!(std::str::from_utf8(&buf).unwrap(), expected);
        // Reusing the encoder and buffer writes the same bytes.
        buf.clear();
        enc.encode(&registry, &mut buf);
        assert_eq!(std::str::from_utf8(&buf).unwrap(), expected);
    }
}
