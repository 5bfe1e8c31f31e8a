//! The server's own metrics, registered into the registry it serves, and
//! counting the series of an encoded scrape.

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

/// The `format` label value of a format.
pub(crate) fn format_label(format: Format) -> &'static str {
    match format {
        #[cfg(feature = "text")]
        Format::Text => "text",
        #[cfg(feature = "openmetrics")]
        Format::OpenMetrics => "openmetrics",
        #[cfg(feature = "protobuf")]
        Format::Protobuf => "protobuf",
        // `Format` is `#[non_exhaustive]`: a format added later.
        _ => "other",
    }
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
                .get_or_create(&[format_label(format)])
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
                "Series in the last scrape (a histogram or summary counts once, a state set once per state).",
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

/// The series in an encoded body, read back from the bytes: one linear
/// pass, no allocation, no second walk of the registry.
pub(crate) fn count_series(format: Format, body: &[u8]) -> u64 {
    #[cfg(not(any(feature = "text", feature = "openmetrics", feature = "protobuf")))]
    let _ = body;
    match format {
        #[cfg(feature = "text")]
        Format::Text => count_text_series(body),
        #[cfg(feature = "openmetrics")]
        Format::OpenMetrics => count_text_series(body),
        #[cfg(feature = "protobuf")]
        Format::Protobuf => count_protobuf_series(body),
        _ => 0,
    }
}

/// Text 0.0.4 and OpenMetrics: sample lines, where a histogram or summary
/// counts only its `_count` line (`_gcount` for a gauge histogram) and a
/// counter skips its `_created` line.
#[cfg(any(feature = "text", feature = "openmetrics"))]
fn count_text_series(body: &[u8]) -> u64 {
    let mut family: &[u8] = b"";
    let mut kind: &[u8] = b"";
    let mut series = 0;
    for line in body.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"# TYPE ") {
            let mut words = rest.split(|&b| b == b' ');
            family = words.next().unwrap_or_default();
            kind = words.next().unwrap_or_default();
            continue;
        }
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let end = line
            .iter()
            .position(|&b| b == b'{' || b == b' ')
            .unwrap_or(line.len());
        let name = &line[..end];
        let suffix = name.strip_prefix(family).unwrap_or(name);
        let counts = match kind {
            b"histogram" | b"summary" => suffix == b"_count",
            b"gaugehistogram" => suffix == b"_gcount",
            b"counter" => suffix.is_empty() || suffix == b"_total",
            _ => true,
        };
        series += u64::from(counts);
    }
    series
}

/// Protobuf: the `metric` fields (4) of each length-delimited
/// `MetricFamily`. Stops at the first malformed byte.
#[cfg(feature = "protobuf")]
fn count_protobuf_series(mut body: &[u8]) -> u64 {
    let mut series = 0;
    while !body.is_empty() {
        let Some(len) = varint(&mut body).and_then(|n| usize::try_from(n).ok()) else {
            break;
        };
        let Some((mut message, rest)) = body.split_at_checked(len) else {
            break;
        };
        body = rest;
        while !message.is_empty() {
            let Some(key) = varint(&mut message) else {
                return series;
            };
            let skipped = match key & 7 {
                0 => varint(&mut message).map(|_| 0),
                1 => Some(8),
                2 => varint(&mut message).and_then(|n| usize::try_from(n).ok()),
                5 => Some(4),
                _ => None,
            };
            let Some(rest) = skipped.and_then(|n| message.get(n..)) else {
                return series;
            };
            message = rest;
            series += u64::from(key == (4 << 3 | 2));
        }
    }
    series
}

#[cfg(feature = "protobuf")]
fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use hotmetrics_exposition::ScrapeEncoder;

    #[test]
    fn series_agree_across_formats() {
        let registry = Registry::new();
        let c = registry.counter_vec(("c_total", "c"), &["l"]).unwrap();
        c.with(&["a"], |c| c.inc()).unwrap();
        c.with(&["b"], |c| c.inc()).unwrap();
        registry.gauge(("g", "g")).unwrap().set(1);
        let h = registry
            .histogram_vec(("h_seconds", "h"), Buckets::default(), &["l"])
            .unwrap();
        h.with(&["x"], |h| h.observe(0.1)).unwrap();
        registry.counter_f64(("f", "f")).unwrap().inc();
        let mut encoder = ScrapeEncoder::new();
        let mut body = BytesMut::new();
        for &format in Format::available() {
            body.clear();
            encoder.encode(format, &registry, &mut body);
            assert_eq!(count_series(format, &body), 5, "{format:?}");
        }
    }

    #[test]
    #[cfg(feature = "protobuf")]
    fn malformed_protobuf_stops() {
        for garbage in [&b"\xff\xff\xff"[..], b"\x05\x22", b"\x02\x22\x09", b"\x80"] {
            assert!(count_protobuf_series(garbage) <= 1);
        }
    }
}
