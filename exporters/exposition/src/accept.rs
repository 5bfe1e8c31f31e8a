//! An allocation-free parser for the HTTP `Accept` header (RFC 9110
//! §12.5.1), lenient where real clients are sloppy and strict where a
//! misreading could pick the wrong format.
//!
//! - The header is a comma-separated list of media ranges; commas and
//!   semicolons inside quoted strings do not split (but a quote never
//!   closed ends at its first comma or semicolon).
//! - A media range is `type/subtype`, `type/*` or `*/*` (a lone `*`, as old
//!   Java clients send, reads as `*/*`), followed by `;`-separated
//!   parameters. Type, subtype and parameter names compare ASCII
//!   case-insensitively. Whitespace around `;`, `,`, `/` and `=` is skipped.
//! - A parameter value is a token or a quoted string (`\` escapes the next
//!   byte). Empty parameters (`;;`) are allowed, as the grammar allows them.
//! - `q` is the weight, `0` to `1` with any number of decimals. A weight
//!   with more than three decimals is truncated to thousandths, but a
//!   positive weight never truncates to zero: only a real `q=0` means "not
//!   acceptable".
//! - A range that is malformed anywhere (not a token where one is needed,
//!   a parameter without `=`, an unterminated quote, a bad or out-of-range
//!   `q`) is skipped as a whole; the other ranges still count.

/// The weight of a media range in thousandths: `1000` is `q=1`, `0` is
/// "not acceptable".
pub(crate) type Quality = u16;

/// The weight of a range without `q`.
pub(crate) const Q_DEFAULT: Quality = 1000;

/// One well-formed media range of an `Accept` header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MediaRange<'a> {
    ty: &'a [u8],
    subtype: &'a [u8],
    /// The raw parameter list after the first `;`, already validated.
    params: &'a [u8],
    q: Quality,
}

impl<'a> MediaRange<'a> {
    /// Whether this range is exactly `ty/subtype` (ASCII case-insensitive);
    /// `"*"` matches only a literal `*`.
    pub(crate) fn is(&self, ty: &str, subtype: &str) -> bool {
        self.ty.eq_ignore_ascii_case(ty.as_bytes())
            && self.subtype.eq_ignore_ascii_case(subtype.as_bytes())
    }

    /// The weight.
    pub(crate) fn q(&self) -> Quality {
        self.q
    }

    /// The value of parameter `name` (ASCII case-insensitive), the last one
    /// if it is repeated. Never `q`: that is [`MediaRange::q`].
    pub(crate) fn param(&self, name: &str) -> Option<Value<'a>> {
        let mut found = None;
        for segment in split_unquoted(self.params, b';') {
            if let Ok(Some((n, v))) = parse_param(segment) {
                if n.eq_ignore_ascii_case(name.as_bytes()) && !n.eq_ignore_ascii_case(b"q") {
                    found = Some(v);
                }
            }
        }
        found
    }
}

/// A parameter value: a token, or a quoted string still in its quotes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Value<'a> {
    raw: &'a [u8],
}

impl Value<'_> {
    /// The value's bytes with quotes and escapes removed.
    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        let inner = match self.raw {
            [b'"', inner @ .., b'"'] => inner,
            token => token,
        };
        let quoted = inner.len() != self.raw.len();
        let mut escaped = false;
        inner.iter().copied().filter(move |&b| {
            if quoted && !escaped && b == b'\\' {
                escaped = true;
                return false;
            }
            escaped = false;
            true
        })
    }

    /// Whether the (unquoted) value is exactly `s`.
    pub(crate) fn is(&self, s: &str) -> bool {
        self.bytes().eq(s.bytes())
    }

    /// Whether the (unquoted) value is `s`, ignoring ASCII case.
    #[cfg(any(feature = "protobuf", test))]
    pub(crate) fn is_ignore_ascii_case(&self, s: &str) -> bool {
        self.bytes()
            .map(|b| b.to_ascii_lowercase())
            .eq(s.bytes().map(|b| b.to_ascii_lowercase()))
    }
}

