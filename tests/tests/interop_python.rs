//! Our 0.0.4 and OpenMetrics output read by Python's `prometheus_client`:
//! its 0.0.4 parser and its strict OpenMetrics parser. Each reading is
//! normalized (`hotmetrics_tests::normalized`) and compared with what the
//! registry holds: the fixture, histograms OpenMetrics constrains, and 200
//! random registries.
//!
//! A missing `python3` or `prometheus_client` fails the test (never skips
//! it): `./test.sh --setup` installs them.

use hotmetrics::{Buckets, Registry};
use hotmetrics_tests::diff::{assert_same, diff};
use hotmetrics_tests::expected::{expected, model};
use hotmetrics_tests::fixture;
use hotmetrics_tests::normalized::render;
use hotmetrics_tests::parse::Dialect;
use hotmetrics_tests::random::random_registries;
use hotmetrics_tests::tools::python_parse;

#[test]
fn python_reads_the_text_output_as_written() {
    let registry = fixture::registry();
    let text = fixture::encode_text(&registry);
    let parsed = python_parse(&[(Dialect::Text, &text)]).remove(0);
    let parsed = parsed.unwrap_or_else(|e| panic!("prometheus_client.parser: {e}"));
    assert_same(
        "prometheus_client.parser on the 0.0.4 output",
        &render(&expected(&model(&registry), Dialect::Text)),
        &render(&parsed),
    );
}

#[test]
fn strict_python_parser_accepts_the_openmetrics_output() {
    let registry = fixture::registry();
    let om = fixture::encode_openmetrics(&registry);
    let parsed = python_parse(&[(Dialect::OpenMetrics, &om)]).remove(0);
    let parsed = parsed.unwrap_or_else(|e| {
        panic!(
            "prometheus_client.openmetrics.parser rejected our output: {e}\n{}",
            String::from_utf8_lossy(&om)
        )
    });
    assert_same(
        "prometheus_client.openmetrics.parser on the OpenMetrics output",
        &render(&expected(&model(&registry), Dialect::OpenMetrics)),
        &render(&parsed),
    );
}

/// OpenMetrics 1.0: "Negative threshold buckets MAY be used, but then the
/// Histogram MetricPoint MUST NOT contain a sum value as it would no longer
/// be a counter semantically"; a `_count` without `_sum` is refused too.
#[test]
fn openmetrics_histogram_with_negative_bounds_passes_the_strict_parser() {
    let bounds = Buckets::new(vec![-10.0, 0.0, 10.0]).expect("valid bounds");
    histogram_passes_the_strict_parser("outdoor_temperature_celsius", bounds, &[-5.0, 3.0]);
}

/// A negative observation makes `_sum` negative, which no counter-like
/// OpenMetrics sample may be.
#[test]
fn openmetrics_histogram_with_negative_sum_passes_the_strict_parser() {
    histogram_passes_the_strict_parser("balance_change", Buckets::default(), &[-2.5, 0.5]);
}

/// A NaN observation (counted in `+Inf`, as Go does) makes `_sum` NaN,
/// which no counter-like OpenMetrics sample may be.
#[test]
fn openmetrics_histogram_with_nan_sum_passes_the_strict_parser() {
    histogram_passes_the_strict_parser("reading_seconds", Buckets::default(), &[f64::NAN, 0.5]);
}

/// One histogram named `name` with `bounds`, after `observations`.
fn histogram_passes_the_strict_parser(name: &str, bounds: Buckets, observations: &[f64]) {
    let r = Registry::new();
    let h = r
        .histogram((name, "A histogram."), bounds)
        .expect("histogram");
    for &v in observations {
        h.observe(v);
    }
    strict_parse_matches_model(&fixture::pinned(r));
}

fn strict_parse_matches_model(registry: &Registry) {
    let om = fixture::encode_openmetrics(registry);
    let parsed = python_parse(&[(Dialect::OpenMetrics, &om)]).remove(0);
    let parsed = parsed.unwrap_or_else(|e| {
        panic!(
            "prometheus_client.openmetrics.parser rejected our output: {e}\n{}",
            String::from_utf8_lossy(&om)
        )
    });
    assert_same(
        "prometheus_client.openmetrics.parser",
        &render(&expected(&model(registry), Dialect::OpenMetrics)),
        &render(&parsed),
    );
}

/// 200 random registries, each in 0.0.4 and OpenMetrics, through one Python
/// process: every document parses and reads back exactly as the registry
/// holds it, escapes and special floats included.
#[test]
fn random_registries_read_back_exactly_in_python() {
    let registries = random_registries();
    let mut docs = Vec::new();
    for r in &registries {
        docs.push((Dialect::Text, fixture::encode_text(r)));
        docs.push((Dialect::OpenMetrics, fixture::encode_openmetrics(r)));
    }
    let refs: Vec<(Dialect, &[u8])> = docs.iter().map(|(f, d)| (*f, d.as_slice())).collect();
    let parsed = python_parse(&refs);
    let mut failures = Vec::new();
    for (i, ((dialect, doc), result)) in docs.iter().zip(parsed).enumerate() {
        let want = render(&expected(&model(&registries[i / 2]), *dialect));
        let outcome = match result {
            Err(e) => Err(format!("parser error: {e}")),
            Ok(fams) => diff(&want, &render(&fams)).map_or(Ok(()), Err),
        };
        if let Err(e) = outcome {
            failures.push(format!(
                "registry {} in {dialect:?}: {e}\ndocument: {:?}\n",
                i / 2,
                String::from_utf8_lossy(doc)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} documents did not read back; the first ones:\n{}",
        failures.len(),
        docs.len(),
        failures.iter().take(5).cloned().collect::<String>()
    );
}
