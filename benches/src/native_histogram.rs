//! Native (sparse exponential) histograms: `native_histogram_observe` on
//! the hot path, the scrape of [`SERIES`](crate::kinds::SERIES) native
//! histograms (`scrape_native_*`) and their memory
//! (`memory_native_histogram`), for every library that has them.
//!
//! | library | native histogram | write path |
//! |---|---|---|
//! | hotmetrics | `Buckets::native(NativeOpts)` | per-thread sparse buckets, merged at scrape |
//! | prometheus-client 0.25 | `Histogram::new_native(NativeHistogramConfig)` | one `parking_lot::Mutex` per histogram around a sorted `Vec` of `(key, count)` (a binary search, an insert on a new key) |
//! | prometheus, metrics, measured, fastmetrics | none | — |
//!
//! Both get the same configuration: factor [`FACTOR`] (schema 3), at most
//! [`MAX_BUCKETS`] buckets, the default zero threshold (2^-128). The hot
//! path also has a row `hotmetrics-classic`: our classic histogram with the
//! 11 default buckets on the same values, measured in the same run, so the
//! ratio native/classic reads off one table (the `Time relative to
//! hotmetrics` table shows classic/native).
//!
//! Scrapes: ours in every format (text and OpenMetrics have no native form
//! and write the `_count`, `_sum` and `+Inf` bucket of a native-only
//! histogram; protobuf writes spans and deltas). prometheus-client writes
//! native histograms in its Prometheus protobuf only (`encode_to_vec`,
//! feature `prometheus_protobuf`); its text encoder refuses native-only
//! histograms.

use crate::kinds::{
    Kind, LABEL, Observer, SeriesTarget, bytes_per_series, observe_on_threads, run_observer,
    series_label, spread_value,
};
use crate::runner::{Options, Side, series_memory, series_scrape, side_by_side};
use crate::scrape::Format;
use ::hotmetrics::exposition::{Format as Exposition, ScrapeEncoder};
use ::hotmetrics::{Buckets, Family, Histogram, Registry};
use ::prometheus_client::encoding::prometheus_protobuf::encode_to_vec;
use ::prometheus_client::metrics::family::Family as PcFamily;
use ::prometheus_client::metrics::histogram::{Histogram as PcHistogram, NativeHistogramConfig};
use bytes::BytesMut;
use hotmetrics::NativeOpts;

/// The hot-path case.
pub const CASE: &str = "native_histogram_observe";
/// Name and help of the histograms.
pub const NATIVE: (&str, &str) = ("req_seconds", "Request time.");
/// The bucket growth factor asked for: schema 3 (`2^(1/8)` = 1.09).
pub const FACTOR: f64 = 1.1;
/// The bucket cap (client_golang's suggested 160).
pub const MAX_BUCKETS: u32 = 160;
/// The report name of our classic histogram in the native case.
pub const CLASSIC: &str = "hotmetrics-classic";

/// Our native-only buckets: factor [`FACTOR`], at most [`MAX_BUCKETS`].
pub fn native() -> Buckets {
    Buckets::native(NativeOpts::new().factor(FACTOR).max_buckets(MAX_BUCKETS)).expect("valid")
}

/// prometheus-client's native-only histogram with the same configuration.
fn pc_native() -> PcHistogram {
    PcHistogram::new_native(NativeHistogramConfig::new(FACTOR).max_buckets(MAX_BUCKETS as usize))
}

/// Our native histogram, registered once.
#[derive(Debug)]
pub struct Hotmetrics {
    histogram: Histogram,
}

impl Observer for Hotmetrics {
    const NAME: &'static str = "hotmetrics";

    fn new() -> Self {
        let registry = Registry::new();
        Self {
            histogram: registry.histogram(NATIVE, native()).expect("valid"),
        }
    }

    #[inline]
    fn observe(&self, v: f64) {
        self.histogram.observe(v);
    }
}

/// Our classic histogram with the 11 default buckets, as in
/// `histogram_observe`.
#[derive(Debug)]
pub struct HotmetricsClassic {
    histogram: Histogram,
}

impl Observer for HotmetricsClassic {
    const NAME: &'static str = CLASSIC;

    fn new() -> Self {
        let registry = Registry::new();
        Self {
            histogram: registry
                .histogram(("h_seconds", "h"), Buckets::default())
                .expect("valid"),
        }
    }

    #[inline]
    fn observe(&self, v: f64) {
        self.histogram.observe(v);
    }
}

/// prometheus-client's native histogram.
#[derive(Debug)]
pub struct PrometheusClient {
    histogram: PcHistogram,
}

impl Observer for PrometheusClient {
    const NAME: &'static str = "prometheus-client";

    fn new() -> Self {
        Self {
            histogram: pc_native(),
        }
    }

    #[inline]
    fn observe(&self, v: f64) {
        self.histogram.observe(v);
    }
}

/// [`SERIES`](crate::kinds::SERIES) native histograms in a hotmetrics
/// registry, with the reusable encoder and buffer a `/metrics` handler
/// keeps.
#[derive(Debug)]
pub struct HotmetricsWorkload {
    registry: Registry,
    _family: Family<Histogram>,
    encoder: ScrapeEncoder,
    out: BytesMut,
}

impl SeriesTarget for HotmetricsWorkload {
    const NAME: &'static str = "hotmetrics";
    const KIND: Kind = Kind::NativeHistogram;

