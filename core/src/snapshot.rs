//! `Snapshot`: an owned copy of a registry's merged view, for tests (yours
//! and ours) and debugging.

use crate::visit::{FamilyDesc, LabelSet, MetricType, MetricVisitor, SeriesValue};

/// Every family and series a scrape saw, owned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Families in visiting order.
    pub families: Vec<FamilySnapshot>,
}

/// One family of a [`Snapshot`].
#[derive(Clone, Debug, PartialEq)]
pub struct FamilySnapshot {
    /// Name, prefix included, counters without `_total`.
    pub name: String,
    /// Help text.
    pub help: String,
    /// Type.
    pub metric_type: MetricType,
    /// Unit, if given.
    pub unit: Option<String>,
    /// The series.
    pub series: Vec<SeriesSnapshot>,
}

/// One series of a [`FamilySnapshot`].
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesSnapshot {
    /// Label pairs in exported order.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: ValueSnapshot,
    /// Creation time (seconds since the Unix epoch) of counters, histograms
    /// and summaries that report one.
    pub created: Option<f64>,
}

/// An owned [`SeriesValue`].
#[derive(Clone, Debug, PartialEq)]
pub enum ValueSnapshot {
    /// Counter total.
    Counter(f64),
    /// Gauge value.
    Gauge(f64),
    /// Histogram with per-bucket (not cumulative) counts, `+Inf` last.
    Histogram {
        /// Finite bounds.
        upper_bounds: Vec<f64>,
        /// Per-bucket counts.
        bucket_counts: Vec<u64>,
        /// Observation count.
        count: u64,
        /// Observation sum.
        sum: f64,
    },
    /// Summary.
    Summary {
        /// `(quantile, value)` pairs.
        quantiles: Vec<(f64, f64)>,
        /// Count.
        count: u64,
        /// Sum.
        sum: f64,
    },
    /// Info (value 1).
    Info,
    /// State set.
    StateSet(Vec<(String, bool)>),
    /// Untyped value.
    Unknown(f64),
}

impl Snapshot {
    /// The family called `name`.
    pub fn family(&self, name: &str) -> Option<&FamilySnapshot> {
        self.families.iter().find(|f| f.name == name)
    }

    /// The value of the series of family `name` whose labels are exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<&ValueSnapshot> {
        self.family(name)?
            .series
            .iter()
            .find(|s| {
                s.labels.len() == labels.len()
                    && s.labels
                        .iter()
                        .zip(labels)
                        .all(|(a, b)| a.0 == b.0 && a.1 == b.1)
            })
            .map(|s| &s.value)
    }

    /// A counter's total.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.value(name, labels)? {
            ValueSnapshot::Counter(v) => Some(*v),
            _ => None,
        }
    }

    /// A gauge's value.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.value(name, labels)? {
            ValueSnapshot::Gauge(v) => Some(*v),
            _ => None,
        }
    }
}

impl MetricVisitor for Snapshot {
    fn begin_family(&mut self, f: &FamilyDesc<'_>) {
        self.families.push(FamilySnapshot {
            name: f.name.to_owned(),
            help: f.help.to_owned(),
            metric_type: f.metric_type,
            unit: f.unit.map(str::to_owned),
            series: Vec::new(),
        });
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        let mut pairs = Vec::new();
        labels.for_each(&mut |n, v| pairs.push((n.to_owned(), v.to_owned())));
        let created = match *value {
            SeriesValue::Counter { created, .. } => Some(created),
            SeriesValue::Histogram(h) => h.created,
            SeriesValue::Summary(s) => s.created,
            _ => None,
        };
        let value = match *value {
            SeriesValue::Counter { value, .. } => ValueSnapshot::Counter(value.as_f64()),
            SeriesValue::Gauge(v) => ValueSnapshot::Gauge(v.as_f64()),
            SeriesValue::Unknown(v) => ValueSnapshot::Unknown(v.as_f64()),
            SeriesValue::Histogram(h) => ValueSnapshot::Histogram {
                upper_bounds: h.upper_bounds.to_vec(),
                bucket_counts: h.bucket_counts.to_vec(),
                count: h.count,
                sum: h.sum,
            },
            SeriesValue::Summary(s) => ValueSnapshot::Summary {
                quantiles: s.quantiles.to_vec(),
                count: s.count,
                sum: s.sum,
            },
            SeriesValue::Info => ValueSnapshot::Info,
            SeriesValue::StateSet(states) => {
                ValueSnapshot::StateSet(states.iter().map(|(s, b)| ((*s).to_owned(), *b)).collect())
            }
        };
        if let Some(f) = self.families.last_mut() {
            f.series.push(SeriesSnapshot {
                labels: pairs,
                value,
                created,
            });
        }
    }
}
