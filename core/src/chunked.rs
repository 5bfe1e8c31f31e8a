//! `ChunkedVec`: a grow-only vector whose elements never move.
//!
//! Elements live in buckets allocated on first use, four per doubling:
//! with `x = i + BASE` (`BASE = FIRST << SPLIT`), element `i` lies in
//! octave `log2(x) - log2(BASE)`, in the quarter of it that the two bits
//! below `x`'s top bit name, and a quarter holds `FIRST << octave`
//! elements. A reader that finds a bucket missing reads "nothing there
//! yet" and never blocks; two threads racing to allocate the same bucket
//! settle it with one CAS and the loser frees its copy. Growth therefore
//! never blocks a writer, never moves a cell another thread is reading,
//! and never lets a reader see unallocated memory.
//!
//! **Why quarters.** With one bucket per doubling the newest bucket is as
//! large as all before it, so an arena held up to twice the cells its
//! slots need (a quarter more on average): at 10,000 counters or 1,000
//! histograms that was 5 B and 25 B of every writer thread's cost per
//! series, on 8 B and 56 B of cells. Quarters cap the unused part at a
//! quarter of an octave (measured: 9.7 B and 56 B a writer now). Finding
//! the bucket stays a few register operations (a leading-zero count,
//! shifts and masks), no table, and a series' 64-bit cell keeps its
//! [`Loc`] so its updates skip even those.

use crate::sync::{AtomicPtr, Ordering};
use std::ptr;

#[cfg(not(loom))]
const FIRST_SHIFT: u32 = 6;
// Tiny buckets under loom keep the modelled state small.
#[cfg(loom)]
const FIRST_SHIFT: u32 = 1;
const FIRST: usize = 1 << FIRST_SHIFT;
/// Buckets per doubling: `1 << SPLIT`.
const SPLIT: u32 = 2;
/// Offset added to an index: the first octave is `BASE..2 * BASE`, so its
/// quarters (the smallest buckets) hold `FIRST` elements.
const BASE_SHIFT: u32 = FIRST_SHIFT + SPLIT;
const BASE: usize = 1 << BASE_SHIFT;
// A small address space under loom (`x` below 2^11): each bucket pointer
// is a modelled atomic, and 32 of them (as many as before the quarters)
// keep the models within loom's branch limit.
#[cfg(loom)]
const ADDRESS_BITS: u32 = 10;
/// Buckets needed to address every index up to [`MAX_INDEX`] (97; 32
/// under loom).
const BUCKETS: usize = locate(MAX_INDEX).0 + 1;

/// Largest index a `ChunkedVec` can address.
#[cfg(not(loom))]
pub(crate) const MAX_INDEX: usize = u32::MAX as usize - FIRST;
#[cfg(loom)]
pub(crate) const MAX_INDEX: usize = (1 << (ADDRESS_BITS + 1)) - 1 - BASE;

/// Elements per run (see [`ChunkedVec::run`]): every bucket starts at a
/// multiple of it and holds a whole number of runs, so a run never straddles
/// two buckets.
pub(crate) const RUN: usize = FIRST;

pub(crate) struct ChunkedVec<T> {
    buckets: [AtomicPtr<T>; BUCKETS],
}

#[inline]
const fn locate(index: usize) -> (usize, usize) {
    let x = index + BASE;
    let top = x.ilog2();
    // Bits below the top one that stay inside the bucket.
    let shift = top - SPLIT;
    // The top bit and the quarter: `0b1qq`.
    let head = x >> shift;
    // `((top - BASE_SHIFT) << SPLIT) + (head - (1 << SPLIT))`, folded into
    // one constant: fewer operations on every update's address.
    let bucket = ((top as usize) << SPLIT) + head - (((BASE_SHIFT as usize) + 1) << SPLIT);
    (bucket, x - (head << shift))
}

#[inline]
fn bucket_len(bucket: usize) -> usize {
    FIRST << (bucket >> SPLIT)
}

/// Index of the first element of `bucket` (the inverse of [`locate`]).
fn bucket_start(bucket: usize) -> usize {
    let top = (bucket >> SPLIT) + BASE_SHIFT as usize;
    let head = (1 << SPLIT) | (bucket & ((1 << SPLIT) - 1));
    (head << (top - SPLIT as usize)) - BASE
}

/// Where an index lives: its bucket and the offset in it. A series keeps
/// its cell's `Loc` (`slots.rs`), so an update goes straight to the
/// bucket pointer with no arithmetic on the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc {
    bucket: u32,
    offset: u32,
}

