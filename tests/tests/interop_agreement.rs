//! The three formats, each read by a tool nobody on this team wrote
//! (Python's `prometheus_client` for 0.0.4 and OpenMetrics, protoc for
//! protobuf), agree with each other series by series, with no model of ours
//! in between.
//!
//! A missing tool fails the test (never skips it): `./test.sh --setup`
//! installs them all.

use hotmetrics_tests::diff::assert_same;
use hotmetrics_tests::fixture;
use hotmetrics_tests::normalized::{
    Fam, created_samples, esc, from_protobuf, non_empty, sorted_samples, without_created,
};
use hotmetrics_tests::parse::Dialect;
use hotmetrics_tests::tools::{protoc_decode, python_parse};

#[test]
fn the_formats_agree() {
    let registry = fixture::registry();
    let text = fixture::encode_text(&registry);
    let om = fixture::encode_openmetrics(&registry);
    let pb = fixture::encode_protobuf(&registry);
    let mut parsed = python_parse(&[(Dialect::Text, &text), (Dialect::OpenMetrics, &om)]);
    let from_om = parsed
        .pop()
        .expect("two documents")
        .expect("OpenMetrics parses");
    let from_text = parsed.pop().expect("two documents").expect("0.0.4 parses");
    let (from_pb, pb_created) =
        from_protobuf(&protoc_decode(&pb)).unwrap_or_else(|e| panic!("protoc: {e}"));

    let text_samples = sorted_samples(&without_created(&from_text));
    assert!(!text_samples.is_empty());
    assert_same(
        "0.0.4 (Python) vs OpenMetrics (Python), _created left out",
        &text_samples,
        &sorted_samples(&without_created(&from_om)),
    );
    assert_same(
        "0.0.4 (Python) vs protobuf (protoc)",
        &text_samples,
        &sorted_samples(
            &from_pb
                .iter()
                .flat_map(|f| f.samples.clone())
                .collect::<Vec<_>>(),
        ),
    );
    assert_same(
        "creation times: OpenMetrics (Python) vs protobuf (protoc)",
        &sorted_samples(&created_samples(&from_om)),
        &sorted_samples(&pb_created),
    );
    let helps = |fams: &[Fam]| -> Vec<String> { fams.iter().map(|f| esc(&f.help)).collect() };
    assert_same(
        "HELP: 0.0.4 vs OpenMetrics",
        &helps(&from_text),
        &helps(&from_om),
    );
    assert_same(
        "HELP: 0.0.4 vs protobuf",
        &helps(&non_empty(&from_text)),
        &helps(&from_pb),
    );
}
