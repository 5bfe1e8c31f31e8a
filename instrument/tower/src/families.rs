//! The metric set: one table of names, registered once per registry.

use hotmetrics_core::{Buckets, CounterVec, Error, GaugeVec, HistogramVec, Opts, Registry};
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
/// families, once registered.
#[derive(Default)]
struct Shared(Mutex<Option<Arc<Families>>>);

impl Families {
    /// The registry's families: registered by the first layer built on it
    /// (with its buckets and constant labels), shared by the later ones.
    pub(crate) fn of(
        registry: &Registry,
        buckets: &Buckets,
        const_labels: &[(String, String)],
    ) -> Result<Arc<Families>, Error> {
        let shared: Arc<Shared> = registry.extension(Shared::default);
        let mut slot = shared.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(families) = &*slot {
            return Ok(Arc::clone(families));
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
            let duration = registry.histogram_vec(opts(DURATION), buckets.clone(), &route)?;
            keep(duration.name());
            let in_flight = registry.gauge_vec(opts(IN_FLIGHT), &route)?;
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
            Ok(families) => Arc::new(families),
            Err(e) => {
                for name in &made {
                    registry.unregister(name);
                }
                return Err(e);
            }
        };
        *slot = Some(Arc::clone(&families));
        Ok(families)
    }
}
