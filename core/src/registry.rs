//! `Registry`: the set of families and collectors a scrape walks.

use crate::collector::Collector;
use crate::encode::MetricSource;
use crate::error::Error;
use crate::family::{Collect, DEFAULT_MAX_SERIES, Desc, Family};
use crate::labels::{NameValidation, Origin, escaped_metric, is_label_name, validate_label_names};
use crate::metric::{
    Buckets, Counter, CounterF64, Gauge, GaugeF64, Histogram, Info, Metric, Scratch, StateSet,
    States,
};
use crate::snapshot::Snapshot;
use crate::visit::{FamilyDesc, LabelSet, MetricType, MetricVisitor, SeriesValue};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock};

/// How a metric is named and described at registration.
///
/// `(name, help)` converts into `Opts`, so the short form reads
/// `registry.counter(("jobs_total", "Jobs done"))`.
#[derive(Clone, Debug)]
pub struct Opts {
    name: String,
    help: String,
    unit: Option<String>,
    const_labels: Vec<(String, String)>,
    max_series: usize,
}

impl Opts {
    /// A metric called `name` (before the registry's prefix) with `help`.
    pub fn new(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            help: help.into(),
            unit: None,
            const_labels: Vec::new(),
            max_series: DEFAULT_MAX_SERIES,
        }
    }

    /// The unit (OpenMetrics `# UNIT`); the name must end in `_<unit>`
    /// (before `_total` for counters).
    pub fn unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// A label with the same value on every series of this metric.
    pub fn const_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.const_labels.push((name.into(), value.into()));
        self
    }

    /// The most series the family will create (default
    /// [`DEFAULT_MAX_SERIES`]); lookups of new label values beyond it fail
    /// with [`Error::CardinalityLimit`] instead of growing without bound.
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = max;
        self
    }
}

impl<N: Into<String>, H: Into<String>> From<(N, H)> for Opts {
    fn from((name, help): (N, H)) -> Self {
        Self::new(name, help)
    }
}

/// A set of metric families and collectors, walked in a stable order by
/// [`visit`](Self::visit): families sorted by name, then collectors in
/// registration order.
///
/// ```
/// use hotmetrics_core::{Registry, Opts};
/// let registry = Registry::builder().prefix("shop").const_label("region", "eu").build().unwrap();
/// let orders = registry.counter(Opts::new("orders_total", "Orders placed")).unwrap();
/// orders.inc();
/// let snap = registry.snapshot();
/// assert_eq!(snap.counter("shop_orders", &[("region", "eu")]), Some(1.0));
/// assert!(registry.counter(("orders_total", "again")).is_err(), "duplicate names are refused");
/// ```
#[derive(Clone)]
pub struct Registry(Arc<RegistryInner>);

struct RegistryInner {
    prefix: Option<String>,
    validation: NameValidation,
    const_labels: Vec<(Box<str>, Box<str>)>,
    state: RwLock<State>,
    scratch: Mutex<Scratch>,
}

#[derive(Default)]
struct State {
    families: BTreeMap<Box<str>, Arc<dyn Collect>>,
    collectors: Vec<CollectorEntry>,
    /// Every sample name in use, as a scrape with the default escaping
    /// reads it (legacy names are their own escape) -> the sample name
    /// and the family that uses it.
    claimed: HashMap<String, (String, Arc<Claim>)>,
    next_collector: u64,
}

struct CollectorEntry {
    id: CollectorId,
    collector: Box<dyn Collector>,
    /// Whether the registry's prefix applies ([`Collector::prefixed`]).
    prefixed: bool,
    families: Vec<String>,
}

/// Who owns a sample name: a family, by its full name (the key it is
/// released by) and by the name and type its registrant gave.
#[derive(Debug)]
struct Claim {
    family: String,
    given: String,
    metric_type: MetricType,
}

/// Identifies a registered collector, to unregister it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CollectorId(u64);

/// Builds a [`Registry`] with a name prefix and constant labels.
#[derive(Debug, Default)]
pub struct RegistryBuilder {
    prefix: Option<String>,
    const_labels: Vec<(String, String)>,
    validation: NameValidation,
}

