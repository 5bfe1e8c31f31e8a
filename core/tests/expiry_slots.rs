//! Expired series give their cells back: over many expire/create cycles
//! the engine's slots in use stay flat. A file of its own, so no other test
//! allocates slots while this one counts them.

use hotmetrics_core::{Buckets, Opts, Registry};
use std::thread;
use std::time::Duration;

#[test]
fn expired_series_recycle_their_slots() {
    let r = Registry::new();
    let counters = r
        .counter_vec(
            Opts::new("cycled_total", "x").expire_after(Duration::ZERO),
            &["k"],
        )
        .unwrap();
    let histograms = r
        .histogram_vec(
            Opts::new("cycled_seconds", "x").expire_after(Duration::ZERO),
            Buckets::default(),
            &["k"],
        )
        .unwrap();
    let mut in_use = Vec::new();
    for cycle in 0..60 {
        // New label values every cycle, written from this thread and from
        // threads that exit (their caches stay behind, stale).
        let keys: Vec<String> = (0..20).map(|i| format!("c{cycle}_{i}")).collect();
        for k in &keys {
            counters.with(&[k.as_str()], |c| c.inc()).unwrap();
        }
        thread::scope(|s| {
            for t in 0..2 {
                let (histograms, keys) = (&histograms, &keys);
                s.spawn(move || {
                    for k in keys.iter().skip(t).step_by(2) {
                        histograms.with(&[k.as_str()], |h| h.observe(0.1)).unwrap();
                    }
                });
            }
        });
        // Seen once, then expired; dropped once no cache refers to them.
        r.expire_idle();
        r.expire_idle();
        assert!(counters.is_empty() && histograms.is_empty());
        in_use.push(hotmetrics_core::slots_in_use());
    }
    // Caches let go on their next lookup, so a cycle's series are dropped
    // a cycle or two later. An exited thread's cache lets go when a new
    // thread reuses its slot in the family's per-thread storage, which can
    // take longer: a few cycles' worth of series may stay. Without
    // recycling, every cycle would add its 20 series' slots.
    let per_cycle = 20 * (1 + Buckets::default().bounds().len() + 2);
    assert!(
        in_use.iter().all(|&n| n <= 4 * per_cycle),
        "{per_cycle} slots per cycle, in use after each: {in_use:?}"
    );
}
