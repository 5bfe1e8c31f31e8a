//! The `metrics` facade (0.24) with `metrics-exporter-prometheus` (0.18,
//! default features off) as its backend.
//!
//! Nothing here installs a global recorder: every [`Handles`] and
//! [`Workload`] builds its own [`PrometheusRecorder`] and registers through
//! it with [`::metrics::Recorder`] and a [`::metrics::Key`], exactly what the
//! `counter!` / `gauge!` / `histogram!` macros expand to minus the
//! recorder dispatch (`metrics::with_recorder`, a `&dyn Recorder`).
//!
//! The exporter renders histograms as real bucketed histograms only when
//! buckets are set (`PrometheusBuilder::set_buckets`); otherwise they come
//! out as summaries. Both structs set the 11 [`DEFAULT_BUCKETS`].
//!
//! The exporter does not aggregate on `record`: each observation is pushed,
//! with a clock read, into a lock-free list of raw samples
//! (`metrics-util`'s `AtomicBucket`), which upkeep or a render drains into
//! the buckets. Memory therefore grows with the observations between
//! drains.

use crate::hot_path::{HotPath, LABEL_NAMES, LABEL_SETS};
use crate::scrape::{
    COUNTER, DEFAULT_BUCKETS, Format, HISTOGRAM, ScrapeTarget, counter_increment, counter_labels,
    histogram_label, histogram_value, on_threads,
};
use ::metrics::Recorder as _;
use ::metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the `counter!` & co. macros pass as metadata (`metadata_var!`): this
/// module's path at level INFO. The Prometheus recorder ignores it.
static METADATA: ::metrics::Metadata<'static> =
    ::metrics::Metadata::new(module_path!(), ::metrics::Level::INFO, Some(module_path!()));

/// The exporter's default upkeep interval (`PrometheusBuilder::new` sets
/// `upkeep_timeout` to 5 s); its own exporter task drains histograms this
/// often.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// A recorder with the 11 [`DEFAULT_BUCKETS`] for every histogram, not
/// installed anywhere.
fn recorder() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets(&DEFAULT_BUCKETS)
        .expect("the default buckets are not empty")
        .build_recorder()
}

/// Registers (or finds) the unlabeled counter `name`, as `counter!(name)`.
fn counter(recorder: &PrometheusRecorder, name: &'static str) -> ::metrics::Counter {
    recorder.register_counter(&::metrics::Key::from_static_name(name), &METADATA)
}

/// Registers (or finds) the unlabeled gauge `name`, as `gauge!(name)`.
fn gauge(recorder: &PrometheusRecorder, name: &'static str) -> ::metrics::Gauge {
    recorder.register_gauge(&::metrics::Key::from_static_name(name), &METADATA)
}

/// Registers (or finds) the unlabeled histogram `name`, as
/// `histogram!(name)`.
fn histogram(recorder: &PrometheusRecorder, name: &'static str) -> ::metrics::Histogram {
    recorder.register_histogram(&::metrics::Key::from_static_name(name), &METADATA)
}

/// The key `counter!("l_total", "handler" => v0, "broker" => v1, "status" =>
/// v2)` builds: a `Vec` of labels, the values owned because the macro only
/// borrows `&'static str` (`SharedString` is a `Cow<'static, str>`).
fn labeled_key(values: &[&str; 3]) -> ::metrics::Key {
    let labels = vec![
        ::metrics::Label::new(LABEL_NAMES[0], values[0].to_owned()),
        ::metrics::Label::new(LABEL_NAMES[1], values[1].to_owned()),
        ::metrics::Label::new(LABEL_NAMES[2], values[2].to_owned()),
    ];
    ::metrics::Key::from_parts("l_total", labels)
}

/// The periodic `run_upkeep` that `build_recorder` users must run themselves
/// (the crate docs, "Upkeep and maintenance"); without it histogram samples
/// pile up for as long as a bench runs. Stops and joins on drop.
#[derive(Debug)]
struct Upkeep {
    /// Dropping it wakes and stops the thread.
    stop: Option<Sender<()>>,
    /// The upkeep thread.
    thread: Option<JoinHandle<()>>,
}

