//! Escaping in every format: arbitrary label values and HELP text (any
//! UTF-8, invalid input bytes turned into U+FFFD: quotes, backslashes,
//! newlines, carriage returns, NUL) on legacy-valid metric and label names,
//! in a gauge family and a counter family. Text 0.0.4 and OpenMetrics are
//! read back with the strict parser of `hotmetrics-tests`: the HELP text
//! and every label value come back exactly, each series once, with its
//! value. The protobuf, decoded with prost, holds the raw HELP and values.
//!
//! ```sh
//! cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run label_escaping seeds/label_escaping -- -max_total_time=60
//! ```
#![no_main]

use hotmetrics::Registry;
use hotmetrics::openmetrics::OpenMetricsEncoder;
use hotmetrics::protobuf::ProtobufEncoder;
use hotmetrics::text::TextEncoder;
use hotmetrics_fuzz::{Input, LABEL_CHARS};
use hotmetrics_tests::parse::{Dialect, Family, parse};
use hotmetrics_tests::proto;
use libfuzzer_sys::fuzz_target;

/// A legacy-valid name: `[a-zA-Z_]` then `extra` characters, never `__`
/// first.
fn name(input: &mut Input<'_>, extra: &[u8]) -> String {
    let mut name = String::from(input.pick(&["a", "B", "_x", "z9"]));
    name.push_str(&input.word(extra, 8));
    name
}

/// One family: its sample name in the text formats, its family name in
/// protobuf, label names, and the series (label values, value) written.
struct Written {
    sample: String,
    proto_name: String,
    labels: Vec<String>,
    series: Vec<(Vec<String>, f64)>,
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let registry = Registry::new();
    let help = input.text(48);
    let mut families = Vec::new();
    for counter in [false, true] {
        let metric = name(&mut input, b"abcXYZ019_:");
        let mut labels: Vec<String> = Vec::new();
        for _ in 0..=input.below(3) {
            let label = name(&mut input, LABEL_CHARS);
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
        let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let mut series: Vec<(Vec<String>, f64)> = Vec::new();
        let values: Vec<Vec<String>> = (0..=input.below(3))
            .map(|_| labels.iter().map(|_| input.text(24)).collect())
            .collect();
        let (sample, proto_name) = if counter {
            let Ok(family) = registry.counter_vec((metric.as_str(), help.as_str()), &label_refs)
            else {
                continue;
            };
            for v in values {
                let refs: Vec<&str> = v.iter().map(String::as_str).collect();
                family
                    .with(&refs, |c| c.inc_by(3))
                    .expect("as many values as names");
                add(&mut series, v, true);
            }
            let family = metric.strip_suffix("_total").unwrap_or(&metric);
            (format!("{family}_total"), format!("{family}_total"))
        } else {
            let Ok(family) = registry.gauge_f64_vec((metric.as_str(), help.as_str()), &label_refs)
            else {
                continue;
            };
            for v in values {
                let refs: Vec<&str> = v.iter().map(String::as_str).collect();
                family
                    .with(&refs, |g| g.set(2.5))
                    .expect("as many values as names");
                add(&mut series, v, false);
            }
            (metric.clone(), metric.clone())
        };
        families.push(Written {
            sample,
            proto_name,
            labels,
            series,
        });
    }
    check(&registry, &help, &families);
});

/// What the model expects after an update: a counter adds 3, a gauge is
/// set to 2.5; the same label values twice are one series.
fn add(series: &mut Vec<(Vec<String>, f64)>, values: Vec<String>, counter: bool) {
    let update = |old: f64| if counter { old + 3.0 } else { 2.5 };
    match series.iter_mut().find(|(v, _)| *v == values) {
        Some((_, old)) => *old = update(*old),
        None => series.push((values, update(0.0))),
    }
}

fn check(registry: &Registry, help: &str, written: &[Written]) {
    for dialect in [Dialect::Text, Dialect::OpenMetrics] {
        let mut buf = bytes::BytesMut::new();
        match dialect {
            Dialect::Text => TextEncoder::new().encode(registry, &mut buf),
            Dialect::OpenMetrics => OpenMetricsEncoder::new().encode(registry, &mut buf),
        };
        let text = std::str::from_utf8(&buf).expect("the encoders write UTF-8");
        let parsed = parse(text, dialect).unwrap_or_else(|e| panic!("{dialect:?}: {e}\n{text}"));
        for family in &parsed {
            assert_eq!(family.help.as_deref().unwrap_or(""), help, "{text}");
        }
        for w in written {
            for (values, value) in &w.series {
                let want: Vec<(String, String)> = w
                    .labels
                    .iter()
                    .cloned()
                    .zip(values.iter().cloned())
                    .collect();
                let found = samples(&parsed, &w.sample)
                    .filter(|s| s.labels == want)
                    .map(|s| s.value)
                    .collect::<Vec<_>>();
                assert_eq!(found, [*value], "{dialect:?} {want:?}\n{text}");
            }
            assert_eq!(
                samples(&parsed, &w.sample).count(),
                w.series.len(),
                "{text}"
            );
        }
    }

    let mut buf = bytes::BytesMut::new();
    ProtobufEncoder::new().encode(registry, &mut buf);
    let decoded = proto::decode_delimited(&buf).expect("the protobuf decodes");
    for w in written {
        let family = decoded
            .iter()
            .find(|f| f.name.as_deref() == Some(w.proto_name.as_str()))
            .unwrap_or_else(|| panic!("no protobuf family {}", w.proto_name));
        assert_eq!(family.help.as_deref(), Some(help));
        let mut got: Vec<Vec<(&str, &str)>> = family
            .metric
            .iter()
            .map(|m| {
                m.label
                    .iter()
                    .map(|l| {
                        (
                            l.name.as_deref().unwrap_or(""),
                            l.value.as_deref().unwrap_or(""),
                        )
                    })
                    .collect()
            })
            .collect();
        let mut want: Vec<Vec<(&str, &str)>> = w
            .series
            .iter()
            .map(|(values, _)| {
                w.labels
                    .iter()
                    .map(String::as_str)
                    .zip(values.iter().map(String::as_str))
                    .collect()
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }
}

fn samples<'a>(
    families: &'a [Family],
    name: &'a str,
) -> impl Iterator<Item = &'a hotmetrics_tests::parse::Sample> {
    families
        .iter()
        .flat_map(|f| &f.samples)
        .filter(move |s| s.name == name)
}
