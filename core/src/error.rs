//! The one error type every fallible operation returns.
//!
//! Messages name metrics as the caller spelled them (`"jobs_total"`, not the
//! registry's internal `jobs`), and say what exists and what was expected.

use crate::visit::MetricType;
use std::fmt;

/// What went wrong, with enough context to fix it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A metric name outside `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    InvalidMetricName(String),
    /// A label name outside `[a-zA-Z_][a-zA-Z0-9_]*`, or starting with `__`.
    InvalidLabelName(String),
    /// A name a [`NameValidation::Utf8`](crate::NameValidation::Utf8)
    /// registry refuses: empty, or a label name that starts with `__`
    /// (as it is, or once escaped).
    InvalidUtf8Name {
        /// `"metric"` or `"label"`.
        kind: &'static str,
        /// The name given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// In a [`NameValidation::Utf8`](crate::NameValidation::Utf8)
    /// registry: two metric names (or samples), or two label names of one
    /// series, that differ but read the same to a scrape with the default
    /// escaping (underscores), such as `a.b` and `a_b`.
    EscapedNameClash {
        /// The name being registered, as given.
        name: String,
        /// The name registered before, as given.
        existing: String,
        /// What both are written as.
        escaped: String,
    },
    /// A label name the metric type reserves (`le` for histograms, ...).
    ReservedLabelName {
        /// The label name.
        label: String,
        /// Why it is reserved.
        reason: &'static str,
    },
    /// The same label name given twice for one series.
    DuplicateLabelName {
        /// The metric, named as registered; empty for the registry's own
        /// constant labels.
        family: String,
        /// The label name given twice.
        label: String,
        /// Where it was given first (`"a constant label of the registry"`).
        first: &'static str,
        /// Where it was given again (`"a label name"`).
        second: &'static str,
    },
    /// A lookup with a different number of label values than label names.
    LabelCount {
        /// The family looked up, named as registered.
        family: String,
        /// The label names the family was declared with, in order.
        expected: Vec<String>,
        /// Number of values given.
        got: usize,
    },
    /// A typed label set ([`Labels`](crate::Labels)) whose names are not
    /// the family's label names, in order.
    LabelNames {
        /// The family, named as registered.
        family: String,
        /// The family's label names.
        expected: Vec<String>,
        /// The label set's names.
        got: Vec<String>,
    },
    /// A negative, NaN or infinite increment of an `f64` counter.
    InvalidIncrement(f64),
    /// Histogram bucket bounds that are empty, unsorted, duplicated or NaN.
    InvalidBuckets(String),
    /// State-set states that are missing, empty or duplicated, or a state
    /// set whose name cannot double as its state label.
    InvalidStates(String),
    /// A state set was set to a state it does not have.
    UnknownState {
        /// The state set, named as registered.
        family: String,
        /// The state asked for.
        state: String,
        /// The states it has.
        states: Vec<String>,
    },
    /// A unit that is not the metric name's suffix, not `[a-zA-Z0-9_]+`, or
    /// given to a type that takes none (info, state set).
    InvalidUnit {
        /// The metric name, as given.
        name: String,
        /// The unit given.
        unit: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A name that is, or whose samples would be, already in the registry.
    AlreadyRegistered {
        /// The metric being registered, named as given (before the
        /// registry's prefix).
        name: String,
        /// Its type.
        metric_type: MetricType,
        /// The registered metric it clashes with, named as it was given.
        existing: String,
        /// That metric's type.
        existing_type: MetricType,
        /// The sample name both would write (prefix included), when the
        /// clash is not on the family name itself (a `foo` counter writes
        /// `foo_total`, so a `foo_total` gauge is refused); `None` when both
        /// are the same family name.
        sample: Option<String>,
    },
    /// A family refused a new series because it holds `limit` already.
    CardinalityLimit {
        /// The family, named as registered.
        family: String,
        /// Its series limit.
        limit: usize,
    },
    /// [`Opts::expire_after`](crate::Opts::expire_after) on a metric
    /// without label names (named as registered): only families expire.
    ExpiryWithoutLabels(String),
    /// The engine's 2^32 cell slots are all in use.
    SlotsExhausted,
    /// An exemplar refused: a label name outside `[a-zA-Z_][a-zA-Z0-9_]*`,
    /// a name given twice, or names and values longer than
    /// [`MAX_EXEMPLAR_CHARS`](crate::MAX_EXEMPLAR_CHARS) characters together
    /// (the OpenMetrics rule). The update it came with still counts.
    InvalidExemplar(String),
    /// Summary options that are out of range (objectives outside `[0, 1]`,
    /// a relative error outside `(0, 0.5)`, no age buckets, ...).
    InvalidSummary(String),
    /// Native-histogram options that are out of range (a factor at or below
    /// 1, a negative or NaN zero threshold, ...).
    InvalidNative(String),
}

/// `a counter`, `an info metric`, ...: a type as a message names it.
fn a_type(t: MetricType) -> &'static str {
    match t {
        MetricType::Counter => "a counter",
        MetricType::Gauge => "a gauge",
        MetricType::Histogram => "a histogram",
        MetricType::Summary => "a summary",
        MetricType::Info => "an info metric",
        MetricType::StateSet => "a state set",
        MetricType::Unknown => "an untyped metric",
    }
}

