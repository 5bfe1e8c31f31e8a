//! What every recorder on one registry shares (kept with the registry, as
//! [`Registry::extension`]): the families made for the facade's names, their
//! descriptions, and the count of refused registrations.
//!
//! Each facade name gets a family of its own in a private registry, and
//! the user's registry gets a [`Collector`] that walks it. The collector
//! claims the family's name in the user's registry (so a clash with the
//! application's own families is refused like any other), and hands the
//! family over with the description as it is at scrape time: a
//! `describe_*` call may come before or after the first `counter!`.

use crate::names::{family_name, sanitize_label_name, sanitize_metric_name, unit_for};
use hotmetrics_core::{
    Buckets, Collector, Counter, CounterVec, Described, Error, Family, FamilyDesc, GaugeF64,
    Histogram, LabelSet, Metric, MetricType, MetricVisitor, Registry, SeriesValue,
};
use metrics::{Key, SharedString, Unit};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// The self-metric counting refused registrations, by reason.
pub(crate) const REFUSED: &str = "hotmetrics_recorder_refused_total";

/// Why a key got a handle that records nothing.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The family was made with other label names.
    LabelNames {
        name: String,
        expected: Vec<String>,
        got: Vec<String>,
    },
    /// The name is used by a metric of another type.
    Type {
        name: String,
        wanted: MetricType,
        existing: MetricType,
    },
    /// The family's series limit is reached.
    Cardinality { name: String, error: Error },
    /// The registry refused the family (an invalid or reserved name, a
    /// clash with another family).
    Registration { name: String, error: Error },
}

impl Refusal {
    /// The `reason` label of [`REFUSED`].
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Refusal::LabelNames { .. } => "label_names",
            Refusal::Type { .. } => "type",
            Refusal::Cardinality { .. } => "cardinality",
            Refusal::Registration { .. } => "registration",
        }
    }

    /// The metric's name, sanitized.
    fn name(&self) -> &str {
        match self {
            Refusal::LabelNames { name, .. }
            | Refusal::Type { name, .. }
            | Refusal::Cardinality { name, .. }
            | Refusal::Registration { name, .. } => name,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::LabelNames {
                name,
                expected,
                got,
            } => write!(
                f,
                "{name:?} was first registered with the label names {expected:?}, this key has \
                 {got:?}"
            ),
            Refusal::Type {
                name,
                wanted,
                existing,
            } => write!(
                f,
                "{name:?} is already a {}, it cannot also be a {}",
                existing.name(),
                wanted.name()
            ),
            Refusal::Cardinality { error, .. } => error.fmt(f),
            Refusal::Registration { name, error } => {
                write!(f, "{name:?} could not be registered: {error}")
            }
        }
    }
}

/// A description from `describe_*`.
#[derive(Debug)]
struct Description {
    help: SharedString,
    unit: Option<Unit>,
}

/// A family made for a facade name.
#[derive(Clone, Debug)]
pub(crate) enum Made {
    /// `counter!`.
    Counter(Family<Counter>),
    /// `gauge!`: `f64`, as the facade's gauges are.
    Gauge(Family<GaugeF64>),
    /// `histogram!`.
    Histogram(Family<Histogram>),
}

impl Made {
    fn metric_type(&self) -> MetricType {
        match self {
            Made::Counter(_) => MetricType::Counter,
            Made::Gauge(_) => MetricType::Gauge,
            Made::Histogram(_) => MetricType::Histogram,
        }
    }
}

#[derive(Debug)]
struct Entry {
    made: Made,
    /// The label names of the first key, sanitized, in its order.
    label_names: Vec<String>,
}

