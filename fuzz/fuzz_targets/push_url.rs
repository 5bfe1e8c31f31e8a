//! The Pushgateway group URL of `hotmetrics::push::PusherBuilder::build`
//! (read back with `Pusher::url`; building makes no network call), for
//! arbitrary gateway URLs, job names and grouping labels: empty values,
//! `/`, `.` and `..`, `%` sequences, controls, U+FFFD from invalid UTF-8,
//! long values that need base64 padding.
//!
//! `build` returns the error the inputs call for (a gateway URL refused as
//! such, an empty job, a bad, reserved or repeated label name) or a URL
//! that the `url` crate parses to itself, under the gateway's origin and
//! path prefix, whose path decodes segment by segment, as the Pushgateway
//! does (percent-decoding; base64url, `=` for the empty value, after a
//! `<name>@base64` segment), to exactly `metrics/job/<job>{/<name>/<value>}`
//! in the order given; a plain segment is never empty, `.` or `..` (the
//! gateway's router would drop or clean it). `https` gateways are left out:
//! building one loads the system's root certificates, which takes far
//! longer than the URL and changes nothing in it.
//!
//! ```sh
//! cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run push_url seeds/push_url -- -max_total_time=60
//! ```
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use hotmetrics::push::{Error, Pusher};
use hotmetrics_fuzz::{Input, LABEL_CHARS};
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use url::Url;

/// Values the Pushgateway's URL rules single out.
const SPECIAL: &[&str] = &[
    "", "/", ".", "..", "...", "a/b", "%2F", "%2e", "%", "=", "@base64", " ", "a b", "é", "\u{0}",
    "\u{fffd}", "?#&", "\\", "//", "/a/",
];

/// A string from the input: special, arbitrary (lossy UTF-8), or long.
fn string(input: &mut Input<'_>) -> String {
    match input.below(4) {
        0 => input.pick(SPECIAL).to_owned(),
        1 => input.pick(SPECIAL).repeat(input.below(9)),
        _ => input.text(40),
    }
}

/// A grouping label name: mostly valid, sometimes not.
fn label_name(input: &mut Input<'_>) -> String {
    match input.below(8) {
        0 => input.text(6),
        1 => input
            .pick(&["job", "__x", "1a", "a-b", "", "le", "instance"])
            .to_owned(),
        _ => {
            let mut name = input.word(LABEL_CHARS, 10);
            if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
                name.insert(0, 'l');
            }
            name
        }
    }
}

/// A gateway URL: mostly `http://host[:port][/prefix]` with an arbitrary
/// prefix, sometimes arbitrary text.
fn gateway(input: &mut Input<'_>) -> String {
    if input.one_in(8) {
        return input.text(40);
    }
    let host = input.pick(&["127.0.0.1", "gw", "[::1]", "bücher.example", "GW.Example"]);
    let port = input.pick(&["", ":9091", ":80", ":1", ":65535"]);
    let mut url = format!("{}://{host}{port}", input.pick(&["http", "HTTP", "Http"]));
    if input.one_in(2) {
        url.push('/');
        url.push_str(&input.text(20).replace(['?', '#'], ""));
    }
    url
}

/// Whether `name` is a label name the builder must accept in a key.
fn valid_label(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.starts_with("__")
        && name != "job"
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let base = gateway(&mut input);
    let job = string(&mut input);
    let mut labels = Vec::new();
    for _ in 0..input.below(5) {
        labels.push((label_name(&mut input), string(&mut input)));
    }
    let parsed_base = Url::parse(&base);
    if parsed_base.as_ref().is_ok_and(|u| u.scheme() == "https") {
        return;
    }
    let mut builder = Pusher::builder(base.as_str(), job.as_str());
    for (name, value) in &labels {
        builder = builder.grouping(name.as_str(), value.as_str());
    }
    let pusher = match builder.build() {
        Ok(pusher) => pusher,
        Err(Error::InvalidUrl { url, reason }) => {
            assert_eq!(url, base, "only the gateway URL may be refused: {reason}");
            return;
        }
        Err(Error::EmptyJob) => {
            assert!(job.is_empty());
            return;
        }
        Err(Error::InvalidGroupingLabel { name, .. }) => {
            let repeated = labels.iter().filter(|(n, _)| *n == name).count() > 1;
            assert!(!valid_label(&name) || repeated, "{name:?} refused");
            return;
        }
        Err(other) => panic!("building makes no such error: {other:?}"),
    };
    assert!(!job.is_empty());
    for (i, (name, _)) in labels.iter().enumerate() {
        assert!(valid_label(name), "{name:?} accepted");
        assert!(labels[..i].iter().all(|(n, _)| n != name), "{name:?} twice");
    }

    let base = parsed_base.expect("an accepted gateway URL parses");
    let url = Url::parse(pusher.url()).expect("the group URL parses");
    assert_eq!(
        url.as_str(),
        pusher.url(),
        "the url crate reads the URL as sent"
    );
    assert_eq!(url.origin(), base.origin());
    assert!(url.query().is_none() && url.fragment().is_none());
    let prefix = base.path().trim_end_matches('/');
    let group = url
        .path()
        .strip_prefix(prefix)
        .and_then(|p| p.strip_prefix("/metrics/"))
        .unwrap_or_else(|| panic!("{} is not under {prefix}/metrics/", url.path()));

    let mut segments = group.split('/');
    let mut decoded = Vec::new();
    while let Some(name) = segments.next() {
        let value = segments
            .next()
            .unwrap_or_else(|| panic!("{name:?} has no value in {group}"));
        let value = match name.strip_suffix("@base64") {
            Some(name) => {
                let bytes = match value {
                    "=" => Vec::new(),
                    v => URL_SAFE.decode(v).expect("base64url with padding"),
                };
                (name, String::from_utf8(bytes).expect("a UTF-8 value"))
            }
            None => {
                assert!(!matches!(value, "" | "." | ".."), "plain {value:?}");
                let v = percent_decode_str(value)
                    .decode_utf8()
                    .expect("a UTF-8 value");
                (name, v.into_owned())
            }
        };
        decoded.push(value);
    }
    let expected: Vec<(&str, String)> = std::iter::once(("job", job.clone()))
        .chain(labels.iter().map(|(n, v)| (n.as_str(), v.clone())))
        .collect();
    assert_eq!(decoded, expected, "{}", pusher.url());
});
