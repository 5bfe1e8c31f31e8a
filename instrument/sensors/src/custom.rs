//! [`CustomSensor`]: business metrics of a stream processor under one
//! name, keyed by free-form keys.

use crate::keyed::{Keyed, Miss};
use hotmetrics_core::{Buckets, Counter, Family, GaugeF64, Histogram, Registry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The longest key a [`CustomSensor`] takes, in bytes.
pub const MAX_KEY_BYTES: usize = 128;

/// Why a [`CustomSensor`] refused an update.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomError {
    /// The key is empty or longer than [`MAX_KEY_BYTES`].
    InvalidKey(String),
    /// A new key past the sensor's key limit.
    TooManyKeys {
        /// The limit.
        limit: usize,
    },
    /// A NaN or infinite value.
    InvalidValue(f64),
    /// Registering the sensor's families failed.
    Registry(hotmetrics_core::Error),
}

impl fmt::Display for CustomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomError::InvalidKey(k) => {
                write!(f, "invalid key {k:?}: must be 1 to {MAX_KEY_BYTES} bytes")
            }
            CustomError::TooManyKeys { limit } => {
                write!(f, "too many keys: the limit is {limit}")
            }
            CustomError::InvalidValue(v) => write!(f, "invalid value {v}: must be finite"),
            CustomError::Registry(e) => write!(f, "registering the sensor's families: {e}"),
        }
    }
}

impl std::error::Error for CustomError {}

/// Named business metrics, as the Faust reference's custom sensor has them:
/// four families under the sensor's name, each with a `key` label:
/// `<name>_counts_total` ([`increment_counter`](Self::increment_counter)),
/// `<name>_levels` ([`set_gauge`](Self::set_gauge)), `<name>_distribution`
/// ([`record_histogram`](Self::record_histogram)) and `<name>_last_value`
/// (the last value given to [`record_metric`](Self::record_metric)); no
/// name says its type, which `promtool check metrics` would flag.
///
/// A key's series are created on its first use, up to the key limit
/// (default 1,000 per kind); after that the same key is found in the
/// calling thread's cache: no lock, no allocation, no registration.
///
/// ```
/// let registry = hotmetrics_core::Registry::new();
/// let orders = hotmetrics_sensors::CustomSensor::new(&registry, "orders").unwrap();
/// orders.increment_counter("placed", 2).unwrap();
/// orders.set_gauge("open_baskets", 7.0).unwrap();
/// orders.record_histogram("basket_eur", 42.5).unwrap();
/// assert!(orders.increment_counter("", 1).is_err());
/// assert_eq!(orders.get_metrics().counters["placed"], 2);
/// ```
pub struct CustomSensor {
    name: String,
    max_keys: usize,
    counters: Family<Counter>,
    gauges: Family<GaugeF64>,
    histograms: Family<Histogram>,
    metrics: Family<GaugeF64>,
    counter_keys: Keyed<Counter>,
    gauge_keys: Keyed<GaugeF64>,
    histogram_keys: Keyed<Histogram>,
    metric_keys: Keyed<GaugeF64>,
}

impl fmt::Debug for CustomSensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomSensor")
            .field("name", &self.name)
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

/// A histogram's count and sum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HistogramSummary {
    /// Observations.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

/// Every key's value, from [`CustomSensor::get_metrics`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomMetrics {
    /// The sensor's name.
    pub name: String,
    /// Counters by key.
    pub counters: BTreeMap<String, u64>,
    /// Gauges by key.
    pub gauges: BTreeMap<String, f64>,
    /// Histograms by key.
    pub histograms: BTreeMap<String, HistogramSummary>,
    /// Last recorded values by key.
    pub metrics: BTreeMap<String, f64>,
}

impl CustomSensor {
    /// A sensor `name` with the default buckets and at most 1,000 keys of
    /// each kind, its families registered in `registry`.
    pub fn new(registry: &Registry, name: &str) -> Result<Self, CustomError> {
        Self::with(registry, name, Buckets::default(), 1000)
    }

