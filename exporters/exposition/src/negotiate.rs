//! Choosing a format from the `Accept` header of a scrape.

use hotmetrics_core::Escaping;

use crate::Format;
#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
use crate::accept::{MediaRange, media_ranges};
#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
use crate::weighted::Quality;

/// The outcome of [`negotiate`]: the format to encode in, how to write
/// names that are not legacy-valid, and whether the client asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Negotiated {
    format: Format,
    acceptable: bool,
    escaping: Escaping,
    /// Whether the deciding range named the escaping scheme.
    escaping_asked: bool,
    /// Whether the deciding range asked for text `version=1.0.0`.
    text_1_0_0: bool,
}

/// `$base` with `; escaping=<scheme>` appended, for each scheme.
#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
macro_rules! with_escaping {
    ($base:literal, $escaping:expr) => {
        match $escaping {
            Escaping::AllowUtf8 => concat!($base, "; escaping=allow-utf-8"),
            Escaping::Underscores => concat!($base, "; escaping=underscores"),
            Escaping::Dots => concat!($base, "; escaping=dots"),
            Escaping::Values => concat!($base, "; escaping=values"),
        }
    };
}

impl Negotiated {
    /// The format to encode the body in.
    pub fn format(self) -> Format {
        self.format
    }

    /// How names that are not legacy-valid are to be written: the scheme
    /// the header's `escaping` parameter named, else
    /// [`Escaping::Underscores`] (prometheus/common's default). Names of a
    /// legacy registry are written the same in every scheme.
    pub fn escaping(self) -> Escaping {
        self.escaping
    }

    /// The `Content-Type` header to send with the body: the format's
    /// (`text/plain; version=0.0.4; charset=utf-8`, ...), with
    /// `version=1.0.0` when text 1.0.0 was asked for, and with
    /// `; escaping=<scheme>` appended, as prometheus/common writes it, when
    /// the header named a scheme or asked for text 1.0.0. A request that
    /// knows nothing of escaping (Prometheus 2) gets the Content-Type it
    /// always got; prometheus/common would append `; escaping=underscores`
    /// there, which changes nothing in the body.
    #[cfg_attr(
        not(any(feature = "text", feature = "openmetrics", feature = "protobuf")),
        allow(unreachable_code)
    )]
    pub fn content_type(self) -> &'static str {
        if !self.escaping_asked && !self.text_1_0_0 {
            return self.format.content_type();
        }
        match self.format {
            #[cfg(feature = "text")]
            Format::Text if self.text_1_0_0 => {
                with_escaping!("text/plain; version=1.0.0; charset=utf-8", self.escaping)
            }
            #[cfg(feature = "text")]
            Format::Text => {
                with_escaping!("text/plain; version=0.0.4; charset=utf-8", self.escaping)
            }
            #[cfg(feature = "openmetrics")]
            Format::OpenMetrics => with_escaping!(
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.escaping
            ),
            #[cfg(feature = "protobuf")]
            Format::Protobuf => with_escaping!(
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
                self.escaping
            ),
        }
    }

    /// `false` when the header named only formats this build cannot serve
    /// (or refused all of them with `q=0`) and [`format`](Self::format) is
    /// the fallback. RFC 9110 lets a server either answer 406 Not
    /// Acceptable then or ignore the header; the Go reference and
    /// Prometheus expect the fallback to be sent.
    pub fn is_acceptable(self) -> bool {
        self.acceptable
    }
}

