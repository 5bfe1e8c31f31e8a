//! A steady-state export allocates nothing: the last values are looked
//! up without allocating, and the batch's buffers are reused.

use hotmetrics_core::{Buckets, DEFAULT_BUCKETS, Registry};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_statsd::{Dialect, StatsdSink, Timings};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

// The counting allocator of the workspace's tests crate, per thread (that
// crate pulls in the whole facade, servers included, which a bench of
// this crate would then build with fat LTO).
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

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded verbatim; `ptr` came from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn steady_state_exports_allocate_nothing() {
    for dialect in [Dialect::Plain, Dialect::DogStatsd] {
        let registry = Registry::new();
        let counters = registry
            .counter_vec(("jobs", "Jobs."), &["queue", "worker"])
            .unwrap();
        let gauges = registry.gauge_vec(("depth", "Depth."), &["queue"]).unwrap();
        let histograms = registry
            .histogram_vec(
                ("took_seconds", "Time."),
                Buckets::new(DEFAULT_BUCKETS.to_vec()).unwrap(),
                &["queue"],
            )
            .unwrap();
        let c: Vec<_> = (0..1000)
            .map(|i| {
                counters
                    .get_or_create(&[&format!("q{}", i % 10), &format!("w{i}")])
                    .unwrap()
            })
            .collect();
        let g: Vec<_> = (0..100)
            .map(|i| gauges.get_or_create(&[&format!("q{i}")]).unwrap())
            .collect();
        let h: Vec<_> = (0..100)
            .map(|i| histograms.get_or_create(&[&format!("q{i}")]).unwrap())
            .collect();
        let mut sink = StatsdSink::udp("127.0.0.1:9")
            .dialect(dialect)
            .build()
            .unwrap();
        let mut batch = Batch::default();
        let touch = |round: u64| {
            c.iter().for_each(|c| c.inc());
            g.iter().for_each(|g| g.set(round as i64));
            h.iter().for_each(|h| h.observe(round as f64 / 10.0));
        };
        // Warm-up: the first exports size the buffers.
        for round in 0..3 {
            touch(round);
            batch = Batch::default();
            sink.encode(&registry, &mut batch).unwrap();
        }
        for round in 3..6 {
            touch(round);
            // The runtime clears and reuses its batches; encode into the
            // same one again (what `Batch::payload` gives back is cleared).
            let mut reused = std::mem::take(&mut batch);
            reused = clear(reused);
            let before = allocations();
            sink.encode(&registry, &mut reused).unwrap();
            let made = allocations() - before;
            assert!(reused.len() > 10, "every series changed");
            assert_eq!(
                made, 0,
                "{dialect:?}: export {round} allocated {made} times"
            );
            batch = reused;
        }
    }
}

/// A timer's record allocates only at a thread's first (its ring); an
/// export with timer lines allocates nothing once its buffers are sized.
#[test]
fn timer_records_and_their_exports_allocate_nothing_after_warm_up() {
    for dialect in [Dialect::Plain, Dialect::DogStatsd] {
        let timings = Timings::with_capacity(512);
        let timers: Vec<_> = (0..8)
            .map(|i| timings.timer(&format!("t{i}")).unwrap())
            .collect();
        let mut builder = StatsdSink::udp("127.0.0.1:9")
            .dialect(dialect)
            .timings(timings.clone());
        if dialect == Dialect::DogStatsd {
            builder = builder.tags([("env", "prod")]);
        }
        let mut sink = builder.build().unwrap();
        let registry = Registry::new();
        let before = allocations();
        timers.iter().for_each(|t| t.record_ms(0.5));
        assert!(allocations() > before, "the first records make the rings");
        let mut batch = Batch::default();
        for round in 0..6u32 {
            let before = allocations();
            for i in 0..400u32 {
                for t in &timers {
                    t.record_ms(f64::from(i * 7 + round) / 8.0);
                }
            }
            // One timer past its ring's 512 every round: drops, and a
            // rate on its lines; one refusal.
            timers[0].record_ms(f64::NAN);
            for i in 0..200 {
                timers[1].record_ms(f64::from(i));
            }
            let made = allocations() - before;
            assert_eq!(made, 0, "{dialect:?}: records of round {round} allocated");
            let mut reused = clear(std::mem::take(&mut batch));
            let before = allocations();
            sink.encode(&registry, &mut reused).unwrap();
            let made = allocations() - before;
            assert!(!reused.is_empty());
            if round >= 2 {
                assert_eq!(
                    made, 0,
                    "{dialect:?}: export {round} allocated {made} times"
                );
            }
            batch = reused;
        }
        assert!(timers[1].dropped() > 0, "a drop and its rate were exported");
        assert_eq!(timers[0].refused(), 6);
    }
}

/// An emptied batch that keeps its buffers, as the runtime's reuse.
fn clear(batch: Batch) -> Batch {
    let mut batch = batch;
    while !batch.is_empty() {
        batch.pop();
    }
    batch
}
