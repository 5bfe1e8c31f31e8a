//! What a parser read, in one shape for every reader: [`Fam`]ilies of
//! [`Sample`]s, the way Python's `prometheus_client` reports them, and their
//! [`render`]ing as comparable lines (family metadata, then samples with
//! sorted labels and `le`/`quantile` spelled as numbers).
//!
//! [`from_protobuf`] brings a protobuf reading (protoc's or prost's) into
//! the same shape, so every format can be compared with the others.

use crate::proto;

/// A family as a parser reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Fam {
    /// The family name (0.0.4 counters without `_total`, as Python reads
    /// them).
    pub name: String,
    /// The type keyword, OpenMetrics spelling (`unknown`, not `untyped`).
    pub ty: String,
    /// The unit, empty when there is none.
    pub unit: String,
    /// The HELP text, unescaped.
    pub help: String,
    /// The samples, in the order read.
    pub samples: Vec<Sample>,
}

/// One sample as a parser reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The sample name (`x_total`, `x_bucket`, ...).
    pub name: String,
    /// Label pairs, unescaped, in the order read.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// `v` as Rust's shortest round-trip spelling, `NaN` for every NaN.
pub fn fmt_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else {
        format!("{v:?}")
    }
}

/// Backslash, quote, newline, CR and tab escaped (as parse.py does).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`esc`]; a dangling backslash is an error.
pub fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(c) => out.push(c),
            None => return Err(format!("dangling backslash in {s:?}")),
        }
    }
    Ok(out)
}

/// `k="v",...` as parse.py prints labels, values unescaped.
pub fn parse_labels(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut labels = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once("=\"")
            .ok_or_else(|| format!("no label name in {rest:?}"))?;
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or_else(|| format!("no closing quote in {after:?}"))?;
        labels.push((name.to_owned(), unescape(&after[..end])?));
        rest = after[end + 1..]
            .strip_prefix(',')
            .unwrap_or(&after[end + 1..]);
    }
    Ok(labels)
}

/// One line per family (metadata) followed by its samples, sorted; labels
/// sorted, `le` and `quantile` values spelled as the numbers they are.
pub fn render(fams: &[Fam]) -> Vec<String> {
    let mut lines = Vec::new();
    for f in fams {
        lines.push(format!(
            "# {} {} unit={:?} help=\"{}\"",
            f.name,
            f.ty,
            f.unit,
            esc(&f.help)
        ));
        lines.extend(sorted_samples(&f.samples));
    }
    lines
}

/// One sample as a line: `name{sorted labels} value`.
pub fn render_sample(s: &Sample) -> String {
    let mut labels = s.labels.clone();
    labels.sort();
    let labels: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            let v = match (k.as_str(), v.parse::<f64>()) {
                ("le" | "quantile", Ok(f)) => fmt_f64(f),
                _ => esc(v),
            };
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{}{{{}}} {}", s.name, labels.join(","), fmt_f64(s.value))
}

/// The samples rendered and sorted.
pub fn sorted_samples(samples: &[Sample]) -> Vec<String> {
    let mut lines: Vec<String> = samples.iter().map(render_sample).collect();
    lines.sort();
    lines
}

/// The families that have samples: the protobuf encoder leaves out families
/// without series, as Go's client does (`NormalizeMetricFamilies`); the
/// text formats keep their metadata.
pub fn non_empty(fams: &[Fam]) -> Vec<Fam> {
    fams.iter()
        .filter(|f| !f.samples.is_empty())
        .cloned()
        .collect()
}

/// `fams` without `_created` samples (OpenMetrics-only), for comparing
/// OpenMetrics with the formats that lack them.
pub fn without_created(fams: &[Fam]) -> Vec<Sample> {
    fams.iter()
        .filter(|f| matches!(f.ty.as_str(), "counter" | "histogram" | "summary"))
        .flat_map(|f| {
            let created = format!("{}_created", f.name);
            f.samples.iter().filter(move |s| s.name != created).cloned()
        })
        .chain(
            fams.iter()
                .filter(|f| !matches!(f.ty.as_str(), "counter" | "histogram" | "summary"))
                .flat_map(|f| f.samples.iter().cloned()),
        )
        .collect()
}

/// The `_created` samples of an OpenMetrics reading.
pub fn created_samples(fams: &[Fam]) -> Vec<Sample> {
    fams.iter()
        .flat_map(|f| {
            let created = format!("{}_created", f.name);
            f.samples.iter().filter(move |s| s.name == created).cloned()
        })
        .collect()
}

