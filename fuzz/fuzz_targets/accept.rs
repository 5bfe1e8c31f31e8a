//! `Accept` negotiation (`hotmetrics::exposition::negotiate` and
//! `negotiate_bytes`). Half the inputs are raw header bytes: negotiation
//! never panics, always picks a compiled-in format, and the `&str`, the
//! `&[u8]` and the `http::HeaderValue` paths agree. The other half build a
//! header of media ranges (every format's media type, wildcards, other
//! types; any parameter name, with the known ones' values, quoted or not,
//! escaped or not; q-values in every spelling; whitespace, case, empty and
//! malformed elements) and compare the choice with a reference reading of
//! the documented rules, written here from the docs of `negotiate`.
//!
//! ```sh
//! cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run accept seeds/accept -- -max_total_time=60
//! ```
#![no_main]

use hotmetrics::Escaping;
use hotmetrics::exposition::{Format, MAX_ACCEPT_BYTES, negotiate, negotiate_bytes};
use hotmetrics_fuzz::{Input, TOKEN_CHARS, ows, quality, recase};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    if input.one_in(2) {
        raw(input.rest());
    } else {
        structured(&mut input);
    }
});

/// Arbitrary bytes: no panic, a compiled-in format, every entry point
/// agreeing.
fn raw(bytes: &[u8]) {
    let chosen = negotiate_bytes(Some(bytes)).expect("formats are compiled in");
    assert!(Format::available().contains(&chosen.format()));
    // The format's Content-Type, maybe with text 1.0.0's version and an
    // escaping scheme.
    let ct = chosen.content_type();
    let own = chosen.format().content_type();
    let text_1_0_0 = "text/plain; version=1.0.0; charset=utf-8";
    assert!(
        ct == own
            || ct == format!("{own}; escaping={}", chosen.escaping())
            || (chosen.format() == Format::Text
                && ct == format!("{text_1_0_0}; escaping={}", chosen.escaping())),
        "{ct:?}"
    );
    if bytes.len() > MAX_ACCEPT_BYTES {
        assert_eq!(Some(chosen), negotiate_bytes(None));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        assert_eq!(negotiate(Some(s)), Some(chosen));
    }
    if let Ok(value) = http::HeaderValue::from_bytes(bytes) {
        assert_eq!(negotiate_bytes(Some(value.as_bytes())), Some(chosen));
    }
}

/// How specifically a range names a format (the order matters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Specificity {
    Any,
    Type,
    Exact,
}

/// One generated, well-formed media range, as the reference reads it.
struct Range {
    ty: String,
    subtype: String,
    /// Parameter names and their unquoted values, in header order.
    params: Vec<(String, String)>,
    q: u16,
}

impl Range {
    fn is(&self, ty: &str, subtype: &str) -> bool {
        self.ty.eq_ignore_ascii_case(ty) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// The last value of parameter `name` (names ignore ASCII case).
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The documented matching rules of `negotiate`: which formats this
    /// range names, and how specifically. Parameters other than `version`,
    /// `proto` and `encoding` (`escaping`, `charset`, anything else) do not
    /// change the match (`escaping` and text's `version=1.0.0` change the
    /// names and the Content-Type: [`reference_escaping`],
    /// [`reference_content_type`]). This function is the one to update when the rules
    /// change.
    fn names(&self, format: Format) -> Option<Specificity> {
        if self.is("*", "*") {
            return Some(Specificity::Any);
        }
        let exact = |yes: bool| yes.then_some(Specificity::Exact);
        let version_in =
            |versions: &[&str]| self.param("version").is_none_or(|v| versions.contains(&v));
        match format {
            Format::Text if self.is("text", "*") => Some(Specificity::Type),
            Format::Text => exact(self.is("text", "plain") && version_in(&["0.0.4", "1.0.0"])),
            Format::OpenMetrics | Format::Protobuf if self.is("application", "*") => {
                Some(Specificity::Type)
            }
            Format::OpenMetrics => {
                exact(self.is("application", "openmetrics-text") && version_in(&["1.0.0", "0.0.1"]))
            }
            Format::Protobuf => exact(
                self.is("application", "vnd.google.protobuf")
                    && self.param("proto") == Some("io.prometheus.client.MetricFamily")
                    && self
                        .param("encoding")
                        .is_some_and(|e| e.eq_ignore_ascii_case("delimited")),
            ),
            _ => None,
        }
    }
}

/// The documented choice: each format's weight comes from its most
/// specific matching ranges (the highest q among them); the highest
/// positive weight wins; ties go to the more specific range, then the
/// earlier range, then the order of `Format::available`. Nothing positive:
/// the first format not refused with q=0, flagged not acceptable. No range
/// at all: the first format, acceptable.
fn reference(ranges: &[Range]) -> (Format, bool, Option<usize>) {
    let available = Format::available();
    if ranges.is_empty() {
        return (available[0], true, None);
    }
    // Per format: (q, specificity, index of the first deciding range).
    let deciding: Vec<Option<(u16, Specificity, usize)>> = available
        .iter()
        .map(|&format| {
            let best = ranges.iter().filter_map(|r| r.names(format)).max()?;
            let deciding = || ranges.iter().filter(move |r| r.names(format) == Some(best));
            let q = deciding().map(|r| r.q).max()?;
            let index = ranges
                .iter()
                .position(|r| r.names(format) == Some(best) && r.q == q)?;
            Some((q, best, index))
        })
        .collect();
    let winner = deciding
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.filter(|d| d.0 > 0).map(|d| (i, d)))
        .max_by_key(|&(i, (q, specificity, index))| {
            (
                q,
                specificity,
                std::cmp::Reverse(index),
                std::cmp::Reverse(i),
            )
        });
    match winner {
        Some((i, (_, _, index))) => (available[i], true, Some(index)),
        None => {
            let refused = |i: usize| deciding[i].is_some_and(|d| d.0 == 0);
            let i = (0..available.len()).find(|&i| !refused(i)).unwrap_or(0);
            (available[i], false, None)
        }
    }
}

