//! The seam between the engine and the exporters: a registry walks its
//! merged view and hands each family and series to a [`MetricVisitor`].
//! Everything handed over is borrowed, so a scrape allocates nothing per
//! series once its scratch buffers have grown.

pub use crate::exemplar::Exemplar;
pub use crate::metric_type::MetricType;

/// A family's metadata, handed over before its series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FamilyDesc<'a> {
    /// The family name, prefix included; counters carry no `_total` here.
    pub name: &'a str,
    /// Help text, unescaped.
    pub help: &'a str,
    /// The family's type.
    pub metric_type: MetricType,
    /// The unit, if one was given (the name then ends in `_<unit>`).
    pub unit: Option<&'a str>,
}

/// A number as the metric holds it, so integers print without a fraction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// Unsigned integer.
    UInt(u64),
    /// Signed integer.
    Int(i64),
    /// Floating point, NaN and infinities included.
    Float(f64),
}

impl Number {
    /// The value as `f64` (large integers round).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::UInt(v) => v as f64,
            Number::Int(v) => v as f64,
            Number::Float(v) => v,
        }
    }
}

/// A merged histogram, borrowed from the scrape's scratch space.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramValue<'a> {
    /// Finite upper bounds, increasing; `+Inf` is implied.
    pub upper_bounds: &'a [f64],
    /// Count per bucket, **not** cumulative; one more than `upper_bounds`,
    /// the last being the `+Inf` bucket.
    pub bucket_counts: &'a [u64],
    /// Total observations: the sum of `bucket_counts`.
    pub count: u64,
    /// Sum of observations.
    pub sum: f64,
    /// Series creation time, seconds since the Unix epoch.
    pub created: Option<f64>,
    /// Exemplars of the classic buckets: empty, or one entry per entry of
    /// `bucket_counts` (`None` where that bucket has none).
    pub exemplars: &'a [Option<Exemplar>],
    /// The native (sparse exponential) buckets, when the histogram has
    /// them. A native-only histogram has no `upper_bounds` and one
    /// `bucket_counts` entry (`+Inf`, the count), which is what the text
    /// formats write for it.
    pub native: Option<NativeBuckets<'a>>,
}

/// A run of consecutive native-histogram buckets (`BucketSpan` in
/// client_model's `metrics.proto`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BucketSpan {
    /// Gap to the previous span's end (from bucket key 0 for the first
    /// span); may be negative.
    pub offset: i32,
    /// Number of consecutive buckets in the span.
    pub length: u32,
}

/// The native part of a histogram, in the shape of the protobuf exposition
/// (and remote write): spans of populated bucket keys and the count of each
/// bucket as a delta from the previous one.
///
/// Bucket key `k` at schema `s` holds the values in
/// `(base^(k-1), base^k]` with `base = 2^(2^-s)` (negative values mirror
/// that in the negative buckets); values with an absolute value at or below
/// `zero_threshold` count in the zero bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NativeBuckets<'a> {
    /// The resolution, `-4..=8`.
    pub schema: i32,
    /// Width of the zero bucket, `[-zero_threshold, zero_threshold]`.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Spans of the positive buckets.
    pub positive_spans: &'a [BucketSpan],
    /// The positive bucket counts, each a delta from the previous bucket's
    /// count (the first from 0).
    pub positive_deltas: &'a [i64],
    /// Spans of the negative buckets.
    pub negative_spans: &'a [BucketSpan],
    /// The negative bucket counts as deltas.
    pub negative_deltas: &'a [i64],
    /// Exemplars of the native histogram, oldest first. Each should carry a
    /// timestamp: the protobuf exposition (`Histogram.exemplars`, which
    /// `metrics.proto` requires to be timestamped) writes only those that
    /// do, and lends the newest of them to the `+Inf` bucket when the
    /// classic [`exemplars`](HistogramValue::exemplars) give it none.
    pub exemplars: &'a [Exemplar],
}

/// A summary: quantiles over a recent window, count and sum over the
/// series' whole life.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SummaryValue<'a> {
    /// `(quantile, value)` pairs, quantiles increasing in `[0, 1]`.
    pub quantiles: &'a [(f64, f64)],
    /// Number of observations.
    pub count: u64,
    /// Sum of observations.
    pub sum: f64,
    /// Series creation time, seconds since the Unix epoch.
    pub created: Option<f64>,
}

/// One series' value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SeriesValue<'a> {
    /// A counter's total and creation time (seconds since the epoch).
    Counter {
        /// The total.
        value: Number,
        /// Creation time, seconds since the Unix epoch.
        created: f64,
        /// The latest exemplar, if one was recorded.
        exemplar: Option<&'a Exemplar>,
    },
    /// A gauge's value.
    Gauge(Number),
    /// A histogram.
    Histogram(HistogramValue<'a>),
    /// A summary.
    Summary(SummaryValue<'a>),
    /// An info series: its labels are the information, its value is 1.
    Info,
    /// A state set: `(state, enabled)` pairs.
    StateSet(&'a [(&'a str, bool)]),
    /// An untyped value.
    Unknown(Number),
}

/// Label pairs that can be walked without allocating.
pub trait LabelSet {
    /// Calls `f` with each `(name, value)` pair, in declared order.
    fn for_each(&self, f: &mut dyn FnMut(&str, &str));

    /// An identity of this set's label *names*: while one family is
    /// visited (from [`begin_family`](MetricVisitor::begin_family) to
    /// [`end_family`](MetricVisitor::end_family)), two of its series'
    /// sets with the same `Some` id yield the same names in the same
    /// order, so a visitor may spell the names once per family and take
    /// only the values of later series. `None` (the default) promises
    /// nothing. A registry family's series give the address of the
    /// family's label names; a wrapper that adds or drops pairs must not
    /// pass its inner set's id on unless what it adds is the same for the
    /// whole family.
    fn names_id(&self) -> Option<std::num::NonZeroUsize> {
        None
    }
}

impl LabelSet for [(&str, &str)] {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (n, v) in self {
            f(n, v);
        }
    }
}

impl<const N: usize> LabelSet for [(&str, &str); N] {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        self.as_slice().for_each(f);
    }
}

/// Receives a registry's merged view. Exporters implement it.
pub trait MetricVisitor {
    /// A family starts; its series follow until [`end_family`](Self::end_family).
    fn begin_family(&mut self, family: &FamilyDesc<'_>);
    /// One series of the current family.
    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>);
    /// The current family is complete.
    fn end_family(&mut self) {}
    /// Whether this visitor reads [`HistogramValue::native`]. A visitor
    /// that never does (the text formats, which have no native form)
    /// returns false, and a scrape then skips merging native buckets: the
    /// histograms it hands over carry `native: None`, with the same exact
    /// classic counts, count and sum. Asked before each histogram series;
    /// a visitor that wraps another should forward it. Default: true.
    fn wants_native(&self) -> bool {
        true
    }
}
