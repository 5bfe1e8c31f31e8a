//! `ChunkedVec`: a grow-only vector whose elements never move.
//!
//! Element `i` lives in bucket `b = log2(i + FIRST) - log2(FIRST)`, and bucket
//! `b` holds `FIRST << b` elements, allocated on first use. A reader that
//! finds a bucket missing reads "nothing there yet" and never blocks; two
//! threads racing to allocate the same bucket settle it with one CAS and the
//! loser frees its copy. Growth therefore never blocks a writer, never moves
//! a cell another thread is reading, and never lets a reader see unallocated
//! memory.

use crate::sync::{AtomicPtr, Ordering};
use std::ptr;

#[cfg(not(loom))]
const FIRST_SHIFT: u32 = 6;
// Tiny buckets under loom keep the modelled state small.
#[cfg(loom)]
const FIRST_SHIFT: u32 = 1;
const FIRST: usize = 1 << FIRST_SHIFT;
/// Buckets needed to address every `u32` index.
const BUCKETS: usize = (u32::BITS + 1 - FIRST_SHIFT) as usize;

/// Largest index a `ChunkedVec` can address.
pub(crate) const MAX_INDEX: usize = u32::MAX as usize - FIRST;

/// Elements per run (see [`ChunkedVec::run`]): every bucket starts at a
/// multiple of it and holds a whole number of runs, so a run never straddles
/// two buckets.
pub(crate) const RUN: usize = FIRST;

pub(crate) struct ChunkedVec<T> {
    buckets: [AtomicPtr<T>; BUCKETS],
}

#[inline]
fn locate(index: usize) -> (usize, usize) {
    let x = index + FIRST;
    let bucket = (usize::BITS - 1 - x.leading_zeros() - FIRST_SHIFT) as usize;
    (bucket, x - (FIRST << bucket))
}

#[inline]
fn bucket_len(bucket: usize) -> usize {
    FIRST << bucket
}

impl<T: Default> ChunkedVec<T> {
    pub(crate) fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }
    }

    /// The element at `index` if its bucket exists; never allocates.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        debug_assert!(index <= MAX_INDEX);
        let (bucket, offset) = locate(index);
        // Acquire pairs with the Release of the CAS that published the
        // bucket: its default-initialised elements are visible to us.
        let p = self.buckets[bucket].load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null bucket pointer came from `allocate(bucket)`, which
        // holds `bucket_len(bucket)` initialised elements, and `offset` is
        // below that length by construction of `locate`. Buckets are freed
        // only in `Drop`, which has `&mut self`, so the borrow is valid.
        Some(unsafe { &*p.add(offset) })
    }

    /// The [`RUN`] elements from `run * RUN` on, if their bucket exists;
    /// never allocates. Reading a run is one bucket-pointer load for all of
    /// its elements (the scrape-time merge reads arenas run by run).
    #[inline]
    pub(crate) fn run(&self, run: usize) -> Option<&[T]> {
        debug_assert!(run * RUN <= MAX_INDEX);
        let (bucket, offset) = locate(run * RUN);
        debug_assert!(offset + RUN <= bucket_len(bucket));
        // Acquire: as in `get`.
        let p = self.buckets[bucket].load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null bucket pointer came from `allocate(bucket)` with
        // `bucket_len(bucket)` initialised elements. Buckets start at
        // multiples of `FIRST` (= `RUN`) and hold `FIRST << bucket` elements,
        // so `offset` is a multiple of `RUN` below the length and
        // `offset + RUN` is within it. Freed only in `Drop` (`&mut self`).
        Some(unsafe { std::slice::from_raw_parts(p.add(offset), RUN) })
    }

    /// The element at `index`, allocating its bucket on first use.
    #[inline]
    pub(crate) fn get_or_alloc(&self, index: usize) -> &T {
        match self.get(index) {
            Some(v) => v,
            None => self.alloc_slow(index),
        }
    }

    #[cold]
    fn alloc_slow(&self, index: usize) -> &T {
        let (bucket, offset) = locate(index);
        let fresh = allocate::<T>(bucket_len(bucket));
        let p = match self.buckets[bucket].compare_exchange(
            ptr::null_mut(),
            fresh,
            // Release publishes the initialised elements to `get`'s Acquire.
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(existing) => {
                // SAFETY: `fresh` came from `allocate` with this length and was
                // never shared: the CAS that would have published it failed.
                unsafe { free(fresh, bucket_len(bucket)) };
                existing
            }
        };
        // SAFETY: as in `get`: `p` is a published bucket of `bucket_len(bucket)`
        // elements and `offset` is in range.
        unsafe { &*p.add(offset) }
    }
}

