//! Negotiation never panics, and always picks a compiled-in format.

use hotmetrics_exposition::{Format, negotiate, negotiate_bytes};
use proptest::prelude::*;

/// Checks what must hold for any header.
fn check_any(got: Option<hotmetrics_exposition::Negotiated>) -> Result<(), TestCaseError> {
    match got {
        None => prop_assert!(Format::available().is_empty()),
        Some(chosen) => {
            prop_assert!(Format::available().contains(&chosen.format()));
            // The format's own Content-Type, or with text 1.0.0's version
            // and the escaping scheme when the header asked for them.
            let (ct, own) = (chosen.content_type(), chosen.format().content_type());
            let escaped = format!("{own}; escaping={}", chosen.escaping());
            let text_1_0_0 = format!(
                "text/plain; version=1.0.0; charset=utf-8; escaping={}",
                chosen.escaping()
            );
            prop_assert!(
                ct == own || ct == escaped || (chosen.format() == Format::Text && ct == text_1_0_0),
                "{}",
                ct
            );
        }
    }
    Ok(())
}

/// Pieces real and broken `Accept` headers are made of.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("text/plain".to_owned()),
        Just("application/openmetrics-text".to_owned()),
        Just("application/vnd.google.protobuf".to_owned()),
        Just("*/*".to_owned()),
        Just("*".to_owned()),
        Just("text/*".to_owned()),
        Just("application/*".to_owned()),
        Just("application/json".to_owned()),
        Just(";".to_owned()),
        Just(",".to_owned()),
        Just("=".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just("/".to_owned()),
        Just("ü".to_owned()),
        Just("version=0.0.4".to_owned()),
        Just("version=1.0.0".to_owned()),
        Just("version=0.0.1".to_owned()),
        Just("version=\"1.0.0\"".to_owned()),
        Just("proto=io.prometheus.client.MetricFamily".to_owned()),
        Just("encoding=delimited".to_owned()),
        Just("escaping=allow-utf-8".to_owned()),
        Just("charset=utf-8".to_owned()),
        "q=[0-9.]{0,7}",
        "q=[a-z+-]{0,3}",
        "[ -~]{0,8}",
        "\\PC{0,4}",
    ]
}

fn header() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..24).prop_map(|p| p.concat())
}

/// A weight below 1, written as Prometheus and browsers do.
#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
fn weight_below_one() -> impl Strategy<Value = String> {
    (0u16..1000).prop_map(|t| format!("0.{t:03}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_strings(s in any::<String>()) {
        let got = negotiate(Some(&s));
        prop_assert_eq!(got, negotiate_bytes(Some(s.as_bytes())));
        check_any(got)?;
    }

    #[test]
    fn arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..128)) {
        check_any(negotiate_bytes(Some(&b)))?;
    }

    #[test]
    fn header_like_strings(s in header()) {
        let got = negotiate(Some(&s));
        prop_assert_eq!(got, negotiate_bytes(Some(s.as_bytes())));
        check_any(got)?;
    }

    /// A range naming a compiled-in format exactly at q=1 wins over any
    /// ranges weighted below 1, wherever it stands.
    #[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
    #[test]
    fn full_weight_exact_range_wins(
        others in prop::collection::vec(
            (prop_oneof![
                Just("text/plain"),
                Just("application/openmetrics-text"),
                Just("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"),
                Just("*/*"),
                Just("text/*"),
                Just("application/*"),
                Just("application/json"),
            ], weight_below_one()),
            0..8,
        ),
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
    ) {
        let available = Format::available();
        let format = available[pick.index(available.len())];
        let mut ranges: Vec<String> = others
            .iter()
            .map(|(range, q)| format!("{range};q={q}"))
            .collect();
        ranges.insert(at.index(ranges.len() + 1), format.content_type().to_owned());
        let header = ranges.join(", ");
        let chosen = negotiate(Some(&header)).unwrap();
        prop_assert_eq!(chosen.format(), format, "{}", header);
        prop_assert!(chosen.is_acceptable());
    }
}
