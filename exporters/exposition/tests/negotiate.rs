//! Accept-header negotiation, under whatever features are compiled in.
//!
//! Expectations are written as "the first compiled-in of these formats";
//! run with `--no-default-features --features ...` in every combination.

use hotmetrics_core::Escaping;
use hotmetrics_exposition::{Format, Negotiated, negotiate, negotiate_bytes};

/// A format by name, compiled in or not.
#[derive(Debug, Clone, Copy, PartialEq)]
enum F {
    Text,
    Om,
    Pb,
}
use F::{Om, Pb, Text};

const ALL: &[F] = &[Text, Om, Pb];

/// The format `f` names, if it is compiled in.
#[allow(unreachable_code)]
fn compiled(f: F) -> Option<Format> {
    match f {
        Text => {
            #[cfg(feature = "text")]
            return Some(Format::Text);
        }
        Om => {
            #[cfg(feature = "openmetrics")]
            return Some(Format::OpenMetrics);
        }
        Pb => {
            #[cfg(feature = "protobuf")]
            return Some(Format::Protobuf);
        }
    }
    None
}

fn any_compiled() -> bool {
    !Format::available().is_empty()
}

/// `header` must give the first compiled-in format of `wanted`, acceptable;
/// if none is compiled in, the fallback: the first compiled-in format not
/// in `refused` (else the first one), not acceptable.
#[track_caller]
fn check_refusing(header: Option<&str>, wanted: &[F], refused: &[F]) {
    let got = negotiate(header);
    assert_eq!(negotiate_bytes(header.map(str::as_bytes)), got);
    if !any_compiled() {
        assert_eq!(got, None, "{header:?}");
        return;
    }
    let got = got.unwrap();
    let media_type = |ct: &'static str| ct.split(';').next().unwrap_or_default();
    assert_eq!(
        media_type(got.content_type()),
        media_type(got.format().content_type())
    );
    assert!(Format::available().contains(&got.format()));
    let want = match wanted.iter().find_map(|&f| compiled(f)) {
        Some(format) => (format, true),
        None => {
            let fallback = ALL
                .iter()
                .filter(|f| !refused.contains(f))
                .find_map(|&f| compiled(f))
                .unwrap_or(Format::available()[0]);
            (fallback, false)
        }
    };
    assert_eq!(
        (got.format(), got.is_acceptable()),
        want,
        "Accept: {header:?}"
    );
}

#[track_caller]
fn check(header: &str, wanted: &[F]) {
    check_refusing(Some(header), wanted, &[]);
}

const PROMETHEUS_2_42: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,\
    text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const PROMETHEUS_2_42_NATIVE: &str = "application/vnd.google.protobuf;\
    proto=io.prometheus.client.MetricFamily;encoding=delimited,\
    application/openmetrics-text;version=1.0.0;q=0.8,\
    application/openmetrics-text;version=0.0.1;q=0.75,\
    text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
    application/openmetrics-text;version=0.0.1;q=0.5,\
    text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
    text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
/// Prometheus 3's `DefaultProtoFirstScrapeProtocols` (prometheus/prometheus
/// `config/config.go`, `acceptHeader` in `scrape/scrape.go`): protobuf is
/// asked for without an escaping parameter.
const PROMETHEUS_3_PROTO_FIRST: &str = "application/vnd.google.protobuf;\
    proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,\
    application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
    application/openmetrics-text;version=0.0.1;q=0.4,\
    text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,\
    text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
const PROTOBUF: &str =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

#[test]
fn what_prometheus_sends() {
    // `*/*` at the end: whatever is compiled in, in our order of preference.
    check(PROMETHEUS_2_42, &[Om, Text, Pb]);
    check(PROMETHEUS_2_42_NATIVE, &[Pb, Om, Text]);
    check(PROMETHEUS_3, &[Om, Text, Pb]);
    check(PROMETHEUS_3_PROTO_FIRST, &[Pb, Om, Text]);
}

