//! `measured` 0.0.25 with default features: typed metric groups
//! (`#[derive(MetricGroup)]`), label groups encoded to integers by a
//! `LabelGroupSet` (`#[derive(LabelGroup)]`), and one exposition format,
//! Prometheus text 0.0.4 through `BufferedTextEncoder`.
//!
//! measured turns label values into indexes through a `LabelSet`; its string
//! sets (`lasso`, `paracord`, `indexmap`, `phf`) are all behind non-default
//! features, so `StrSet` here is the user-side equivalent of
//! `indexmap::IndexSet` as measured uses it: values fixed at startup, one hash
//! lookup per label value.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use ::measured::label::{FixedCardinalitySet, LabelSet};
use ::measured::metric::LabelId;
use ::measured::metric::histogram::Thresholds;
use ::measured::text::BufferedTextEncoder;
use ::measured::{
    Counter, CounterVec, FloatGauge, Gauge, Histogram, HistogramVec, LabelGroup, MetricGroup,
};

use crate::hot_path::{Case, HotPath, LABEL_SETS};
use crate::scrape::{
    DEFAULT_BUCKETS, Format, ScrapeTarget, counter_increment, counter_labels, histogram_label,
    histogram_value, on_threads,
};

/// Number of finite buckets, a const generic of measured's histograms.
const BUCKETS: usize = DEFAULT_BUCKETS.len();

/// String label values fixed at startup: measured's `FixedCardinalitySet`
/// with the lookup of `indexmap::IndexSet` (a std hash map from value to
/// index), which measured only provides behind its `indexmap` feature.
struct StrSet {
    index: HashMap<Arc<str>, usize>,
    values: Vec<Arc<str>>,
}

impl StrSet {
    /// The distinct `values`, indexed in first-seen order.
    fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = StrSet {
            index: HashMap::new(),
            values: Vec::new(),
        };
        for value in values {
            if !set.index.contains_key(value) {
                let value: Arc<str> = Arc::from(value);
                set.index.insert(Arc::clone(&value), set.values.len());
                set.values.push(value);
            }
        }
        set
    }
}

impl LabelSet for StrSet {
    type Value<'a> = &'a str;

    fn dynamic_cardinality(&self) -> Option<usize> {
        Some(self.values.len())
    }

    fn encode(&self, value: &str) -> Option<usize> {
        self.index.get(value).copied()
    }

    fn decode(&self, value: usize) -> &str {
        &self.values[value]
    }
}

impl FixedCardinalitySet for StrSet {}

/// The labels of `l_total`, in [`LABEL_NAMES`](crate::hot_path::LABEL_NAMES)
/// order.
#[derive(Clone, Copy, LabelGroup)]
#[label(set = LabeledSet)]
struct Labeled<'a> {
    #[label(fixed_with = StrSet)]
    handler: &'a str,
    #[label(fixed_with = StrSet)]
    broker: &'a str,
    #[label(fixed_with = StrSet)]
    status: &'a str,
}

/// Every hot-path metric; the field names are the metric names and the doc
/// comments their help.
#[derive(MetricGroup)]
struct HotMetrics {
    /// Counter.
    c_total: Counter,
    /// Gauge set to a level.
    g: FloatGauge,
    /// Gauge incremented and decremented.
    gi: Gauge,
    /// Histogram.
    h_seconds: Histogram<BUCKETS>,
    /// Labeled counter.
    l_total: CounterVec<LabeledSet>,
    /// Timer histogram.
    t_seconds: Histogram<BUCKETS>,
}

/// measured's hot-path handles: one [`MetricGroup`] and the `LabelId` of
/// [`LABEL_SETS`]`[0]` in `l_total`.
pub struct Handles {
    metrics: HotMetrics,
    cached: LabelId<LabeledSet>,
}

impl fmt::Debug for Handles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handles").finish_non_exhaustive()
    }
}

impl Handles {
    /// Every hot-path metric in Prometheus text 0.0.4 (to read values back).
    pub fn encode_text(&self) -> Vec<u8> {
        let mut encoder = BufferedTextEncoder::new();
        let Ok(()) = self.metrics.collect_group_into(&mut encoder);
        encoder.finish().to_vec()
    }
}

