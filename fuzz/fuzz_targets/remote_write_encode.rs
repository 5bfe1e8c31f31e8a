//! Builds a registry from arbitrary bytes (`hotmetrics_fuzz::registry`:
//! legacy or UTF-8 names, label values of any text, odd floats), encodes
//! it with the remote write sink (`Sink::encode`, no network) for 1.0 and
//! 2.0, with or without external labels, in requests of 1 to 2,000
//! samples, and checks every payload with code nobody here wrote: it
//! snappy-decompresses (`snap`) and decodes with prost's decoders of
//! Prometheus' own protos (`hotmetrics-remote-write-prompb`). Then: each
//! series has one sample, its labels sorted by name and unique, with a
//! non-empty `__name__` and no empty value; `payload.samples` is the
//! request's sample count; 2.0's symbol table starts with `""` and every
//! ref is in it; and the series of all payloads are exactly those a
//! Prometheus scrape of the registry stores (the mapping in the crate's
//! docs, computed here from the registry's own visitor), values included.
//!
//! ```sh
//! cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run remote_write_encode -- -max_total_time=60
//! ```
#![no_main]

use hotmetrics::export::{Batch, Sink};
use hotmetrics::remote_write::{Protocol, RemoteWrite};
use hotmetrics::{FamilyDesc, LabelSet, MetricVisitor, SeriesValue};
use hotmetrics_fuzz::Input;
use hotmetrics_fuzz::registry::{self, name};
use hotmetrics_remote_write_prompb::{prometheus, v2};
use libfuzzer_sys::fuzz_target;
use prost::Message;

/// A series: its labels, sorted, `__name__` in; and its value.
type Series = (Vec<(String, String)>, f64);

/// What a scrape of the registry stores, by the crate's mapping.
struct Expected<'a> {
    external: &'a [(String, String)],
    family: String,
    out: Vec<Series>,
}

impl Expected<'_> {
    fn push(
        &mut self,
        base: &[(String, String)],
        suffix: &str,
        extra: Option<(&str, String)>,
        v: f64,
    ) {
        let mut labels = base.to_vec();
        labels.push(("__name__".into(), format!("{}{suffix}", self.family)));
        if let Some((n, val)) = extra {
            // A sample's own label wins over a series' one of its name.
            labels.retain(|(m, _)| m != n);
            labels.push((n.into(), val));
        }
        labels.sort();
        self.out.push((labels, v));
    }
}

/// A bound as a number's text, whatever spelling the sink chose.
fn bound(text: &str) -> String {
    let v: f64 = text
        .parse()
        .unwrap_or_else(|_| panic!("le={text:?} is no float"));
    format!("{v:?}")
}

impl MetricVisitor for Expected<'_> {
    fn begin_family(&mut self, family: &FamilyDesc<'_>) {
        self.family = family.name.to_owned();
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        let mut base = Vec::new();
        // An empty value is no label (as Prometheus stores a scrape).
        labels.for_each(&mut |n, v| {
            if !v.is_empty() {
                base.push((n.to_owned(), v.to_owned()));
            }
        });
        for (n, v) in self.external {
            if !base.iter().any(|(m, _)| m == n) {
                base.push((n.clone(), v.clone()));
            }
        }
        match *value {
            SeriesValue::Counter { value, .. } => self.push(&base, "_total", None, value.as_f64()),
            SeriesValue::Gauge(v) | SeriesValue::Unknown(v) => {
                self.push(&base, "", None, v.as_f64())
            }
            SeriesValue::Info => self.push(&base, "_info", None, 1.0),
            SeriesValue::Histogram(h) => {
                let mut cumulative = 0;
                let bounds = h.upper_bounds.iter().chain(&[f64::INFINITY]);
                for (b, c) in bounds.zip(h.bucket_counts) {
                    cumulative += c;
                    self.push(
                        &base,
                        "_bucket",
                        Some(("le", format!("{b:?}"))),
                        cumulative as f64,
                    );
                }
                self.push(&base, "_sum", None, h.sum);
                self.push(&base, "_count", None, h.count as f64);
            }
            SeriesValue::Summary(s) => {
                for &(q, v) in s.quantiles {
                    self.push(&base, "", Some(("quantile", format!("{q:?}"))), v);
                }
                self.push(&base, "_sum", None, s.sum);
                self.push(&base, "_count", None, s.count as f64);
            }
            SeriesValue::StateSet(states) => {
                let family = self.family.clone();
                for &(state, on) in states {
                    let extra = Some((family.as_str(), state.to_owned()));
                    self.push(&base, "", extra, f64::from(u8::from(on)));
                }
            }
        }
    }
}