/// The per-registry state.
#[derive(Debug)]
pub(crate) struct Shared {
    registry: Registry,
    /// Families by stored name ([`family_name`] of the sanitized name).
    families: Mutex<HashMap<String, Entry>>,
    /// Descriptions by stored name; the first one given for a name stays.
    descriptions: Arc<RwLock<HashMap<String, Description>>>,
    refused: CounterVec,
    /// The (name, reason) pairs already logged.
    logged: Mutex<HashSet<(String, &'static str)>>,
}

/// What [`Registry::extension`] keeps: made once per registry, under the
/// lock, because making it registers the self-metric.
#[derive(Default)]
struct Slot(Mutex<Option<Arc<Shared>>>);

impl Shared {
    /// The state of `registry`'s recorders, made (and the self-metric
    /// registered) by the first one.
    pub(crate) fn of(registry: &Registry) -> Result<Arc<Shared>, Error> {
        let slot: Arc<Slot> = registry.extension(Slot::default);
        let mut slot = slot.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = &*slot {
            return Ok(Arc::clone(shared));
        }
        let refused = registry.counter_vec(
            (
                REFUSED,
                "Registrations through the metrics facade that got a handle recording nothing, \
                 by reason (label_names, type, cardinality, registration).",
            ),
            &["reason"],
        )?;
        let shared = Arc::new(Shared {
            registry: registry.clone(),
            families: Mutex::default(),
            descriptions: Arc::default(),
            refused,
            logged: Mutex::default(),
        });
        *slot = Some(Arc::clone(&shared));
        Ok(shared)
    }

    /// Records `describe_*` for `name`: its HELP and, when the name ends in
    /// it, its unit. The first description of a name stays (as in
    /// `metrics-exporter-prometheus`).
    pub(crate) fn describe(
        &self,
        metric_type: MetricType,
        name: &str,
        unit: Option<Unit>,
        help: SharedString,
    ) {
        let sanitized = sanitize_metric_name(name);
        let stored = family_name(metric_type, &sanitized).to_owned();
        self.descriptions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(stored)
            .or_insert(Description { help, unit });
    }

    /// Counts and logs (once per name and reason) a refused registration.
    /// Called with no lock held: the logger may record metrics itself.
    pub(crate) fn refuse(&self, refusal: &Refusal) {
        let reason = refusal.reason();
        // The label value is one of four constants: the lookup cannot fail.
        let _ = self.refused.with(&[reason], |c| c.inc());
        let first = self
            .logged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((refusal.name().to_owned(), reason));
        if first {
            log::warn!(
                "hotmetrics recorder: {refusal}; its updates are dropped (counted in \
                 {REFUSED}{{reason=\"{reason}\"}}, logged once)"
            );
        }
    }

    /// The series for `key`, in the family for its name, made on first use
    /// with `make`; `pick` is `Some` when the family is of the type asked
    /// for.
    fn resolve<M: Metric>(
        &self,
        metric_type: MetricType,
        key: &Key,
        make: impl FnOnce(&Registry, &str, &[&str]) -> Result<Made, Error>,
        pick: impl FnOnce(&Made) -> Option<&Family<M>>,
    ) -> Result<M, Refusal> {
        let sanitized = sanitize_metric_name(key.name());
        let stored = family_name(metric_type, &sanitized);
        let labels: Vec<(String, &str)> = key
            .labels()
            .map(|l| (sanitize_label_name(l.key()), l.value()))
            .collect();
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = match families.get(stored) {
            Some(entry) => entry,
            None => {
                let names: Vec<&str> = labels.iter().map(|(n, _)| n.as_str()).collect();
                let made = self
                    .make(metric_type, &sanitized, stored, &names, make)
                    .map_err(|error| Refusal::Registration {
                        name: sanitized.clone(),
                        error,
                    })?;
                families.entry(stored.to_owned()).or_insert(Entry {
                    made,
                    label_names: names.iter().map(|n| (*n).to_owned()).collect(),
                })
            }
        };
        let Some(family) = pick(&entry.made) else {
            return Err(Refusal::Type {
                name: sanitized,
                wanted: metric_type,
                existing: entry.made.metric_type(),
            });
        };
        let values =
            values_in_order(&entry.label_names, &labels).ok_or_else(|| Refusal::LabelNames {
                name: sanitized.clone(),
                expected: entry.label_names.clone(),
                got: labels.iter().map(|(n, _)| n.clone()).collect(),
            })?;
        family.get_or_create(&values).map_err(|error| match error {
            Error::CardinalityLimit { .. } => Refusal::Cardinality {
                name: sanitized.clone(),
                error,
            },
            error => Refusal::Registration {
                name: sanitized.clone(),
                error,
            },
        })
    }

    /// Makes the family `stored` in a private registry and claims its name
    /// in the user's with a collector that walks it.
    fn make(
        &self,
        metric_type: MetricType,
        sanitized: &str,
        stored: &str,
        label_names: &[&str],
        make: impl FnOnce(&Registry, &str, &[&str]) -> Result<Made, Error>,
    ) -> Result<Made, Error> {
        let own = Registry::new();
        let made = make(&own, sanitized, label_names)?;
        self.registry.register_collector(FamilyCollector {
            registry: own,
            name: stored.to_owned(),
            metric_type,
            descriptions: Arc::clone(&self.descriptions),
        })?;
        Ok(made)
    }

