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
/// decrements the same count: one cross-core update when the handle is
/// dropped on another thread (a task that resumed elsewhere). Threads that
/// take handles never share a count. Updates through it cost what updates
/// through any handle cost.
///
/// **Across `remove` and `clear`.** A handle keeps its series alive, like a
/// handle from [`get_or_create`](crate::Family::get_or_create): after the
/// series is [removed](crate::Family::remove) (or the family
/// [cleared](crate::Family::clear)), updates through the handle, and the
/// observation of a timer started from one, still land, but in the removed
/// series, which no scrape shows. The next lookup of the same label values
/// starts a new series at zero. The series' cells are freed when its last
/// handle is dropped, and every thread's cache holds one until that thread
/// next looks something up in the family (its cache then empties itself),
/// so a removed series can outlive its handles on threads that stay idle.
///
/// **Across expiry.** A series that [expired](crate::Opts::expire_after)
/// is not removed for good while a handle to it exists: a write through
/// the handle revives it (at the next sweep, with its whole value), and so
/// does a lookup of its label values, which returns this same series.
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

#[cfg(test)]
mod tests {
    use crate::Registry;
    use std::sync::Arc;

    /// Handles a thread takes of one series share that thread's cache
    /// entry (one allocation, one count); another thread gets its own.
    #[test]
    fn a_threads_handles_share_its_cache_entry() {
        let registry = Registry::new();
        let family = registry.counter_vec(("jobs", "Jobs"), &["queue"]).unwrap();
        let a = family.handle(&["q"]).unwrap();
        let b = family.handle(&["q"]).unwrap();
        assert!(Arc::ptr_eq(&a.0, &b.0));
        let other = std::thread::scope(|s| {
            s.spawn(|| {
                let c = family.handle(&["q"]).unwrap();
                Arc::ptr_eq(&a.0, &c.0)
            })
            .join()
            .unwrap()
        });
        assert!(!other, "another thread has an entry of its own");
        a.inc();
        b.inc();
        assert_eq!(family.get_or_create(&["q"]).unwrap().get(), 2);
    }
}
