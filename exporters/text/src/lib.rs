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
//!      wait_seconds_bucket{le=\"1.0\"} 1\n\
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

use bytes::{BufMut, BytesMut};
use hotmetrics_core::{
    FamilyDesc, LabelSet, MetricType, MetricVisitor, Number, Registry, SeriesValue,
};

/// The Content-Type of this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Encodes registries as text 0.0.4. Keep one per scraper: it holds scratch
/// space that makes steady-state scrapes allocation-free.
#[derive(Debug, Default)]
pub struct TextEncoder {
    name: String,
    metric_type: Option<MetricType>,
}

impl TextEncoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the registry's exposition to `out`.
    pub fn encode(&mut self, registry: &Registry, out: &mut BytesMut) {
        registry.visit(&mut Writer { enc: self, out });
    }
}

struct Writer<'a> {
    enc: &'a mut TextEncoder,
    out: &'a mut BytesMut,
}

/// Writes a float the way Prometheus parses it back: `NaN`, `+Inf`, `-Inf`,
/// otherwise the shortest representation that round-trips.
pub fn put_f64(out: &mut BytesMut, v: f64) {
    if v.is_nan() {
        out.put_slice(b"NaN");
    } else if v.is_infinite() {
        out.put_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else {
        out.put_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    }
}

fn put_number(out: &mut BytesMut, n: Number) {
    match n {
        Number::UInt(v) => out.put_slice(itoa::Buffer::new().format(v).as_bytes()),
        Number::Int(v) => out.put_slice(itoa::Buffer::new().format(v).as_bytes()),
        Number::Float(v) => put_f64(out, v),
    }
}

fn put_escaped(out: &mut BytesMut, s: &str, quote: bool) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quote => b"\\\"",
            _ => continue,
        };
        out.put_slice(&s.as_bytes()[start..i]);
        out.put_slice(esc);
        start = i + 1;
    }
    out.put_slice(&s.as_bytes()[start..]);
}

/// The extra label a sample line carries, after the series' own labels.
#[derive(Clone, Copy)]
enum Extra<'a> {
    /// `le="<bound>"` on a histogram bucket.
    Le(f64),
    /// `quantile="<q>"` on a summary quantile.
    Quantile(f64),
    /// `<family>="<state>"` on a state-set sample.
    State(&'a str),
}

impl Writer<'_> {
    /// Writes `<family><suffix>{labels[,extra]} <value>\n`.
    fn sample(
        &mut self,
        suffix: &str,
        labels: &dyn LabelSet,
        extra: Option<Extra<'_>>,
        value: Number,
    ) {
        let out = &mut *self.out;
        let name = self.enc.name.as_bytes();
        out.put_slice(name);
        out.put_slice(suffix.as_bytes());
        let mut first = true;
        let mut open = |out: &mut BytesMut, label: &[u8]| {
            out.put_slice(if first { b"{" } else { b"," });
            first = false;
            out.put_slice(label);
            out.put_slice(b"=\"");
        };
        labels.for_each(&mut |n, v| {
            open(out, n.as_bytes());
            put_escaped(out, v, true);
            out.put_u8(b'"');
        });
        if let Some(extra) = extra {
            match extra {
                Extra::Le(f) => {
                    open(out, b"le");
                    put_f64(out, f);
                }
                Extra::Quantile(f) => {
                    open(out, b"quantile");
                    put_f64(out, f);
                }
                Extra::State(state) => {
                    open(out, name);
                    put_escaped(out, state, true);
                }
            }
            out.put_u8(b'"');
        }
        if !first {
            out.put_u8(b'}');
        }
        out.put_u8(b' ');
        put_number(out, value);
        out.put_u8(b'\n');
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
        self.enc.metric_type = Some(f.metric_type);
        let out = &mut *self.out;
        for (kw, text) in [("# HELP ", Some(f.help)), ("# TYPE ", None)] {
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
        match *value {
            SeriesValue::Counter { value, .. } => self.sample("_total", labels, None, value),
            SeriesValue::Gauge(v) => self.sample("", labels, None, v),
            SeriesValue::Unknown(v) => self.sample("", labels, None, v),
            SeriesValue::Info => self.sample("_info", labels, None, Number::UInt(1)),
            SeriesValue::StateSet(states) => {
                for (state, on) in states {
                    let value = Number::UInt(u64::from(*on));
                    self.sample("", labels, Some(Extra::State(state)), value);
                }
            }
            SeriesValue::Histogram(h) => {
                let mut cumulative = 0u64;
                for (i, count) in h.bucket_counts.iter().enumerate() {
                    cumulative += count;
                    let le = h.upper_bounds.get(i).copied().unwrap_or(f64::INFINITY);
                    self.sample(
                        "_bucket",
                        labels,
                        Some(Extra::Le(le)),
                        Number::UInt(cumulative),
                    );
                }
                self.sample("_sum", labels, None, Number::Float(h.sum));
                self.sample("_count", labels, None, Number::UInt(h.count));
            }
            SeriesValue::Summary(s) => {
                for &(q, v) in s.quantiles {
                    self.sample("", labels, Some(Extra::Quantile(q)), Number::Float(v));
                }
                self.sample("_sum", labels, None, Number::Float(s.sum));
                self.sample("_count", labels, None, Number::UInt(s.count));
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
