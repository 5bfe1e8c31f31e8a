//! Summaries: `summary_observe` on the hot path, the scrape of
//! [`SERIES`](crate::kinds::SERIES) summaries (`scrape_summary_*`) and
//! their memory (`memory_summary`), for every library that has a summary.
//!
//! | library | summary | write path |
//! |---|---|---|
//! | hotmetrics | `Summary` (log buckets per thread, merged at scrape) | per-thread cell |
//! | metrics | `histogram!` with no buckets set: `metrics-exporter-prometheus` renders it as a summary from `metrics-util`'s DDSketch-based `Summary` | pushes `(value, Instant)` into a lock-free list of raw samples, drained into the sketches at upkeep or render |
//! | prometheus, prometheus-client, measured, fastmetrics | none (fastmetrics' `Summary` is documented as intentionally unimplemented) | — |
//!
//! Both libraries get the same objectives' quantiles ([`QUANTILES`]) and the
//! same window: [`MAX_AGE`] in [`AGE_BUCKETS`] buckets (the exporter's
//! `set_bucket_duration(MAX_AGE / AGE_BUCKETS)` and `set_bucket_count`).
//! The exporter's upkeep (the drain) runs after every timed run, outside
//! the timing, as its own exporter task would between scrapes.

use crate::kinds::{
    Kind, LABEL, Observer, SeriesTarget, bytes_per_series, observe_on_threads, run_observer,
    series_label, spread_value,
};
use crate::runner::{Options, Side, series_memory, series_scrape, side_by_side};
use crate::scrape::Format;
use ::hotmetrics::exposition::{Format as Exposition, ScrapeEncoder};
use ::hotmetrics::{Family, Registry};
use ::metrics::Recorder as _;
use ::metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use bytes::BytesMut;
use hotmetrics::{Summary, SummaryOpts};
use std::num::NonZeroU32;
use std::time::Duration;

/// The hot-path case.
pub const CASE: &str = "summary_observe";
/// Name and help of the summaries.
pub const SUMMARY: (&str, &str) = ("rpc_seconds", "RPC time.");
/// The objectives (quantile, allowed error), as client_golang and
/// aioprometheus take them.
pub const OBJECTIVES: [(f64, f64); 3] = [(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)];
/// The objectives' quantiles (what `metrics-exporter-prometheus` takes).
pub const QUANTILES: [f64; 3] = [OBJECTIVES[0].0, OBJECTIVES[1].0, OBJECTIVES[2].0];
/// The sliding window (client_golang's default).
pub const MAX_AGE: Duration = Duration::from_secs(600);
/// Buckets the window rotates through (client_golang's default).
pub const AGE_BUCKETS: u32 = 5;

/// What the `histogram!` macro passes as metadata; the recorder ignores it.
static METADATA: ::metrics::Metadata<'static> =
    ::metrics::Metadata::new(module_path!(), ::metrics::Level::INFO, Some(module_path!()));

/// Our summary options: [`OBJECTIVES`] over [`MAX_AGE`] in [`AGE_BUCKETS`].
fn opts() -> SummaryOpts {
    SummaryOpts::new()
        .objectives(&OBJECTIVES)
        .max_age(MAX_AGE)
        .age_buckets(AGE_BUCKETS)
}

/// A `metrics-exporter-prometheus` recorder that renders histograms as
/// summaries of [`QUANTILES`] over the same window, not installed anywhere.
fn recorder() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_quantiles(&QUANTILES)
        .expect("quantiles are not empty")
        .set_bucket_duration(MAX_AGE / AGE_BUCKETS)
        .expect("a non-zero duration")
        .set_bucket_count(NonZeroU32::new(AGE_BUCKETS).expect("non-zero"))
        .build_recorder()
}

/// Our summary, registered once.
#[derive(Debug)]
pub struct Hotmetrics {
    registry: Registry,
    summary: Summary,
}

impl Hotmetrics {
    /// The registry holding the summary (tests read it back).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl Observer for Hotmetrics {
    const NAME: &'static str = "hotmetrics";

