//! `ScrapeEncoder` writes exactly what each format's own encoder writes.

use bytes::BytesMut;
use hotmetrics_core::{Buckets, Registry};
use hotmetrics_exposition::{Format, ScrapeEncoder, negotiate};

fn registry() -> Registry {
    let registry = Registry::new();
    let sent = registry
        .counter_vec(("sent", "Messages sent."), &["queue"])
        .unwrap();
    sent.with(&["a"], |c| c.inc_by(3)).unwrap();
    sent.with(&["b\"\n"], |c| c.inc()).unwrap();
    registry.gauge(("depth", "Queue depth.")).unwrap().set(-4);
    let wait = registry
        .histogram(
            ("wait_seconds", "Time in queue."),
            Buckets::new(vec![0.5, 1.0]).unwrap(),
        )
        .unwrap();
    wait.observe(0.75);
    registry
}

/// What the format's own encoder appends for `registry`.
#[allow(unused_variables, unused_mut, unreachable_code)]
fn direct(format: Format, registry: &Registry) -> BytesMut {
    let mut out = BytesMut::new();
    match format {
        #[cfg(feature = "text")]
        Format::Text => hotmetrics_text::TextEncoder::new().encode(registry, &mut out),
        #[cfg(feature = "openmetrics")]
        Format::OpenMetrics => {
            hotmetrics_text::OpenMetricsEncoder::new().encode(registry, &mut out)
        }
        #[cfg(feature = "protobuf")]
        Format::Protobuf => hotmetrics_protobuf::ProtobufEncoder::new().encode(registry, &mut out),
        _ => unreachable!("a format of a newer hotmetrics-exposition"),
    };
    out
}

#[test]
fn dispatches_and_appends() {
    let registry = registry();
    let mut encoder = ScrapeEncoder::new();
    for &format in Format::available() {
        let want = direct(format, &registry);
        // The seam and the enum name one content type.
        assert_eq!(
            encoder.encoder(format).content_type(),
            format.content_type()
        );
        let mut out = BytesMut::from(&b"prefix"[..]);
        encoder.encode(format, &registry, &mut out);
        assert_eq!(&out[..6], b"prefix", "{format:?} appends");
        assert_eq!(&out[6..], &want[..], "{format:?}");
        // Reused: the same bytes again.
        out.clear();
        encoder.encode(format, &registry, &mut out);
        assert_eq!(&out[..], &want[..], "{format:?} reused");
    }
}

#[test]
fn encode_negotiated_is_negotiate_then_encode() {
    let registry = registry();
    let mut encoder = ScrapeEncoder::new();
    let headers = [
        None,
        Some(""),
        Some("*/*"),
        Some("application/json"),
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
        Some(
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        ),
        Some("text/plain;q=0, */*"),
    ];
    for accept in headers {
        let mut out = BytesMut::new();
        let chosen = encoder.encode_negotiated(accept, &registry, &mut out);
        assert_eq!(chosen, negotiate(accept), "{accept:?}");
        match chosen {
            Some(chosen) => assert_eq!(out, direct(chosen.format(), &registry), "{accept:?}"),
            None => {
                assert!(Format::available().is_empty());
                assert!(out.is_empty());
            }
        }
    }
}

#[test]
fn debug_output() {
    let encoder = ScrapeEncoder::default();
    assert!(format!("{encoder:?}").starts_with("ScrapeEncoder"));
}

#[test]
fn every_format_reports_the_series_it_wrote() {
    let registry = Registry::new();
    let c = registry.counter_vec(("c_total", "c"), &["l"]).unwrap();
    c.with(&["a"], |c| c.inc()).unwrap();
    c.with(&["b"], |c| c.inc()).unwrap();
    registry.gauge(("g", "g")).unwrap().set(1);
    let h = registry
        .histogram_vec(("h_seconds", "h"), Buckets::default(), &["l"])
        .unwrap();
    h.with(&["x"], |h| h.observe(0.1)).unwrap();
    registry.counter_f64(("f", "f")).unwrap().inc();
    let mut encoder = ScrapeEncoder::new();
    let mut body = BytesMut::new();
    for &format in Format::available() {
        body.clear();
        assert_eq!(
            encoder.encode(format, &registry, &mut body),
            5,
            "{format:?}"
        );
    }
}
