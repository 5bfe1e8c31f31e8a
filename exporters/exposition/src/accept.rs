//! The HTTP `Accept` header (RFC 9110 §12.5.1) on the weighted-list
//! grammar of [`crate::weighted`], lenient where real clients are sloppy
//! and strict where a misreading could pick the wrong format.
//!
//! - A media range is `type/subtype`, `type/*` or `*/*` (a lone `*`, as old
//!   Java clients send, reads as `*/*`), followed by `;`-separated
//!   parameters. Type, subtype and parameter names compare ASCII
//!   case-insensitively. Whitespace around `;`, `,`, `/` and `=` is skipped.
//! - A range whose type or subtype is not a token is skipped as a whole,
//!   as is any element the weighted-list grammar finds malformed; the
//!   other ranges still count.

use crate::weighted::{Element, Quality, Value, is_token, trim_ows, weighted_list};

/// One well-formed media range of an `Accept` header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MediaRange<'a> {
    ty: &'a [u8],
    subtype: &'a [u8],
    element: Element<'a>,
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
        self.element.q()
    }

    /// The value of parameter `name` (ASCII case-insensitive), the last one
    /// if it is repeated. Never `q`: that is [`MediaRange::q`].
    pub(crate) fn param(&self, name: &str) -> Option<Value<'a>> {
        self.element.param(name)
    }
}

/// The well-formed media ranges of `header`, in header order.
pub(crate) fn media_ranges(header: &[u8]) -> impl Iterator<Item = MediaRange<'_>> {
    weighted_list(header).filter_map(media_range)
}

fn media_range(element: Element<'_>) -> Option<MediaRange<'_>> {
    let range = element.value();
    let (ty, subtype) = match range.iter().position(|&b| b == b'/') {
        Some(slash) => (trim_ows(&range[..slash]), trim_ows(&range[slash + 1..])),
        None if range == b"*" => (range, range),
        None => return None,
    };
    if !is_token(ty) || !is_token(subtype) || (ty == b"*" && subtype != b"*") {
        return None;
    }
    Some(MediaRange {
        ty,
        subtype,
        element,
    })
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
}
