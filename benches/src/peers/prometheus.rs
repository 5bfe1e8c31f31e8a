//! The `prometheus` crate (tikv) 0.14, as its README uses it: `IntCounter`
//! for `u64`, `Counter` for `f64`, `Gauge`/`IntGauge`, `Histogram` with
//! `HistogramTimer`, `IntCounterVec::with_label_values`.

use crate::hot_path::{HotPath, LABEL_NAMES, LABEL_SETS};
use crate::scrape::{
    COUNTER, DEFAULT_BUCKETS, Format, HISTOGRAM, ScrapeTarget, counter_increment, counter_labels,
    histogram_label, histogram_value, on_threads,
};
use ::prometheus::{
    Counter, Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, Opts, ProtobufEncoder, Registry, TextEncoder,
};

/// The hot-path handles.
#[derive(Debug)]
pub struct Handles {
    /// `c_total`.
    pub counter: IntCounter,
    /// `cf_total`.
    pub counter_f64: Counter,
    level: Gauge,
    /// `gi`.
    pub in_flight: IntGauge,
    /// `h_seconds`.
    pub histogram: Histogram,
    /// `l_total`.
    pub labeled: IntCounterVec,
    cached: IntCounter,
    /// `t_seconds`.
    pub timer: Histogram,
}

impl HotPath for Handles {
    const NAME: &'static str = "prometheus";

    fn new() -> Self {
        let histogram = |name: &str| {
            Histogram::with_opts(HistogramOpts::new(name, name).buckets(DEFAULT_BUCKETS.to_vec()))
                .expect("valid")
        };
        let labeled = IntCounterVec::new(Opts::new("l_total", "l"), &LABEL_NAMES).expect("valid");
        Self {
            counter: IntCounter::new("c_total", "c").expect("valid"),
            counter_f64: Counter::new("cf_total", "cf").expect("valid"),
            level: Gauge::new("g", "g").expect("valid"),
            in_flight: IntGauge::new("gi", "gi").expect("valid"),
            histogram: histogram("h_seconds"),
            timer: histogram("t_seconds"),
            cached: labeled.with_label_values(&LABEL_SETS[0]),
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

    #[inline]
    fn labeled_lookup_inc(&self, values: &[&str; 3]) {
        self.labeled.with_label_values(values).inc();
    }

    #[inline]
    fn labeled_cached_inc(&self) {
        self.cached.inc();
    }

    #[inline]
    fn timer_guard(&self) {
        let _timer = self.timer.start_timer();
    }
}

/// The scrape workload: `Registry::gather` then `TextEncoder` or
/// `ProtobufEncoder` into a reused `Vec`. The crate writes no OpenMetrics.
#[derive(Debug)]
pub struct Workload {
    registry: Registry,
    out: Vec<u8>,
}

impl ScrapeTarget for Workload {
    const NAME: &'static str = "prometheus";

    fn build(counters: usize, histograms: usize, writers: usize) -> Self {
        let registry = Registry::new();
        let family = IntCounterVec::new(Opts::new(COUNTER.0, COUNTER.1), &["topic", "partition"])
            .expect("valid");
        let hfamily = HistogramVec::new(
            HistogramOpts::new(HISTOGRAM.0, HISTOGRAM.1).buckets(DEFAULT_BUCKETS.to_vec()),
            &["topic"],
        )
        .expect("valid");
        registry.register(Box::new(family.clone())).expect("unique");
        registry
            .register(Box::new(hfamily.clone()))
            .expect("unique");
        let c: Vec<_> = (0..counters)
            .map(|i| {
                let [t, p] = counter_labels(i);
                family.with_label_values(&[t.as_str(), p.as_str()])
            })
            .collect();
        let h: Vec<_> = (0..histograms)
            .map(|i| hfamily.with_label_values(&[histogram_label(i).as_str()]))
            .collect();
        on_threads(writers, counters, |i| c[i].inc_by(counter_increment(i)));
        on_threads(writers, histograms, |i| h[i].observe(histogram_value(i)));
        Self {
            registry,
            out: Vec::new(),
        }
    }

    fn supports(format: Format) -> bool {
        format != Format::OpenMetrics
    }

    fn scrape(&mut self, format: Format) -> usize {
        self.out.clear();
        let families = self.registry.gather();
        // Encoding into a Vec fails only for invalid metric data, which the
        // fixed workload does not have; an error shows as an empty scrape.
        let _ = match format {
            Format::Protobuf => ProtobufEncoder::new().encode(&families, &mut self.out),
            _ => TextEncoder::new().encode(&families, &mut self.out),
        };
        self.out.len()
    }

    fn output(&self) -> &[u8] {
        &self.out
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
        assert_eq!(h.labeled.with_label_values(&LABEL_SETS[0]).get(), 3000);
        assert_eq!(h.in_flight.get(), 0);
        assert_eq!(h.histogram.get_sample_count(), 2000);
        assert_eq!(h.timer.get_sample_count(), 2000);
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
        assert!(text.contains("consumed_messages_total{partition=\"7\",topic=\"topic-0\"} 24"));
        let counts = text
            .lines()
            .filter(|l| l.starts_with("handle_seconds_count"))
            .count();
        assert_eq!(counts, 10);
        assert!(w.scrape(Format::Protobuf) > 0);
    }
}
