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

use crate::error::Error;
use crate::visit::{MetricType, SeriesValue};

/// Reused between series during a scrape so visiting allocates nothing in
/// steady state.
#[derive(Debug, Default)]
pub struct Scratch {
    pub(crate) buckets: Vec<u64>,
    /// A collector family's prefixed name.
    pub(crate) name: String,
}

mod sealed {
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// A metric type that can live in a [`Family`](crate::Family). Sealed: the
/// storage behind it is the engine's.
pub trait Metric: Sealed + Clone + Send + Sync + std::fmt::Debug + 'static {
    /// What every series of a family is created from (bucket bounds for a
    /// histogram, nothing for the others).
    type Config: Clone + Send + Sync + std::fmt::Debug + 'static;
    /// The type reported to exporters.
    const TYPE: MetricType;
    /// Creates a series at zero.
    #[doc(hidden)]
    fn create(config: &Self::Config) -> Result<Self, Error>;
    /// Merges the series' cells and hands the value to `f`.
    #[doc(hidden)]
    fn visit_value(&self, scratch: &mut Scratch, f: &mut dyn FnMut(&SeriesValue<'_>));
}