/// `"a", "b"` for a list of names.
struct Quoted<'a>(&'a [String]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name:?}")?;
        }
        Ok(())
    }
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
            Error::InvalidUtf8Name { kind, name, reason } => {
                write!(f, "invalid {kind} name {name:?}: {reason}")
            }
            Error::EscapedNameClash {
                name,
                existing,
                escaped,
            } => write!(
                f,
                "{name:?} clashes with {existing:?}: a scrape without UTF-8 support \
                 (escaping=underscores, the default) reads both as {escaped:?}"
            ),
            Error::ReservedLabelName { label, reason } => {
                write!(f, "label name {label:?} is reserved: {reason}")
            }
            Error::DuplicateLabelName {
                family,
                label,
                first,
                second,
            } => {
                if family.is_empty() {
                    f.write_str("the registry")?;
                } else {
                    write!(f, "{family:?}")?;
                }
                write!(f, ": label {label:?} is given twice, as {first}")?;
                if first == second {
                    Ok(())
                } else {
                    write!(f, " and as {second}")
                }
            }
            Error::LabelCount {
                family,
                expected,
                got,
            } => {
                let n = expected.len();
                match n {
                    0 => write!(f, "{family:?} takes no label values")?,
                    1 => write!(f, "{family:?} takes 1 label value ({})", Quoted(expected))?,
                    _ => write!(
                        f,
                        "{family:?} takes {n} label values ({})",
                        Quoted(expected)
                    )?,
                }
                write!(f, ", got {got}")
            }
            Error::LabelNames {
                family,
                expected,
                got,
            } => write!(
                f,
                "{family:?} has the labels ({}), the typed label set names ({})",
                Quoted(expected),
                Quoted(got)
            ),
            Error::InvalidIncrement(v) => {
                write!(f, "counter increment {v} rejected: must be finite and >= 0")
            }
            Error::InvalidBuckets(why) => write!(f, "invalid histogram buckets: {why}"),
            Error::InvalidStates(why) => write!(f, "invalid state set: {why}"),
            Error::UnknownState {
                family,
                state,
                states,
            } => write!(
                f,
                "{family:?} has no state {state:?}; its states are {}",
                Quoted(states)
            ),
            Error::InvalidUnit { name, unit, reason } => {
                write!(f, "unit {unit:?} of {name:?}: {reason}")
            }
            Error::AlreadyRegistered {
                name,
                metric_type,
                existing,
                existing_type,
                sample,
            } => match sample {
                None => {
                    write!(
                        f,
                        "{name:?} is already registered as {}",
                        a_type(*existing_type)
                    )?;
                    if existing != name {
                        write!(f, " (as {existing:?})")?;
                    }
                    Ok(())
                }
                Some(sample) => write!(
                    f,
                    "{name:?} ({}) clashes with {} registered as {existing:?}: both would write the sample {sample:?}",
                    a_type(*metric_type),
                    a_type(*existing_type)
                ),
            },
            Error::CardinalityLimit { family, limit } => write!(
                f,
                "{family:?}: series limit of {limit} reached; new label values are refused"
            ),
            Error::ExpiryWithoutLabels(name) => write!(
                f,
                "{name:?} has no label names, so its one series cannot expire: expire_after applies to labeled families"
            ),
            Error::SlotsExhausted => write!(f, "all 2^32 metric cell slots are in use"),
            Error::InvalidExemplar(why) => {
                write!(f, "exemplar refused (the update still counts): {why}")
            }
            Error::InvalidSummary(why) => write!(f, "invalid summary options: {why}"),
            Error::InvalidNative(why) => write!(f, "invalid native histogram options: {why}"),
        }
    }
}

impl std::error::Error for Error {}
