//! The two line dialects, and what each lets through in names and tags.
//!
//! One line is `<name>:<value>|<type>`, DogStatsD adding `|#<tags>`. The
//! protocol's own characters (`:`, `|`, `@`, `#`, `,`, newlines) would cut
//! a line in the wrong place, so every name, label name and label value is
//! sanitised: each character outside the set a part may hold becomes `_`.

use hotmetrics_core::Number;

/// How labels travel, chosen when the sink is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// Etsy StatsD (the npm `statsd` daemon, Graphite): labels are folded
    /// into the name as `.<label>.<value>` pairs in the family's label
    /// order, `requests.method.GET.code.200`. Names keep `[A-Za-z0-9_.-]`;
    /// label names and values keep `[A-Za-z0-9_-]` (a `.` in a value would
    /// add a level). A negative
    /// gauge is sent as `g:0|g` then `g:-5|g` in one datagram, since
    /// StatsD reads a leading `-` as "subtract".
    #[default]
    Plain,
    /// DogStatsD (the Datadog agent): labels are tags,
    /// `requests:1|c|#method:GET,code:200`. Names keep `[A-Za-z0-9_.]`; tag names keep
    /// `[A-Za-z0-9_./-]`, tag values also `:` (Datadog's tag alphabet).
    DogStatsd,
}

impl Dialect {
    /// Appends one label to `labels`, the folded suffix or the tag list.
    pub(crate) fn push_label(self, labels: &mut Vec<u8>, name: &str, value: &str) {
        match self {
            Dialect::Plain => {
                labels.push(b'.');
                sanitise(labels, name, is_plain_part);
                labels.push(b'.');
                sanitise(labels, value, is_plain_part);
            }
            Dialect::DogStatsd => {
                if !labels.is_empty() {
                    labels.push(b',');
                }
                sanitise(labels, name, is_tag_name);
                labels.push(b':');
                sanitise(labels, value, is_tag_value);
            }
        }
    }

    /// Appends one whole line: `name` and `suffix`, the value, the type
    /// (`c`, `g`) and the series' `labels` as [`push_label`] made them.
    ///
    /// [`push_label`]: Self::push_label
    pub(crate) fn write_line(
        self,
        out: &mut Vec<u8>,
        name: &[u8],
        suffix: &str,
        labels: &[u8],
        value: Number,
        kind: &str,
    ) {
        out.extend_from_slice(name);
        out.extend_from_slice(suffix.as_bytes());
        if self == Dialect::Plain {
            out.extend_from_slice(labels);
        }
        out.push(b':');
        write_number(out, value);
        out.push(b'|');
        out.extend_from_slice(kind.as_bytes());
        if self == Dialect::DogStatsd && !labels.is_empty() {
            out.extend_from_slice(b"|#");
            out.extend_from_slice(labels);
        }
    }

    /// Appends a gauge line; in [`Dialect::Plain`] a negative value is
    /// preceded by a reset to 0 (same datagram: the caller packs `out` as
    /// one unit), or StatsD would subtract it from the last value.
    pub(crate) fn write_gauge(
        self,
        out: &mut Vec<u8>,
        name: &[u8],
        suffix: &str,
        labels: &[u8],
        value: Number,
    ) {
        if self == Dialect::Plain && is_negative(value) {
            self.write_line(out, name, suffix, labels, Number::UInt(0), "g");
            out.push(b'\n');
        }
        self.write_line(out, name, suffix, labels, value, "g");
    }
}

fn is_negative(value: Number) -> bool {
    match value {
        Number::UInt(_) => false,
        Number::Int(v) => v < 0,
        Number::Float(v) => v < 0.0,
    }
}

/// Appends `s`, each character `keep` refuses replaced by `_`.
pub(crate) fn sanitise(out: &mut Vec<u8>, s: &str, keep: fn(u8) -> bool) {
    for c in s.chars() {
        match u8::try_from(c) {
            Ok(b) if keep(b) => out.push(b),
            _ => out.push(b'_'),
        }
    }
}

/// What a metric name keeps in DogStatsD (Datadog's metric name
/// alphabet): `.` separates levels.
pub(crate) fn is_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.')
}

/// What a metric name keeps in plain StatsD: also `-` (the npm daemon
/// keeps `[A-Za-z0-9_.-]` in keys, Graphite takes it), so a prefix such
/// as Faust's `faust-app` arrives as written.
pub(crate) fn is_plain_name(b: u8) -> bool {
    is_name(b) || b == b'-'
}

impl Dialect {
    /// What a metric name keeps in this dialect.
    pub(crate) fn name_char(self) -> fn(u8) -> bool {
        match self {
            Dialect::Plain => is_plain_name,
            Dialect::DogStatsd => is_name,
        }
    }
}

