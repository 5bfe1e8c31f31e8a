//! `fastmetrics` 0.7 with `protobuf` on (it builds without `protoc`): metrics are `Arc`
//! handles registered in a `Registry`, labeled series live in a `Family` (a
//! `RwLock<HashMap<LabelSet, M>>`), and the text encoder writes Prometheus
//! text 0.0.4 and OpenMetrics text from one registry; the protobuf encoder
//! writes length-delimited `MetricFamily` messages.
//!
//! Label sets implement `LabelSetSchema` and `EncodeLabelSet` by hand, as in
//! the crate docs (the derives are behind the non-default `derive` feature).

use std::fmt;
use std::time::Instant;

use ::fastmetrics::encoder::{EncodeLabelSet, LabelSetEncoder};
use ::fastmetrics::format::protobuf::{self, ProtobufProfile};
use ::fastmetrics::format::text::{self, TextProfile};
use ::fastmetrics::metrics::counter::Counter;
use ::fastmetrics::metrics::family::Family;
use ::fastmetrics::metrics::gauge::Gauge;
use ::fastmetrics::metrics::histogram::Histogram;
use ::fastmetrics::raw::LabelSetSchema;
use ::fastmetrics::registry::Registry;

use crate::hot_path::{HotPath, LABEL_NAMES, LABEL_SETS};
use crate::scrape::{
    COUNTER, DEFAULT_BUCKETS, Format, HISTOGRAM, ScrapeTarget, counter_increment, counter_labels,
    histogram_label, histogram_value, on_threads,
};

/// The labels of `l_total`. A `Family` is a `HashMap<LS, M>` looked up with
/// `&LS`, so a lookup by borrowed `&str` values builds this owned key first.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Labeled {
    handler: String,
    broker: String,
    status: String,
}

impl Labeled {
    fn new([handler, broker, status]: &[&str; 3]) -> Self {
        Labeled {
            handler: (*handler).to_owned(),
            broker: (*broker).to_owned(),
            status: (*status).to_owned(),
        }
    }
}

impl LabelSetSchema for Labeled {
    fn names() -> Option<&'static [&'static str]> {
        Some(&LABEL_NAMES)
    }
}

impl EncodeLabelSet for Labeled {
    fn encode(&self, encoder: &mut dyn LabelSetEncoder) -> ::fastmetrics::error::Result<()> {
        let [handler, broker, status] = LABEL_NAMES;
        encoder.encode(&(handler, &self.handler))?;
        encoder.encode(&(broker, &self.broker))?;
        encoder.encode(&(status, &self.status))?;
        Ok(())
    }
}

/// fastmetrics' hot-path handles, all registered in one `Registry`.
pub struct Handles {
    registry: Registry,
    c: Counter,
    cf: Counter<f64>,
    g: Gauge<f64>,
    gi: Gauge,
    h: Histogram,
    l: Family<Labeled, Counter>,
    /// The `Counter` of [`LABEL_SETS`]`[0]`, cloned out of `l` (a shared
    /// `Arc`).
    l_cached: Counter,
    t: Histogram,
}

impl fmt::Debug for Handles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handles").finish_non_exhaustive()
    }
}

impl Handles {
    /// Every hot-path metric in Prometheus text 0.0.4 (to read values back).
    pub fn encode_text(&self) -> Result<String, ::fastmetrics::error::Error> {
        let mut out = String::new();
        text::encode(&mut out, &self.registry, TextProfile::PrometheusV0_0_4)?;
        Ok(out)
    }
}

impl HotPath for Handles {
    const NAME: &'static str = "fastmetrics";

    fn new() -> Self {
        let c = <Counter>::default();
        let cf = Counter::<f64>::default();
        let g = Gauge::<f64>::default();
        let gi = <Gauge>::default();
        let h = Histogram::new(DEFAULT_BUCKETS);
        let l = Family::<Labeled, Counter>::default();
        let t = Histogram::new(DEFAULT_BUCKETS);
        let mut registry = Registry::default();
        registry
            .register("c_total", "Counter.", c.clone())
            .and_then(|r| r.register("cf_total", "Float counter.", cf.clone()))
            .and_then(|r| r.register("g", "Gauge set to a level.", g.clone()))
            .and_then(|r| r.register("gi", "Gauge incremented and decremented.", gi.clone()))
            .and_then(|r| r.register("h_seconds", "Histogram.", h.clone()))
            .and_then(|r| r.register("l_total", "Labeled counter.", l.clone()))
            .and_then(|r| r.register("t_seconds", "Timer histogram.", t.clone()))
            .expect("valid, distinct hot-path metrics");
        let l_cached = l.with_or_new(&Labeled::new(&LABEL_SETS[0]), Counter::clone);
        Handles {
            registry,
            c,
            cf,
            g,
            gi,
            h,
            l,
            l_cached,
            t,
        }
    }

