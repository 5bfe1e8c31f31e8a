//! What the registry holds, and what each format's reader should report
//! about it.

use crate::normalized::{Fam, Sample, fmt_f64};
use crate::parse::Dialect;
use hotmetrics::{FamilySnapshot, MetricType, Registry, SeriesSnapshot, ValueSnapshot};

/// The registry's families, as its snapshot holds them.
pub fn model(registry: &Registry) -> Vec<FamilySnapshot> {
    registry.snapshot().families
}

/// What a parser of `dialect` should report for `model`: the Python parsers'
/// view (0.0.4 counters lose `_total` in the family name, untyped reads as
/// unknown, 0.0.4 has no units, info and state sets are 0.0.4 gauges).
pub fn expected(model: &[FamilySnapshot], dialect: Dialect) -> Vec<Fam> {
    let om = dialect == Dialect::OpenMetrics;
    model
        .iter()
        .map(|f| {
            let n = &f.name;
            let (name, ty) = match (f.metric_type, om) {
                (MetricType::Counter, _) => (n.clone(), "counter"),
                (MetricType::Gauge, _) => (n.clone(), "gauge"),
                (MetricType::Histogram, _) => (n.clone(), "histogram"),
                (MetricType::Summary, _) => (n.clone(), "summary"),
                (MetricType::Unknown, _) => (n.clone(), "unknown"),
                (MetricType::Info, true) => (n.clone(), "info"),
                (MetricType::Info, false) => (format!("{n}_info"), "gauge"),
                (MetricType::StateSet, true) => (n.clone(), "stateset"),
                (MetricType::StateSet, false) => (n.clone(), "gauge"),
            };
            let mut samples = Vec::new();
            for SeriesSnapshot {
                labels,
                value,
                created,
            } in &f.series
            {
                let mut push = |suffix: &str, extra: Option<(&str, String)>, value: f64| {
                    let mut labels = labels.clone();
                    if let Some((k, v)) = extra {
                        labels.push((k.to_owned(), v));
                    }
                    samples.push(Sample {
                        name: format!("{n}{suffix}"),
                        labels,
                        value,
                    });
                };
                match value {
                    ValueSnapshot::Counter(v) => {
                        push("_total", None, *v);
                        if let (true, Some(c)) = (om, created) {
                            push("_created", None, *c);
                        }
                    }
                    ValueSnapshot::Gauge(v) | ValueSnapshot::Unknown(v) => push("", None, *v),
                    ValueSnapshot::Info => push("_info", None, 1.0),
                    ValueSnapshot::StateSet(states) => {
                        for (state, on) in states {
                            push("", Some((n, state.clone())), f64::from(u8::from(*on)));
                        }
                    }
                    ValueSnapshot::Histogram {
                        upper_bounds: bounds,
                        bucket_counts: counts,
                        count,
                        sum,
                    } => {
                        let mut cumulative = 0;
                        for (i, c) in counts.iter().enumerate() {
                            cumulative += c;
                            let le = bounds.get(i).copied().unwrap_or(f64::INFINITY);
                            push("_bucket", Some(("le", fmt_f64(le))), cumulative as f64);
                        }
                        // OpenMetrics: "Negative threshold buckets MAY be
                        // used, but then the Histogram MetricPoint MUST NOT
                        // contain a sum value"; and no _count without _sum.
                        let counter_like =
                            !(*sum < 0.0 || sum.is_nan()) && bounds.iter().all(|b| *b >= 0.0);
                        if !om || counter_like {
                            push("_sum", None, *sum);
                            push("_count", None, *count as f64);
                        }
                        if let (true, Some(c)) = (om, created) {
                            push("_created", None, *c);
                        }
                    }
                    ValueSnapshot::Summary {
                        quantiles,
                        count,
                        sum,
                    } => {
                        for (q, v) in quantiles {
                            push("", Some(("quantile", fmt_f64(*q))), *v);
                        }
                        push("_sum", None, *sum);
                        push("_count", None, *count as f64);
                        if let (true, Some(c)) = (om, created) {
                            push("_created", None, *c);
                        }
                    }
                }
            }
            Fam {
                name,
                ty: ty.to_owned(),
                unit: if om {
                    f.unit.clone().unwrap_or_default()
                } else {
                    String::new()
                },
                help: f.help.clone(),
                samples,
            }
        })
        .collect()
}
