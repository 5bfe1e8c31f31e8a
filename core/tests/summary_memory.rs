//! What a summary series costs: engine slots per series (each writer
//! thread holds one cell per slot: 2 bytes a narrow one, 8 a wide one), and
//! that they are given back when the series goes. A file of its own, so no
//! other test allocates slots while this one counts them.

use hotmetrics_core::{Registry, SummaryOpts, slots_in_use};
use std::thread;

/// Narrow slots (one per sketch bucket from the zero bucket on) + one wide
/// slot (the sum), per series that saw no negative value; and the slots
/// the first negative value adds (the negative half), once per series.
fn slots_per_series(alpha: f64) -> (usize, usize) {
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
    // A negative value allocates the series' negative half, once.
    let positive_only = slots_in_use();
    fam.with(&["0"], |s| s.observe(-1.0)).unwrap();
    let negative = slots_in_use() - positive_only;
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| fam.with(&["0"], |s| s.observe(-2.0)).unwrap());
        }
    });
    assert_eq!(slots_in_use() - positive_only, negative);
    let snap = fam.get_or_create(&["0"]).unwrap().snapshot();
    assert_eq!(snap.count, 10);
    // 1, 2 x4, -1, -2 x4: the median (rank 4 of 10, sorted) is -1.
    assert!(
        (snap.quantiles[0].1 + 1.0).abs() <= alpha + 1e-12,
        "{snap:?}"
    );
    drop(fam);
    r.unregister("mem_seconds");
    assert_eq!(
        slots_in_use(),
        before,
        "a dropped summary gives its slots back"
    );
    (per, negative)
}

#[test]
fn a_series_costs_its_sketch_buckets_per_writer_thread() {
    // 2074 positive log buckets + zero, +Inf, NaN; plus the sum. The
    // first negative value adds 2074 negative buckets and -Inf.
    assert_eq!(slots_per_series(0.01), (2077 + 1, 2075));
    assert_eq!(slots_per_series(0.05), (419 + 1, 417));
    // So each writer thread holds 2 * 2077 + 8 = 4,162 bytes per series
    // at α = 0.01 (2 * 419 + 8 = 846 at 0.05), and 2 * 2075 = 4,150
    // more once the series saw a negative value.
}
