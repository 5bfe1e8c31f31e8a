//! What a summary series costs: engine slots per series (each writer
//! thread holds one cell per slot: 4 bytes a narrow one, 8 a wide one), and
//! that they are given back when the series goes. A file of its own, so no
//! other test allocates slots while this one counts them.

use hotmetrics_core::{Registry, SummaryOpts, slots_in_use};
use std::thread;

/// Narrow slots (one per sketch bucket) + one wide slot (the sum).
fn slots_per_series(alpha: f64) -> usize {
    let r = Registry::new();
    let before = slots_in_use();
    let fam = r
        .summary_vec(
            ("mem_seconds", "m"),
            SummaryOpts::new().relative_error(alpha),
            &["k"],
        )
        .unwrap();
    for i in 0..10 {
        fam.with(&[&i.to_string()], |s| s.observe(1.0)).unwrap();
    }
    let per = (slots_in_use() - before) / 10;
    // Writers on 4 threads write the same slots: more cells, not more slots.
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| fam.with(&["0"], |s| s.observe(2.0)).unwrap());
        }
    });
    assert_eq!((slots_in_use() - before) / 10, per);
    drop(fam);
    r.unregister("mem_seconds");
    assert_eq!(
        slots_in_use(),
        before,
        "a dropped summary gives its slots back"
    );
    per
}

#[test]
fn a_series_costs_its_sketch_buckets_per_writer_thread() {
    // 2 * 2074 log buckets + zero, two overflows, NaN; plus the sum.
    assert_eq!(slots_per_series(0.01), 4152 + 1);
    assert_eq!(slots_per_series(0.05), 836 + 1);
    // So each writer thread holds 4 * 4152 + 8 = 16,616 bytes per series
    // at α = 0.01, 4 * 836 + 8 = 3,352 at 0.05.
}
