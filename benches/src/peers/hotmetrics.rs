//! hotmetrics itself, through the facade crate as a user writes it.

use crate::hot_path::{HotPath, LABEL_NAMES, LABEL_SETS};
use crate::scrape::{
    COUNTER, DEFAULT_BUCKETS, Format, HISTOGRAM, ScrapeTarget, counter_increment, counter_labels,
    histogram_label, histogram_value, on_threads,
};
use crate::typed_labels::{Processed, TYPED_SETS};
use ::hotmetrics::exposition::{Format as Exposition, ScrapeEncoder};
use ::hotmetrics::{
    Buckets, Counter, CounterF64, Family, Gauge, GaugeF64, Histogram, Opts, Registry, TypedFamily,
};
use bytes::BytesMut;

/// The hot-path handles, all in one registry.
#[derive(Debug)]
pub struct Handles {
    registry: Registry,
    counter: Counter,
    counter_f64: CounterF64,
    level: GaugeF64,
    in_flight: Gauge,
    histogram: Histogram,
    labeled: Family<Counter>,
    typed: TypedFamily<Counter, Processed>,
    cached: Counter,
    timer: Histogram,
}

impl Handles {
    /// The registry holding every handle (tests read values back from it).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl HotPath for Handles {
    const NAME: &'static str = "hotmetrics";

    fn new() -> Self {
        let registry = Registry::new();
        let labeled = registry
            .counter_vec(("l_total", "l"), &LABEL_NAMES)
            .expect("valid");
        let cached = labeled.get_or_create(&LABEL_SETS[0]).expect("valid");
        Self {
            counter: registry.counter(("c_total", "c")).expect("valid"),
            counter_f64: registry.counter_f64(("cf_total", "cf")).expect("valid"),
            level: registry.gauge_f64(("g", "g")).expect("valid"),
            in_flight: registry.gauge(("gi", "gi")).expect("valid"),
            histogram: registry
                .histogram(("h_seconds", "h"), Buckets::default())
                .expect("valid"),
            timer: registry
                .histogram(("t_seconds", "t"), Buckets::default())
                .expect("valid"),
            typed: labeled.typed().expect("the same label names"),
            labeled,
            cached,
            registry,
        }
    }

    #[inline]
    fn counter_inc(&self) {
        self.counter.inc();
    }

    #[inline]
    fn counter_inc_f64(&self, v: f64) {
        // The error is for NaN and negative values, which never come here.
        let _ = self.counter_f64.inc_by(v);
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
        // The error is for a wrong label count or the series limit.
        let _ = self.labeled.with(values, Counter::inc);
    }

