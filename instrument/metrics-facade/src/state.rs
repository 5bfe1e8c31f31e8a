//! What every recorder on one registry shares (kept with the registry, as
//! [`Registry::extension`]): the families made for the facade's names, their
//! descriptions, and the count of refused registrations.
//!
//! Each facade name gets a family of its own in a private registry, and
//! the user's registry gets a [`Collector`] that walks it. The collector
//! claims the family's name in the user's registry (so a clash with the
//! application's own families is refused like any other), and hands the
//! family over with the description as it is at scrape time: a
//! `describe_*` call may come before or after the first `counter!`. The
//! self-metric is a private family behind a collector as well.
//!
//! The state holds no clone of the user's registry (the registry holds the
//! state: a clone would keep both alive forever); the recorder passes its
//! own in.
//!
//! # Clear
//! [`Registry::clear`] drops every collector, ours among them, and with
//! them a [`ClearWatch`] registered with the others: its drop moves the
//! state's epoch on. The next registration through any recorder sees the
//! epoch moved and starts the state over (the self-metric registered
//! again, no facade family until a key asks for it), and every thread's
//! cache of handles is dropped on its next use, so the facade's names are
//! made again as on a new registry. Descriptions are kept: a crate
//! describes its metrics once.

use crate::names::{family_name, sanitize_label_name, sanitize_metric_name, unit_for};
use hotmetrics_core::{
    Buckets, Collector, CollectorId, Counter, CounterVec, Described, Error, Family, FamilyDesc,
    GaugeF64, Histogram, LabelSet, Metric, MetricType, MetricVisitor, Registry, SeriesValue,
};
use metrics::{Key, SharedString, Unit};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// The self-metric counting refused registrations, by reason.
pub(crate) const REFUSED: &str = "hotmetrics_recorder_refused_total";

/// [`REFUSED`]'s HELP.
const REFUSED_HELP: &str = "Registrations through the metrics facade that got a handle recording \
                            nothing, by reason (label_names, const_label, type, cardinality, \
                            registration).";