/// The scheme a range's `escaping` parameter names, if a known one
/// (compared exactly, as prometheus/common does).
fn range_escaping(range: &Range) -> Option<Escaping> {
    let value = range.param("escaping")?;
    [
        Escaping::AllowUtf8,
        Escaping::Underscores,
        Escaping::Dots,
        Escaping::Values,
    ]
    .into_iter()
    .find(|e| e.to_string() == value)
}

/// The documented escaping of a choice decided by `ranges[index]`: its own
/// known scheme; else the one prometheus/common's `NegotiateAccept` read
/// last before it (ranges by decreasing q, header order among equals):
/// the lowest-weighted of the ranges weighted higher, or as high and
/// earlier, that name one; else none (underscores, not announced).
fn reference_escaping(ranges: &[Range], index: usize) -> Option<Escaping> {
    let deciding = &ranges[index];
    range_escaping(deciding).or_else(|| {
        ranges
            .iter()
            .enumerate()
            .filter(|(i, r)| r.q > deciding.q || (r.q == deciding.q && *i < index))
            .filter_map(|(i, r)| Some(((std::cmp::Reverse(r.q), i), range_escaping(r)?)))
            .max_by_key(|&(order, _)| order)
            .map(|(_, e)| e)
    })
}

/// The documented `Content-Type`: the format's own unless the choice
/// named an escaping scheme or text 1.0.0; then the format's with
/// `version=1.0.0` for text 1.0.0 and `; escaping=<scheme>` appended.
fn reference_content_type(format: Format, escaping: Option<Escaping>, text_1_0_0: bool) -> String {
    if escaping.is_none() && !text_1_0_0 {
        return format.content_type().to_owned();
    }
    let base = if format == Format::Text && text_1_0_0 {
        "text/plain; version=1.0.0; charset=utf-8"
    } else {
        format.content_type()
    };
    format!("{base}; escaping={}", escaping.unwrap_or_default())
}

/// A parameter value: (as written, unquoted).
fn value(input: &mut Input<'_>, known: &[&str]) -> (String, String) {
    let plain = if input.one_in(4) {
        // Quoted strings can hold what tokens cannot.
        let alphabet: &[u8] = if input.one_in(2) {
            TOKEN_CHARS
        } else {
            b"a.0-9 ,;=/\"\\()\t"
        };
        input.word(alphabet, 12)
    } else {
        input.pick(known).to_owned()
    };
    let is_token = !plain.is_empty() && plain.bytes().all(|b| TOKEN_CHARS.contains(&b));
    if is_token && !input.one_in(4) {
        return (plain.clone(), plain);
    }
    // A quoted string: `"` and `\` escaped, any other character maybe.
    let mut written = String::from("\"");
    for c in plain.chars() {
        if c == '"' || c == '\\' || input.one_in(8) {
            written.push('\\');
        }
        written.push(c);
    }
    written.push('"');
    (written, plain)
}

/// Elements the grammar must skip (with no quote, which could swallow the
/// next element).
const MALFORMED: &[&str] = &[
    "",
    " ",
    "text",
    "text/",
    "/plain",
    "*/plain",
    "te xt/plain",
    "text/plain;q=abc",
    "text/plain;q=1.5",
    "text/plain;q=.5",
    "text/plain;q=-0",
    "application/openmetrics-text;q=2",
    "text/plain;version",
    "text/plain;=1",
    "text/plain;version=a b",
    "t\u{eb}xt/plain",
    "text/plain;v=\u{e9}",
    "*/*;q=1e0",
];

