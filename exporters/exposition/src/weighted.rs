//! Weighted header lists (RFC 9110 §12.4.2): the shared grammar of
//! `Accept`, `Accept-Encoding` and their kin, parsed without allocating.
//!
//! A list is comma-separated elements; commas and semicolons inside quoted
//! strings do not split (but a quote never closed ends at its first comma
//! or semicolon). An element is a value followed by `;`-separated
//! parameters, `name=token` or `name="quoted string"` (`\` escapes the next
//! byte); parameter names compare ASCII case-insensitively, whitespace
//! around `;`, `,` and `=` is skipped, and empty parameters (`;;`) are
//! allowed. `q` is the weight, `0` to `1` with any number of decimals: a
//! weight with more than three decimals is truncated to thousandths, but a
//! positive weight never truncates to zero, so only a real `q=0` means "not
//! acceptable". An element that is malformed anywhere (a parameter without
//! `=`, a value that is neither token nor quoted string, an unterminated
//! quote, a bad or out-of-range `q`) is skipped as a whole; the others
//! still count.
//!
//! ```
//! use hotmetrics_exposition::weighted::weighted_list;
//!
//! let codings: Vec<(&[u8], u16)> = weighted_list(b"br;q=0.9, gzip ; q=0.5, identity;q=bad")
//!     .map(|e| (e.value(), e.q()))
//!     .collect();
//! assert_eq!(codings, [(&b"br"[..], 900), (&b"gzip"[..], 500)]);
//! ```

/// A weight in thousandths: `1000` is `q=1` (also the weight of an
/// element without `q`), `0` is "not acceptable".
pub type Quality = u16;

/// The weight of an element without `q`.
pub(crate) const Q_DEFAULT: Quality = 1000;

/// One well-formed element of a weighted list.
#[derive(Debug, Clone, Copy)]
pub struct Element<'a> {
    value: &'a [u8],
    /// The raw parameter list after the first `;`, already validated.
    params: &'a [u8],
    q: Quality,
}

impl<'a> Element<'a> {
    /// The element's value (a media range, a content coding, ...), trimmed;
    /// its syntax is the caller's to check.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// The weight, in thousandths.
    pub fn q(&self) -> Quality {
        self.q
    }

    /// The value of parameter `name` (ASCII case-insensitive), the last one
    /// if it is repeated. Never `q`: that is [`Element::q`].
    pub fn param(&self, name: &str) -> Option<Value<'a>> {
        let mut found = None;
        for segment in split_unquoted(self.params, b';') {
            if let Ok(Some((n, v))) = parse_param(segment)
                && n.eq_ignore_ascii_case(name.as_bytes())
                && !n.eq_ignore_ascii_case(b"q")
            {
                found = Some(v);
            }
        }
        found
    }
}

/// The well-formed elements of `header`, in header order.
pub fn weighted_list(header: &[u8]) -> impl Iterator<Item = Element<'_>> {
    split_unquoted(header, b',').filter_map(parse_element)
}

fn parse_element(element: &[u8]) -> Option<Element<'_>> {
    let (value, params) = match split_once_unquoted(element, b';') {
        Some((value, params)) => (value, params),
        None => (element, &b""[..]),
    };
    let value = trim_ows(value);
    if value.is_empty() {
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
    Some(Element { value, params, q })
}

/// A parameter value: a token, or a quoted string still in its quotes.
#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
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
    pub fn is(&self, s: &str) -> bool {
        self.bytes().eq(s.bytes())
    }

    /// Whether the (unquoted) value is `s`, ignoring ASCII case.
    pub fn is_ignore_ascii_case(&self, s: &str) -> bool {
        self.bytes()
            .map(|b| b.to_ascii_lowercase())
            .eq(s.bytes().map(|b| b.to_ascii_lowercase()))
    }
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
pub(crate) fn is_token(s: &[u8]) -> bool {
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

pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
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
    fn elements_and_their_weights() {
        let list: Vec<(&[u8], Quality)> = weighted_list(b" gzip ;q=0.5,,br, *;q=0 ,x;y")
            .map(|e| (e.value(), e.q()))
            .collect();
        assert_eq!(list, [(&b"gzip"[..], 500), (b"br", 1000), (b"*", 0)]);
    }
    #[test]
    fn quoted_values() {
        let header = br#"a;x="1,2;3";y="q\"\\";version="1.0.0""#;
        let range = weighted_list(header).next().unwrap();
        assert!(range.param("X").unwrap().is("1,2;3"));
        assert!(range.param("y").unwrap().is("q\"\\"));
        assert!(range.param("version").unwrap().is("1.0.0"));
        assert!(range.param("z").is_none());
        assert_eq!(weighted_list(header).count(), 1);
    }

    #[test]
    fn params_last_wins_and_q_is_not_a_param() {
        let range = weighted_list(b"a;v=1;;V=2;q=0.3").next().unwrap();
        assert!(range.param("v").unwrap().is("2"));
        assert!(range.param("q").is_none());
        assert_eq!(range.q(), 300);
        assert!(range.param("v").unwrap().is_ignore_ascii_case("2"));
        let range = weighted_list(b"a;e=Delimited").next().unwrap();
        assert!(range.param("e").unwrap().is_ignore_ascii_case("delimited"));
        assert!(!range.param("e").unwrap().is("delimited"));
    }
}
