//! The legacy Prometheus protobuf exposition for a hotmetrics registry:
//! `io.prometheus.client.MetricFamily` messages, each preceded by its length
//! as a varint, appended to a caller-owned [`BytesMut`] that is reused
//! across scrapes. The messages are written straight from the field numbers
//! of client_model `metrics.proto`; no code generator, no protobuf runtime.
//!
//! ```
//! use bytes::BytesMut;
//! use hotmetrics_core::Registry;
//! use hotmetrics_protobuf::ProtobufEncoder;
//!
//! let registry = Registry::new();
//! registry.gauge(("up", "Up.")).unwrap().set(1);
//!
//! let mut buf = BytesMut::new();
//! ProtobufEncoder::new().encode(&registry, &mut buf);
//! assert_eq!(
//!     &buf[..],
//!     &[
//!         0x18, // the MetricFamily below is 24 bytes long
//!         0x0a, 0x02, b'u', b'p', // name (1) "up"
//!         0x12, 0x03, b'U', b'p', b'.', // help (2) "Up."
//!         0x18, 0x01, // type (3) GAUGE
//!         0x22, 0x0b, // metric (4), 11 bytes: no labels,
//!         0x12, 0x09, // gauge (2), 9 bytes:
//!         0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // value (1) 1.0, little-endian double
//!     ][..]
//! );
//! ```
//!
//! # Mapping
//! The same as the text 0.0.4 encoder's, so a registry reads the same in
//! every format:
//!
//! | hotmetrics | MetricFamily |
//! |---|---|
//! | counter `x` | COUNTER `x_total`; value as a double, its exemplar, `created_timestamp` |
//! | gauge | GAUGE |
//! | unknown | UNTYPED |
//! | histogram | HISTOGRAM: `sample_count`, `sample_sum`, one bucket per finite bound with its cumulative count and exemplar (no `+Inf` bucket: readers derive it from `sample_count`, as for the Go client's output; unless the `+Inf` bucket has an exemplar, then it comes last, as Go writes it), `created_timestamp` |
//! | native histogram | the same message with `schema`, `zero_threshold`, `zero_count`, spans and deltas (the no-op span when nothing else marks it native), its timestamped exemplars (field 16), the newest also on the `+Inf` bucket when no classic exemplar is there; classic buckets too when it has classic bounds |
//! | summary | SUMMARY: quantiles, `sample_count`, `sample_sum`, `created_timestamp` |
//! | info `x` | GAUGE `x_info`, value 1 |
//! | state set `x` | GAUGE `x`, one metric per state labelled `x="<state>"` (after the series' labels), value 1 or 0 |
//!
//! Names that are not legacy-valid (a
//! [`NameValidation::Utf8`](hotmetrics_core::NameValidation::Utf8)
//! registry's) are written as they are under
//! [`Escaping::AllowUtf8`] and
//! escaped otherwise, underscores by default
//! ([`set_escaping`](ProtobufEncoder::set_escaping)); the family name is
//! escaped with its suffix (`my.jobs_total` → `my_jobs_total`).
//!
//! Every family carries `help` and `type` (proto2 presence), and `unit` when
//! it has one. Label pairs come in declared order. Creation times become
//! `google.protobuf.Timestamp`s (seconds rounded down, nanoseconds rounded
//! to nearest); a creation time that is NaN, infinite or outside years
//! 1–9999 is left out.
//!
//! **Families without series are left out.** The text encoder writes their
//! `HELP` and `TYPE`, but a `MetricFamily` without metrics carries no
//! sample: the Go client drops such families when gathering and Prometheus'
//! protobuf parser skips them, so writing them would only cost bytes.
//!
//! Exemplars carry their labels, value and timestamp (a
//! `google.protobuf.Timestamp`, left out when unknown). A native
//! histogram's exemplars go to its exemplar list (field 16), which
//! `metrics.proto` requires to be timestamped, so only the timestamped ones
//! are written there. Debian's `metrics.proto` (client_model 0.3.0)
//! predates field 16, and Prometheus reads it only from 2.51 on
//! (prometheus#13488); older readers take a native histogram's exemplars
//! from its buckets, so when the classic exemplars give the `+Inf` bucket
//! none, it gets the newest timestamped native exemplar, as client_golang
//! does (a native-only histogram then has just that bucket).
//!
//! A native histogram in the exposition: schema 3 (`2^(1/8)` growth),
//! observations 1.0 and 3.0 in buckets 0 and 13:
//! ```
//! use bytes::BytesMut;
//! use hotmetrics_core::{
//!     BucketSpan, Collector, Described, FamilyDesc, HistogramValue, MetricType, MetricVisitor,
//!     NativeBuckets, Registry, SeriesValue,
//! };
//! use hotmetrics_protobuf::ProtobufEncoder;
//!
//! struct Native;
//! impl Collector for Native {
//!     fn describe(&self) -> Vec<Described> {
//!         vec![Described::new("x", MetricType::Histogram)]
//!     }
//!     fn collect(&self, out: &mut dyn MetricVisitor) {
//!         out.begin_family(&FamilyDesc { name: "x", help: "", metric_type: MetricType::Histogram, unit: None });
//!         let spans = [BucketSpan { offset: 0, length: 1 }, BucketSpan { offset: 12, length: 1 }];
//!         let native = NativeBuckets {
//!             schema: 3,
//!             zero_threshold: 0.0,
//!             zero_count: 0,
//!             positive_spans: &spans,
//!             positive_deltas: &[1, 0],
//!             negative_spans: &[],
//!             negative_deltas: &[],
//!             exemplars: &[],
//!         };
//!         let h = HistogramValue {
//!             upper_bounds: &[], // native only
//!             bucket_counts: &[2],
//!             count: 2,
//!             sum: 4.0,
//!             created: None,
//!             exemplars: &[],
//!             native: Some(native),
//!         };
//!         out.series(&[], &SeriesValue::Histogram(h));
//!         out.end_family();
//!     }
//! }
//! let registry = Registry::new();
//! registry.register_collector(Native).unwrap();
//! let mut buf = BytesMut::new();
//! ProtobufEncoder::new().encode(&registry, &mut buf);
//! assert_eq!(
//!     &buf[..],
//!     &[
//!         0x33, // the MetricFamily is 51 bytes long
//!         0x0a, 0x01, b'x', 0x12, 0x00, 0x18, 0x04, // name "x", help "", HISTOGRAM
//!         0x22, 0x2a, 0x3a, 0x28, // metric (4), histogram (7), 40 bytes:
//!         0x08, 0x02, // sample_count 2
//!         0x11, 0, 0, 0, 0, 0, 0, 0x10, 0x40, // sample_sum 4.0
//!         0x28, 0x06, // schema 3 (zigzag)
//!         0x31, 0, 0, 0, 0, 0, 0, 0, 0, // zero_threshold 0.0
//!         0x38, 0x00, // zero_count 0
//!         0x62, 0x04, 0x08, 0x00, 0x10, 0x01, // positive_span {offset 0, length 1}
//!         0x62, 0x04, 0x08, 0x18, 0x10, 0x01, // positive_span {offset 12, length 1}
//!         0x68, 0x02, 0x68, 0x00, // positive_delta 1, 0 (zigzag)
//!     ][..]
//! );
//! ```
//!
//! # Allocation
//! A steady-state scrape (same series, new values, the same encoder and a
//! cleared buffer) allocates nothing: every length is computed before its
//! message is written, except each family's, whose prefix is patched in
//! place once the family is complete.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod message;
mod native;
mod wire;

