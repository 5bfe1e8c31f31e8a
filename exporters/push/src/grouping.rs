//! The grouping key: the job and the grouping labels, their validation, and
//! the request path `/metrics/job/<job>{/<label>/<value>}` they make.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use std::cell::RefCell;

use hotmetrics_core::{FamilyDesc, LabelSet, MetricSource, MetricType, MetricVisitor, SeriesValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::Error;

/// What a plain segment percent-encodes: every byte outside RFC 3986's
/// unreserved set (`A-Z a-z 0-9 - . _ ~`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Checks the grouping labels: valid Prometheus label names (not `__*`),
/// not `job`, no name twice.
pub(crate) fn validate(job: &str, labels: &[(String, String)]) -> Result<(), Error> {
    if job.is_empty() {
        return Err(Error::EmptyJob);
    }
    for (i, (name, _)) in labels.iter().enumerate() {
        let reason = if hotmetrics_core::validate_label_name(name).is_err() {
            "not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
        } else if name == "job" {
            "the job is the first part of the grouping key; it is not a grouping label"
        } else if labels[..i].iter().any(|(n, _)| n == name) {
            "given twice"
        } else {
            continue;
        };
        return Err(Error::InvalidGroupingLabel {
            name: name.clone(),
            reason,
        });
    }
    Ok(())
}

/// The path of the group: `prefix` then `/metrics/job/<job>{/<label>/<value>}`.
pub(crate) fn path(prefix: &str, job: &str, labels: &[(String, String)]) -> String {
    let mut out = String::with_capacity(prefix.len() + 64);
    out.push_str(prefix);
    out.push_str("/metrics");
    segment(&mut out, "job", job);
    for (name, value) in labels {
        segment(&mut out, name, value);
    }
    out
}

/// Appends `/<name>/<value>`, or `/<name>@base64/<base64url(value)>` (RFC
/// 4648 §5, `=`-padded) for a
/// value no plain path segment can carry: one holding `/` (even
/// percent-encoded, the gateway's router would split it), an empty one
/// (`//` would vanish), and `.` or `..` (the router cleans those away with
/// a redirect, also when percent-encoded).
fn segment(out: &mut String, name: &str, value: &str) {
    out.push('/');
    out.push_str(name);
    if value.is_empty() {
        // base64 of nothing is nothing: one `=` of padding keeps the
        // segment, as the Pushgateway documents.
        out.push_str("@base64/=");
    } else if value.contains('/') || value == "." || value == ".." {
        out.push_str("@base64/");
        URL_SAFE.encode_string(value, out);
    } else {
        out.push('/');
        out.extend(utf8_percent_encode(value, SEGMENT));
    }
}

/// `source` seen through a check for series carrying `job` or one of the
/// grouping labels, which the Pushgateway would overwrite without a word:
/// one visit feeds both the encoder and the check, so what is checked is
/// exactly what is pushed (a collector cannot change in between).
pub(crate) struct Checked<'a> {
    source: &'a dyn MetricSource,
    labels: &'a [(String, String)],
    conflict: RefCell<Option<Error>>,
}

impl<'a> Checked<'a> {
    pub(crate) fn new(source: &'a dyn MetricSource, labels: &'a [(String, String)]) -> Self {
        Self {
            source,
            labels,
            conflict: RefCell::new(None),
        }
    }

    /// The first conflict the last visit found.
    pub(crate) fn result(self) -> Result<(), Error> {
        self.conflict.into_inner().map_or(Ok(()), Err)
    }
}

impl MetricSource for Checked<'_> {
    fn visit(&self, visitor: &mut dyn MetricVisitor) {
        let mut check = ConflictCheck {
            labels: self.labels,
            family: String::new(),
            found: None,
            inner: visitor,
        };
        self.source.visit(&mut check);
        *self.conflict.borrow_mut() = check.found.map(|label| Error::LabelConflict {
            family: check.family,
            label,
        });
    }
}

/// Passes everything on to `inner`, remembering the first conflicting
/// label and its family.
struct ConflictCheck<'a, 'v> {
    labels: &'a [(String, String)],
    family: String,
    found: Option<String>,
    inner: &'v mut dyn MetricVisitor,
}

impl MetricVisitor for ConflictCheck<'_, '_> {
    fn wants_native(&self) -> bool {
        self.inner.wants_native()
    }

    fn begin_family(&mut self, family: &FamilyDesc<'_>) {
        if self.found.is_none() {
            self.family.clear();
            self.family.push_str(family.name);
            // The label the encoders add to the family's samples.
            let added = match family.metric_type {
                MetricType::Histogram => Some("le"),
                MetricType::Summary => Some("quantile"),
                MetricType::StateSet => Some(family.name),
                _ => None,
            };
            if let Some(added) = added.filter(|a| self.labels.iter().any(|(n, _)| n == a)) {
                self.found = Some(added.to_owned());
            }
        }
        self.inner.begin_family(family);
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        if self.found.is_none() {
            labels.for_each(&mut |name, _| {
                if self.found.is_none()
                    && (name == "job" || self.labels.iter().any(|(n, _)| n == name))
                {
                    self.found = Some(name.to_owned());
                }
            });
        }
        self.inner.series(labels, value);
    }