    fn new() -> Self {
        let registry = Registry::new();
        let summary = registry.summary(SUMMARY, opts()).expect("valid");
        Self { registry, summary }
    }

    #[inline]
    fn observe(&self, v: f64) {
        self.summary.observe(v);
    }
}

/// A kept `metrics::Histogram` on a recorder that renders it as a summary.
#[derive(Debug)]
pub struct Metrics {
    handle: PrometheusHandle,
    histogram: ::metrics::Histogram,
}

impl Metrics {
    /// Drains the raw samples into the sketches (the exporter's upkeep).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The recorder's text exposition now.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

impl Observer for Metrics {
    const NAME: &'static str = "metrics";

    fn new() -> Self {
        let recorder = recorder();
        let key = ::metrics::Key::from_static_name(SUMMARY.0);
        Self {
            histogram: recorder.register_histogram(&key, &METADATA),
            handle: recorder.handle(),
        }
    }

    #[inline]
    fn observe(&self, v: f64) {
        self.histogram.record(v);
    }
}

/// [`SERIES`](crate::kinds::SERIES) summaries in a hotmetrics registry, with
/// the reusable encoder and buffer a `/metrics` handler keeps.
#[derive(Debug)]
pub struct HotmetricsWorkload {
    registry: Registry,
    _family: Family<Summary>,
    encoder: ScrapeEncoder,
    out: BytesMut,
}

impl SeriesTarget for HotmetricsWorkload {
    const NAME: &'static str = "hotmetrics";
    const KIND: Kind = Kind::Summary;

    fn build(series: usize, writers: usize) -> Self {
        let registry = Registry::new();
        let family_opts = ::hotmetrics::Opts::new(SUMMARY.0, SUMMARY.1).max_series(series.max(1));
        let family = registry
            .summary_vec(family_opts, opts(), &[LABEL])
            .expect("valid");
        let handles: Vec<Summary> = (0..series)
            .map(|i| {
                family
                    .get_or_create(&[&series_label(i)])
                    .expect("under the limit")
            })
            .collect();
        observe_on_threads(writers, series, |i, j| handles[i].observe(spread_value(j)));
        Self {
            registry,
            _family: family,
            encoder: ScrapeEncoder::new(),
            out: BytesMut::new(),
        }
    }

    fn supports(_: Format) -> bool {
        true
    }

    fn scrape(&mut self, format: Format) -> usize {
        let format = match format {
            Format::Text => Exposition::Text,
            Format::OpenMetrics => Exposition::OpenMetrics,
            Format::Protobuf => Exposition::Protobuf,
        };
        self.out.clear();
        self.encoder.encode(format, &self.registry, &mut self.out);
        self.out.len()
    }

    fn output(&self) -> &[u8] {
        &self.out
    }
}

/// [`SERIES`](crate::kinds::SERIES) summaries on a private
/// `metrics-exporter-prometheus` recorder, drained once after the writers.
#[derive(Debug)]
pub struct MetricsWorkload {
    handle: PrometheusHandle,
    buf: Vec<u8>,
}

impl SeriesTarget for MetricsWorkload {
    const NAME: &'static str = "metrics";
    const KIND: Kind = Kind::Summary;

    fn build(series: usize, writers: usize) -> Self {
        let recorder = recorder();
        recorder.describe_histogram(SUMMARY.0.into(), None, SUMMARY.1.into());
        let handles: Vec<::metrics::Histogram> = (0..series)
            .map(|i| {
                let labels = vec![::metrics::Label::new(LABEL, series_label(i))];
                recorder
                    .register_histogram(&::metrics::Key::from_parts(SUMMARY.0, labels), &METADATA)
            })
            .collect();
        observe_on_threads(writers, series, |i, j| handles[i].record(spread_value(j)));
        let handle = recorder.handle();
        handle.run_upkeep();
        Self {
            handle,
            buf: Vec::new(),
        }
    }