    /// A sensor with `buckets` for its histograms and `max_keys` keys of
    /// each kind at most.
    pub fn with(
        registry: &Registry,
        name: &str,
        buckets: Buckets,
        max_keys: usize,
    ) -> Result<Self, CustomError> {
        let reg = |e| CustomError::Registry(e);
        let opts = |kind: &str, help: &str| {
            hotmetrics_core::Opts::new(format!("{name}_{kind}"), format!("{name}: {help}"))
                .max_series(max_keys)
        };
        Ok(Self {
            name: name.to_owned(),
            max_keys,
            counters: registry
                .counter_vec(opts("counts", "counters by key"), &["key"])
                .map_err(reg)?,
            gauges: registry
                .gauge_f64_vec(opts("levels", "gauges by key"), &["key"])
                .map_err(reg)?,
            histograms: registry
                .histogram_vec(
                    opts("distribution", "distributions by key"),
                    buckets,
                    &["key"],
                )
                .map_err(reg)?,
            metrics: registry
                .gauge_f64_vec(opts("last_value", "last recorded value by key"), &["key"])
                .map_err(reg)?,
            counter_keys: Keyed::new(max_keys),
            gauge_keys: Keyed::new(max_keys),
            histogram_keys: Keyed::new(max_keys),
            metric_keys: Keyed::new(max_keys),
        })
    }

    /// The sensor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn check_key(key: &str) -> Result<(), CustomError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(CustomError::InvalidKey(key.to_owned()));
        }
        Ok(())
    }

    fn check_value(v: f64) -> Result<(), CustomError> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(CustomError::InvalidValue(v))
        }
    }

    fn update<M>(
        &self,
        keys: &Keyed<M>,
        family: &Family<M>,
        key: &str,
        f: impl FnOnce(&M),
    ) -> Result<(), CustomError>
    where
        M: hotmetrics_core::Metric + Send + Sync,
    {
        Self::check_key(key)?;
        match keys.with(key, 0, || family.get_or_create(&[key]).ok(), f) {
            Err(Miss::Refused) => Err(CustomError::TooManyKeys {
                limit: self.max_keys,
            }),
            // Never forgotten: no event of these maps races with a revoke.
            Ok(()) | Err(Miss::Revoked) => Ok(()),
        }
    }

    /// Adds `n` to the counter `key`.
    pub fn increment_counter(&self, key: &str, n: u64) -> Result<(), CustomError> {
        self.update(&self.counter_keys, &self.counters, key, |c| c.inc_by(n))
    }

    /// Sets the gauge `key` to `v` (finite).
    pub fn set_gauge(&self, key: &str, v: f64) -> Result<(), CustomError> {
        Self::check_value(v)?;
        self.update(&self.gauge_keys, &self.gauges, key, |g| g.set(v))
    }

    /// Records `v` (finite) in the histogram `key`.
    pub fn record_histogram(&self, key: &str, v: f64) -> Result<(), CustomError> {
        Self::check_value(v)?;
        self.update(&self.histogram_keys, &self.histograms, key, |h| {
            h.observe(v)
        })
    }

    /// Records `v` (finite) as the last value of `key`.
    pub fn record_metric(&self, key: &str, v: f64) -> Result<(), CustomError> {
        Self::check_value(v)?;
        self.update(&self.metric_keys, &self.metrics, key, |g| g.set(v))
    }

    /// Every key's value now.
    pub fn get_metrics(&self) -> CustomMetrics {
        let collect = |entries: Vec<std::sync::Arc<crate::keyed::Entry<GaugeF64>>>| {
            entries
                .iter()
                .map(|e| (e.name.to_string(), e.value.get()))
                .collect()
        };
        CustomMetrics {
            name: self.name.clone(),
            counters: self
                .counter_keys
                .entries()
                .iter()
                .map(|e| (e.name.to_string(), e.value.get()))
                .collect(),
            gauges: collect(self.gauge_keys.entries()),
            histograms: self
                .histogram_keys
                .entries()
                .iter()
                .map(|e| {
                    let s = e.value.snapshot();
                    (
                        e.name.to_string(),
                        HistogramSummary {
                            count: s.count,
                            sum: s.sum,
                        },
                    )
                })
                .collect(),
            metrics: collect(self.metric_keys.entries()),
        }
    }
}
