//! The native (sparse, exponential) histogram fields of the protobuf
//! `Histogram` message, written from the core's
//! [`NativeBuckets`](hotmetrics_core::NativeBuckets).

use bytes::BytesMut;
pub use hotmetrics_core::BucketSpan;
use hotmetrics_core::NativeBuckets;

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

/// The native-histogram part of a protobuf `Histogram` (integer counts),
/// borrowed from wherever the histogram keeps it (the encoder builds it
/// from a histogram's [`NativeBuckets`]; a custom encoder may too, with
/// `From`). `sample_count` and `sample_sum` are not here: a histogram
/// writes them whether it is classic, native or both; nor are the
/// exemplars (`Histogram` field 16, after `created_timestamp`).
///
/// [`encode`](Self::encode) writes, in field-number order: `schema` (5,
/// sint32), `zero_threshold` (6, double), `zero_count` (7, uint64),
/// `negative_span` (9), `negative_delta` (10, sint64), `positive_span` (12),
/// `positive_delta` (13, sint64). The first three are always written
/// (proto2 presence). Deltas are written **unpacked**, one key per delta:
/// `metrics.proto` declares them `repeated sint64` without
/// `[packed = true]`, so this is the canonical proto2 encoding and what the
/// Go client sends; every protobuf parser also accepts the packed form, so
/// nothing would break either way, but unpacked keeps byte agreement with
/// the reference at one extra byte per delta.
///
/// A histogram with no spans on either side, no zero-bucket count and a
/// zero threshold of 0 gets one no-op positive span (offset 0, length 0):
/// without it Prometheus would read it as a classic histogram.
///
/// The deltas must hold one entry per bucket the spans cover (the sum of
/// their lengths); this is not checked.
///
/// ```
/// use bytes::BytesMut;
/// use hotmetrics_protobuf::{BucketSpan, NativeHistogram};
///
/// let spans = [BucketSpan { offset: -1, length: 2 }];
/// let h = NativeHistogram {
///     schema: 3,
///     zero_threshold: 0.0,
///     zero_count: 0,
///     negative_spans: &[],
///     negative_deltas: &[],
///     positive_spans: &spans,
///     positive_deltas: &[4, -2],
/// };
/// let mut body = BytesMut::new();
/// h.encode(&mut body);
/// assert_eq!(body.len(), h.encoded_len());
/// assert_eq!(
///     &body[..],
///     &[
///         0x28, 0x06, // schema 3, zigzag
///         0x31, 0, 0, 0, 0, 0, 0, 0, 0, // zero_threshold 0.0
///         0x38, 0x00, // zero_count 0
///         0x62, 0x04, 0x08, 0x01, 0x10, 0x02, // positive_span {offset -1, length 2}
///         0x68, 0x08, 0x68, 0x03, // positive_delta 4, -2
///     ][..]
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NativeHistogram<'a> {
    /// Resolution: bucket boundaries are powers of `2^(2^-schema)`.
    pub schema: i32,
    /// Observations with an absolute value up to this go to the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Spans of the negative buckets.
    pub negative_spans: &'a [BucketSpan],
    /// Count of each negative bucket minus that of the previous one (the
    /// first one's minus zero).
    pub negative_deltas: &'a [i64],
    /// Spans of the positive buckets.
    pub positive_spans: &'a [BucketSpan],
    /// Count of each positive bucket minus that of the previous one (the
    /// first one's minus zero).
    pub positive_deltas: &'a [i64],
}

impl<'a> From<&NativeBuckets<'a>> for NativeHistogram<'a> {
    fn from(n: &NativeBuckets<'a>) -> Self {
        Self {
            schema: n.schema,
            zero_threshold: n.zero_threshold,
            zero_count: n.zero_count,
            negative_spans: n.negative_spans,
            negative_deltas: n.negative_deltas,
            positive_spans: n.positive_spans,
            positive_deltas: n.positive_deltas,
        }
    }
}

impl NativeHistogram<'_> {
    /// Whether [`encode`](Self::encode) adds the no-op span: nothing else
    /// would tell a reader this histogram is native.
    pub fn needs_no_op_span(&self) -> bool {
        self.negative_spans.is_empty()
            && self.positive_spans.is_empty()
            && self.zero_count == 0
            && self.zero_threshold == 0.0
    }

    /// The positive spans as written: the no-op span stands in for none.
    fn written_positive_spans(&self) -> &[BucketSpan] {
        if self.needs_no_op_span() {
            std::slice::from_ref(&NO_OP_SPAN)
        } else {
            self.positive_spans
        }
    }

    /// Bytes [`encode`](Self::encode) appends, to add to the enclosing
    /// `Histogram`'s length.
    pub fn encoded_len(&self) -> usize {
        let spans = |field, spans: &[BucketSpan]| -> usize {
            spans.iter().map(|s| message_field_len(field, s)).sum()
        };
        let deltas = |field, deltas: &[i64]| -> usize {
            deltas
                .iter()
                .map(|&d| varint_field_len(field, zigzag64(d)))
                .sum()
        };
        varint_field_len(5, zigzag32(self.schema))
            + double_field_len(6)
            + varint_field_len(7, self.zero_count)
            + spans(9, self.negative_spans)
            + deltas(10, self.negative_deltas)
            + spans(12, self.written_positive_spans())
            + deltas(13, self.positive_deltas)
    }

    /// Appends fields 5 to 13 to a `Histogram` message body being written
    /// into `out` (after `bucket`, field 3, and before `created_timestamp`,
    /// field 15, to keep field-number order). The enclosing length must
    /// count [`encoded_len`](Self::encoded_len) bytes for them.
    pub fn encode(&self, out: &mut BytesMut) {
        put_varint_field(out, 5, zigzag32(self.schema));
        put_double_field(out, 6, self.zero_threshold);
        put_varint_field(out, 7, self.zero_count);
        for s in self.negative_spans {
            put_message_field(out, 9, s);
        }
        for &d in self.negative_deltas {
            put_varint_field(out, 10, zigzag64(d));
        }
        for s in self.written_positive_spans() {
            put_message_field(out, 12, s);
        }
        for &d in self.positive_deltas {
            put_varint_field(out, 13, zigzag64(d));
        }
    }
}