/// Checks one series' labels and returns them, `le` spelled as [`bound`].
fn check_labels(labels: Vec<(String, String)>) -> Vec<(String, String)> {
    assert!(
        labels.windows(2).all(|w| w[0].0 < w[1].0),
        "labels not sorted and unique: {labels:?}"
    );
    assert!(
        labels.iter().any(|(n, v)| n == "__name__" && !v.is_empty()),
        "no __name__: {labels:?}"
    );
    assert!(
        labels.iter().all(|(n, v)| !n.is_empty() && !v.is_empty()),
        "an empty name or value: {labels:?}"
    );
    let is_bucket = labels
        .iter()
        .any(|(n, v)| n == "__name__" && v.ends_with("_bucket"));
    labels
        .into_iter()
        .map(|(n, v)| {
            if is_bucket && n == "le" {
                let b = bound(&v);
                (n, b)
            } else {
                (n, v)
            }
        })
        .collect()
}

fn decode_v1(raw: &[u8], got: &mut Vec<Series>) -> usize {
    let req = prometheus::WriteRequest::decode(raw).expect("1.0 decodes with prost");
    for ts in &req.timeseries {
        assert_eq!(ts.samples.len(), 1, "one sample per series");
        let labels = ts
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        got.push((check_labels(labels), ts.samples[0].value));
    }
    for m in &req.metadata {
        assert!(!m.metric_family_name.is_empty(), "metadata without a name");
    }
    req.timeseries.len()
}

fn decode_v2(raw: &[u8], got: &mut Vec<Series>) -> usize {
    let req = v2::Request::decode(raw).expect("2.0 decodes with prost");
    let symbols = &req.symbols;
    assert_eq!(
        symbols.first().map(String::as_str),
        Some(""),
        "symbol 0 is \"\""
    );
    let sym = |r: u32| -> String {
        symbols
            .get(r as usize)
            .unwrap_or_else(|| panic!("ref {r} past {} symbols", symbols.len()))
            .clone()
    };
    for ts in &req.timeseries {
        assert_eq!(ts.samples.len(), 1, "one sample per series");
        assert!(ts.labels_refs.len() % 2 == 0, "odd labels_refs");
        let labels = ts
            .labels_refs
            .chunks(2)
            .map(|p| (sym(p[0]), sym(p[1])))
            .collect();
        got.push((check_labels(labels), ts.samples[0].value));
        if let Some(m) = &ts.metadata {
            let _ = (sym(m.help_ref), sym(m.unit_ref));
        }
    }
    req.timeseries.len()
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let protocol = if input.one_in(2) {
        Protocol::V2
    } else {
        Protocol::V1
    };
    let max_samples = if input.one_in(2) {
        1 + input.below(8)
    } else {
        2000
    };
    let external: Vec<(String, String)> = (0..input.below(3))
        .map(|_| (name(&mut input), name(&mut input)))
        .collect();
    let fuzzed = registry::build(&mut input);

    let mut builder = RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
        .protocol(protocol)
        .max_samples_per_request(max_samples);
    for (n, v) in &external {
        builder = builder.external_label(n, v);
    }
    // Invalid external labels are refused at build: then none.
    let (mut sink, external) = match builder.build() {
        Ok(sink) => (sink, external),
        Err(_) => {
            let sink = RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
                .protocol(protocol)
                .max_samples_per_request(max_samples)
                .build()
                .expect("a plain sink builds");
            (sink, Vec::new())
        }
    };

    let mut expected = Expected {
        external: &external,
        family: String::new(),
        out: Vec::new(),
    };
    fuzzed.registry.visit(&mut expected);
    let mut want = expected.out;

    let mut batch = Batch::default();
    for round in 0..2 {
        sink.encode(&fuzzed.registry, &mut batch).expect("encodes");
        let mut got = Vec::new();
        let mut decoder = snap::raw::Decoder::new();
        for p in batch.payloads() {
            let raw = decoder.decompress_vec(&p.bytes).expect("a snappy block");
            let n = match protocol {
                Protocol::V1 => decode_v1(&raw, &mut got),
                Protocol::V2 => decode_v2(&raw, &mut got),
            };
            assert_eq!(
                p.samples, n as u64,
                "payload.samples is the request's count"
            );
            assert!(
                n as u64 <= max_samples as u64 && n > 0,
                "{n} samples, max {max_samples}"
            );
        }
        got.sort_by(|a, b| a.0.cmp(&b.0));
        if round == 0 {
            for (labels, _) in &mut want {
                *labels = check_labels(std::mem::take(labels));
            }
            want.sort_by(|a, b| a.0.cmp(&b.0));
        }
        assert_eq!(
            got.iter().map(|s| &s.0).collect::<Vec<_>>(),
            want.iter().map(|s| &s.0).collect::<Vec<_>>(),
            "the series are a scrape's"
        );
        for (g, w) in got.iter().zip(&want) {
            assert!(same(g.1, w.1), "{:?}: sent {} for {}", g.0, g.1, w.1);
        }
        // The second export reuses the buffers: the same again.
        while !batch.is_empty() {
            batch.pop();
        }
    }
});