impl HotPath for Handles {
    const NAME: &'static str = "measured";

    fn new() -> Self {
        let column = |i: usize| StrSet::new(LABEL_SETS.iter().map(|set| set[i]));
        let metrics = HotMetrics {
            c_total: Counter::new(),
            g: FloatGauge::new(),
            gi: Gauge::new(),
            h_seconds: Histogram::with_metadata(Thresholds::with_buckets(DEFAULT_BUCKETS)),
            l_total: CounterVec::with_label_set(LabeledSet::new(column(0), column(1), column(2))),
            t_seconds: Histogram::with_metadata(Thresholds::with_buckets(DEFAULT_BUCKETS)),
        };
        let [handler, broker, status] = LABEL_SETS[0];
        let cached = metrics.l_total.with_labels(Labeled {
            handler,
            broker,
            status,
        });
        Handles { metrics, cached }
    }

    /// measured has no floating-point counter (`CounterState` is an
    /// `AtomicU64`, src/metric/counter.rs); a `FloatGauge` would be exposed
    /// as a gauge, so [`Case::CounterIncF64`] is not run.
    fn supports(case: Case) -> bool {
        case != Case::CounterIncF64
    }

    #[inline]
    fn counter_inc(&self) {
        self.metrics.c_total.inc();
    }

    /// Never run (see [`HotPath::supports`]): does nothing.
    #[inline]
    fn counter_inc_f64(&self, _v: f64) {}

    #[inline]
    fn gauge_set(&self, v: f64) {
        self.metrics.g.set(v);
    }

    #[inline]
    fn gauge_inc_dec(&self, inc: bool) {
        if inc {
            self.metrics.gi.inc();
        } else {
            self.metrics.gi.dec();
        }
    }

    #[inline]
    fn histogram_observe(&self, v: f64) {
        self.metrics.h_seconds.observe(v);
    }

    /// `CounterVec::inc` with the 3 `&str` values: 3 hash lookups in the
    /// startup sets, then the dense index. A value outside the sets panics
    /// inside measured (`with_labels`).
    #[inline]
    fn labeled_lookup_inc(&self, values: &[&str; 3]) {
        let [handler, broker, status] = *values;
        self.metrics.l_total.inc(Labeled {
            handler,
            broker,
            status,
        });
    }

    #[inline]
    fn labeled_cached_inc(&self) {
        self.metrics.l_total.get_metric(self.cached).inc();
    }

    #[inline]
    fn timer_guard(&self) {
        let _timer = self.metrics.t_seconds.start_timer();
    }
}

/// The labels of the scrape workload's counter family.
#[derive(Clone, Copy, LabelGroup)]
#[label(set = ConsumedSet)]
struct Consumed<'a> {
    #[label(fixed_with = StrSet)]
    topic: &'a str,
    #[label(fixed_with = StrSet)]
    partition: &'a str,
}

/// The label of the scrape workload's histogram family.
#[derive(Clone, Copy, LabelGroup)]
#[label(set = HandledSet)]
struct Handled<'a> {
    #[label(fixed_with = StrSet)]
    topic: &'a str,
}

/// The scrape workload; names and help must match
/// [`COUNTER`](crate::scrape::COUNTER) and
/// [`HISTOGRAM`](crate::scrape::HISTOGRAM) (checked by the tests). measured
/// writes names as given, so the counter field carries `_total` itself.
#[derive(MetricGroup)]
struct ScrapeMetrics {
    /// Messages consumed.
    consumed_messages_total: CounterVec<ConsumedSet>,
    /// Handling time.
    handle_seconds: HistogramVec<HandledSet, BUCKETS>,
}

/// measured's scrape workload: label values fixed at startup (the counter
/// family, 10,000 series, goes past measured's dense limit of 1,024 and is a
/// sharded hash map; 1,000 histograms stay dense) and a reused
/// `BufferedTextEncoder`.
pub struct Workload {
    metrics: ScrapeMetrics,
    encoder: BufferedTextEncoder,
    last: ::bytes::Bytes,
}

impl fmt::Debug for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workload")
            .field("last_len", &self.last.len())
            .finish_non_exhaustive()
    }
}

