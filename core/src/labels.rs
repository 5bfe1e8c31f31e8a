//! Name validation and the label sets of registered series.

use crate::error::Error;
use crate::escaping::Escaping;
use crate::visit::{LabelSet, MetricType};

/// Which metric and label names a registry accepts
/// ([`RegistryBuilder::name_validation`](crate::RegistryBuilder::name_validation)),
/// after prometheus/common `model.ValidationScheme`.
///
/// ```
/// use hotmetrics_core::{Error, NameValidation, Registry};
///
/// let registry = Registry::builder().name_validation(NameValidation::Utf8).build().unwrap();
/// let requests = registry
///     .counter_vec(("http.server.requests", "Requests served."), &["http.method"])
///     .unwrap();
/// requests.with(&["GET"], |c| c.inc()).unwrap();
///
/// // Two names a scraper without UTF-8 support would read as one.
/// let e = registry.gauge(("http_server_requests_total", "Clash.")).unwrap_err();
/// assert!(matches!(e, Error::EscapedNameClash { .. }));
/// assert!(Registry::new().counter(("http.server.requests", "Legacy.")).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameValidation {
    /// Metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
    /// `[a-zA-Z_][a-zA-Z0-9_]*`; every Prometheus reads them, and every
    /// [`Escaping`] writes them unchanged.
    #[default]
    Legacy,
    /// Prometheus 3's UTF-8 names (`UTF8Validation`): any non-empty name,
    /// `my.metric`, `http.method`. Label names still may not start with
    /// `__` (reserved for Prometheus' own labels), nor turn into such a
    /// name once escaped. Scrapes that do not ask for `allow-utf-8` get
    /// the names escaped ([`Escaping`]); two names that the default
    /// escaping (underscores) writes the same are refused
    /// ([`Error::EscapedNameClash`]). Clashes under `dots` and `values`
    /// are not checked (`a.b` and a legacy `a_dot_b` are one name under
    /// `dots`), and `dots` writes a label name that starts with a digit
    /// or a non-ASCII letter as a reserved `__` name, which Prometheus
    /// drops.
    Utf8,
}

impl NameValidation {
    /// Checks a metric name (or a registry prefix) under this scheme.
    ///
    /// ```
    /// use hotmetrics_core::NameValidation;
    /// assert!(NameValidation::Utf8.validate_metric_name("my.metric").is_ok());
    /// assert!(NameValidation::Utf8.validate_metric_name("").is_err());
    /// assert!(NameValidation::Legacy.validate_metric_name("my.metric").is_err());
    /// ```
    pub fn validate_metric_name(self, name: &str) -> Result<(), Error> {
        match self {
            NameValidation::Legacy => validate_metric_name(name),
            NameValidation::Utf8 if name.is_empty() => Err(Error::InvalidUtf8Name {
                kind: "metric",
                name: String::new(),
                reason: "names may not be empty",
            }),
            NameValidation::Utf8 => Ok(()),
        }
    }

    /// Checks a label name under this scheme.
    ///
    /// ```
    /// use hotmetrics_core::NameValidation;
    /// assert!(NameValidation::Utf8.validate_label_name("http.method").is_ok());
    /// assert!(NameValidation::Utf8.validate_label_name("__meta").is_err());
    /// // `_` once escaped.
    /// assert!(NameValidation::Utf8.validate_label_name("_.x").is_err());
    /// ```
    pub fn validate_label_name(self, name: &str) -> Result<(), Error> {
        if self == NameValidation::Legacy {
            return validate_label_name(name);
        }
        let reason = if name.is_empty() {
            "names may not be empty"
        } else if name.starts_with("__") {
            "names starting with \"__\" are reserved for Prometheus' own labels"
        } else if escapes_to_reserved(name) {
            "escaped with underscores (for scrapes without UTF-8 support) it would \
             start with \"__\", reserved for Prometheus' own labels"
        } else {
            return Ok(());
        };
        Err(Error::InvalidUtf8Name {
            kind: "label",
            name: name.to_owned(),
            reason,
        })
    }

    pub(crate) fn is_metric_name(self, name: &str) -> bool {
        self.validate_metric_name(name).is_ok()
    }

    /// Whether `name` is a valid label name under this scheme. Allocates
    /// nothing: scrapes check every collected series' label names.
    pub(crate) fn is_label_name(self, name: &str) -> bool {
        match self {
            NameValidation::Legacy => is_label_name(name),
            NameValidation::Utf8 => {
                !name.is_empty() && !name.starts_with("__") && !escapes_to_reserved(name)
            }
        }
    }
}

/// Whether label name `name`, escaped with underscores, starts with `__`,
/// without building the escaped name: a legacy name stays as it is (and
/// `__` is refused before this is asked); otherwise the first character
/// becomes `_` unless it is a letter, the second unless it is a letter or
/// a digit.
fn escapes_to_reserved(name: &str) -> bool {
    if is_label_name(name) {
        return false;
    }
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| !c.is_ascii_alphabetic());
    let second = chars.next().is_some_and(|c| !c.is_ascii_alphanumeric());
    first && second
}