impl Loc {
    /// The location of `index` (at most [`MAX_INDEX`]).
    pub(crate) fn of(index: u32) -> Self {
        let (bucket, offset) = locate(index as usize);
        // Both fit: under `BUCKETS` and under a bucket's length (2^31).
        Self {
            bucket: bucket as u32,
            offset: offset as u32,
        }
    }

    /// The index it locates.
    pub(crate) fn index(self) -> u32 {
        // At most `MAX_INDEX`: a `u32`.
        (bucket_start(self.bucket as usize) + self.offset as usize) as u32
    }
}

/// A range of consecutive indices (at most [`LocRange::MAX_LEN`]) in 8
/// bytes with a niche (the packed word is never zero). When it lies in one
/// bucket (ranges of up to 64 indices almost always do) it keeps its first
/// index's [`Loc`], and index `i` of it is at that offset plus `i`: no
/// arithmetic on the index number, so the bucket pointer's load waits for
/// none. A range across buckets (a summary's thousands of slots) keeps its
/// first index and locates each from its number.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocRange {
    /// The first index's offset in its bucket; the first index itself
    /// when the range spans buckets (each is then located from its
    /// number).
    offset: u32,
    /// `len << LEN_SHIFT | ACROSS (when it spans buckets) | bucket`.
    packed: std::num::NonZeroU32,
}

/// `LocRange::packed`: the bucket in the low 7 bits (there are 97).
const BUCKET_MASK: u32 = 0x7f;
/// `LocRange::packed`: the range spans more than one bucket.
const ACROSS: u32 = 0x80;
const LEN_SHIFT: u32 = 8;
const _: () = assert!(BUCKETS <= BUCKET_MASK as usize + 1);

impl LocRange {
    /// The longest range (2^24 - 1 indices).
    pub(crate) const MAX_LEN: u32 = u32::MAX >> LEN_SHIFT;

    /// Indices `start..start + len`; `None` when `len` is 0 or over
    /// [`MAX_LEN`](Self::MAX_LEN), or the range ends past [`MAX_INDEX`].
    pub(crate) fn new(start: u32, len: u32) -> Option<Self> {
        if len == 0 || len > Self::MAX_LEN {
            return None;
        }
        let last = start.checked_add(len - 1)?;
        if last as usize > MAX_INDEX {
            return None;
        }
        let first = Loc::of(start);
        let (offset, tag) = if Loc::of(last).bucket == first.bucket {
            (first.offset, first.bucket)
        } else {
            (start, ACROSS)
        };
        Some(Self {
            offset,
            packed: std::num::NonZeroU32::new(len << LEN_SHIFT | tag)?,
        })
    }

    #[inline]
    fn across(self) -> bool {
        self.packed.get() & ACROSS != 0
    }

    /// The first index.
    #[inline]
    pub(crate) fn start(self) -> u32 {
        if self.across() {
            self.offset
        } else {
            Loc {
                bucket: self.packed.get() & BUCKET_MASK,
                offset: self.offset,
            }
            .index()
        }
    }

    /// The number of indices.
    #[inline]
    pub(crate) fn len(self) -> u32 {
        self.packed.get() >> LEN_SHIFT
    }

