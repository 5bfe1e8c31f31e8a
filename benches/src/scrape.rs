//! The scrape workload every library is measured on: 10,000 labeled counter
//! series and 1,000 labeled histograms with the 11 default buckets, built
//! the same way in each library through [`ScrapeTarget`]. `writers` threads
//! touch every series first, so a sharded store has that many shards to
//! merge. The memory measurement builds the same series, one kind at a time.

/// Counter series per registry.
pub const COUNTER_SERIES: usize = 10_000;
/// Histogram series per registry.
pub const HISTOGRAM_SERIES: usize = 1_000;
/// The default bucket bounds (Go and the `prometheus` crate).
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Name and help of the counter family (labels `topic`, `partition`).
pub const COUNTER: (&str, &str) = ("consumed_messages_total", "Messages consumed.");
/// Name and help of the histogram family (label `topic`).
pub const HISTOGRAM: (&str, &str) = ("handle_seconds", "Handling time.");

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text 0.0.4.
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf.
    Protobuf,
}

impl Format {
    /// Every format, in report order.
    pub const ALL: [Format; 3] = [Format::Text, Format::OpenMetrics, Format::Protobuf];

    /// The scrape case's name in reports.
    pub fn case(self) -> &'static str {
        match self {
            Format::Text => "scrape_text",
            Format::OpenMetrics => "scrape_openmetrics",
            Format::Protobuf => "scrape_protobuf",
        }
    }
}

/// Label values of counter series `i`: 1,000 topics × 10 partitions.
pub fn counter_labels(i: usize) -> [String; 2] {
    [format!("topic-{}", i / 10), (i % 10).to_string()]
}

/// Label value of histogram series `i`.
pub fn histogram_label(i: usize) -> String {
    format!("topic-{i}")
}

/// The amount counter series `i` is increased by, per writer.
pub fn counter_increment(i: usize) -> u64 {
    i as u64 + 1
}

/// The value histogram series `i` observes, per writer.
pub fn histogram_value(i: usize) -> f64 {
    i as f64 / 100.0
}

/// Calls `touch(series_index)` for every index below `series` on each of
/// `writers` threads (at least one). The threads are all alive at once (none
/// exits before every one has finished), so a library with per-thread state
/// really has `writers` of it; they have exited on return.
pub fn on_threads(writers: usize, series: usize, touch: impl Fn(usize) + Sync) {
    let writers = writers.max(1);
    let done = std::sync::Barrier::new(writers);
    std::thread::scope(|s| {
        for _ in 0..writers {
            s.spawn(|| {
                (0..series).for_each(&touch);
                done.wait();
            });
        }
    });
}

/// One library's registry holding the workload, and its scrape.
pub trait ScrapeTarget: Sized {
    /// The library's name in reports.
    const NAME: &'static str;
    /// Registers [`COUNTER`] with `counters` series ([`counter_labels`]) and
    /// [`HISTOGRAM`] with `histograms` series ([`histogram_label`],
    /// [`DEFAULT_BUCKETS`]). Handles are looked up once, then each of
    /// `writers` threads (see [`on_threads`]) adds [`counter_increment`] to
    /// every counter and observes [`histogram_value`] in every histogram.
    fn build(counters: usize, histograms: usize, writers: usize) -> Self;
    /// Whether the library can write `format`.
    fn supports(format: Format) -> bool;
    /// One whole scrape, collection included, into a buffer the target
    /// keeps and reuses; returns the bytes written.
    fn scrape(&mut self, format: Format) -> usize;
    /// The last scrape's bytes (to check the output).
    fn output(&self) -> &[u8];
}
