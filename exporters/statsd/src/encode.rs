//! From a registry's merged view to StatsD lines: the mapping of each
//! metric type, and the deltas.

use crate::dialect::{Dialect, NumberText, is_finite, same_tag_name, sanitise};
use crate::packet::Packer;
use crate::previous::{Last, Previous, Slot, increase, is_zero};
use crate::ring::Ring;
use crate::timing::Claimed;
use hotmetrics_core::{
    FamilyDesc, HistogramValue, LabelSet, MetricSource, MetricVisitor, Number, SeriesValue,
    SummaryValue,
};
use hotmetrics_export::Batch;
use std::io::Write;

/// Turns exports into datagrams, keeping what it needs to send only
/// changes.
#[derive(Debug)]
pub(crate) struct Encoder {
    dialect: Dialect,
    /// The sanitised prefix and its `.`, or nothing.
    prefix: Vec<u8>,
    /// Constant tags (DogStatsD), checked by the builder.
    tags: Vec<(String, String)>,
    packer: Packer,
    previous: Previous,
    scratch: Scratch,
    /// The timer sets it sends ([`crate::StatsdBuilder::timings`]).
    timings: Vec<Claimed>,
    /// The constant tags as timer lines carry them (DogStatsD), rendered
    /// once.
    timer_tags: Vec<u8>,
}

/// Buffers reused from series to series and export to export.
#[derive(Debug, Default)]
struct Scratch {
    /// The current family's name as it is (for keys and state sets).
    family: String,
    /// The current family's name on the wire: prefix and sanitised name.
    name: Vec<u8>,
    /// The current series' identity (a timer's heavier rate).
    key: Vec<u8>,
    /// The series' labels and one more (`le`, `quantile`, a state; a
    /// timer's rate).
    more: Vec<u8>,
    /// The line being written.
    line: Vec<u8>,
}

impl Encoder {
    /// `tags` go on every line, after the series' own labels, unless the
    /// series has a label of that name ([`Dialect::DogStatsd`] only: the
    /// builder refuses them for plain StatsD).
    pub(crate) fn new(
        dialect: Dialect,
        prefix: &str,
        tags: Vec<(String, String)>,
        max_packet: usize,
        timings: Vec<Claimed>,
    ) -> Self {
        let mut wire_prefix = Vec::new();
        if !prefix.is_empty() {
            sanitise(&mut wire_prefix, prefix, dialect.name_char());
            wire_prefix.push(b'.');
        }
        let mut timer_tags = Vec::new();
        for (tag, value) in &tags {
            dialect.push_label(&mut timer_tags, tag, value);
        }
        Self {
            dialect,
            prefix: wire_prefix,
            tags,
            packer: Packer::new(max_packet),
            previous: Previous::default(),
            scratch: Scratch::default(),
            timings,
            timer_tags,
        }
    }

    /// Encodes what changed since the last call into `batch`, one payload
    /// per datagram; returns how many lines were too long for a datagram
    /// (dropped).
    ///
    /// An export cut short by a panic in `source` (a collector's) leaves
    /// nothing behind: the lines of a datagram half-filled then are
    /// dropped here, at the next export's start, and the values it staged
    /// are never committed ([`Previous::end`]), so the next export sends
    /// every change since the last complete one. Timer samples are read
    /// after the registry, and leave their rings only here, at the end
    /// (the same commit point).
    pub(crate) fn encode(&mut self, source: &dyn MetricSource, batch: &mut Batch) -> u64 {
        self.previous.begin();
        self.packer.reset();
        source.visit(&mut Visit { enc: self, batch });
        self.timer_lines(batch);
        self.packer.finish(batch);
        self.previous.end();
        for set in &self.timings {
            for timer in set.0.timers().iter() {
                timer.rings().for_each(Ring::commit);
            }
        }
        self.packer.oversized
    }

