//! `prometheus-client` 0.25, as its README uses it: `Counter`,
//! `Counter<f64, AtomicU64>`, `Gauge`, `Histogram`, and a `Family` keyed by
//! owned label pairs, looked up with `get_or_create`.

use crate::hot_path::{HotPath, LABEL_NAMES, LABEL_SETS};
use crate::scrape::{
    COUNTER, DEFAULT_BUCKETS, Format, HISTOGRAM, ScrapeTarget, counter_increment, counter_labels,
    histogram_label, histogram_value, on_threads,
};
use ::prometheus_client::encoding::prometheus_protobuf::encode_to_vec;
use ::prometheus_client::encoding::text::encode;
use ::prometheus_client::metrics::counter::Counter;
use ::prometheus_client::metrics::family::Family;
use ::prometheus_client::metrics::gauge::Gauge;
use ::prometheus_client::metrics::histogram::Histogram;
use ::prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

type Labels = Vec<(&'static str, String)>;

fn histogram() -> Histogram {
    Histogram::new(DEFAULT_BUCKETS)
}

/// The hot-path handles.
#[derive(Debug)]
pub struct Handles {
    /// `c_total`.
    pub counter: Counter,
    /// `cf_total`.
    pub counter_f64: Counter<f64, AtomicU64>,
    level: Gauge<f64, AtomicU64>,
    /// `gi`.
    pub in_flight: Gauge,
    histogram: Histogram,
    /// `l_total`.
    pub labeled: Family<Labels, Counter>,
    cached: Counter,
    timer: Histogram,
}

/// The label set as `prometheus-client` users key a `Family`.
pub fn labels(values: &[&str; 3]) -> Labels {
    LABEL_NAMES
        .iter()
        .zip(values)
        .map(|(&n, &v)| (n, v.to_owned()))
        .collect()
}

impl HotPath for Handles {
    const NAME: &'static str = "prometheus-client";

    fn new() -> Self {
        let labeled = Family::<Labels, Counter>::default();
        Self {
            counter: Counter::default(),
            counter_f64: Counter::default(),
            level: Gauge::default(),
            in_flight: Gauge::default(),
            histogram: histogram(),
            timer: histogram(),
            cached: labeled.get_or_create_owned(&labels(&LABEL_SETS[0])),
            labeled,
        }
    }

    #[inline]
    fn counter_inc(&self) {
        self.counter.inc();
    }

    #[inline]
    fn counter_inc_f64(&self, v: f64) {
        self.counter_f64.inc_by(v);
    }

    #[inline]
    fn gauge_set(&self, v: f64) {
        self.level.set(v);
    }

    #[inline]
    fn gauge_inc_dec(&self, inc: bool) {
        if inc {
            self.in_flight.inc();
        } else {
            self.in_flight.dec();
        }
    }

    #[inline]
    fn histogram_observe(&self, v: f64) {
        self.histogram.observe(v);
    }

    /// The family is keyed by owned label values, so a lookup by `&str`
    /// values builds the key first, as users of the crate must.
    #[inline]
    fn labeled_lookup_inc(&self, values: &[&str; 3]) {
        self.labeled.get_or_create(&labels(values)).inc();
    }

    #[inline]
    fn labeled_cached_inc(&self) {
        self.cached.inc();
    }

    /// The crate has no timer guard: users time with `Instant`.
    #[inline]
    fn timer_guard(&self) {
        let start = Instant::now();
        self.timer.observe(start.elapsed().as_secs_f64());
    }
}

/// The scrape workload, encoded by the crate's text encoder (OpenMetrics
/// text, which it also serves as its only text format) into a reused
/// `String`, and by its Prometheus protobuf encoder (feature
/// `prometheus_protobuf`: length-delimited `MetricFamily`, into a fresh
/// `Vec` per scrape, as `encode_to_vec` returns it).
#[derive(Debug)]
pub struct Workload {
    registry: Registry,
    out: String,
    protobuf: Vec<u8>,
    /// Which of the two the last scrape wrote.
    last: Format,
}

impl ScrapeTarget for Workload {
    const NAME: &'static str = "prometheus-client";

    fn build(counters: usize, histograms: usize, writers: usize) -> Self {
        type Pairs = Vec<(&'static str, String)>;
        let mut registry = Registry::default();
        let family = Family::<Pairs, Counter>::default();
        let hfamily =
            Family::<Pairs, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        // The crate appends `_total` to counter names itself.
        let name = COUNTER.0.strip_suffix("_total").unwrap_or(COUNTER.0);
        registry.register(name, COUNTER.1, family.clone());
        registry.register(HISTOGRAM.0, HISTOGRAM.1, hfamily.clone());
        let c: Vec<_> = (0..counters)
            .map(|i| {
                let [t, p] = counter_labels(i);
                family.get_or_create_owned(&vec![("topic", t), ("partition", p)])
            })
            .collect();
        let h: Vec<_> = (0..histograms)
            .map(|i| hfamily.get_or_create_owned(&vec![("topic", histogram_label(i))]))
            .collect();
        on_threads(writers, counters, |i| {
            c[i].inc_by(counter_increment(i));
        });
        on_threads(writers, histograms, |i| h[i].observe(histogram_value(i)));
        Self {
            registry,
            out: String::new(),
            protobuf: Vec::new(),
            last: Format::Text,
        }
    }

    /// OpenMetrics text for both text cases (it is the crate's only text
    /// format), and Prometheus protobuf.
    fn supports(_: Format) -> bool {
        true
    }

    fn scrape(&mut self, format: Format) -> usize {
        self.last = format;
        if format == Format::Protobuf {
            self.protobuf = encode_to_vec(&self.registry).expect("counters and histograms encode");
            return self.protobuf.len();
        }
        self.out.clear();
        // Writing into a String cannot fail.
        let _ = encode(&mut self.out, &self.registry);
        self.out.len()
    }

    fn output(&self) -> &[u8] {
        if self.last == Format::Protobuf {
            &self.protobuf
        } else {
            self.out.as_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hot_path::{Case, run_case};

    #[test]
    fn every_case_lands_exactly() {
        let h = Handles::new();
        for case in Case::ALL {
            run_case(&h, case, 2, 1000);
        }
        assert_eq!(h.counter.get(), 2000);
        assert_eq!(h.labeled.get_or_create(&labels(&LABEL_SETS[0])).get(), 3000);
        assert_eq!(h.in_flight.get(), 0);
    }

    #[test]
    fn workload_holds_every_series_with_every_writer() {
        let mut w = Workload::build(100, 10, 3);
        w.scrape(Format::Text);
        let text = String::from_utf8(w.output().to_vec()).expect("utf-8");
        let samples = text
            .lines()
            .filter(|l| l.starts_with("consumed_messages_total{"))
            .count();
        assert_eq!(samples, 100);
        assert!(text.contains("consumed_messages_total{topic=\"topic-0\",partition=\"7\"} 24"));
        let counts: Vec<_> = text
            .lines()
            .filter(|l| l.starts_with("handle_seconds_count"))
            .collect();
        assert_eq!(counts.len(), 10);
        assert!(counts.iter().all(|l| l.ends_with(" 3")));
        assert!(w.scrape(Format::Protobuf) > 0);
        let families = ::prometheus_client::encoding::prometheus_protobuf::encode(&w.registry)
            .expect("encodes");
        assert_eq!(families.len(), 2);
        assert_eq!(families[0].metric.len(), 100);
    }
}
