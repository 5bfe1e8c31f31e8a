//! A steady-state scrape allocates nothing: same series, new values, the
//! same encoder and a cleared buffer. Its own test binary, because it
//! installs a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::BytesMut;
use hotmetrics_core::{Buckets, Opts, Registry};
use hotmetrics_protobuf::ProtobufEncoder;

struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn count() {
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
}

// SAFETY: every method forwards to `System` with its arguments unchanged;
// counting touches only a const-initialised thread-local `Cell`, which
// never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded verbatim; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded verbatim; `ptr` came from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn steady_state_scrape_allocates_nothing() {
    let registry = Registry::new();
    let sent = registry
        .counter_vec(("sent", "Sent."), &["queue", "status"])
        .unwrap();
    let depth = registry
        .gauge(Opts::new("depth_bytes", "Depth.").unit("bytes"))
        .unwrap();
    let wait = registry
        .histogram_vec(("wait_seconds", "Wait."), Buckets::default(), &["queue"])
        .unwrap();
    registry.gauge(("plain", "No unit.")).unwrap().set(1);
    registry
        .counter_vec(("idle", "No series."), &["x"])
        .unwrap();
    // Enough series for a family longer than 16 KiB (3-byte length prefix).
    for i in 0..500 {
        let q = format!("queue-{i}");
        sent.with(&[&q, "ok"], |c| c.inc()).unwrap();
        wait.with(&[&q], |h| h.observe(0.1)).unwrap();
    }

    let mut enc = ProtobufEncoder::new();
    let mut buf = BytesMut::new();
    let before = allocations();
    enc.encode(&registry, &mut buf);
    assert!(
        allocations() > before,
        "the counter counts: a first scrape grows the buffer"
    );
    buf.clear();
    enc.encode(&registry, &mut buf);
    let len = buf.len();
    assert!(len > 16_384);

    for round in 0..3i32 {
        sent.with(&["queue-1", "ok"], |c| c.inc_by(1_000_000))
            .unwrap();
        depth.set(round.into());
        wait.with(&["queue-2"], |h| h.observe(f64::from(round)))
            .unwrap();
        buf.clear();
        let before = allocations();
        enc.encode(&registry, &mut buf);
        assert_eq!(allocations() - before, 0, "round {round}");
        assert!(buf.len() >= len);
    }
}
