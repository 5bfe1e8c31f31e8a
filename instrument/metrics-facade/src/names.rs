//! How the facade's names become Prometheus names, and its units ours.

use hotmetrics_core::MetricType;
use metrics::Unit;

/// `name` with every character Prometheus' legacy metric names do not
/// allow replaced by `_`: the first must be `[a-zA-Z_:]`, the rest
/// `[a-zA-Z0-9_:]` (`http.server.duration` → `http_server_duration`).
/// The rule `metrics-exporter-prometheus` applies, character for
/// character, so names come out as they did with it.
pub(crate) fn sanitize_metric_name(name: &str) -> String {
    sanitize(
        name,
        |c| c.is_ascii_alphabetic() || c == '_' || c == ':',
        |c| c.is_ascii_alphanumeric() || c == '_' || c == ':',
    )
}

/// `key` with every character a label name does not allow replaced by
/// `_`: the first must be `[a-zA-Z_]`, the rest `[a-zA-Z0-9_]`
/// (`http.method` → `http_method`), as `metrics-exporter-prometheus` does.
pub(crate) fn sanitize_label_name(key: &str) -> String {
    sanitize(
        key,
        |c| c.is_ascii_alphabetic() || c == '_',
        |c| c.is_ascii_alphanumeric() || c == '_',
    )
}

fn sanitize(s: &str, first: impl Fn(char) -> bool, rest: impl Fn(char) -> bool) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            let ok = if i == 0 { first(c) } else { rest(c) };
            if ok { c } else { '_' }
        })
        .collect()
}

/// The name a family of `metric_type` is stored under for the facade's
/// (sanitized) `name`: a counter's `_total` is left out, as the registry
/// does, so `requests` and `requests_total` are one counter, exported as
/// `requests_total`.
pub(crate) fn family_name(metric_type: MetricType, name: &str) -> &str {
    let suffix = metric_type.value_suffix();
    if suffix.is_empty() {
        return name;
    }
    name.strip_suffix(suffix).unwrap_or(name)
}

/// The unit of `unit` as a Prometheus unit: `metrics`' own spelling of it
/// ([`Unit::as_str`]: `seconds`, `bytes`, `count_per_second`, ...), kept
/// only when the family name (`_total` left out) ends in `_<unit>`, as
/// OpenMetrics requires of a `# UNIT` line; otherwise the family has none.
pub(crate) fn unit_for(family: &str, unit: Option<Unit>) -> Option<&'static str> {
    let unit = unit?.as_str();
    family
        .strip_suffix(unit)
        .is_some_and(|rest| rest.ends_with('_'))
        .then_some(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_are_sanitized_like_metrics_exporter_prometheus() {
        for (name, want) in [
            ("http.server.duration", "http_server_duration"),
            ("ok_name:sub", "ok_name:sub"),
            ("9lives", "_lives"),
            ("a-b c", "a_b_c"),
            ("café", "caf_"),
            ("", ""),
        ] {
            assert_eq!(sanitize_metric_name(name), want, "{name:?}");
            assert_eq!(
                sanitize_metric_name(name),
                metrics_exporter_prometheus::formatting::sanitize_metric_name(name),
                "the same as metrics-exporter-prometheus for {name:?}"
            );
        }
    }

    #[test]
    fn label_names_are_sanitized_like_metrics_exporter_prometheus() {
        for (key, want) in [
            ("http.method", "http_method"),
            ("a:b", "a_b"),
            ("1st", "_st"),
            ("route", "route"),
            ("__reserved", "__reserved"),
        ] {
            assert_eq!(sanitize_label_name(key), want, "{key:?}");
            assert_eq!(
                sanitize_label_name(key),
                metrics_exporter_prometheus::formatting::sanitize_label_key(key),
                "the same as metrics-exporter-prometheus for {key:?}"
            );
        }
    }

    #[test]
    fn counters_are_stored_without_total() {
        assert_eq!(family_name(MetricType::Counter, "jobs_total"), "jobs");
        assert_eq!(family_name(MetricType::Counter, "jobs"), "jobs");
        assert_eq!(family_name(MetricType::Gauge, "jobs_total"), "jobs_total");
        assert_eq!(family_name(MetricType::Histogram, "x_total"), "x_total");
    }

    #[test]
    fn a_unit_is_kept_only_when_the_name_ends_in_it() {
        assert_eq!(
            unit_for("request_seconds", Some(Unit::Seconds)),
            Some("seconds")
        );
        assert_eq!(unit_for("sent_bytes", Some(Unit::Bytes)), Some("bytes"));
        assert_eq!(
            unit_for("rate_count_per_second", Some(Unit::CountPerSecond)),
            Some("count_per_second")
        );
        assert_eq!(unit_for("latency", Some(Unit::Seconds)), None);
        assert_eq!(unit_for("xseconds", Some(Unit::Seconds)), None);
        assert_eq!(unit_for("seconds", Some(Unit::Seconds)), None);
        assert_eq!(unit_for("request_seconds", None), None);
    }
}