/// The media types ranges are made of; `None` is a lone `*`.
const TYPES: &[Option<(&str, &str)>] = &[
    Some(("text", "plain")),
    Some(("application", "openmetrics-text")),
    Some(("application", "vnd.google.protobuf")),
    Some(("text", "*")),
    Some(("application", "*")),
    Some(("*", "*")),
    None,
    Some(("application", "json")),
    Some(("text", "html")),
    Some(("application", "openmetrics")),
];

/// Parameters with the values that mean something to some format, and a
/// name the input makes up.
const PARAMS: &[(&str, &[&str])] = &[
    (
        "version",
        &["0.0.4", "1.0.0", "0.0.1", "2.0.0", "0.0.4 ", ""],
    ),
    (
        "escaping",
        &["allow-utf-8", "underscores", "dots", "values", "unknown"],
    ),
    (
        "proto",
        &[
            "io.prometheus.client.MetricFamily",
            "io.prometheus.client.metricfamily",
            "other",
        ],
    ),
    (
        "encoding",
        &["delimited", "Delimited", "text", "compact-text"],
    ),
    ("charset", &["utf-8", "UTF-8", "latin1"]),
];

fn range(input: &mut Input<'_>, header: &mut String) -> Range {
    let media = input.pick(TYPES);
    let (ty, subtype) = media.unwrap_or(("*", "*"));
    let (ty, subtype) = (recase(input, ty), recase(input, subtype));
    header.push_str(ows(input));
    match media {
        Some(_) => {
            header.push_str(&ty);
            header.push_str(ows(input));
            header.push('/');
            header.push_str(ows(input));
            header.push_str(&subtype);
        }
        None => header.push('*'),
    }
    let mut params = Vec::new();
    let mut q = 1000;
    let count = input.below(5);
    let q_at = input.below(count + 2);
    for i in 0..=count {
        header.push_str(ows(input));
        if i == q_at {
            let (written, weight) = quality(input);
            header.push(';');
            header.push_str(ows(input));
            header.push_str(input.pick(&["q", "Q"]));
            header.push('=');
            header.push_str(&written);
            q = weight;
            continue;
        }
        if i == count {
            break;
        }
        if input.one_in(8) {
            header.push(';'); // an empty parameter
            continue;
        }
        let (name, known) = if input.one_in(6) {
            let mut name = input.word(TOKEN_CHARS, 8);
            if name.is_empty() || name.eq_ignore_ascii_case("q") {
                name.push('x');
            }
            (name, &["1", "a"][..])
        } else {
            let (name, known) = input.pick(PARAMS);
            (recase(input, name), known)
        };
        let (written, plain) = value(input, known);
        header.push(';');
        header.push_str(ows(input));
        header.push_str(&name);
        header.push_str(ows(input));
        header.push('=');
        header.push_str(ows(input));
        header.push_str(&written);
        params.push((name, plain));
    }
    header.push_str(ows(input));
    Range {
        ty,
        subtype,
        params,
        q,
    }
}

/// A generated header compared with the reference reading.
fn structured(input: &mut Input<'_>) {
    let mut header = String::new();
    let mut ranges = Vec::new();
    let count = input.below(8);
    for i in 0..count {
        if i > 0 {
            header.push(',');
        }
        if input.one_in(6) {
            header.push_str(input.pick(MALFORMED));
            header.push(',');
        }
        ranges.push(range(input, &mut header));
    }
    let chosen = negotiate(Some(&header)).expect("formats are compiled in");
    raw(header.as_bytes());
    if header.len() > MAX_ACCEPT_BYTES {
        return;
    }
    let (format, acceptable, deciding) = reference(&ranges);
    assert_eq!(
        (chosen.format(), chosen.is_acceptable()),
        (format, acceptable),
        "{header:?}"
    );
    let escaping = deciding.and_then(|i| reference_escaping(&ranges, i));
    let text_1_0_0 = deciding.is_some_and(|i| {
        let r = &ranges[i];
        r.is("text", "plain") && r.param("version") == Some("1.0.0")
    });
    assert_eq!(
        chosen.escaping(),
        escaping.unwrap_or_default(),
        "{header:?}"
    );
    assert_eq!(
        chosen.content_type(),
        reference_content_type(format, escaping, text_1_0_0),
        "{header:?}"
    );
    // The plainest reading: one range, with q > 0, naming a format: a
    // format it names wins.
    if let [only] = &ranges[..]
        && only.q > 0
        && Format::available().iter().any(|&f| only.names(f).is_some())
    {
        assert!(only.names(chosen.format()).is_some(), "{header:?}");
        assert!(chosen.is_acceptable(), "{header:?}");
    }
}
