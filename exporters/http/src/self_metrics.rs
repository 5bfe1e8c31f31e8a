//! The server's own metrics, registered into the registry it serves.

use std::time::Duration;

use hotmetrics_core::{Buckets, Counter, Gauge, Histogram, Registry};
use hotmetrics_exposition::Format;

use crate::Error;

/// Handles to the self-metrics, resolved once so a scrape updates them
/// without a lookup.
#[derive(Debug)]
pub(crate) struct SelfMetrics {
    /// Per compiled-in format, in [`Format::available`] order.
    scrapes: Vec<(Format, Counter)>,
    rejected_busy: Counter,
    rejected_unauthorized: Counter,
    duration: Histogram,
    bytes: Counter,
    series: Gauge,
}

impl SelfMetrics {
    pub(crate) fn register(registry: &Registry) -> Result<Self, Error> {
        let scrapes_vec = registry
            .counter_vec(
                (
                    "hotmetrics_http_scrapes_total",
                    "Scrapes served by the metrics server, by exposition format.",
                ),
                &["format"],
            )
            .map_err(Error::SelfMetrics)?;
        let mut scrapes = Vec::new();
        for &format in Format::available() {
            let counter = scrapes_vec
                .get_or_create(&[format.name()])
                .map_err(Error::SelfMetrics)?;
            scrapes.push((format, counter));
        }
        let rejected = registry
            .counter_vec(
                (
                    "hotmetrics_http_scrapes_rejected_total",
                    "Scrapes refused: 'busy' (503, too many at once) or 'unauthorized' (401).",
                ),
                &["reason"],
            )
            .map_err(Error::SelfMetrics)?;
        let rejected_busy = rejected
            .get_or_create(&["busy"])
            .map_err(Error::SelfMetrics)?;
        let rejected_unauthorized = rejected
            .get_or_create(&["unauthorized"])
            .map_err(Error::SelfMetrics)?;
        // 0.5 ms to ~8 s.
        let buckets = Buckets::exponential(0.0005, 4.0, 8).map_err(Error::SelfMetrics)?;
        let duration = registry
            .histogram(
                (
                    "hotmetrics_http_scrape_duration_seconds",
                    "Time to encode (and compress) a scrape.",
                ),
                buckets,
            )
            .map_err(Error::SelfMetrics)?;
        let bytes = registry
            .counter((
                "hotmetrics_http_scrape_bytes_total",
                "Bytes of exposition encoded, before compression.",
            ))
            .map_err(Error::SelfMetrics)?;
        let series = registry
            .gauge((
                "hotmetrics_http_scrape_series",
                "Series in the last scrape (a histogram, summary or state set counts once; OpenMetrics also counts a NaN or negative collector counter it leaves out).",
            ))
            .map_err(Error::SelfMetrics)?;
        Ok(Self {
            scrapes,
            rejected_busy,
            rejected_unauthorized,
            duration,
            bytes,
            series,
        })
    }

    /// A scrape in `format` starts; counted before encoding, so a scrape
    /// sees itself.
    pub(crate) fn scrape_started(&self, format: Format) {
        if let Some((_, counter)) = self.scrapes.iter().find(|(f, _)| *f == format) {
            counter.inc();
        }
    }

    pub(crate) fn scrape_done(&self, elapsed: Duration, encoded: usize, series: u64) {
        self.duration.observe_duration(elapsed);
        self.bytes
            .inc_by(u64::try_from(encoded).unwrap_or(u64::MAX));
        self.series.set(i64::try_from(series).unwrap_or(i64::MAX));
    }

    pub(crate) fn rejected_busy(&self) {
        self.rejected_busy.inc();
    }

    pub(crate) fn rejected_unauthorized(&self) {
        self.rejected_unauthorized.inc();
    }
}

/// Why the server closed a connection on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// Closed to make room for a newcomer over `max_connections`.
    Evicted,
    /// A newcomer answered 503 without its request being read: every
    /// connection was answering a request or had only just started.
    Rejected,
    /// Its request head (or TLS handshake) took longer than
    /// `header_read_timeout`.
    HeaderTimeout,
    /// No traffic for `idle_timeout`.
    IdleTimeout,
}

impl CloseReason {
    /// The `reason` label.
    fn label(self) -> &'static str {
        match self {
            CloseReason::Evicted => "evicted",
            CloseReason::Rejected => "rejected",
            CloseReason::HeaderTimeout => "header_timeout",
            CloseReason::IdleTimeout => "idle_timeout",
        }
    }
}

/// The standalone server's connection metrics (a
/// [`MetricsService`](crate::MetricsService) in a server of your own has
/// no connections of its own to count).
#[derive(Debug)]
pub(crate) struct ConnectionMetrics {
    open: Gauge,
    evicted: Counter,
    rejected: Counter,
    header_timeout: Counter,
    idle_timeout: Counter,
}

impl ConnectionMetrics {
    pub(crate) fn register(registry: &Registry) -> Result<Self, Error> {
        let open = registry
            .gauge((
                "hotmetrics_http_connections_open",
                "Connections holding one of the server's max_connections slots.",
            ))
            .map_err(Error::SelfMetrics)?;
        let closed_vec = registry
            .counter_vec(
                (
                    "hotmetrics_http_connections_closed_total",
                    "Connections the server closed on its own: 'evicted' (to make room for a newcomer), 'rejected' (a newcomer answered 503: every slot busy), 'header_timeout', 'idle_timeout'.",
                ),
                &["reason"],
            )
            .map_err(Error::SelfMetrics)?;
        let counter = |reason: CloseReason| {
            closed_vec
                .get_or_create(&[reason.label()])
                .map_err(Error::SelfMetrics)
        };
        Ok(Self {
            evicted: counter(CloseReason::Evicted)?,
            rejected: counter(CloseReason::Rejected)?,
            header_timeout: counter(CloseReason::HeaderTimeout)?,
            idle_timeout: counter(CloseReason::IdleTimeout)?,
            open,
        })
    }

    pub(crate) fn set_open(&self, open: usize) {
        self.open.set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    pub(crate) fn closed(&self, reason: CloseReason) {
        match reason {
            CloseReason::Evicted => &self.evicted,
            CloseReason::Rejected => &self.rejected,
            CloseReason::HeaderTimeout => &self.header_timeout,
            CloseReason::IdleTimeout => &self.idle_timeout,
        }
        .inc();
    }
}
