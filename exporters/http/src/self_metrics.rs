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