/// Picks the format to answer a scrape with, given its `Accept` header
/// (`None` when the request has none; join repeated `Accept` headers with
/// `,`).
///
/// Returns `None` only when no format feature is compiled in
/// ([`Format::available`] is empty); otherwise always a format of this
/// build, with the `Content-Type` to send.
///
/// # Rules
/// Modelled on `NegotiateIncludingOpenMetrics` of the Go reference
/// (prometheus/common `expfmt`), with RFC 9110's weights made exact:
///
/// - Each media range is matched against each compiled-in format:
///   - `text/plain` with `version=0.0.4`, no version, or `version=1.0.0`
///     (Prometheus 3's UTF-8 text) → `Format::Text`. Text 1.0.0 differs
///     from 0.0.4 only in allowing quoted UTF-8 names; one writer writes
///     both, and the `Content-Type` says `version=1.0.0` when the deciding
///     range asked for it. (prometheus/common serves only 0.0.4, with
///     quoted names when `escaping=allow-utf-8` is asked of it; so do we.)
///   - `application/openmetrics-text` with `version=1.0.0`, `0.0.1` or no
///     version → `Format::OpenMetrics`. We always write (and label) 1.0.0,
///     where the Go reference labels 0.0.1 for the last two: 0.0.1 is
///     1.0.0's draft, and Prometheus parses both with the same parser.
///   - `application/vnd.google.protobuf` with
///     `proto=io.prometheus.client.MetricFamily` and `encoding=delimited`
///     → `Format::Protobuf`; without either parameter, or with any other
///     value, nothing.
///   - `text/*` → text; `application/*` → OpenMetrics, then protobuf;
///     `*/*` → every format, in the order of [`Format::available`].
///   - Any other version (`application/openmetrics-text;version=2.0.0`)
///     or media type matches nothing.
///   - `escaping=allow-utf-8|underscores|dots|values` on the range that
///     decides the chosen format's weight sets [`Negotiated::escaping`].
///     A deciding range without one (`*/*`) takes the scheme of the range
///     read last before it by the Go reference, which reads them by
///     decreasing `q`: the lowest-weighted among those weighted higher (or
///     as high and earlier) that name one. Without any, or with an unknown
///     value (ignored, as the Go reference ignores it), names are escaped
///     with underscores. It only matters
///     for a UTF-8 registry's names: legacy names are the same in every
///     scheme. `charset` and other parameters are ignored.
/// - A format's weight comes from the most specific ranges that match it
///   (exact type > `type/*` > `*/*`), the highest `q` among those. So
///   `text/plain;q=0, */*` refuses text but accepts everything else, and
///   `text/plain;q=0.1, */*` makes text the least preferred.
/// - The format with the highest positive weight wins. Ties go to the more
///   specific range, then to the range earlier in the header, then to the
///   order of [`Format::available`] (text, OpenMetrics, protobuf).
/// - Parsing: ranges split at `,`, parameters at `;` (not inside quoted
///   strings); whitespace around them is skipped; type, subtype and
///   parameter names are ASCII case-insensitive; values may be quoted; a
///   lone `*` reads as `*/*`. `q` is `0` to `1` (more than three decimals
///   are truncated, but never to 0). A malformed range (`q=abc`, `q=2`, a
///   parameter without `=`, an unterminated quote, bytes that are not
///   token characters outside quotes, non-ASCII included) is skipped;
///   the others still count.
/// - No header, an empty one, or one without a single well-formed range
///   → the fallback, acceptable: the first of [`Format::available`], text
///   when compiled in (as in the Go reference).
/// - Ranges present but none matching a compiled-in format with `q > 0`
///   → the fallback, with [`Negotiated::is_acceptable`] `false`; the
///   fallback then skips formats the header refused with `q=0` when it can.
///
/// Negotiation never panics and never allocates.
///
/// ```
/// # #[cfg(all(feature = "text", feature = "openmetrics"))] {
/// use hotmetrics_core::Escaping;
/// use hotmetrics_exposition::{Format, negotiate};
///
/// // What Prometheus 2.42 sends.
/// let prometheus = "application/openmetrics-text;version=1.0.0,\
///     application/openmetrics-text;version=0.0.1;q=0.75,\
///     text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// let chosen = negotiate(Some(prometheus)).unwrap();
/// assert_eq!(chosen.format(), Format::OpenMetrics);
/// assert_eq!(
///     chosen.content_type(),
///     "application/openmetrics-text; version=1.0.0; charset=utf-8"
/// );
/// assert_eq!(chosen.escaping(), Escaping::Underscores);
///
/// // Prometheus 3 asks for UTF-8 names.
/// let prometheus3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
///     application/openmetrics-text;version=0.0.1;q=0.5,\
///     text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
///     text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
/// let chosen = negotiate(Some(prometheus3)).unwrap();
/// assert_eq!(chosen.escaping(), Escaping::AllowUtf8);
/// assert_eq!(
///     chosen.content_type(),
///     "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
/// );
///
/// // curl, a browser, or no header at all: text.
/// assert_eq!(negotiate(Some("*/*")).unwrap().format(), Format::Text);
/// assert_eq!(negotiate(None).unwrap().format(), Format::Text);
///
/// // Nothing we serve: the fallback, flagged so a strict server can 406.
/// let json = negotiate(Some("application/json")).unwrap();
/// assert_eq!(json.format(), Format::Text);
/// assert!(!json.is_acceptable());
/// # }
/// # #[cfg(not(any(feature = "text", feature = "openmetrics", feature = "protobuf")))]
/// # assert!(hotmetrics_exposition::negotiate(None).is_none());
/// ```
pub fn negotiate(accept: Option<&str>) -> Option<Negotiated> {
    negotiate_bytes(accept.map(str::as_bytes))
}

