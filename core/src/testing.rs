//! Test helpers (feature `test-util`): read, assert and diff what a scrape
//! of a registry shows, from your own tests.
//!
//! Everything here works on **samples as the text exposition names them**:
//! a counter's value is `requests_total`, a histogram's are
//! `latency_seconds_bucket{le="0.5"}` (cumulative), `latency_seconds_count`
//! and `latency_seconds_sum`, a summary's `{quantile="0.9"}`, `_count` and
//! `_sum`, an info metric's `build_info`, a state set's
//! `phase{phase="running"}` (1 or 0). Labels are matched as a set (any
//! order) and must be all of the series' labels, the registry's constant
//! labels included: what `/metrics` would show is what you write, but
//! for names: they are the names as registered, never escaped, so in a
//! [`NameValidation::Utf8`](crate::NameValidation::Utf8) registry a
//! family `http.requests` is looked up as `http.requests_total` here,
//! whatever escaping a scrape asks for. A label given twice never matches
//! two different labels: the sets are compared pair for pair.
//!
//! The assertions refuse to pass vacuously: [`assert_absent`],
//! [`assert_family`] and [`Diff::assert_delta`] panic when no family
//! writes samples of the name asked for (a misspelling, `requests` for
//! `requests_total`), and [`assert_absent`] when the labels asked for are
//! not the label names of that name's samples (a constant label left
//! out). Two series a collector writes with the same name and labels are
//! two samples in [`Samples`] but one in [`Samples::get`] (the first) and
//! in [`diff`] (the last).
//!
//! ```
//! use hotmetrics_core::testing::{self, TestRegistry};
//!
//! let registry = TestRegistry::new(); // this test's own: nothing else writes it
//! let orders = registry.counter_vec(("orders_total", "Orders."), &["shop"]).unwrap();
//! orders.with(&["eu"], |c| c.inc_by(2)).unwrap();
//!
//! let before = registry.samples();
//! orders.with(&["eu"], |c| c.inc()).unwrap();
//! orders.with(&["us"], |c| c.inc()).unwrap();
//!
//! assert_eq!(testing::value(&registry, "orders_total", &[("shop", "eu")]), Some(3.0));
//! registry.assert_value("orders_total", &[("shop", "eu")], 3.0);
//! registry.assert_family("orders_total", &[(&[("shop", "eu")], 3.0), (&[("shop", "us")], 1.0)]);
//! let diff = registry.diff_since(&before);
//! assert_eq!(diff.delta("orders_total", &[("shop", "eu")]), Some(1.0));
//! diff.assert_delta("orders_total", &[("shop", "us")], 1.0);
//! assert_eq!(
//!     diff.to_string(),
//!     "~ orders_total{shop=\"eu\"} 2 -> 3\n+ orders_total{shop=\"us\"} 1\n"
//! );
//! ```
//!
//! Exemplars and native buckets, which the text exposition does not show,
//! are read the same way: [`exemplar`] and [`assert_exemplar`] take the
//! sample an exemplar belongs to (a counter's `_total`, a bucket's
//! `_bucket{le=..}`), [`native`] a histogram's name as registered and
//! gives its native buckets as `(key, count)` pairs ([`NativeSample`]).
//!
//! A failed assertion names the sample it looked for, the value it found
//! and every sample of that name it saw:
//!
//! ```text
//! orders_total{shop="eu"} is 3, expected 4
//! samples named orders_total (2):
//!   orders_total{shop="eu"} 3
//!   orders_total{shop="us"} 1
//! ```
//!
//! **For tests only.** The feature is outside the crate's semver promise:
//! the helpers and the text of their messages may change in any release.
//! They allocate and take the registry's scrape lock, as a scrape does.

use crate::encode::MetricSource;
use crate::exemplar::Exemplar;
use crate::go_float::{GoFloat, Integral};
use crate::metric::NativeSnapshot;
use crate::registry::Registry;
use crate::visit::{
    BucketSpan, FamilyDesc, LabelSet, MetricType, MetricVisitor, NativeBuckets, SeriesValue,
};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;

/// One sample as the text exposition writes it: a name (suffix included),
/// its labels, its value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Sample {
    /// The sample name: `requests_total`, `latency_seconds_bucket`, ...
    pub name: String,
    /// The label pairs in exported order (constant labels first; `le`,
    /// `quantile` or a state set's own label last).
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
    /// The exemplar OpenMetrics would write on this line: a counter's
    /// `_total`, a classic bucket's `_bucket` (the latest recorded).
    pub exemplar: Option<Exemplar>,
}

/// A histogram's native (sparse exponential) buckets as a scrape shows
/// them (protobuf carries them; the text formats do not), with the series'
/// labels; from [`native`] or [`Samples::native`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NativeSample {
    /// The histogram's name, as registered (`latency_seconds`: a native
    /// histogram has no suffixed samples).
    pub name: String,
    /// The series' labels in exported order.
    pub labels: Vec<(String, String)>,
    /// The buckets as `(key, count)` pairs (not cumulative, not deltas),
    /// the zero bucket and the native exemplars.
    pub buckets: NativeSnapshot,
    /// Every observation (zero bucket, buckets, NaNs).
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

/// `(key, count)` pairs from spans and deltas.
fn pairs(spans: &[BucketSpan], deltas: &[i64]) -> Vec<(i32, u64)> {
    let mut out = Vec::with_capacity(deltas.len());
    let mut deltas = deltas.iter();
    let (mut key, mut count) = (0i32, 0i64);
    for span in spans {
        key += span.offset;
        for _ in 0..span.length {
            count += deltas.next().copied().unwrap_or(0);
            if let Ok(c @ 1..) = u64::try_from(count) {
                out.push((key, c));
            }
            key += 1;
        }
    }
    out
}

impl NativeSample {
    fn new(
        name: &str,
        labels: &[(String, String)],
        n: &NativeBuckets<'_>,
        count: u64,
        sum: f64,
    ) -> Self {
        Self {
            name: name.to_owned(),
            labels: labels.to_vec(),
            buckets: NativeSnapshot {
                schema: n.schema,
                zero_threshold: n.zero_threshold,
                zero_count: n.zero_count,
                positive: pairs(n.positive_spans, n.positive_deltas),
                negative: pairs(n.negative_spans, n.negative_deltas),
                exemplars: n.exemplars.to_vec(),
            },
            count,
            sum,
        }
    }
}

impl Sample {
    /// Whether this sample is `name` with exactly `labels`, in any order.
    pub fn is(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.name == name && same_labels(&self.labels, labels)
    }
}

/// Whether `have` and `want` are the same set of pairs: sorted, equal one
/// for one (so a pair given twice never stands for two different ones).
fn same_labels(have: &[(String, String)], want: &[(&str, &str)]) -> bool {
    if have.len() != want.len() {
        return false;
    }
    let mut have: Vec<(&str, &str)> = have.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let mut want = want.to_vec();
    have.sort_unstable();
    want.sort_unstable();
    have == want
}

