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

/// The native workload: 1,000 counters with an exemplar each, 1,000
/// classic (default buckets) + native histograms and 1,000 native-only
/// ones, 20 observations each from 1 ms to 10 s, two of them (one for the
/// native-only ones) with an exemplar. With both switches on, an export
/// is 1,000 + 1,000 × (12 buckets + sum + count + 1 native) + 1,000 =
/// 17,000 samples and 6,000 exemplars (1,000 + 1,000 × (2 bucket + 2
/// native) + 1,000).
pub fn native_registry() -> Registry {
    use hotmetrics_core::NativeOpts;
    let r = Registry::new();
    let orders = r
        .counter_vec(("bench_orders", "Orders."), &["shard"])
        .unwrap();
    let both = r
        .histogram_vec(
            ("bench_wait_seconds", "Wait."),
            Buckets::new(DEFAULT_BUCKETS.to_vec())
                .unwrap()
                .with_native(NativeOpts::new())
                .unwrap(),
            &["route"],
        )
        .unwrap();
    let native = r
        .histogram_vec(
            ("bench_queue_seconds", "Queue."),
            Buckets::native(NativeOpts::new()).unwrap(),
            &["route"],
        )
        .unwrap();
    for i in 0..1_000u64 {
        let label = format!("/r/{i}");
        let trace = format!("{i:016x}{:016x}", i * 7);
        let c = orders.get_or_create(&[&label]).unwrap();
        c.inc_by(i);
        c.inc_with_exemplar(&[("trace_id", &trace)]).unwrap();
        let b = both.get_or_create(&[&label]).unwrap();
        let n = native.get_or_create(&[&label]).unwrap();
        for k in 0..20u32 {
            // 1 ms to 10 s, evenly in log scale, shifted per series.
            let v = 0.001 * 10f64.powf(f64::from(k) / 5.0) * (1.0 + i as f64 / 1000.0);
            match k {
                3 | 15 => b.observe_with_exemplar(v, &[("trace_id", &trace)]).unwrap(),
                _ => b.observe(v),
            }
            match k {
                10 => n.observe_with_exemplar(v, &[("trace_id", &trace)]).unwrap(),
                _ => n.observe(v),
            }
        }
    }
    r
}
