//! A hand-written prost mirror of client_model `metrics.proto` (package
//! `io.prometheus.client`, proto2), newest revision: `created_timestamp` on
//! counters, summaries and histograms, the native-histogram fields,
//! histogram exemplars and `MetricFamily.unit` included. Also
//! `google.protobuf.Timestamp`, which those fields use.
//!
//! proto2 `optional` fields are `Option`s, so a test can tell a field that
//! was written as zero from one that was left out; prost also derives a
//! getter per optional scalar (`gauge.value()`) that reads unset as the
//! default. Repeated scalars are declared unpacked, as proto2 declares them;
//! prost decodes the packed form too.
//!
//! ```
//! use hotmetrics_tests::proto::{decode_delimited, MetricType};
//!
//! let registry = hotmetrics::Registry::new();
//! registry.gauge(("up", "Up.")).unwrap().set(1);
//! let mut buf = bytes::BytesMut::new();
//! hotmetrics::protobuf::ProtobufEncoder::new().encode(&registry, &mut buf);
//!
//! let families = decode_delimited(&buf).unwrap();
//! assert_eq!(families[0].name(), "up");
//! assert_eq!(families[0].r#type(), MetricType::Gauge);
//! assert_eq!(families[0].metric[0].gauge.as_ref().unwrap().value, Some(1.0));
//! ```

/// `google.protobuf.Timestamp` (proto3: unset fields read as zero).
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch, negative before it.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds after `seconds`, in `[0, 1e9)`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// A label name and value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
    /// Label name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Label value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// The type of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    /// Monotonic counter; `Metric.counter` is set.
    Counter = 0,
    /// Gauge; `Metric.gauge` is set.
    Gauge = 1,
    /// Summary; `Metric.summary` is set.
    Summary = 2,
    /// Untyped; `Metric.untyped` is set.
    Untyped = 3,
    /// Histogram (classic, native or both); `Metric.histogram` is set.
    Histogram = 4,
    /// Gauge histogram; `Metric.histogram` is set.
    GaugeHistogram = 5,
}

/// A gauge value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Gauge {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// A counter value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Counter {
    /// The total.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
    /// An exemplar of the total.
    #[prost(message, optional, tag = "2")]
    pub exemplar: Option<Exemplar>,
    /// When the series was created.
    #[prost(message, optional, tag = "3")]
    pub created_timestamp: Option<Timestamp>,
}

/// One quantile of a summary.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Quantile {
    /// The quantile, in `[0, 1]`.
    #[prost(double, optional, tag = "1")]
    pub quantile: Option<f64>,
    /// Its value.
    #[prost(double, optional, tag = "2")]
    pub value: Option<f64>,
}

/// A summary value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// Number of observations.
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    /// Sum of observations.
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    /// The quantiles.
    #[prost(message, repeated, tag = "3")]
    pub quantile: Vec<Quantile>,
    /// When the series was created.
    #[prost(message, optional, tag = "4")]
    pub created_timestamp: Option<Timestamp>,
}

/// An untyped value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Untyped {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// A histogram: classic buckets, native (sparse) buckets, or both.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Number of observations.
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    /// Number of observations of a float histogram; overrides
    /// `sample_count` if > 0.
    #[prost(double, optional, tag = "4")]
    pub sample_count_float: Option<f64>,
    /// Sum of observations.
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    /// Classic buckets, increasing upper bounds; the `+Inf` one is optional.
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
    /// When the series was created.
    #[prost(message, optional, tag = "15")]
    pub created_timestamp: Option<Timestamp>,
    /// Native: resolution of the exponential buckets.
    #[prost(sint32, optional, tag = "5")]
    pub schema: Option<i32>,
    /// Native: breadth of the zero bucket.
    #[prost(double, optional, tag = "6")]
    pub zero_threshold: Option<f64>,
    /// Native: count in the zero bucket.
    #[prost(uint64, optional, tag = "7")]
    pub zero_count: Option<u64>,
    /// Native, float histograms: overrides `zero_count` if > 0.
    #[prost(double, optional, tag = "8")]
    pub zero_count_float: Option<f64>,
    /// Native: spans of the negative buckets.
    #[prost(message, repeated, tag = "9")]
    pub negative_span: Vec<BucketSpan>,
    /// Native: count delta of each negative bucket to the previous one.
    #[prost(sint64, repeated, packed = "false", tag = "10")]
    pub negative_delta: Vec<i64>,
    /// Native, float histograms: absolute count of each negative bucket.
    #[prost(double, repeated, packed = "false", tag = "11")]
    pub negative_count: Vec<f64>,
    /// Native: spans of the positive buckets.
    #[prost(message, repeated, tag = "12")]
    pub positive_span: Vec<BucketSpan>,
    /// Native: count delta of each positive bucket to the previous one.
    #[prost(sint64, repeated, packed = "false", tag = "13")]
    pub positive_delta: Vec<i64>,
    /// Native, float histograms: absolute count of each positive bucket.
    #[prost(double, repeated, packed = "false", tag = "14")]
    pub positive_count: Vec<f64>,
    /// Native: exemplars.
    #[prost(message, repeated, tag = "16")]
    pub exemplars: Vec<Exemplar>,
}