    #[inline]
    fn labeled_typed_inc(&self, set: usize) {
        // The error is for the series limit, never reached here.
        let _ = self.typed.with(&TYPED_SETS[set], Counter::inc);
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

/// The scrape workload in a hotmetrics registry, with the reusable
/// [`ScrapeEncoder`] and buffer a `/metrics` handler keeps.
#[derive(Debug)]
pub struct Workload {
    registry: Registry,
    counters: Family<Counter>,
    histograms: Family<Histogram>,
    encoder: ScrapeEncoder,
    out: BytesMut,
}

impl Workload {
    /// The workload in `registry` (see [`ScrapeTarget::build`]).
    fn build_in(registry: Registry, counters: usize, histograms: usize, writers: usize) -> Self {
        let opts = Opts::new(COUNTER.0, COUNTER.1).max_series(counters.max(1));
        let family = registry
            .counter_vec(opts, &["topic", "partition"])
            .expect("valid");
        let opts = Opts::new(HISTOGRAM.0, HISTOGRAM.1).max_series(histograms.max(1));
        let buckets = Buckets::new(DEFAULT_BUCKETS.to_vec()).expect("valid");
        let hfamily = registry
            .histogram_vec(opts, buckets, &["topic"])
            .expect("valid");
        let c: Vec<_> = (0..counters)
            .map(|i| {
                let [t, p] = counter_labels(i);
                family.get_or_create(&[&t, &p]).expect("under the limit")
            })
            .collect();
        let h: Vec<_> = (0..histograms)
            .map(|i| {
                hfamily
                    .get_or_create(&[&histogram_label(i)])
                    .expect("under the limit")
            })
            .collect();
        on_threads(writers, counters, |i| c[i].inc_by(counter_increment(i)));
        on_threads(writers, histograms, |i| h[i].observe(histogram_value(i)));
        Self {
            registry,
            counters: family,
            histograms: hfamily,
            encoder: ScrapeEncoder::new(),
            out: BytesMut::new(),
        }
    }

    /// The registry holding the workload (the export rows send it).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Adds one to every counter and observes once in every histogram, so
    /// every series changed (the StatsD export rows). Allocates (the label
    /// values are made again).
    pub fn touch_all(&self) {
        for i in 0..self.counters.len() {
            let [t, p] = counter_labels(i);
            // The series exist: no error.
            let _ = self.counters.with(&[&t, &p], Counter::inc);
        }
        for i in 0..self.histograms.len() {
            let _ = self
                .histograms
                .with(&[&histogram_label(i)], |h| h.observe(histogram_value(i)));
        }
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
}

impl ScrapeTarget for Workload {
    const NAME: &'static str = "hotmetrics";

    fn build(counters: usize, histograms: usize, writers: usize) -> Self {
        Self::build_in(Registry::new(), counters, histograms, writers)
    }

    fn supports(_: Format) -> bool {
        true
    }

    fn scrape(&mut self, format: Format) -> usize {
        Workload::scrape(self, format)
    }

    fn output(&self) -> &[u8] {
        &self.out
    }
}

/// The same workload in a registry whose families expire after an hour:
/// nothing expires, so its scrapes cost what the expiry sweep adds.
#[derive(Debug)]
pub struct ExpiringWorkload(Workload);

impl ScrapeTarget for ExpiringWorkload {
    const NAME: &'static str = "hotmetrics_expiry";

    fn build(counters: usize, histograms: usize, writers: usize) -> Self {
        let registry = Registry::builder()
            .expire_after(std::time::Duration::from_secs(3600))
            .build()
            .expect("valid");
        Self(Workload::build_in(registry, counters, histograms, writers))
    }

    fn supports(_: Format) -> bool {
        true
    }

    fn scrape(&mut self, format: Format) -> usize {
        self.0.scrape(format)
    }

    fn output(&self) -> &[u8] {
        &self.0.out
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
        let s = h.registry().snapshot();
        assert_eq!(s.counter("c", &[]), Some(2000.0));
        let labels: Vec<_> = LABEL_NAMES.into_iter().zip(LABEL_SETS[0]).collect();
        // 500 from the string lookups, 500 from the typed ones (4 sets
        // each), 2000 through the cached handle.
        assert_eq!(s.counter("l", &labels), Some(3000.0));
        assert_eq!(h.in_flight.get(), 0);
        assert_eq!(h.histogram.snapshot().count, 2000);
        assert_eq!(h.timer.snapshot().count, 2000);
        let sum: f64 = (0..1000).map(crate::hot_path::sample_value).sum();
        assert!((h.counter_f64.get() - 2.0 * sum).abs() < 1e-6);
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
        let seven = format!(
            "consumed_messages_total{{topic=\"topic-0\",partition=\"7\"}} {}",
            3 * counter_increment(7)
        );
        assert!(text.contains(&seven), "{seven} missing");
        let counts: Vec<_> = text
            .lines()
            .filter(|l| l.starts_with("handle_seconds_count"))
            .collect();
        assert_eq!(counts.len(), 10);
        assert!(counts.iter().all(|l| l.ends_with(" 3")));
        for format in Format::ALL {
            assert!(w.scrape(format) > 0);
        }
    }
}
