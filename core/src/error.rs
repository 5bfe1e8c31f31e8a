//! The one error type every fallible operation returns.

use std::fmt;

/// What went wrong, with enough context to fix it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A metric name outside `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    InvalidMetricName(String),
    /// A label name outside `[a-zA-Z_][a-zA-Z0-9_]*`, or starting with `__`.
    InvalidLabelName(String),
    /// A label name the metric type reserves (`le` for histograms, ...).
    ReservedLabelName {
        /// The label name.
        label: String,
        /// Why it is reserved.
        reason: &'static str,
    },
    /// The same label name given twice for one series.
    DuplicateLabelName(String),
    /// A lookup with a different number of label values than label names.
    LabelCount {
        /// The family looked up.
        family: String,
        /// Number of label names the family was declared with.
        expected: usize,
        /// Number of values given.
        got: usize,
    },
    /// A negative, NaN or infinite increment of an `f64` counter.
    InvalidIncrement(f64),
    /// Histogram bucket bounds that are empty, unsorted, duplicated or NaN.
    InvalidBuckets(String),
    /// A unit that is not the metric name's suffix, or not `[a-zA-Z0-9_]+`.
    InvalidUnit {
        /// The metric name.
        name: String,
        /// The unit given.
        unit: String,
    },
    /// A name that is, or whose samples would be, already in the registry.
    AlreadyRegistered {
        /// The sample or family name that clashes.
        name: String,
        /// The family that already owns it.
        existing: String,
    },
    /// A family refused a new series because it holds `limit` already.
    CardinalityLimit {
        /// The family.
        family: String,
        /// Its series limit.
        limit: usize,
    },
    /// The engine's 2^32 cell slots are all in use.
    SlotsExhausted,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidMetricName(n) => {
                write!(
                    f,
                    "invalid metric name {n:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*"
                )
            }
            Error::InvalidLabelName(n) => write!(
                f,
                "invalid label name {n:?}: must match [a-zA-Z_][a-zA-Z0-9_]* and not start with \"__\""
            ),
            Error::ReservedLabelName { label, reason } => {
                write!(f, "label name {label:?} is reserved: {reason}")
            }
            Error::DuplicateLabelName(n) => write!(f, "label name {n:?} is given twice"),
            Error::LabelCount {
                family,
                expected,
                got,
            } => write!(f, "{family}: expected {expected} label value(s), got {got}"),
            Error::InvalidIncrement(v) => {
                write!(f, "counter increment {v} rejected: must be finite and >= 0")
            }
            Error::InvalidBuckets(why) => write!(f, "invalid histogram buckets: {why}"),
            Error::InvalidUnit { name, unit } => write!(
                f,
                "unit {unit:?} of {name:?}: must be [a-zA-Z0-9_]+ and the name must end in \"_{unit}\""
            ),
            Error::AlreadyRegistered { name, existing } => {
                write!(
                    f,
                    "{name:?} clashes with the registered family {existing:?}"
                )
            }
            Error::CardinalityLimit { family, limit } => write!(
                f,
                "{family}: series limit of {limit} reached; new label values are refused"
            ),
            Error::SlotsExhausted => write!(f, "all 2^32 metric cell slots are in use"),
        }
    }
}

impl std::error::Error for Error {}