/// Longest `Accept` header read, in bytes; a longer one counts as absent
/// (the fallback format). Prometheus sends about 250 bytes. The bound keeps
/// a crafted header with an unclosed quote, whose parse is quadratic in its
/// length, from costing more than a few milliseconds.
pub const MAX_ACCEPT_BYTES: usize = 4096;

/// [`negotiate`] for a header value that may not be UTF-8 (an
/// `http::HeaderValue`'s `as_bytes()`): bytes outside ASCII never match a
/// format, and a range holding them outside a quoted string is skipped. A
/// header longer than [`MAX_ACCEPT_BYTES`] is treated as absent.
pub fn negotiate_bytes(accept: Option<&[u8]>) -> Option<Negotiated> {
    #[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
    return Some(choose(
        accept
            .filter(|a| a.len() <= MAX_ACCEPT_BYTES)
            .unwrap_or_default(),
    ));
    #[cfg(not(any(feature = "text", feature = "openmetrics", feature = "protobuf")))]
    {
        let _ = accept;
        None
    }
}

/// [`negotiate_bytes`] when at least one format is compiled in.
#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
fn choose(accept: &[u8]) -> Negotiated {
    let available = Format::available();
    let first = available[0];

    // Per available format (same index): the deciding range so far.
    let mut deciding: [Option<Deciding>; 3] = [None; 3];
    let mut any_range = false;
    for (index, range) in media_ranges(accept).enumerate() {
        any_range = true;
        for (slot, &format) in deciding.iter_mut().zip(available) {
            let Some(specificity) = specificity(&range, format) else {
                continue;
            };
            let candidate = Deciding {
                specificity,
                q: range.q(),
                index,
                escaping: range_escaping(&range),
                text_1_0_0: range.is("text", "plain")
                    && range.param("version").is_some_and(|v| v.is("1.0.0")),
            };
            match slot {
                Some(d) if (d.specificity, d.q) >= (specificity, candidate.q) => {}
                _ => *slot = Some(candidate),
            }
        }
    }
    let fallback = |format, acceptable| Negotiated {
        format,
        acceptable,
        escaping: Escaping::default(),
        escaping_asked: false,
        text_1_0_0: false,
    };
    if !any_range {
        return fallback(first, true);
    }

    let best = deciding
        .iter()
        .zip(available)
        .enumerate()
        .filter_map(|(preference, (d, &format))| {
            let d = (*d)?;
            let key = (
                d.q,
                d.specificity,
                std::cmp::Reverse(d.index),
                std::cmp::Reverse(preference),
            );
            (d.q > 0).then_some((key, (format, d)))
        })
        .max_by_key(|&(key, _)| key);
    match best {
        Some((_, (format, d))) => {
            let escaping = d.escaping.or_else(|| carried_escaping(accept, &d));
            Negotiated {
                format,
                acceptable: true,
                escaping: escaping.unwrap_or_default(),
                escaping_asked: escaping.is_some(),
                text_1_0_0: d.text_1_0_0,
            }
        }
        None => {
            let refused = |i: usize| deciding.get(i).copied().flatten().is_some_and(|d| d.q == 0);
            let format = (0..available.len())
                .find(|&i| !refused(i))
                .map_or(first, |i| available[i]);
            fallback(format, false)
        }
    }
}

