//! The lexical pieces of both text dialects: numbers, escapes and the
//! sample line. Prometheus text 0.0.4 and OpenMetrics 1.0 write a sample the
//! same way (`name{label="value",...} number`); what differs between them
//! (which lines, the spelling of `le`/`quantile`, HELP escaping) is chosen
//! by the [`Dialect`](crate::Dialect) through [`Quotes`] and [`Integral`].

use bytes::{BufMut, BytesMut};
use hotmetrics_core::{Escaping, Exemplar, HistogramValue, LabelSet, Number, is_legacy_label_name};
pub(crate) use hotmetrics_core::{GoFloat, Integral};

/// Whether `"` is escaped: always in label values, in HELP text only in
/// OpenMetrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quotes {
    /// `"` → `\"`.
    Escaped,
    /// `"` written as it is.
    Verbatim,
}

/// Appends short byte strings without a `memmove` call: a text scrape
/// copies a dozen small pieces a line (names, label values, numbers), and
/// a call per piece was the largest item in its profile.
pub(crate) trait PutSmall: BufMut {
    /// Appends `s`, inline when it is at most 16 bytes.
    fn put_small(&mut self, s: &[u8]);
}

/// Up to 16 bytes as two overlapping copies of a fixed size (8, 4, or
/// single bytes) into 16 zeroed bytes, then the extra cut off: no unsafe,
/// no call.
macro_rules! put_small_by_resizing {
    ($t:ty) => {
        impl PutSmall for $t {
            #[inline(always)]
            fn put_small(&mut self, s: &[u8]) {
                let n = s.len();
                if n > 16 {
                    return self.put_slice(s);
                }
                let at = self.len();
                self.resize(at + 16, 0);
                let dst = &mut self[at..at + 16];
                if n >= 8 {
                    dst[..8].copy_from_slice(&s[..8]);
                    dst[n - 8..n].copy_from_slice(&s[n - 8..]);
                } else if n >= 4 {
                    dst[..4].copy_from_slice(&s[..4]);
                    dst[n - 4..n].copy_from_slice(&s[n - 4..]);
                } else if n > 0 {
                    dst[0] = s[0];
                    dst[n / 2] = s[n / 2];
                    dst[n - 1] = s[n - 1];
                }
                self.truncate(at + n);
            }
        }
    };
}
put_small_by_resizing!(BytesMut);
put_small_by_resizing!(Vec<u8>);