/// Why a key got a handle that records nothing.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The family was made with other label names.
    LabelNames {
        name: String,
        expected: Vec<String>,
        got: Vec<String>,
    },
    /// A label has the name of one of the registry's constant labels: the
    /// exported series would carry it twice.
    ConstLabel { name: String, label: String },
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
            Refusal::ConstLabel { .. } => "const_label",
            Refusal::Type { .. } => "type",
            Refusal::Cardinality { .. } => "cardinality",
            Refusal::Registration { .. } => "registration",
        }
    }

    /// The metric's name, sanitized.
    fn name(&self) -> &str {
        match self {
            Refusal::LabelNames { name, .. }
            | Refusal::ConstLabel { name, .. }
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
            Refusal::ConstLabel { name, label } => write!(
                f,
                "{name:?} has the label {label:?}, a constant label of the registry (every series \
                 carries it already)"
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

/// Descriptions by the type `describe_*` named and the stored name: a
/// counter's description is not a gauge's of the same name.
type Descriptions = Arc<RwLock<HashMap<MetricType, HashMap<String, Description>>>>;

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

/// What the state registered in the user's registry since it last
/// started over (see the module docs on clear).
#[derive(Debug)]
struct Epoch {
    /// The value of [`Shared::epoch`] this was started at.
    number: u64,
    /// Families by stored name ([`family_name`] of the sanitized name).
    families: HashMap<String, Entry>,
    /// [`REFUSED`], in a private registry; `None` when the user's registry
    /// refused it on a start over (a family of that name registered after
    /// a clear): refusals are then logged only.
    refused: Option<CounterVec>,
    /// Every collector registered in this epoch, unregistered when the
    /// next one starts (a no-op for those a clear dropped already; it
    /// removes those a registration racing the clear put in).
    collectors: Vec<CollectorId>,
}

impl Epoch {
    /// Registers the self-metric and a [`ClearWatch`] for `number`.
    fn start(registry: &Registry, epoch: &Arc<AtomicU64>, number: u64) -> Result<Epoch, Error> {
        let own = Registry::new();
        let refused = own.counter_vec((REFUSED, REFUSED_HELP), &["reason"])?;
        let refused_id = registry.register_collector(FamilyCollector {
            registry: own,
            name: family_name(MetricType::Counter, REFUSED).to_owned(),
            metric_type: MetricType::Counter,
            descriptions: None,
        })?;
        let watch = ClearWatch {
            epoch: Arc::clone(epoch),
            number,
        };
        let watch_id = match registry.register_collector(watch) {
            Ok(id) => id,
            Err(error) => {
                registry.unregister_collector(refused_id);
                return Err(error);
            }
        };
        Ok(Epoch {
            number,
            families: HashMap::new(),
            refused: Some(refused),
            collectors: vec![refused_id, watch_id],
        })
    }
}

/// The per-registry state.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Moved on (by one) when the registry drops the current epoch's
    /// [`ClearWatch`]: the registry was cleared.
    epoch: Arc<AtomicU64>,
    current: Mutex<Epoch>,
    /// The first description given for each (type, name); kept across
    /// clears.
    descriptions: Descriptions,
    /// The (name, reason) pairs already logged.
    logged: Mutex<HashSet<(String, &'static str)>>,
}

/// What [`Registry::extension`] keeps: made once per registry, under the
/// lock, because making it registers the self-metric.
#[derive(Default)]
struct Slot(Mutex<Option<Arc<Shared>>>);

impl Shared {
    /// The state of `registry`'s recorders, made (and the self-metric
    /// registered) by the first one; started over first if the registry
    /// was cleared since.
    pub(crate) fn of(registry: &Registry) -> Result<Arc<Shared>, Error> {
        let slot: Arc<Slot> = registry.extension(Slot::default);
        let mut slot = slot.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = &*slot {
            drop(shared.lock_current(registry));
            return Ok(Arc::clone(shared));
        }
        let epoch = Arc::new(AtomicU64::new(0));
        let current = Epoch::start(registry, &epoch, 0)?;
        let shared = Arc::new(Shared {
            epoch,
            current: Mutex::new(current),
            descriptions: Arc::default(),
            logged: Mutex::default(),
        });
        *slot = Some(Arc::clone(&shared));
        Ok(shared)
    }

    /// The epoch now: a thread's cache of handles made in another is
    /// stale. `Relaxed`: a signal only; what it guards is read under
    /// [`Shared::current`]'s lock, and a thread seeing the move late keeps
    /// writing handles the clear already took out of scrapes, as writes
    /// racing a clear do anyway.
    #[inline]
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// The current epoch, started over first when the registry was
    /// cleared since it started. A failure to register the self-metric
    /// again is logged with no lock held (the logger may record metrics
    /// itself, through this state).
    fn lock_current(&self, registry: &Registry) -> std::sync::MutexGuard<'_, Epoch> {
        loop {
            match self.try_lock_current(registry) {
                (current, None) => return current,
                (current, Some(error)) => {
                    drop(current);
                    log::warn!(
                        "hotmetrics recorder: {REFUSED:?} could not be registered again after the \
                         registry was cleared: {error}; refusals are only logged from now on"
                    );
                }
            }
        }
    }

    /// [`lock_current`](Self::lock_current), and the error that kept the
    /// self-metric out on a start over.
    fn try_lock_current(
        &self,
        registry: &Registry,
    ) -> (std::sync::MutexGuard<'_, Epoch>, Option<Error>) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        // Read before registering the new watch: a clear in between leaves
        // this number behind, and the next call starts over again.
        let now = self.epoch();
        if current.number == now {
            return (current, None);
        }
        for id in current.collectors.drain(..) {
            registry.unregister_collector(id);
        }
        match Epoch::start(registry, &self.epoch, now) {
            Ok(started) => {
                *current = started;
                (current, None)
            }
            Err(error) => {
                let watch = ClearWatch {
                    epoch: Arc::clone(&self.epoch),
                    number: now,
                };
                *current = Epoch {
                    number: now,
                    families: HashMap::new(),
                    refused: None,
                    collectors: registry.register_collector(watch).into_iter().collect(),
                };
                (current, Some(error))
            }
        }
    }

    /// Records `describe_*` for `name`: its HELP and, when the name ends in
    /// it, its unit. The first description of a (type, name) stays (as in
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
            .entry(metric_type)
            .or_default()
            .entry(stored)
            .or_insert(Description { help, unit });
    }

    /// Counts and logs (once per name and reason) a refused registration.
    /// Logs with no lock held: the logger may record metrics itself.
    pub(crate) fn refuse(&self, refusal: &Refusal) {
        let reason = refusal.reason();
        if let Some(refused) = &self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .refused
        {
            // The label value is one of five constants: the lookup cannot fail.
            let _ = refused.with(&[reason], |c| c.inc());
        }
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
    /// with `make` (and claimed in `registry`); `pick` is `Some` when the
    /// family is of the type asked for.
    fn resolve<M: Metric>(
        &self,
        registry: &Registry,
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
        let mut current = self.lock_current(registry);
        let Epoch {
            families,
            collectors,
            ..
        } = &mut *current;
        let entry = match families.get(stored) {
            Some(entry) => entry,
            None => {
                if let Some(existing) = other_type_with_samples(families, metric_type, stored) {
                    return Err(Refusal::Type {
                        name: sanitized,
                        wanted: metric_type,
                        existing,
                    });
                }
                let names: Vec<&str> = labels.iter().map(|(n, _)| n.as_str()).collect();
                if let Some(label) = registry
                    .const_label_names()
                    .find(|c| names.contains(c))
                    .map(str::to_owned)
                {
                    return Err(Refusal::ConstLabel {
                        name: sanitized,
                        label,
                    });
                }
                let (made, id) = self
                    .make(registry, metric_type, &sanitized, stored, &names, make)
                    .map_err(|error| Refusal::Registration {
                        name: sanitized.clone(),
                        error,
                    })?;
                collectors.push(id);
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
    /// in `registry` with a collector that walks it.
    fn make(
        &self,
        registry: &Registry,
        metric_type: MetricType,
        sanitized: &str,
        stored: &str,
        label_names: &[&str],
        make: impl FnOnce(&Registry, &str, &[&str]) -> Result<Made, Error>,
    ) -> Result<(Made, CollectorId), Error> {
        let own = Registry::new();
        let made = make(&own, sanitized, label_names)?;
        let id = registry.register_collector(FamilyCollector {
            registry: own,
            name: stored.to_owned(),
            metric_type,
            descriptions: Some(Arc::clone(&self.descriptions)),
        })?;
        Ok((made, id))
    }

    /// The counter series for `key`.
    pub(crate) fn counter(&self, registry: &Registry, key: &Key) -> Result<Counter, Refusal> {
        self.resolve(
            registry,
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
    pub(crate) fn gauge(&self, registry: &Registry, key: &Key) -> Result<GaugeF64, Refusal> {
        self.resolve(
            registry,
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
        registry: &Registry,
        key: &Key,
        buckets: impl FnOnce(&str) -> Buckets,
    ) -> Result<Histogram, Refusal> {
        self.resolve(
            registry,
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

/// The type of a facade family of another type whose `_total` sample has
/// the name a new family `stored` of `metric_type` would write:
/// `gauge!("jobs_total")` after `counter!("jobs")`, or `counter!("jobs")`
/// after `gauge!("jobs_total")`. Found here, the clash is a `type`
/// refusal, as `gauge!("jobs")` after `counter!("jobs")` is, rather than
/// the registry's `registration` one.
fn other_type_with_samples(
    families: &HashMap<String, Entry>,
    metric_type: MetricType,
    stored: &str,
) -> Option<MetricType> {
    let suffix = MetricType::Counter.value_suffix();
    let other = if metric_type == MetricType::Counter {
        families.get(&format!("{stored}{suffix}"))
    } else {
        stored
            .strip_suffix(suffix)
            .and_then(|counter| families.get(counter))
            .filter(|e| e.made.metric_type() == MetricType::Counter)
    };
    other
        .map(|e| e.made.metric_type())
        .filter(|t| *t != metric_type)
}

/// Dropped by the registry when it is cleared (or dropped): moves the
/// state's epoch on if it is still the one the watch was registered for
/// (the state unregistering an old watch itself changes nothing). A
/// collector of no family.
struct ClearWatch {
    epoch: Arc<AtomicU64>,
    number: u64,
}

impl Drop for ClearWatch {
    fn drop(&mut self) {
        // Relaxed: see `Shared::epoch`.
        let _ = self.epoch.compare_exchange(
            self.number,
            self.number + 1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
}

impl Collector for ClearWatch {
    fn describe(&self) -> Vec<Described> {
        Vec::new()
    }

    fn collect(&self, _: &mut dyn MetricVisitor) {}
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

/// One facade family (or the self-metric) in the user's registry: walks
/// the private registry holding it, with the description as it is now.
struct FamilyCollector {
    registry: Registry,
    /// The family's stored name (no prefix, a counter without `_total`).
    name: String,
    metric_type: MetricType,
    /// The facade's descriptions; `None` for the self-metric, whose HELP
    /// is its family's.
    descriptions: Option<Descriptions>,
}

impl Collector for FamilyCollector {
    fn describe(&self) -> Vec<Described> {
        vec![Described::new(self.name.clone(), self.metric_type)]
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        let Some(descriptions) = &self.descriptions else {
            self.registry.visit(out);
            return;
        };
        let descriptions = descriptions.read().unwrap_or_else(PoisonError::into_inner);
        let description = descriptions
            .get(&self.metric_type)
            .and_then(|by_name| by_name.get(&self.name));
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

    fn wants_native(&self) -> bool {
        self.out.wants_native()
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
