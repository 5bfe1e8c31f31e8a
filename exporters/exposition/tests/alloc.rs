//! Negotiation never allocates, and a warmed-up `ScrapeEncoder` scrape
//! allocates nothing in any compiled-in format. Its own test binary,
//! because it installs a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::BytesMut;
use hotmetrics_core::{Buckets, Registry};
use hotmetrics_exposition::{Format, ScrapeEncoder, negotiate};

struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn count() {
    // `try_with`: allocations during thread teardown are not counted.
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

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded verbatim.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded verbatim; `ptr` came from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const HEADERS: &[&str] = &[
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,\
     text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,\
     application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,\
     text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
     application/openmetrics-text;version=0.0.1;q=0.5,\
     text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
    "text/plain;x=\"a,b\\\"c\";q=0.5, garbage;;;,,, application/json",
    "",
];

#[test]
fn negotiation_allocates_nothing() {
    for header in HEADERS {
        let before = allocations();
        let chosen = negotiate(Some(header));
        assert_eq!(allocations() - before, 0, "{header:?}");
        std::hint::black_box(chosen);
    }
}

#[test]
fn warm_scrapes_allocate_nothing() {
    let registry = Registry::new();
    let sent = registry.counter_vec(("sent", "Sent."), &["queue"]).unwrap();
    let wait = registry
        .histogram_vec(("wait_seconds", "Wait."), Buckets::default(), &["queue"])
        .unwrap();
    for i in 0..100 {
        let q = format!("queue-{i}");
        sent.with(&[&q], |c| c.inc()).unwrap();
        wait.with(&[&q], |h| h.observe(0.1)).unwrap();
    }

    let mut encoder = ScrapeEncoder::new();
    let mut body = BytesMut::new();
    for &format in Format::available() {
        for _ in 0..2 {
            body.clear();
            encoder.encode(format, &registry, &mut body);
        }
        for round in 0..3u64 {
            sent.with(&["queue-1"], |c| c.inc_by(1_000_000)).unwrap();
            body.clear();
            let before = allocations();
            encoder.encode(format, &registry, &mut body);
            assert_eq!(allocations() - before, 0, "{format:?} round {round}");
        }
    }
    for header in HEADERS {
        body.clear();
        let before = allocations();
        encoder.encode_negotiated(Some(header), &registry, &mut body);
        assert_eq!(allocations() - before, 0, "{header:?}");
    }
}