/// Writes a float the way Prometheus parses it back: `NaN`, `+Inf`, `-Inf`,
/// otherwise the shortest representation that round-trips.
pub(crate) fn put_f64(out: &mut BytesMut, v: f64) {
    if v.is_nan() {
        out.put_slice(b"NaN");
    } else if v.is_infinite() {
        out.put_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if let Some(micros) = whole_micros(v) {
        put_micros(out, v.is_sign_negative(), micros);
    } else {
        out.put_small(ryu::Buffer::new().format_finite(v).as_bytes());
    }
}

/// `|v|` in millionths, if `1 <= |v| < 2^32` and `|v|` is exactly the
/// float nearest a whole number of millionths: created timestamps (kept
/// to the microsecond), and sums of round values. For these the decimal
/// with six fraction digits, trailing zeros trimmed, is what ryu writes:
/// below 2^32 floats are less than 10^-6 apart, so no other decimal of at
/// most six fraction digits reads back as `v` (so none is shorter), and
/// ryu writes numbers from 1 to 10^16 in plain notation. Tested against
/// ryu; two `itoa`-style conversions instead of ryu's digit search (which
/// was a fifth of an OpenMetrics scrape, mostly `_created` lines).
#[inline]
fn whole_micros(v: f64) -> Option<u64> {
    let a = v.abs();
    if !(1.0..4_294_967_296.0).contains(&a) {
        return None;
    }
    // Rounded to the nearest millionth (`a * 1e6 < 2^52`, so adding a
    // half is exact),
    // kept only if it reads back as `a` (the division is correctly
    // rounded, as a parser's reading of the decimal is).
    let micros = (a * 1e6 + 0.5) as u64;
    (micros as f64 / 1e6 == a).then_some(micros)
}

/// Writes `micros / 10^6` as `[-]int.frac`: the fraction's trailing zeros
/// trimmed, `.0` for a whole number (as ryu).
#[inline]
fn put_micros(out: &mut BytesMut, negative: bool, micros: u64) {
    if negative {
        out.put_u8(b'-');
    }
    out.put_small(itoa::Buffer::new().format(micros / 1_000_000).as_bytes());
    let mut frac = (micros % 1_000_000) as u32;
    let mut digits = [b'0'; 7];
    digits[0] = b'.';
    if frac == 0 {
        return out.put_small(&digits[..2]);
    }
    for d in digits[1..].iter_mut().rev() {
        *d = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    let len = digits.iter().rposition(|&d| d != b'0').map_or(2, |i| i + 1);
    out.put_small(&digits[..len]);
}

/// Writes a number: integers without a fraction, floats via [`put_f64`].
pub(crate) fn put_number(out: &mut BytesMut, n: Number) {
    match n {
        Number::UInt(v) => out.put_small(itoa::Buffer::new().format(v).as_bytes()),
        Number::Int(v) => out.put_small(itoa::Buffer::new().format(v).as_bytes()),
        Number::Float(v) => put_f64(out, v),
    }
}

/// Writes `s` with `\` → `\\` and newline → `\n`, and `"` as `quotes`
/// says.
pub(crate) fn put_escaped(out: &mut impl PutSmall, s: &str, quotes: Quotes) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quotes == Quotes::Escaped => b"\\\"",
            _ => continue,
        };
        out.put_slice(&s.as_bytes()[start..i]);
        out.put_slice(esc);
        start = i + 1;
    }
    out.put_small(&s.as_bytes()[start..]);
}

/// Histogram bucket bounds spelled once per family instead of once per
/// series: a scrape of a thousand series with the same bounds formats them
/// once. Keeps its buffers, so a steady-state scrape does not allocate.
#[derive(Debug, Default)]
pub(crate) struct BoundsText {
    bounds: Vec<f64>,
    text: Vec<u8>,
    ends: Vec<usize>,
    /// The spelling of the cached text; `None`: nothing cached.
    integral: Option<Integral>,
}

impl BoundsText {
    /// Forgets the cached bounds (call when a family starts).
    pub(crate) fn reset(&mut self) {
        self.integral = None;
    }

    /// Spells `upper_bounds` followed by `+Inf` with [`GoFloat`], unless
    /// they are the ones spelled last.
    fn refresh(&mut self, upper_bounds: &[f64], integral: Integral) {
        if !(self.integral == Some(integral) && self.bounds == upper_bounds) {
            self.bounds.clear();
            self.bounds.extend_from_slice(upper_bounds);
            self.text.clear();
            self.ends.clear();
            for &b in upper_bounds.iter().chain([f64::INFINITY].iter()) {
                self.text
                    .extend_from_slice(GoFloat::new(b, integral).as_bytes());
                self.ends.push(self.text.len());
            }
            self.integral = Some(integral);
        }
    }

    /// The bounds [`refresh`](Self::refresh) spelled, in order.
    fn spelled(&self) -> impl Iterator<Item = &[u8]> {
        let text = &self.text;
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let s = &text[start..end];
            start = end;
            s
        })
    }
}

/// The current family's name as its lines start: escaped as the scrape's
/// [`Escaping`] says, and quoted inside the braces when it is still not a
/// legacy name (`allow-utf-8`): `{"my.metric_total",...}`.
#[derive(Debug, Default)]
pub(crate) struct FamilyName {
    /// The name, escaped, with the suffix the metadata lines write
    /// (text 0.0.4's `_total`); sample suffixes are appended to it.
    pub(crate) text: String,
    /// Whether it is written quoted, inside the braces.
    pub(crate) quoted: bool,
}

impl FamilyName {
    /// The name alone, as metadata lines write it: `my_metric` or
    /// `"my.metric"`.
    pub(crate) fn put(&self, out: &mut BytesMut) {
        self.put_with(out, "");
    }

