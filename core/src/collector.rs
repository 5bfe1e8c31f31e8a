//! `Collector`: families whose values are computed at scrape time.

use crate::visit::{MetricType, MetricVisitor};

/// A family a collector promises to emit, declared at registration so its
/// name is checked for clashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Described {
    /// The family name, before the registry's prefix.
    pub name: String,
    /// Its type.
    pub metric_type: MetricType,
}

impl Described {
    /// A family called `name` of type `metric_type`.
    pub fn new(name: impl Into<String>, metric_type: MetricType) -> Self {
        Self {
            name: name.into(),
            metric_type,
        }
    }
}

/// Computes families at scrape time (process statistics, a queue's depth
/// read from a broker client, ...).
///
/// ```
/// use hotmetrics_core::{Collector, Described, FamilyDesc, MetricType, MetricVisitor, Number, Registry, SeriesValue};
///
/// struct QueueDepth;
/// impl Collector for QueueDepth {
///     fn describe(&self) -> Vec<Described> {
///         vec![Described::new("queue_depth", MetricType::Gauge)]
///     }
///     fn collect(&self, out: &mut dyn MetricVisitor) {
///         out.begin_family(&FamilyDesc {
///             name: "queue_depth",
///             help: "Messages waiting",
///             metric_type: MetricType::Gauge,
///             unit: None,
///         });
///         out.series(&[("queue", "orders")], &SeriesValue::Gauge(Number::UInt(42)));
///         out.end_family();
///     }
/// }
///
/// let registry = Registry::new();
/// registry.register_collector(QueueDepth).unwrap();
/// assert_eq!(registry.snapshot().gauge("queue_depth", &[("queue", "orders")]), Some(42.0));
/// ```
pub trait Collector: Send + Sync + 'static {
    /// The families [`collect`](Self::collect) emits.
    fn describe(&self) -> Vec<Described>;
    /// Emits the families, each between `begin_family` and `end_family`.
    fn collect(&self, out: &mut dyn MetricVisitor);
}
