//! Loom models of the engine's protocols, run over every interleaving.
//! They live inside the crate (as `bytes` keeps its models) so the engine
//! stays private:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test -p hotmetrics-core --lib --release
//! ```

use crate::engine::Engine;
use loom::sync::Arc;
use loom::thread;

/// Two writer threads exit (one may take over the other's arena) while a
/// scraper reads: scrapes never go down, and the final total is exact.
#[test]
fn thread_exit_hands_counts_over_without_loss() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        let slot = engine.alloc(1).unwrap();
        let writers: Vec<_> = [2u64, 1]
            .into_iter()
            .map(|n| {
                let e = Arc::clone(&engine);
                thread::spawn(move || {
                    let lease = e.lease();
                    for _ in 0..n {
                        lease.add_u64(slot, 1);
                    }
                })
            })
            .collect();
        let first = engine.sum_u64(slot);
        let second = engine.sum_u64(slot);
        assert!(second >= first, "scrape went down: {first} -> {second}");
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(engine.sum_u64(slot), 3);
        assert!(engine.arena_count() <= 2);
    });
}

/// A freed slot is zeroed in every arena before a new series can get it,
/// even when the arena that wrote it is now leased by another thread.
#[test]
fn freed_slot_is_zero_for_the_next_series() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        let slot = engine.alloc(1).unwrap();
        let e = Arc::clone(&engine);
        thread::spawn(move || {
            let lease = e.lease();
            lease.add_u64(slot, 5);
        })
        .join()
        .unwrap();
        // The last handle is gone: free, then reuse.
        engine.free(slot, 1);
        let again = engine.alloc(1).unwrap();
        assert_eq!(again, slot, "freed ranges are reused");
        let e = Arc::clone(&engine);
        let writer = thread::spawn(move || {
            let lease = e.lease();
            lease.add_u64(again, 1);
        });
        let seen = engine.sum_u64(again);
        assert!(seen <= 1, "old count leaked into the new series: {seen}");
        writer.join().unwrap();
        assert_eq!(engine.sum_u64(again), 1);
    });
}

/// A writer growing its arena into a new bucket races a scrape: the scrape
/// reads either nothing or the published value, never unpublished memory.
#[test]
fn scrape_races_arena_growth() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        let low = engine.alloc(1).unwrap();
        let high = engine.alloc(6).unwrap() + 5;
        let e = Arc::clone(&engine);
        let writer = thread::spawn(move || {
            let lease = e.lease();
            lease.add_u64(low, 1);
            lease.add_f64(high, 0.5);
        });
        let f = engine.sum_f64(high);
        assert!(f == 0.0 || f == 0.5, "torn or unpublished read: {f}");
        let mut range = [0u64; 1];
        engine.sum_range_u64(low, &mut range);
        assert!(range[0] <= 1);
        writer.join().unwrap();
        assert_eq!(engine.sum_u64(low), 1);
        assert_eq!(engine.sum_f64(high), 0.5);
    });
}