/// A protobuf reading as the Python 0.0.4 parser would report the same data
/// (`+Inf` bucket restored from `sample_count`), plus the creation times as
/// OpenMetrics `_created` samples; an error names a metric whose type field
/// is missing or a type we never write.
pub fn from_protobuf(families: &[proto::MetricFamily]) -> Result<(Vec<Fam>, Vec<Sample>), String> {
    use proto::MetricType as T;
    let mut fams = Vec::new();
    let mut created = Vec::new();
    for f in families {
        let pb_name = f.name();
        let (name, ty) = match f.r#type() {
            T::Counter => (pb_name.strip_suffix("_total").unwrap_or(pb_name), "counter"),
            T::Gauge => (pb_name, "gauge"),
            T::Summary => (pb_name, "summary"),
            T::Untyped => (pb_name, "unknown"),
            T::Histogram => (pb_name, "histogram"),
            T::GaugeHistogram => return Err(format!("{pb_name}: we write no gauge histograms")),
        };
        let created_name = format!("{name}_created");
        let mut samples = Vec::new();
        for m in &f.metric {
            let labels: Vec<(String, String)> = m
                .label
                .iter()
                .map(|l| (l.name().to_owned(), l.value().to_owned()))
                .collect();
            let mut push = |suffix: &str, extra: Option<(&str, f64)>, value: f64| {
                let mut labels = labels.clone();
                if let Some((k, v)) = extra {
                    labels.push((k.to_owned(), fmt_f64(v)));
                }
                samples.push(Sample {
                    name: format!("{pb_name}{suffix}"),
                    labels,
                    value,
                });
            };
            let mut timestamp = |ts: &Option<proto::Timestamp>| {
                if let Some(ts) = ts {
                    created.push(Sample {
                        name: created_name.clone(),
                        labels: labels.clone(),
                        value: ts.seconds as f64 + f64::from(ts.nanos) / 1e9,
                    });
                }
            };
            let missing = || format!("{pb_name}: a {ty} metric without its {ty} field");
            match f.r#type() {
                T::Counter => {
                    let c = m.counter.as_ref().ok_or_else(missing)?;
                    push("", None, c.value());
                    timestamp(&c.created_timestamp);
                }
                T::Gauge => push("", None, m.gauge.as_ref().ok_or_else(missing)?.value()),
                T::Untyped => push("", None, m.untyped.as_ref().ok_or_else(missing)?.value()),
                T::Summary => {
                    let s = m.summary.as_ref().ok_or_else(missing)?;
                    for q in &s.quantile {
                        push("", Some(("quantile", q.quantile())), q.value());
                    }
                    push("_sum", None, s.sample_sum());
                    push("_count", None, s.sample_count() as f64);
                    timestamp(&s.created_timestamp);
                }
                T::Histogram => {
                    let h = m.histogram.as_ref().ok_or_else(missing)?;
                    for b in &h.bucket {
                        let count = b.cumulative_count() as f64;
                        push("_bucket", Some(("le", b.upper_bound())), count);
                    }
                    if h.bucket
                        .last()
                        .is_none_or(|b| b.upper_bound() != f64::INFINITY)
                    {
                        let count = h.sample_count() as f64;
                        push("_bucket", Some(("le", f64::INFINITY)), count);
                    }
                    push("_sum", None, h.sample_sum());
                    push("_count", None, h.sample_count() as f64);
                    timestamp(&h.created_timestamp);
                }
                T::GaugeHistogram => unreachable!("refused before its metrics"),
            }
        }
        fams.push(Fam {
            name: name.to_owned(),
            ty: ty.to_owned(),
            unit: String::new(),
            help: f.help().to_owned(),
            samples,
        });
    }
    Ok((fams, created))
}

/// `<family name> <unit>` for each protobuf family with a unit.
pub fn protobuf_units(families: &[proto::MetricFamily]) -> Vec<String> {
    families
        .iter()
        .filter_map(|f| Some(format!("{} {}", f.name(), f.unit.as_deref()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_labels_read_back() {
        let labels = [
            ("a".to_owned(), "x\\\"\n\r\ty".to_owned()),
            ("b".to_owned(), String::new()),
        ];
        let printed: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", esc(v)))
            .collect();
        assert_eq!(parse_labels(&printed.join(",")), Ok(labels.to_vec()));
    }

    #[test]
    fn broken_labels_are_errors() {
        assert!(parse_labels("a").is_err());
        assert!(parse_labels("a=\"x").is_err());
        assert!(unescape("x\\").is_err());
    }

    #[test]
    fn le_and_quantile_render_as_numbers() {
        let s = Sample {
            name: "h_bucket".to_owned(),
            labels: vec![
                ("le".to_owned(), "+Inf".to_owned()),
                ("a".to_owned(), "1.0".to_owned()),
            ],
            value: f64::NAN,
        };
        assert_eq!(render_sample(&s), "h_bucket{a=\"1.0\",le=\"inf\"} NaN");
    }
}