    /// The name and `suffix`, quoted together when the name is quoted.
    fn put_with(&self, out: &mut impl PutSmall, suffix: &str) {
        if self.quoted {
            out.put_u8(b'"');
            put_escaped(out, &self.text, Quotes::Escaped);
            out.put_small(suffix.as_bytes());
            out.put_u8(b'"');
        } else {
            out.put_small(self.text.as_bytes());
            out.put_small(suffix.as_bytes());
        }
    }
}

/// Appends label name `name` as `escaping` writes it: escaped, or under
/// `allow-utf-8` quoted when it is not a legacy label name. `scratch`
/// holds an escaped name.
pub(crate) fn put_label_name(
    out: &mut impl PutSmall,
    name: &str,
    escaping: Escaping,
    scratch: &mut String,
) {
    if escaping != Escaping::AllowUtf8 {
        out.put_small(escaping.label_name(name, scratch).as_bytes());
    } else if is_legacy_label_name(name) {
        out.put_small(name.as_bytes());
    } else {
        out.put_u8(b'"');
        put_escaped(out, name, Quotes::Escaped);
        out.put_u8(b'"');
    }
}

/// Appends the pairs `pairs` walks as `a="x",b="y"` (no braces): names as
/// `put_name` writes them, values escaped. The one spelling of a label
/// list, for series labels and exemplar labels alike.
fn put_label_pairs<B: PutSmall>(
    out: &mut B,
    pairs: impl FnOnce(&mut dyn FnMut(&str, &str)),
    mut put_name: impl FnMut(&mut B, &str),
) {
    let mut first = true;
    pairs(&mut |name, value| {
        if !first {
            out.put_u8(b',');
        }
        first = false;
        put_name(out, name);
        out.put_slice(b"=\"");
        put_escaped(out, value, Quotes::Escaped);
        out.put_u8(b'"');
    });
}

/// The current family's label names spelled once, as the pieces a series'
/// pairs are written between: `name="` for the first, `,name="` for each
/// next one. Kept while the series' [`LabelSet::names_id`] stays the same
/// (a registry family's series share one); a set without an id is spelled
/// pair by pair. Saves the name checks and copies a series would repeat.
#[derive(Debug, Default)]
pub(crate) struct NamePieces {
    id: Option<std::num::NonZeroUsize>,
    text: Vec<u8>,
    ends: Vec<usize>,
}

impl NamePieces {
    /// Forgets the names (call when a family starts: an id holds only
    /// within one family's visit).
    pub(crate) fn reset(&mut self) {
        self.id = None;
    }

    /// Appends `labels`' pairs as [`put_label_pairs`] writes them, names
    /// as `escaping` writes them.
    pub(crate) fn put(
        &mut self,
        out: &mut impl PutSmall,
        labels: &dyn LabelSet,
        escaping: Escaping,
        scratch: &mut String,
    ) {
        let Some(id) = labels.names_id() else {
            return put_label_pairs(
                out,
                |pair| labels.for_each(pair),
                |out, name| put_label_name(out, name, escaping, scratch),
            );
        };
        let Self {
            id: cached,
            text,
            ends,
        } = self;
        if *cached != Some(id) {
            text.clear();
            ends.clear();
            labels.for_each(&mut |name, _| {
                if !ends.is_empty() {
                    text.push(b',');
                }
                put_label_name(text, name, escaping, scratch);
                text.extend_from_slice(b"=\"");
                ends.push(text.len());
            });
            *cached = Some(id);
        }
        let mut i = 0;
        labels.for_each(&mut |name, value| {
            match ends.get(i) {
                Some(&end) => out.put_small(&text[i.checked_sub(1).map_or(0, |j| ends[j])..end]),
                // More pairs than the id promised: spelled as they come.
                None => {
                    if i > 0 {
                        out.put_u8(b',');
                    }
                    put_label_name(out, name, escaping, scratch);
                    out.put_slice(b"=\"");
                }
            }
            put_escaped(out, value, Quotes::Escaped);
            out.put_u8(b'"');
            i += 1;
        });
    }
}