    /// The counter series for `key`.
    pub(crate) fn counter(&self, key: &Key) -> Result<Counter, Refusal> {
        self.resolve(
            MetricType::Counter,
            key,
            |r, name, labels| r.counter_vec((name, ""), labels).map(Made::Counter),
            |made| match made {
                Made::Counter(f) => Some(f),
                _ => None,
            },
        )
    }

    /// The gauge series for `key`.
    pub(crate) fn gauge(&self, key: &Key) -> Result<GaugeF64, Refusal> {
        self.resolve(
            MetricType::Gauge,
            key,
            |r, name, labels| r.gauge_f64_vec((name, ""), labels).map(Made::Gauge),
            |made| match made {
                Made::Gauge(f) => Some(f),
                _ => None,
            },
        )
    }

    /// The histogram series for `key`, its family made with the buckets
    /// `buckets` gives for the sanitized name.
    pub(crate) fn histogram(
        &self,
        key: &Key,
        buckets: impl FnOnce(&str) -> Buckets,
    ) -> Result<Histogram, Refusal> {
        self.resolve(
            MetricType::Histogram,
            key,
            |r, name, labels| {
                r.histogram_vec((name, ""), buckets(name), labels)
                    .map(Made::Histogram)
            },
            |made| match made {
                Made::Histogram(f) => Some(f),
                _ => None,
            },
        )
    }
}

/// The values of `labels` in the order of `names`, when `labels` has
/// exactly those names, each once (the facade's keys compare equal
/// whatever their label order).
fn values_in_order<'a>(names: &[String], labels: &[(String, &'a str)]) -> Option<Vec<&'a str>> {
    if names.len() != labels.len() {
        return None;
    }
    names
        .iter()
        .map(|name| {
            let mut matching = labels.iter().filter(|(n, _)| n == name);
            match (matching.next(), matching.next()) {
                (Some((_, value)), None) => Some(*value),
                _ => None,
            }
        })
        .collect()
}

/// One facade family in the user's registry: walks the private registry
/// holding it, with the description as it is now.
struct FamilyCollector {
    registry: Registry,
    /// The family's stored name (no prefix, a counter without `_total`).
    name: String,
    metric_type: MetricType,
    descriptions: Arc<RwLock<HashMap<String, Description>>>,
}

impl Collector for FamilyCollector {
    fn describe(&self) -> Vec<Described> {
        vec![Described::new(self.name.clone(), self.metric_type)]
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        let descriptions = self
            .descriptions
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let description = descriptions.get(&self.name);
        self.registry.visit(&mut Describing {
            out,
            help: description.map_or("", |d| &*d.help),
            unit: description.and_then(|d| unit_for(&self.name, d.unit)),
        });
    }
}

/// Hands a family over with the facade's HELP and unit.
struct Describing<'a> {
    out: &'a mut dyn MetricVisitor,
    help: &'a str,
    unit: Option<&'static str>,
}

impl MetricVisitor for Describing<'_> {
    fn begin_family(&mut self, family: &FamilyDesc<'_>) {
        self.out.begin_family(&FamilyDesc {
            help: self.help,
            unit: self.unit,
            ..*family
        });
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        self.out.series(labels, value);
    }

    fn end_family(&mut self) {
        self.out.end_family();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn values_follow_the_family_order_whatever_the_key_order() {
        let family = names(&["route", "status"]);
        let key = [("status".to_owned(), "200"), ("route".to_owned(), "/a")];
        assert_eq!(values_in_order(&family, &key), Some(vec!["/a", "200"]));
    }

    #[test]
    fn other_duplicate_or_missing_names_do_not_match() {
        let family = names(&["route", "status"]);
        let other = [("route".to_owned(), "/a"), ("code".to_owned(), "200")];
        let twice = [("route".to_owned(), "/a"), ("route".to_owned(), "/b")];
        let fewer = [("route".to_owned(), "/a")];
        assert_eq!(values_in_order(&family, &other), None);
        assert_eq!(values_in_order(&family, &twice), None);
        assert_eq!(values_in_order(&family, &fewer), None);
        assert_eq!(values_in_order(&[], &[]), Some(vec![]));
    }
}
