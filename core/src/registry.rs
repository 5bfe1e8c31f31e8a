//! `Registry`: the set of families and collectors a scrape walks.

use crate::collector::Collector;
use crate::encode::MetricSource;
use crate::error::Error;
use crate::extensions::Extensions;
use crate::family::{Collect, DEFAULT_MAX_SERIES, Desc, Family};
use crate::labels::{NameValidation, Origin, escaped_metric, is_label_name, validate_label_names};
use crate::metric::{
    Buckets, Counter, CounterF64, Gauge, GaugeF64, Histogram, Info, Metric, Scratch, StateSet,
    States, Summary, SummaryOpts, validate_summary,
};
use crate::snapshot::Snapshot;
use crate::visit::{FamilyDesc, LabelSet, MetricType, MetricVisitor, SeriesValue};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock};
use std::time::Duration;

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
    expiry: ExpiryOpt,
}

/// What [`Opts`] says about expiry.
#[derive(Clone, Copy, Debug)]
enum ExpiryOpt {
    /// The registry's default ([`RegistryBuilder::expire_after`]).
    Registry,
    After(Duration),
    Never,
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
            expiry: ExpiryOpt::Registry,
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
    ///
    /// The limit counts exported series: [expired](Self::expire_after)
    /// ones are not counted, and a lookup (or a sweep) that revives an
    /// expired series is never refused, so revivals can take a family
    /// above its limit until series expire again.
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = max;
        self
    }

    /// Removes a series of this family once it has not changed for
    /// `after`, recycling its cells: for label values that come from
    /// outside (routes, handler names, broker destinations) and stop
    /// being used. Overrides the registry's default
    /// ([`RegistryBuilder::expire_after`]). Only families with label names
    /// expire; on an unlabeled metric this is an
    /// [`Error::ExpiryWithoutLabels`].
    ///
    /// **Gauges: a gauge set again to the same value looks unchanged**, and
    /// so does one that went up and down by the same amount between two
    /// sweeps. Expiry sees values, not writes: it costs the update path
    /// nothing, but a rarely changing gauge (a configured size, a state
    /// set every minute to what it already was) expires although it is in
    /// use. Give such a family [`never_expire`](Self::never_expire) when
    /// the registry has a default, or an `after` longer than its writes are
    /// apart. Counters and histograms change with every write.
    ///
    /// **Up-down gauges looked up each time** (an in-flight count kept
    /// with [`Family::with`]`(.., |g| g.inc())` and `dec()`): if one
    /// expires at a non-zero value while nothing refers to it, it is
    /// dropped, and the next `dec()` starts a new series at 0 (so -1).
    /// Keep a handle to such a series ([`Family::get_or_create`], or the
    /// guards of `Family::<Gauge>::track_in_progress`, which own theirs)
    /// or give its family `never_expire`.
    ///
    /// **Info and state sets** change only when set again with other
    /// labels or another state: under a registry default they expire
    /// once they stay as they are for `after` (an `app_info` set once at
    /// start, say). Give them `never_expire` unless that is what you want.
    ///
    /// **When.** Updates record no time: sweeps do. A sweep runs at every
    /// scrape of the family (it reuses the scrape's merge, and takes the
    /// family's write lock only when something expires) and at every
    /// [`Registry::expire_idle`]. It compares each series with what the
    /// previous sweep saw; a series expires at the first sweep that finds
    /// it unchanged for at least `after` since a sweep saw it change (the
    /// first sweep to see a new or revived series counts as a change), so
    /// the granularity is the sweep interval: with scrapes every 15 s and
    /// `after` of 10 min a series goes between 10 and 10¼ minutes after
    /// its last change. An `after` of zero expires whatever did not change
    /// since the previous sweep. A scrape exports a series before it
    /// expires it.
    ///
    /// **Handles keep working.** An expired series is no longer exported,
    /// and threads' lookup caches let go of it (as after
    /// [`Family::remove`]), but it is the same series while anything still
    /// refers to it: a handle from [`Family::get_or_create`] or
    /// [`Family::handle`], a timer, or an idle thread's cache. A write
    /// through such a handle revives it at the next sweep, with its whole
    /// value, and so does a lookup of its label values
    /// ([`with`](Family::with), [`handle`](Family::handle),
    /// [`get_or_create`](Family::get_or_create)), at once: no write is
    /// lost, and a scrape never shows the same label values twice. Once
    /// nothing else refers to it, a sweep drops it and its cells are
    /// recycled; a later lookup starts a new series at zero. A thread's
    /// cache lets go at that thread's next lookup in the family (an exited
    /// thread's, at the next lookup of a thread that takes its place), so
    /// series touched by idle threads stay in memory, unexported, until
    /// then.
    ///
    /// ```
    /// use hotmetrics_core::{Opts, Registry};
    /// use std::time::Duration;
    ///
    /// let registry = Registry::new();
    /// let requests = registry
    ///     .counter_vec(
    ///         Opts::new("requests_total", "Requests").expire_after(Duration::ZERO),
    ///         &["route"],
    ///     )
    ///     .unwrap();
    /// let kept = requests.get_or_create(&["/kept"]).unwrap();
    /// kept.inc();
    /// requests.with(&["/once"], |c| c.inc()).unwrap();
    ///
    /// // Both changed since they were created: the first sweep keeps them.
    /// assert_eq!(registry.expire_idle(), 0);
    /// // Unchanged since that sweep: both expire (`after` is zero here).
    /// assert_eq!(registry.expire_idle(), 2);
    /// assert_eq!(registry.snapshot().counter("requests", &[("route", "/kept")]), None);
    ///
    /// // A write through the kept handle revives its series, value and all.
    /// kept.inc();
    /// let snap = registry.snapshot();
    /// assert_eq!(snap.counter("requests", &[("route", "/kept")]), Some(2.0));
    /// // So does a lookup: `/once` continues from 1.
    /// requests.with(&["/once"], |c| c.inc()).unwrap();
    /// assert_eq!(registry.snapshot().counter("requests", &[("route", "/once")]), Some(2.0));
    /// ```
    pub fn expire_after(mut self, after: Duration) -> Self {
        self.expiry = ExpiryOpt::After(after);
        self
    }

    /// This family's series never expire, whatever the registry's default
    /// ([`RegistryBuilder::expire_after`]): for gauges that are rarely set
    /// (see [`expire_after`](Self::expire_after)) and for label values that
    /// are known and few.
    ///
    /// ```
    /// use hotmetrics_core::{Opts, Registry};
    /// use std::time::Duration;
    ///
    /// let registry = Registry::builder().expire_after(Duration::ZERO).build().unwrap();
    /// let pool = registry
    ///     .gauge_vec(Opts::new("pool_size", "Configured pool size").never_expire(), &["pool"])
    ///     .unwrap();
    /// pool.with(&["db"], |g| g.set(16)).unwrap();
    /// registry.expire_idle();
    /// assert_eq!(registry.expire_idle(), 0);
    /// assert_eq!(registry.snapshot().gauge("pool_size", &[("pool", "db")]), Some(16.0));
    /// ```
    pub fn never_expire(mut self) -> Self {
        self.expiry = ExpiryOpt::Never;
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
    /// [`RegistryBuilder::expire_after`].
    expire_after: Option<Duration>,
    state: RwLock<State>,
    scratch: Mutex<Scratch>,
    /// [`Registry::extension`].
    extensions: Extensions,
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
    expire_after: Option<Duration>,
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

    /// The default [`Opts::expire_after`] of every family registered with
    /// label names: a family's series expire once unchanged for `after`,
    /// unless its [`Opts`] say otherwise ([`Opts::expire_after`],
    /// [`Opts::never_expire`]). Unlabeled metrics and collectors never
    /// expire. Read [`Opts::expire_after`] for what counts as a change
    /// (gauges set to the same value do not), when sweeps run, and how
    /// kept handles revive their series.
    ///
    /// ```
    /// use hotmetrics_core::Registry;
    /// use std::time::Duration;
    ///
    /// let registry = Registry::builder()
    ///     .expire_after(Duration::from_secs(600))
    ///     .build()
    ///     .unwrap();
    /// let routes = registry.counter_vec(("requests_total", "Requests"), &["route"]).unwrap();
    /// routes.with(&["/orders"], |c| c.inc()).unwrap();
    /// // Ten minutes without a change are far off: nothing expires yet.
    /// assert_eq!(registry.expire_idle(), 0);
    /// assert_eq!(routes.len(), 1);
    /// ```
    pub fn expire_after(mut self, after: Duration) -> Self {
        self.expire_after = Some(after);
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
            expire_after: self.expire_after,
            state: RwLock::new(State::default()),
            scratch: Mutex::new(Scratch::default()),
            extensions: Extensions::default(),
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

    /// State a crate built on the core keeps with this registry, one value
    /// per type `T`: the first call makes it with `init`, every later call,
    /// through any clone of the registry, returns the same value, which
    /// lives as long as the registry. Use a type private to your crate, so
    /// that nobody else's call finds it.
    ///
    /// For what is made once per registry and found again later, such as a
    /// set of families several builders share (the broker crate keeps its
    /// nine families here, one set per name prefix). `init` runs without
    /// a lock held; when two threads race, both may run it and one value
    /// is kept, so make what must exist once (registered families, say)
    /// under a lock inside the value, as in the example.
    ///
    /// ```
    /// use hotmetrics_core::{Counter, Registry};
    /// use std::sync::{Arc, Mutex};
    ///
    /// /// This crate's counter, registered once per registry.
    /// #[derive(Default)]
    /// struct Shared(Mutex<Option<Counter>>);
    ///
    /// fn shared_counter(registry: &Registry) -> Counter {
    ///     let shared: Arc<Shared> = registry.extension(Shared::default);
    ///     let mut slot = shared.0.lock().unwrap();
    ///     slot.get_or_insert_with(|| registry.counter(("jobs_total", "Jobs.")).unwrap())
    ///         .clone()
    /// }
    ///
    /// let registry = Registry::new();
    /// shared_counter(&registry).inc();
    /// shared_counter(&registry.clone()).inc();
    /// assert_eq!(shared_counter(&registry).get(), 2);
    /// ```
    pub fn extension<T>(&self, init: impl FnOnce() -> T) -> Arc<T>
    where
        T: std::any::Any + Send + Sync,
    {
        self.0.extensions.get_or_init(init)
    }

    /// The names of the registry's constant labels
    /// ([`RegistryBuilder::const_label`]), in the order they were given.
    /// Every series the registry exports carries them, collectors' too, so
    /// a crate that feeds the registry through a [`Collector`] can refuse
    /// label names that would repeat one.
    ///
    /// ```
    /// let registry = hotmetrics_core::Registry::builder()
    ///     .const_label("region", "eu")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(registry.const_label_names().collect::<Vec<_>>(), ["region"]);
    /// ```
    pub fn const_label_names(&self) -> impl Iterator<Item = &str> {
        self.0.const_labels.iter().map(|(name, _)| &**name)
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
        let expire_after = match opts.expiry {
            ExpiryOpt::Registry => self.0.expire_after.filter(|_| !label_names.is_empty()),
            ExpiryOpt::Never => None,
            ExpiryOpt::After(_) if label_names.is_empty() => {
                return Err(Error::ExpiryWithoutLabels(given.to_owned()));
            }
            ExpiryOpt::After(after) => Some(after),
        };
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
            expire_after,
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

    /// Registers a summary; `summary` is validated first
    /// ([`Error::InvalidSummary`]). See [`Summary`] for what its quantiles
    /// guarantee.
    pub fn summary(&self, opts: impl Into<Opts>, summary: SummaryOpts) -> Result<Summary, Error> {
        validate_summary(&summary)?;
        self.metric(opts, summary)
    }

    /// Registers a labeled summary family (`quantile` is not a label name
    /// it may use); `summary` is validated first.
    pub fn summary_vec(
        &self,
        opts: impl Into<Opts>,
        summary: SummaryOpts,
        labels: &[&str],
    ) -> Result<Family<Summary>, Error> {
        validate_summary(&summary)?;
        self.family(opts, labels, summary)
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
    /// never blocked; concurrent scrapes of one registry take turns. Each
    /// visit is also an expiry sweep of the families with
    /// [`Opts::expire_after`] (as [`snapshot`](Self::snapshot) is).
    pub fn visit(&self, visitor: &mut dyn MetricVisitor) {
        let state = self.state();
        let mut scratch = self
            .0
            .scratch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        scratch.cells.begin();
        for family in state.families.values() {
            family.visit(visitor, &mut scratch);
        }
        scratch.cells.end();
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

    /// Sweeps every family with [expiry](Opts::expire_after) without
    /// scraping: for applications that only push, or scrape rarely.
    /// Returns how many series expired (stopped being exported) in this
    /// sweep. Scrapes sweep too, so a scraped registry needs no calls; a
    /// push-only one calls this on its push interval, whose length is then
    /// the granularity of expiry. Takes turns with scrapes, and blocks no
    /// writer.
    ///
    /// ```
    /// use hotmetrics_core::{Opts, Registry};
    /// use std::time::Duration;
    ///
    /// let registry = Registry::builder().expire_after(Duration::ZERO).build().unwrap();
    /// let sent = registry.counter_vec(("sent_total", "Messages sent"), &["queue"]).unwrap();
    /// sent.with(&["emails"], |c| c.inc()).unwrap();
    /// assert_eq!(registry.expire_idle(), 0, "changed since it was created");
    /// assert_eq!(registry.expire_idle(), 1, "unchanged since the previous sweep");
    /// assert!(sent.is_empty());
    /// ```
    pub fn expire_idle(&self) -> usize {
        let state = self.state();
        let mut scratch = self
            .0
            .scratch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A scrape that panicked in its visitor left its blocks merging:
        // a sweep reads the cells directly.
        scratch.cells.end();
        state
            .families
            .values()
            .map(|family| family.expire_idle(&mut scratch))
            .sum()
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

    /// The scope's constant labels are the same for every family: the
    /// names are the inner set's after the same prefix.
    fn names_id(&self) -> Option<std::num::NonZeroUsize> {
        self.rest.names_id()
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

    fn wants_native(&self) -> bool {
        self.inner.wants_native()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_label_names_lists_the_registrys_own_in_order() {
        let registry = Registry::builder()
            .const_label("zone", "a")
            .const_label("region", "eu")
            .build()
            .unwrap();
        let names: Vec<&str> = registry.const_label_names().collect();
        assert_eq!(names, ["zone", "region"]);
        assert_eq!(Registry::new().const_label_names().count(), 0);
        // A family's own constant labels are not the registry's.
        registry
            .counter(Opts::new("x_total", "x").const_label("k", "v"))
            .unwrap();
        assert_eq!(registry.const_label_names().count(), 2);
    }
}