    /// Where index `i` of the range is. `i` must be below [`len`](Self::len)
    /// (the callers' indices are by construction, and a debug build
    /// asserts it); the branch for one that is not exists only so that a
    /// wrong caller in a release build gets some index's place (located
    /// from its number, clamped to [`MAX_INDEX`]), never one past a bucket.
    #[inline]
    pub(crate) fn loc(self, i: u32) -> Loc {
        debug_assert!(i < self.len());
        if self.across() {
            Loc::of(self.offset.saturating_add(i).min(MAX_INDEX as u32))
        } else if i < self.len() {
            // The range's last index is in the first's bucket, and `i` is
            // at most that one's: `offset + i` is inside the bucket.
            Loc {
                bucket: self.packed.get() & BUCKET_MASK,
                offset: self.offset + i,
            }
        } else {
            Loc::of(self.start().saturating_add(i).min(MAX_INDEX as u32))
        }
    }
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
        self.get_in(bucket, offset)
    }

    #[inline]
    fn get_in(&self, bucket: usize, offset: usize) -> Option<&T> {
        // Acquire pairs with the Release of the CAS that published the
        // bucket: its default-initialised elements are visible to us.
        let p = self.buckets[bucket].load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null bucket pointer came from `allocate(bucket)`, which
        // holds `bucket_len(bucket)` initialised elements, and `offset` is
        // below that length: `locate` computed it, here or in `Loc::of`, or
        // `LocRange::loc` added to a range's first offset an `i` no greater
        // than that of the range's last index, which `locate` put in the
        // same bucket (a `Loc`'s fields are set nowhere else, and a
        // `LocRange`'s only in `LocRange::new`). Buckets are freed only in
        // `Drop`, which has `&mut self`, so the borrow is valid.
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
        // multiples of `FIRST` (= `RUN`; `BASE` is one too) and hold a
        // multiple of `FIRST` elements, so `offset` is a multiple of `RUN`
        // below the length and `offset + RUN` is within it. Freed only in
        // `Drop` (`&mut self`).
        Some(unsafe { std::slice::from_raw_parts(p.add(offset), RUN) })
    }

    /// The element at `index`, allocating its bucket on first use.
    #[inline]
    pub(crate) fn get_or_alloc(&self, index: usize) -> &T {
        let (bucket, offset) = locate(index);
        match self.get_in(bucket, offset) {
            Some(v) => v,
            None => self.alloc_slow(bucket, offset),
        }
    }

    /// The element at `loc`, allocating its bucket on first use.
    #[inline]
    pub(crate) fn get_or_alloc_at(&self, loc: Loc) -> &T {
        let (bucket, offset) = (loc.bucket as usize, loc.offset as usize);
        match self.get_in(bucket, offset) {
            Some(v) => v,
            None => self.alloc_slow(bucket, offset),
        }
    }

    #[cold]
    fn alloc_slow(&self, bucket: usize, offset: usize) -> &T {
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
        for i in 0..100_000 {
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
    fn locs_find_the_same_elements_as_indices() {
        let v: ChunkedVec<AtomicU64> = ChunkedVec::new();
        let probes = (0..5_000u32).chain([65_535, 65_536, 1 << 20, MAX_INDEX as u32]);
        for i in probes {
            let loc = Loc::of(i);
            assert_eq!(loc.index(), i);
            assert_eq!(
                locate(i as usize),
                (loc.bucket as usize, loc.offset as usize)
            );
            if i < 5_000 {
                let a = v.get_or_alloc_at(loc) as *const AtomicU64;
                assert!(std::ptr::eq(a, v.get(i as usize).expect("allocated")));
            }
        }
    }

    #[test]
    fn loc_ranges_locate_every_index_of_the_range() {
        let starts = (0..700u32).chain([4_000, 65_530, (1 << 20) - 3, MAX_INDEX as u32 - 70]);
        for start in starts {
            for len in [1u32, 2, 12, 13, 64, 65, 70] {
                let Some(r) = LocRange::new(start, len) else {
                    assert!(start as usize + len as usize - 1 > MAX_INDEX);
                    continue;
                };
                assert_eq!((r.start(), r.len()), (start, len));
                let across = locate(start as usize).0 != locate((start + len - 1) as usize).0;
                assert_eq!(r.across(), across, "{start}+{len}");
                for i in 0..len {
                    assert_eq!(r.loc(i), Loc::of(start + i), "{start}+{len}: {i}");
                }
            }
        }
        // Ranges in one bucket are the common case: all but those across
        // a bucket boundary.
        assert!(LocRange::new(0, 12).is_some_and(|r| !r.across()));
        assert!(LocRange::new(60, 12).is_some_and(LocRange::across));
        assert!(LocRange::new(0, 0).is_none());
        assert!(LocRange::new(0, LocRange::MAX_LEN + 1).is_none());
        assert!(LocRange::new(MAX_INDEX as u32, 2).is_none());
        assert!(LocRange::new(u32::MAX, 1).is_none());
    }

    #[test]
    fn buckets_come_four_to_a_doubling() {
        // Four buckets of `FIRST`, then four of each doubling.
        let lens: Vec<usize> = (0..12).map(bucket_len).collect();
        assert_eq!(
            lens,
            [64, 64, 64, 64, 128, 128, 128, 128, 256, 256, 256, 256]
        );
        // The unused part of the buckets an index needs is under one
        // bucket, a quarter of an octave; from about 300 elements on that
        // is at most a quarter of the capacity (one bucket per doubling
        // left up to half). Below, the first buckets (64 elements each)
        // leave up to 127 unused.
        let sizes = (1..5_000).chain([12_000, 100_000, 1 << 24, MAX_INDEX + 1]);
        for needed in sizes {
            let (last, _) = locate(needed - 1);
            let capacity: usize = (0..=last).map(bucket_len).sum();
            assert!(capacity >= needed);
            assert!(capacity - needed < bucket_len(last), "{needed}: {capacity}");
            if needed >= 288 {
                assert!((capacity - needed) * 4 <= capacity, "{needed}: {capacity}");
            } else {
                assert!(capacity - needed < 128, "{needed}: {capacity}");
            }
        }
        assert_eq!(BUCKETS, 97, "every u32 index, no bucket that none reaches");
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