/// `name` as a scrape with the default escaping (underscores) reads it.
pub(crate) fn escaped_metric(name: &str) -> String {
    let mut s = String::new();
    Escaping::default().metric_name(name, &mut s).to_owned()
}

/// A label name as a scrape with the default escaping reads it.
fn escaped_label(name: &str) -> String {
    let mut s = String::new();
    Escaping::default().label_name(name, &mut s).to_owned()
}

/// Whether `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*` and does not start with
/// `__`.
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// Checks a metric name against `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn validate_metric_name(name: &str) -> Result<(), Error> {
    if is_metric_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidMetricName(name.to_owned()))
    }
}

/// Checks a label name against `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with
/// `__` (reserved for Prometheus' internal labels).
pub fn validate_label_name(name: &str) -> Result<(), Error> {
    if is_label_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidLabelName(name.to_owned()))
    }
}

/// Where a label name of a series comes from, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `RegistryBuilder::const_label`.
    RegistryConst,
    /// `Opts::const_label`.
    MetricConst,
    /// The family's declared label names.
    Label,
    /// A label an info metric carries (`Info::set`).
    Info,
}

impl Origin {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Origin::RegistryConst => "a constant label of the registry",
            Origin::MetricConst => "a constant label of the metric",
            Origin::Label => "a label name",
            Origin::Info => "an info label",
        }
    }
}

/// Validates the label names a family of `metric_type` declares, const
/// labels included: syntax, duplicates, and the names the type reserves.
/// `name` is the family's full name (a state set reserves it), `given` the
/// name its registrant typed (for messages).
pub(crate) fn validate_label_names<'a>(
    validation: NameValidation,
    metric_type: MetricType,
    name: &str,
    given: &str,
    names: impl IntoIterator<Item = (&'a str, Origin)>,
) -> Result<(), Error> {
    let mut seen: Vec<(&str, Origin)> = Vec::new();
    // UTF-8 names as a scrape with the default escaping reads them.
    let mut escaped: Vec<String> = Vec::new();
    let utf8 = validation == NameValidation::Utf8;
    for (label, origin) in names {
        validation.validate_label_name(label)?;
        let reserved = match (metric_type, label) {
            (MetricType::Histogram, "le") => Some("histograms use it for bucket bounds"),
            (MetricType::Summary, "quantile") => Some("summaries use it for quantiles"),
            (MetricType::StateSet, n)
                if n == name || (utf8 && escaped_label(n) == escaped_label(name)) =>
            {
                Some("a state set uses its own name as the state label")
            }
            _ => None,
        };
        if let Some(reason) = reserved {
            return Err(Error::ReservedLabelName {
                label: label.to_owned(),
                reason,
            });
        }
        if let Some(&(_, first)) = seen.iter().find(|(n, _)| *n == label) {
            return Err(Error::DuplicateLabelName {
                family: given.to_owned(),
                label: label.to_owned(),
                first: first.describe(),
                second: origin.describe(),
            });
        }
        if utf8 {
            let e = escaped_label(label);
            if let Some(i) = escaped.iter().position(|x| *x == e) {
                return Err(Error::EscapedNameClash {
                    name: label.to_owned(),
                    existing: seen[i].0.to_owned(),
                    escaped: e,
                });
            }
            escaped.push(e);
        }
        seen.push((label, origin));
    }
    Ok(())
}

/// A registered series' labels: constant pairs first, then the family's
/// label names with this series' values, in declared order.
pub(crate) struct SeriesLabels<'a> {
    pub(crate) consts: &'a [(Box<str>, Box<str>)],
    pub(crate) names: &'a [Box<str>],
    pub(crate) values: &'a crate::family::LabelValues,
}

impl LabelSet for SeriesLabels<'_> {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (n, v) in self.consts {
            f(n, v);
        }
        for (n, v) in self.names.iter().zip(self.values.iter()) {
            f(n, v);
        }
    }

    /// The family's label names (and constant labels, also the family's):
    /// the same slices for every series of a family.
    fn names_id(&self) -> Option<std::num::NonZeroUsize> {
        std::num::NonZeroUsize::new(self.names.as_ptr() as usize)
    }
}

/// Hash of label values that keeps element boundaries: `["ab", "c"]` and
/// `["a", "bc"]` hash (and compare) differently. FxHash-style mixing: the
/// keys are short and this runs on every labeled lookup.
pub(crate) fn hash_values<S: AsRef<str>>(values: &[S]) -> u64 {
    hash_iter(values.len(), values.iter().map(AsRef::as_ref))
}

/// [`hash_values`] of `len` values given one by one (a stored series'
/// values, hashed again when its index is rebuilt).
pub(crate) fn hash_iter<'a>(len: usize, values: impl Iterator<Item = &'a str>) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let mut h = mix(0, len as u64);
    for v in values {
        let bytes = v.as_bytes();
        h = mix(h, bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = mix(h, u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            h = mix(h, u64::from_le_bytes(w));
        }
    }
    h
}