    /// Text only: the exporter has no OpenMetrics writer, and its protobuf
    /// feature (off here) needs `protoc` at build time.
    fn supports(format: Format) -> bool {
        format == Format::Text
    }

    fn scrape(&mut self, format: Format) -> usize {
        self.buf.clear();
        if Self::supports(format) {
            self.handle
                .render_to_write(&mut self.buf)
                .expect("writing into a Vec cannot fail");
        }
        self.buf.len()
    }

    fn output(&self) -> &[u8] {
        &self.buf
    }
}

/// `summary_observe` for both libraries, side by side.
pub fn hot_paths(opts: &Options, report: &mut crate::report::Report) {
    if !opts.wants(CASE) {
        return;
    }
    let ours = Hotmetrics::new();
    let theirs = Metrics::new();
    let run_ours = |threads, iters| run_observer(&ours, threads, iters);
    let run_theirs = |threads, iters| {
        let took = run_observer(&theirs, threads, iters);
        theirs.upkeep();
        took
    };
    let sides: [Side<'_>; 2] = [(Hotmetrics::NAME, &run_ours), (Metrics::NAME, &run_theirs)];
    side_by_side(opts, CASE, &sides, report);
}

/// The `scrape_summary_*` rows.
pub fn scrapes(opts: &Options, report: &mut crate::report::Report) {
    series_scrape::<HotmetricsWorkload>(opts, report);
    series_scrape::<MetricsWorkload>(opts, report);
}

/// The `memory_summary` rows.
pub fn memory(opts: &Options, report: &mut crate::report::Report) {
    series_memory::<HotmetricsWorkload>(opts, report);
    series_memory::<MetricsWorkload>(opts, report);
}

/// Bytes per summary series of `lib` after `writers` writers
/// (`compare --memory-probe <lib> summary <writers>`).
pub fn memory_probe(lib: &str, writers: usize) -> Option<f64> {
    match lib {
        "hotmetrics" => Some(bytes_per_series::<HotmetricsWorkload>(writers)),
        "metrics" => Some(bytes_per_series::<MetricsWorkload>(writers)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::OBSERVATIONS;
    use crate::peers::text::sample;

    #[test]
    fn both_hot_paths_count_every_observation() {
        let ours = Hotmetrics::new();
        run_observer(&ours, 2, 1000);
        let theirs = Metrics::new();
        run_observer(&theirs, 2, 1000);
        let text = theirs.render();
        assert_eq!(sample(&text, "rpc_seconds_count"), Some(2000.0), "{text}");
        assert!(text.contains("rpc_seconds{quantile=\"0.99\"}"), "{text}");
        let snapshot = ours.registry().snapshot();
        let Some(::hotmetrics::ValueSnapshot::Summary { count, .. }) =
            snapshot.value(SUMMARY.0, &[])
        else {
            panic!("no summary");
        };
        assert_eq!(*count, 2000);
    }

    #[test]
    fn workloads_hold_every_series_with_every_writer() {
        let per_series = (3 * OBSERVATIONS) as f64;
        let mut ours = HotmetricsWorkload::build(10, 3);
        let mut theirs = MetricsWorkload::build(10, 3);
        ours.scrape(Format::Text);
        theirs.scrape(Format::Text);
        for output in [ours.output(), theirs.output()] {
            let text = std::str::from_utf8(output).expect("utf-8");
            assert!(text.contains("# TYPE rpc_seconds summary\n"), "{text}");
            for i in 0..10 {
                let series = format!("rpc_seconds_count{{topic=\"{}\"}}", series_label(i));
                assert_eq!(sample(text, &series), Some(per_series), "{text}");
            }
            let quantiles = text.lines().filter(|l| l.contains("quantile=")).count();
            assert_eq!(quantiles, 10 * QUANTILES.len(), "{text}");
        }
        for format in Format::ALL {
            assert!(ours.scrape(format) > 0);
        }
        assert_eq!(theirs.scrape(Format::Protobuf), 0);
    }
}
