//! `Handle`: an owned series handle out of a thread's lookup cache.

use crate::metric::Metric;
use crossbeam_utils::CachePadded;
use std::ops::Deref;
use std::sync::Arc;

/// An owned handle to one series of a [`Family`](crate::Family), from
/// [`Family::handle`](crate::Family::handle): it dereferences to the metric
/// (`handle.inc()`), is `Send + Sync + 'static`, and can be kept, held
/// across an `.await` or moved to another thread.
///
/// **Cost.** Each thread's lookup cache keeps its own handle per series
/// (padded to a cache line of its own), so taking one on a cache hit is one
/// increment of a count only that thread's cache shares, not of the
/// series' count that every thread shares, and no allocation. Dropping it
/// decrements the same count. Updates through it cost what updates through
/// any handle cost.
///
/// **Across `remove` and `clear`.** A handle keeps its series alive, like a
/// handle from [`get_or_create`](crate::Family::get_or_create): after the
/// series is [removed](crate::Family::remove) (or the family
/// [cleared](crate::Family::clear)), updates through the handle, and the
/// observation of a timer started from one, still land, but in the removed
/// series, which no scrape shows. The next lookup of the same label values
/// starts a new series at zero. The series' cells are freed when its last
/// handle is dropped.
///
/// ```
/// let registry = hotmetrics_core::Registry::new();
/// let jobs = registry.counter_vec(("jobs_total", "Jobs"), &["queue"]).unwrap();
/// let old = jobs.handle(&["emails"]).unwrap();
/// old.inc();
/// assert_eq!(jobs.remove(&["emails"]), Ok(true));
/// old.inc(); // lands in the removed series
/// assert_eq!(old.get(), 2);
/// let new = jobs.handle(&["emails"]).unwrap();
/// assert_eq!(new.get(), 0, "a new series");
/// assert_eq!(registry.snapshot().counter("jobs", &[("queue", "emails")]), Some(0.0));
/// ```
pub struct Handle<M: Metric>(Arc<CachePadded<M>>);

impl<M: Metric> Handle<M> {
    pub(crate) fn new(metric: M) -> Self {
        Self(Arc::new(CachePadded::new(metric)))
    }
}

impl<M: Metric> Deref for Handle<M> {
    type Target = M;

    #[inline]
    fn deref(&self) -> &M {
        &self.0
    }
}

impl<M: Metric> Clone for Handle<M> {
    /// Another handle to the same series; clones share the count of the
    /// thread cache they came from.
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<M: Metric> std::fmt::Debug for Handle<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Handle").field(&**self.0).finish()
    }
}
