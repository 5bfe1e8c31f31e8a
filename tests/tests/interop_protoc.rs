//! Our protobuf output read by `protoc --decode` against client_model's
//! `metrics.proto` (Debian's), and by our prost mirror of it
//! (`hotmetrics_tests::proto`): both readings, normalized, must say what
//! the registry holds, for the fixture and for 200 random registries.
//!
//! A missing protoc or metrics.proto fails the test (never skips it):
//! `./test.sh --setup` installs them.

use hotmetrics::MetricType;
use hotmetrics_tests::diff::{assert_same, diff};
use hotmetrics_tests::expected::{expected, model};
use hotmetrics_tests::normalized::{
    Fam, Sample, created_samples, from_protobuf, non_empty, protobuf_units, render, sorted_samples,
};
use hotmetrics_tests::parse::Dialect;
use hotmetrics_tests::random::random_registries;
use hotmetrics_tests::tools::{protoc_decode, protoc_decode_many};
use hotmetrics_tests::{fixture, proto};

/// [`from_protobuf`], failing the test with `reader` on a malformed reading.
fn normalized(reader: &str, families: &[proto::MetricFamily]) -> (Vec<Fam>, Vec<Sample>) {
    from_protobuf(families).unwrap_or_else(|e| panic!("{reader}: {e}"))
}

#[test]
fn protoc_decodes_the_protobuf_output() {
    let registry = fixture::registry();
    let pb = fixture::encode_protobuf(&registry);
    let (fams, created) = normalized("protoc", &protoc_decode(&pb));
    let model = model(&registry);
    assert_same(
        "protoc --decode on the protobuf output",
        &render(&non_empty(&expected(&model, Dialect::Text))),
        &render(&fams),
    );
    assert_same(
        "creation times decoded by protoc",
        &sorted_samples(&created_samples(&expected(&model, Dialect::OpenMetrics))),
        &sorted_samples(&created),
    );
}

/// Our prost mirror of metrics.proto (tests/src/proto.rs) reads what protoc
/// reads, units included.
#[test]
fn protoc_and_prost_read_the_same() {
    let registry = fixture::registry();
    let pb = fixture::encode_protobuf(&registry);
    let via_protoc = protoc_decode(&pb);
    let via_prost = proto::decode_delimited(&pb).expect("prost decodes our output");
    let (protoc_fams, protoc_created) = normalized("protoc", &via_protoc);
    let (prost_fams, prost_created) = normalized("prost", &via_prost);
    assert_same(
        "protoc vs prost",
        &render(&protoc_fams),
        &render(&prost_fams),
    );
    assert_same(
        "creation times: protoc vs prost",
        &sorted_samples(&protoc_created),
        &sorted_samples(&prost_created),
    );
    let units: Vec<String> = model(&registry)
        .iter()
        .filter(|f| !f.series.is_empty())
        .filter_map(|f| {
            let suffix = if f.metric_type == MetricType::Counter {
                "_total"
            } else {
                ""
            };
            Some(format!("{}{suffix} {}", f.name, f.unit.as_deref()?))
        })
        .collect();
    assert_same("units (protoc)", &units, &protobuf_units(&via_protoc));
    assert_same("units (prost)", &units, &protobuf_units(&via_prost));
}

/// The random registries as protobuf, read by protoc (one process for all)
/// and by our prost mirror: values, help, label values and creation times
/// as the registry holds them.
#[test]
fn random_registries_read_back_exactly_from_protobuf() {
    let registries = random_registries();
    let streams: Vec<Vec<u8>> = registries.iter().map(fixture::encode_protobuf).collect();
    let refs: Vec<&[u8]> = streams.iter().map(Vec::as_slice).collect();
    let via_protoc = protoc_decode_many(&refs);
    let mut failures = Vec::new();
    for (i, (registry, pb)) in registries.iter().zip(&streams).enumerate() {
        let model = model(registry);
        let want = render(&non_empty(&expected(&model, Dialect::Text)));
        let want_created =
            sorted_samples(&created_samples(&expected(&model, Dialect::OpenMetrics)));
        let via_prost = match proto::decode_delimited(pb) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("registry {i}: prost: {e}\n"));
                continue;
            }
        };
        for (reader, families) in [("protoc", &via_protoc[i]), ("prost", &via_prost)] {
            let problem = match from_protobuf(families) {
                Err(e) => Some(e),
                Ok((fams, created)) => diff(&want, &render(&fams))
                    .or_else(|| diff(&want_created, &sorted_samples(&created))),
            };
            if let Some(d) = problem {
                failures.push(format!("registry {i} read by {reader}: {d}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} protobuf readings of {} registries differ:\n{}",
        failures.len(),
        registries.len(),
        failures.iter().take(5).cloned().collect::<String>()
    );
}