/// Whether `have` and `want` name the same labels, whatever their values.
fn same_label_names(have: &[(String, String)], want: &[(&str, &str)]) -> bool {
    let mut have: Vec<&str> = have.iter().map(|(n, _)| n.as_str()).collect();
    let mut want: Vec<&str> = want.iter().map(|(n, _)| *n).collect();
    have.sort_unstable();
    want.sort_unstable();
    have == want
}

/// The sample-name suffixes [`samples`] writes for a family of type `t`.
fn written_suffixes(t: MetricType) -> &'static [&'static str] {
    match t {
        MetricType::Histogram => &["_bucket", "_count", "_sum"],
        MetricType::Summary => &["", "_count", "_sum"],
        MetricType::Counter => &["_total"],
        MetricType::Info => &["_info"],
        MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[""],
    }
}

/// Writes `name{a="b",c="d"}` with label values escaped as the text
/// exposition escapes them.
fn write_series(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    labels: &mut dyn Iterator<Item = (&str, &str)>,
) -> fmt::Result {
    f.write_str(name)?;
    let mut first = true;
    for (n, v) in labels {
        f.write_str(if first { "{" } else { "," })?;
        first = false;
        write!(f, "{n}=\"")?;
        for c in v.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")?;
    }
    if !first {
        f.write_str("}")?;
    }
    Ok(())
}

fn num(v: f64) -> GoFloat {
    GoFloat::new(v, Integral::Bare)
}

/// `name{labels}` of a sample being looked for.
struct Wanted<'a>(&'a str, &'a [(&'a str, &'a str)]);

impl fmt::Display for Wanted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_series(f, self.0, &mut self.1.iter().copied())
    }
}

impl fmt::Display for Sample {
    /// `name{labels} value`, as in the text exposition.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_series(
            f,
            &self.name,
            &mut self.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        )?;
        write!(f, " {:?}", num(self.value))
    }
}

/// Every sample a scrape of a registry (any [`MetricSource`]) shows at one
/// point of a test, `_created` samples left out; from [`samples`] or
/// [`TestRegistry::samples`]. Its `Display` is one sample a line, as in
/// the text exposition. Equality compares everything a scrape showed,
/// exemplars (with their timestamps) and native buckets included: compare
/// values with [`diff`] or [`Samples::get`] instead when only they matter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Samples {
    samples: Vec<Sample>,
    /// The native parts of histograms that have them.
    natives: Vec<NativeSample>,
    /// The families (and collectors' families) the scrape visited, with
    /// their types, series or not.
    families: Vec<(String, MetricType)>,
}

impl Samples {
    /// The samples in scrape order: families by name, then collectors.
    pub fn iter(&self) -> std::slice::Iter<'_, Sample> {
        self.samples.iter()
    }

    /// How many samples there are.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The value of sample `name` with exactly `labels` (any order).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.is(name, labels))
            .map(|s| s.value)
    }

    /// The exemplar of sample `name` with exactly `labels` (a counter's
    /// `_total`, a bucket's `_bucket{le=..}`), if it has one.
    pub fn exemplar(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Exemplar> {
        self.samples
            .iter()
            .find(|s| s.is(name, labels))
            .and_then(|s| s.exemplar.as_ref())
    }

    /// The native buckets of histogram `name` (as registered, no suffix)
    /// with exactly `labels`, if it has them.
    pub fn native(&self, name: &str, labels: &[(&str, &str)]) -> Option<&NativeSample> {
        self.natives
            .iter()
            .find(|n| n.name == name && same_labels(&n.labels, labels))
    }

    /// Whether a family the scrape visited writes samples called `name`
    /// (`requests_total` for a `requests` counter, `latency_seconds_count`
    /// for a histogram), whether or not it has series now.
    pub fn has_family_of(&self, name: &str) -> bool {
        self.families.iter().any(|(family, t)| {
            name.strip_prefix(family.as_str())
                .is_some_and(|suffix| written_suffixes(*t).contains(&suffix))
        })
    }

    /// Panics, with the names seen, unless a family writes samples called
    /// `name`; panics unless `labels` name the labels of the samples called
    /// `name` (when there are any), so that a misspelled name or a missing
    /// constant label fails instead of matching nothing.
    #[track_caller]
    fn check_name_and_label_names(&self, name: &str, labels: &[(&str, &str)]) {
        if !self.has_family_of(name) {
            panic!(
                "{} cannot be checked: {}",
                Wanted(name, labels),
                self.context(name)
            );
        }
        let mut named = self.named(name).peekable();
        if named.peek().is_some() && !named.any(|s| same_label_names(&s.labels, labels)) {
            panic!(
                "{} cannot be checked: no sample named {name} has these label names \
                 (constant labels included)\n{}",
                Wanted(name, labels),
                self.context(name)
            );
        }
    }

    /// Every sample called `name`, whatever its labels.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// What a failed assertion on sample `name` adds: the samples of that
    /// name, or the names there are when none has it.
    fn context(&self, name: &str) -> String {
        let named: Vec<&Sample> = self.named(name).collect();
        if !named.is_empty() {
            let mut out = format!("samples named {name} ({}):", named.len());
            for s in named {
                out.push_str(&format!("\n  {s}"));
            }
            return out;
        }
        let mut names: Vec<&str> = self.samples.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut out = format!("no sample is named {name}");
        let meant: Vec<String> = ["_total", "_info", "_count", "_sum", "_bucket"]
            .iter()
            .map(|suffix| format!("{name}{suffix}"))
            .filter(|full| names.contains(&full.as_str()))
            .collect();
        if let Some((last, rest)) = meant.split_last() {
            let options = if rest.is_empty() {
                last.clone()
            } else {
                format!("{} or {last}", rest.join(", "))
            };
            out.push_str(&format!(
                " (did you mean {options}? samples are named as /metrics shows them)"
            ));
        }
        if names.is_empty() {
            out.push_str("; the registry shows no samples at all");
        } else {
            out.push_str(&format!("; names seen: {}", names.join(", ")));
        }
        out
    }
}

