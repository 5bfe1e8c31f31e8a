//! How names that are not legacy-valid are written for a scraper: the
//! escaping schemes of Prometheus 3 (prometheus/common `model.EscapeName`).

use std::fmt;

/// Whether `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`, the legacy metric
/// name grammar every Prometheus parses unquoted.
///
/// ```
/// use hotmetrics_core::is_legacy_metric_name;
/// assert!(is_legacy_metric_name("http_requests:rate5m"));
/// assert!(!is_legacy_metric_name("http.server.duration"));
/// ```
pub fn is_legacy_metric_name(name: &str) -> bool {
    is_legacy(name.as_bytes(), METRIC_START, METRIC_CONTINUE)
}

/// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`, the legacy label name
/// grammar (a `__` prefix included: the grammar allows it, registration
/// does not).
///
/// ```
/// use hotmetrics_core::is_legacy_label_name;
/// assert!(is_legacy_label_name("method"));
/// assert!(!is_legacy_label_name("http.method"));
/// assert!(!is_legacy_label_name("a:b"));
/// ```
pub fn is_legacy_label_name(name: &str) -> bool {
    is_legacy(name.as_bytes(), LABEL_START, LABEL_CONTINUE)
}

/// [`LEGACY`] bits: the byte may start a legacy label name, continue one,
/// start a legacy metric name, continue one.
const LABEL_START: u8 = 1;
const LABEL_CONTINUE: u8 = 2;
const METRIC_START: u8 = 4;
const METRIC_CONTINUE: u8 = 8;

/// What each byte may be in a legacy name: every legacy character is
/// ASCII, and no byte of a multi-byte character is, so names are checked
/// byte by byte (every series label on every text scrape, exemplar labels
/// on every `*_with_exemplar` call).
static LEGACY: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() || c == b'_' {
            LABEL_START | LABEL_CONTINUE | METRIC_START | METRIC_CONTINUE
        } else if c.is_ascii_digit() {
            LABEL_CONTINUE | METRIC_CONTINUE
        } else if c == b':' {
            METRIC_START | METRIC_CONTINUE
        } else {
            0
        };
        b += 1;
    }
    table
};

/// Whether `name` is non-empty, its first byte has the `start` bit and
/// every other the `continue_` bit: one table load and an `and` per byte,
/// no branch (names are almost always valid, so nothing is saved by
/// stopping early).
#[inline]
fn is_legacy(name: &[u8], start: u8, continue_: u8) -> bool {
    match name.split_first() {
        Some((&first, rest)) => rest
            .iter()
            .fold(LEGACY[usize::from(first)] & start != 0, |ok, &b| {
                ok & (LEGACY[usize::from(b)] & continue_ != 0)
            }),
        None => false,
    }
}

/// Metric names may hold `:`, label names may not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Metric,
    Label,
}

/// prometheus/common's `isValidLegacyRune`, for the name's kind.
fn is_legacy_rune(c: char, i: usize, kind: Kind) -> bool {
    c.is_ascii_alphabetic()
        || c == '_'
        || (c == ':' && kind == Kind::Metric)
        || (c.is_ascii_digit() && i > 0)
}

/// How a scrape wants names that are not legacy-valid written: the
/// `escaping` parameter of its `Accept` header (Prometheus 3,
/// prometheus/common `model.EscapingScheme`).
///
/// Names that are legacy-valid (every name of a
/// [`NameValidation::Legacy`](crate::NameValidation::Legacy) registry) are
/// written unchanged in every scheme. Others:
///
/// | scheme | `my.metric` | `http.method` | `花火` |
/// |---|---|---|---|
/// | [`AllowUtf8`](Self::AllowUtf8) | `"my.metric"`, quoted by the format | `"http.method"` | `"花火"` |
/// | [`Underscores`](Self::Underscores) (the default) | `my_metric` | `http_method` | `__` |
/// | [`Dots`](Self::Dots) | `my_dot_metric` | `http_dot_method` | `____` |
/// | [`Values`](Self::Values) | `U__my_2e_metric` | `U__http_2e_method` | `U___82b1__706b_` |
///
/// The unit escaped is the family name as the format's metadata lines
/// write it (`my.metric_total` for a counter in text and protobuf,
/// `my.metric` in OpenMetrics); sample suffixes (`_bucket`, `_sum`,
/// `_count`, `_created`) are appended to the escaped name, as
/// prometheus/common's writers append them to the escaped family name.
/// Label names never keep a `:` (prometheus/common escapes label names
/// with the metric-name rules, which let `a:b` through unquoted; no
/// Prometheus parses that).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Escaping {
    /// `allow-utf-8`: names are written as they are; the format quotes
    /// those that are not legacy-valid.
    AllowUtf8,
    /// `underscores`: every character a legacy name cannot hold becomes
    /// `_`. The scheme of a scrape that names none, as in
    /// prometheus/common (`model.NameEscapingScheme`).
    #[default]
    Underscores,
    /// `dots`: `.` becomes `_dot_`, `_` becomes `__`, any other character
    /// a legacy name cannot hold `__`.
    Dots,
    /// `values`: `U__` then the name with `_` doubled and every character a
    /// legacy name cannot hold written as `_<hex code point>_`.
    Values,
}

