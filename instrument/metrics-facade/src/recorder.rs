//! [`MetricsRecorder`]: the `metrics::Recorder`, its per-thread cache of
//! resolved handles, and its builder.

use crate::handles::{CounterHandle, GaugeHandle, HistogramHandle};
use crate::names::sanitize_metric_name;
use crate::state::Shared;
use hotmetrics_core::{Buckets, Error, MetricType, Registry};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use thread_local::ThreadLocal;

/// Which histograms a set of buckets is for, by name
/// ([`RecorderBuilder::buckets_for`]), as `metrics-exporter-prometheus`'
/// `Matcher`: the pattern is sanitized like the names and compared with
/// the sanitized name the facade gives (`_total` and all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    /// The name is exactly this.
    Full(String),
    /// The name starts with this.
    Prefix(String),
    /// The name ends with this.
    Suffix(String),
}

impl Matcher {
    /// How well the matcher fits `name`: `None` if not at all; among those
    /// that do, a full match beats any prefix, a prefix any suffix, and a
    /// longer pattern a shorter one of its kind.
    fn rank(&self, name: &str) -> Option<(u8, usize)> {
        match self {
            Matcher::Full(p) => (name == p).then_some((2, p.len())),
            Matcher::Prefix(p) => name.starts_with(p.as_str()).then_some((1, p.len())),
            Matcher::Suffix(p) => name.ends_with(p.as_str()).then_some((0, p.len())),
        }
    }

    fn sanitized(self) -> Self {
        match self {
            Matcher::Full(p) => Matcher::Full(sanitize_metric_name(&p)),
            // A prefix is the start of a name, a suffix its end: only a
            // prefix's first character follows the first-character rule.
            Matcher::Prefix(p) => Matcher::Prefix(sanitize_metric_name(&p)),
            Matcher::Suffix(p) => Matcher::Suffix(sanitize_suffix(&p)),
        }
    }
}

/// A suffix sanitized as the tail of a name: every character by the rule
/// for characters after the first.
fn sanitize_suffix(p: &str) -> String {
    p.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Configures a [`MetricsRecorder`]: histogram buckets, per name or for
/// all.
#[derive(Debug)]
pub struct RecorderBuilder {
    registry: Registry,
    buckets: Buckets,
    overrides: Vec<(Matcher, Buckets)>,
}

impl RecorderBuilder {
    /// The buckets of every histogram no [`buckets_for`](Self::buckets_for)
    /// matches (default: [`Buckets::default`], Prometheus' 5 ms to 10 s).
    pub fn buckets(mut self, buckets: Buckets) -> Self {
        self.buckets = buckets;
        self
    }

    /// The buckets of the histograms `matcher` matches, as
    /// `metrics-exporter-prometheus`' `set_buckets_for_metric`. When
    /// several match a name, a [`Matcher::Full`] wins over any
    /// [`Matcher::Prefix`], a prefix over any [`Matcher::Suffix`], and the
    /// longest pattern among those of one kind; between equal ones, the
    /// last given.
    ///
    /// `metrics-exporter-prometheus` (0.18) ranks the kinds the same way
    /// and keeps the last of equal ones too, but within a kind it takes
    /// the pattern that sorts first as a string, not the longest: with
    /// prefixes `http` and `http_server` both matching `http_server_seconds`
    /// it picks `http`, this recorder `http_server`; with suffixes
    /// `_seconds` and `request_seconds` on `request_seconds` it picks
    /// `_seconds` (`_` sorts before `r`), this recorder `request_seconds`.
    /// It also sanitizes a suffix as a whole name (a leading digit becomes
    /// `_`: `Suffix("2xx")` matches names ending in `_xx`), where this
    /// recorder sanitizes it as a name's tail (`2xx` stays).
    ///
    /// Buckets are fixed when a histogram's family is made, at the first
    /// `histogram!` of its name through any recorder on the registry.
    pub fn buckets_for(mut self, matcher: Matcher, buckets: Buckets) -> Self {
        self.overrides.push((matcher.sanitized(), buckets));
        self
    }

    /// The recorder, on the builder's registry. Fails if the registry
    /// refuses the recorder's self-metric
    /// (`hotmetrics_recorder_refused_total`, registered by the first
    /// recorder on a registry and shared by all of them).
    pub fn build(self) -> Result<MetricsRecorder, Error> {
        Ok(MetricsRecorder {
            shared: Shared::of(&self.registry)?,
            registry: self.registry,
            buckets: self.buckets,
            overrides: self.overrides,
            cache: ThreadLocal::new(),
        })
    }

    /// Builds the recorder and installs it as the `metrics` facade's global
    /// recorder (`metrics::set_global_recorder`); an error if that is
    /// already set, or if [`build`](Self::build) fails.
    pub fn install(self) -> Result<(), InstallError> {
        let recorder = self.build().map_err(InstallError::Registry)?;
        metrics::set_global_recorder(recorder).map_err(|_| InstallError::AlreadyInstalled)
    }
}

/// Why [`install`](crate::install) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// The `metrics` facade has a global recorder already: it can be set
    /// once per process.
    AlreadyInstalled,
    /// The registry refused the recorder's self-metric.
    Registry(Error),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::AlreadyInstalled => f.write_str(
                "the metrics facade already has a global recorder (it can be set once per process)",
            ),
            InstallError::Registry(e) => write!(f, "the recorder's self-metric: {e}"),
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstallError::AlreadyInstalled => None,
            InstallError::Registry(e) => Some(e),
        }
    }
}

