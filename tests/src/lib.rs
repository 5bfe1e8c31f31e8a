//! End-to-end tests of the `hotmetrics` facade live in `tests/`; this
//! library holds what they share:
//!
//! - [`fixture`]: the one registry every format test encodes (goldens,
//!   interop, the protobuf exporter's tests);
//! - [`tools`]: promtool, Python's `prometheus_client` and protoc, run on
//!   our output; [`protoc_text`] reads protoc's text format back;
//! - [`normalized`]: every reader's view in one comparable shape, and
//!   [`expected`]: what each format should read as for a registry;
//!   [`diff`] shows where two readings part;
//! - [`random`]: seeded random registries of every type;
//! - [`e2e`]: processes, the examples and a real Prometheus for the
//!   end-to-end tests;
//! - [`parse`]: a strict parser of both text formats, [`proto`]: a prost
//!   mirror of `metrics.proto`;
//! - a global allocator that counts allocations, so tests can prove a
//!   steady-state scrape allocates nothing.
//!
//! ```
//! use hotmetrics_tests::expected::{expected, model};
//! use hotmetrics_tests::normalized::render;
//! use hotmetrics_tests::{fixture, parse::Dialect};
//!
//! // What Python's 0.0.4 parser should report for the fixture: counters
//! // named without `_total`, labels sorted, floats spelled alike.
//! let lines = render(&expected(&model(&fixture::registry()), Dialect::Text));
//! assert!(lines.contains(&"# shop_orders counter unit=\"\" help=\"Orders placed.\"".to_owned()));
//! assert!(lines.contains(&"shop_orders_total{region=\"eu-west\",shard=\"7\"} 42.0".to_owned()));
//! ```
#![deny(missing_docs)]

pub mod diff;
pub mod e2e;
pub mod expected;
pub mod fixture;
pub mod normalized;
pub mod parse;
pub mod proto;
pub mod protoc_text;
pub mod random;
pub mod tools;
pub mod utf8;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by the current thread, then defers to `System`.
#[derive(Debug)]
pub struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Allocations the calling thread has made so far.
pub fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn count() {
    // `try_with`: allocations during thread teardown are not counted.
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; counting touches only a
// const-initialised thread-local `Cell`, which never allocates.
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
