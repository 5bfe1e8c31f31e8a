//! The metric types users update: counters, gauges, histograms, and the
//! guards built on them.

mod buckets;
mod counter;
mod gauge;
mod guards;
mod histogram;

pub use buckets::{Buckets, DEFAULT_BUCKETS};
pub use counter::{Counter, CounterF64};
pub use gauge::{Gauge, GaugeF64};
pub use guards::{HistogramTimer, InProgressGuard};
pub use histogram::{Histogram, HistogramSnapshot};

use crate::visit::MetricType;

pub(crate) mod sealed {
    use crate::error::Error;
    use crate::visit::SeriesValue;

    /// Reused between series during a scrape so visiting allocates nothing
    /// in steady state. Public only inside this private module: nameable
    /// by the crate, by nobody else.
    #[derive(Debug, Default)]
    pub struct Scratch {
        pub(crate) buckets: Vec<u64>,
        /// A collector family's prefixed name.
        pub(crate) name: String,
    }

    /// The engine's side of a metric type: how a series is created and
    /// merged. Private, so [`Metric`](super::Metric) is sealed and its
    /// storage stays the engine's.
    pub trait Sealed: Sized {
        /// Creates a series at zero.
        fn create(config: &<Self as super::Metric>::Config) -> Result<Self, Error>
        where
            Self: super::Metric;
        /// Merges the series' cells and hands the value to `f`.
        fn visit_value(&self, scratch: &mut Scratch, f: &mut dyn FnMut(&SeriesValue<'_>));
    }
}
pub(crate) use sealed::{Scratch, Sealed};

/// A metric type that can live in a [`Family`](crate::Family): a counter,
/// gauge or histogram. Sealed: the storage behind it is the engine's.
pub trait Metric: Sealed + Clone + Send + Sync + std::fmt::Debug + 'static {
    /// What every series of a family is created from (bucket bounds for a
    /// histogram, nothing for the others).
    type Config: Clone + Send + Sync + std::fmt::Debug + 'static;
    /// The type reported to exporters.
    const TYPE: MetricType;
}
