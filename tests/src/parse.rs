//! A strict parser for Prometheus text 0.0.4 and OpenMetrics 1.0, used by
//! the property tests and the fuzz targets to prove that what the encoders
//! write reads back to the same values. The interop tests check the same
//! output with parsers nobody here wrote (promtool, Python
//! `prometheus_client`); this one exists because it is fast enough to run
//! on every proptest case and fuzz input, and strict where those are
//! lenient: it rejects anything our encoders must never write.

use std::fmt;

/// Which grammar to parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Prometheus text 0.0.4.
    Text,
    /// OpenMetrics 1.0.0.
    OpenMetrics,
}

/// One parsed sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The sample name (`x_total`, `x_bucket`, ...).
    pub name: String,
    /// Label pairs in written order, unescaped.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// One parsed family: its metadata and samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Family {
    /// The name the metadata lines carry.
    pub name: String,
    /// Unescaped HELP text, if any.
    pub help: Option<String>,
    /// The TYPE keyword.
    pub metric_type: String,
    /// The UNIT, if any (OpenMetrics).
    pub unit: Option<String>,
    /// Samples in written order.
    pub samples: Vec<Sample>,
}

/// What was wrong, and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Line number.
    pub line: usize,
    /// Description.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole exposition. Every family must start with metadata
/// (HELP, TYPE, UNIT in any order, each at most once, TYPE required), each
/// sample must belong to the current family, and histogram buckets must be
/// cumulative and end with `+Inf` equal to `_count`.
pub fn parse(text: &str, dialect: Dialect) -> Result<Vec<Family>, ParseError> {
    let mut families: Vec<Family> = Vec::new();
    let mut line_no = 0;
    let err = |line: usize, message: String| ParseError { line, message };
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(err(0, "exposition does not end with a newline".into()));
    }
    let mut eof = false;
    let mut in_samples = false;
    for line in text.split_terminator('\n') {
        line_no += 1;
        if eof {
            return Err(err(line_no, "content after # EOF".into()));
        }
        if line.is_empty() {
            return Err(err(line_no, "blank line".into()));
        }
        if dialect == Dialect::OpenMetrics && line == "# EOF" {
            eof = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let (keyword, rest) = rest
                .split_once(' ')
                .ok_or_else(|| err(line_no, format!("bad metadata {line:?}")))?;
            let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
            let starts_new = families.last().is_none_or(|f| f.name != name || in_samples);
            if starts_new {
                if families.iter().any(|f| f.name == name) {
                    return Err(err(line_no, format!("family {name} appears twice")));
                }
                families.push(Family {
                    name: name.to_owned(),
                    ..Family::default()
                });
                in_samples = false;
            }
            let family = families.last_mut().expect("pushed above");
            let slot = match keyword {
                "HELP" => &mut family.help,
                "UNIT" if dialect == Dialect::OpenMetrics => &mut family.unit,
                "TYPE" => {
                    if !family.metric_type.is_empty() {
                        return Err(err(line_no, format!("second TYPE for {name}")));
                    }
                    let known: &[&str] = match dialect {
                        Dialect::Text => &["counter", "gauge", "histogram", "summary", "untyped"],
                        Dialect::OpenMetrics => &[
                            "counter",
                            "gauge",
                            "histogram",
                            "gaugehistogram",
                            "summary",
                            "info",
                            "stateset",
                            "unknown",
                        ],
                    };
                    if !known.contains(&value) {
                        return Err(err(line_no, format!("unknown type {value:?}")));
                    }
                    family.metric_type = value.to_owned();
                    continue;
                }
                other => return Err(err(line_no, format!("unknown keyword {other:?}"))),
            };
            if slot.is_some() {
                return Err(err(line_no, format!("second {keyword} for {name}")));
            }
            let quotes = dialect == Dialect::OpenMetrics;
            let text = unescape(value, quotes).map_err(|m| err(line_no, m))?;
            *slot = Some(text);
            continue;
        }
        if line.starts_with('#') {
            return Err(err(line_no, format!("stray comment {line:?}")));
        }
        let sample = parse_sample(line, dialect).map_err(|m| err(line_no, m))?;
        let family = families
            .last_mut()
            .ok_or_else(|| err(line_no, "sample before any metadata".into()))?;
        if family.metric_type.is_empty() {
            return Err(err(line_no, format!("family {} has no TYPE", family.name)));
        }
        let suffix = sample
            .name
            .strip_prefix(family.name.as_str())
            .ok_or_else(|| {
                err(
                    line_no,
                    format!("{} outside family {}", sample.name, family.name),
                )
            })?;
        if !allowed_suffixes(&family.metric_type, dialect).contains(&suffix) {
            return Err(err(
                line_no,
                format!(
                    "sample {} not allowed in {} family",
                    sample.name, family.metric_type
                ),
            ));
        }
        let counter_like = matches!(
            (family.metric_type.as_str(), suffix),
            ("counter", "_total") | ("histogram" | "summary", "_sum" | "_count" | "_bucket")
        );
        if dialect == Dialect::OpenMetrics
            && counter_like
            && (sample.value.is_nan() || sample.value < 0.0)
        {
            return Err(err(
                line_no,
                format!("counter-like {} is {}", sample.name, sample.value),
            ));
        }
        in_samples = true;
        family.samples.push(sample);
    }
    if dialect == Dialect::OpenMetrics && !eof {
        return Err(err(line_no, "missing # EOF".into()));
    }
    for f in &families {
        if f.metric_type.is_empty() {
            return Err(err(0, format!("family {} has no TYPE", f.name)));
        }
        if let Some(unit) = &f.unit
            && !f
                .name
                .strip_suffix(unit.as_str())
                .is_some_and(|r| r.ends_with('_'))
        {
            return Err(err(
                0,
                format!("unit {unit:?} is not the suffix of {}", f.name),
            ));
        }
        if f.metric_type == "histogram" {
            check_histogram(f, dialect).map_err(|m| err(0, m))?;
        }
    }
    Ok(families)
}