impl Escaping {
    /// Every scheme.
    pub const ALL: [Escaping; 4] = [
        Escaping::AllowUtf8,
        Escaping::Underscores,
        Escaping::Dots,
        Escaping::Values,
    ];

    /// The value of the `escaping` parameter naming this scheme:
    /// `allow-utf-8`, `underscores`, `dots`, `values`.
    pub const fn param(self) -> &'static str {
        match self {
            Escaping::AllowUtf8 => "allow-utf-8",
            Escaping::Underscores => "underscores",
            Escaping::Dots => "dots",
            Escaping::Values => "values",
        }
    }

    /// The scheme an `escaping` parameter value names (exactly, case
    /// included, as prometheus/common compares it); `None` for any other
    /// value.
    ///
    /// ```
    /// use hotmetrics_core::Escaping;
    /// assert_eq!(Escaping::from_param("allow-utf-8"), Some(Escaping::AllowUtf8));
    /// assert_eq!(Escaping::from_param("Dots"), None);
    /// ```
    pub fn from_param(value: &str) -> Option<Escaping> {
        Self::ALL.into_iter().find(|e| e.param() == value)
    }

    /// The metric name a scrape in this scheme gets for `name`: `name`
    /// itself when it is legacy-valid or the scheme is
    /// [`AllowUtf8`](Self::AllowUtf8), else its escaped form, written into
    /// `scratch` (cleared first; keep it between calls and escaping
    /// allocates nothing once it has grown).
    ///
    /// ```
    /// use hotmetrics_core::Escaping;
    /// let mut scratch = String::new();
    /// assert_eq!(Escaping::Values.metric_name("my.metric", &mut scratch), "U__my_2e_metric");
    /// assert_eq!(Escaping::Dots.metric_name("my_metric", &mut scratch), "my_metric");
    /// assert_eq!(Escaping::AllowUtf8.metric_name("my.metric", &mut scratch), "my.metric");
    /// ```
    pub fn metric_name<'a>(self, name: &'a str, scratch: &'a mut String) -> &'a str {
        self.name(name, Kind::Metric, scratch)
    }

    /// [`metric_name`](Self::metric_name) for a label name (which may not
    /// hold `:`).
    ///
    /// ```
    /// use hotmetrics_core::Escaping;
    /// let mut scratch = String::new();
    /// assert_eq!(Escaping::Underscores.label_name("http.method", &mut scratch), "http_method");
    /// assert_eq!(Escaping::Underscores.label_name("a:b", &mut scratch), "a_b");
    /// ```
    pub fn label_name<'a>(self, name: &'a str, scratch: &'a mut String) -> &'a str {
        self.name(name, Kind::Label, scratch)
    }

    fn name<'a>(self, name: &'a str, kind: Kind, scratch: &'a mut String) -> &'a str {
        let legacy = match kind {
            Kind::Metric => is_legacy_metric_name(name),
            Kind::Label => is_legacy_label_name(name),
        };
        if legacy || self == Escaping::AllowUtf8 {
            return name;
        }
        scratch.clear();
        escape(name, self, kind, scratch);
        scratch
    }
}

impl fmt::Display for Escaping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.param())
    }
}