/// The extra label a sample line carries after the series' own labels.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Extra<'a> {
    /// `quantile="<q>"` on a summary quantile, already spelled.
    Quantile(&'a [u8]),
    /// `<family>="<state>"` on a state-set sample: the label name as
    /// written, the state escaped when written.
    State {
        /// The state label's name, escaped or quoted already.
        label: &'a [u8],
        /// The state.
        state: &'a str,
    },
}

/// A series' label pairs, escaped once (`a="x",b="y"`, no braces) and reused
/// for every line of the series: a histogram writes its labels into 14
/// lines but escapes them once. Keeps its buffer across series and scrapes.
#[derive(Debug, Default)]
pub(crate) struct LabelBlock {
    pairs: Vec<u8>,
    /// Scratch for [`put_buckets`]: `<name>_bucket{<pairs>,le="`.
    bucket_prefix: Vec<u8>,
}

impl LabelBlock {
    /// Replaces the block with `labels`, values escaped, names as
    /// `escaping` writes them.
    pub(crate) fn set(
        &mut self,
        labels: &dyn LabelSet,
        names: &mut NamePieces,
        escaping: Escaping,
        scratch: &mut String,
    ) {
        self.pairs.clear();
        names.put(&mut self.pairs, labels, escaping, scratch);
    }

    /// The escaped pairs.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.pairs
    }

    /// `<name>_bucket{<pairs>,le="` (or `{"<name>_bucket",<pairs>,le="`):
    /// every bucket line of the series starts with it.
    fn bucket_prefix(&mut self, name: &FamilyName) -> &[u8] {
        let prefix = &mut self.bucket_prefix;
        prefix.clear();
        if name.quoted {
            prefix.push(b'{');
            name.put_with(prefix, "_bucket");
            prefix.push(b',');
        } else {
            name.put_with(prefix, "_bucket");
            prefix.push(b'{');
        }
        prefix.extend_from_slice(&self.pairs);
        if !self.pairs.is_empty() {
            prefix.push(b',');
        }
        prefix.extend_from_slice(b"le=\"");
        prefix
    }
}

/// Writes ` # {<labels>} <value>[ <timestamp>]`, the OpenMetrics exemplar
/// that follows a sample's value: label values escaped, value and
/// timestamp (seconds) spelled by [`put_f64`]. Exemplar label names are
/// legacy names (the core refuses others), written as they are.
pub(crate) fn put_exemplar(out: &mut BytesMut, e: &Exemplar) {
    out.put_slice(b" # {");
    put_label_pairs(
        out,
        |pair| e.labels().for_each(|(name, value)| pair(name, value)),
        |out, name| out.put_slice(name.as_bytes()),
    );
    out.put_slice(b"} ");
    put_f64(out, e.value());
    if let Some(t) = e.timestamp() {
        out.put_u8(b' ');
        put_f64(out, t);
    }
}

/// Writes one sample line: `<name><suffix>{labels[,extra]} <value>\n`,
/// or `{"<name><suffix>"[,labels][,extra]} <value>\n` for a quoted name,
/// with `exemplar` after the value when given.
pub(crate) fn put_sample(
    out: &mut BytesMut,
    name: &FamilyName,
    suffix: &str,
    labels: &LabelBlock,
    extra: Option<Extra<'_>>,
    value: Number,
    exemplar: Option<&Exemplar>,
) {
    let labels = labels.as_bytes();
    let braces = name.quoted || !labels.is_empty() || extra.is_some();
    // Whether something inside the braces precedes what comes next.
    let mut inside = name.quoted;
    if name.quoted {
        out.put_u8(b'{');
        name.put_with(out, suffix);
    } else {
        name.put_with(out, suffix);
        if braces {
            out.put_u8(b'{');
        }
    }
    if !labels.is_empty() {
        if inside {
            out.put_u8(b',');
        }
        out.put_small(labels);
        inside = true;
    }
    if let Some(extra) = extra {
        if inside {
            out.put_u8(b',');
        }
        match extra {
            Extra::Quantile(text) => {
                out.put_slice(b"quantile=\"");
                out.put_small(text);
            }
            Extra::State { label, state } => {
                out.put_slice(label);
                out.put_slice(b"=\"");
                put_escaped(out, state, Quotes::Escaped);
            }
        }
        out.put_u8(b'"');
    }
    out.put_slice(if braces { b"} " } else { b" " });
    put_number(out, value);
    if let Some(e) = exemplar {
        put_exemplar(out, e);
    }
    out.put_u8(b'\n');
}