impl RegistryBuilder {
    /// Prepends `prefix_` to every family name, collectors' included
    /// unless they opt out ([`Collector::prefixed`]; the
    /// [`ProcessCollector`](crate::ProcessCollector) does, so its families
    /// keep the standard `process_*` names).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Adds a label to every series, collectors' included.
    pub fn const_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.const_labels.push((name.into(), value.into()));
        self
    }

    /// Which metric and label names the registry accepts:
    /// [`NameValidation::Legacy`] (the default) or Prometheus 3's UTF-8
    /// names, [`NameValidation::Utf8`], whose names the encoders quote or
    /// escape as each scrape asks ([`Escaping`](crate::Escaping)).
    pub fn name_validation(mut self, validation: NameValidation) -> Self {
        self.validation = validation;
        self
    }

    /// Validates the prefix and label names.
    pub fn build(self) -> Result<Registry, Error> {
        if let Some(p) = &self.prefix {
            self.validation.validate_metric_name(p)?;
        }
        validate_label_names(
            self.validation,
            MetricType::Gauge,
            "",
            "",
            self.const_labels
                .iter()
                .map(|(n, _)| (n.as_str(), Origin::RegistryConst)),
        )?;
        Ok(Registry(Arc::new(RegistryInner {
            prefix: self.prefix,
            validation: self.validation,
            const_labels: boxed_pairs(self.const_labels),
            state: RwLock::new(State::default()),
            scratch: Mutex::new(Scratch::default()),
        })))
    }
}

fn boxed_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<(Box<str>, Box<str>)> {
    pairs
        .into_iter()
        .map(|(n, v)| (n.into(), v.into()))
        .collect()
}

/// The sample names a family of this type writes, family name included;
/// two families may not share any (strict OpenMetrics parsers reject it).
pub(crate) fn sample_names(metric_type: MetricType, name: &str) -> Vec<String> {
    metric_type
        .sample_suffixes()
        .iter()
        .map(|s| format!("{name}{s}"))
        .collect()
}

impl MetricSource for Registry {
    fn visit(&self, visitor: &mut dyn MetricVisitor) {
        Registry::visit(self, visitor);
    }
}

static DEFAULT_REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

/// The process-wide registry, for code that does not pass one around.
pub fn default_registry() -> &'static Registry {
    &DEFAULT_REGISTRY
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Registry")
            .field("prefix", &self.0.prefix)
            .field("families", &state.families.keys().collect::<Vec<_>>())
            .field("collectors", &state.collectors.len())
            .finish()
    }
}

impl Registry {
    /// An empty registry without prefix or constant labels.
    pub fn new() -> Self {
        Self::builder()
            .build()
            .unwrap_or_else(|_| unreachable!("an empty builder is valid"))
    }

