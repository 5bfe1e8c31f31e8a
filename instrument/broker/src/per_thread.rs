//! Owned series for `'static` guards without a shared reference count on
//! the hot path: one copy of a handler's (or destination's) series handles
//! per thread, each behind its own `Arc`.
//!
//! A guard must own what it records into, so that it can move into a
//! spawned task and outlive the handle it came from. Cloning one shared
//! `Arc` per message would make every thread on the same handler
//! increment and decrement one reference count: a contended atomic
//! read-modify-write, the cost the per-thread cells exist to avoid. Here
//! each thread takes its reference from its own copy, on its own cache
//! line, so threads that receive on one handler never share a count. A
//! guard finished on another thread (the spawned-task shape: received on
//! the poll thread, finished on a worker) touches the receiving thread's
//! line from there, once per message; that is the cost of one shared
//! `Arc`, no more, and is small next to `tokio::spawn` itself.

use crossbeam_utils::CachePadded;
use std::sync::Arc;
use thread_local::ThreadLocal;

/// What a guard holds: one thread's copy of the series. Cache-padded, so
/// that its reference count shares a cache line with no other allocation.
pub(crate) type Owned<T> = Arc<CachePadded<T>>;

/// The series, and a copy of them per thread that has received or
/// published through them.
pub(crate) struct PerThread<T: Send + Sync> {
    series: T,
    copies: ThreadLocal<Owned<T>>,
}

impl<T: Clone + Send + Sync> PerThread<T> {
    pub(crate) fn new(series: T) -> Self {
        Self {
            series,
            copies: ThreadLocal::new(),
        }
    }

    /// The series, for records that need no guard.
    #[inline]
    pub(crate) fn series(&self) -> &T {
        &self.series
    }

    /// A reference to the calling thread's copy, made on the thread's first
    /// call: one uncontended reference-count increment after that.
    #[inline]
    pub(crate) fn owned(&self) -> Owned<T> {
        Arc::clone(
            self.copies
                .get_or(|| Arc::new(CachePadded::new(self.series.clone()))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_copy_per_thread_shared_by_its_references() {
        let per_thread = PerThread::new(7u64);
        let (a, b) = (per_thread.owned(), per_thread.owned());
        assert!(Arc::ptr_eq(&a, &b), "one thread, one copy");
        let other = std::thread::scope(|s| s.spawn(|| per_thread.owned()).join().unwrap());
        assert!(!Arc::ptr_eq(&a, &other), "another thread, another copy");
        assert_eq!((**a, **other, *per_thread.series()), (7, 7, 7));
        // The thread's copy (in `copies`) and `a` and `b`.
        assert_eq!(Arc::strong_count(&a), 3);
    }
}