/// A classic histogram bucket.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Bucket {
    /// Observations up to `upper_bound`, cumulative.
    #[prost(uint64, optional, tag = "1")]
    pub cumulative_count: Option<u64>,
    /// Float histograms: overrides `cumulative_count` if > 0.
    #[prost(double, optional, tag = "4")]
    pub cumulative_count_float: Option<f64>,
    /// Inclusive upper bound.
    #[prost(double, optional, tag = "2")]
    pub upper_bound: Option<f64>,
    /// An exemplar in this bucket.
    #[prost(message, optional, tag = "3")]
    pub exemplar: Option<Exemplar>,
}

/// A run of consecutive native-histogram buckets.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    /// Gap to the previous span, or start index of the first one.
    #[prost(sint32, optional, tag = "1")]
    pub offset: Option<i32>,
    /// Number of consecutive buckets.
    #[prost(uint32, optional, tag = "2")]
    pub length: Option<u32>,
}

/// An exemplar: an observation with labels (a trace id, typically).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    /// The exemplar's labels.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// The observed value.
    #[prost(double, optional, tag = "2")]
    pub value: Option<f64>,
    /// When it was observed.
    #[prost(message, optional, tag = "3")]
    pub timestamp: Option<Timestamp>,
}

/// One series: labels and the value matching the family's type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// Label pairs, in the order written.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// Set in GAUGE families.
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Gauge>,
    /// Set in COUNTER families.
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Counter>,
    /// Set in SUMMARY families.
    #[prost(message, optional, tag = "4")]
    pub summary: Option<Summary>,
    /// Set in UNTYPED families.
    #[prost(message, optional, tag = "5")]
    pub untyped: Option<Untyped>,
    /// Set in HISTOGRAM and GAUGE_HISTOGRAM families.
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<Histogram>,
    /// Sample timestamp, milliseconds since the epoch.
    #[prost(int64, optional, tag = "6")]
    pub timestamp_ms: Option<i64>,
}

/// A metric family: the unit of the delimited stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricFamily {
    /// Family name (counters keep `_total`).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Help text.
    #[prost(string, optional, tag = "2")]
    pub help: Option<String>,
    /// The type; read it with the `r#type()` getter.
    #[prost(enumeration = "MetricType", optional, tag = "3")]
    pub r#type: Option<i32>,
    /// The series.
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
    /// The unit, if any.
    #[prost(string, optional, tag = "5")]
    pub unit: Option<String>,
}

/// Decodes a body of the delimited protobuf exposition: `MetricFamily`
/// messages, each preceded by its length as a varint, up to the end of
/// `bytes`. An empty body is no families; a truncated message or a length
/// running past the end is an error.
pub fn decode_delimited(mut bytes: &[u8]) -> Result<Vec<MetricFamily>, prost::DecodeError> {
    let mut families = Vec::new();
    while !bytes.is_empty() {
        families.push(<MetricFamily as prost::Message>::decode_length_delimited(
            &mut bytes,
        )?);
    }
    Ok(families)
}