fn allowed_suffixes(metric_type: &str, dialect: Dialect) -> &'static [&'static str] {
    match (metric_type, dialect) {
        ("counter", Dialect::Text) => &["", "_total"],
        ("counter", Dialect::OpenMetrics) => &["_total", "_created"],
        ("histogram", Dialect::Text) => &["_bucket", "_sum", "_count"],
        ("histogram", Dialect::OpenMetrics) => &["_bucket", "_sum", "_count", "_created"],
        ("summary", Dialect::Text) => &["", "_sum", "_count"],
        ("summary", Dialect::OpenMetrics) => &["", "_sum", "_count", "_created"],
        ("info", _) => &["_info"],
        _ => &[""],
    }
}

/// Buckets are cumulative, `le` increases, the last is `+Inf` and equals
/// `_count`, per label set.
fn check_histogram(f: &Family, dialect: Dialect) -> Result<(), String> {
    let series_key = |s: &Sample| -> Vec<(String, String)> {
        s.labels
            .iter()
            .filter(|(n, _)| n != "le")
            .cloned()
            .collect()
    };
    let mut keys: Vec<Vec<(String, String)>> = Vec::new();
    for s in &f.samples {
        let k = series_key(s);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for key in keys {
        let mine = f.samples.iter().filter(|s| series_key(s) == key);
        let mut last_le = f64::NEG_INFINITY;
        let mut last_count = 0.0;
        let mut inf = None;
        let mut count = None;
        let mut negative_bound = false;
        for s in mine {
            match s.name.strip_prefix(f.name.as_str()) {
                Some("_bucket") => {
                    let le = s
                        .labels
                        .iter()
                        .find(|(n, _)| n == "le")
                        .ok_or("bucket without le")?;
                    let bound = parse_value(&le.1)?;
                    if dialect == Dialect::OpenMetrics && !le.1.contains(['.', 'e', 'I', 'N']) {
                        return Err(format!("le {:?} is not canonical", le.1));
                    }
                    if bound <= last_le {
                        return Err(format!("le {bound} not increasing in {}", f.name));
                    }
                    if s.value < last_count {
                        return Err(format!("buckets not cumulative in {}", f.name));
                    }
                    last_le = bound;
                    negative_bound |= bound < 0.0;
                    last_count = s.value;
                    if bound == f64::INFINITY {
                        inf = Some(s.value);
                    }
                }
                Some("_count") => count = Some(s.value),
                _ => {}
            }
        }
        let inf = inf.ok_or_else(|| format!("{} has no +Inf bucket", f.name))?;
        // OpenMetrics leaves `_count` out together with `_sum` when the sum
        // is not counter-like; 0.0.4 always has it.
        let optional = dialect == Dialect::OpenMetrics && count.is_none();
        if count != Some(inf) && !optional {
            return Err(format!("{}: +Inf bucket {inf} != count {count:?}", f.name));
        }
        if dialect == Dialect::OpenMetrics && count.is_some() && negative_bound {
            return Err(format!("{}: _sum/_count with a negative bucket", f.name));
        }
    }
    Ok(())
}

/// `name[{labels}] value`.
fn parse_sample(line: &str, dialect: Dialect) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| format!("no value in {line:?}"))?;
    let name = &line[..name_end];
    if !valid_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels: Vec<(String, String)> = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = rest.find('=').ok_or("label without =")?;
            let label = &rest[..eq];
            if !valid_label_name(label) {
                return Err(format!("invalid label name {label:?}"));
            }
            if labels.iter().any(|(n, _)| n == label) {
                return Err(format!("duplicate label {label:?}"));
            }
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or("label value not quoted")?;
            let (raw, after) = quoted(rest)?;
            labels.push((label.to_owned(), unescape(raw, true)?));
            rest = after;
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
                if dialect == Dialect::OpenMetrics && rest.starts_with('}') {
                    return Err("trailing comma in labels".into());
                }
            } else if !rest.starts_with('}') {
                return Err(format!("expected , or }} in {line:?}"));
            }
        }
    }
    let value = rest
        .strip_prefix(' ')
        .ok_or_else(|| format!("no space before value in {line:?}"))?;
    if value.contains(' ') {
        return Err(format!("unexpected timestamp or exemplar in {line:?}"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value: parse_value(value)?,
    })
}