    /// One line per sample of every timer, `name:<ms>|ms`, with a sample
    /// rate when the timer dropped samples (see [`Weights`]); staged in the
    /// rings, committed by [`encode`](Self::encode) at its end.
    fn timer_lines(&mut self, batch: &mut Batch) {
        let Self {
            dialect,
            prefix,
            packer,
            scratch,
            timings,
            timer_tags,
            ..
        } = self;
        let mut number = NumberText::default();
        for set in timings.iter() {
            for timer in set.0.timers().iter() {
                let (mut kept, mut dropped) = (0u64, 0u64);
                for ring in timer.rings() {
                    let p = ring.stage();
                    kept += p.to - p.from;
                    dropped += p.dropped;
                }
                if kept == 0 {
                    // No line to carry the drops: the next export's will.
                    if dropped > 0 {
                        timer.rings().for_each(Ring::keep_drops);
                    }
                    continue;
                }
                let name = &mut scratch.name;
                name.clear();
                name.extend_from_slice(prefix);
                sanitise(name, timer.name(), dialect.name_char());
                let weights = Weights::new(kept + dropped, kept);
                // The lines of weight `light`, then those of `light + 1`.
                let (light, heavy) = (&mut scratch.more, &mut scratch.key);
                write_rate(light, weights.light);
                write_rate(heavy, weights.light + 1);
                let mut line_at = 0u64;
                // Rings made since the staging above stage nothing.
                for ring in timer.rings() {
                    let p = ring.staged();
                    for at in p.from..p.to {
                        let ms = f64::from_bits(ring.sample(at));
                        let line = &mut scratch.line;
                        line.clear();
                        line.extend_from_slice(name);
                        line.push(b':');
                        line.extend_from_slice(number.format(Number::Float(ms)).as_bytes());
                        line.extend_from_slice(b"|ms");
                        let rate = if line_at < weights.heavy {
                            &*heavy
                        } else {
                            &*light
                        };
                        line.extend_from_slice(rate);
                        line_at += 1;
                        if !timer_tags.is_empty() {
                            line.extend_from_slice(b"|#");
                            line.extend_from_slice(timer_tags);
                        }
                        packer.push(batch, line);
                    }
                }
            }
        }
    }
}

/// How much each of a timer's `K` lines stands for when it recorded `T`
/// samples (`T - K` dropped): an integer weight per line, `⌊T/K⌋` or
/// `⌈T/K⌉`, that sum to exactly `T`, sent as the rate `|@<1/w>` (none
/// when `w` is 1).
///
/// Integers, because the daemons do not agree on a fractional `1/rate`:
/// the Datadog agent's histograms (where `|ms` goes) add `int64(1/rate)`
/// to the count (and `v/rate` to the sum), etsy's statsd adds the float
/// `1/rate`. A rate of `K/T` would count 1 a line at the agent whenever
/// fewer were dropped than kept, losing the drops (and inflating the
/// mean); with integer weights both read back `T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Weights {
    /// The weight of most lines, `⌊T/K⌋`.
    light: u64,
    /// How many lines (the first ones) weigh `light + 1`: `T mod K`.
    heavy: u64,
}

impl Weights {
    /// The weights of `sent` lines standing for `recorded` samples
    /// (`0 < sent <= recorded`).
    fn new(recorded: u64, sent: u64) -> Self {
        Self {
            light: recorded / sent,
            heavy: recorded % sent,
        }
    }
}

/// Writes the rate of a line of weight `w` into `out`: nothing for 1, or
/// `|@<r>` with `r` the largest float that both daemons read back as `w`
/// (`1/r` truncated is `w`: one ulp below `1/w` when `1/(1/w)` falls just
/// under `w`). Rust prints floats without an exponent, and the text reads
/// back as the same float: StatsD reads the rate as `[0-9.]+`.
fn write_rate(out: &mut Vec<u8>, w: u64) {
    out.clear();
    if w <= 1 {
        return;
    }
    let mut r = 1.0 / w as f64;
    // A few ulps at most; bounded for weights past 2^53.
    for _ in 0..4 {
        if (1.0 / r) as u64 == w {
            break;
        }
        r = r.next_down();
    }
    let _ = write!(out, "|@{r}");
}

/// One export's walk over the registry.
struct Visit<'a> {
    enc: &'a mut Encoder,
    batch: &'a mut Batch,
}

