//! The messages inside a `MetricFamily`, each able to tell its encoded size
//! before it is written, so every length prefix is exact and nothing is
//! written twice. Field numbers are those of client_model `metrics.proto`
//! (proto2: optional fields are written even when they hold zero).

use bytes::BytesMut;
use hotmetrics_core::{Escaping, Exemplar, HistogramValue, LabelSet, SummaryValue};
use std::cell::Cell;

use crate::native::NativeHistogram;
use crate::wire::{
    double_field_len, int_as_varint, len_field_len, put_bytes_field, put_double_field,
    put_len_prefix, put_varint_field, varint_field_len,
};

/// A message body whose size is known before it is written.
pub(crate) trait Message {
    /// Bytes [`put_body`](Self::put_body) writes.
    fn body_len(&self) -> usize;
    /// Writes the fields, without key or length.
    fn put_body(&self, out: &mut BytesMut);
}

/// Size of `m` as field `field` of its parent: key, length, body.
pub(crate) fn message_field_len(field: u32, m: &impl Message) -> usize {
    len_field_len(field, m.body_len())
}

/// Writes `m` as field `field` of its parent.
pub(crate) fn put_message_field(out: &mut BytesMut, field: u32, m: &impl Message) {
    put_len_prefix(out, field, m.body_len());
    m.put_body(out);
}

/// `google.protobuf.Timestamp` (proto3: zero fields are left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timestamp {
    /// Whole seconds since the Unix epoch; negative before it.
    pub(crate) seconds: i64,
    /// Nanoseconds after `seconds`, in `[0, 1e9)`.
    pub(crate) nanos: i32,
}

impl Timestamp {
    /// 0001-01-01T00:00:00Z, the earliest time a Timestamp may hold.
    const MIN_SECONDS: f64 = -62_135_596_800.0;
    /// 9999-12-31T23:59:59Z, the latest.
    const MAX_SECONDS: f64 = 253_402_300_799.0;

    /// `t` seconds since the epoch, split into whole seconds (rounded down,
    /// so nanos stay non-negative before the epoch too) and nanoseconds
    /// (rounded to nearest). `None` for NaN, infinities and times outside
    /// the range a Timestamp may hold.
    pub(crate) fn from_unix_seconds(t: f64) -> Option<Self> {
        if !(Self::MIN_SECONDS..=Self::MAX_SECONDS).contains(&t) {
            return None; // NaN fails `contains` too
        }
        let mut seconds = t.floor();
        let mut nanos = ((t - seconds) * 1e9).round();
        if nanos >= 1e9 {
            seconds += 1.0;
            nanos = 0.0;
        }
        if seconds > Self::MAX_SECONDS {
            return None;
        }
        // In range by the checks above, so the casts are exact.
        Some(Self {
            seconds: seconds as i64,
            nanos: nanos as i32,
        })
    }
}

impl Message for Timestamp {
    fn body_len(&self) -> usize {
        let mut len = 0;
        if self.seconds != 0 {
            len += varint_field_len(1, int_as_varint(self.seconds));
        }
        if self.nanos != 0 {
            len += varint_field_len(2, int_as_varint(self.nanos.into()));
        }
        len
    }

    fn put_body(&self, out: &mut BytesMut) {
        if self.seconds != 0 {
            put_varint_field(out, 1, int_as_varint(self.seconds));
        }
        if self.nanos != 0 {
            put_varint_field(out, 2, int_as_varint(self.nanos.into()));
        }
    }
}

/// `Gauge` and `Untyped`: a single `double value = 1`.
pub(crate) struct Value(pub(crate) f64);

impl Message for Value {
    fn body_len(&self) -> usize {
        double_field_len(1)
    }

    fn put_body(&self, out: &mut BytesMut) {
        put_double_field(out, 1, self.0);
    }
}

/// `Exemplar`: label 1 (label pairs), value 2, timestamp 3 (left out when
/// unknown or not representable). Exemplar label names are legacy names
/// (the core refuses others), written as they are.
pub(crate) struct ExemplarMessage<'a>(pub(crate) &'a Exemplar);

