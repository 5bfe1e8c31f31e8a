//! Property tests: arbitrary help text, label values (any UTF-8: quotes,
//! backslashes, newlines) and floats (NaN and infinities included) are
//! encoded in every format and read back to the same values.

use bytes::BytesMut;
use hotmetrics::openmetrics::OpenMetricsEncoder;
use hotmetrics::protobuf::ProtobufEncoder;
use hotmetrics::text::TextEncoder;
use hotmetrics::{
    Buckets, Collector, Described, FamilyDesc, MetricType, MetricVisitor, Registry, SeriesValue,
    SummaryValue,
};
use hotmetrics_tests::parse::{Dialect, Family, parse};
use hotmetrics_tests::proto;
use proptest::prelude::*;

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        -1e6..1e6f64,
    ]
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// A collector whose summary, info and state set carry arbitrary text.
struct Arbitrary {
    help: String,
    value: String,
    quantile_value: f64,
}

impl Collector for Arbitrary {
    fn describe(&self) -> Vec<Described> {
        vec![
            Described::new("s", MetricType::Summary),
            Described::new("i", MetricType::Info),
        ]
    }
    fn collect(&self, out: &mut dyn MetricVisitor) {
        let fam = |out: &mut dyn MetricVisitor, name, metric_type| {
            out.begin_family(&FamilyDesc {
                name,
                help: &self.help,
                metric_type,
                unit: None,
            });
        };
        fam(out, "s", MetricType::Summary);
        let quantiles = [(0.5, self.quantile_value)];
        let summary = SummaryValue {
            quantiles: &quantiles,
            count: 1,
            sum: self.quantile_value,
            created: Some(1.0),
        };
        out.series(
            &[("v", self.value.as_str())],
            &SeriesValue::Summary(summary),
        );
        out.end_family();
        fam(out, "i", MetricType::Info);
        out.series(&[("v", self.value.as_str())], &SeriesValue::Info);
        out.end_family();
    }
}

fn find(families: &[Family], sample: &str, labels: &[(&str, &str)]) -> Option<f64> {
    families.iter().flat_map(|f| &f.samples).find_map(|s| {
        let eq = s.name == sample
            && s.labels.len() == labels.len()
            && s.labels
                .iter()
                .zip(labels)
                .all(|(a, b)| a.0 == b.0 && a.1 == b.1);
        eq.then_some(s.value)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_format_reads_back_what_was_written(
        help in any::<String>(),
        a in any::<String>(),
        b in any::<String>(),
        gauge in float(),
        counter in 0.0..1e300f64,
        observations in proptest::collection::vec(-1e9..1e9f64, 0..8),
    ) {
        let registry = Registry::new();
        let g = registry.gauge_f64_vec(("g", help.as_str()), &["a", "b"]).unwrap();
        g.with(&[&a, &b], |g| g.set(gauge)).unwrap();
        let c = registry.counter_f64(("c_total", help.as_str())).unwrap();
        c.inc_by(counter).unwrap();
        let h = registry
            .histogram_vec(("h", help.as_str()), Buckets::new(vec![-1.0, 0.0, 1e6]).unwrap(), &["a"])
            .unwrap();
        for &o in &observations {
            h.with(&[&a], |h| h.observe(o)).unwrap();
        }
        registry
            .register_collector(Arbitrary { help: help.clone(), value: b.clone(), quantile_value: gauge })
            .unwrap();

        for dialect in [Dialect::Text, Dialect::OpenMetrics] {
            let mut buf = BytesMut::new();
            match dialect {
                Dialect::Text => TextEncoder::new().encode(&registry, &mut buf),
                Dialect::OpenMetrics => OpenMetricsEncoder::new().encode(&registry, &mut buf),
            };
            let text = std::str::from_utf8(&buf).unwrap();
            let families = parse(text, dialect).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            for f in &families {
                let want = (!help.is_empty()).then_some(help.as_str());
                prop_assert_eq!(f.help.as_deref(), want);
            }
            let got = find(&families, "g", &[("a", &a), ("b", &b)]).unwrap();
            prop_assert!(same(got, gauge), "{} != {}", got, gauge);
            prop_assert_eq!(find(&families, "c_total", &[]), Some(counter));
            if !observations.is_empty() {
                let n = observations.len() as f64;
                prop_assert_eq!(find(&families, "h_bucket", &[("a", &a), ("le", "+Inf")]), Some(n));
                let neg = observations.iter().filter(|&&o| o <= -1.0).count() as f64;
                let le = if dialect == Dialect::Text { "-1" } else { "-1.0" };
                prop_assert_eq!(find(&families, "h_bucket", &[("a", &a), ("le", le)]), Some(neg));
                if dialect == Dialect::Text {
                    prop_assert_eq!(find(&families, "h_count", &[("a", &a)]), Some(n));
                    let sum: f64 = observations.iter().sum();
                    let got = find(&families, "h_sum", &[("a", &a)]).unwrap();
                    prop_assert!(same(got, sum), "{} != {}", got, sum);
                } else {
                    // A negative bound: OpenMetrics forbids the sum.
                    prop_assert_eq!(find(&families, "h_sum", &[("a", &a)]), None);
                }
            }
            let q = find(&families, "s", &[("v", &b), ("quantile", "0.5")]).unwrap();
            prop_assert!(same(q, gauge));
            prop_assert_eq!(find(&families, "i_info", &[("v", &b)]), Some(1.0));
        }

        let mut buf = BytesMut::new();
        ProtobufEncoder::new().encode(&registry, &mut buf);
        let families = proto::decode_delimited(&buf).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for f in &families {
            prop_assert_eq!(f.help.as_deref(), Some(help.as_str()));
        }
        let gauge_family = families.iter().find(|f| f.name.as_deref() == Some("g")).unwrap();
        let series = &gauge_family.metric[0];
        let labels: Vec<(&str, &str)> = series
            .label
            .iter()
            .map(|l| (l.name.as_deref().unwrap_or(""), l.value.as_deref().unwrap_or("")))
            .collect();
        prop_assert_eq!(labels, vec![("a", a.as_str()), ("b", b.as_str())]);
        let got = series.gauge.as_ref().and_then(|g| g.value).unwrap();
        prop_assert!(same(got, gauge));
    }
}