/// Where the lines of one series go.
struct Out<'a> {
    dialect: Dialect,
    packer: &'a mut Packer,
    batch: &'a mut Batch,
    name: &'a [u8],
    labels: &'a [u8],
    more: &'a mut Vec<u8>,
    line: &'a mut Vec<u8>,
    number: NumberText,
}

impl Out<'_> {
    /// A counter line with `delta`, unless it is zero (or not a number).
    fn count(&mut self, suffix: &str, delta: Number) {
        if is_zero(delta) || !is_finite(delta) {
            return;
        }
        self.line.clear();
        self.dialect
            .write_line(self.line, self.name, suffix, self.labels, delta, "c");
        self.packer.push(self.batch, self.line);
    }

    /// A gauge line.
    fn gauge(&mut self, suffix: &str, value: Number) {
        self.line.clear();
        self.dialect
            .write_gauge(self.line, self.name, suffix, self.labels, value);
        self.packer.push(self.batch, self.line);
    }

    /// Like [`count`](Self::count) or [`gauge`](Self::gauge) (`kind`
    /// `"c"` or `"g"`), with one more label `label=value`.
    fn with_label(
        &mut self,
        suffix: &str,
        label: &str,
        label_value: Number,
        kind: &str,
        value: Number,
    ) {
        self.more.clear();
        self.more.extend_from_slice(self.labels);
        let text = self.number.format(label_value);
        self.dialect.push_label(self.more, label, text);
        self.line.clear();
        if kind == "g" {
            self.dialect
                .write_gauge(self.line, self.name, suffix, self.more, value);
        } else {
            self.dialect
                .write_line(self.line, self.name, suffix, self.more, value, kind);
        }
        self.packer.push(self.batch, self.line);
    }

    /// A gauge line with one more label whose value is text.
    fn state(&mut self, label: &str, state: &str, enabled: bool) {
        self.more.clear();
        self.more.extend_from_slice(self.labels);
        self.dialect.push_label(self.more, label, state);
        self.line.clear();
        let value = Number::UInt(u64::from(enabled));
        self.dialect
            .write_line(self.line, self.name, "", self.more, value, "g");
        self.packer.push(self.batch, self.line);
    }
}

impl MetricVisitor for Visit<'_> {
    /// StatsD has no native histograms: the classic buckets, count and sum
    /// are what is sent, so the scrape skips the native merge.
    fn wants_native(&self) -> bool {
        false
    }

    fn begin_family(&mut self, family: &FamilyDesc<'_>) {
        let s = &mut self.enc.scratch;
        s.family.clear();
        s.family.push_str(family.name);
        s.name.clear();
        s.name.extend_from_slice(&self.enc.prefix);
        sanitise(&mut s.name, family.name, self.enc.dialect.name_char());
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        let Encoder {
            dialect,
            tags,
            packer,
            previous,
            scratch,
            ..
        } = &mut *self.enc;
        let dialect = *dialect;
        let Scratch {
            family,
            name,
            key,
            more,
            line,
        } = scratch;
        key.clear();
        key.extend_from_slice(family.as_bytes());
        labels.for_each(&mut |label, value| {
            // An empty value is no label, as in Prometheus.
            if value.is_empty() {
                return;
            }
            Previous::key(key, label);
            Previous::key(key, value);
        });
        let Slot {
            labels: rendered,
            next: last,
            ..
        } = previous.get(key, |out| render_labels(dialect, tags, labels, out));
        let mut out = Out {
            dialect,
            packer,
            batch: self.batch,
            name,
            labels: rendered,
            more,
            line,
            number: NumberText::default(),
        };
        match *value {
            SeriesValue::Counter { value, created, .. } => counter(&mut out, last, value, created),
            SeriesValue::Gauge(value) | SeriesValue::Unknown(value) => gauge(&mut out, last, value),
            SeriesValue::Histogram(h) => histogram(&mut out, last, &h),
            SeriesValue::Summary(s) => summary(&mut out, last, &s),
            SeriesValue::Info => {
                if *last != Last::Info {
                    *last = Last::Info;
                    out.gauge("_info", Number::UInt(1));
                }
            }
            SeriesValue::StateSet(states) => state_set(&mut out, last, family, states),
        }
    }
}