/// The scheme a deciding range without one of its own gets in
/// prometheus/common's `NegotiateAccept`, which reads the ranges by
/// decreasing weight and keeps the last `escaping` it saw before the match:
/// so `*/*` after `...;escaping=allow-utf-8;q=0.6` is asked for UTF-8.
#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
fn carried_escaping(accept: &[u8], deciding: &Deciding) -> Option<Escaping> {
    media_ranges(accept)
        .enumerate()
        .filter(|(i, r)| r.q() > deciding.q || (r.q() == deciding.q && *i < deciding.index))
        .filter_map(|(i, r)| Some(((std::cmp::Reverse(r.q()), i), range_escaping(&r)?)))
        .max_by_key(|&(order, _)| order)
        .map(|(_, escaping)| escaping)
}

/// The scheme a range's `escaping` parameter names, if a known one.
#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
fn range_escaping(range: &MediaRange<'_>) -> Option<Escaping> {
    range
        .param("escaping")
        .and_then(|v| Escaping::ALL.into_iter().find(|e| v.is(e.param())))
}

/// The range that sets a format's weight.
#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
#[derive(Debug, Clone, Copy)]
struct Deciding {
    specificity: Specificity,
    q: Quality,
    /// Position among the header's well-formed ranges.
    index: usize,
    /// The range's `escaping`, if it names a known scheme.
    escaping: Option<Escaping>,
    /// Whether the range says `version=1.0.0`.
    text_1_0_0: bool,
}

/// How specifically a range names a format.
#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Specificity {
    /// `*/*`
    Any,
    /// `text/*`, `application/*`
    Type,
    /// The format's own media type, with parameters we serve.
    Exact,
}

/// How `range` names `format`, if it does.
#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
fn specificity(range: &MediaRange<'_>, format: Format) -> Option<Specificity> {
    if range.is("*", "*") {
        return Some(Specificity::Any);
    }
    let exact = |yes: bool| yes.then_some(Specificity::Exact);
    match format {
        #[cfg(feature = "text")]
        Format::Text if range.is("text", "*") => Some(Specificity::Type),
        #[cfg(feature = "text")]
        Format::Text => exact(range.is("text", "plain") && version_in(range, &["0.0.4", "1.0.0"])),
        #[cfg(feature = "openmetrics")]
        Format::OpenMetrics if range.is("application", "*") => Some(Specificity::Type),
        #[cfg(feature = "openmetrics")]
        Format::OpenMetrics => exact(
            range.is("application", "openmetrics-text") && version_in(range, &["1.0.0", "0.0.1"]),
        ),
        #[cfg(feature = "protobuf")]
        Format::Protobuf if range.is("application", "*") => Some(Specificity::Type),
        #[cfg(feature = "protobuf")]
        Format::Protobuf => exact(
            range.is("application", "vnd.google.protobuf")
                && range
                    .param("proto")
                    .is_some_and(|v| v.is("io.prometheus.client.MetricFamily"))
                && range
                    .param("encoding")
                    .is_some_and(|v| v.is_ignore_ascii_case("delimited")),
        ),
    }
}

/// Whether `range` has no `version` or one of `versions`.
#[cfg(any(feature = "text", feature = "openmetrics"))]
fn version_in(range: &MediaRange<'_>, versions: &[&str]) -> bool {
    range
        .param("version")
        .is_none_or(|v| versions.iter().any(|s| v.is(s)))
}