impl ExemplarMessage<'_> {
    fn timestamp(&self) -> Option<Timestamp> {
        self.0.timestamp().and_then(Timestamp::from_unix_seconds)
    }
}

impl Message for ExemplarMessage<'_> {
    fn body_len(&self) -> usize {
        self.0
            .labels()
            .map(|(n, v)| label_pair_field_len(n, v))
            .sum::<usize>()
            + double_field_len(2)
            + self.timestamp().map_or(0, |t| message_field_len(3, &t))
    }

    fn put_body(&self, out: &mut BytesMut) {
        for (n, v) in self.0.labels() {
            put_label_pair_field(out, n, v);
        }
        put_double_field(out, 2, self.0.value());
        if let Some(t) = self.timestamp() {
            put_message_field(out, 3, &t);
        }
    }
}

/// Size of an optional exemplar as field `field`.
fn exemplar_field_len(field: u32, e: Option<&Exemplar>) -> usize {
    e.map_or(0, |e| message_field_len(field, &ExemplarMessage(e)))
}

/// Writes an optional exemplar as field `field`.
fn put_exemplar_field(out: &mut BytesMut, field: u32, e: Option<&Exemplar>) {
    if let Some(e) = e {
        put_message_field(out, field, &ExemplarMessage(e));
    }
}

/// `Counter`: value 1, exemplar 2, created_timestamp 3.
pub(crate) struct Counter<'a> {
    pub(crate) value: f64,
    pub(crate) exemplar: Option<&'a Exemplar>,
    pub(crate) created: Option<Timestamp>,
}

impl Message for Counter<'_> {
    fn body_len(&self) -> usize {
        double_field_len(1)
            + exemplar_field_len(2, self.exemplar)
            + self.created.map_or(0, |t| message_field_len(3, &t))
    }

    fn put_body(&self, out: &mut BytesMut) {
        put_double_field(out, 1, self.value);
        put_exemplar_field(out, 2, self.exemplar);
        if let Some(t) = &self.created {
            put_message_field(out, 3, t);
        }
    }
}

/// `Histogram::Bucket`: cumulative_count 1, upper_bound 2, exemplar 3.
struct Bucket<'a> {
    cumulative_count: u64,
    upper_bound: f64,
    exemplar: Option<&'a Exemplar>,
}

impl Message for Bucket<'_> {
    fn body_len(&self) -> usize {
        varint_field_len(1, self.cumulative_count)
            + double_field_len(2)
            + exemplar_field_len(3, self.exemplar)
    }

    fn put_body(&self, out: &mut BytesMut) {
        put_varint_field(out, 1, self.cumulative_count);
        put_double_field(out, 2, self.upper_bound);
        put_exemplar_field(out, 3, self.exemplar);
    }
}

/// `Histogram`: sample_count 1, sample_sum 2, one cumulative bucket 3 per
/// finite upper bound, native fields 5 to 13 when the histogram has native
/// buckets, created_timestamp 15, the native exemplars 16.
///
/// The `+Inf` bucket is left out, as the Go client does (readers derive it
/// from sample_count), unless it holds an exemplar: then it is written
/// last, with the count, as the Go client does too. A native histogram
/// whose classic exemplars give `+Inf` none lends it its newest timestamped
/// native exemplar, as client_golang does: Prometheus before 2.51 (which
/// added field 16, prometheus#13488) reads native histograms' exemplars
/// from the buckets only.
///
/// Field 16 holds only the timestamped native exemplars: `metrics.proto`
/// requires a timestamp there, and Prometheus drops the untimed ones (and,
/// when field 16 is not empty, reads no bucket exemplars).
pub(crate) struct Histogram<'a> {
    value: &'a HistogramValue<'a>,
    created: Option<Timestamp>,
    /// [`body_len`](Message::body_len), once computed: the enclosing
    /// `Metric`'s length, its prefix and this message's own prefix each
    /// ask for it, and a native histogram's is a pass over its deltas.
    len: Cell<Option<usize>>,
}