/// A series' labels for the dialect, then the constant tags it has no
/// label of the same name for (once per series: the slot keeps them).
fn render_labels(
    dialect: Dialect,
    tags: &[(String, String)],
    labels: &dyn LabelSet,
    out: &mut Vec<u8>,
) {
    labels.for_each(&mut |label, value| {
        if !value.is_empty() {
            dialect.push_label(out, label, value);
        }
    });
    debug_assert!(
        tags.is_empty() || dialect == Dialect::DogStatsd,
        "the builder refuses constant tags in plain StatsD"
    );
    for (tag, value) in tags {
        let mut overridden = false;
        labels.for_each(&mut |label, v| {
            overridden |= !v.is_empty() && same_tag_name(label, tag);
        });
        if !overridden {
            dialect.push_label(out, tag, value);
        }
    }
}

/// The increase since the last export, `|c`; all of the total when the
/// series is not the one the last export saw (its creation time changed:
/// removed and made again under the same labels).
fn counter(out: &mut Out<'_>, last: &mut Last, now: Number, created: f64) {
    if !is_finite(now) {
        return;
    }
    let created = created.to_bits();
    let delta = match *last {
        Last::Counter {
            total,
            created: then,
        } if then == created => increase(total, now),
        _ => now,
    };
    *last = Last::Counter {
        total: now,
        created,
    };
    out.count("", delta);
}

/// The value, `|g`, when it changed.
fn gauge(out: &mut Out<'_>, last: &mut Last, now: Number) {
    if !is_finite(now) || *last == Last::Gauge(now) {
        return;
    }
    *last = Last::Gauge(now);
    out.gauge("", now);
}

/// `last` as a distribution of `points` points, anew (count and sum 0,
/// each point `fill`) if it was not one of that shape, or the series
/// started again: its creation time changed (both known: removed and made
/// again), or, failing that, its count went down.
fn distribution(
    last: &mut Last,
    points: usize,
    count: u64,
    created: Option<f64>,
    fill: u64,
) -> (&mut u64, &mut f64, &mut Vec<u64>) {
    let created = created.map(f64::to_bits);
    let fits = matches!(last, Last::Distribution { count: c, points: p, created: then, .. }
        if p.len() == points && *c <= count && !matches!((*then, created), (Some(a), Some(b)) if a != b));
    if !fits {
        *last = Last::Distribution {
            count: 0,
            sum: 0.0,
            points: vec![fill; points],
            created,
        };
    }
    match last {
        Last::Distribution {
            count,
            sum,
            points,
            created: then,
        } => {
            *then = created;
            (count, sum, points)
        }
        _ => unreachable!("made a distribution above"),
    }
}

/// `_count` and `_sum` increases, `|c`.
fn count_and_sum(out: &mut Out<'_>, count: &mut u64, sum: &mut f64, now_count: u64, now_sum: f64) {
    out.count("_count", Number::UInt(now_count - *count));
    if now_count != *count {
        out.count("_sum", Number::Float(now_sum - *sum));
    }
    *count = now_count;
    *sum = now_sum;
}

/// `_count`, `_sum`, and `_bucket` with `le` for each finite bucket: the
/// increase of its cumulative count, `|c`.
fn histogram(out: &mut Out<'_>, last: &mut Last, h: &HistogramValue<'_>) {
    let (count, sum, points) = distribution(last, h.upper_bounds.len(), h.count, h.created, 0);
    if *count == h.count {
        return;
    }
    count_and_sum(out, count, sum, h.count, h.sum);
    let mut cumulative = 0u64;
    for ((bound, in_bucket), before) in h.upper_bounds.iter().zip(h.bucket_counts).zip(points) {
        cumulative += in_bucket;
        let delta = cumulative.saturating_sub(*before);
        *before = cumulative;
        if delta != 0 {
            out.with_label(
                "_bucket",
                "le",
                Number::Float(*bound),
                "c",
                Number::UInt(delta),
            );
        }
    }
}