impl<'a> IntoIterator for &'a Samples {
    type Item = &'a Sample;
    type IntoIter = std::slice::Iter<'a, Sample>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Display for Samples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.samples {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

/// The visitor that flattens families into samples.
#[derive(Default)]
struct Flatten {
    samples: Vec<Sample>,
    natives: Vec<NativeSample>,
    families: Vec<(String, MetricType)>,
    family: String,
    metric_type: Option<MetricType>,
}

impl Flatten {
    fn push(
        &mut self,
        suffix: &str,
        labels: &[(String, String)],
        extra: Option<(&str, &str)>,
        value: f64,
        exemplar: Option<&Exemplar>,
    ) {
        let mut labels = labels.to_vec();
        if let Some((n, v)) = extra {
            // The sample's own label replaces a series label of that name,
            // as the encoders do.
            labels.retain(|(ln, _)| ln != n);
            labels.push((n.to_owned(), v.to_owned()));
        }
        self.samples.push(Sample {
            name: format!("{}{suffix}", self.family),
            labels,
            value,
            exemplar: exemplar.cloned(),
        });
    }
}

impl MetricVisitor for Flatten {
    fn begin_family(&mut self, family: &FamilyDesc<'_>) {
        self.family.clear();
        self.family.push_str(family.name);
        self.metric_type = Some(family.metric_type);
        self.families
            .push((family.name.to_owned(), family.metric_type));
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        let Some(metric_type) = self.metric_type else {
            return;
        };
        let mut pairs = Vec::new();
        labels.for_each(&mut |n, v| pairs.push((n.to_owned(), v.to_owned())));
        let suffix = metric_type.value_suffix();
        match *value {
            SeriesValue::Counter {
                value, exemplar, ..
            } => self.push(suffix, &pairs, None, value.as_f64(), exemplar),
            SeriesValue::Gauge(v) | SeriesValue::Unknown(v) => {
                self.push(suffix, &pairs, None, v.as_f64(), None);
            }
            SeriesValue::Info => self.push(suffix, &pairs, None, 1.0, None),
            SeriesValue::Histogram(h) => {
                let mut cumulative = 0u64;
                for (i, count) in h.bucket_counts.iter().enumerate() {
                    cumulative += count;
                    let le = h.upper_bounds.get(i).copied().unwrap_or(f64::INFINITY);
                    let le = num(le);
                    let exemplar = h.exemplars.get(i).and_then(Option::as_ref);
                    self.push(
                        "_bucket",
                        &pairs,
                        Some(("le", le.as_str())),
                        cumulative as f64,
                        exemplar,
                    );
                }
                self.push("_count", &pairs, None, h.count as f64, None);
                self.push("_sum", &pairs, None, h.sum, None);
                if let Some(n) = &h.native {
                    let native = NativeSample::new(&self.family, &pairs, n, h.count, h.sum);
                    self.natives.push(native);
                }
            }
            SeriesValue::Summary(s) => {
                for &(q, v) in s.quantiles {
                    let q = num(q);
                    self.push("", &pairs, Some(("quantile", q.as_str())), v, None);
                }
                self.push("_count", &pairs, None, s.count as f64, None);
                self.push("_sum", &pairs, None, s.sum, None);
            }
            SeriesValue::StateSet(states) => {
                let label = self.family.clone();
                for &(state, on) in states {
                    self.push(
                        "",
                        &pairs,
                        Some((&label, state)),
                        if on { 1.0 } else { 0.0 },
                        None,
                    );
                }
            }
        }
    }
}

/// Every sample `source` (a [`Registry`], a [`TestRegistry`]) shows now.
pub fn samples<S: MetricSource + ?Sized>(source: &S) -> Samples {
    let mut flatten = Flatten::default();
    source.visit(&mut flatten);
    Samples {
        samples: flatten.samples,
        natives: flatten.natives,
        families: flatten.families,
    }
}

/// The value of sample `name` (as `/metrics` names it: `requests_total`,
/// `latency_seconds_count`) with exactly `labels`, if `source` shows it.
///
/// ```
/// use hotmetrics_core::{Buckets, Registry, testing::value};
///
/// let registry = Registry::new();
/// let latency = registry.histogram(("latency_seconds", "Latency."), Buckets::new(vec![0.1, 1.0]).unwrap()).unwrap();
/// latency.observe(0.5);
/// assert_eq!(value(&registry, "latency_seconds_count", &[]), Some(1.0));
/// assert_eq!(value(&registry, "latency_seconds_bucket", &[("le", "0.1")]), Some(0.0));
/// assert_eq!(value(&registry, "latency_seconds_bucket", &[("le", "1")]), Some(1.0));
/// assert_eq!(value(&registry, "latency_seconds_bucket", &[("le", "+Inf")]), Some(1.0));
/// assert_eq!(value(&registry, "latency_seconds", &[]), None);
/// ```
pub fn value<S: MetricSource + ?Sized>(
    source: &S,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    samples(source).get(name, labels)
}

/// The exemplar of sample `name` (a counter's `requests_total`, a
/// bucket's `latency_seconds_bucket` with its `le`) with exactly `labels`,
/// if `source` shows one: what OpenMetrics writes after that line.
///
/// ```
/// use hotmetrics_core::{Registry, testing::exemplar};
///
/// let registry = Registry::new();
/// let orders = registry.counter(("orders", "Orders.")).unwrap();
/// orders.inc_with_exemplar(&[("trace_id", "4bf92f35")]).unwrap();
/// let e = exemplar(&registry, "orders_total", &[]).unwrap();
/// assert_eq!(e.labels().collect::<Vec<_>>(), [("trace_id", "4bf92f35")]);
/// assert_eq!(e.value(), 1.0);
/// ```
pub fn exemplar<S: MetricSource + ?Sized>(
    source: &S,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<Exemplar> {
    samples(source).exemplar(name, labels).cloned()
}

/// Panics unless sample `name` with exactly `labels` has an exemplar whose
/// labels are exactly `exemplar_labels` (any order). The message says what
/// the sample holds instead.
///
/// ```
/// use hotmetrics_core::{Buckets, Registry, testing::assert_exemplar};
///
/// let registry = Registry::new();
/// let latency = registry
///     .histogram(("latency_seconds", "Latency."), Buckets::new(vec![0.1, 1.0]).unwrap())
///     .unwrap();
/// latency.observe_with_exemplar(0.5, &[("trace_id", "4bf92f35")]).unwrap();
/// assert_exemplar(&registry, "latency_seconds_bucket", &[("le", "1")], &[("trace_id", "4bf92f35")]);
/// ```
#[track_caller]
pub fn assert_exemplar<S: MetricSource + ?Sized>(
    source: &S,
    name: &str,
    labels: &[(&str, &str)],
    exemplar_labels: &[(&str, &str)],
) {
    let all = samples(source);
    let Some(sample) = all.iter().find(|s| s.is(name, labels)) else {
        all.check_name_and_label_names(name, labels);
        panic!("{} is absent\n{}", Wanted(name, labels), all.context(name));
    };
    let have: Option<Vec<(String, String)>> = sample.exemplar.as_ref().map(|e| {
        e.labels()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    });
    match &have {
        Some(have) if same_labels(have, exemplar_labels) => {}
        Some(have) => panic!(
            "{} has an exemplar with {}, expected {}",
            Wanted(name, labels),
            braces(have.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
            braces(exemplar_labels.iter().copied())
        ),
        None => panic!(
            "{} has no exemplar, expected one with {}",
            Wanted(name, labels),
            braces(exemplar_labels.iter().copied())
        ),
    }
}

/// `{a="1",b="2"}`, for messages.
fn braces<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let inner: Vec<String> = pairs.map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

/// The native buckets of histogram `name` (as registered: no suffix) with
/// exactly `labels`, if it has them: what the protobuf exposition carries.
///
/// ```
/// use hotmetrics_core::{Buckets, NativeOpts, Registry, testing::native};
///
/// let registry = Registry::new();
/// let latency = registry
///     .histogram(("rpc_seconds", "RPC latency."), Buckets::native(NativeOpts::new()).unwrap())
///     .unwrap();
/// latency.observe(0.25);
/// latency.observe(0.0);
/// let n = native(&registry, "rpc_seconds", &[]).unwrap();
/// assert_eq!((n.count, n.sum), (2, 0.25));
/// assert_eq!(n.buckets.schema, 3);
/// assert_eq!(n.buckets.zero_count, 1);
/// assert_eq!(n.buckets.positive, [(-16, 1)]); // 0.25 = 2^-2 ends bucket -16
/// ```
pub fn native<S: MetricSource + ?Sized>(
    source: &S,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<NativeSample> {
    samples(source).native(name, labels).cloned()
}

fn same_value(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Panics unless `source` shows sample `name` with exactly `labels` and
/// value `expected` (NaN equals NaN here). The message names the sample,
/// the value found and every sample of that name.
///
/// ```
/// use hotmetrics_core::{Registry, testing::assert_value};
/// use std::panic::catch_unwind;
///
/// let registry = Registry::new();
/// registry.gauge(("workers", "Workers.")).unwrap().set(3);
/// assert_value(&registry, "workers", &[], 3.0);
/// let failed = catch_unwind(|| assert_value(&registry, "workers", &[], 4.0)).unwrap_err();
/// let message = failed.downcast_ref::<String>().unwrap();
/// assert!(message.starts_with("workers is 3, expected 4\n"), "{message}");
/// ```
#[track_caller]
pub fn assert_value<S: MetricSource + ?Sized>(
    source: &S,
    name: &str,
    labels: &[(&str, &str)],
    expected: f64,
) {
    let all = samples(source);
    match all.get(name, labels) {
        Some(v) if same_value(v, expected) => {}
        Some(v) => panic!(
            "{} is {:?}, expected {:?}\n{}",
            Wanted(name, labels),
            num(v),
            num(expected),
            all.context(name)
        ),
        None => panic!(
            "{} not found, expected {:?}\n{}",
            Wanted(name, labels),
            num(expected),
            all.context(name)
        ),
    }
}

/// Panics if `source` shows sample `name` with exactly `labels`, naming
/// its value. Panics too when no family of `source` writes samples called
/// `name` (a misspelled name, `requests` for `requests_total`), or when
/// the samples called `name` have other label names than `labels` (a
/// constant label left out): either would make the check pass whatever
/// the code did.
///
/// ```
/// use hotmetrics_core::{Registry, testing::assert_absent};
/// use std::panic::catch_unwind;
///
/// let registry = Registry::new();
/// let jobs = registry.counter_vec(("jobs_total", "Jobs."), &["queue"]).unwrap();
/// jobs.with(&["fast"], |c| c.inc()).unwrap();
/// assert_absent(&registry, "jobs_total", &[("queue", "slow")]);
/// // Misspelled: refused, not passed.
/// assert!(catch_unwind(|| assert_absent(&registry, "job_total", &[("queue", "slow")])).is_err());
/// ```
#[track_caller]
pub fn assert_absent<S: MetricSource + ?Sized>(source: &S, name: &str, labels: &[(&str, &str)]) {
    let all = samples(source);
    all.check_name_and_label_names(name, labels);
    if let Some(v) = all.get(name, labels) {
        panic!(
            "{} is {:?}, expected no such sample\n{}",
            Wanted(name, labels),
            num(v),
            all.context(name)
        );
    }
}

/// Panics unless the samples called `name` are exactly `expected`:
/// `(labels, value)` pairs in any order, none missing, none more. The
/// message lists each sample missing, wrong or unexpected, and every
/// sample of that name. Panics when no family of `source` writes samples
/// called `name`, so `expected` empty checks that a family has no series,
/// not that a misspelled name has none.
///
/// ```
/// use hotmetrics_core::{Registry, testing::assert_family};
///
/// let registry = Registry::new();
/// let jobs = registry.counter_vec(("jobs_total", "Jobs."), &["queue"]).unwrap();
/// jobs.with(&["fast"], |c| c.inc_by(2)).unwrap();
/// jobs.with(&["slow"], |c| c.inc()).unwrap();
/// assert_family(&registry, "jobs_total", &[(&[("queue", "slow")], 1.0), (&[("queue", "fast")], 2.0)]);
/// ```
#[track_caller]
pub fn assert_family<S: MetricSource + ?Sized>(
    source: &S,
    name: &str,
    expected: &[(&[(&str, &str)], f64)],
) {
    let all = samples(source);
    if !all.has_family_of(name) {
        panic!("{name} cannot be checked: {}", all.context(name));
    }
    let mut problems = Vec::new();
    for (labels, want) in expected {
        match all.get(name, labels) {
            Some(v) if same_value(v, *want) => {}
            Some(v) => problems.push(format!(
                "{} is {:?}, expected {:?}",
                Wanted(name, labels),
                num(v),
                num(*want)
            )),
            None => problems.push(format!(
                "{} not found, expected {:?}",
                Wanted(name, labels),
                num(*want)
            )),
        }
    }
    for s in all.named(name) {
        if !expected
            .iter()
            .any(|(labels, _)| same_labels(&s.labels, labels))
        {
            problems.push(format!("{s} not expected"));
        }
    }
    if !problems.is_empty() {
        panic!("{}\n{}", problems.join("\n"), all.context(name));
    }
}

/// One sample that differs between two [`Samples`]: added (no `before`),
/// removed (no `after`) or changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The sample name.
    pub name: String,
    /// Its labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// The value before, if the sample existed.
    pub before: Option<f64>,
    /// The value after, if the sample still exists.
    pub after: Option<f64>,
}

impl fmt::Display for Change {
    /// `+ name{..} 1` (added), `- name{..} 2` (removed), `~ name{..} 2 -> 3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match (self.before, self.after) {
            (None, _) => "+ ",
            (_, None) => "- ",
            _ => "~ ",
        };
        f.write_str(sign)?;
        write_series(
            f,
            &self.name,
            &mut self.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        )?;
        match (self.before, self.after) {
            (Some(b), Some(a)) => write!(f, " {:?} -> {:?}", num(b), num(a)),
            (Some(v), None) | (None, Some(v)) => write!(f, " {:?}", num(v)),
            (None, None) => Ok(()),
        }
    }
}

/// What changed between two [`Samples`] of a test, from [`diff`]: its
/// `Display` is one [`Change`] a line.
///
/// Samples are told apart by name and labels: two series a collector
/// writes with the same name and labels (a scrape would show both) are
/// one sample here, the last one's value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diff {
    changes: Vec<Change>,
    /// Every sample either side showed, changed or not.
    seen: std::collections::BTreeSet<Key>,
    /// The later side, for the messages of [`assert_delta`](Self::assert_delta).
    after: Samples,
}

impl Diff {
    /// The changes, ordered by sample name, then labels.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The change of sample `name` with exactly `labels`, if it changed.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Change> {
        self.changes
            .iter()
            .find(|c| c.name == name && same_labels(&c.labels, labels))
    }