impl Upkeep {
    /// Starts upkeep of `handle` every [`UPKEEP_INTERVAL`].
    fn start(handle: PrometheusHandle) -> Self {
        let (stop, stopped): (Sender<()>, Receiver<()>) = channel();
        let thread = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(UPKEEP_INTERVAL) {
                    handle.run_upkeep();
                }
            })
            .expect("spawning the upkeep thread");
        Upkeep {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Upkeep {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A panic in upkeep has nothing left to report to.
            let _ = thread.join();
        }
    }
}

/// The hot-path handles, registered once on a private
/// [`PrometheusRecorder`] that a background thread keeps up every 5 s, as
/// the exporter's own task would.
#[derive(Debug)]
pub struct Handles {
    /// Renders the recorder and runs its upkeep.
    handle: PrometheusHandle,
    /// The recorder, for the per-call lookups of `labeled_lookup_inc`.
    recorder: PrometheusRecorder,
    /// `c_total`.
    counter: ::metrics::Counter,
    /// `cf_total`: a gauge, see [`HotPath::counter_inc_f64`].
    counter_f64: ::metrics::Gauge,
    /// `g`.
    gauge: ::metrics::Gauge,
    /// `gi`.
    gauge_inc_dec: ::metrics::Gauge,
    /// `h_seconds`.
    histogram: ::metrics::Histogram,
    /// `l_total` for [`LABEL_SETS`]`[0]`, looked up once.
    labeled_cached: ::metrics::Counter,
    /// `t_seconds`.
    timer: ::metrics::Histogram,
    /// Periodic `run_upkeep`.
    _upkeep: Upkeep,
}

impl Handles {
    /// The recorder's Prometheus text exposition now (drains the histogram
    /// samples first), to check what the cases recorded.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

impl HotPath for Handles {
    const NAME: &'static str = "metrics";

    fn new() -> Self {
        let recorder = recorder();
        let handle = recorder.handle();
        Handles {
            counter: counter(&recorder, "c_total"),
            counter_f64: gauge(&recorder, "cf_total"),
            gauge: gauge(&recorder, "g"),
            gauge_inc_dec: gauge(&recorder, "gi"),
            histogram: histogram(&recorder, "h_seconds"),
            labeled_cached: recorder.register_counter(&labeled_key(&LABEL_SETS[0]), &METADATA),
            timer: histogram(&recorder, "t_seconds"),
            _upkeep: Upkeep::start(handle.clone()),
            handle,
            recorder,
        }
    }

    fn counter_inc(&self) {
        self.counter.increment(1);
    }

    /// `metrics` counters are `u64` only (`Counter::increment(u64)`); the
    /// closest honest float accumulator is a gauge's `increment(f64)`, what
    /// `metrics` users write to sum fractional values: the same
    /// compare-and-swap add on the `f64` bits that float counters elsewhere
    /// do, with no fraction lost. It is exposed as `# TYPE cf_total gauge`,
    /// not as a counter. (`increment(v as u64)` would drop the fractions,
    /// and `absolute` sets rather than adds.)
    fn counter_inc_f64(&self, v: f64) {
        self.counter_f64.increment(v);
    }

    fn gauge_set(&self, v: f64) {
        self.gauge.set(v);
    }

    fn gauge_inc_dec(&self, inc: bool) {
        if inc {
            self.gauge_inc_dec.increment(1.0);
        } else {
            self.gauge_inc_dec.decrement(1.0);
        }
    }

    fn histogram_observe(&self, v: f64) {
        self.histogram.record(v);
    }

    /// What `counter!("l_total", "handler" => v0.to_owned(), ...)` does on
    /// every call: build the key (a label `Vec`, 3 owned values, a hash),
    /// register it through the recorder, which copies the key into an `Arc`
    /// (`Key::to_retained`) before the registry lookup, hit or miss, then
    /// add one.
    fn labeled_lookup_inc(&self, values: &[&str; 3]) {
        self.recorder
            .register_counter(&labeled_key(values), &METADATA)
            .increment(1);
    }