/// prometheus/common's `model.EscapeName`: `underscores` and `values`
/// leave a legacy-valid name as it is, `dots` escapes it too (doubling its
/// underscores); callers escape only names that are not legacy-valid, as
/// `model.EscapeMetricFamily` does.
fn escape(name: &str, scheme: Escaping, kind: Kind, out: &mut String) {
    use std::fmt::Write;
    let legacy = match kind {
        Kind::Metric => is_legacy_metric_name(name),
        Kind::Label => is_legacy_label_name(name),
    };
    match scheme {
        Escaping::AllowUtf8 => out.push_str(name),
        Escaping::Underscores | Escaping::Values if legacy => out.push_str(name),
        Escaping::Underscores => {
            for (i, c) in name.chars().enumerate() {
                out.push(if is_legacy_rune(c, i, kind) { c } else { '_' });
            }
        }
        Escaping::Dots => {
            for (i, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    '.' => out.push_str("_dot_"),
                    c if is_legacy_rune(c, i, kind) => out.push(c),
                    _ => out.push_str("__"),
                }
            }
        }
        Escaping::Values => {
            out.push_str("U__");
            for (i, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    c if is_legacy_rune(c, i, kind) => out.push(c),
                    // Writing into a `String` cannot fail.
                    c => {
                        let _ = write!(out, "_{:x}_", u32::from(c));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `model.EscapeName` on every scenario of prometheus/common
    /// `model/metric_test.go` (`TestEscapeName`), scheme by scheme:
    /// (input, underscores, dots, values).
    const ESCAPE_NAME: &[(&str, &str, &str, &str)] = &[
        ("", "", "", ""),
        (
            "no:escaping_required",
            "no:escaping_required",
            "no:escaping__required",
            "no:escaping_required",
        ),
        (
            "mysystem.prod.west.cpu.load",
            "mysystem_prod_west_cpu_load",
            "mysystem_dot_prod_dot_west_dot_cpu_dot_load",
            "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load",
        ),
        (
            "mysystem.prod.west.cpu.load_total",
            "mysystem_prod_west_cpu_load_total",
            "mysystem_dot_prod_dot_west_dot_cpu_dot_load__total",
            "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load__total",
        ),
        (
            "http.status:sum",
            "http_status:sum",
            "http_dot_status:sum",
            "U__http_2e_status:sum",
        ),
        (
            "label with 😱",
            "label_with__",
            "label__with____",
            "U__label_20_with_20__1f631_",
        ),
        ("花火", "__", "____", "U___82b1__706b_"),
        (
            "label with \u{0100}",
            "label_with__",
            "label__with____",
            "U__label_20_with_20__100_",
        ),
    ];

    fn escaped(name: &str, scheme: Escaping) -> String {
        let mut out = String::new();
        escape(name, scheme, Kind::Metric, &mut out);
        out
    }

    #[test]
    fn escape_name_matches_prometheus_common() {
        for &(input, underscores, dots, values) in ESCAPE_NAME {
            // `EscapeName("")` returns "" in every scheme; we never escape
            // an empty name (registration refuses it).
            if input.is_empty() {
                continue;
            }
            assert_eq!(
                escaped(input, Escaping::Underscores),
                underscores,
                "{input}"
            );
            assert_eq!(escaped(input, Escaping::Dots), dots, "{input}");
            assert_eq!(escaped(input, Escaping::Values), values, "{input}");
            assert_eq!(escaped(input, Escaping::AllowUtf8), input, "{input}");
        }
    }

    #[test]
    fn only_names_that_are_not_legacy_valid_are_escaped() {
        // `model.EscapeMetricFamily` (TestEscapeMetricFamily): a legacy
        // name stays, `some.label` becomes `U__some_2e_label`,
        // `my.metric` `U__my_2e_metric`, `some?label` `U__some_3f_label`.
        let mut s = String::new();
        for scheme in Escaping::ALL {
            assert_eq!(scheme.metric_name("my_metric", &mut s), "my_metric");
            assert_eq!(scheme.label_name("some_label", &mut s), "some_label");
        }
        assert_eq!(
            Escaping::Values.label_name("some.label", &mut s),
            "U__some_2e_label"
        );
        assert_eq!(
            Escaping::Values.metric_name("my.metric", &mut s),
            "U__my_2e_metric"
        );
        assert_eq!(
            Escaping::Values.label_name("some?label", &mut s),
            "U__some_3f_label"
        );
        // A leading digit is the one position-dependent rule.
        assert_eq!(Escaping::Underscores.metric_name("1a", &mut s), "_a");
        assert_eq!(Escaping::Dots.metric_name("1a", &mut s), "__a");
        assert_eq!(Escaping::Values.metric_name("1a", &mut s), "U___31_a");
    }

    #[test]
    fn label_names_lose_colons() {
        let mut s = String::new();
        assert_eq!(Escaping::Underscores.label_name("a:b", &mut s), "a_b");
        assert_eq!(Escaping::Dots.label_name("a:b.c", &mut s), "a__b_dot_c");
        assert_eq!(Escaping::Values.label_name("a:b", &mut s), "U__a_3a_b");
        assert_eq!(Escaping::Underscores.metric_name("a:b", &mut s), "a:b");
    }

    #[test]
    fn legacy_validity_matches_prometheus_common() {
        // TestValidationScheme_IsMetricNameValid: (name, legacy-valid).
        for (name, legacy) in [
            ("Avalid_23name", true),
            ("_Avalid_23name", true),
            ("1valid_23name", false),
            ("avalid_23name", true),
            ("Ava:lid_23name", true),
            ("a lid_23name", false),
            (":leading_colon", true),
            ("colon:in:the:middle", true),
            ("", false),
            ("dot.in.name", false),
        ] {
            assert_eq!(is_legacy_metric_name(name), legacy, "{name:?}");
        }
        assert!(!is_legacy_label_name(":leading_colon"));
        assert!(is_legacy_label_name("__name__"));
    }

    proptest::proptest! {
        /// The byte-wise name checks are the rune rule of prometheus/common,
        /// on any string (multi-byte characters too).
        #[test]
        fn label_names_checked_bytewise_follow_the_rune_rule(
            name in "[a-zA-Z0-9_:.é花\\-]{0,6}|\\PC{0,4}"
        ) {
            let by_runes = !name.is_empty()
                && name.chars().enumerate().all(|(i, c)| is_legacy_rune(c, i, Kind::Label));
            proptest::prop_assert_eq!(is_legacy_label_name(&name), by_runes);
            let by_runes = !name.is_empty()
                && name.chars().enumerate().all(|(i, c)| is_legacy_rune(c, i, Kind::Metric));
            proptest::prop_assert_eq!(is_legacy_metric_name(&name), by_runes);
        }
    }

    /// Every one- and two-character ASCII name, and each followed by a
    /// multi-byte character: the table's answer is the rune rule's.
    #[test]
    fn every_ascii_pair_follows_the_rune_rule() {
        let rule = |name: &str, kind| {
            !name.is_empty()
                && name
                    .chars()
                    .enumerate()
                    .all(|(i, c)| is_legacy_rune(c, i, kind))
        };
        for a in 0u8..128 {
            for b in std::iter::once(None).chain((0u8..128).map(Some)) {
                let mut name = String::from(char::from(a));
                name.extend(b.map(char::from));
                for name in [name.clone(), format!("{name}é")] {
                    assert_eq!(
                        is_legacy_label_name(&name),
                        rule(&name, Kind::Label),
                        "{name:?}"
                    );
                    assert_eq!(
                        is_legacy_metric_name(&name),
                        rule(&name, Kind::Metric),
                        "{name:?}"
                    );
                }
            }
        }
        assert!(!is_legacy_label_name("") && !is_legacy_metric_name(""));
    }

    #[test]
    fn params_round_trip() {
        for e in Escaping::ALL {
            assert_eq!(Escaping::from_param(e.param()), Some(e));
            assert_eq!(e.to_string(), e.param());
        }
        assert_eq!(Escaping::from_param(""), None);
        assert_eq!(Escaping::default(), Escaping::Underscores);
    }

    /// Escaped names are legacy-valid for their kind, so a legacy scraper
    /// parses them unquoted.
    #[test]
    fn escaped_names_are_legacy_valid() {
        let mut s = String::new();
        for &(input, ..) in &ESCAPE_NAME[1..] {
            for scheme in [Escaping::Underscores, Escaping::Dots, Escaping::Values] {
                assert!(is_legacy_metric_name(scheme.metric_name(input, &mut s)));
                let label = format!("{input}:x");
                assert!(is_legacy_label_name(scheme.label_name(&label, &mut s)));
            }
        }
    }
}