    /// How much sample `name{labels}` grew: after minus before, a missing
    /// side counting as 0, and 0 for a sample that did not change. `None`
    /// when neither side shows the sample (a misspelled name, a constant
    /// label left out), rather than a 0 that would look like "unchanged".
    pub fn delta(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        if let Some(c) = self.get(name, labels) {
            return Some(c.after.unwrap_or(0.0) - c.before.unwrap_or(0.0));
        }
        self.seen.contains(&key(name, labels)).then_some(0.0)
    }

    /// Panics unless sample `name{labels}` grew by `expected` ([`delta`](Self::delta);
    /// NaN equals NaN), naming what it found; and when neither side shows
    /// the sample, with the samples of that name or the names there are.
    ///
    /// ```
    /// use hotmetrics_core::testing::TestRegistry;
    ///
    /// let registry = TestRegistry::new();
    /// let jobs = registry.counter(("jobs_total", "Jobs.")).unwrap();
    /// let before = registry.samples();
    /// jobs.inc_by(3);
    /// registry.diff_since(&before).assert_delta("jobs_total", &[], 3.0);
    /// ```
    #[track_caller]
    pub fn assert_delta(&self, name: &str, labels: &[(&str, &str)], expected: f64) {
        match self.delta(name, labels) {
            Some(d) if same_value(d, expected) => {}
            Some(d) => panic!(
                "{} grew by {:?}, expected {:?}\n{}",
                Wanted(name, labels),
                num(d),
                num(expected),
                self
            ),
            None => panic!(
                "{} is in neither snapshot, expected it to grow by {:?}\n{}",
                Wanted(name, labels),
                num(expected),
                self.after.context(name)
            ),
        }
    }
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.changes {
            writeln!(f, "{c}")?;
        }
        Ok(())
    }
}