impl<'a> Histogram<'a> {
    pub(crate) fn new(value: &'a HistogramValue<'a>, created: Option<Timestamp>) -> Self {
        Self {
            value,
            created,
            len: Cell::new(None),
        }
    }
    /// The native-histogram fields, if the histogram has native buckets.
    fn native(&self) -> Option<NativeHistogram<'_>> {
        self.value.native.as_ref().map(NativeHistogram)
    }

    /// The native histogram's exemplars that field 16 may hold, oldest
    /// first: those with a timestamp (none for a classic histogram).
    fn native_exemplars(&self) -> impl DoubleEndedIterator<Item = &Exemplar> + '_ {
        let all = self.value.native.as_ref().map_or(&[][..], |n| n.exemplars);
        all.iter()
            .filter(|e| ExemplarMessage(e).timestamp().is_some())
    }

    /// The `+Inf` bucket's exemplar: its classic one, else the newest
    /// timestamped native one.
    fn inf_exemplar(&self) -> Option<&Exemplar> {
        let h = self.value;
        h.exemplars
            .get(h.upper_bounds.len())
            .and_then(Option::as_ref)
            .or_else(|| self.native_exemplars().next_back())
    }

    /// The finite buckets, counts made cumulative, then the `+Inf` bucket
    /// if it holds an exemplar ([`inf_exemplar`](Self::inf_exemplar)).
    fn buckets(&self) -> impl Iterator<Item = Bucket<'_>> + '_ {
        let h = self.value;
        let exemplar = |i: usize| h.exemplars.get(i).and_then(Option::as_ref);
        let finite = h.upper_bounds.iter().zip(h.bucket_counts).enumerate().scan(
            0u64,
            move |cumulative, (i, (&upper_bound, &count))| {
                *cumulative = cumulative.saturating_add(count);
                Some(Bucket {
                    cumulative_count: *cumulative,
                    upper_bound,
                    exemplar: exemplar(i),
                })
            },
        );
        let inf = self.inf_exemplar().map(|e| Bucket {
            cumulative_count: h.count,
            upper_bound: f64::INFINITY,
            exemplar: Some(e),
        });
        finite.chain(inf)
    }
}

impl Message for Histogram<'_> {
    fn body_len(&self) -> usize {
        if let Some(len) = self.len.get() {
            return len;
        }
        let len = self.compute_len();
        self.len.set(Some(len));
        len
    }

    fn put_body(&self, out: &mut BytesMut) {
        put_varint_field(out, 1, self.value.count);
        put_double_field(out, 2, self.value.sum);
        for b in self.buckets() {
            put_message_field(out, 3, &b);
        }
        if let Some(native) = self.native() {
            native.encode(out);
        }
        if let Some(t) = &self.created {
            put_message_field(out, 15, t);
        }
        for e in self.native_exemplars() {
            put_exemplar_field(out, 16, Some(e));
        }
    }
}

impl Histogram<'_> {
    fn compute_len(&self) -> usize {
        varint_field_len(1, self.value.count)
            + double_field_len(2)
            + self
                .buckets()
                .map(|b| message_field_len(3, &b))
                .sum::<usize>()
            + self.native().map_or(0, |n| n.encoded_len())
            + self.created.map_or(0, |t| message_field_len(15, &t))
            + self
                .native_exemplars()
                .map(|e| exemplar_field_len(16, Some(e)))
                .sum::<usize>()
    }
}

/// `Quantile`: quantile 1, value 2.
struct Quantile(f64, f64);

impl Message for Quantile {
    fn body_len(&self) -> usize {
        2 * double_field_len(1)
    }

    fn put_body(&self, out: &mut BytesMut) {
        put_double_field(out, 1, self.0);
        put_double_field(out, 2, self.1);
    }
}