/// A cheap filter hash for the thread-local lookup cache: each value's
/// length and fixed-size reads of every byte (8-byte words, the last one
/// overlapping; values under 8 bytes by overlapping 4-byte or single-byte
/// reads). Fixed-size reads compile to plain loads, not `memcpy` calls.
/// Matches are always confirmed by comparing the values; covering every byte
/// keeps same-length values that differ only in the middle
/// (`tenant-000123-production`) in separate cache entries.
#[inline]
pub(crate) fn quick_hash(values: &[&str]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = values.len() as u64;
    for v in values {
        let b = v.as_bytes();
        let n = b.len();
        let (head, tail) = if n >= 8 {
            // Whole words before the last 8 bytes, then those bytes.
            let mut head = 0u64;
            let mut at = 0;
            while at + 8 < n {
                head = (head ^ read8(b, at)).wrapping_mul(K).rotate_left(31);
                at += 8;
            }
            (head, read8(b, n - 8))
        } else if n >= 4 {
            (u64::from(read4(b, 0)), u64::from(read4(b, n - 4)))
        } else if n > 0 {
            let w = u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16;
            (w, 0)
        } else {
            (0, 0)
        };
        h = (h.rotate_left(23) ^ head ^ tail.rotate_left(29) ^ n as u64).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

#[inline]
pub(crate) fn read8(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

#[inline]
fn read4(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_once_escaped_agrees_with_the_escaped_name() {
        for name in [
            "a",
            "_x",
            "_.x",
            "._",
            "..",
            "9_",
            "9a",
            "_9",
            "é_",
            "éé",
            "a.b",
            "_",
            ".",
            "__",
            "a__",
            "_é",
            "1.",
            "http.method",
            "🐈🐈",
            "x🐈",
        ] {
            assert_eq!(
                escapes_to_reserved(name),
                escaped_label(name).starts_with("__"),
                "{name:?} escapes to {:?}",
                escaped_label(name)
            );
        }
    }

    #[test]
    fn metric_names() {
        for ok in ["a", "_x", ":y", "http_requests_total", "a:b_c9"] {
            assert!(validate_metric_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a b", "é", "a.b"] {
            assert_eq!(
                validate_metric_name(bad),
                Err(Error::InvalidMetricName(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn label_names() {
        for ok in ["a", "_x", "method", "le"] {
            assert!(validate_label_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "9a", "a:b", "__name__", "__x", "a-b", "ü"] {
            assert!(validate_label_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserved_and_duplicate_label_names() {
        let labels = |names: &[&'static str]| {
            names
                .iter()
                .map(|n| (*n, Origin::Label))
                .collect::<Vec<_>>()
        };
        let legacy = NameValidation::Legacy;
        let h = |names: &[&'static str]| {
            validate_label_names(legacy, MetricType::Histogram, "h", "h", labels(names))
        };
        assert!(matches!(h(&["le"]), Err(Error::ReservedLabelName { .. })));
        assert!(
            validate_label_names(legacy, MetricType::Counter, "c", "c", labels(&["le"])).is_ok()
        );
        assert!(matches!(
            validate_label_names(legacy, MetricType::Summary, "s", "s", labels(&["quantile"])),
            Err(Error::ReservedLabelName { .. })
        ));
        assert!(matches!(
            validate_label_names(legacy, MetricType::StateSet, "s", "s", labels(&["s"])),
            Err(Error::ReservedLabelName { .. })
        ));
        assert_eq!(
            h(&["a", "a"]),
            Err(Error::DuplicateLabelName {
                family: "h".into(),
                label: "a".into(),
                first: "a label name",
                second: "a label name"
            })
        );
    }

    #[test]
    fn quick_hash_separates_common_cases() {
        assert_ne!(quick_hash(&["ab", "c"]), quick_hash(&["a", "bc"]));
        assert_ne!(quick_hash(&["acked"]), quick_hash(&["nacked"]));
        assert_ne!(
            quick_hash(&["0123456789abcdef"]),
            quick_hash(&["0123456789abcdeF"])
        );
        // Same length, differing only in the middle of a long value.
        assert_ne!(
            quick_hash(&["tenant-000001-production"]),
            quick_hash(&["tenant-000002-production"])
        );
        assert_ne!(
            quick_hash(&["/api/v1/users/1234/profile/settings"]),
            quick_hash(&["/api/v1/users/1235/profile/settings"])
        );
    }

    #[test]
    fn hash_keeps_boundaries() {
        assert_ne!(hash_values(&["ab", "c"]), hash_values(&["a", "bc"]));
        assert_ne!(hash_values(&["", "a"]), hash_values(&["a", ""]));
        assert_ne!(hash_values::<&str>(&[]), hash_values(&[""]));
        assert_eq!(
            hash_values(&["x", "y"]),
            hash_values(&[String::from("x"), "y".into()])
        );
    }
}