    #[inline]
    fn counter_inc(&self) {
        self.c.inc();
    }

    #[inline]
    fn counter_inc_f64(&self, v: f64) {
        self.cf.inc_by(v);
    }

    #[inline]
    fn gauge_set(&self, v: f64) {
        self.g.set(v);
    }

    #[inline]
    fn gauge_inc_dec(&self, inc: bool) {
        if inc {
            self.gi.inc();
        } else {
            self.gi.dec();
        }
    }

    #[inline]
    fn histogram_observe(&self, v: f64) {
        self.h.observe(v);
    }

    /// Builds the owned label set (3 `String`s) and calls
    /// `Family::with_or_new`: a read lock and one hash of the 3 values.
    #[inline]
    fn labeled_lookup_inc(&self, values: &[&str; 3]) {
        self.l.with_or_new(&Labeled::new(values), |c| c.inc());
    }

    #[inline]
    fn labeled_cached_inc(&self) {
        self.l_cached.inc();
    }

    /// fastmetrics has no timer guard: `Instant::now()`, then observe the
    /// elapsed seconds.
    #[inline]
    fn timer_guard(&self) {
        let start = Instant::now();
        self.t.observe(start.elapsed().as_secs_f64());
    }
}

/// The labels of the scrape workload's counter family.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Consumed {
    topic: String,
    partition: String,
}

impl LabelSetSchema for Consumed {
    fn names() -> Option<&'static [&'static str]> {
        Some(&["topic", "partition"])
    }
}

impl EncodeLabelSet for Consumed {
    fn encode(&self, encoder: &mut dyn LabelSetEncoder) -> ::fastmetrics::error::Result<()> {
        encoder.encode(&("topic", &self.topic))?;
        encoder.encode(&("partition", &self.partition))?;
        Ok(())
    }
}

/// The label of the scrape workload's histogram family.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Handled {
    topic: String,
}

impl LabelSetSchema for Handled {
    fn names() -> Option<&'static [&'static str]> {
        Some(&["topic"])
    }
}

impl EncodeLabelSet for Handled {
    fn encode(&self, encoder: &mut dyn LabelSetEncoder) -> ::fastmetrics::error::Result<()> {
        encoder.encode(&("topic", &self.topic))?;
        Ok(())
    }
}

/// fastmetrics' scrape workload: a `Registry` with the two families and a
/// reused `String` for `text::encode`.
///
/// The counter family is registered as `consumed_messages_total`: the
/// OpenMetrics profiles append `_total` only to names without it, and the
/// Prometheus 0.0.4 profile never appends it, so this name gives
/// `consumed_messages_total` samples in both.
pub struct Workload {
    registry: Registry,
    buf: String,
    proto: Vec<u8>,
    last: Format,
}