/// The well-formed media ranges of `header`, in header order.
pub(crate) fn media_ranges(header: &[u8]) -> impl Iterator<Item = MediaRange<'_>> {
    split_unquoted(header, b',').filter_map(parse_range)
}

fn parse_range(element: &[u8]) -> Option<MediaRange<'_>> {
    let (range, params) = match split_once_unquoted(element, b';') {
        Some((range, params)) => (range, params),
        None => (element, &b""[..]),
    };
    let range = trim_ows(range);
    let (ty, subtype) = match range.iter().position(|&b| b == b'/') {
        Some(slash) => (trim_ows(&range[..slash]), trim_ows(&range[slash + 1..])),
        None if range == b"*" => (range, range),
        None => return None,
    };
    if !is_token(ty) || !is_token(subtype) || (ty == b"*" && subtype != b"*") {
        return None;
    }
    let mut q = Q_DEFAULT;
    for segment in split_unquoted(params, b';') {
        match parse_param(segment) {
            Err(Malformed) => return None,
            Ok(Some((name, value))) if name.eq_ignore_ascii_case(b"q") => {
                q = parse_q(value.raw)?;
            }
            Ok(_) => {}
        }
    }
    Some(MediaRange {
        ty,
        subtype,
        params,
        q,
    })
}

struct Malformed;

/// One `;`-separated segment: `Ok(None)` if it is empty.
fn parse_param(segment: &[u8]) -> Result<Option<(&[u8], Value<'_>)>, Malformed> {
    let segment = trim_ows(segment);
    if segment.is_empty() {
        return Ok(None);
    }
    let eq = segment.iter().position(|&b| b == b'=').ok_or(Malformed)?;
    let name = trim_ows(&segment[..eq]);
    let value = trim_ows(&segment[eq + 1..]);
    if !is_token(name) || !(is_token(value) || is_quoted_string(value)) {
        return Err(Malformed);
    }
    Ok(Some((name, Value { raw: value })))
}

/// `0`, `0.`, `0.5`, `1`, `1.000`, ... in thousandths; `None` if invalid
/// or above 1.
fn parse_q(value: &[u8]) -> Option<Quality> {
    let (int, frac) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (&value[..dot], &value[dot + 1..]),
        None => (value, &b""[..]),
    };
    if int.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let int_zero = int.iter().all(|&b| b == b'0');
    let frac_zero = frac.iter().all(|&b| b == b'0');
    if !int_zero {
        // Only 1 (with leading zeros, and zero decimals) is allowed.
        let one = int.iter().skip_while(|&&b| b == b'0').eq(b"1".iter());
        return (one && frac_zero).then_some(1000);
    }
    let thousandths = frac
        .iter()
        .chain(b"000")
        .take(3)
        .fold(0, |acc: Quality, &d| acc * 10 + Quality::from(d - b'0'));
    Some(if thousandths == 0 && !frac_zero {
        1
    } else {
        thousandths
    })
}