fn allocate<T: Default>(len: usize) -> *mut T {
    let b: Box<[T]> = (0..len).map(|_| T::default()).collect();
    Box::into_raw(b).cast::<T>()
}

/// # Safety
/// `p` must come from `allocate::<T>(len)` with the same `len`, and must not
/// be used afterwards.
unsafe fn free<T>(p: *mut T, len: usize) {
    // SAFETY: the caller guarantees `p` is the start of a boxed slice of `len`
    // elements that nobody else owns.
    drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, len)) });
}

impl<T> Drop for ChunkedVec<T> {
    fn drop(&mut self) {
        for (bucket, slot) in self.buckets.iter().enumerate() {
            let p = slot.load(Ordering::Acquire);
            if !p.is_null() {
                // SAFETY: `&mut self` means no borrow of any element is alive,
                // and `p` was published by `alloc_slow` with this length.
                unsafe { free(p, bucket_len(bucket)) };
            }
        }
    }
}

// SAFETY: a ChunkedVec owns its `T`s like a `Vec<T>` does; sending it sends
// the elements.
unsafe impl<T: Send> Send for ChunkedVec<T> {}
// SAFETY: shared access hands out only `&T` (so `T: Sync` is required) and
// buckets are published through atomics; `T: Send` because the vector may be
// dropped on another thread than the one that allocated the elements.
unsafe impl<T: Send + Sync> Sync for ChunkedVec<T> {}

impl<T> std::fmt::Debug for ChunkedVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let allocated = self
            .buckets
            .iter()
            .filter(|b| !b.load(Ordering::Relaxed).is_null())
            .count();
        f.debug_struct("ChunkedVec")
            .field("allocated_buckets", &allocated)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn locate_covers_indices_without_gaps() {
        let mut expected = (0, 0);
        for i in 0..10_000 {
            assert_eq!(locate(i), expected, "index {i}");
            expected.1 += 1;
            if expected.1 == bucket_len(expected.0) {
                expected = (expected.0 + 1, 0);
            }
        }
        let (b, o) = locate(MAX_INDEX);
        assert!(b < BUCKETS && o < bucket_len(b));
    }

    #[test]
    fn get_is_none_until_allocated_and_elements_stay_put() {
        let v: ChunkedVec<AtomicU64> = ChunkedVec::new();
        assert!(v.get(5_000).is_none());
        let a = v.get_or_alloc(5_000) as *const _;
        v.get_or_alloc(5_000)
            .store(7, std::sync::atomic::Ordering::Relaxed);
        v.get_or_alloc(1_000_000);
        assert_eq!(
            v.get(5_000)
                .map(|c| c.load(std::sync::atomic::Ordering::Relaxed)),
            Some(7)
        );
        assert_eq!(v.get(5_000).map(|c| c as *const _), Some(a));
        assert!(
            v.get(0).is_none(),
            "lower buckets are not allocated eagerly"
        );
    }

    #[test]
    fn runs_stay_inside_one_bucket_and_see_the_elements() {
        let v: ChunkedVec<AtomicU64> = ChunkedVec::new();
        assert!(v.run(3).is_none());
        for i in 0..20 * RUN {
            v.get_or_alloc(i)
                .store(i as u64, std::sync::atomic::Ordering::Relaxed);
        }
        for run in 0..20 {
            let cells = v.run(run).expect("allocated");
            assert_eq!(cells.len(), RUN);
            for (k, c) in cells.iter().enumerate() {
                let i = run * RUN + k;
                assert_eq!(c.load(std::sync::atomic::Ordering::Relaxed), i as u64);
                assert!(std::ptr::eq(c, v.get(i).expect("allocated")));
            }
        }
        // The last run of the address space is in range too.
        let last = MAX_INDEX / RUN;
        let (b, o) = locate(last * RUN);
        assert!(o + RUN <= bucket_len(b));
    }
}