    fn build(series: usize, writers: usize) -> Self {
        let registry = Registry::new();
        let opts = ::hotmetrics::Opts::new(NATIVE.0, NATIVE.1).max_series(series.max(1));
        let family = registry
            .histogram_vec(opts, native(), &[LABEL])
            .expect("valid");
        let handles: Vec<Histogram> = (0..series)
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

/// [`SERIES`](crate::kinds::SERIES) native histograms in a
/// prometheus-client `Family`, scraped by its Prometheus protobuf encoder
/// (a fresh `Vec` per scrape: `encode_to_vec` takes no buffer).
#[derive(Debug)]
pub struct PrometheusClientWorkload {
    registry: ::prometheus_client::registry::Registry,
    out: Vec<u8>,
}

impl SeriesTarget for PrometheusClientWorkload {
    const NAME: &'static str = "prometheus-client";
    const KIND: Kind = Kind::NativeHistogram;

    fn build(series: usize, writers: usize) -> Self {
        type Pairs = Vec<(&'static str, String)>;
        let mut registry = ::prometheus_client::registry::Registry::default();
        let family =
            PcFamily::<Pairs, PcHistogram, fn() -> PcHistogram>::new_with_constructor(pc_native);
        registry.register(NATIVE.0, NATIVE.1, family.clone());
        let handles: Vec<_> = (0..series)
            .map(|i| family.get_or_create_owned(&vec![(LABEL, series_label(i))]))
            .collect();
        observe_on_threads(writers, series, |i, j| handles[i].observe(spread_value(j)));
        Self {
            registry,
            out: Vec::new(),
        }
    }

    fn supports(format: Format) -> bool {
        format == Format::Protobuf
    }

    fn scrape(&mut self, format: Format) -> usize {
        self.out = if Self::supports(format) {
            encode_to_vec(&self.registry).expect("a native histogram encodes")
        } else {
            Vec::new()
        };
        self.out.len()
    }

    fn output(&self) -> &[u8] {
        &self.out
    }
}

/// `native_histogram_observe` for both libraries and our classic
/// histogram, side by side.
pub fn hot_paths(opts: &Options, report: &mut crate::report::Report) {
    if !opts.wants(CASE) {
        return;
    }
    let ours = Hotmetrics::new();
    let classic = HotmetricsClassic::new();
    let theirs = PrometheusClient::new();
    let run_ours = |threads, iters| run_observer(&ours, threads, iters);
    let run_classic = |threads, iters| run_observer(&classic, threads, iters);
    let run_theirs = |threads, iters| run_observer(&theirs, threads, iters);
    let sides: [Side<'_>; 3] = [
        (Hotmetrics::NAME, &run_ours),
        (HotmetricsClassic::NAME, &run_classic),
        (PrometheusClient::NAME, &run_theirs),
    ];
    side_by_side(opts, CASE, &sides, report);
}

/// The `scrape_native_*` rows.
pub fn scrapes(opts: &Options, report: &mut crate::report::Report) {
    series_scrape::<HotmetricsWorkload>(opts, report);
    series_scrape::<PrometheusClientWorkload>(opts, report);
}

/// The `memory_native_histogram` rows.
pub fn memory(opts: &Options, report: &mut crate::report::Report) {
    series_memory::<HotmetricsWorkload>(opts, report);
    series_memory::<PrometheusClientWorkload>(opts, report);
}

/// Bytes per native-histogram series of `lib` after `writers` writers
/// (`compare --memory-probe <lib> native_histogram <writers>`).
pub fn memory_probe(lib: &str, writers: usize) -> Option<f64> {
    match lib {
        "hotmetrics" => Some(bytes_per_series::<HotmetricsWorkload>(writers)),
        "prometheus-client" => Some(bytes_per_series::<PrometheusClientWorkload>(writers)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::OBSERVATIONS;
    use crate::peers::text::sample;

    #[test]
    fn every_hot_path_counts_every_observation() {
        let ours = Hotmetrics::new();
        run_observer(&ours, 2, 1000);
        assert_eq!(ours.histogram.snapshot().count, 2000);
        let classic = HotmetricsClassic::new();
        run_observer(&classic, 2, 1000);
        assert_eq!(classic.histogram.snapshot().count, 2000);
        let theirs = PrometheusClient::new();
        run_observer(&theirs, 2, 1000);
        let mut registry = ::prometheus_client::registry::Registry::default();
        registry.register(NATIVE.0, NATIVE.1, theirs.histogram.clone());
        let families =
            ::prometheus_client::encoding::prometheus_protobuf::encode(&registry).expect("encodes");
        let h = families[0].metric[0]
            .histogram
            .as_ref()
            .expect("a histogram");
        assert_eq!(h.sample_count, 2000);
        assert_eq!(h.schema, 3);
    }

    #[test]
    fn workloads_hold_every_series_with_every_writer() {
        let mut ours = HotmetricsWorkload::build(10, 3);
        ours.scrape(Format::Text);
        let text = String::from_utf8(ours.output().to_vec()).expect("utf-8");
        for i in 0..10 {
            let series = format!("req_seconds_count{{topic=\"{}\"}}", series_label(i));
            assert_eq!(sample(&text, &series), Some((3 * OBSERVATIONS) as f64));
        }
        for format in Format::ALL {
            assert!(ours.scrape(format) > 0);
        }
        let mut theirs = PrometheusClientWorkload::build(10, 3);
        assert_eq!(theirs.scrape(Format::Text), 0);
        assert!(theirs.scrape(Format::Protobuf) > 0);
        let families = ::prometheus_client::encoding::prometheus_protobuf::encode(&theirs.registry)
            .expect("encodes");
        let metrics = &families[0].metric;
        assert_eq!(metrics.len(), 10);
        for m in metrics {
            let h = m.histogram.as_ref().expect("a histogram");
            assert_eq!(h.sample_count, (3 * OBSERVATIONS) as u64);
            // About 100 log-spaced values at schema 3: dozens of buckets.
            assert!(h.positive_delta.len() > 50, "{h:?}");
        }
    }
}
