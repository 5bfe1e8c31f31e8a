//! From the registry's families to remote write's flat samples, as a
//! Prometheus scrape of the same registry would store them: counters as
//! `<name>_total`, gauges and unknowns as `<name>`, histograms as
//! cumulative `<name>_bucket{le}` series with `<name>_sum` and
//! `<name>_count`, summaries as `<name>{quantile}` with `_sum` and
//! `_count`, info families as `<name>_info` = 1, state sets as one
//! `<name>{<name>="<state>"}` series per state, 1 or 0. With
//! `send_native_histograms`, a histogram with native buckets is also (or,
//! without classic bounds, only) one native histogram sample `<name>`;
//! with `send_exemplars`, exemplars go with the series they belong to.

use crate::exemplars::Exemplars;
use crate::labels::LabelBuf;
use crate::native::NativeSample;
use hotmetrics_core::{Exemplar, FamilyDesc, LabelSet, MetricType, MetricVisitor, SeriesValue};
use hotmetrics_core::{GoFloat, Integral};
use hotmetrics_export::{Batch, EncodeError, Payload};

/// The family being written, kept in buffers reused between families.
#[derive(Debug)]
pub(crate) struct FamilyInfo {
    /// The family name (counters without `_total`).
    pub(crate) name: String,
    /// Its name in metadata: as the text format's `# TYPE` line names it
    /// (`requests_total`, `build_info`, `latency_seconds`).
    pub(crate) metadata_name: String,
    pub(crate) help: String,
    /// `""` when none.
    pub(crate) unit: String,
    pub(crate) metric_type: MetricType,
    /// Tells families apart (a payload writes each one's metadata once).
    pub(crate) seq: u64,
}

impl Default for FamilyInfo {
    fn default() -> Self {
        Self {
            name: String::new(),
            metadata_name: String::new(),
            help: String::new(),
            unit: String::new(),
            metric_type: MetricType::Unknown,
            seq: 0,
        }
    }
}

impl FamilyInfo {
    fn set(&mut self, d: &FamilyDesc<'_>) {
        self.name.clear();
        self.name.push_str(d.name);
        self.metadata_name.clear();
        self.metadata_name.push_str(d.name);
        self.metadata_name.push_str(d.metric_type.value_suffix());
        self.help.clear();
        self.help.push_str(d.help);
        self.unit.clear();
        self.unit.push_str(d.unit.unwrap_or(""));
        self.metric_type = d.metric_type;
        self.seq += 1;
    }
}

/// A sample's value: a float, or a native histogram.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Float(f64),
    Native(NativeSample<'a>),
}

/// A protocol's request writer: takes samples, and turns what it holds
/// into one compressed payload.
pub(crate) trait Writer {
    /// Adds one sample of `family` with `labels` (sorted, `__name__` in)
    /// as a series of its own, with `exemplars` (often none).
    fn sample(
        &mut self,
        family: &FamilyInfo,
        labels: &LabelBuf,
        value: Value<'_>,
        exemplars: &Exemplars,
        timestamp_ms: i64,
        start_ms: Option<i64>,
    );

    /// Samples held, a native histogram counting as one.
    fn samples(&self) -> u64;

    /// Writes the request into `out` (snappy-compressed) and empties
    /// itself for the next one ([`reset`](Self::reset)).
    fn finish(
        &mut self,
        out: &mut Payload,
        snappy: &mut snap::raw::Encoder,
    ) -> Result<(), EncodeError>;

    /// Drops what it holds, keeping its buffers: at the start of each
    /// export, so that one cut short (a collector's panic, an encoding
    /// error) leaves nothing in the next export's first request.
    fn reset(&mut self);
}

/// Finishes `writer`'s request into a new payload of `batch`.
pub(crate) fn finish_into(
    writer: &mut dyn Writer,
    batch: &mut Batch,
    snappy: &mut snap::raw::Encoder,
) -> Result<(), EncodeError> {
    let out = batch.payload();
    let done = writer.finish(out, snappy);
    if done.is_err() {
        batch.pop();
    }
    done
}

/// The bucket bounds spelled once per family (`0.005`, ..., `+Inf`), not
/// once per series.
#[derive(Debug, Default)]
struct Bounds {
    values: Vec<f64>,
    text: Vec<u8>,
    ends: Vec<usize>,
}

