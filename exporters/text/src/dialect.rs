//! The two text dialects: what Prometheus text 0.0.4 and OpenMetrics 1.0
//! write differently. Everything else (the sample line, escaping of label
//! values, bucket lines) is the one writer's.

use hotmetrics_core::MetricType;

use crate::lexical::{Integral, Quotes};

pub(crate) mod sealed {
    use super::{Integral, MetricType, Quotes};

    /// A dialect's rules. Private, so [`Dialect`](super::Dialect) is
    /// sealed: the two dialects are the formats' definitions, not an
    /// extension point (write an [`Encoder`](hotmetrics_core::Encoder) for
    /// a format of your own).
    pub trait Rules {
        /// The `Content-Type` of an exposition in this dialect.
        const CONTENT_TYPE: &'static str;
        /// How `"` in HELP text is written.
        const HELP_QUOTES: Quotes;
        /// How integral `le` and `quantile` values are spelled.
        const BOUNDS: Integral;
        /// Whether a family with a unit gets a `# UNIT` line.
        const UNIT_LINE: bool;
        /// Whether counters, histograms and summaries get `_created`.
        const CREATED: bool;
        /// Whether counters' `_total` and histograms' `_bucket` lines carry
        /// their exemplars (`# {trace_id="..."} value timestamp`).
        const EXEMPLARS: bool;
        /// What ends the exposition.
        const END: &'static [u8];
        /// The type name on the `# TYPE` line.
        fn type_name(t: MetricType) -> &'static str;
        /// The suffix of the family name on the metadata lines.
        fn metadata_suffix(t: MetricType) -> &'static str;
        /// Whether `v` may be written where the dialect wants a
        /// counter-like value (`_total`, a histogram's or summary's `_sum`,
        /// a bucket bound of a histogram with a `_sum`).
        fn counter_like(v: f64) -> bool;
    }
}

/// A text dialect: [`Prometheus`] (text 0.0.4) or [`OpenMetrics`] (1.0.0).
/// Sealed.
pub trait Dialect: sealed::Rules + Default + std::fmt::Debug + Send + Sync + 'static {}

/// Prometheus text exposition format 0.0.4.
///
/// Types 0.0.4 lacks are written as gauges: an info family as
/// `<name>_info 1`, a state set as one `<name>{<name>="state"}` sample per
/// state. The family is named with its value sample's suffix (counters
/// `<name>_total`); HELP escapes `\` and newline; `le`/`quantile` are
/// spelled as Go's clients do (`0.005`, `1`, `1e+06`); no `_created`, no
/// `# UNIT`, no end marker. Values are written as they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct Prometheus;

impl sealed::Rules for Prometheus {
    const CONTENT_TYPE: &'static str = "text/plain; version=0.0.4; charset=utf-8";
    const HELP_QUOTES: Quotes = Quotes::Verbatim;
    const BOUNDS: Integral = Integral::Bare;
    const UNIT_LINE: bool = false;
    const CREATED: bool = false;
    const EXEMPLARS: bool = false;
    const END: &'static [u8] = b"";

    fn type_name(t: MetricType) -> &'static str {
        t.classic_name()
    }

    fn metadata_suffix(t: MetricType) -> &'static str {
        t.value_suffix()
    }

    fn counter_like(_: f64) -> bool {
        true
    }
}

impl Dialect for Prometheus {}

/// OpenMetrics 1.0.0.
///
/// Metadata per family is `# HELP` (escaping `\`, `"` and newline, as label
/// values do), `# TYPE` and, when the family has a unit, `# UNIT`, all
/// naming the family without suffix; a counter family `foo` has samples
/// `foo_total` and `foo_created`; histograms and summaries carry
/// `_created` too (seconds since the epoch, recorded when each series was
/// created); `le` and `quantile` values are canonical (`1.0`, `1e+06`,
/// `+Inf`); info and state-set families keep their own types; untyped
/// families are `unknown`; the exposition ends with `# EOF`.
///
/// Exemplars follow the sample they belong to:
/// `foo_total 5 # {trace_id="abc"} 1.0 1700000000.123` on a counter, and on
/// each `_bucket` line (`+Inf` included) whose bucket holds one, with the
/// exemplar's label values escaped as label values are, its value and its
/// timestamp (seconds, left out when unknown) spelled as sample values
/// are. A native histogram's own exemplars
/// ([`NativeBuckets::exemplars`](hotmetrics_core::NativeBuckets)) are not
/// written, as the text formats have no native histograms: only those its
/// classic buckets hold. A native-only histogram is written as what the
/// core hands over for it, its `+Inf` bucket, `_sum` and `_count`.
///
/// Counter-like values must not be NaN or negative: a histogram with a
/// negative bucket bound, or whose sum is negative or NaN, and a summary
/// whose sum is negative or NaN are written without `_sum` and `_count`
/// (the spec forbids the sum, and a count needs a sum; the `+Inf` bucket
/// still carries the count); a counter a collector reports as negative or
/// NaN is left out. Text 0.0.4 and protobuf carry these values as they are.
/// Families whose suffixed sample names would clash are refused at
/// registration by the core, so the output never holds two families
/// claiming one sample name.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenMetrics;

impl sealed::Rules for OpenMetrics {
    const CONTENT_TYPE: &'static str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    const HELP_QUOTES: Quotes = Quotes::Escaped;
    const BOUNDS: Integral = Integral::Point;
    const UNIT_LINE: bool = true;
    const CREATED: bool = true;
    const EXEMPLARS: bool = true;
    const END: &'static [u8] = b"# EOF\n";

    fn type_name(t: MetricType) -> &'static str {
        t.name()
    }

    fn metadata_suffix(_: MetricType) -> &'static str {
        ""
    }

    fn counter_like(v: f64) -> bool {
        v >= 0.0
    }
}

impl Dialect for OpenMetrics {}
