//! Benchmarks of hotmetrics against every Prometheus client in Rust.
//!
//! - [`hot_path`]: the update cases (counter, gauge, histogram, labeled
//!   lookup, timer), defined once through [`hot_path::HotPath`].
//! - [`scrape`]: the 10,000 + 1,000 series scrape workload, defined once
//!   through [`scrape::ScrapeTarget`].
//! - [`peers`]: each library's implementation of both, plus the physical
//!   limits (a thread-local cell, one shared atomic).
//! - [`summary`], [`native_histogram`], [`exemplar`]: the newer metric
//!   types (hot path, scrape of 1,000 series, memory) against the peers
//!   that have them, on the shapes of [`kinds`].
//! - [`recorder`]: the `metrics` macros with hotmetrics' recorder and with
//!   `metrics-exporter-prometheus`' behind them.
//! - [`http_layer`]: the HTTP middleware per request (hotmetrics' tower
//!   layer against `axum-prometheus`).
//! - [`export`]: one export through each sink of the export runtime.
//! - [`typed_labels`]: the labeled cases' label sets as a type.
//! - [`alloc`]: the counting allocator behind memory-per-series and
//!   allocations-per-scrape.
//! - [`report`]: TSV, Markdown and SVG renderings of a run.
//!
//! The criterion benches (`cargo bench -p hotmetrics-benches`) and the
//! comparison runner (`cargo run --release -p hotmetrics-benches --bin
//! compare`) both build on these.
#![deny(missing_docs)]

pub mod alloc;
pub mod exemplar;
pub mod export;
pub mod hot_path;
pub mod http_layer;
pub mod kinds;
pub mod native_histogram;
pub mod peers;
pub mod recorder;
pub mod report;
pub mod runner;
pub mod scrape;
pub mod summary;
pub mod typed_labels;

use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Thread counts to bench: 1, 2, 4, ... up to the cores present (at least 2).
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
