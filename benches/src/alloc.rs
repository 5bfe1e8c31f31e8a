//! A global allocator that counts, process-wide, the allocations made and
//! the live heap bytes, but only while [`measure`] runs: outside it the
//! count is one relaxed load of a flag nobody writes, so timed hot paths pay
//! nothing measurable. The comparison runner installs it:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: hotmetrics_benches::alloc::CountingAlloc = hotmetrics_benches::alloc::CountingAlloc;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Forwards to `System`, counting while a [`measure`] is running.
#[derive(Debug)]
pub struct CountingAlloc;

static ON: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

/// What the process allocated while a [`measure`] ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Calls to `alloc`, `alloc_zeroed` and `realloc`.
    pub allocations: u64,
    /// Bytes allocated minus bytes freed (what is still live if the
    /// measured code kept it).
    pub live_bytes: i64,
}

/// Runs `f` with counting on, on every thread, and returns its result and
/// what the whole process allocated meanwhile. Measurements do not nest;
/// run them one at a time. Without [`CountingAlloc`] installed as the global
/// allocator the usage is all zeros.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    LIVE_BYTES.store(0, Ordering::SeqCst);
    ON.store(true, Ordering::SeqCst);
    let r = f();
    ON.store(false, Ordering::SeqCst);
    let usage = Usage {
        allocations: ALLOCATIONS.load(Ordering::SeqCst),
        live_bytes: LIVE_BYTES.load(Ordering::SeqCst),
    };
    (r, usage)
}

#[inline]
fn counted(allocated: usize, freed: usize) {
    if ON.load(Ordering::Relaxed) {
        if allocated > 0 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        LIVE_BYTES.fetch_add(allocated as i64 - freed as i64, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; counting touches only static
// atomics, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(layout.size(), 0);
        // SAFETY: forwarded verbatim; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        counted(0, layout.size());
        // SAFETY: `ptr` was allocated by `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        counted(layout.size(), 0);
        // SAFETY: forwarded verbatim.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        counted(new_size, layout.size());
        // SAFETY: forwarded verbatim; `ptr` came from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
