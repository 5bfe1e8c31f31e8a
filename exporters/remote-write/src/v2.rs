//! Remote write 2.0: an `io.prometheus.write.v2.Request`, its strings in
//! one symbol table, one `TimeSeries` per sample with its metadata and,
//! for counters, histograms and summaries, the series' start (created)
//! timestamp.
//!
//! ```text
//! Request    { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
//! TimeSeries { repeated uint32 labels_refs = 1 [packed]; repeated Sample samples = 2;
//!              repeated Histogram histograms = 3; repeated Exemplar exemplars = 4; Metadata metadata = 5; }
//! Sample     { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3; }
//! Exemplar   { repeated uint32 labels_refs = 1 [packed]; double value = 2; int64 timestamp = 3; }
//! Metadata   { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }
//! ```
//!
//! A series holds one float sample or one native histogram (`Histogram`,
//! see `native.rs`, its start timestamp in field 17), and its exemplars,
//! if any, their labels interned in the same table (an exemplar without
//! labels leaves its `labels_refs` out).

use crate::exemplars::Exemplars;
use crate::flatten::{FamilyInfo, Value, Writer, compress_into, metadata_type};
use crate::labels::LabelBuf;
use crate::symbols::Symbols;
use crate::wire::{
    len_field_len, opt_double_field_len, packed_field_len, packed_len, put_bytes_field,
    put_len_prefix, put_opt_double_field, put_packed_field, put_varint_field, varint_field_len,
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
    /// The label refs of its exemplars, one after the other.
    exemplar_refs: Vec<u32>,
    /// Where each exemplar's refs end in `exemplar_refs`.
    exemplar_ends: Vec<usize>,
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
            exemplar_refs: Vec::new(),
            exemplar_ends: Vec::new(),
            samples: 0,
        }
    }
}

/// Label refs, for a packed field 1 (left out when there are none).
fn refs(refs: &[u32]) -> impl Iterator<Item = u64> + '_ {
    refs.iter().map(|&r| u64::from(r))
}

/// Size of an `Exemplar`'s body: its refs (`refs_len` bytes of them),
/// value and timestamp.
fn exemplar_len(refs_len: usize, value: f64, timestamp_ms: i64) -> usize {
    packed_field_len(1, refs_len)
        + opt_double_field_len(2, value)
        + varint_field_len(3, timestamp_ms as u64)
}

impl Writer for V2Writer {
    fn sample(
        &mut self,
        family: &FamilyInfo,
        labels: &LabelBuf,
        value: Value<'_>,
        exemplars: &Exemplars,
        timestamp_ms: i64,
        start_ms: Option<i64>,
    ) {
        self.refs.clear();
        for (n, v) in labels.iter() {
            let n = self.symbols.intern(n);
            let v = self.symbols.intern(v);
            self.refs.extend([n, v]);
        }
        self.exemplar_refs.clear();
        self.exemplar_ends.clear();
        for e in exemplars.iter() {
            for (n, v) in e.labels() {
                let n = self.symbols.intern(n);
                let v = self.symbols.intern(v);
                self.exemplar_refs.extend([n, v]);
            }
            self.exemplar_ends.push(self.exemplar_refs.len());
        }
        let t = metadata_type(family.metric_type);
        let help = u64::from(self.symbols.intern(family.help.as_bytes()));
        let unit = u64::from(self.symbols.intern(family.unit.as_bytes()));
        let ts = timestamp_ms as u64;
        let start = start_ms.filter(|&s| s != 0);
        // The `Sample` (field 2) or the `Histogram` (field 3), sized once.
        let (value_field, value_body) = match value {
            Value::Float(v) => {
                let start_len = start.map_or(0, |s| varint_field_len(3, s as u64));
                (
                    2,
                    opt_double_field_len(1, v) + varint_field_len(2, ts) + start_len,
                )
            }
            Value::Native(h) => (3, h.body_len(timestamp_ms, start)),
        };
        let value_len = len_field_len(value_field, value_body);
        let exemplar_refs = |i: usize| {
            let from = if i == 0 { 0 } else { self.exemplar_ends[i - 1] };
            &self.exemplar_refs[from..self.exemplar_ends[i]]
        };
        let exemplars_len: usize = exemplars
            .iter()
            .enumerate()
            .map(|(i, e)| {
                len_field_len(
                    4,
                    exemplar_len(
                        packed_len(refs(exemplar_refs(i))),
                        e.value(),
                        e.timestamp_ms(),
                    ),
                )
            })
            .sum();
        let opt = |field, v: u64| {
            if v == 0 {
                0
            } else {
                varint_field_len(field, v)
            }
        };
        let metadata_len = opt(1, t) + opt(3, help) + opt(4, unit);
        let refs_len = packed_len(refs(&self.refs));
        let body = packed_field_len(1, refs_len)
            + value_len
            + exemplars_len
            + len_field_len(5, metadata_len);
        let out = &mut self.series;
        put_len_prefix(out, 5, body);
        put_packed_field(out, 1, refs_len, refs(&self.refs));
        match value {
            Value::Float(v) => {
                put_len_prefix(out, 2, value_body);
                put_opt_double_field(out, 1, v);
                put_varint_field(out, 2, ts);
                if let Some(s) = start {
                    put_varint_field(out, 3, s as u64);
                }
            }
            Value::Native(h) => {
                put_len_prefix(out, 3, value_body);
                h.put(out, timestamp_ms, start);
            }
        }
        for (i, e) in exemplars.iter().enumerate() {
            let labels_refs = exemplar_refs(i);
            let refs_len = packed_len(refs(labels_refs));
            put_len_prefix(out, 4, exemplar_len(refs_len, e.value(), e.timestamp_ms()));
            put_packed_field(out, 1, refs_len, refs(labels_refs));
            put_opt_double_field(out, 2, e.value());
            put_varint_field(out, 3, e.timestamp_ms() as u64);
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