    /// A builder for a prefix and constant labels.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.0.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn state_mut(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.0.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn full_name(&self, name: &str) -> String {
        match &self.0.prefix {
            Some(p) => format!("{p}_{name}"),
            None => name.to_owned(),
        }
    }

    /// Registers a labeled family of any metric type; the typed helpers
    /// (`counter_vec`, `histogram_vec`, ...) call this.
    pub fn family<M: Metric>(
        &self,
        opts: impl Into<Opts>,
        label_names: &[&str],
        config: M::Config,
    ) -> Result<Family<M>, Error> {
        let opts = opts.into();
        let given = opts.name.as_str();
        let validation = self.0.validation;
        validation.validate_metric_name(given)?;
        let mut name = self.full_name(given);
        // `jobs_total` is the counter `jobs`, `build_info` the info `build`:
        // exporters add the suffix where the format wants it.
        let suffix = M::TYPE.value_suffix();
        if !suffix.is_empty()
            && let Some(base) = name.strip_suffix(suffix)
        {
            name.truncate(base.len());
        }
        validation.validate_metric_name(&name)?;
        if M::TYPE == MetricType::StateSet && !validation.is_label_name(&name) {
            let rule = match validation {
                NameValidation::Legacy => "[a-zA-Z_][a-zA-Z0-9_]*, not starting with \"__\"",
                NameValidation::Utf8 => "not starting with \"__\", as it is or escaped",
            };
            return Err(Error::InvalidStates(format!(
                "{given:?}: a state set's name is also its state label, so it must be a \
                 valid label name ({rule})"
            )));
        }
        if let Some(unit) = &opts.unit {
            let reason = if matches!(M::TYPE, MetricType::Info | MetricType::StateSet) {
                Some("info and state set metrics take no unit")
            } else if unit.is_empty()
                || !unit.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || !name.ends_with(&format!("_{unit}"))
            {
                Some(
                    "a unit is [a-zA-Z0-9_]+ and the name must end in \"_\" and the unit \
                     (before \"_total\" for a counter)",
                )
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(Error::InvalidUnit {
                    name: given.to_owned(),
                    unit: unit.clone(),
                    reason,
                });
            }
        }
        validate_label_names(
            validation,
            M::TYPE,
            &name,
            given,
            self.0
                .const_labels
                .iter()
                .map(|(n, _)| (&**n, Origin::RegistryConst))
                .chain(
                    opts.const_labels
                        .iter()
                        .map(|(n, _)| (n.as_str(), Origin::MetricConst)),
                )
                .chain(label_names.iter().map(|n| (*n, Origin::Label))),
        )?;
        let claim = Claim {
            family: name.clone(),
            given: opts.name.clone(),
            metric_type: M::TYPE,
        };
        let mut const_labels = self.0.const_labels.clone();
        const_labels.extend(boxed_pairs(opts.const_labels));
        let family = Family::<M>::new(
            Desc {
                name: name.as_str().into(),
                given: opts.name.into(),
                help: opts.help.into(),
                unit: opts.unit.map(Into::into),
                registry_consts: self.0.const_labels.len(),
                const_labels: const_labels.into(),
                label_names: label_names.iter().map(|n| Box::<str>::from(*n)).collect(),
                max_series: opts.max_series,
                validation,
            },
            config,
        );
        let mut state = self.state_mut();
        let samples = sample_names(M::TYPE, &name);
        claim_samples(&mut state, &samples, claim)?;
        state.families.insert(name.into(), family.inner());
        Ok(family)
    }

    /// Registers an unlabeled metric and returns its one series.
    pub fn metric<M: Metric>(&self, opts: impl Into<Opts>, config: M::Config) -> Result<M, Error> {
        self.single(self.family::<M>(opts, &[], config)?, |_| Ok(()))
    }

    /// The one series of the unlabeled `family`, after `init`; on an error
    /// the family is unregistered again.
    fn single<M: Metric>(
        &self,
        family: Family<M>,
        init: impl FnOnce(&M) -> Result<(), Error>,
    ) -> Result<M, Error> {
        let created = family.get_or_create(&[]).and_then(|m| init(&m).map(|()| m));
        if created.is_err() {
            self.unregister(family.name());
        }
        created
    }

    /// Registers a `u64` counter. A trailing `_total` is optional: the family
    /// is named without it and exporters add it where the format wants it.
    pub fn counter(&self, opts: impl Into<Opts>) -> Result<Counter, Error> {
        self.metric(opts, ())
    }

    /// Registers a labeled `u64` counter family.
    pub fn counter_vec(
        &self,
        opts: impl Into<Opts>,
        labels: &[&str],
    ) -> Result<Family<Counter>, Error> {
        self.family(opts, labels, ())
    }

    /// Registers an `f64` counter.
    pub fn counter_f64(&self, opts: impl Into<Opts>) -> Result<CounterF64, Error> {
        self.metric(opts, ())
    }

    /// Registers a labeled `f64` counter family.
    pub fn counter_f64_vec(
        &self,
        opts: impl Into<Opts>,
        labels: &[&str],
    ) -> Result<Family<CounterF64>, Error> {
        self.family(opts, labels, ())
    }

    /// Registers an `i64` gauge.
    pub fn gauge(&self, opts: impl Into<Opts>) -> Result<Gauge, Error> {
        self.metric(opts, ())
    }

    /// Registers a labeled `i64` gauge family.
    pub fn gauge_vec(
        &self,
        opts: impl Into<Opts>,
        labels: &[&str],
    ) -> Result<Family<Gauge>, Error> {
        self.family(opts, labels, ())
    }

    /// Registers an `f64` gauge.
    pub fn gauge_f64(&self, opts: impl Into<Opts>) -> Result<GaugeF64, Error> {
        self.metric(opts, ())
    }

    /// Registers a labeled `f64` gauge family.
    pub fn gauge_f64_vec(
        &self,
        opts: impl Into<Opts>,
        labels: &[&str],
    ) -> Result<Family<GaugeF64>, Error> {
        self.family(opts, labels, ())
    }

    /// Registers a histogram.
    pub fn histogram(&self, opts: impl Into<Opts>, buckets: Buckets) -> Result<Histogram, Error> {
        self.metric(opts, buckets)
    }

    /// Registers a labeled histogram family.
    pub fn histogram_vec(
        &self,
        opts: impl Into<Opts>,
        buckets: Buckets,
        labels: &[&str],
    ) -> Result<Family<Histogram>, Error> {
        self.family(opts, labels, buckets)
    }

    /// Registers an info metric (OpenMetrics `info`) carrying `labels`; a
    /// trailing `_info` in the name is optional, as `_total` is for
    /// counters. See [`Info`].
    pub fn info(&self, opts: impl Into<Opts>, labels: &[(&str, &str)]) -> Result<Info, Error> {
        self.single(self.family::<Info>(opts, &[], ())?, |info| info.set(labels))
    }

    /// Registers a labeled family of info metrics: one per label values,
    /// each [set](Info::set) on its own.
    pub fn info_vec(&self, opts: impl Into<Opts>, labels: &[&str]) -> Result<Family<Info>, Error> {
        self.family(opts, labels, ())
    }

    /// Registers a state set used as an enum: exactly one of `states` is
    /// enabled, the first one to begin with. See [`StateSet`]; a set of
    /// independent flags is `metric::<StateSet>(opts, States::flags(..)?)`.
    pub fn state_set(&self, opts: impl Into<Opts>, states: &[&str]) -> Result<StateSet, Error> {
        self.metric(opts, States::new(states)?)
    }

    /// Registers a labeled family of enum state sets, each in the first of
    /// `states` when created.
    pub fn state_set_vec(
        &self,
        opts: impl Into<Opts>,
        states: &[&str],
        labels: &[&str],
    ) -> Result<Family<StateSet>, Error> {
        self.family(opts, labels, States::new(states)?)
    }

    /// Registers a collector, whose families are computed at scrape time.
    /// The names it [describes](Collector::describe) are checked for clashes
    /// like any family's, with the registry's prefix unless the collector
    /// [opts out](Collector::prefixed) of it.
    pub fn register_collector(&self, collector: impl Collector) -> Result<CollectorId, Error> {
        let prefixed = collector.prefixed();
        let claims: Vec<Claim> = collector
            .describe()
            .into_iter()
            .map(|d| Claim {
                family: if prefixed {
                    self.full_name(&d.name)
                } else {
                    d.name.clone()
                },
                given: d.name,
                metric_type: d.metric_type,
            })
            .collect();
        for c in &claims {
            self.0.validation.validate_metric_name(&c.family)?;
        }
        let mut state = self.state_mut();
        let mut claimed: Vec<String> = Vec::new();
        for c in claims {
            let (family, samples) = (c.family.clone(), sample_names(c.metric_type, &c.family));
            if let Err(e) = claim_samples(&mut state, &samples, c) {
                for name in &claimed {
                    release(&mut state, name);
                }
                return Err(e);
            }
            claimed.push(family);
        }
        let id = CollectorId(state.next_collector);
        state.next_collector += 1;
        state.collectors.push(CollectorEntry {
            id,
            collector: Box::new(collector),
            prefixed,
            families: claimed,
        });
        Ok(id)
    }

    /// Removes the family called `name` (prefix included, counters without
    /// `_total`, info metrics without `_info`: [`Family::name`]); `true` if
    /// it was registered. Handles stay usable but are no
    /// longer exported.
    pub fn unregister(&self, name: &str) -> bool {
        let mut state = self.state_mut();
        let removed = state.families.remove(name);
        if removed.is_some() {
            release(&mut state, name);
        }
        removed.is_some()
    }

    /// Removes a collector; `true` if it was registered.
    pub fn unregister_collector(&self, id: CollectorId) -> bool {
        let mut state = self.state_mut();
        let Some(i) = state.collectors.iter().position(|c| c.id == id) else {
            return false;
        };
        let entry = state.collectors.remove(i);
        for name in &entry.families {
            release(&mut state, name);
        }
        true
    }

    /// Removes every family and collector.
    pub fn clear(&self) {
        let old = {
            let mut state = self.state_mut();
            let next_collector = state.next_collector;
            // Ids keep counting up so an old `CollectorId` never names a new collector.
            std::mem::replace(
                &mut *state,
                State {
                    next_collector,
                    ..State::default()
                },
            )
        };
        drop(old);
    }

    /// Names of the registered families, sorted.
    pub fn family_names(&self) -> Vec<String> {
        self.state()
            .families
            .keys()
            .map(|k| k.to_string())
            .collect()
    }

    /// Walks the merged view: every family, then every collector. Writers are
    /// never blocked; concurrent scrapes of one registry take turns.
    pub fn visit(&self, visitor: &mut dyn MetricVisitor) {
        let state = self.state();
        let mut scratch = self
            .0
            .scratch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for family in state.families.values() {
            family.visit(visitor, &mut scratch);
        }
        if state.collectors.is_empty() {
            return;
        }
        let mut wrapped = Scoped {
            inner: visitor,
            validation: self.0.validation,
            prefix: None,
            consts: &self.0.const_labels,
            name: &mut scratch.name,
            skipping: false,
        };
        for c in &state.collectors {
            wrapped.prefix = self.0.prefix.as_deref().filter(|_| c.prefixed);
            c.collector.collect(&mut wrapped);
        }
    }

    /// An owned copy of everything [`visit`](Self::visit) sees, for tests and
    /// debugging (it allocates; exporters use `visit`).
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::default();
        self.visit(&mut s);
        s
    }
}

