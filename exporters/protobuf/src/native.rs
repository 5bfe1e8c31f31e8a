//! The native (sparse, exponential) histogram fields of the protobuf
//! `Histogram` message, written from the core's
//! [`NativeBuckets`](hotmetrics_core::NativeBuckets). `sample_count` and
//! `sample_sum` are not here: a histogram writes them whether it is
//! classic, native or both; nor are the exemplars (`Histogram` field 16,
//! after `created_timestamp`).
//!
//! In field-number order: `schema` (5, sint32), `zero_threshold` (6,
//! double), `zero_count` (7, uint64), `negative_span` (9), `negative_delta`
//! (10, sint64), `positive_span` (12), `positive_delta` (13, sint64). The
//! first three are always written (proto2 presence). Deltas are written
//! **unpacked**, one key per delta: `metrics.proto` declares them
//! `repeated sint64` without `[packed = true]`, so this is the canonical
//! proto2 encoding and what the Go client sends; every protobuf parser also
//! accepts the packed form, so nothing would break either way, but unpacked
//! keeps byte agreement with the reference at one extra byte per delta.
//!
//! A histogram with no spans on either side, no zero-bucket count and a
//! zero threshold of 0 gets one no-op positive span (offset 0, length 0):
//! without it Prometheus would read it as a classic histogram.
//!
//! The deltas must hold one entry per bucket the spans cover (the sum of
//! their lengths); this is not checked. The crate docs show the bytes.

use bytes::{BufMut, BytesMut};
use hotmetrics_core::{BucketSpan, NativeBuckets};

use crate::message::{Message, message_field_len, put_message_field};
use crate::wire::{
    double_field_len, put_double_field, put_varint_field, varint_field_len, zigzag32, zigzag64,
};

impl Message for BucketSpan {
    fn body_len(&self) -> usize {
        varint_field_len(1, zigzag32(self.offset)) + varint_field_len(2, self.length.into())
    }

    fn put_body(&self, out: &mut BytesMut) {
        put_varint_field(out, 1, zigzag32(self.offset));
        put_varint_field(out, 2, self.length.into());
    }
}

/// The span that marks a histogram as native when it has nothing else that
/// would: offset 0, length 0.
const NO_OP_SPAN: BucketSpan = BucketSpan {
    offset: 0,
    length: 0,
};

/// The native-histogram part of a protobuf `Histogram`, written from a
/// histogram's [`NativeBuckets`] (see the module docs for the fields).
#[derive(Clone, Copy, Debug)]
pub(crate) struct NativeHistogram<'a>(pub(crate) &'a NativeBuckets<'a>);

impl<'a> NativeHistogram<'a> {
    /// Whether [`encode`](Self::encode) adds the no-op span: nothing else
    /// would tell a reader this histogram is native.
    fn needs_no_op_span(&self) -> bool {
        let n = self.0;
        n.negative_spans.is_empty()
            && n.positive_spans.is_empty()
            && n.zero_count == 0
            && n.zero_threshold == 0.0
    }

    /// The positive spans as written: the no-op span stands in for none.
    fn written_positive_spans(&self) -> &'a [BucketSpan] {
        if self.needs_no_op_span() {
            std::slice::from_ref(&NO_OP_SPAN)
        } else {
            self.0.positive_spans
        }
    }

    /// Bytes [`encode`](Self::encode) appends, to add to the enclosing
    /// `Histogram`'s length.
    pub(crate) fn encoded_len(&self) -> usize {
        let n = self.0;
        let spans = |field, spans: &[BucketSpan]| -> usize {
            spans.iter().map(|s| message_field_len(field, s)).sum()
        };
        let deltas = |field, deltas: &[i64]| -> usize {
            deltas
                .iter()
                .map(|&d| varint_field_len(field, zigzag64(d)))
                .sum()
        };
        varint_field_len(5, zigzag32(n.schema))
            + double_field_len(6)
            + varint_field_len(7, n.zero_count)
            + spans(9, n.negative_spans)
            + deltas(10, n.negative_deltas)
            + spans(12, self.written_positive_spans())
            + deltas(13, n.positive_deltas)
    }

    /// Appends fields 5 to 13 to a `Histogram` message body being written
    /// into `out` (after `bucket`, field 3, and before `created_timestamp`,
    /// field 15, to keep field-number order). The enclosing length must
    /// count [`encoded_len`](Self::encoded_len) bytes for them.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let n = self.0;
        put_varint_field(out, 5, zigzag32(n.schema));
        put_double_field(out, 6, n.zero_threshold);
        put_varint_field(out, 7, n.zero_count);
        for s in n.negative_spans {
            put_message_field(out, 9, s);
        }
        put_deltas(out, 10, n.negative_deltas);
        for s in self.written_positive_spans() {
            put_message_field(out, 12, s);
        }
        put_deltas(out, 13, n.positive_deltas);
    }
}

/// Writes `deltas` as one `sint64` field `field` each (unpacked, see the
/// module docs). Most deltas of a histogram are small: a delta in
/// `-64..64` is a two-byte field (`field < 16` keeps its key one byte),
/// written as one constant-length copy; the rest take the general path.
fn put_deltas(out: &mut BytesMut, field: u32, deltas: &[i64]) {
    debug_assert!(field < 16, "a one-byte key");
    let key = (field << 3) as u8; // wire type 0 (varint)
    out.reserve(2 * deltas.len());
    for &d in deltas {
        let z = zigzag64(d);
        if z < 0x80 {
            out.put_slice(&[key, z as u8]);
        } else {
            put_varint_field(out, field, z);
        }
    }
}

#[cfg(test)]
mod delta_tests {
    use super::*;

    /// The two-byte shortcut writes what the general field writer does, on
    /// both sides of its `-64..64` edge and at the extremes.
    #[test]
    fn deltas_match_the_general_field_writer() {
        let deltas = [0, 1, -1, 63, -64, 64, -65, 1000, -1000, i64::MAX, i64::MIN];
        for field in [10, 13] {
            let mut fast = BytesMut::new();
            put_deltas(&mut fast, field, &deltas);
            let mut general = BytesMut::new();
            for &d in &deltas {
                put_varint_field(&mut general, field, zigzag64(d));
            }
            assert_eq!(fast, general, "field {field}");
        }
    }
}
