//! The scrape workload every library is measured on: 10,000 labeled counter
//! series and 1,000 labeled histograms with the 11 default buckets, built
//! the same way in each library. `writers` threads touch every series first,
//! so a sharded store has that many shards to merge.

/// Counter series per registry.
pub const COUNTER_SERIES: usize = 10_000;
/// Histogram series per registry.
pub const HISTOGRAM_SERIES: usize = 1_000;
/// The default bucket bounds (Go and the `prometheus` crate).
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Label values of counter series `i`: 1,000 topics × 10 partitions.
pub fn counter_labels(i: usize) -> [String; 2] {
    [format!("topic-{}", i / 10), (i % 10).to_string()]
}

/// Label value of histogram series `i`.
pub fn histogram_label(i: usize) -> String {
    format!("topic-{i}")
}

/// Calls `touch(series_index)` for every index on each of `writers` threads.
fn on_threads(writers: usize, series: usize, touch: impl Fn(usize) + Sync) {
    std::thread::scope(|s| {
        for _ in 0..writers.max(1) {
            s.spawn(|| (0..series).for_each(&touch));
        }
    });
}

/// A hotmetrics registry holding the workload.
pub fn hotmetrics_registry(writers: usize) -> hotmetrics::Registry {
    let r = hotmetrics::Registry::new();
    let opts = hotmetrics::Opts::new("consumed_messages_total", "Messages consumed.")
        .max_series(COUNTER_SERIES);
    let counters = r.counter_vec(opts, &["topic", "partition"]).expect("valid");
    let opts =
        hotmetrics::Opts::new("handle_seconds", "Handling time.").max_series(HISTOGRAM_SERIES);
    let buckets = hotmetrics::Buckets::new(DEFAULT_BUCKETS.to_vec()).expect("valid");
    let histograms = r.histogram_vec(opts, buckets, &["topic"]).expect("valid");
    // Handles are created once, then every writer thread updates them.
    let c: Vec<_> = (0..COUNTER_SERIES)
        .map(|i| {
            let [t, p] = counter_labels(i);
            counters.get_or_create(&[&t, &p]).expect("under the limit")
        })
        .collect();
    let h: Vec<_> = (0..HISTOGRAM_SERIES)
        .map(|i| {
            histograms
                .get_or_create(&[&histogram_label(i)])
                .expect("under the limit")
        })
        .collect();
    on_threads(writers, COUNTER_SERIES, |i| c[i].inc_by(i as u64 + 1));
    on_threads(writers, HISTOGRAM_SERIES, |i| {
        h[i].observe(i as f64 / 100.0)
    });
    r
}

/// A `prometheus` (tikv) registry holding the workload.
pub fn prometheus_registry(writers: usize) -> prometheus::Registry {
    let r = prometheus::Registry::new();
    let counters = prometheus::IntCounterVec::new(
        prometheus::Opts::new("consumed_messages_total", "Messages consumed."),
        &["topic", "partition"],
    )
    .expect("valid");
    let histograms = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("handle_seconds", "Handling time.")
            .buckets(DEFAULT_BUCKETS.to_vec()),
        &["topic"],
    )
    .expect("valid");
    r.register(Box::new(counters.clone())).expect("unique");
    r.register(Box::new(histograms.clone())).expect("unique");
    let c: Vec<_> = (0..COUNTER_SERIES)
        .map(|i| {
            let [t, p] = counter_labels(i);
            counters.with_label_values(&[t.as_str(), p.as_str()])
        })
        .collect();
    let h: Vec<_> = (0..HISTOGRAM_SERIES)
        .map(|i| histograms.with_label_values(&[histogram_label(i).as_str()]))
        .collect();
    on_threads(writers, COUNTER_SERIES, |i| c[i].inc_by(i as u64 + 1));
    on_threads(writers, HISTOGRAM_SERIES, |i| {
        h[i].observe(i as f64 / 100.0)
    });
    r
}

/// A `prometheus-client` registry holding the workload.
pub fn prometheus_client_registry(writers: usize) -> prometheus_client::registry::Registry {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;
    type Labels = Vec<(String, String)>;
    fn histogram() -> Histogram {
        Histogram::new(DEFAULT_BUCKETS)
    }
    let mut r = prometheus_client::registry::Registry::default();
    let counters = Family::<Labels, Counter>::default();
    let histograms =
        Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
    r.register("consumed_messages", "Messages consumed.", counters.clone());
    r.register("handle_seconds", "Handling time.", histograms.clone());
    let c: Vec<_> = (0..COUNTER_SERIES)
        .map(|i| {
            let [t, p] = counter_labels(i);
            counters.get_or_create_owned(&vec![("topic".into(), t), ("partition".into(), p)])
        })
        .collect();
    let h: Vec<_> = (0..HISTOGRAM_SERIES)
        .map(|i| histograms.get_or_create_owned(&vec![("topic".into(), histogram_label(i))]))
        .collect();
    on_threads(writers, COUNTER_SERIES, |i| {
        c[i].inc_by(i as u64 + 1);
    });
    on_threads(writers, HISTOGRAM_SERIES, |i| {
        h[i].observe(i as f64 / 100.0)
    });
    r
}