/// The escaping each Prometheus gets, and the Content-Type saying it.
#[test]
fn escaping_prometheus_asks_for() {
    if !any_compiled() {
        return;
    }
    let chosen = |h| negotiate(h).unwrap();
    // Prometheus 2 and no header: underscores, today's Content-Type.
    for header in [Some(PROMETHEUS_2_42), None, Some("*/*")] {
        assert_eq!(chosen(header).escaping(), Escaping::Underscores);
        assert_eq!(
            chosen(header).content_type(),
            chosen(header).format().content_type()
        );
    }
    // Prometheus 3 asks for UTF-8 in both text formats...
    assert_eq!(chosen(Some(PROMETHEUS_3)).escaping(), Escaping::AllowUtf8);
    #[cfg(feature = "openmetrics")]
    assert_eq!(
        chosen(Some(PROMETHEUS_3)).content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    );
    // ...but not of protobuf, which prometheus/common then escapes with
    // underscores.
    #[cfg(feature = "protobuf")]
    {
        let pb = chosen(Some(PROMETHEUS_3_PROTO_FIRST));
        assert_eq!(pb.escaping(), Escaping::Underscores);
        assert_eq!(pb.content_type(), Format::Protobuf.content_type());
    }
}

#[test]
fn exact_content_types_for_prometheus() {
    #[cfg(feature = "openmetrics")]
    assert_eq!(
        negotiate(Some(PROMETHEUS_2_42)).unwrap().content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    #[cfg(feature = "protobuf")]
    assert_eq!(
        negotiate(Some(PROMETHEUS_2_42_NATIVE))
            .unwrap()
            .content_type(),
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    );
    #[cfg(all(feature = "text", not(feature = "openmetrics")))]
    assert_eq!(
        negotiate(Some(PROMETHEUS_3)).unwrap().content_type(),
        "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    );
}

/// What prometheus/common's `NegotiateAccept` answers text with: the
/// escaping asked for (allow-utf-8 of text 0.0.4 too), appended as
/// `Format.WithEscapingScheme` writes it.
#[test]
#[cfg(feature = "text")]
fn text_content_types_carry_the_escaping() {
    for (header, escaping, content_type) in [
        (
            "text/plain;version=1.0.0;escaping=allow-utf-8",
            Escaping::AllowUtf8,
            "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
        ),
        (
            "text/plain;version=1.0.0",
            Escaping::Underscores,
            "text/plain; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
        (
            "text/plain;version=0.0.4;escaping=allow-utf-8",
            Escaping::AllowUtf8,
            "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8",
        ),
        (
            "text/plain;escaping=dots",
            Escaping::Dots,
            "text/plain; version=0.0.4; charset=utf-8; escaping=dots",
        ),
        (
            "text/plain;version=1.0.0;escaping=values",
            Escaping::Values,
            "text/plain; version=1.0.0; charset=utf-8; escaping=values",
        ),
        (
            "text/plain;version=0.0.4",
            Escaping::Underscores,
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        // An unknown scheme is ignored, as prometheus/common ignores it.
        (
            "text/plain;version=0.0.4;escaping=bogus",
            Escaping::Underscores,
            "text/plain; version=0.0.4; charset=utf-8",
        ),
    ] {
        let chosen = negotiate(Some(header)).unwrap();
        assert_eq!(chosen.format(), Format::Text, "{header}");
        assert_eq!(chosen.escaping(), escaping, "{header}");
        assert_eq!(chosen.content_type(), content_type, "{header}");
    }
    // The range that decides text's weight decides its escaping.
    let chosen = negotiate(Some(
        "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3",
    ))
    .unwrap();
    assert_eq!(chosen.escaping(), Escaping::AllowUtf8);
    let chosen = negotiate(Some(
        "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.4",
    ))
    .unwrap();
    assert_eq!(chosen.escaping(), Escaping::Underscores);
    assert_eq!(
        chosen.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
}

#[test]
fn our_content_types_ask_for_themselves() {
    for &format in Format::available() {
        let chosen = negotiate(Some(format.content_type())).unwrap();
        assert_eq!(chosen.format(), format);
        assert!(chosen.is_acceptable());
    }
}

#[test]
fn weights_order_the_choice() {
    check(
        "text/plain;q=0.2, application/openmetrics-text;q=0.9",
        &[Om, Text],
    );
    check(
        "text/plain;q=0.9, application/openmetrics-text;q=0.2",
        &[Text, Om],
    );
    check(&format!("text/plain;q=0.5,{PROTOBUF};q=0.51"), &[Pb, Text]);
    check(
        "application/openmetrics-text;q=0.001, text/plain;q=0.0001",
        &[Om, Text],
    );
    // A range's q, not its position, wins.
    check(
        &format!("*/*;q=0.1,text/plain;q=0.3,{PROTOBUF};q=0.4"),
        &[Pb, Text, Om],
    );
}

#[test]
fn ties_go_to_the_header_order() {
    check("text/plain, application/openmetrics-text", &[Text, Om]);
    check("application/openmetrics-text, text/plain", &[Om, Text]);
    check(&format!("text/plain;q=0.5, {PROTOBUF};q=0.5"), &[Text, Pb]);
    check(&format!("{PROTOBUF};q=0.5, text/plain;q=0.5"), &[Pb, Text]);
    check(
        "application/openmetrics-text;q=1.0, text/plain;q=1",
        &[Om, Text],
    );
}

#[test]
fn ties_go_to_the_more_specific_range_first() {
    check("*/*, application/openmetrics-text", &[Om, Text, Pb]);
    check(&format!("*/*, {PROTOBUF}"), &[Pb, Text, Om]);
    check("text/*, application/openmetrics-text", &[Om, Text]);
    check("application/*, text/plain", &[Text, Om, Pb]);
}

#[test]
fn wildcards() {
    check("*/*", &[Text, Om, Pb]);
    check("*", &[Text, Om, Pb]); // old Java clients
    check("*; q=0.2", &[Text, Om, Pb]);
    check("text/*", &[Text]);
    check("application/*", &[Om, Pb]);
    check("application/*;q=0.5, text/*;q=0.4", &[Om, Pb, Text]);
    check("*/*;q=0.1, text/*;q=0.2", &[Text, Om, Pb]);
    check("*/*;q=0.1, application/*;q=0.2", &[Om, Pb, Text]);
}

#[test]
fn no_usable_header_means_text_first() {
    check_refusing(None, ALL, &[]);
    for header in [
        "",
        "   ",
        "\t",
        ",",
        ";;;,,,",
        ";q=0.5",
        "text/plain;q=abc",
        "text/plain;q=2",
        "text/plain;q=-1",
        "text/plain;q=",
        "tëxt/plain",
        "text/plaïn",
        "\u{1F600}/\u{1F600}",
        "text/plain;version=\"0.0.4",
        "*/plain",
        "/",
        "text/",
        "==;q=;=",
    ] {
        check(header, ALL);
    }
}

#[test]
fn only_the_broken_ranges_are_skipped() {
    check(
        "text/plain;q=abc, application/openmetrics-text;q=0.1",
        &[Om],
    );
    check("tëxt/plain, application/openmetrics-text;q=0.1", &[Om]);
    check(";;;,,,application/openmetrics-text,,,", &[Om]);
    // Quoted values may hold anything, commas included.
    check(
        "application/json;x=\"ü, text/plain\", application/openmetrics-text",
        &[Om],
    );
    check("text/plain;charset=\"ü\"", &[Text]);
}

#[test]
fn bytes_that_are_not_utf8() {
    let got = negotiate_bytes(Some(b"\xff\xfe/\x80, application/openmetrics-text;q=0.5"));
    let want = negotiate(Some("application/openmetrics-text;q=0.5"));
    assert_eq!(got, want);
    let got = negotiate_bytes(Some(b"text/plain;x=\"\xff\""));
    assert_eq!(got, negotiate(Some("text/plain")));
}

#[test]
fn text_versions() {
    check("text/plain", &[Text]);
    check("text/plain;version=0.0.4", &[Text]);
    check("text/plain;version=\"0.0.4\"", &[Text]);
    check("text/plain; version=0.0.4; charset=utf-8", &[Text]);
    check("text/plain;version=1.0.0", &[Text]);
    check("text/plain;version=1.0.0;escaping=allow-utf-8", &[Text]);
    check("text/plain;version=0.0.5", &[]);
    check("text/plain;version=", &[Text, Om, Pb]); // malformed: skipped
    check("text/plain;version=0.0.5, */*;q=0.1", &[Text, Om, Pb]);
    check("text/html", &[]);
}

#[test]
fn openmetrics_versions() {
    check("application/openmetrics-text", &[Om]);
    check("application/openmetrics-text;version=1.0.0", &[Om]);
    check("application/openmetrics-text;version=0.0.1", &[Om]);
    check("application/openmetrics-text;version=2.0.0", &[]);
    check("application/openmetrics-text;version=1.0", &[]);
    check(
        "application/openmetrics-text;version=2.0.0, text/plain;q=0.1",
        &[Text],
    );
    check(
        "application/openmetrics-text;version=2.0.0, */*;q=0.1",
        &[Text, Om, Pb],
    );
    #[cfg(feature = "openmetrics")]
    assert_eq!(
        negotiate(Some("application/openmetrics-text;version=0.0.1"))
            .unwrap()
            .content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        "0.0.1 is served as 1.0.0"
    );
}

#[test]
fn escaping_never_changes_the_choice() {
    for escaping in [
        "allow-utf-8",
        "underscores",
        "dots",
        "values",
        "bogus",
        "\"dots\"",
    ] {
        check(
            &format!("application/openmetrics-text;version=1.0.0;escaping={escaping}"),
            &[Om],
        );
        check(
            &format!("text/plain;version=1.0.0;escaping={escaping}"),
            &[Text],
        );
        check(&format!("{PROTOBUF};escaping={escaping}"), &[Pb]);
        let named = Escaping::from_param(escaping);
        for header in [
            format!("application/openmetrics-text;version=1.0.0;escaping={escaping}"),
            format!("text/plain;version=1.0.0;escaping={escaping}"),
            format!("{PROTOBUF};escaping={escaping}"),
        ] {
            if let Some(chosen) = negotiate(Some(&header)).filter(|c| c.is_acceptable()) {
                // `"dots"` (quoted) is the scheme `dots`.
                let want = named.unwrap_or(if escaping == "\"dots\"" {
                    Escaping::Dots
                } else {
                    Escaping::Underscores
                });
                assert_eq!(chosen.escaping(), want, "{header}");
            }
        }
    }
}

#[test]
fn protobuf_needs_both_parameters() {
    check(PROTOBUF, &[Pb]);
    check(
        "application/vnd.google.protobuf;encoding=delimited;proto=io.prometheus.client.MetricFamily",
        &[Pb],
    );
    check(
        "application/vnd.google.protobuf;proto=\"io.prometheus.client.MetricFamily\";encoding=\"delimited\"",
        &[Pb],
    );
    for wrong in [
        "application/vnd.google.protobuf",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily",
        "application/vnd.google.protobuf;encoding=delimited",
        "application/vnd.google.protobuf;proto=io.prometheus.client.Metric;encoding=delimited",
        "application/vnd.google.protobuf;proto=io.prometheus.client.metricfamily;encoding=delimited",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text",
        "application/x-protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
    ] {
        check(wrong, &[]);
        check(&format!("{wrong}, text/plain;q=0.1"), &[Text]);
    }
}

#[test]
fn names_are_case_insensitive() {
    check("TEXT/PLAIN", &[Text]);
    check("Text/Plain;Version=0.0.4;Q=0.5", &[Text]);
    check("APPLICATION/OpenMetrics-Text; VERSION=1.0.0", &[Om]);
    check(
        "Application/Vnd.Google.Protobuf;PROTO=io.prometheus.client.MetricFamily;Encoding=DELIMITED",
        &[Pb],
    );
}

#[test]
fn whitespace_is_skipped() {
    check(
        " application/openmetrics-text ; version=1.0.0 ; q=0.5 ,\ttext/plain;q=0.4 ",
        &[Om, Text],
    );
    check(
        "text/plain ;\tversion = 0.0.4 ; q = 0.3 , application/openmetrics-text;q=0.2",
        &[Text, Om],
    );
    check("text / plain", &[Text]);
}

#[test]
fn q_zero_is_not_acceptable() {
    check_refusing(Some("text/plain;q=0"), &[], &[Text]);
    check_refusing(Some("text/plain;q=0, */*"), &[Om, Pb], &[Text]);
    check_refusing(Some("text/plain;q=0.000, */*;q=0.1"), &[Om, Pb], &[Text]);
    check_refusing(Some("*/*;q=0, text/plain"), &[Text], &[Om, Pb]);
    check_refusing(Some("*/*;q=0"), &[], ALL);
    check_refusing(
        Some("application/openmetrics-text;q=0, text/plain;q=0, */*"),
        &[Pb],
        &[Om, Text],
    );
    check_refusing(Some("application/*;q=0, */*"), &[Text], &[Om, Pb]);
    check_refusing(
        Some(&format!("{PROTOBUF};q=0, application/*")),
        &[Om],
        &[Pb],
    );
    // Refusing a version we don't serve refuses nothing.
    check("application/openmetrics-text;version=2.0.0;q=0, */*", ALL);
    // A weight from the most specific range: text is last, not first.
    check("text/plain;q=0.1, */*", &[Om, Pb, Text]);
    // Among equally specific ranges, the highest weight counts.
    check(
        "text/plain;version=0.0.4;q=0, text/plain;version=1.0.0;q=0.5",
        &[Text],
    );
}

#[test]
fn nothing_we_serve() {
    check("application/json", &[]);
    check("application/json, text/html;q=0.9", &[]);
    check_refusing(Some("application/json, text/plain;q=0"), &[], &[Text]);
}

#[test]
fn negotiated_is_plain_data() {
    fn assert_traits<T: Copy + Eq + std::hash::Hash + std::fmt::Debug + Send + Sync>() {}
    assert_traits::<Negotiated>();
    assert_traits::<Format>();
}

/// A header past the bound counts as absent, so a crafted one (an unclosed
/// quote followed by thousands of `",` pairs, whose parse is quadratic) is
/// never parsed; a header just under the bound still is.
#[test]
#[cfg(all(feature = "text", feature = "openmetrics"))]
fn an_overlong_accept_header_counts_as_absent() {
    use hotmetrics_exposition::MAX_ACCEPT_BYTES;
    let mut crafted = String::from("application/openmetrics-text;version=1.0.0,x=\"");
    while crafted.len() <= MAX_ACCEPT_BYTES {
        crafted.push_str("\\\",");
    }
    let absent = negotiate(None).unwrap();
    let got = negotiate(Some(&crafted)).unwrap();
    assert_eq!(got.format(), absent.format());
    assert_eq!(got.content_type(), absent.content_type());
    let mut padded = String::from("application/openmetrics-text;version=1.0.0");
    padded.push_str(&",text/plain;q=0.1".repeat(200));
    assert!(padded.len() <= MAX_ACCEPT_BYTES);
    assert_eq!(
        negotiate(Some(&padded)).unwrap().format(),
        Format::OpenMetrics
    );
}

/// Every format's Content-Type with an escaping asked for is its own with
/// `; escaping=<scheme>` appended.
#[test]
fn escaped_content_types_extend_the_formats_own() {
    for &format in Format::available() {
        for escaping in Escaping::ALL {
            let header = format!("{};escaping={escaping}", format.content_type());
            let chosen = negotiate(Some(&header)).unwrap();
            assert_eq!(chosen.format(), format, "{header}");
            assert_eq!(
                chosen.content_type(),
                format!("{}; escaping={escaping}", format.content_type())
            );
        }
    }
}