type Key = (String, Vec<(String, String)>);

/// The [`Key`] of sample `name{labels}`: its labels sorted.
fn key(name: &str, labels: &[(&str, &str)]) -> Key {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    (name.to_owned(), labels)
}

fn keyed(samples: &Samples) -> BTreeMap<Key, f64> {
    samples
        .iter()
        .map(|s| {
            let mut labels = s.labels.clone();
            labels.sort();
            ((s.name.clone(), labels), s.value)
        })
        .collect()
}

/// What changed from `before` to `after`: samples added, removed, or with
/// another value (NaN to NaN is no change). Samples with the same name and
/// labels (a collector's duplicates) count as one ([`Diff`]).
pub fn diff(before: &Samples, after: &Samples) -> Diff {
    let old = keyed(before);
    let new = keyed(after);
    let mut changes: Vec<Change> = Vec::new();
    for ((name, labels), &b) in &old {
        let a = new.get(&(name.clone(), labels.clone())).copied();
        if a.is_none_or(|a| !same_value(a, b)) {
            changes.push(Change {
                name: name.clone(),
                labels: labels.clone(),
                before: Some(b),
                after: a,
            });
        }
    }
    for ((name, labels), &a) in &new {
        if !old.contains_key(&(name.clone(), labels.clone())) {
            changes.push(Change {
                name: name.clone(),
                labels: labels.clone(),
                before: None,
                after: Some(a),
            });
        }
    }
    changes.sort_by(|x, y| (&x.name, &x.labels).cmp(&(&y.name, &y.labels)));
    let seen = old.into_keys().chain(new.into_keys()).collect();
    Diff {
        changes,
        seen,
        after: after.clone(),
    }
}

/// A registry of one test's own, with the helpers as methods; it
/// dereferences to its [`Registry`], so it registers metrics and is passed
/// wherever a `&Registry` goes.
///
/// Registries share nothing (the engine's per-thread cells are handed out
/// per series), so tests running in parallel, each with its own, never see
/// each other's updates: a test reading
/// [`default_registry`](crate::default_registry), which every test of the
/// process shares, can. Make the code under test take the registry it
/// writes to, and give it this one.
#[derive(Clone, Debug, Default)]
pub struct TestRegistry {
    registry: Registry,
}

impl TestRegistry {
    /// An empty registry without prefix or constant labels.
    pub fn new() -> Self {
        Self::default()
    }

    /// The registry itself, to clone into the code under test.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every sample the registry shows now ([`samples`]).
    pub fn samples(&self) -> Samples {
        samples(&self.registry)
    }

    /// One sample's value ([`value`]).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        value(&self.registry, name, labels)
    }

    /// [`assert_value`] on this registry.
    #[track_caller]
    pub fn assert_value(&self, name: &str, labels: &[(&str, &str)], expected: f64) {
        assert_value(&self.registry, name, labels, expected);
    }

    /// One sample's exemplar ([`exemplar`]).
    pub fn exemplar(&self, name: &str, labels: &[(&str, &str)]) -> Option<Exemplar> {
        exemplar(&self.registry, name, labels)
    }

    /// [`assert_exemplar`] on this registry.
    #[track_caller]
    pub fn assert_exemplar(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        exemplar_labels: &[(&str, &str)],
    ) {
        assert_exemplar(&self.registry, name, labels, exemplar_labels);
    }

    /// One histogram's native buckets ([`native`]).
    pub fn native(&self, name: &str, labels: &[(&str, &str)]) -> Option<NativeSample> {
        native(&self.registry, name, labels)
    }

    /// [`assert_absent`] on this registry.
    #[track_caller]
    pub fn assert_absent(&self, name: &str, labels: &[(&str, &str)]) {
        assert_absent(&self.registry, name, labels);
    }

    /// [`assert_family`] on this registry.
    #[track_caller]
    pub fn assert_family(&self, name: &str, expected: &[(&[(&str, &str)], f64)]) {
        assert_family(&self.registry, name, expected);
    }

    /// What changed since `before` (taken with [`samples`](Self::samples)).
    pub fn diff_since(&self, before: &Samples) -> Diff {
        diff(before, &self.samples())
    }
}

impl From<Registry> for TestRegistry {
    /// Wraps a registry built otherwise (with a prefix, constant labels).
    fn from(registry: Registry) -> Self {
        Self { registry }
    }
}

impl Deref for TestRegistry {
    type Target = Registry;

    fn deref(&self) -> &Registry {
        &self.registry
    }
}