    fn end_family(&mut self) {
        self.inner.end_family();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotmetrics_core::Registry;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|&(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn plain_values_are_percent_encoded_segments() {
        let l = labels(&[("instance", "w-1.a_b~"), ("zone", "é %?")]);
        assert_eq!(
            path("", "batch", &l),
            "/metrics/job/batch/instance/w-1.a_b~/zone/%C3%A9%20%25%3F"
        );
        assert_eq!(path("/pg", "j", &[]), "/pg/metrics/job/j");
    }

    #[test]
    fn percent_encodes_all_but_unreserved() {
        assert_eq!(
            path("", "aZ09-._~ %?#&=+@:;é\u{0}", &[]),
            "/metrics/job/aZ09-._~%20%25%3F%23%26%3D%2B%40%3A%3B%C3%A9%00"
        );
    }

    #[test]
    fn slash_empty_and_dot_values_go_through_base64() {
        let l = labels(&[
            ("path", "/var/tmp"),
            ("empty", ""),
            ("dot", "."),
            ("dots", ".."),
            ("three", "..."),
        ]);
        assert_eq!(
            path("", "a/b", &l),
            "/metrics/job@base64/YS9i/path@base64/L3Zhci90bXA=/empty@base64/=\
             /dot@base64/Lg==/dots@base64/Li4=/three/..."
        );
        // URL-safe alphabet: `-` and `_`, never `+` and `/`.
        assert_eq!(path("", "/?>", &[]), "/metrics/job@base64/Lz8-");
        assert_eq!(path("", "/??", &[]), "/metrics/job@base64/Lz8_");
        // Padding to a multiple of four (RFC 4648 vectors, behind a `/`).
        for (value, want) in [
            ("/", "Lw=="),
            ("/f", "L2Y="),
            ("/fo", "L2Zv"),
            ("/foo", "L2Zvbw=="),
        ] {
            assert_eq!(path("", value, &[]), format!("/metrics/job@base64/{want}"));
        }
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(matches!(validate("", &[]), Err(Error::EmptyJob)));
        assert!(validate("any job/name é", &labels(&[("a", ""), ("b_1", "/")])).is_ok());
        for (pairs, bad, why) in [
            (&[("1a", "x")][..], "1a", "not a label name"),
            (&[("a-b", "x")][..], "a-b", "not a label name"),
            (&[("", "x")][..], "", "not a label name"),
            (&[("__x", "x")][..], "__x", "not a label name"),
            (&[("job", "x")][..], "job", "not a grouping label"),
            (&[("a", "1"), ("b", "2"), ("a", "3")][..], "a", "twice"),
        ] {
            let err = validate("j", &labels(pairs)).unwrap_err();
            match &err {
                Error::InvalidGroupingLabel { name, reason } => {
                    assert_eq!(name, bad);
                    assert!(reason.contains(why), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    /// Checks `registry` as a push would, the encoder being a visitor that
    /// counts what it is handed.
    fn find_conflict(registry: &Registry, grouping: &[(String, String)]) -> Result<(), Error> {
        struct Count(usize);
        impl MetricVisitor for Count {
            fn begin_family(&mut self, _: &FamilyDesc<'_>) {}
            fn series(&mut self, _: &dyn LabelSet, _: &SeriesValue<'_>) {
                self.0 += 1;
            }
        }
        let checked = Checked::new(registry, grouping);
        let mut count = Count(0);
        checked.visit(&mut count);
        // Everything still reaches the encoder.
        assert_eq!(
            count.0,
            registry
                .snapshot()
                .families
                .iter()
                .map(|f| f.series.len())
                .sum::<usize>()
        );
        checked.result()
    }

    #[test]
    fn conflicting_series_labels_are_found() {
        let registry = Registry::new();
        registry.gauge(("plain", "p")).unwrap().set(1);
        let v = registry.gauge_vec(("by_host", "h"), &["host"]).unwrap();
        v.with(&["a"], |g| g.set(1)).unwrap();
        let grouping = labels(&[("instance", "x")]);
        assert!(find_conflict(&registry, &grouping).is_ok());
        let err = find_conflict(&registry, &labels(&[("host", "x")])).unwrap_err();
        assert!(
            matches!(&err, Error::LabelConflict { family, label } if family == "by_host" && label == "host"),
            "{err:?}"
        );

        let registry = Registry::builder()
            .const_label("job", "mine")
            .build()
            .unwrap();
        registry.gauge(("up", "u")).unwrap().set(1);
        let err = find_conflict(&registry, &grouping).unwrap_err();
        assert!(
            matches!(&err, Error::LabelConflict { family, label } if family == "up" && label == "job"),
            "{err:?}"
        );
    }

    #[test]
    fn labels_the_encoders_add_conflict_too() {
        let registry = Registry::new();
        registry
            .histogram(("lat", "l"), hotmetrics_core::Buckets::default())
            .unwrap()
            .observe(0.1);
        let err = find_conflict(&registry, &labels(&[("le", "1")])).unwrap_err();
        assert!(
            matches!(&err, Error::LabelConflict { family, label } if family == "lat" && label == "le"),
            "{err:?}"
        );
        // A grouping label named like a state set is that set's state label.
        struct Mode;
        impl hotmetrics_core::Collector for Mode {
            fn describe(&self) -> Vec<hotmetrics_core::Described> {
                Vec::new()
            }
            fn collect(&self, out: &mut dyn MetricVisitor) {
                out.begin_family(&FamilyDesc {
                    name: "mode",
                    help: "m",
                    metric_type: MetricType::StateSet,
                    unit: None,
                });
                out.series(&[], &SeriesValue::StateSet(&[("on", true)]));
                out.end_family();
            }
        }
        let registry = Registry::new();
        registry.register_collector(Mode).unwrap();
        assert!(find_conflict(&registry, &labels(&[("le", "1")])).is_ok());
        let err = find_conflict(&registry, &labels(&[("mode", "x")])).unwrap_err();
        assert!(
            matches!(&err, Error::LabelConflict { family, label } if family == "mode" && label == "mode"),
            "{err:?}"
        );
    }
}