impl Bounds {
    fn refresh(&mut self, upper: &[f64]) {
        // Bit for bit: `-0.0 == 0.0`, but `le="-0"` and `le="0"` are two
        // series.
        let same = self.values.len() == upper.len()
            && self
                .values
                .iter()
                .zip(upper)
                .all(|(a, b)| a.to_bits() == b.to_bits());
        if same && !self.ends.is_empty() {
            return;
        }
        self.values.clear();
        self.values.extend_from_slice(upper);
        self.text.clear();
        self.ends.clear();
        for &b in upper.iter().chain(&[f64::INFINITY]) {
            self.text
                .extend_from_slice(GoFloat::new(b, Integral::Bare).as_bytes());
            self.ends.push(self.text.len());
        }
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

/// What the flattening keeps between exports: its buffers.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    family: FamilyInfo,
    labels: LabelBuf,
    bounds: Bounds,
    exemplars: Exemplars,
}

/// Walks a registry into `writer`, starting a new payload every
/// `max_samples` samples.
pub(crate) struct Flatten<'a> {
    pub(crate) writer: &'a mut dyn Writer,
    pub(crate) scratch: &'a mut Scratch,
    pub(crate) external: &'a [(String, String)],
    pub(crate) batch: &'a mut Batch,
    pub(crate) snappy: &'a mut snap::raw::Encoder,
    pub(crate) max_samples: u64,
    pub(crate) timestamp_ms: i64,
    /// `send_native_histograms`.
    pub(crate) native: bool,
    /// `send_exemplars`.
    pub(crate) exemplars: bool,
    /// Exemplars timestamped before this (the previous completed export's
    /// time, ms) were sent then and are left out.
    pub(crate) exemplars_since_ms: i64,
    /// The first failure, which ends the export.
    pub(crate) error: Option<EncodeError>,
}

/// Seconds since the epoch as whole milliseconds.
pub(crate) fn millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

impl Flatten<'_> {
    /// Writes out what is left: the export's last payload.
    pub(crate) fn finish(mut self) -> Result<(), EncodeError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.writer.samples() > 0 {
            finish_into(self.writer, self.batch, self.snappy)?;
        }
        Ok(())
    }

    /// Writes one series: `family`'s name + `suffix`, the series' labels
    /// and `extra`, `value`, and `exemplars` when they are sent.
    fn emit(
        &mut self,
        suffix: &str,
        extra: Extra<'_>,
        value: Value<'_>,
        exemplars: &[Exemplar],
        start: Option<i64>,
    ) {
        let s = &mut *self.scratch;
        s.exemplars.clear();
        if self.exemplars {
            // An untimed exemplar takes the export's time, so it is new
            // every export (as a scrape would see it).
            let new = |e: &&Exemplar| {
                e.timestamp()
                    .is_none_or(|t| millis(t) >= self.exemplars_since_ms)
            };
            for e in exemplars.iter().filter(new) {
                s.exemplars.push(e, self.timestamp_ms);
            }
        }
        let q;
        let extra = match extra {
            Extra::None => None,
            Extra::Le(i) => Some((&b"le"[..], s.bounds.get(i))),
            Extra::Quantile(v) => {
                q = GoFloat::new(v, Integral::Bare);
                Some((&b"quantile"[..], q.as_bytes()))
            }
            Extra::State(state) => Some((s.family.name.as_bytes(), state.as_bytes())),
        };
        s.labels
            .sample(s.family.name.as_bytes(), suffix.as_bytes(), extra);
        self.writer.sample(
            &s.family,
            &s.labels,
            value,
            &s.exemplars,
            self.timestamp_ms,
            start,
        );
        if self.writer.samples() >= self.max_samples
            && let Err(e) = finish_into(self.writer, self.batch, self.snappy)
        {
            self.error.get_or_insert(e);
        }
    }
}

/// A sample's own label, besides the series' labels and `__name__`.
#[derive(Clone, Copy)]
enum Extra<'a> {
    None,
    /// `le`: the bucket's bound, by index.
    Le(usize),
    /// `quantile`.
    Quantile(f64),
    /// A state set's state: the label is named after the family.
    State(&'a str),
}

/// An optional exemplar as a slice of none or one.
fn one(e: Option<&Exemplar>) -> &[Exemplar] {
    e.map_or(&[], std::slice::from_ref)
}