/// `Summary`: sample_count 1, sample_sum 2, quantile 3, created_timestamp 4.
pub(crate) struct Summary<'a> {
    pub(crate) value: &'a SummaryValue<'a>,
    pub(crate) created: Option<Timestamp>,
}

impl Message for Summary<'_> {
    fn body_len(&self) -> usize {
        let quantiles = self.value.quantiles.len() * message_field_len(3, &Quantile(0.0, 0.0));
        varint_field_len(1, self.value.count)
            + double_field_len(2)
            + quantiles
            + self.created.map_or(0, |t| message_field_len(4, &t))
    }

    fn put_body(&self, out: &mut BytesMut) {
        put_varint_field(out, 1, self.value.count);
        put_double_field(out, 2, self.value.sum);
        for &(q, v) in self.value.quantiles {
            put_message_field(out, 3, &Quantile(q, v));
        }
        if let Some(t) = &self.created {
            put_message_field(out, 4, t);
        }
    }
}

/// What a `Metric` holds, tagged with its field number in `Metric`.
pub(crate) enum MetricValue<'a> {
    /// Field 2.
    Gauge(Value),
    /// Field 3.
    Counter(Counter<'a>),
    /// Field 4.
    Summary(Summary<'a>),
    /// Field 5.
    Untyped(Value),
    /// Field 7.
    Histogram(Histogram<'a>),
}

impl MetricValue<'_> {
    fn field_len(&self) -> usize {
        match self {
            MetricValue::Gauge(m) => message_field_len(2, m),
            MetricValue::Counter(m) => message_field_len(3, m),
            MetricValue::Summary(m) => message_field_len(4, m),
            MetricValue::Untyped(m) => message_field_len(5, m),
            MetricValue::Histogram(m) => message_field_len(7, m),
        }
    }

    fn put_field(&self, out: &mut BytesMut) {
        match self {
            MetricValue::Gauge(m) => put_message_field(out, 2, m),
            MetricValue::Counter(m) => put_message_field(out, 3, m),
            MetricValue::Summary(m) => put_message_field(out, 4, m),
            MetricValue::Untyped(m) => put_message_field(out, 5, m),
            MetricValue::Histogram(m) => put_message_field(out, 7, m),
        }
    }
}

/// Size of a `LabelPair` as field 1 of `Metric`: name 1, value 2, both
/// always written.
fn label_pair_field_len(name: &str, value: &str) -> usize {
    len_field_len(
        1,
        len_field_len(1, name.len()) + len_field_len(2, value.len()),
    )
}

fn put_label_pair_field(out: &mut BytesMut, name: &str, value: &str) {
    put_len_prefix(
        out,
        1,
        len_field_len(1, name.len()) + len_field_len(2, value.len()),
    );
    put_bytes_field(out, 1, name.as_bytes());
    put_bytes_field(out, 2, value.as_bytes());
}

/// Encodes a series' label pairs, in declared order, as `Metric.label`
/// fields into `out` (cleared first). A series writes them once and copies
/// the bytes into each of its `Metric`s (a state set has one per state).
/// Label names are written as `escaping` says (`scratch` holds an escaped
/// one).
pub(crate) fn encode_label_pairs(
    out: &mut BytesMut,
    labels: &dyn LabelSet,
    escaping: Escaping,
    scratch: &mut String,
) {
    out.clear();
    labels.for_each(&mut |n, v| put_label_pair_field(out, escaping.label_name(n, scratch), v));
}

/// `Metric`: the series' label pairs (from [`encode_label_pairs`]), then
/// `extra` (a state set's `<family>="<state>"`), then the value.
pub(crate) struct Metric<'a> {
    pub(crate) labels: &'a [u8],
    pub(crate) extra: Option<(&'a str, &'a str)>,
    pub(crate) value: MetricValue<'a>,
}