    fn labeled_cached_inc(&self) {
        self.labeled_cached.increment(1);
    }

    /// `metrics` has no timer guard; users time by hand and record the
    /// `Duration` (recorded as seconds, `Duration::as_secs_f64`).
    fn timer_guard(&self) {
        let start = Instant::now();
        self.timer.record(start.elapsed());
    }
}

/// The scrape workload on a private [`PrometheusRecorder`] (no upkeep
/// thread: every scrape drains the histogram samples itself).
///
/// The exporter writes names as registered (it appends `_total` only with
/// `with_recommended_naming`, and then not twice), so the counter family is
/// registered as `consumed_messages_total` and comes out as such. Families
/// and series come out in hash-map order, not registration order.
#[derive(Debug)]
pub struct Workload {
    /// Renders the recorder.
    handle: PrometheusHandle,
    /// The last scrape, reused.
    buf: Vec<u8>,
}

impl ScrapeTarget for Workload {
    const NAME: &'static str = "metrics";

    /// Until the first scrape, each histogram holds its raw samples (a
    /// 64-slot block per series) rather than buckets.
    fn build(counters: usize, histograms: usize, writers: usize) -> Self {
        let recorder = recorder();
        recorder.describe_counter(COUNTER.0.into(), None, COUNTER.1.into());
        recorder.describe_histogram(HISTOGRAM.0.into(), None, HISTOGRAM.1.into());
        let counter_handles: Vec<::metrics::Counter> = (0..counters)
            .map(|i| {
                let [topic, partition] = counter_labels(i);
                let labels = vec![
                    ::metrics::Label::new("topic", topic),
                    ::metrics::Label::new("partition", partition),
                ];
                recorder.register_counter(&::metrics::Key::from_parts(COUNTER.0, labels), &METADATA)
            })
            .collect();
        let histogram_handles: Vec<::metrics::Histogram> = (0..histograms)
            .map(|i| {
                let labels = vec![::metrics::Label::new("topic", histogram_label(i))];
                recorder
                    .register_histogram(&::metrics::Key::from_parts(HISTOGRAM.0, labels), &METADATA)
            })
            .collect();
        on_threads(writers, counters, |i| {
            counter_handles[i].increment(counter_increment(i))
        });
        on_threads(writers, histograms, |i| {
            histogram_handles[i].record(histogram_value(i))
        });
        Workload {
            handle: recorder.handle(),
            buf: Vec::new(),
        }
    }

    /// Text only: without its `protobuf` feature (off here, and its build
    /// script needs `protoc`) the exporter has no protobuf renderer, and it
    /// has no OpenMetrics writer at all.
    fn supports(format: Format) -> bool {
        format == Format::Text
    }

    /// `PrometheusHandle::render_to_write` into the kept buffer: the same
    /// snapshot (histogram drain included) and text as `render`, without its
    /// fresh `Vec` and `String`. An unsupported format writes nothing.
    fn scrape(&mut self, format: Format) -> usize {
        self.buf.clear();
        if !Self::supports(format) {
            return 0;
        }
        self.handle
            .render_to_write(&mut self.buf)
            .expect("writing into a Vec cannot fail");
        self.buf.len()
    }

