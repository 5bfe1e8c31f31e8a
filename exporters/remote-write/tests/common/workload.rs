//! The benchmark's workload: 10,000 counters and 1,000 histograms
//! (default buckets), as one registry.

use hotmetrics_core::{Buckets, DEFAULT_BUCKETS, Registry};

pub fn registry() -> Registry {
    let r = Registry::new();
    let counters = r
        .counter_vec(("bench_events", "Events."), &["shard", "kind"])
        .unwrap();
    for i in 0..10_000u64 {
        let c = counters
            .get_or_create(&[&(i / 100).to_string(), &(i % 100).to_string()])
            .unwrap();
        c.inc_by(i);
    }
    let histograms = r
        .histogram_vec(
            ("bench_latency_seconds", "Latency."),
            Buckets::new(DEFAULT_BUCKETS.to_vec()).unwrap(),
            &["route"],
        )
        .unwrap();
    for i in 0..1_000u64 {
        let h = histograms.get_or_create(&[&format!("/r/{i}")]).unwrap();
        h.observe(i as f64 / 1000.0);
    }
    r
}