/// Writes the one sample line of a series that writes only one (a gauge,
/// an unknown, an info, a text 0.0.4 counter) as [`put_sample`] does with
/// no extra label, the labels escaped straight into `out`: building a
/// [`LabelBlock`] first would copy them twice for one use.
#[allow(clippy::too_many_arguments)]
pub(crate) fn put_single(
    out: &mut BytesMut,
    name: &FamilyName,
    suffix: &str,
    labels: &dyn LabelSet,
    names: &mut NamePieces,
    escaping: Escaping,
    scratch: &mut String,
    value: Number,
    exemplar: Option<&Exemplar>,
) {
    if name.quoted {
        out.put_u8(b'{');
        name.put_with(out, suffix);
    } else {
        name.put_with(out, suffix);
    }
    // `{` or the comma after a quoted name, taken back if no pair follows
    // (a pair writes at least `="`).
    let open = out.len();
    out.put_u8(if name.quoted { b',' } else { b'{' });
    names.put(out, labels, escaping, scratch);
    let braces = if out.len() == open + 1 {
        out.truncate(open);
        name.quoted
    } else {
        true
    };
    out.put_slice(if braces { b"} " } else { b" " });
    put_number(out, value);
    if let Some(e) = exemplar {
        put_exemplar(out, e);
    }
    out.put_u8(b'\n');
}

/// Writes a histogram's cumulative `_bucket` lines, `+Inf` last, with the
/// bounds spelled through `bounds` as `integral` says, and each bucket's
/// exemplar from `exemplars` (empty: none; else one entry per bucket). The
/// line up to the bound (`<name>_bucket{<labels>,le="`) is the same for
/// every bucket, so it is built once per series and copied.
pub(crate) fn put_buckets(
    out: &mut BytesMut,
    name: &FamilyName,
    labels: &mut LabelBlock,
    bounds: &mut BoundsText,
    h: &HistogramValue<'_>,
    integral: Integral,
    exemplars: &[Option<Exemplar>],
) {
    let prefix = labels.bucket_prefix(name);
    bounds.refresh(h.upper_bounds, integral);
    let mut cumulative = 0u64;
    for (i, (le, count)) in bounds.spelled().zip(h.bucket_counts).enumerate() {
        cumulative += count;
        out.put_small(prefix);
        out.put_small(le);
        out.put_slice(b"\"} ");
        out.put_small(itoa::Buffer::new().format(cumulative).as_bytes());
        if let Some(Some(e)) = exemplars.get(i) {
            put_exemplar(out, e);
        }
        out.put_u8(b'\n');
    }
}

/// Writes a summary's `quantile` lines, integral quantiles as `integral`
/// says.
pub(crate) fn put_quantiles(
    out: &mut BytesMut,
    name: &FamilyName,
    labels: &LabelBlock,
    quantiles: &[(f64, f64)],
    integral: Integral,
) {
    for &(q, v) in quantiles {
        let q = GoFloat::new(q, integral);
        let extra = Some(Extra::Quantile(q.as_bytes()));
        put_sample(out, name, "", labels, extra, Number::Float(v), None);
    }
}