/// Splits at the closing unescaped quote: `(raw inside, rest after)`.
fn quoted(s: &str) -> Result<(&str, &str), String> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Ok((&s[..i], &s[i + 1..])),
            b'\n' => return Err("raw newline in label value".into()),
            _ => i += 1,
        }
    }
    Err("unterminated label value".into())
}

/// Undoes `\\`, `\n` and (when `quotes`) `\"`; any other escape is an error.
fn unescape(s: &str, quotes: bool) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            other => return Err(format!("invalid escape \\{other:?} in {s:?}")),
        }
    }
    Ok(out)
}

/// `NaN`, `+Inf`, `-Inf` or a float literal.
pub fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ if s.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') => {
            Err(format!("bad value {s:?}"))
        }
        _ => s.parse().map_err(|_| format!("bad value {s:?}")),
    }
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_dialects() {
        let text = "# HELP a_total x \\\\ \\n \"q\"\n# TYPE a_total counter\na_total{l=\"\\\"\\n\"} 3\n\
                    # TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";
        let f = parse(text, Dialect::Text).unwrap();
        assert_eq!(f[0].help.as_deref(), Some("x \\ \n \"q\""));
        assert_eq!(f[0].samples[0].labels, [("l".into(), "\"\n".into())]);
        let om = "# TYPE a counter\n# UNIT a_seconds seconds\na_total 1\na_created 2.5\n# EOF\n";
        assert!(
            parse(om, Dialect::OpenMetrics).is_err(),
            "UNIT names another family"
        );
        let om = "# TYPE a_seconds counter\n# UNIT a_seconds seconds\na_seconds_total 1\n# EOF\n";
        assert_eq!(
            parse(om, Dialect::OpenMetrics).unwrap()[0].unit.as_deref(),
            Some("seconds")
        );
    }

    #[test]
    fn rejects_what_encoders_must_never_write() {
        let bad_text = [
            "a 1",                                    // no final newline
            "a 1\n",                                  // no TYPE
            "# TYPE a gauge\n\na 1\n",                // blank line
            "# TYPE a gauge\nb 1\n",                  // sample outside family
            "# TYPE a gauge\na{l=\"x} 1\n",           // unterminated value
            "# TYPE a gauge\na{l=\"\\t\"} 1\n",       // bad escape
            "# TYPE a gauge\na{l=\"1\",l=\"2\"} 1\n", // duplicate label
            "# TYPE a gauge\na one\n",                // bad value
            "# HELP a \\\"\n# TYPE a gauge\n",        // \" not an escape in 0.0.4 HELP
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n",
            "# TYPE a gauge\na 1\n# TYPE a gauge\n", // family twice
        ];
        for text in bad_text {
            assert!(parse(text, Dialect::Text).is_err(), "{text:?}");
        }
        let bad_om = [
            "# TYPE a gauge\na 1\n",             // no EOF
            "# TYPE a gauge\na 1\n# EOF\na 2\n", // after EOF
            "# TYPE a counter\na 1\n# EOF\n",    // counter without _total
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n# EOF\n",
        ];
        for text in bad_om {
            assert!(parse(text, Dialect::OpenMetrics).is_err(), "{text:?}");
        }
    }
}
