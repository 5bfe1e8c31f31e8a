//! Helpers shared by the benches: run the same closure on `threads` threads
//! at once and time the slowest, so criterion reports nanoseconds per
//! operation per thread (wall time / operations each thread did); and the
//! scrape workload, built identically in every library ([`scrape`]).
#![deny(missing_docs)]

pub mod scrape;

use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Thread counts to bench: 1, 2, 4, ... up to the cores present.
pub fn thread_counts() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::iter::successors(Some(1usize), |t| Some(t * 2))
        .take_while(|&t| t <= cores.max(2))
        .collect()
}

/// Runs `op(thread_index, i)` for `i in 0..iters` on each of `threads`
/// threads, started together; returns the wall time until all are done.
pub fn run_threads<F>(threads: usize, iters: u64, op: F) -> Duration
where
    F: Fn(usize, u64) + Sync,
{
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (barrier, op) = (&barrier, &op);
            s.spawn(move || {
                barrier.wait();
                for i in 0..iters {
                    op(t, i);
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // Scoped threads are joined when the scope ends.
        start
    })
    .elapsed()
}