use bytes::BytesMut;
use hotmetrics_core::{
    Encoder, Escaping, FamilyDesc, LabelSet, MetricSource, MetricType, MetricVisitor, SeriesValue,
};

use message::{
    Counter, Histogram, Metric, MetricValue, Summary, Timestamp, Value, encode_label_pairs,
    put_message_field,
};
use wire::{Delimited, begin_delimited, end_delimited, put_bytes_field, put_varint_field};

/// The Content-Type of this format.
pub const CONTENT_TYPE: &str = ProtobufEncoder::CONTENT_TYPE;

/// `MetricFamily` field numbers.
mod family_field {
    pub(crate) const NAME: u32 = 1;
    pub(crate) const HELP: u32 = 2;
    pub(crate) const TYPE: u32 = 3;
    pub(crate) const METRIC: u32 = 4;
    pub(crate) const UNIT: u32 = 5;
}

/// The `MetricType` enum value of a type's [classic](MetricType::classic)
/// form (info and state sets are gauges).
fn wire_type(t: MetricType) -> u64 {
    match t.classic() {
        MetricType::Counter => 0,
        // `classic()` gives info and state sets as gauges; the arm keeps
        // the match exhaustive.
        MetricType::Gauge | MetricType::Info | MetricType::StateSet => 1,
        MetricType::Summary => 2,
        MetricType::Unknown => 3,
        MetricType::Histogram => 4,
    }
}