fn is_plain_part(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

pub(crate) fn is_tag_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/')
}

/// Whether the label named `raw` goes on the wire as the tag name
/// `clean` (one that sanitises to itself) in [`Dialect::DogStatsd`], the
/// only dialect with constant tags.
pub(crate) fn same_tag_name(raw: &str, clean: &str) -> bool {
    raw.chars()
        .map(|c| {
            u8::try_from(c)
                .ok()
                .filter(|&b| is_tag_name(b))
                .unwrap_or(b'_')
        })
        .eq(clean.bytes())
}

fn is_tag_value(b: u8) -> bool {
    is_tag_name(b) || b == b':'
}

/// Whether a value can be sent: StatsD daemons refuse NaN and infinities.
pub(crate) fn is_finite(value: Number) -> bool {
    match value {
        Number::Float(v) => v.is_finite(),
        _ => true,
    }
}

/// Integers as integers (a float that holds one exactly too), other
/// floats in their shortest round-tripping form (`0.25`, `1e-7`).
pub(crate) fn write_number(out: &mut Vec<u8>, value: Number) {
    out.extend_from_slice(NumberText::default().format(value).as_bytes());
}

/// Buffers to print a [`Number`] without allocating.
#[derive(Default)]
pub(crate) struct NumberText {
    int: itoa::Buffer,
    float: ryu::Buffer,
}

impl NumberText {
    /// `value` as [`write_number`] prints it.
    pub(crate) fn format(&mut self, value: Number) -> &str {
        match value {
            Number::UInt(v) => self.int.format(v),
            Number::Int(v) => self.int.format(v),
            // 2^53: every integer below is exact in an f64.
            Number::Float(v) if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 => {
                self.int.format(v as i64)
            }
            Number::Float(v) => self.float.format(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn protocol_characters_never_reach_the_line() {
        let nasty = "a:b|c@d#e,f\ng\rh i.j/k\u{e9}";
        let plain = text(|o| Dialect::Plain.push_label(o, nasty, nasty));
        assert_eq!(plain, ".a_b_c_d_e_f_g_h_i_j_k_.a_b_c_d_e_f_g_h_i_j_k_");
        let dog = text(|o| Dialect::DogStatsd.push_label(o, nasty, nasty));
        assert_eq!(dog, "a_b_c_d_e_f_g_h_i.j/k_:a:b_c_d_e_f_g_h_i.j/k_");
        let name = text(|o| sanitise(o, "ns:x|y@z#w,v\nq-r.s", is_name));
        assert_eq!(name, "ns_x_y_z_w_v_q_r.s");
        let plain = |s| text(|o| sanitise(o, s, Dialect::Plain.name_char()));
        assert_eq!(plain("ns:x|y@z#w,v\nq-r.s"), "ns_x_y_z_w_v_q-r.s");
        assert_eq!(plain("faust-app"), "faust-app");
    }

    #[test]
    fn label_names_compare_as_sent() {
        assert!(same_tag_name("env", "env"));
        assert!(same_tag_name("e:v", "e_v"), "both go out as e_v");
        assert!(same_tag_name("\u{e9}", "_"));
        assert!(!same_tag_name("env", "en"));
        assert!(!same_tag_name("en", "env"));
    }

    #[test]
    fn tags_are_separated_by_commas() {
        let dog = text(|o| {
            Dialect::DogStatsd.push_label(o, "a", "1");
            Dialect::DogStatsd.push_label(o, "b", "2");
        });
        assert_eq!(dog, "a:1,b:2");
    }

    #[test]
    fn numbers_print_short_and_exact() {
        let cases = [
            (Number::UInt(u64::MAX), "18446744073709551615"),
            (Number::Int(-3), "-3"),
            (Number::Float(2.0), "2"),
            (Number::Float(-0.25), "-0.25"),
            (Number::Float(1e-7), "1e-7"),
            (Number::Float(1e300), "1e300"),
        ];
        for (n, want) in cases {
            assert_eq!(text(|o| write_number(o, n)), want);
        }
        assert!(!is_finite(Number::Float(f64::NAN)));
        assert!(!is_finite(Number::Float(f64::INFINITY)));
    }

    #[test]
    fn negative_plain_gauges_reset_first() {
        let line = |d: Dialect, v| text(|o| d.write_gauge(o, b"t", "", b"", v));
        assert_eq!(line(Dialect::Plain, Number::Int(-5)), "t:0|g\nt:-5|g");
        assert_eq!(line(Dialect::Plain, Number::Int(5)), "t:5|g");
        assert_eq!(line(Dialect::DogStatsd, Number::Float(-1.5)), "t:-1.5|g");
    }
}