/// Writes one `<name>{labels,<label>="<state>"} 0|1` line per state;
/// `label` is the family's name written as a label name.
pub(crate) fn put_states(
    out: &mut BytesMut,
    name: &FamilyName,
    label: &[u8],
    labels: &LabelBlock,
    states: &[(&str, bool)],
) {
    for (state, on) in states {
        let value = Number::UInt(u64::from(*on));
        let extra = Extra::State { label, state };
        put_sample(out, name, "", labels, Some(extra), value, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `put_f64` wrote before the whole-micros path: ryu for finite
    /// values.
    fn reference(v: f64) -> String {
        if v.is_nan() {
            "NaN".into()
        } else if v.is_infinite() {
            if v > 0.0 { "+Inf" } else { "-Inf" }.into()
        } else {
            ryu::Buffer::new().format_finite(v).into()
        }
    }

    fn written(v: f64) -> String {
        let mut out = BytesMut::new();
        put_f64(&mut out, v);
        String::from_utf8(out.to_vec()).unwrap()
    }

    /// Whole numbers of microseconds across the fast path's range (and its
    /// edges), both signs: the same text as ryu, and each takes the path.
    #[test]
    fn whole_micros_are_written_as_ryu_writes_them() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut values = vec![
            1.0,
            1.5,
            1.000001,
            1.999999,
            2.25,
            10.0,
            1e9,
            1_764_820_000.123_456,
            1_764_820_000.1,
            4_294_967_295.999_999,
            4_294_967_295.0,
            8_589_934_591.999_999,
        ];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Micros from 10^6 to past 2^32 * 10^6: every magnitude of the
            // range and some above it.
            let digits = 7 + x % 10;
            let micros = (x >> 8) % 10u64.pow(digits as u32) + 1_000_000;
            values.push(micros as f64 / 1e6);
        }
        for v in values {
            for v in [v, -v] {
                if v.abs() < 4_294_967_296.0 {
                    assert!(whole_micros(v).is_some(), "{v} not on the fast path");
                }
                assert_eq!(written(v), reference(v), "{v:e}");
            }
        }
    }

    /// Created timestamps as the core takes them (whole microseconds
    /// since the epoch) for every microsecond of a stretch of 2026.
    #[test]
    fn created_timestamps_are_written_as_ryu_writes_them() {
        let start = 1_796_000_000_000_000u64;
        for micros in start..start + 300_000 {
            let v = micros as f64 / 1e6;
            assert_eq!(written(v), reference(v), "{micros}");
        }
    }

    proptest! {
        /// Any float at all: the same text as before.
        #[test]
        fn every_float_is_written_as_before(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assert_eq!(written(v), reference(v));
        }

        /// Floats near the fast path's values (a few ulps off a whole
        /// number of micros, which must fall back to ryu).
        #[test]
        fn floats_next_to_whole_micros_are_written_as_before(
            micros in 1_000_000u64..8_589_934_592_000_000,
            ulps in -3i64..=3,
        ) {
            let v = f64::from_bits(((micros as f64 / 1e6).to_bits() as i64 + ulps) as u64);
            prop_assert_eq!(written(v), reference(v));
        }
    }

    /// `put_small` appends what `put_slice` appends, for every length up
    /// to past the inline limit, into buffers with no, some and plenty of
    /// spare capacity (a `resize` that grows the buffer included).
    #[test]
    fn small_copies_equal_put_slice() {
        let src: Vec<u8> = (0u8..40).map(|b| b'a' + b % 26).collect();
        for n in 0..=src.len() {
            let s = &src[..n];
            for spare in [0, 1, 5, 15, 16, 17, 100] {
                let mut want = BytesMut::with_capacity(3 + spare);
                want.put_slice(b"ab|");
                let mut got = want.clone();
                let mut vec = want.to_vec();
                vec.reserve_exact(spare);
                want.put_slice(s);
                got.put_small(s);
                vec.put_small(s);
                assert_eq!(got, want, "BytesMut, {n} bytes, {spare} spare");
                assert_eq!(vec, &want[..], "Vec, {n} bytes, {spare} spare");
                got.put_small(b"z");
                assert_eq!(got.len(), want.len() + 1);
            }
        }
    }

    /// Pairs without an id.
    struct Pairs<'a>(&'a [(&'a str, &'a str)]);
    impl LabelSet for Pairs<'_> {
        fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
            self.0.for_each(f);
        }
    }

    /// Pairs that vouch for their names with an id, as a family's do.
    struct Keyed<'a>(usize, &'a [(&'a str, &'a str)]);
    impl LabelSet for Keyed<'_> {
        fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
            self.1.for_each(f);
        }
        fn names_id(&self) -> Option<std::num::NonZeroUsize> {
            std::num::NonZeroUsize::new(self.0)
        }
    }

    /// `put_single` writes the line `put_sample` writes from a label block,
    /// for quoted and plain names, no labels, labels to escape or quote,
    /// with and without an exemplar; and names spelled once for sets with
    /// an id write what sets without one write.
    #[test]
    fn a_single_line_equals_the_line_from_a_label_block() {
        let exemplar = Exemplar::new(&[("trace_id", "a\"b")], 0.5, Some(1.25)).unwrap();
        let label_sets: [&[(&str, &str)]; 4] = [
            &[],
            &[("a", "x")],
            &[("path", "/a\"b\\c\nd"), ("code", "200")],
            &[("my.label", "v"), ("b", "")],
        ];
        for escaping in [Escaping::AllowUtf8, Escaping::Underscores, Escaping::Dots] {
            for (text, quoted) in [("up", false), ("my.metric", true)] {
                let name = FamilyName {
                    text: text.to_string(),
                    quoted,
                };
                // Names kept across the sets (ids 1..): each set's id
                // differs, so each spells its names anew, then reuses them.
                let mut kept = NamePieces::default();
                for (id, labels) in label_sets.into_iter().enumerate() {
                    for e in [None, Some(&exemplar)] {
                        let mut scratch = String::new();
                        let mut block = LabelBlock::default();
                        let mut fresh = NamePieces::default();
                        block.set(&Pairs(labels), &mut fresh, escaping, &mut scratch);
                        let mut want = BytesMut::new();
                        put_sample(&mut want, &name, "_total", &block, None, Number::UInt(7), e);
                        for set in [&Pairs(labels) as &dyn LabelSet, &Keyed(id + 1, labels)] {
                            let mut got = BytesMut::from(&b"# before\n"[..]);
                            let value = Number::UInt(7);
                            let names = &mut kept;
                            put_single(
                                &mut got,
                                &name,
                                "_total",
                                set,
                                names,
                                escaping,
                                &mut scratch,
                                value,
                                e,
                            );
                            assert_eq!(
                                std::str::from_utf8(&got[9..]).unwrap(),
                                std::str::from_utf8(&want).unwrap(),
                                "{escaping:?} {text} {labels:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// A set with more pairs than its id's names were spelled from still
    /// writes every pair (the extra ones spelled as they come), and a reset
    /// forgets the names.
    #[test]
    fn kept_names_cover_extra_pairs_and_reset() {
        let mut names = NamePieces::default();
        let mut scratch = String::new();
        let mut out = Vec::new();
        names.put(
            &mut out,
            &Keyed(9, &[("a", "1")]),
            Escaping::Underscores,
            &mut scratch,
        );
        out.push(b'|');
        names.put(
            &mut out,
            &Keyed(9, &[("a", "2"), ("b.c", "3")]),
            Escaping::Underscores,
            &mut scratch,
        );
        out.push(b'|');
        names.reset();
        names.put(
            &mut out,
            &Keyed(9, &[("x", "4")]),
            Escaping::Underscores,
            &mut scratch,
        );
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"a="1"|a="2",b_c="3"|x="4""#
        );
    }

    #[test]
    fn bounds_are_recomputed_when_they_change() {
        let mut cache = BoundsText::default();
        cache.refresh(&[0.5, 1.0], Integral::Bare);
        let a: Vec<&[u8]> = cache.spelled().collect::<Vec<_>>();
        assert_eq!(a, [&b"0.5"[..], b"1", b"+Inf"]);
        cache.refresh(&[0.5, 2.0], Integral::Point);
        let b: Vec<Vec<u8>> = cache.spelled().map(<[u8]>::to_vec).collect();
        assert_eq!(b, [b"0.5".to_vec(), b"2.0".to_vec(), b"+Inf".to_vec()]);
    }
}