/// Encodes registries as length-delimited `MetricFamily` messages. Keep one
/// per scraper: it holds scratch space that makes steady-state scrapes
/// allocation-free.
#[derive(Debug, Default)]
pub struct ProtobufEncoder {
    /// How names that are not legacy-valid are written.
    escaping: Escaping,
    /// Scratch for escaped names.
    scratch: String,
    /// The current family's name with its suffix, before escaping.
    unescaped: String,
    /// A state set's extra label: the family's name (no suffix) as a label
    /// name, escaped.
    name: String,
    /// The current family's unit, written after its metrics when
    /// `has_unit` (kept as a `String` so its capacity is reused).
    unit: String,
    /// Whether the current family has a unit.
    has_unit: bool,
    /// The family being written, if any.
    open: Option<OpenFamily>,
    /// The current series' label pairs, encoded once.
    labels: BytesMut,
    /// Each family's length-prefix size in the last scrape, by position:
    /// the guess that lets the prefix be written in place.
    prefix_sizes: Vec<usize>,
}

/// A family whose length prefix is still to be written.
#[derive(Debug)]
struct OpenFamily {
    /// Its length prefix, still to be written.
    prefix: Delimited,
    /// Its position in the scrape.
    index: usize,
    /// Metrics written so far.
    metrics: usize,
}

impl ProtobufEncoder {
    /// The Content-Type of this format.
    pub const CONTENT_TYPE: &'static str = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

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

    /// Writes names as `escaping` says from the next encode on.
    pub fn set_escaping(&mut self, escaping: Escaping) {
        self.escaping = escaping;
    }

    /// How names that are not legacy-valid are written.
    pub fn escaping(&self) -> Escaping {
        self.escaping
    }

    /// Appends the exposition of `source` (a
    /// [`Registry`](hotmetrics_core::Registry)) to `out`; returns the
    /// number of series written.
    pub fn encode(&mut self, source: &dyn MetricSource, out: &mut BytesMut) -> usize {
        self.open = None;
        let mut writer = Writer {
            enc: self,
            out,
            series: 0,
            families: 0,
        };
        source.visit(&mut writer);
        // A collector that forgot its last `end_family` still gets it.
        writer.end_family();
        writer.series
    }
}

impl Encoder for ProtobufEncoder {
    fn content_type(&self) -> &'static str {
        Self::CONTENT_TYPE
    }

    fn encode(&mut self, source: &dyn MetricSource, out: &mut BytesMut) -> usize {
        ProtobufEncoder::encode(self, source, out)
    }
}

struct Writer<'a> {
    enc: &'a mut ProtobufEncoder,
    out: &'a mut BytesMut,
    series: usize,
    /// Families begun so far.
    families: usize,
}