impl ScrapeTarget for Workload {
    const NAME: &'static str = "measured";

    fn build(counters: usize, histograms: usize, writers: usize) -> Self {
        let counter_values: Vec<[String; 2]> = (0..counters).map(counter_labels).collect();
        let histogram_values: Vec<String> = (0..histograms).map(histogram_label).collect();
        let metrics = ScrapeMetrics {
            consumed_messages_total: CounterVec::with_label_set(ConsumedSet::new(
                StrSet::new(counter_values.iter().map(|[topic, _]| topic.as_str())),
                StrSet::new(
                    counter_values
                        .iter()
                        .map(|[_, partition]| partition.as_str()),
                ),
            )),
            handle_seconds: HistogramVec::with_label_set_and_metadata(
                HandledSet::new(StrSet::new(histogram_values.iter().map(String::as_str))),
                Thresholds::with_buckets(DEFAULT_BUCKETS),
            ),
        };
        let counter_ids: Vec<_> = counter_values
            .iter()
            .map(|[topic, partition]| {
                metrics
                    .consumed_messages_total
                    .with_labels(Consumed { topic, partition })
            })
            .collect();
        let histogram_ids: Vec<_> = histogram_values
            .iter()
            .map(|topic| metrics.handle_seconds.with_labels(Handled { topic }))
            .collect();
        on_threads(writers, counters, |i| {
            metrics
                .consumed_messages_total
                .get_metric(counter_ids[i])
                .inc_by(counter_increment(i));
        });
        on_threads(writers, histograms, |i| {
            metrics
                .handle_seconds
                .get_metric(histogram_ids[i])
                .observe(histogram_value(i));
        });
        Workload {
            metrics,
            encoder: BufferedTextEncoder::new(),
            last: ::bytes::Bytes::new(),
        }
    }

    /// Prometheus text 0.0.4 only: measured 0.0.25 has no OpenMetrics or
    /// protobuf encoder (src/text.rs is its only `Encoding`).
    fn supports(format: Format) -> bool {
        format == Format::Text
    }

    /// `collect_group_into` the kept encoder, then `finish()`, which splits
    /// the written bytes off its `BytesMut`. The previous scrape's `Bytes` is
    /// dropped first so that the encoder can reclaim the allocation. Writes
    /// nothing for an unsupported format.
    fn scrape(&mut self, format: Format) -> usize {
        self.last = ::bytes::Bytes::new();
        if format != Format::Text {
            return 0;
        }
        let Ok(()) = self.metrics.collect_group_into(&mut self.encoder);
        self.last = self.encoder.finish();
        self.last.len()
    }

    fn output(&self) -> &[u8] {
        &self.last
    }
}

#[cfg(test)]
mod tests {
    use super::{Handles, Workload};
    use crate::hot_path::{Case, HotPath, run_case};
    use crate::scrape::{COUNTER, Format, ScrapeTarget};

    use crate::peers::text::{check_hot_path, check_workload};

    #[test]
    fn hot_path_totals() {
        let h = Handles::new();
        for case in [
            Case::CounterInc,
            Case::GaugeIncDec,
            Case::LabeledLookupInc,
            Case::LabeledTypedInc,
            Case::LabeledCachedInc,
            Case::HistogramObserve,
            Case::TimerGuard,
        ] {
            assert!(Handles::supports(case));
            run_case(&h, case, 2, 1000);
        }
        assert!(!Handles::supports(Case::CounterIncF64));
        let text = String::from_utf8(h.encode_text()).expect("utf-8");
        check_hot_path(&text);
    }

    #[test]
    fn workload_scrape() {
        let mut w = Workload::build(100, 10, 3);
        assert!(!Workload::supports(Format::OpenMetrics));
        assert!(!Workload::supports(Format::Protobuf));
        assert_eq!(w.scrape(Format::Protobuf), 0);
        for _ in 0..2 {
            let n = w.scrape(Format::Text);
            assert_eq!(n, w.output().len());
            let text = std::str::from_utf8(w.output()).expect("utf-8");
            check_workload(text, COUNTER.0);
        }
    }
}