/// A `metrics::Recorder` whose counters, gauges and histograms are
/// hotmetrics series in a [`Registry`]: whatever is instrumented with the
/// `metrics` macros is scraped with the registry's own families, in every
/// format.
///
/// A key (name and labels) is resolved to its series once per thread:
/// each thread keeps its own `Arc` to a handle over the series, so a
/// `counter!(..)` looked up on every call costs a probe of a map only
/// that thread reads, and a cached `metrics::Counter` costs the engine's
/// per-thread increment. See the [crate docs](crate) for names, labels,
/// descriptions and what is refused.
pub struct MetricsRecorder {
    shared: Arc<Shared>,
    /// The registry: the shared state (kept in it) holds none.
    registry: Registry,
    buckets: Buckets,
    overrides: Vec<(Matcher, Buckets)>,
    cache: ThreadLocal<RefCell<Cache>>,
}

impl fmt::Debug for MetricsRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsRecorder")
            .field("buckets", &self.buckets)
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

impl MetricsRecorder {
    /// A builder for a recorder on `registry` (a clone of it is kept).
    pub fn builder(registry: &Registry) -> RecorderBuilder {
        RecorderBuilder {
            registry: registry.clone(),
            buckets: Buckets::default(),
            overrides: Vec::new(),
        }
    }

    /// A recorder on `registry` with the default buckets.
    pub fn new(registry: &Registry) -> Result<Self, Error> {
        Self::builder(registry).build()
    }

    /// The buckets for the histogram called `name` (sanitized).
    fn buckets_for(&self, name: &str) -> Buckets {
        self.overrides
            .iter()
            .enumerate()
            .filter_map(|(i, (m, b))| m.rank(name).map(|rank| ((rank, i), b)))
            .max_by_key(|(rank, _)| *rank)
            .map_or(&self.buckets, |(_, b)| b)
            .clone()
    }

    /// The calling thread's handle for `key` of one type, resolved through
    /// the shared state on the thread's first use of the key.
    fn handle<T>(
        &self,
        key: &Key,
        map: impl Fn(&mut Cache) -> &mut KeyMap<T>,
        resolve: impl FnOnce() -> Option<Arc<T>>,
    ) -> Option<Arc<T>> {
        let cell = self.cache.get_or_default();
        let epoch = self.shared.epoch();
        // Nothing below calls out while the cache is borrowed; a logger
        // recording metrics is only ever called from `resolve`.
        if let Ok(mut cache) = cell.try_borrow_mut() {
            if cache.epoch != epoch {
                // The registry was cleared: this thread's handles are of
                // families no longer scraped.
                *cache = Cache {
                    epoch,
                    ..Cache::default()
                };
            } else if let Some(hit) = map(&mut cache).get(key) {
                return Some(Arc::clone(hit));
            }
        }
        let handle = resolve()?;
        if let Ok(mut cache) = cell.try_borrow_mut() {
            map(&mut cache).insert(key.clone(), Arc::clone(&handle));
        }
        Some(handle)
    }
}