/// Claims every sample name of a new family, or refuses it naming the
/// family that holds one of them. Names are compared as a scrape with the
/// default escaping reads them, so in a UTF-8 registry `a.b` and `a_b`
/// clash; legacy names are their own escape.
fn claim_samples(state: &mut State, samples: &[String], claim: Claim) -> Result<(), Error> {
    let keys: Vec<String> = samples.iter().map(|s| escaped_metric(s)).collect();
    if let Some((sample, key, (owned, owner))) = samples
        .iter()
        .zip(&keys)
        .find_map(|(s, k)| state.claimed.get(k).map(|owner| (s, k, owner)))
    {
        if owned != sample {
            return Err(Error::EscapedNameClash {
                name: claim.given,
                existing: owner.given.clone(),
                escaped: key.clone(),
            });
        }
        return Err(Error::AlreadyRegistered {
            name: claim.given,
            metric_type: claim.metric_type,
            existing: owner.given.clone(),
            existing_type: owner.metric_type,
            sample: (owner.family != claim.family).then(|| sample.clone()),
        });
    }
    let claim = Arc::new(claim);
    for (s, key) in samples.iter().zip(keys) {
        state.claimed.insert(key, (s.clone(), Arc::clone(&claim)));
    }
    Ok(())
}

fn release(state: &mut State, family: &str) {
    state.claimed.retain(|_, (_, owner)| owner.family != family);
}