impl fmt::Debug for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workload")
            .field("last_len", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl ScrapeTarget for Workload {
    const NAME: &'static str = "fastmetrics";

    fn build(counters: usize, histograms: usize, writers: usize) -> Self {
        let consumed = Family::<Consumed, Counter>::default();
        let handled = Family::<Handled, Histogram>::new(|| Histogram::new(DEFAULT_BUCKETS));
        let mut registry = Registry::default();
        registry
            .register(COUNTER.0, COUNTER.1, consumed.clone())
            .and_then(|r| r.register(HISTOGRAM.0, HISTOGRAM.1, handled.clone()))
            .expect("valid, distinct workload families");
        let counter_handles: Vec<Counter> = (0..counters)
            .map(|i| {
                let [topic, partition] = counter_labels(i);
                consumed.with_or_new(&Consumed { topic, partition }, Counter::clone)
            })
            .collect();
        let histogram_handles: Vec<Histogram> = (0..histograms)
            .map(|i| {
                let topic = histogram_label(i);
                handled.with_or_new(&Handled { topic }, Histogram::clone)
            })
            .collect();
        on_threads(writers, counters, |i| {
            counter_handles[i].inc_by(counter_increment(i));
        });
        on_threads(writers, histograms, |i| {
            histogram_handles[i].observe(histogram_value(i));
        });
        Workload {
            registry,
            buf: String::new(),
            proto: Vec::new(),
            last: Format::Text,
        }
    }

    /// Text (the `PrometheusV0_0_4` profile: no `# EOF`, `_created` or
    /// `# UNIT`, valid 0.0.4), OpenMetrics (the default `OpenMetricsV1_0_0`
    /// profile) and protobuf (the `protobuf` feature's `Prometheus`
    /// profile: length-delimited `MetricFamily`).
    fn supports(_: Format) -> bool {
        true
    }

    /// Encodes into the kept `String` (text) or `Vec` (protobuf) after
    /// clearing it; an encoding error leaves it empty.
    fn scrape(&mut self, format: Format) -> usize {
        self.last = format;
        let profile = match format {
            Format::Text => TextProfile::PrometheusV0_0_4,
            Format::OpenMetrics => TextProfile::default(),
            Format::Protobuf => {
                self.proto.clear();
                let profile = ProtobufProfile::Prometheus;
                if protobuf::encode(&mut self.proto, &self.registry, profile).is_err() {
                    self.proto.clear();
                }
                return self.proto.len();
            }
        };
        self.buf.clear();
        if text::encode(&mut self.buf, &self.registry, profile).is_err() {
            self.buf.clear();
        }
        self.buf.len()
    }

    fn output(&self) -> &[u8] {
        match self.last {
            Format::Protobuf => &self.proto,
            _ => self.buf.as_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Handles, Workload};
    use crate::hot_path::{Case, HotPath, run_case};
    use crate::scrape::{COUNTER, Format, ScrapeTarget};

    use crate::peers::text::{check_hot_path, check_workload, sample};

    #[test]
    fn hot_path_totals() {
        let h = Handles::new();
        for case in Case::ALL {
            assert!(Handles::supports(case));
        }
        for case in [
            Case::CounterInc,
            Case::CounterIncF64,
            Case::GaugeIncDec,
            Case::LabeledLookupInc,
            Case::LabeledTypedInc,
            Case::LabeledCachedInc,
            Case::HistogramObserve,
            Case::TimerGuard,
        ] {
            run_case(&h, case, 2, 1000);
        }
        let text = h.encode_text().expect("encodes");
        check_hot_path(&text);
        // 2 × (0.00 + 0.01 + ... + 9.99), summed in some order.
        let cf = sample(&text, "cf_total").expect("cf_total");
        assert!((cf - 9990.0).abs() < 1e-6, "{cf}");
    }

    #[test]
    fn workload_scrape() {
        let mut w = Workload::build(100, 10, 3);
        assert!(Workload::supports(Format::Text));
        assert!(Workload::supports(Format::OpenMetrics));
        // Two families, each a varint length then exactly that many bytes.
        let n = w.scrape(Format::Protobuf);
        let mut rest = w.output();
        assert_eq!(rest.len(), n);
        let mut families = 0;
        while !rest.is_empty() {
            let (mut len, mut shift, mut at) = (0usize, 0, 0);
            loop {
                let b = rest[at];
                len |= usize::from(b & 0x7f) << shift;
                shift += 7;
                at += 1;
                if b < 0x80 {
                    break;
                }
            }
            assert!(len > 100 && at + len <= rest.len(), "frame of {len} bytes");
            rest = &rest[at + len..];
            families += 1;
        }
        assert_eq!(families, 2);
        for _ in 0..2 {
            let n = w.scrape(Format::Text);
            assert!(n > 0);
            assert_eq!(n, w.output().len());
            let text = std::str::from_utf8(w.output()).expect("utf-8");
            check_workload(text, COUNTER.0);
            assert!(!text.contains("# EOF"));

            let n = w.scrape(Format::OpenMetrics);
            assert!(n > 0);
            assert_eq!(n, w.output().len());
            let text = std::str::from_utf8(w.output()).expect("utf-8");
            check_workload(text, COUNTER.0);
            assert!(text.ends_with("# EOF\n"));
        }
    }
}
