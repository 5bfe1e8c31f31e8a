//! The metric set: one table of names, registered once per registry.

use hotmetrics_core::{Buckets, CounterVec, Error, GaugeVec, HistogramVec, Opts, Registry};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// The label carrying the method: `GET`, ..., or [`OTHER_METHOD`](crate::OTHER_METHOD).
pub(crate) const METHOD: &str = "method";
/// The label carrying the route template (aioprometheus' name for it).
pub(crate) const PATH: &str = "path";
/// The label carrying the response status: `200`, or `2xx` when grouped.
pub(crate) const STATUS_CODE: &str = "status_code";

/// Requests received (aioprometheus: `requests_total_counter`).
pub(crate) const REQUESTS: (&str, &str) = ("requests_total", "Total number of requests received");
/// Responses sent (aioprometheus: `responses_total_counter`).
pub(crate) const RESPONSES: (&str, &str) = ("responses_total", "Total number of responses sent");
/// Requests whose handler failed or panicked (aioprometheus:
/// `exceptions_total_counter`).
pub(crate) const EXCEPTIONS: (&str, &str) = (
    "exceptions_total",
    // aioprometheus' help text, kept as it is ("requested", sic) so
    // that both export the same HELP line.
    "Total number of requested which generated an exception",
);
/// Responses by status code (aioprometheus: `status_codes_counter`).
pub(crate) const STATUS_CODES: (&str, &str) = (
    "status_codes_total",
    "Total number of response status codes",
);
/// Time to the response (not in aioprometheus).
pub(crate) const DURATION: (&str, &str) = (
    "request_duration_seconds",
    "Time from receiving a request to its response, in seconds",
);
/// Requests being handled (not in aioprometheus).
pub(crate) const IN_FLIGHT: (&str, &str) =
    ("requests_in_flight", "Number of requests being handled");

/// The six families, shared by every layer built on one registry.
#[derive(Debug)]
pub(crate) struct Families {
    pub(crate) requests: CounterVec,
    pub(crate) responses: CounterVec,
    pub(crate) exceptions: CounterVec,
    pub(crate) status_codes: CounterVec,
    pub(crate) duration: HistogramVec,
    pub(crate) in_flight: GaugeVec,
}

/// What a registry keeps for this crate ([`Registry::extension`]): the
/// families, once registered, and the settings they were registered with.
#[derive(Default)]
struct RegisteredFamilies(Mutex<Option<Registered>>);

/// The families of one registry and the buckets and constant labels (in
/// name order) they were registered with.
struct Registered {
    families: Arc<Families>,
    /// The six names, as the registry has them (prefix included,
    /// counters without `_total`).
    names: Vec<String>,
    buckets: Buckets,
    const_labels: Vec<(String, String)>,
}

/// Why [`HttpMetricsLayerBuilder::build`](crate::HttpMetricsLayerBuilder::build)
/// failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The registry refused a family: a name taken by another of its
    /// families, an invalid constant label or invalid buckets.
    Registry(Error),
    /// The registry's families were registered by an earlier layer with
    /// other settings: layers on one registry share the six families, so
    /// they must agree on the buckets and the constant labels.
    SettingsDiffer {
        /// `"buckets"` or `"constant labels"`.
        setting: &'static str,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Registry(e) => write!(f, "the HTTP metrics do not register: {e}"),
            BuildError::SettingsDiffer { setting } => write!(
                f,
                "the registry's HTTP metrics were registered by another layer with other {setting}: \
                 layers on one registry must agree on them"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Registry(e) => Some(e),
            BuildError::SettingsDiffer { .. } => None,
        }
    }
}

impl From<Error> for BuildError {
    fn from(e: Error) -> Self {
        BuildError::Registry(e)
    }
}

/// `labels` in name order: the same constant labels given in another
/// order are the same settings.
fn sorted(labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut labels = labels.to_vec();
    labels.sort();
    labels
}

impl Families {
    /// The registry's families: registered by the first layer built on it
    /// (with its buckets and constant labels), shared by the later ones,
    /// which must ask for the same settings. Registered again when any of
    /// them is no longer in the registry ([`Registry::unregister`]).
    pub(crate) fn of(
        registry: &Registry,
        buckets: &Buckets,
        const_labels: &[(String, String)],
    ) -> Result<Arc<Families>, BuildError> {
        let cache: Arc<RegisteredFamilies> = registry.extension(RegisteredFamilies::default);
        let mut slot = cache.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(registered) = &*slot {
            let present = registry.family_names();
            if registered.names.iter().all(|n| present.contains(n)) {
                if registered.buckets != *buckets {
                    return Err(BuildError::SettingsDiffer { setting: "buckets" });
                }
                if registered.const_labels != sorted(const_labels) {
                    return Err(BuildError::SettingsDiffer {
                        setting: "constant labels",
                    });
                }
                return Ok(Arc::clone(&registered.families));
            }
            // Some were unregistered: the rest go too, and all six are
            // registered afresh, so that they are exported again.
            for name in &registered.names {
                registry.unregister(name);
            }
            *slot = None;
        }
        let opts = |(name, help): (&str, &str)| {
            const_labels
                .iter()
                .fold(Opts::new(name, help), |o, (n, v)| o.const_label(n, v))
        };
        let route = [METHOD, PATH];
        // A family refused (a name the application already uses) leaves
        // none of this set registered, so a later build can succeed.
        let mut made: Vec<String> = Vec::new();
        let mut register = || -> Result<Families, Error> {
            let mut keep = |name: &str| made.push(name.to_owned());
            let requests = registry.counter_vec(opts(REQUESTS), &route)?;
            keep(requests.name());
            let responses = registry.counter_vec(opts(RESPONSES), &route)?;
            keep(responses.name());
            let exceptions = registry.counter_vec(opts(EXCEPTIONS), &route)?;
            keep(exceptions.name());
            let status_codes =
                registry.counter_vec(opts(STATUS_CODES), &[METHOD, PATH, STATUS_CODE])?;
            keep(status_codes.name());
            let duration =
                registry.histogram_vec(opts(DURATION).unit("seconds"), buckets.clone(), &route)?;
            keep(duration.name());
            // A request longer than the registry's `expire_after` is still
            // in flight: its series must not expire under it.
            let in_flight = registry.gauge_vec(opts(IN_FLIGHT).never_expire(), &route)?;
            Ok(Families {
                requests,
                responses,
                exceptions,
                status_codes,
                duration,
                in_flight,
            })
        };
        let families = match register() {
            Ok(families) => {
                made.push(families.in_flight.name().to_owned());
                Arc::new(families)
            }
            Err(e) => {
                for name in &made {
                    registry.unregister(name);
                }
                return Err(e.into());
            }
        };
        *slot = Some(Registered {
            families: Arc::clone(&families),
            names: made,
            buckets: buckets.clone(),
            const_labels: sorted(const_labels),
        });
        Ok(families)
    }
}
