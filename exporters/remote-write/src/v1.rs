//! Remote write 1.0: a `prometheus.WriteRequest` with one `TimeSeries`
//! per sample and the `MetricMetadata` of the families in the request.
//!
//! ```text
//! WriteRequest   { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//! TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2;
//!                  repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
//! Label          { string name = 1; string value = 2; }
//! Sample         { double value = 1; int64 timestamp = 2; }
//! Exemplar       { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
//! MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
//! ```
//!
//! A series holds one float sample or one native histogram (`Histogram`,
//! see `native.rs`), and its exemplars, if any. 1.0 has no start
//! timestamps.

use crate::exemplars::{ExemplarView, Exemplars};
use crate::flatten::{FamilyInfo, Value, Writer, compress_into, metadata_type};
use crate::labels::LabelBuf;
use crate::wire::{
    len_field_len, opt_double_field_len, put_bytes_field, put_len_prefix, put_opt_double_field,
    put_varint_field, varint_field_len,
};
use hotmetrics_export::{EncodeError, Payload};

/// The 1.0 request being written, its buffers reused.
#[derive(Debug, Default)]
pub(crate) struct V1Writer {
    /// The `timeseries` fields.
    series: Vec<u8>,
    /// The `metadata` fields.
    metadata: Vec<u8>,
    /// The whole request before compression.
    raw: Vec<u8>,
    samples: u64,
    /// The family whose metadata was written last.
    metadata_of: Option<u64>,
}

fn label_len(n: &[u8], v: &[u8]) -> usize {
    len_field_len(1, n.len()) + len_field_len(2, v.len())
}

/// Size of the `Label` fields numbered `field` for `labels`.
fn labels_len<'a>(field: u32, labels: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> usize {
    labels
        .map(|(n, v)| len_field_len(field, label_len(n, v)))
        .sum()
}

/// Writes `labels` as `Label` fields numbered `field`.
fn put_labels<'a>(
    out: &mut Vec<u8>,
    field: u32,
    labels: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) {
    for (n, v) in labels {
        put_len_prefix(out, field, label_len(n, v));
        put_bytes_field(out, 1, n);
        put_bytes_field(out, 2, v);
    }
}

fn exemplar_len(e: &ExemplarView<'_>) -> usize {
    labels_len(1, e.labels())
        + opt_double_field_len(2, e.value())
        + varint_field_len(3, e.timestamp_ms() as u64)
}

impl Writer for V1Writer {
    fn sample(
        &mut self,
        family: &FamilyInfo,
        labels: &LabelBuf,
        value: Value<'_>,
        exemplars: &Exemplars,
        timestamp_ms: i64,
        _start_ms: Option<i64>,
    ) {
        if self.metadata_of != Some(family.seq) {
            self.metadata_of = Some(family.seq);
            put_metadata(&mut self.metadata, family);
        }
        let ts = timestamp_ms as u64;
        // The `Sample` (field 2) or the `Histogram` (field 4), sized once.
        let (value_field, value_body) = match value {
            Value::Float(v) => (2, opt_double_field_len(1, v) + varint_field_len(2, ts)),
            Value::Native(h) => (4, h.body_len(timestamp_ms, None)),
        };
        let value_len = len_field_len(value_field, value_body);
        let exemplars_len: usize = exemplars
            .iter()
            .map(|e| len_field_len(3, exemplar_len(&e)))
            .sum();
        let labels_len = labels_len(1, labels.iter());
        // A native histogram's exemplars go in a `TimeSeries` of their own
        // after its histogram's, as Prometheus' own sender writes them:
        // Prometheus (2.42 seen) appends a series' exemplars before its
        // histograms, so with both in one `TimeSeries` the first export of
        // a new native series lost its exemplars ("no series").
        let apart = matches!(value, Value::Native(_)) && exemplars_len > 0;
        let body = labels_len + value_len + if apart { 0 } else { exemplars_len };
        let out = &mut self.series;
        put_len_prefix(out, 1, body);
        put_labels(out, 1, labels.iter());
        match value {
            Value::Float(v) => {
                put_len_prefix(out, 2, value_body);
                put_opt_double_field(out, 1, v);
                put_varint_field(out, 2, ts);
                put_exemplars(out, exemplars);
            }
            Value::Native(h) => {
                put_len_prefix(out, 4, value_body);
                h.put(out, timestamp_ms, None);
                if apart {
                    put_len_prefix(out, 1, labels_len + exemplars_len);
                    put_labels(out, 1, labels.iter());
                    put_exemplars(out, exemplars);
                }
            }
        }
        self.samples += 1;
    }

    fn samples(&self) -> u64 {
        self.samples
    }

    fn finish(
        &mut self,
        out: &mut Payload,
        snappy: &mut snap::raw::Encoder,
    ) -> Result<(), EncodeError> {
        self.raw.clear();
        self.raw.extend_from_slice(&self.series);
        self.raw.extend_from_slice(&self.metadata);
        let done = compress_into(&self.raw, out, snappy);
        out.samples = self.samples;
        self.reset();
        done
    }

    fn reset(&mut self) {
        self.series.clear();
        self.metadata.clear();
        self.samples = 0;
        self.metadata_of = None;
    }
}

/// Writes `exemplars` as a `TimeSeries`' `exemplars` fields (3).
fn put_exemplars(out: &mut Vec<u8>, exemplars: &Exemplars) {
    for e in exemplars.iter() {
        put_len_prefix(out, 3, exemplar_len(&e));
        put_labels(out, 1, e.labels());
        put_opt_double_field(out, 2, e.value());
        put_varint_field(out, 3, e.timestamp_ms() as u64);
    }
}

/// Writes a `metadata` field (3) of a `WriteRequest`.
fn put_metadata(out: &mut Vec<u8>, family: &FamilyInfo) {
    let t = metadata_type(family.metric_type);
    let name = family.metadata_name.as_bytes();
    let help = family.help.as_bytes();
    let unit = family.unit.as_bytes();
    let opt = |field, s: &[u8]| {
        if s.is_empty() {
            0
        } else {
            len_field_len(field, s.len())
        }
    };
    let body = if t == 0 { 0 } else { varint_field_len(1, t) }
        + len_field_len(2, name.len())
        + opt(4, help)
        + opt(5, unit);
    put_len_prefix(out, 3, body);
    if t != 0 {
        put_varint_field(out, 1, t);
    }
    put_bytes_field(out, 2, name);
    if !help.is_empty() {
        put_bytes_field(out, 4, help);
    }
    if !unit.is_empty() {
        put_bytes_field(out, 5, unit);
    }
}
