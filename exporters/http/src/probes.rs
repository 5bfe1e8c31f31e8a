//! The seams of the standalone server's `/health` and `/stats` routes: an
//! application (or a crate such as `hotmetrics-sensors`) implements them,
//! the server only calls them. The server knows nothing of what is checked.

use std::fmt;
use std::sync::Arc;

/// What `/health` answers when a [`HealthCheck`] is set
/// ([`ServerBuilder::health`](crate::ServerBuilder::health)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthAnswer {
    /// `true`: `200 OK`; `false`: `503 Service Unavailable`.
    pub healthy: bool,
    /// The body, a JSON document (sent as `application/json`).
    pub json: Vec<u8>,
}

/// A readiness check behind `/health`: called for every `GET` or
/// `HEAD /health` on the runtime's blocking pool (off its async workers),
/// at most `max_concurrent_scrapes` at once (counted apart from the
/// scrapes); further requests meanwhile get `503` with `Retry-After: 1`
/// (a panicking check, `500`). It should still answer quickly.
pub trait HealthCheck: Send + Sync + 'static {
    /// The check's verdict and its JSON report.
    fn check(&self) -> HealthAnswer;
}

/// A JSON view of the application's state behind `/stats`
/// ([`ServerBuilder::stats`](crate::ServerBuilder::stats)), called for
/// every request to it as a [`HealthCheck`] is: on the blocking pool,
/// sharing the health checks' `max_concurrent_scrapes` slots, `503` with
/// `Retry-After: 1` when they are taken.
pub trait StatsJson: Send + Sync + 'static {
    /// The document, a JSON value (sent as `application/json`).
    fn stats_json(&self) -> Vec<u8>;
}

/// The optional probes of a service: `Debug` without requiring it of the
/// application's types.
#[derive(Clone, Default)]
pub(crate) struct Probes {
    pub(crate) health: Option<Arc<dyn HealthCheck>>,
    pub(crate) stats: Option<Arc<dyn StatsJson>>,
}

impl fmt::Debug for Probes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probes")
            .field("health", &self.health.is_some())
            .field("stats", &self.stats.is_some())
            .finish()
    }
}
