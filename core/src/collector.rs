//! `Collector`: families whose values are computed at scrape time.

use crate::visit::{MetricType, MetricVisitor};

/// A family a collector promises to emit, declared at registration so its
/// name is checked for clashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Described {
    /// The family name, before the registry's prefix (if the collector is
    /// [prefixed](Collector::prefixed)).
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
/// A registry's [prefix](crate::RegistryBuilder::prefix) applies to a
/// collector's families unless [`prefixed`](Self::prefixed) says otherwise;
/// its constant labels always do.
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
    /// Whether the registry's prefix is put before this collector's family
    /// names (`true` unless overridden). Collectors of standard families
    /// that dashboards know by name say `false`, as
    /// [`ProcessCollector`](crate::ProcessCollector) does by default, so a
    /// `shop` registry still exposes `process_cpu_seconds_total` (as the Go
    /// client does). Asked once, at registration.
    ///
    /// ```
    /// use hotmetrics_core::{Collector, Described, FamilyDesc, MetricType, MetricVisitor, Number, Registry, SeriesValue};
    ///
    /// struct Uptime;
    /// impl Collector for Uptime {
    ///     fn describe(&self) -> Vec<Described> {
    ///         vec![Described::new("uptime_seconds", MetricType::Gauge)]
    ///     }
    ///     fn collect(&self, out: &mut dyn MetricVisitor) {
    ///         out.begin_family(&FamilyDesc {
    ///             name: "uptime_seconds",
    ///             help: "Seconds since start",
    ///             metric_type: MetricType::Gauge,
    ///             unit: None,
    ///         });
    ///         out.series(&[], &SeriesValue::Gauge(Number::UInt(7)));
    ///         out.end_family();
    ///     }
    ///     fn prefixed(&self) -> bool {
    ///         false
    ///     }
    /// }
    ///
    /// let registry = Registry::builder().prefix("shop").const_label("region", "eu").build().unwrap();
    /// registry.register_collector(Uptime).unwrap();
    /// let snap = registry.snapshot();
    /// assert_eq!(snap.gauge("uptime_seconds", &[("region", "eu")]), Some(7.0));
    /// ```
    fn prefixed(&self) -> bool {
        true
    }
}