/// RFC 9110 `token`: one or more `tchar`.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 9110 `quoted-string`, bytes above 0x7f allowed (`obs-text`).
fn is_quoted_string(s: &[u8]) -> bool {
    let [b'"', inner @ .., b'"'] = s else {
        return false;
    };
    let mut escaped = false;
    for &b in inner {
        let visible = b == b'\t' || b >= b' ' && b != 0x7f;
        if !visible {
            return false;
        }
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return false;
        }
    }
    !escaped
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Splits `s` at each `delim` outside a quoted string. A quote left open
/// at the end ends at its first `delim` instead, so one broken range does
/// not swallow the rest of the header.
fn split_unquoted(s: &[u8], delim: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let s = rest?;
        match split_once_unquoted(s, delim) {
            Some((head, tail)) => {
                rest = Some(tail);
                Some(head)
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

fn split_once_unquoted(s: &[u8], delim: u8) -> Option<(&[u8], &[u8])> {
    let mut quoted = false;
    let mut escaped = false;
    // The first `delim` inside the quote now open.
    let mut delim_in_quote = None;
    for (i, &b) in s.iter().enumerate() {
        if quoted {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = false;
                delim_in_quote = None;
            } else if b == delim && delim_in_quote.is_none() {
                delim_in_quote = Some(i);
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == delim {
            return Some((&s[..i], &s[i + 1..]));
        }
    }
    delim_in_quote.map(|i| (&s[..i], &s[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(header: &str) -> Vec<(String, Quality)> {
        media_ranges(header.as_bytes())
            .map(|r| {
                let ty = String::from_utf8_lossy(r.ty);
                let subtype = String::from_utf8_lossy(r.subtype);
                (format!("{ty}/{subtype}"), r.q())
            })
            .collect()
    }

    #[test]
    fn splits_ranges_and_reads_weights() {
        assert_eq!(
            ranges("text/plain;q=0.5, application/json ,*/*;q=0.1"),
            [
                ("text/plain".to_owned(), 500),
                ("application/json".to_owned(), 1000),
                ("*/*".to_owned(), 100),
            ]
        );
        assert_eq!(ranges("*; q=.2"), []); // `.2` is not a qvalue
        assert_eq!(ranges("*;q=0.2"), [("*/*".to_owned(), 200)]);
        assert_eq!(
            ranges("TEXT / Plain ; Q = 1.000"),
            [("TEXT/Plain".to_owned(), 1000)]
        );
    }

    #[test]
    fn weights() {
        for (q, want) in [
            ("0", Some(0)),
            ("0.", Some(0)),
            ("0.000", Some(0)),
            ("0.0000", Some(0)),
            ("0.0001", Some(1)),
            ("0.5", Some(500)),
            ("0.75", Some(750)),
            ("0.123456", Some(123)),
            ("00.5", Some(500)),
            ("1", Some(1000)),
            ("1.", Some(1000)),
            ("1.000", Some(1000)),
            ("01", Some(1000)),
            ("1.001", None),
            ("2", None),
            ("10", None),
            (".5", None),
            ("", None),
            ("abc", None),
            ("0.5x", None),
            ("-0", None),
            ("+1", None),
            ("1e0", None),
            ("NaN", None),
            ("\"0.5\"", None),
        ] {
            assert_eq!(parse_q(q.as_bytes()), want, "q={q}");
        }
    }

    #[test]
    fn malformed_ranges_are_skipped_alone() {
        for bad in [
            "text",
            "text/",
            "/plain",
            "*/plain",
            "te xt/plain",
            "text/plain;q=abc",
            "text/plain;q=1.5",
            "text/plain;version",
            "text/plain;=1",
            "text/plain;version=a b",
            "text/plain;version=\"0.0.4",
            "text/plain;version=\"0.0.4\"x",
            "text/plain;version=\"0.0.4\\\"",
            "tëxt/plain",
            "text/plain;v=é",
        ] {
            assert_eq!(
                ranges(&format!("{bad},a/b")),
                [("a/b".to_owned(), 1000)],
                "{bad:?}"
            );
        }
        assert_eq!(ranges(";;;,,,"), []);
        assert_eq!(ranges(""), []);
    }

    #[test]
    fn quoted_values() {
        let header = br#"a/b;x="1,2;3";y="q\"\\";version="1.0.0""#;
        let range = media_ranges(header).next().unwrap();
        assert!(range.param("X").unwrap().is("1,2;3"));
        assert!(range.param("y").unwrap().is("q\"\\"));
        assert!(range.param("version").unwrap().is("1.0.0"));
        assert!(range.param("z").is_none());
        assert_eq!(media_ranges(header).count(), 1);
    }

    #[test]
    fn params_last_wins_and_q_is_not_a_param() {
        let range = media_ranges(b"a/b;v=1;;V=2;q=0.3").next().unwrap();
        assert!(range.param("v").unwrap().is("2"));
        assert!(range.param("q").is_none());
        assert_eq!(range.q(), 300);
        assert!(range.param("v").unwrap().is_ignore_ascii_case("2"));
        let range = media_ranges(b"a/b;e=Delimited").next().unwrap();
        assert!(range.param("e").unwrap().is_ignore_ascii_case("delimited"));
        assert!(!range.param("e").unwrap().is("delimited"));
    }
}