/// Applies the registry's prefix (unless the collector opted out) and
/// constant labels to a collector's output, and drops what no exposition
/// format could carry: a family whose name is invalid, a series with an
/// invalid label name. Collectors are user code, so their output is
/// checked at every scrape.
struct Scoped<'a> {
    inner: &'a mut dyn MetricVisitor,
    validation: NameValidation,
    prefix: Option<&'a str>,
    consts: &'a [(Box<str>, Box<str>)],
    name: &'a mut String,
    /// The current family was dropped.
    skipping: bool,
}

struct WithConsts<'a> {
    consts: &'a [(Box<str>, Box<str>)],
    rest: &'a dyn LabelSet,
}

impl LabelSet for WithConsts<'_> {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (n, v) in self.consts {
            f(n, v);
        }
        self.rest.for_each(f);
    }
}

impl MetricVisitor for Scoped<'_> {
    fn begin_family(&mut self, family: &FamilyDesc<'_>) {
        self.name.clear();
        if let Some(p) = self.prefix {
            self.name.push_str(p);
            self.name.push('_');
        }
        self.name.push_str(family.name);
        let unit_ok = family.unit.is_none_or(|u| {
            is_label_name(u)
                && self
                    .name
                    .strip_suffix(u)
                    .is_some_and(|rest| rest.ends_with('_'))
        });
        // A state set's name doubles as the label carrying its states.
        let stateset_ok =
            family.metric_type != MetricType::StateSet || self.validation.is_label_name(self.name);
        self.skipping = !self.validation.is_metric_name(self.name) || !unit_ok || !stateset_ok;
        if !self.skipping {
            self.inner.begin_family(&FamilyDesc {
                name: self.name,
                ..*family
            });
        }
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        let mut names_ok = true;
        labels.for_each(&mut |n, _| names_ok &= self.validation.is_label_name(n));
        if self.skipping || !names_ok {
            return;
        }
        self.inner.series(
            &WithConsts {
                consts: self.consts,
                rest: labels,
            },
            value,
        );
    }

    fn end_family(&mut self) {
        if !self.skipping {
            self.inner.end_family();
        }
    }
}