/// `_count` and `_sum` increases, `|c`, and each quantile's value, `|g`
/// with `quantile`, when it changed.
fn summary(out: &mut Out<'_>, last: &mut Last, s: &SummaryValue<'_>) {
    // NaN: never sent, so a first quantile of 0 counts as changed.
    let unsent = f64::NAN.to_bits();
    let (count, sum, points) = distribution(last, s.quantiles.len(), s.count, s.created, unsent);
    count_and_sum(out, count, sum, s.count, s.sum);
    for (&(quantile, value), before) in s.quantiles.iter().zip(points) {
        if value.to_bits() != *before && value.is_finite() {
            *before = value.to_bits();
            out.with_label(
                "",
                "quantile",
                Number::Float(quantile),
                "g",
                Number::Float(value),
            );
        }
    }
}

/// One gauge per state, labelled with the family's name, 1 or 0, `|g`,
/// when it changed.
fn state_set(out: &mut Out<'_>, last: &mut Last, family: &str, states: &[(&str, bool)]) {
    if !matches!(last, Last::States(s) if s.len() == states.len()) {
        *last = Last::States(Vec::new());
    }
    let Last::States(before) = last else {
        unreachable!("made a state set above")
    };
    let fresh = before.is_empty();
    for (i, &(state, enabled)) in states.iter().enumerate() {
        if fresh {
            before.push(enabled);
        } else if before[i] == enabled {
            continue;
        }
        before[i] = enabled;
        out.state(family, state, enabled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rate's text read back as a daemon does: `1/rate`.
    fn read_back(rate: &[u8]) -> f64 {
        if rate.is_empty() {
            return 1.0;
        }
        let text = std::str::from_utf8(rate).unwrap();
        let r: f64 = text.strip_prefix("|@").unwrap().parse().unwrap();
        assert!(r > 0.0 && r < 1.0 && !text.contains('e'), "{text}");
        1.0 / r
    }

    #[test]
    fn weights_sum_to_the_samples_recorded_at_both_daemons() {
        let mut rate = Vec::new();
        for sent in 1..=60u64 {
            for recorded in (sent..=sent * 20).chain([sent * 1000 + 7, sent * 65_537]) {
                let w = Weights::new(recorded, sent);
                assert!(w.heavy < sent);
                let (mut agent, mut etsy) = (0u64, 0f64);
                for line in 0..sent {
                    let weight = if line < w.heavy { w.light + 1 } else { w.light };
                    write_rate(&mut rate, weight);
                    let back = read_back(&rate);
                    // The Datadog agent: int64(1/rate).
                    assert_eq!(back as u64, weight, "{recorded}/{sent}: {rate:?}");
                    agent += back as u64;
                    etsy += back;
                }
                assert_eq!(agent, recorded, "{recorded}/{sent}");
                assert!((etsy - recorded as f64).abs() < 1e-9 * recorded as f64);
                assert_eq!(etsy.round() as u64, recorded, "{recorded}/{sent}");
            }
        }
    }

    #[test]
    fn weights_without_drops_send_no_rate() {
        let w = Weights::new(5, 5);
        assert_eq!((w.light, w.heavy), (1, 0));
        let mut rate = b"stale".to_vec();
        write_rate(&mut rate, 1);
        assert!(rate.is_empty());
        // 11 recorded, 5 sent: one line of 3, four of 2.
        assert_eq!(Weights::new(11, 5), Weights { light: 2, heavy: 1 });
        write_rate(&mut rate, 2);
        assert_eq!(rate, b"|@0.5");
    }

    #[test]
    fn a_weight_whose_inverse_falls_short_is_nudged() {
        // 1/(1/w) < w for some w: int64 would truncate to w - 1.
        let short: Vec<u64> = (2..100_000u64)
            .filter(|&w| ((1.0 / (1.0 / w as f64)) as u64) < w)
            .take(3)
            .collect();
        assert!(!short.is_empty(), "the case exists");
        let mut rate = Vec::new();
        for w in short {
            write_rate(&mut rate, w);
            assert_eq!(read_back(&rate) as u64, w);
        }
    }
}