impl MetricSource for TestRegistry {
    fn visit(&self, visitor: &mut dyn MetricVisitor) {
        self.registry.visit(visitor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Buckets, Collector, Number, Opts, States};
    use std::panic::{AssertUnwindSafe, catch_unwind};

    /// The message a closure panicked with.
    fn panic_message(f: impl FnOnce()) -> String {
        let err = catch_unwind(AssertUnwindSafe(f)).expect_err("the assertion should fail");
        err.downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .expect("a text panic message")
    }

    fn shop() -> TestRegistry {
        let registry = TestRegistry::from(
            Registry::builder()
                .const_label("region", "eu")
                .build()
                .unwrap(),
        );
        let requests = registry
            .counter_vec(("requests_total", "Requests."), &["path"])
            .unwrap();
        requests.with(&["/a"], |c| c.inc_by(2)).unwrap();
        requests.with(&["/b\"q"], |c| c.inc()).unwrap();
        registry.gauge(("workers", "Workers.")).unwrap().set(-3);
        let latency = registry
            .histogram(
                Opts::new("latency_seconds", "Latency."),
                Buckets::new(vec![0.25, 1.0]).unwrap(),
            )
            .unwrap();
        latency.observe(0.5);
        latency.observe(2.0);
        registry
            .info(("build", "Build."), &[("version", "1.2")])
            .unwrap();
        let phase = registry
            .state_set(("phase", "Phase."), &["starting", "running"])
            .unwrap();
        phase.set("running").unwrap();
        registry
    }

    #[test]
    fn every_type_flattens_to_its_exposition_samples() {
        let registry = shop();
        assert_eq!(
            registry.samples().to_string(),
            "build_info{region=\"eu\",version=\"1.2\"} 1\n\
             latency_seconds_bucket{region=\"eu\",le=\"0.25\"} 0\n\
             latency_seconds_bucket{region=\"eu\",le=\"1\"} 1\n\
             latency_seconds_bucket{region=\"eu\",le=\"+Inf\"} 2\n\
             latency_seconds_count{region=\"eu\"} 2\n\
             latency_seconds_sum{region=\"eu\"} 2.5\n\
             phase{region=\"eu\",phase=\"starting\"} 0\n\
             phase{region=\"eu\",phase=\"running\"} 1\n\
             requests_total{region=\"eu\",path=\"/a\"} 2\n\
             requests_total{region=\"eu\",path=\"/b\\\"q\"} 1\n\
             workers{region=\"eu\"} -3\n"
        );
        // Labels in any order; constant labels are part of the set.
        assert_eq!(
            registry.value("requests_total", &[("path", "/a"), ("region", "eu")]),
            Some(2.0)
        );
        assert_eq!(registry.value("requests_total", &[("path", "/a")]), None);
        assert_eq!(
            registry.value("requests", &[("path", "/a"), ("region", "eu")]),
            None
        );
        assert_eq!(
            registry.value("latency_seconds_sum", &[("region", "eu")]),
            Some(2.5)
        );
    }

    #[test]
    fn summaries_from_collectors_are_samples_too() {
        struct Rpc;
        impl Collector for Rpc {
            fn describe(&self) -> Vec<crate::Described> {
                vec![
                    crate::Described::new("rpc_seconds", MetricType::Summary),
                    crate::Described::new("temperature", MetricType::Unknown),
                ]
            }
            fn collect(&self, visitor: &mut dyn MetricVisitor) {
                visitor.begin_family(&FamilyDesc {
                    name: "rpc_seconds",
                    help: "RPC latency.",
                    metric_type: MetricType::Summary,
                    unit: None,
                });
                visitor.series(
                    &[("method", "get")],
                    &SeriesValue::Summary(crate::SummaryValue {
                        quantiles: &[(0.5, 0.1), (0.99, 0.4)],
                        count: 7,
                        sum: 1.5,
                        created: None,
                    }),
                );
                visitor.end_family();
                visitor.begin_family(&FamilyDesc {
                    name: "temperature",
                    help: "Untyped.",
                    metric_type: MetricType::Unknown,
                    unit: None,
                });
                visitor.series(&[], &SeriesValue::Unknown(Number::Float(21.5)));
                visitor.end_family();
            }
        }
        let registry = TestRegistry::new();
        registry.register_collector(Rpc).unwrap();
        assert_eq!(
            registry.samples().to_string(),
            "rpc_seconds{method=\"get\",quantile=\"0.5\"} 0.1\n\
             rpc_seconds{method=\"get\",quantile=\"0.99\"} 0.4\n\
             rpc_seconds_count{method=\"get\"} 7\n\
             rpc_seconds_sum{method=\"get\"} 1.5\n\
             temperature 21.5\n"
        );
    }

    #[test]
    fn flags_state_sets_show_every_state() {
        let registry = TestRegistry::new();
        let flags = registry
            .metric::<crate::StateSet>(
                ("features", "Flags."),
                States::flags(&["dark", "beta"]).unwrap(),
            )
            .unwrap();
        flags.set_state("beta", true).unwrap();
        registry.assert_family(
            "features",
            &[
                (&[("features", "dark")], 0.0),
                (&[("features", "beta")], 1.0),
            ],
        );
    }

    #[test]
    fn assert_value_names_the_sample_the_value_and_its_siblings() {
        let registry = shop();
        registry.assert_value("requests_total", &[("region", "eu"), ("path", "/a")], 2.0);
        let msg = panic_message(|| {
            registry.assert_value("requests_total", &[("region", "eu"), ("path", "/a")], 5.0)
        });
        assert_eq!(
            msg,
            "requests_total{region=\"eu\",path=\"/a\"} is 2, expected 5\n\
             samples named requests_total (2):\n  \
             requests_total{region=\"eu\",path=\"/a\"} 2\n  \
             requests_total{region=\"eu\",path=\"/b\\\"q\"} 1"
        );
        let msg = panic_message(|| registry.assert_value("requests_total", &[("path", "/a")], 2.0));
        assert!(
            msg.starts_with("requests_total{path=\"/a\"} not found, expected 2\nsamples named requests_total (2):"),
            "{msg}"
        );
    }

    #[test]
    fn a_missing_name_lists_the_names_and_hints_at_total() {
        let registry = shop();
        let msg = panic_message(|| registry.assert_value("requests", &[], 1.0));
        assert_eq!(
            msg,
            "requests not found, expected 1\n\
             no sample is named requests (did you mean requests_total? samples are named as \
             /metrics shows them); names seen: build_info, latency_seconds_bucket, \
             latency_seconds_count, latency_seconds_sum, phase, requests_total, workers"
        );
        let empty = TestRegistry::new();
        let msg = panic_message(|| empty.assert_value("workers", &[], 1.0));
        assert_eq!(
            msg,
            "workers not found, expected 1\n\
             no sample is named workers; the registry shows no samples at all"
        );
    }

    #[test]
    #[should_panic(expected = "workers{region=\"eu\"} is -3, expected no such sample")]
    fn assert_absent_fails_on_a_present_sample() {
        let registry = shop();
        registry.assert_absent("workers", &[("region", "other")]);
        registry.assert_absent("workers", &[("region", "eu")]);
    }

    #[test]
    fn assertions_refuse_a_name_no_family_writes_or_labels_short_of_the_constant_ones() {
        let registry = shop();
        let msg = panic_message(|| registry.assert_absent("request_total", &[("path", "/a")]));
        assert!(
            msg.starts_with(
                "request_total{path=\"/a\"} cannot be checked: no sample is named request_total; names seen: "
            ),
            "{msg}"
        );
        // `region` is the registry's constant label: left out, nothing
        // could ever match, so the check is refused.
        let msg = panic_message(|| registry.assert_absent("requests_total", &[("path", "/z")]));
        assert!(
            msg.starts_with(
                "requests_total{path=\"/z\"} cannot be checked: no sample named requests_total has \
                 these label names (constant labels included)\nsamples named requests_total (2):"
            ),
            "{msg}"
        );
        registry.assert_absent("requests_total", &[("region", "eu"), ("path", "/z")]);
        // The bare name of a counter is not a sample name.
        assert!(
            catch_unwind(AssertUnwindSafe(|| registry.assert_absent("requests", &[]))).is_err()
        );

        let msg = panic_message(|| registry.assert_family("nope_total", &[]));
        assert!(
            msg.starts_with("nope_total cannot be checked: no sample is named nope_total"),
            "{msg}"
        );
        // A family without series yet: empty is a claim that can hold.
        registry
            .counter_vec(("retries_total", "Retries."), &["queue"])
            .unwrap();
        registry.assert_family("retries_total", &[]);
        registry.assert_absent("retries_total", &[("region", "eu"), ("queue", "x")]);
    }

    #[test]
    fn a_label_given_twice_matches_no_two_different_labels() {
        let sample = Sample {
            name: "x".into(),
            labels: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
            value: 1.0,
            exemplar: None,
        };
        assert!(sample.is("x", &[("b", "2"), ("a", "1")]));
        assert!(!sample.is("x", &[("a", "1"), ("a", "1")]));
        let twice = Sample {
            labels: vec![("a".into(), "1".into()), ("a".into(), "1".into())],
            ..sample
        };
        assert!(!twice.is("x", &[("a", "1"), ("b", "2")]));
    }

    #[test]
    fn the_names_seen_are_listed_once_and_histogram_suffixes_hinted() {
        let registry = TestRegistry::new();
        let latency = registry
            .histogram_vec(
                ("latency_seconds", "Latency."),
                Buckets::new(vec![1.0]).unwrap(),
                &["route"],
            )
            .unwrap();
        latency.with(&["/a"], |h| h.observe(0.5)).unwrap();
        latency.with(&["/b"], |h| h.observe(0.5)).unwrap();
        let msg = panic_message(|| registry.assert_value("latency_seconds", &[], 1.0));
        assert_eq!(
            msg,
            "latency_seconds not found, expected 1\n\
             no sample is named latency_seconds (did you mean latency_seconds_count, \
             latency_seconds_sum or latency_seconds_bucket? samples are named as /metrics \
             shows them); names seen: latency_seconds_bucket, latency_seconds_count, \
             latency_seconds_sum"
        );
    }

    #[test]
    fn assert_family_lists_missing_wrong_and_unexpected_series() {
        let registry = shop();
        registry.assert_family(
            "requests_total",
            &[
                (&[("region", "eu"), ("path", "/b\"q")], 1.0),
                (&[("path", "/a"), ("region", "eu")], 2.0),
            ],
        );
        let msg = panic_message(|| {
            registry.assert_family(
                "requests_total",
                &[
                    (&[("region", "eu"), ("path", "/a")], 3.0),
                    (&[("region", "eu"), ("path", "/c")], 1.0),
                ],
            )
        });
        assert_eq!(
            msg,
            "requests_total{region=\"eu\",path=\"/a\"} is 2, expected 3\n\
             requests_total{region=\"eu\",path=\"/c\"} not found, expected 1\n\
             requests_total{region=\"eu\",path=\"/b\\\"q\"} 1 not expected\n\
             samples named requests_total (2):\n  \
             requests_total{region=\"eu\",path=\"/a\"} 2\n  \
             requests_total{region=\"eu\",path=\"/b\\\"q\"} 1"
        );
    }

    #[test]
    fn nan_equals_nan_in_assertions_and_diffs() {
        let registry = TestRegistry::new();
        let ratio = registry.gauge_f64(("ratio", "Ratio.")).unwrap();
        ratio.set(f64::NAN);
        registry.assert_value("ratio", &[], f64::NAN);
        let before = registry.samples();
        assert!(registry.diff_since(&before).is_empty());
        ratio.set(0.5);
        assert_eq!(
            registry.diff_since(&before).to_string(),
            "~ ratio NaN -> 0.5\n"
        );
    }

    #[test]
    fn diff_lists_added_removed_and_changed_samples() {
        let registry = TestRegistry::new();
        let jobs = registry
            .counter_vec(("jobs_total", "Jobs."), &["queue", "kind"])
            .unwrap();
        jobs.with(&["fast", "a"], |c| c.inc()).unwrap();
        jobs.with(&["slow", "a"], |c| c.inc()).unwrap();
        let workers = registry.gauge(("workers", "Workers.")).unwrap();
        let before = registry.samples();
        assert!(diff(&before, &before).is_empty());

        jobs.with(&["fast", "a"], |c| c.inc_by(4)).unwrap();
        jobs.remove(&["slow", "a"]).unwrap();
        jobs.with(&["new", "b"], |c| c.inc()).unwrap();
        workers.set(0); // unchanged
        let d = registry.diff_since(&before);
        assert_eq!(
            d.to_string(),
            "~ jobs_total{kind=\"a\",queue=\"fast\"} 1 -> 5\n\
             - jobs_total{kind=\"a\",queue=\"slow\"} 1\n\
             + jobs_total{kind=\"b\",queue=\"new\"} 1\n"
        );
        assert_eq!(
            d.delta("jobs_total", &[("queue", "fast"), ("kind", "a")]),
            Some(4.0)
        );
        assert_eq!(
            d.delta("jobs_total", &[("queue", "slow"), ("kind", "a")]),
            Some(-1.0)
        );
        assert_eq!(
            d.delta("jobs_total", &[("queue", "new"), ("kind", "b")]),
            Some(1.0)
        );
        assert_eq!(d.delta("workers", &[]), Some(0.0));
        // Neither side shows these: no 0 that reads as "unchanged".
        assert_eq!(d.delta("worker", &[]), None);
        assert_eq!(d.delta("jobs_total", &[("queue", "fast")]), None);
        d.assert_delta("jobs_total", &[("kind", "a"), ("queue", "fast")], 4.0);
        let msg = panic_message(|| {
            d.assert_delta("jobs_total", &[("queue", "fast"), ("kind", "a")], 1.0)
        });
        assert!(
            msg.starts_with(
                "jobs_total{queue=\"fast\",kind=\"a\"} grew by 4, expected 1\n~ jobs_total"
            ),
            "{msg}"
        );
        let msg = panic_message(|| d.assert_delta("job_total", &[], 0.0));
        assert!(
            msg.starts_with("job_total is in neither snapshot, expected it to grow by 0\nno sample is named job_total"),
            "{msg}"
        );
        assert_eq!(d.changes().len(), 3);
        assert_eq!(
            d.get("jobs_total", &[("kind", "b"), ("queue", "new")]),
            Some(&Change {
                name: "jobs_total".into(),
                labels: vec![("kind".into(), "b".into()), ("queue".into(), "new".into())],
                before: None,
                after: Some(1.0),
            })
        );
    }

    #[test]
    fn parallel_tests_with_their_own_registries_see_only_their_own_updates() {
        std::thread::scope(|s| {
            for t in 0..4u64 {
                s.spawn(move || {
                    let registry = TestRegistry::new();
                    let hits = registry.counter(("hits_total", "Hits.")).unwrap();
                    for _ in 0..1000 * (t + 1) {
                        hits.inc();
                    }
                    registry.assert_value("hits_total", &[], (1000 * (t + 1)) as f64);
                });
            }
        });
    }

    /// Exemplars are read where OpenMetrics writes them (a counter's
    /// `_total`, each classic bucket), absent elsewhere, and the assertion
    /// names what it found when it fails.
    #[test]
    fn exemplars_of_counters_and_buckets() {
        let registry = TestRegistry::new();
        let orders = registry
            .counter_vec(("orders_total", "Orders."), &["shop"])
            .unwrap();
        orders
            .with(&["eu"], |c| {
                c.inc_by_with_exemplar(3, &[("trace_id", "aa")])
            })
            .unwrap()
            .unwrap();
        orders.with(&["us"], |c| c.inc()).unwrap();
        let latency = registry
            .histogram(
                ("latency_seconds", "Latency."),
                Buckets::new(vec![0.1, 1.0]).unwrap(),
            )
            .unwrap();
        latency
            .observe_with_exemplar(0.5, &[("trace_id", "bb"), ("span_id", "cc")])
            .unwrap();

        let e = registry
            .exemplar("orders_total", &[("shop", "eu")])
            .unwrap();
        assert_eq!(e.labels().collect::<Vec<_>>(), [("trace_id", "aa")]);
        assert_eq!(e.value(), 3.0);
        assert!(e.timestamp().is_some());
        assert_eq!(registry.exemplar("orders_total", &[("shop", "us")]), None);
        registry.assert_exemplar("orders_total", &[("shop", "eu")], &[("trace_id", "aa")]);
        let bucket = registry
            .exemplar("latency_seconds_bucket", &[("le", "1")])
            .unwrap();
        assert_eq!(bucket.value(), 0.5);
        registry.assert_exemplar(
            "latency_seconds_bucket",
            &[("le", "1")],
            &[("span_id", "cc"), ("trace_id", "bb")],
        );
        assert_eq!(
            registry.exemplar("latency_seconds_bucket", &[("le", "0.1")]),
            None
        );
        assert_eq!(registry.exemplar("latency_seconds_count", &[]), None);

        let msg = panic_message(|| {
            registry.assert_exemplar("orders_total", &[("shop", "eu")], &[("trace_id", "zz")])
        });
        assert_eq!(
            msg,
            "orders_total{shop=\"eu\"} has an exemplar with {trace_id=\"aa\"}, \
             expected {trace_id=\"zz\"}"
        );
        let msg = panic_message(|| {
            registry.assert_exemplar("orders_total", &[("shop", "us")], &[("trace_id", "aa")])
        });
        assert_eq!(
            msg,
            "orders_total{shop=\"us\"} has no exemplar, expected one with {trace_id=\"aa\"}"
        );
        let msg = panic_message(|| {
            registry.assert_exemplar("orders_total", &[("shop", "fr")], &[("trace_id", "aa")])
        });
        assert!(
            msg.starts_with("orders_total{shop=\"fr\"} is absent\n"),
            "{msg}"
        );
        // A misspelled name fails as the other assertions do.
        let msg = panic_message(|| registry.assert_exemplar("orders", &[], &[]));
        assert!(msg.contains("did you mean orders_total?"), "{msg}");
    }

    /// Native buckets come back as `(key, count)` pairs from the spans and
    /// deltas the scrape hands over, both signs and the zero bucket, with
    /// count, sum and the native exemplars; a classic-only histogram has
    /// none.
    #[test]
    fn native_buckets_as_pairs() {
        let registry = TestRegistry::new();
        let rpc = registry
            .histogram_vec(
                ("rpc_seconds", "RPC latency."),
                Buckets::new(vec![1.0])
                    .unwrap()
                    .with_native(crate::NativeOpts::new().schema(0))
                    .unwrap(),
                &["method"],
            )
            .unwrap();
        let get = rpc.get_or_create(&["get"]).unwrap();
        // Schema 0: key k holds (2^(k-1), 2^k]. Keys 1, 2 and 4 (a gap of
        // one bucket, which the deltas fill with a zero) and -1.
        for v in [1.5, 2.0, 3.0, 16.0, -0.75, 0.0] {
            get.observe(v);
        }
        get.observe_with_exemplar(2.0, &[("trace_id", "dd")])
            .unwrap();
        let n = registry
            .native("rpc_seconds", &[("method", "get")])
            .unwrap();
        assert_eq!(n.name, "rpc_seconds");
        assert_eq!((n.count, n.sum), (7, 23.75));
        assert_eq!(n.buckets.schema, 0);
        assert_eq!(n.buckets.zero_count, 1);
        assert_eq!(n.buckets.positive, [(1, 3), (2, 1), (4, 1)]);
        assert_eq!(n.buckets.negative, [(0, 1)]);
        assert_eq!(n.buckets.exemplars.len(), 1);
        assert_eq!(n.buckets, get.snapshot().native.unwrap());
        assert!(
            registry
                .native("rpc_seconds", &[("method", "put")])
                .is_none()
        );
        assert!(
            registry
                .native("rpc_seconds_bucket", &[("method", "get")])
                .is_none()
        );

        let classic = registry
            .histogram(
                ("plain_seconds", "Plain."),
                Buckets::new(vec![1.0]).unwrap(),
            )
            .unwrap();
        classic.observe(0.5);
        assert!(registry.native("plain_seconds", &[]).is_none());
    }

    #[test]
    fn pairs_from_spans_and_deltas() {
        let span = |offset, length| BucketSpan { offset, length };
        // Keys -2 and -1, then (offsets count from the end of the last
        // span) 4, 5 and 6, 5 holding a filled-in zero.
        assert_eq!(
            pairs(&[span(-2, 2), span(4, 3)], &[5, -3, 1, -3, 1]),
            [(-2, 5), (-1, 2), (4, 3), (6, 1)]
        );
        assert_eq!(pairs(&[], &[]), []);
        // The no-op span of an empty native histogram.
        assert_eq!(pairs(&[span(0, 0)], &[]), []);
    }
}