    fn output(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hot_path::{Case, run_case};

    /// The value of the sample line for `series` (name and labels as
    /// written), if there is exactly one.
    fn value(text: &str, series: &str) -> Option<f64> {
        let mut found = text
            .lines()
            .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '));
        let v = found.next()?.parse().ok()?;
        found.next().is_none().then_some(v)
    }

    #[test]
    fn hot_path_cases_land_in_the_exposition() {
        let h = Handles::new();
        for case in [
            Case::CounterInc,
            Case::CounterIncF64,
            Case::GaugeIncDec,
            Case::HistogramObserve,
            Case::LabeledLookupInc,
            Case::LabeledTypedInc,
            Case::LabeledCachedInc,
            Case::TimerGuard,
        ] {
            run_case(&h, case, 2, 1000);
        }
        h.gauge_set(2.5);
        let text = h.render();

        assert_eq!(value(&text, "c_total"), Some(2000.0), "{text}");
        // Sum of (i % 1000) / 100 over i < 1000, twice.
        let cf = value(&text, "cf_total").expect("cf_total");
        assert!((cf - 9990.0).abs() < 1e-6, "cf_total {cf}");
        assert!(text.contains("# TYPE cf_total gauge"), "{text}");
        assert_eq!(value(&text, "g"), Some(2.5));
        assert_eq!(value(&text, "gi"), Some(0.0));

        // Real buckets: only 0.0 is <= 0.005, once per thread.
        assert!(text.contains("# TYPE h_seconds histogram"), "{text}");
        assert_eq!(value(&text, "h_seconds_bucket{le=\"0.005\"}"), Some(2.0));
        assert_eq!(value(&text, "h_seconds_bucket{le=\"10\"}"), Some(2000.0));
        assert_eq!(value(&text, "h_seconds_bucket{le=\"+Inf\"}"), Some(2000.0));
        assert_eq!(value(&text, "h_seconds_count"), Some(2000.0));
        assert_eq!(value(&text, "t_seconds_count"), Some(2000.0));
        assert_eq!(value(&text, "t_seconds_bucket{le=\"+Inf\"}"), Some(2000.0));

        // 2 threads x 1000 lookups over 4 sets, twice (the string and the
        // typed case): 1000 each; set 0 also got the 2000 cached increments.
        let series = |s: &[&str; 3]| {
            format!(
                "l_total{{handler=\"{}\",broker=\"{}\",status=\"{}\"}}",
                s[0], s[1], s[2]
            )
        };
        assert_eq!(
            value(&text, &series(&LABEL_SETS[0])),
            Some(3000.0),
            "{text}"
        );
        for set in &LABEL_SETS[1..] {
            assert_eq!(value(&text, &series(set)), Some(1000.0), "{text}");
        }
    }

    #[test]
    fn workload_scrapes_every_series() {
        let mut w = Workload::build(100, 10, 3);
        assert!(Workload::supports(Format::Text));
        assert!(!Workload::supports(Format::OpenMetrics));
        assert!(!Workload::supports(Format::Protobuf));
        let n = w.scrape(Format::Text);
        assert_eq!(n, w.output().len());
        let text = std::str::from_utf8(w.output()).expect("utf-8");

        assert!(text.contains("# HELP consumed_messages_total Messages consumed.\n"));
        assert!(text.contains("# TYPE consumed_messages_total counter\n"));
        assert!(text.contains("# HELP handle_seconds Handling time.\n"));
        assert!(text.contains("# TYPE handle_seconds histogram\n"));
        let counter_lines = text
            .lines()
            .filter(|l| l.starts_with("consumed_messages_total{"))
            .count();
        assert_eq!(counter_lines, 100, "{text}");
        let [topic, partition] = counter_labels(7);
        let seven =
            format!("consumed_messages_total{{topic=\"{topic}\",partition=\"{partition}\"}}");
        assert_eq!(
            value(text, &seven),
            Some(3.0 * counter_increment(7) as f64),
            "{text}"
        );

        let counts: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("handle_seconds_count{"))
            .collect();
        assert_eq!(counts.len(), 10, "{text}");
        assert!(counts.iter().all(|l| l.ends_with(" 3")), "{counts:?}");
        let nine = format!("handle_seconds_count{{topic=\"{}\"}}", histogram_label(9));
        assert_eq!(value(text, &nine), Some(3.0));

        // A second scrape reuses the buffer and still has everything.
        assert_eq!(w.scrape(Format::Text), n);
        assert_eq!(w.scrape(Format::Protobuf), 0);
    }
}
