//! Remote write 2.0: an `io.prometheus.write.v2.Request`, its strings in
//! one symbol table, one `TimeSeries` per sample with its metadata and,
//! for counters, histograms and summaries, the series' start (created)
//! timestamp.
//!
//! ```text
//! Request    { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
//! TimeSeries { repeated uint32 labels_refs = 1 [packed]; repeated Sample samples = 2; Metadata metadata = 5; }
//! Sample     { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3; }
//! Metadata   { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }
//! ```

use crate::flatten::{FamilyInfo, Writer, compress_into, metadata_type};
use crate::labels::LabelBuf;
use crate::symbols::Symbols;
use crate::wire::{
    double_field_len, len_field_len, put_bytes_field, put_double_field, put_len_prefix, put_varint,
    put_varint_field, varint_field_len, varint_len,
};
use hotmetrics_export::{EncodeError, Payload};

/// The 2.0 request being written, its buffers reused.
#[derive(Debug)]
pub(crate) struct V2Writer {
    symbols: Symbols,
    /// The `timeseries` fields.
    series: Vec<u8>,
    /// The whole request before compression.
    raw: Vec<u8>,
    /// The label refs of the sample being written.
    refs: Vec<u32>,
    samples: u64,
}

impl Default for V2Writer {
    fn default() -> Self {
        let mut symbols = Symbols::default();
        symbols.clear();
        Self {
            symbols,
            series: Vec::new(),
            raw: Vec::new(),
            refs: Vec::new(),
            samples: 0,
        }
    }
}

impl Writer for V2Writer {
    fn sample(
        &mut self,
        family: &FamilyInfo,
        labels: &LabelBuf,
        value: f64,
        timestamp_ms: i64,
        start_ms: Option<i64>,
    ) {
        self.refs.clear();
        for (n, v) in labels.iter() {
            let n = self.symbols.intern(n);
            let v = self.symbols.intern(v);
            self.refs.extend([n, v]);
        }
        let t = metadata_type(family.metric_type);
        let help = u64::from(self.symbols.intern(family.help.as_bytes()));
        let unit = u64::from(self.symbols.intern(family.unit.as_bytes()));
        let refs_len: usize = self.refs.iter().map(|&r| varint_len(u64::from(r))).sum();
        let ts = timestamp_ms as u64;
        let start = start_ms.filter(|&s| s != 0).map(|s| s as u64);
        let sample_len = double_field_len(1)
            + varint_field_len(2, ts)
            + start.map_or(0, |s| varint_field_len(3, s));
        let opt = |field, v: u64| {
            if v == 0 {
                0
            } else {
                varint_field_len(field, v)
            }
        };
        let metadata_len = opt(1, t) + opt(3, help) + opt(4, unit);
        let body = len_field_len(1, refs_len)
            + len_field_len(2, sample_len)
            + len_field_len(5, metadata_len);
        let out = &mut self.series;
        put_len_prefix(out, 5, body);
        put_len_prefix(out, 1, refs_len);
        for &r in &self.refs {
            put_varint(out, u64::from(r));
        }
        put_len_prefix(out, 2, sample_len);
        put_double_field(out, 1, value);
        put_varint_field(out, 2, ts);
        if let Some(s) = start {
            put_varint_field(out, 3, s);
        }
        put_len_prefix(out, 5, metadata_len);
        for (field, v) in [(1, t), (3, help), (4, unit)] {
            if v != 0 {
                put_varint_field(out, field, v);
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
        for s in self.symbols.iter() {
            put_bytes_field(&mut self.raw, 4, s);
        }
        self.raw.extend_from_slice(&self.series);
        let done = compress_into(&self.raw, out, snappy);
        out.samples = self.samples;
        self.reset();
        done
    }

    fn reset(&mut self) {
        // Clearing the table costs a pass over its slots: skipped when it
        // holds nothing but `""` (after `finish`, nearly always).
        if self.samples == 0 && self.series.is_empty() && self.symbols.iter().nth(1).is_none() {
            return;
        }
        self.symbols.clear();
        self.series.clear();
        self.samples = 0;
    }
}
