//! What the cases of the newer metric types share: one observe on the hot
//! path ([`Observer`]), and a registry of [`SERIES`] series of one kind
//! ([`SeriesTarget`]) for the scrape and memory rows.
//!
//! Summaries ([`crate::summary`]) and native histograms
//! ([`crate::native_histogram`]) are each measured on their own, apart
//! from the 10,000 + 1,000 series workload of [`crate::scrape`], since
//! most peers have neither: a row compares only the libraries that have
//! the type.

use crate::hot_path::sample_value;
use crate::run_threads;
use crate::scrape::Format;
use std::hint::black_box;
use std::time::Duration;

/// Series per registry in the scrape and memory rows of a kind.
pub const SERIES: usize = 1_000;

/// Observations each writer thread makes in every series before a scrape
/// or a memory measurement ([`spread_value`] of `0..OBSERVATIONS`): enough
/// to fill a sketch or a native histogram with about a hundred buckets, as
/// a real latency distribution does.
pub const OBSERVATIONS: usize = 100;

/// Label name of the series (`topic-0`, ...).
pub const LABEL: &str = "topic";

/// Observation `j` of a writer: log-spaced from 1 ms to 10 s
/// (`0.001 * 10^(4 j / OBSERVATIONS)`), so every decade gets its share of
/// sketch or native buckets.
pub fn spread_value(j: usize) -> f64 {
    0.001 * 10f64.powf(4.0 * (j % OBSERVATIONS) as f64 / OBSERVATIONS as f64)
}

/// Label value of series `i`.
pub fn series_label(i: usize) -> String {
    format!("topic-{i}")
}

/// A metric type measured on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Summaries with quantiles over a sliding window.
    Summary,
    /// Native (sparse exponential) histograms.
    NativeHistogram,
}

impl Kind {
    /// The kind in memory rows and in `--memory-probe`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Summary => "summary",
            Kind::NativeHistogram => "native_histogram",
        }
    }

    /// What `--cases` matches for its memory rows.
    pub fn memory_case(self) -> &'static str {
        match self {
            Kind::Summary => "memory_summary",
            Kind::NativeHistogram => "memory_native_histogram",
        }
    }

    /// The scrape case in `format`.
    pub fn scrape_case(self, format: Format) -> &'static str {
        match (self, format) {
            (Kind::Summary, Format::Text) => "scrape_summary_text",
            (Kind::Summary, Format::OpenMetrics) => "scrape_summary_openmetrics",
            (Kind::Summary, Format::Protobuf) => "scrape_summary_protobuf",
            (Kind::NativeHistogram, Format::Text) => "scrape_native_text",
            (Kind::NativeHistogram, Format::OpenMetrics) => "scrape_native_openmetrics",
            (Kind::NativeHistogram, Format::Protobuf) => "scrape_native_protobuf",
        }
    }
}

/// One library's handle for an observe case, created once by
/// [`Observer::new`] and shared by all threads.
pub trait Observer: Sync + Sized {
    /// The library's name in reports.
    const NAME: &'static str;
    /// Registers the one metric the case updates.
    fn new() -> Self;
    /// One observation, as a user of the library writes it.
    fn observe(&self, v: f64);
}

/// `iters` observations of [`sample_value`]`(i)` on each of `threads`
/// threads at once; the wall time until all are done.
pub fn run_observer<O: Observer>(o: &O, threads: usize, iters: u64) -> Duration {
    run_threads(threads, iters, |_, i| o.observe(black_box(sample_value(i))))
}

/// One library's registry holding [`SERIES`] series of [`Self::KIND`]
/// (label [`LABEL`]), and its scrape.
pub trait SeriesTarget: Sized {
    /// The library's name in reports.
    const NAME: &'static str;
    /// The metric type it holds.
    const KIND: Kind;
    /// Registers `series` series ([`series_label`]), looks each handle up
    /// once, then each of `writers` threads (all alive at once, see
    /// [`crate::scrape::on_threads`]) makes [`OBSERVATIONS`] observations
    /// ([`spread_value`]) in every series. A library that defers
    /// aggregation has aggregated by the time it returns.
    fn build(series: usize, writers: usize) -> Self;
    /// Whether the library can write `format` for this kind.
    fn supports(format: Format) -> bool;
    /// One whole scrape into a buffer the target keeps; the bytes written.
    fn scrape(&mut self, format: Format) -> usize;
    /// The last scrape's bytes (to check the output).
    fn output(&self) -> &[u8];
}

/// Live heap bytes per series of `S` once `writers` threads have observed
/// in every series, from the counting allocator ([`crate::alloc`]):
/// registry, label values and every per-thread cell included. Measure in a
/// fresh process (`compare --memory-probe`).
pub fn bytes_per_series<S: SeriesTarget>(writers: usize) -> f64 {
    // Lazily built global state is not a cost of the series.
    drop(S::build(1, 1));
    let (target, usage) = crate::alloc::measure(|| S::build(SERIES, writers));
    drop(target);
    usage.live_bytes as f64 / SERIES as f64
}

/// Calls `observe(series, j)` for every series below `series` and every
/// `j` below [`OBSERVATIONS`] on each of `writers` threads, all alive at
/// once.
pub fn observe_on_threads(writers: usize, series: usize, observe: impl Fn(usize, usize) + Sync) {
    crate::scrape::on_threads(writers, series, |i| {
        for j in 0..OBSERVATIONS {
            observe(i, j);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_values_cover_four_decades() {
        assert_eq!(spread_value(0), 0.001);
        let last = spread_value(OBSERVATIONS - 1);
        assert!(last > 8.0 && last < 10.0, "{last}");
        assert!((1..OBSERVATIONS).all(|j| spread_value(j) > spread_value(j - 1)));
    }

    #[test]
    fn case_names_are_distinct_and_scrape_prefixed() {
        let mut names = Vec::new();
        for kind in [Kind::Summary, Kind::NativeHistogram] {
            for format in Format::ALL {
                names.push(kind.scrape_case(format));
            }
        }
        assert!(names.iter().all(|n| n.starts_with("scrape_")));
        // None is selected by the classic workload's `--cases scrape_text`.
        assert!(names.iter().all(|n| !n.contains(Format::Text.case())));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 6);
    }
}