impl MetricVisitor for Flatten<'_> {
    /// Only with `send_native_histograms`: otherwise the native buckets
    /// would not be sent, and the scrape skips their merge.
    fn wants_native(&self) -> bool {
        self.native
    }

    fn begin_family(&mut self, family: &FamilyDesc<'_>) {
        self.scratch.family.set(family);
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        if self.error.is_some() {
            return;
        }
        let l = &mut self.scratch.labels;
        l.clear();
        // An empty value is no label: Prometheus stores a scraped
        // `{a=""}` as `{}` (and a receiver may refuse the empty value).
        labels.for_each(&mut |n, v| {
            if !v.is_empty() {
                l.push(n.as_bytes(), v.as_bytes());
            }
        });
        // A series' own label wins over an external one of the same name,
        // as in Prometheus (one with an empty value is none).
        for (n, v) in self.external {
            if !l.has(n.as_bytes()) {
                l.push(n.as_bytes(), v.as_bytes());
            }
        }
        l.seal_base();
        match *value {
            SeriesValue::Counter {
                value,
                created,
                exemplar,
            } => {
                let start = Some(millis(created));
                self.emit(
                    "_total",
                    Extra::None,
                    Value::Float(value.as_f64()),
                    one(exemplar),
                    start,
                );
            }
            SeriesValue::Gauge(v) | SeriesValue::Unknown(v) => {
                self.emit("", Extra::None, Value::Float(v.as_f64()), &[], None);
            }
            SeriesValue::Info => self.emit("_info", Extra::None, Value::Float(1.0), &[], None),
            SeriesValue::Histogram(h) => {
                let start = h.created.map(millis);
                // A collector may hand native buckets over unasked.
                let native = h.native.as_ref().filter(|_| self.native);
                // Native-only buckets have no classic view to send beside
                // them (their one bucket is `+Inf`, the count).
                if native.is_none() || !h.upper_bounds.is_empty() {
                    self.scratch.bounds.refresh(h.upper_bounds);
                    let mut cumulative = 0u64;
                    for (i, &c) in h.bucket_counts.iter().enumerate() {
                        cumulative += c;
                        let e = one(h.exemplars.get(i).and_then(Option::as_ref));
                        self.emit(
                            "_bucket",
                            Extra::Le(i),
                            Value::Float(cumulative as f64),
                            e,
                            start,
                        );
                    }
                    self.emit("_sum", Extra::None, Value::Float(h.sum), &[], start);
                    self.emit(
                        "_count",
                        Extra::None,
                        Value::Float(h.count as f64),
                        &[],
                        start,
                    );
                }
                if let Some(buckets) = native {
                    let sample = NativeSample {
                        buckets,
                        count: h.count,
                        sum: h.sum,
                    };
                    self.emit(
                        "",
                        Extra::None,
                        Value::Native(sample),
                        buckets.exemplars,
                        start,
                    );
                }
            }
            SeriesValue::Summary(s) => {
                let start = s.created.map(millis);
                for &(q, v) in s.quantiles {
                    self.emit("", Extra::Quantile(q), Value::Float(v), &[], start);
                }
                self.emit("_sum", Extra::None, Value::Float(s.sum), &[], start);
                self.emit(
                    "_count",
                    Extra::None,
                    Value::Float(s.count as f64),
                    &[],
                    start,
                );
            }
            SeriesValue::StateSet(states) => {
                for &(state, on) in states {
                    let v = if on { 1.0 } else { 0.0 };
                    self.emit("", Extra::State(state), Value::Float(v), &[], None);
                }
            }
        }
    }
}

/// The metadata type's number, the same in 1.0's `MetricMetadata.type`
/// and 2.0's `Metadata.type` (unknown is 1.0's `UNKNOWN` and 2.0's
/// `METRIC_TYPE_UNSPECIFIED`).
pub(crate) fn metadata_type(t: MetricType) -> u64 {
    match t {
        MetricType::Unknown => 0,
        MetricType::Counter => 1,
        MetricType::Gauge => 2,
        MetricType::Histogram => 3,
        MetricType::Summary => 5,
        MetricType::Info => 6,
        MetricType::StateSet => 7,
    }
}

/// Compresses `raw` into `out` as one snappy block.
pub(crate) fn compress_into(
    raw: &[u8],
    out: &mut Payload,
    snappy: &mut snap::raw::Encoder,
) -> Result<(), EncodeError> {
    out.bytes.resize(snap::raw::max_compress_len(raw.len()), 0);
    let n = snappy
        .compress(raw, &mut out.bytes)
        .map_err(|e| EncodeError(format!("snappy compression failed: {e}")))?;
    out.bytes.truncate(n);
    Ok(())
}
