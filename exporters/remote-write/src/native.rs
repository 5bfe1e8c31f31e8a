//! A native histogram as remote write sends it: the `Histogram` message,
//! numbered alike in 1.0 (`prometheus.Histogram`) and 2.0
//! (`io.prometheus.write.v2.Histogram`) up to field 15; 2.0 adds
//! `start_timestamp` (17).
//!
//! ```text
//! Histogram  { uint64 count_int = 1; double sum = 3; sint32 schema = 4; double zero_threshold = 5;
//!              uint64 zero_count_int = 6; repeated BucketSpan negative_spans = 8;
//!              repeated sint64 negative_deltas = 9 [packed]; repeated BucketSpan positive_spans = 11;
//!              repeated sint64 positive_deltas = 12 [packed]; ResetHint reset_hint = 14;
//!              int64 timestamp = 15; int64 start_timestamp = 17 (2.0); }
//! BucketSpan { sint32 offset = 1; uint32 length = 2; }
//! ```
//!
//! Integer counts only (the registry's are). `count_int` and
//! `zero_count_int` are written even when 0 (they are `oneof` members, and
//! a set `oneof` is always on the wire, as Go writes it); every other field
//! at its default (0, `+0.0`, none) is left out, as proto3 does (a sum of
//! `-0.0` is written, keeping its sign). `reset_hint` is always `UNKNOWN`
//! (0, left out): the receiver detects resets from the counts, as it does
//! for a scrape. Deltas are packed, proto3's default for repeated scalars
//! and what Prometheus' own sender writes.
//!
//! A histogram with nothing in it (no spans on either side, no zero count)
//! needs no stand-in span here: unlike the scrape format, where a no-op
//! span tells a native histogram from a classic one, a `Histogram` message
//! is native by where it is.

use crate::wire::{
    len_field_len, opt_double_field_len, packed_field_len, packed_len, put_len_prefix,
    put_opt_double_field, put_packed_field, put_varint_field, varint_field_len, zigzag32, zigzag64,
};
use hotmetrics_core::{BucketSpan, NativeBuckets};

/// One native histogram sample: its buckets, count and sum.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NativeSample<'a> {
    pub(crate) buckets: &'a NativeBuckets<'a>,
    pub(crate) count: u64,
    pub(crate) sum: f64,
}

fn span_len(s: &BucketSpan) -> usize {
    opt_varint_len(1, zigzag32(s.offset)) + opt_varint_len(2, u64::from(s.length))
}

fn opt_varint_len(field: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        varint_field_len(field, v)
    }
}

fn put_opt_varint(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_varint_field(out, field, v);
    }
}

fn spans_len(field: u32, spans: &[BucketSpan]) -> usize {
    spans
        .iter()
        .map(|s| len_field_len(field, span_len(s)))
        .sum()
}

fn put_spans(out: &mut Vec<u8>, field: u32, spans: &[BucketSpan]) {
    for s in spans {
        put_len_prefix(out, field, span_len(s));
        put_opt_varint(out, 1, zigzag32(s.offset));
        put_opt_varint(out, 2, u64::from(s.length));
    }
}

fn deltas(d: &[i64]) -> impl Iterator<Item = u64> + '_ {
    d.iter().map(|&d| zigzag64(d))
}

fn put_deltas(out: &mut Vec<u8>, field: u32, d: &[i64]) {
    put_packed_field(out, field, packed_len(deltas(d)), deltas(d));
}

impl NativeSample<'_> {
    /// The size of the message's body (what [`put`](Self::put) writes).
    /// `start_ms` is 2.0's start timestamp (`None` in 1.0).
    pub(crate) fn body_len(&self, timestamp_ms: i64, start_ms: Option<i64>) -> usize {
        let b = self.buckets;
        varint_field_len(1, self.count)
            + opt_double_field_len(3, self.sum)
            + opt_varint_len(4, zigzag32(b.schema))
            + opt_double_field_len(5, b.zero_threshold)
            + varint_field_len(6, b.zero_count)
            + spans_len(8, b.negative_spans)
            + packed_field_len(9, packed_len(deltas(b.negative_deltas)))
            + spans_len(11, b.positive_spans)
            + packed_field_len(12, packed_len(deltas(b.positive_deltas)))
            + varint_field_len(15, timestamp_ms as u64)
            + opt_varint_len(17, start_ms.map_or(0, |s| s as u64))
    }

    /// Writes the message's body, fields in number order.
    pub(crate) fn put(&self, out: &mut Vec<u8>, timestamp_ms: i64, start_ms: Option<i64>) {
        let b = self.buckets;
        put_varint_field(out, 1, self.count);
        put_opt_double_field(out, 3, self.sum);
        put_opt_varint(out, 4, zigzag32(b.schema));
        put_opt_double_field(out, 5, b.zero_threshold);
        put_varint_field(out, 6, b.zero_count);
        put_spans(out, 8, b.negative_spans);
        put_deltas(out, 9, b.negative_deltas);
        put_spans(out, 11, b.positive_spans);
        put_deltas(out, 12, b.positive_deltas);
        put_varint_field(out, 15, timestamp_ms as u64);
        put_opt_varint(out, 17, start_ms.map_or(0, |s| s as u64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field, both signs, byte by byte.
    #[test]
    fn writes_every_field_in_number_order() {
        let spans = [
            BucketSpan {
                offset: -2,
                length: 2,
            },
            BucketSpan {
                offset: 0,
                length: 1,
            },
        ];
        let neg = [BucketSpan {
            offset: 3,
            length: 1,
        }];
        let buckets = NativeBuckets {
            schema: -1,
            zero_threshold: 0.5,
            zero_count: 2,
            positive_spans: &spans,
            positive_deltas: &[1, 2, -3],
            negative_spans: &neg,
            negative_deltas: &[4],
            exemplars: &[],
        };
        let h = NativeSample {
            buckets: &buckets,
            count: 9,
            sum: 1.0,
        };
        let mut out = Vec::new();
        h.put(&mut out, 300, Some(1));
        let mut want = vec![0x08, 9, 0x19];
        want.extend(1.0f64.to_le_bytes());
        want.extend([0x20, 1, 0x29]); // schema -1 zigzagged
        want.extend(0.5f64.to_le_bytes());
        want.extend([0x30, 2]);
        want.extend([0x42, 4, 0x08, 6, 0x10, 1]); // negative span {offset 3, length 1}
        want.extend([0x4a, 1, 8]); // negative deltas [4]
        want.extend([0x5a, 4, 0x08, 3, 0x10, 2]); // {offset -2, length 2}
        want.extend([0x5a, 2, 0x10, 1]); // {offset 0 (left out), length 1}
        want.extend([0x62, 3, 2, 4, 5]); // positive deltas [1, 2, -3]
        want.extend([0x78, 0xac, 0x02]); // timestamp 300
        want.extend([0x88, 0x01, 1]); // start_timestamp 1
        assert_eq!(out, want);
        assert_eq!(out.len(), h.body_len(300, Some(1)));
        assert_eq!(h.body_len(300, None), out.len() - 3);
    }
}