impl Writer<'_> {
    /// Writes one `Metric` of the open family (none open: dropped).
    fn metric(&mut self, value: MetricValue<'_>) {
        if let Some(open) = &mut self.enc.open {
            let metric = Metric {
                labels: &self.enc.labels,
                extra: None,
                value,
            };
            put_message_field(self.out, family_field::METRIC, &metric);
            open.metrics += 1;
        }
    }
}

impl MetricVisitor for Writer<'_> {
    fn begin_family(&mut self, f: &FamilyDesc<'_>) {
        self.end_family();
        let suffix = f.metric_type.value_suffix();
        let enc = &mut *self.enc;
        enc.name.clear();
        enc.name
            .push_str(enc.escaping.label_name(f.name, &mut enc.scratch));
        enc.unit.clear();
        enc.unit.push_str(f.unit.unwrap_or_default());
        enc.has_unit = f.unit.is_some();
        let out = &mut *self.out;
        let index = self.families;
        self.families += 1;
        let guess = enc.prefix_sizes.get(index).copied().unwrap_or(2);
        let prefix = begin_delimited(out, guess);
        enc.unescaped.clear();
        enc.unescaped.push_str(f.name);
        enc.unescaped.push_str(suffix);
        let name = enc.escaping.metric_name(&enc.unescaped, &mut enc.scratch);
        put_bytes_field(out, family_field::NAME, name.as_bytes());
        put_bytes_field(out, family_field::HELP, f.help.as_bytes());
        put_varint_field(out, family_field::TYPE, wire_type(f.metric_type));
        enc.open = Some(OpenFamily {
            prefix,
            index,
            metrics: 0,
        });
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        self.series += 1;
        let enc = &mut *self.enc;
        encode_label_pairs(&mut enc.labels, labels, enc.escaping, &mut enc.scratch);
        let created = Timestamp::from_unix_seconds;
        match value {
            SeriesValue::Counter {
                value,
                created: t,
                exemplar,
            } => {
                let counter = Counter {
                    value: value.as_f64(),
                    exemplar: *exemplar,
                    created: created(*t),
                };
                self.metric(MetricValue::Counter(counter));
            }
            SeriesValue::Gauge(v) => self.metric(MetricValue::Gauge(Value(v.as_f64()))),
            SeriesValue::Unknown(v) => {
                self.metric(MetricValue::Untyped(Value(v.as_f64())));
            }
            SeriesValue::Info => self.metric(MetricValue::Gauge(Value(1.0))),
            SeriesValue::Histogram(h) => {
                let histogram = Histogram::new(h, h.created.and_then(created));
                self.metric(MetricValue::Histogram(histogram));
            }
            SeriesValue::Summary(s) => {
                let summary = Summary {
                    value: s,
                    created: s.created.and_then(created),
                };
                self.metric(MetricValue::Summary(summary));
            }
            SeriesValue::StateSet(states) => {
                let Some(open) = &mut self.enc.open else {
                    return;
                };
                for &(state, on) in *states {
                    let metric = Metric {
                        labels: &self.enc.labels,
                        extra: Some((&self.enc.name, state)),
                        value: MetricValue::Gauge(Value(if on { 1.0 } else { 0.0 })),
                    };
                    put_message_field(self.out, family_field::METRIC, &metric);
                    open.metrics += 1;
                }
            }
        }
    }

    fn end_family(&mut self) {
        let Some(open) = self.enc.open.take() else {
            return;
        };
        if open.metrics == 0 {
            self.out.truncate(open.prefix.start());
            return;
        }
        if self.enc.has_unit {
            put_bytes_field(self.out, family_field::UNIT, self.enc.unit.as_bytes());
        }
        let size = end_delimited(self.out, open.prefix);
        let sizes = &mut self.enc.prefix_sizes;
        if sizes.len() <= open.index {
            sizes.resize(open.index + 1, 2);
        }
        sizes[open.index] = size;
    }
}