impl Message for Metric<'_> {
    fn body_len(&self) -> usize {
        let mut len = self.labels.len();
        if let Some((n, v)) = self.extra {
            len += label_pair_field_len(n, v);
        }
        len + self.value.field_len()
    }

    fn put_body(&self, out: &mut BytesMut) {
        out.extend_from_slice(self.labels);
        if let Some((n, v)) = self.extra {
            put_label_pair_field(out, n, v);
        }
        self.value.put_field(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_split_seconds_and_nanos() {
        let ts = |t| Timestamp::from_unix_seconds(t).map(|t| (t.seconds, t.nanos));
        assert_eq!(ts(0.0), Some((0, 0)));
        assert_eq!(ts(1.5), Some((1, 500_000_000)));
        assert_eq!(ts(-1.5), Some((-2, 500_000_000)));
        assert_eq!(ts(-0.25), Some((-1, 750_000_000)));
        assert_eq!(ts(1_700_000_000.0), Some((1_700_000_000, 0)));
        assert_eq!(ts(0.999_999_999_9), Some((1, 0)));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300] {
            assert_eq!(ts(bad), None, "{bad}");
        }
        let t = Timestamp::from_unix_seconds(1_700_000_000.123_456).unwrap();
        assert_eq!(t.seconds, 1_700_000_000);
        assert!((t.nanos - 123_456_000).abs() < 1_000, "{}", t.nanos);
    }

    #[test]
    fn every_body_len_matches_what_is_written() {
        let check = |m: &dyn Fn(&mut BytesMut) -> usize| {
            let mut out = BytesMut::new();
            let expected = m(&mut out);
            assert_eq!(out.len(), expected);
        };
        let hv = HistogramValue {
            upper_bounds: &[0.5, 1.0, 1e300],
            bucket_counts: &[1, 200, 3, 4],
            count: 208,
            sum: -3.5,
            created: Some(-12.25),
            exemplars: &[],
            native: None,
        };
        let sv = SummaryValue {
            quantiles: &[(0.5, 1.0), (0.9, f64::NAN)],
            count: u64::MAX,
            sum: 1.0,
            created: None,
        };
        let exemplar = Exemplar::new(&[("trace_id", "é"), ("s", "")], -2.5, Some(-1.25)).unwrap();
        let untimed = Exemplar::new(&[], f64::NAN, None).unwrap();
        let spans = [hotmetrics_core::BucketSpan {
            offset: -300,
            length: 2,
        }];
        let with_exemplars = HistogramValue {
            exemplars: &[None, Some(exemplar.clone()), None, Some(untimed.clone())],
            native: Some(hotmetrics_core::NativeBuckets {
                schema: -2,
                zero_threshold: 1e-9,
                zero_count: 5,
                positive_spans: &spans,
                positive_deltas: &[100, -99],
                negative_spans: &spans,
                negative_deltas: &[i64::MIN, 0],
                exemplars: &[exemplar.clone(), untimed],
            }),
            ..hv
        };
        let labels = [("a", "é"), ("", "")];
        let ts = Timestamp::from_unix_seconds(-1e10);
        let metrics = [
            MetricValue::Gauge(Value(1.0)),
            MetricValue::Untyped(Value(f64::NAN)),
            MetricValue::Counter(Counter {
                value: 0.0,
                exemplar: None,
                created: ts,
            }),
            MetricValue::Counter(Counter {
                value: 1.0,
                exemplar: Some(&exemplar),
                created: None,
            }),
            MetricValue::Histogram(Histogram::new(&hv, ts)),
            MetricValue::Histogram(Histogram::new(&with_exemplars, ts)),
            MetricValue::Summary(Summary {
                value: &sv,
                created: ts,
            }),
        ];
        let mut pairs = BytesMut::new();
        encode_label_pairs(&mut pairs, &labels, Escaping::default(), &mut String::new());
        for value in metrics {
            let m = Metric {
                labels: &pairs,
                extra: Some(("x", "y")),
                value,
            };
            check(&|out| {
                m.put_body(out);
                m.body_len()
            });
        }
    }
}
