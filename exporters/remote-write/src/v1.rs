//! Remote write 1.0: a `prometheus.WriteRequest` with one `TimeSeries`
//! per sample and the `MetricMetadata` of the families in the request.
//!
//! ```text
//! WriteRequest   { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//! TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2; }
//! Label          { string name = 1; string value = 2; }
//! Sample         { double value = 1; int64 timestamp = 2; }
//! MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
//! ```

use crate::flatten::{FamilyInfo, Writer, compress_into, metadata_type};
use crate::labels::LabelBuf;
use crate::wire::{
    double_field_len, len_field_len, put_bytes_field, put_double_field, put_len_prefix,
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

impl Writer for V1Writer {
    fn sample(
        &mut self,
        family: &FamilyInfo,
        labels: &LabelBuf,
        value: f64,
        timestamp_ms: i64,
        _start_ms: Option<i64>,
    ) {
        if self.metadata_of != Some(family.seq) {
            self.metadata_of = Some(family.seq);
            put_metadata(&mut self.metadata, family);
        }
        let label_len = |n: &[u8], v: &[u8]| len_field_len(1, n.len()) + len_field_len(2, v.len());
        let ts = timestamp_ms as u64;
        let sample_len = double_field_len(1) + varint_field_len(2, ts);
        let body: usize = labels
            .iter()
            .map(|(n, v)| len_field_len(1, label_len(n, v)))
            .sum::<usize>()
            + len_field_len(2, sample_len);
        let out = &mut self.series;
        put_len_prefix(out, 1, body);
        for (n, v) in labels.iter() {
            put_len_prefix(out, 1, label_len(n, v));
            put_bytes_field(out, 1, n);
            put_bytes_field(out, 2, v);
        }
        put_len_prefix(out, 2, sample_len);
        put_double_field(out, 1, value);
        put_varint_field(out, 2, ts);
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
