//! The metric types and how every exposition format spells them: the one
//! table that registration's clash check and every encoder read.

/// The type of a metric family, as the exposition formats name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// Monotonic total.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Bucketed distribution.
    Histogram,
    /// Quantiles with a count and a sum.
    Summary,
    /// Constant `1` whose labels carry information (OpenMetrics `info`).
    Info,
    /// Set of named boolean states (OpenMetrics `stateset`).
    StateSet,
    /// No type given (`untyped` in text 0.0.4, `unknown` in OpenMetrics).
    Unknown,
}

/// How one metric type is spelled in the exposition formats.
struct Spelling {
    /// OpenMetrics 1.0 type name.
    name: &'static str,
    /// The type in formats that know only counters, gauges, histograms,
    /// summaries and untyped values (text 0.0.4, protobuf).
    classic: MetricType,
    /// The text 0.0.4 type name of `classic`.
    classic_name: &'static str,
    /// Suffix of the sample that carries a single-valued series' value.
    value_suffix: &'static str,
    /// Every sample-name suffix a family of this type writes in some
    /// format, `""` (the bare family name) first.
    sample_suffixes: &'static [&'static str],
}

impl MetricType {
    /// Every metric type.
    pub const ALL: [MetricType; 7] = [
        MetricType::Counter,
        MetricType::Gauge,
        MetricType::Histogram,
        MetricType::Summary,
        MetricType::Info,
        MetricType::StateSet,
        MetricType::Unknown,
    ];

    const fn spelling(self) -> &'static Spelling {
        match self {
            MetricType::Counter => &Spelling {
                name: "counter",
                classic: MetricType::Counter,
                classic_name: "counter",
                value_suffix: "_total",
                sample_suffixes: &["", "_total", "_created"],
            },
            MetricType::Gauge => &Spelling {
                name: "gauge",
                classic: MetricType::Gauge,
                classic_name: "gauge",
                value_suffix: "",
                sample_suffixes: &[""],
            },
            MetricType::Histogram => &Spelling {
                name: "histogram",
                classic: MetricType::Histogram,
                classic_name: "histogram",
                value_suffix: "",
                sample_suffixes: &["", "_bucket", "_count", "_sum", "_created"],
            },
            MetricType::Summary => &Spelling {
                name: "summary",
                classic: MetricType::Summary,
                classic_name: "summary",
                value_suffix: "",
                sample_suffixes: &["", "_count", "_sum", "_created"],
            },
            MetricType::Info => &Spelling {
                name: "info",
                classic: MetricType::Gauge,
                classic_name: "gauge",
                value_suffix: "_info",
                sample_suffixes: &["", "_info"],
            },
            MetricType::StateSet => &Spelling {
                name: "stateset",
                classic: MetricType::Gauge,
                classic_name: "gauge",
                value_suffix: "",
                sample_suffixes: &[""],
            },
            MetricType::Unknown => &Spelling {
                name: "unknown",
                classic: MetricType::Unknown,
                classic_name: "untyped",
                value_suffix: "",
                sample_suffixes: &[""],
            },
        }
    }

    /// The OpenMetrics 1.0 type name (`counter`, ..., `info`, `stateset`,
    /// `unknown`).
    ///
    /// ```
    /// use hotmetrics_core::MetricType;
    /// assert_eq!(MetricType::StateSet.name(), "stateset");
    /// assert_eq!(MetricType::Unknown.name(), "unknown");
    /// ```
    pub const fn name(self) -> &'static str {
        self.spelling().name
    }

    /// The type in the classic formats (text 0.0.4, protobuf), which know
    /// only counters, gauges, histograms, summaries and untyped values:
    /// info and state-set families become gauges.
    ///
    /// ```
    /// use hotmetrics_core::MetricType;
    /// assert_eq!(MetricType::Info.classic(), MetricType::Gauge);
    /// assert_eq!(MetricType::Histogram.classic(), MetricType::Histogram);
    /// ```
    pub const fn classic(self) -> MetricType {
        self.spelling().classic
    }

    /// The text 0.0.4 type name of [`classic`](Self::classic)
    /// (`untyped` for unknown).
    ///
    /// ```
    /// use hotmetrics_core::MetricType;
    /// assert_eq!(MetricType::Info.classic_name(), "gauge");
    /// assert_eq!(MetricType::Unknown.classic_name(), "untyped");
    /// ```
    pub const fn classic_name(self) -> &'static str {
        self.spelling().classic_name
    }

    /// The suffix of the sample carrying a single-valued series' value:
    /// `_total` for counters, `_info` for info families, `""` otherwise.
    /// The classic formats also name the family itself with it
    /// (`# TYPE requests_total counter`).
    pub const fn value_suffix(self) -> &'static str {
        self.spelling().value_suffix
    }

    /// Every sample-name suffix a family of this type writes in some
    /// format (`""`, the bare name, first). Two families whose name plus
    /// suffix coincide would be ambiguous, so registration refuses them.
    ///
    /// ```
    /// use hotmetrics_core::MetricType;
    /// assert_eq!(MetricType::Counter.sample_suffixes(), ["", "_total", "_created"]);
    /// ```
    pub const fn sample_suffixes(self) -> &'static [&'static str] {
        self.spelling().sample_suffixes
    }
}

#[cfg(test)]
mod tests {
    use super::MetricType;

    #[test]
    fn classic_types_are_their_own_classic() {
        for t in MetricType::ALL {
            let classic = t.classic();
            assert_eq!(classic.classic(), classic, "{t:?}");
            assert_eq!(t.classic_name(), classic.classic_name(), "{t:?}");
            assert_eq!(t.sample_suffixes()[0], "", "{t:?}");
            assert!(t.sample_suffixes().contains(&t.value_suffix()), "{t:?}");
        }
    }
}
