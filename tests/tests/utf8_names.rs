//! A registry with Prometheus 3's UTF-8 names, read by the real tools:
//! Python's `prometheus_client` (0.22.0 is the first whose text and
//! OpenMetrics parsers read quoted names) parses the `allow-utf-8` text
//! and OpenMetrics output and returns the UTF-8 names; promtool (the
//! Debian Prometheus 2.42, which knows no UTF-8) passes the escaped text.
//! And the `/metrics` service writes what each scrape's `Accept` asks.
//!
//! A missing tool fails the test (never skips it): `./test.sh --setup`
//! installs them.

use std::collections::BTreeSet;

use hotmetrics::Escaping;
use hotmetrics_tests::diff::assert_same;
use hotmetrics_tests::expected::{expected, model};
use hotmetrics_tests::normalized::render;
use hotmetrics_tests::parse::Dialect;
use hotmetrics_tests::tools::{promtool, python_parse, text_of};
use hotmetrics_tests::utf8;

#[test]
fn python_reads_quoted_utf8_names_in_text_and_openmetrics() {
    let r = utf8::registry();
    let text = utf8::encode_text(&r, Escaping::AllowUtf8);
    let om = utf8::encode_openmetrics(&r, Escaping::AllowUtf8);
    let mut parsed = python_parse(&[(Dialect::Text, &text), (Dialect::OpenMetrics, &om)]);
    let om_parsed = parsed.pop().expect("two documents");
    let text_parsed = parsed.pop().expect("two documents");
    for (dialect, doc, result) in [
        (Dialect::Text, &text, text_parsed),
        (Dialect::OpenMetrics, &om, om_parsed),
    ] {
        let families = result.unwrap_or_else(|e| {
            panic!(
                "prometheus_client ({dialect:?}) rejected the allow-utf-8 output: {e}\n{}",
                String::from_utf8_lossy(doc)
            )
        });
        let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
        for want in ["http.server.requests", "9 lives 🐈", "feature.mode"] {
            assert!(
                names.contains(&want),
                "{dialect:?}: {want:?} not in {names:?}"
            );
        }
        let requests = families
            .iter()
            .find(|f| f.name == "http.server.requests")
            .expect("the counter");
        assert_eq!(requests.samples[0].name, "http.server.requests_total");
        assert!(
            requests.samples[0]
                .labels
                .iter()
                .any(|(n, v)| n == "http.method" && v == "GET"),
            "{:?}",
            requests.samples[0]
        );
        assert_same(
            &format!("prometheus_client on the allow-utf-8 {dialect:?} output"),
            &render(&expected(&model(&r), dialect)),
            &render(&families),
        );
    }
}

#[test]
fn promtool_passes_the_escaped_text() {
    let r = utf8::registry();
    for escaping in [Escaping::Underscores, Escaping::Dots, Escaping::Values] {
        let text = utf8::encode_text(&r, escaping);
        let out = promtool(&text);
        assert!(
            out.status.success(),
            "promtool check metrics on escaping={escaping}: {}\n{}\non:\n{}",
            out.status,
            text_of(&out),
            String::from_utf8_lossy(&text)
        );
    }
    // The allow-utf-8 text is not for Prometheus 2: its parser refuses it.
    let out = promtool(&utf8::encode_text(&r, Escaping::AllowUtf8));
    assert!(!out.status.success(), "promtool 2.42 read quoted names?");
}

/// The names a text exposition's `# TYPE` lines and sample lines use.
fn text_names(text: &[u8]) -> (BTreeSet<String>, BTreeSet<String>) {
    let text = std::str::from_utf8(text).expect("UTF-8 exposition");
    let (mut families, mut samples) = (BTreeSet::new(), BTreeSet::new());
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().expect("a name");
            families.insert(name.to_owned());
        } else if !line.starts_with('#') {
            let end = line.find(['{', ' ']).expect("a sample line");
            samples.insert(line[..end].to_owned());
        }
    }
    (families, samples)
}

/// A series has one name whichever format a scrape negotiates: under every
/// escaping scheme, text 0.0.4, OpenMetrics and protobuf name every sample
/// alike (OpenMetrics adds only its `_created` samples), and text's family
/// names are protobuf's, as prometheus/common escapes a MetricFamily's
/// name (`_total` included) in every format.
#[test]
fn every_format_escapes_sample_names_alike() {
    let r = utf8::registry();
    for escaping in [Escaping::Underscores, Escaping::Dots, Escaping::Values] {
        let (text_families, text_samples) = text_names(&utf8::encode_text(&r, escaping));
        let (_, om_samples) = text_names(&utf8::encode_openmetrics(&r, escaping));
        let om_samples: BTreeSet<String> = om_samples
            .into_iter()
            .filter(|s| !s.ends_with("_created"))
            .collect();
        assert_eq!(text_samples, om_samples, "sample names under {escaping}");
        let proto = hotmetrics_tests::proto::decode_delimited(&utf8::encode_protobuf(&r, escaping))
            .expect("protobuf decodes");
        let proto_families: BTreeSet<String> = proto.into_iter().filter_map(|f| f.name).collect();
        assert_eq!(
            text_families, proto_families,
            "family names under {escaping}"
        );
    }
}
