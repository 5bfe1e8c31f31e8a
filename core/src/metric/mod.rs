//! The metric types users update: counters, gauges, histograms, summaries,
//! info and state sets, and the guards built on them.

mod buckets;
mod counter;
mod gauge;
mod guards;
mod histogram;
mod info;
mod native;
mod sketch;
mod state_set;
mod summary;

pub use buckets::{Buckets, DEFAULT_BUCKETS};
pub use counter::{Counter, CounterF64};
pub use gauge::{Gauge, GaugeF64};
pub use guards::{HistogramTimer, InProgressGuard, SummaryTimer, Timer};
pub use histogram::{Histogram, HistogramSnapshot};
pub use info::Info;
pub use native::{NativeOpts, NativeSnapshot};
pub use state_set::{StateSet, States};
pub(crate) use summary::validate as validate_summary;
pub use summary::{Summary, SummaryOpts, SummarySnapshot};

use crate::visit::MetricType;

pub(crate) mod sealed {
    use crate::error::Error;
    use crate::family::Desc;
    use crate::visit::{LabelSet, MetricVisitor};

    /// Reused between series during a scrape so visiting allocates nothing
    /// in steady state. Public only inside this private module: nameable
    /// by the crate, by nobody else.
    #[derive(Debug, Default)]
    pub struct Scratch {
        /// The scrape's merged cells (`merge.rs`).
        pub(crate) cells: crate::merge::MergedCells,
        pub(crate) buckets: Vec<u64>,
        /// A summary's `(quantile, value)` pairs.
        pub(crate) quantiles: Vec<(f64, f64)>,
        /// A native histogram's merge buffers.
        pub(crate) native: super::native::NativeScratch,
        /// A histogram's bucket exemplars.
        pub(crate) exemplars: Vec<Option<crate::exemplar::Exemplar>>,
        /// Scratch for an exemplar cell's copy.
        pub(crate) exemplar_bytes: Vec<u8>,
        /// A collector family's prefixed name.
        pub(crate) name: String,
        /// A state set's `(state, enabled)` pairs; always empty between
        /// series, kept for its allocation (see `state_set::recycle`).
        pub(crate) states: Vec<(&'static str, bool)>,
    }

    /// The engine's side of a metric type: how a series is created and
    /// merged. Private, so [`Metric`](super::Metric) is sealed and its
    /// storage stays the engine's.
    pub trait Sealed: Sized {
        /// Creates a series of the family `desc` at zero.
        fn create(config: &<Self as super::Metric>::Config, desc: &Desc) -> Result<Self, Error>
        where
            Self: super::Metric;
        /// Merges the series' cells and hands the series to `visitor`
        /// with `labels` (which the metric may extend: an info's labels).
        fn visit_series(
            &self,
            labels: &dyn LabelSet,
            scratch: &mut Scratch,
            visitor: &mut dyn MetricVisitor,
        );
        /// How many handles refer to the series (a hint: others may be
        /// dropped meanwhile).
        fn references(&self) -> usize;
        /// Whether this is the series' only handle, synchronised with the
        /// drop of every other one (`Arc::get_mut`): what they wrote is
        /// visible to a merge after it.
        fn is_unique(&mut self) -> bool;
    }
}
pub(crate) use sealed::{Scratch, Sealed};

/// A metric type that can live in a [`Family`](crate::Family): a counter,
/// gauge, histogram, info or state set. Sealed: the storage behind it is
/// the engine's.
pub trait Metric: Sealed + Clone + Send + Sync + std::fmt::Debug + 'static {
    /// What every series of a family is created from (bucket bounds for a
    /// histogram, the states of a state set, nothing for the others).
    type Config: Clone + Send + Sync + std::fmt::Debug + 'static;
    /// The type reported to exporters.
    const TYPE: MetricType;
}