impl metrics::Recorder for MetricsRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared
            .describe(MetricType::Counter, key.as_str(), unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared
            .describe(MetricType::Gauge, key.as_str(), unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared
            .describe(MetricType::Histogram, key.as_str(), unit, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let handle = self.handle(
            key,
            |c| &mut c.counters,
            || match self.shared.counter(&self.registry, key) {
                Ok(series) => Some(Arc::new(CounterHandle(series))),
                Err(refusal) => {
                    self.shared.refuse(&refusal);
                    None
                }
            },
        );
        handle.map_or_else(Counter::noop, Counter::from_arc)
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let handle = self.handle(
            key,
            |c| &mut c.gauges,
            || match self.shared.gauge(&self.registry, key) {
                Ok(series) => Some(Arc::new(GaugeHandle(series))),
                Err(refusal) => {
                    self.shared.refuse(&refusal);
                    None
                }
            },
        );
        handle.map_or_else(Gauge::noop, Gauge::from_arc)
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let handle = self.handle(
            key,
            |c| &mut c.histograms,
            || match self
                .shared
                .histogram(&self.registry, key, |name| self.buckets_for(name))
            {
                Ok(series) => Some(Arc::new(HistogramHandle(series))),
                Err(refusal) => {
                    self.shared.refuse(&refusal);
                    None
                }
            },
        );
        handle.map_or_else(Histogram::noop, Histogram::from_arc)
    }
}

/// Keys by the hash they carry: [`Key`]'s `Hash` writes only that (one
/// `write_u64`), so the map hashes nothing again.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    /// Not what `Key` calls; folds bytes in (FNV-1a) so any other input
    /// still hashes correctly.
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type KeyMap<T> = HashMap<Key, Arc<T>, BuildHasherDefault<KeyHasher>>;

/// One thread's handles, by key. Refused keys are not kept: each
/// registration of one is refused (and counted) again.
#[derive(Default)]
struct Cache {
    /// The shared state's epoch the handles were resolved in.
    epoch: u64,
    counters: KeyMap<CounterHandle>,
    gauges: KeyMap<GaugeHandle>,
    histograms: KeyMap<HistogramHandle>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_matcher_picks_the_buckets() {
        let registry = Registry::new();
        let b = |v: f64| Buckets::new(vec![v]).unwrap();
        let recorder = MetricsRecorder::builder(&registry)
            .buckets(b(1.0))
            .buckets_for(Matcher::Suffix("_seconds".into()), b(2.0))
            .buckets_for(Matcher::Prefix("http".into()), b(3.0))
            .buckets_for(Matcher::Prefix("http.server".into()), b(4.0))
            .buckets_for(Matcher::Full("http.server.duration_seconds".into()), b(5.0))
            .build()
            .unwrap();
        let first = |name: &str| recorder.buckets_for(name).bounds()[0];
        assert_eq!(first("other"), 1.0);
        assert_eq!(first("db_seconds"), 2.0);
        assert_eq!(first("http_client_seconds"), 3.0);
        assert_eq!(first("http_server_seconds"), 4.0);
        assert_eq!(first("http_server_duration_seconds"), 5.0);
    }

    #[test]
    fn key_hasher_keeps_the_key_hash() {
        use std::hash::BuildHasher;
        let key = Key::from_static_name("jobs");
        let hashed = BuildHasherDefault::<KeyHasher>::default().hash_one(&key);
        assert_eq!(hashed, key.get_hash());
    }
}
