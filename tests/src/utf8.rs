//! A registry with Prometheus 3's UTF-8 names in every metric type, and
//! its encodings in every escaping scheme, for the golden files and the
//! interop tests of `tests/tests/utf8_names.rs`.

use bytes::BytesMut;
use hotmetrics::{Buckets, Escaping, NameValidation, Opts, Registry, States};

use crate::fixture::pinned_in;

/// A UTF-8 registry.
pub fn utf8_registry() -> Registry {
    Registry::builder()
        .name_validation(NameValidation::Utf8)
        .build()
        .expect("an empty UTF-8 registry")
}

/// Every metric type with UTF-8 metric and label names (dots, a space,
/// a quote, a leading digit, non-ASCII), next to legacy names, with
/// creation times pinned to [`CREATED`](crate::fixture::CREATED).
pub fn registry() -> Registry {
    let r = Registry::builder()
        .name_validation(NameValidation::Utf8)
        .const_label("service.name", "shop")
        .build()
        .expect("valid UTF-8 const label");
    let requests = r
        .counter_vec(
            ("http.server.requests", "Requests served."),
            &["http.method", "code"],
        )
        .expect("counter");
    requests
        .with(&["GET", "200"], |c| c.inc_by(3))
        .expect("series");
    let duration = r
        .histogram_vec(
            Opts::new("http.server.duration_seconds", "Time to answer.").unit("seconds"),
            Buckets::new(vec![0.1, 1.0]).expect("bounds"),
            &["url.path"],
        )
        .expect("histogram");
    duration
        .with(&["/a \"b\""], |h| h.observe(0.25))
        .expect("series");
    r.gauge(("queue_depth", "A legacy name."))
        .expect("gauge")
        .set(7);
    r.gauge(("9 lives 🐈", "A leading digit, a space, an emoji."))
        .expect("gauge")
        .set(9);
    r.info(("app.build_info", "Build."), &[("version.full", "1.2.3")])
        .expect("info");
    let mode = r
        .metric::<hotmetrics::StateSet>(
            ("feature.mode", "Mode."),
            States::new(&["on", "off"]).expect("states"),
        )
        .expect("state set");
    mode.set("off").expect("a state");
    pinned_in(utf8_registry(), r)
}

/// The registry's text exposition in `escaping`.
pub fn encode_text(registry: &Registry, escaping: Escaping) -> Vec<u8> {
    let mut buf = BytesMut::new();
    hotmetrics::text::TextEncoder::new()
        .with_escaping(escaping)
        .encode(registry, &mut buf);
    buf.to_vec()
}

/// The registry in OpenMetrics 1.0.0 in `escaping`.
pub fn encode_openmetrics(registry: &Registry, escaping: Escaping) -> Vec<u8> {
    let mut buf = BytesMut::new();
    hotmetrics::openmetrics::OpenMetricsEncoder::new()
        .with_escaping(escaping)
        .encode(registry, &mut buf);
    buf.to_vec()
}

/// The registry as protobuf in `escaping`.
pub fn encode_protobuf(registry: &Registry, escaping: Escaping) -> Vec<u8> {
    let mut buf = BytesMut::new();
    hotmetrics::protobuf::ProtobufEncoder::new()
        .with_escaping(escaping)
        .encode(registry, &mut buf);
    buf.to_vec()
}
