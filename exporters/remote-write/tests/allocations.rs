//! A steady-state export allocates nothing: after a few warm-up exports
//! (buffers grown), encoding 10,000 counters and 1,000 histograms into
//! the same batch makes zero allocations, in 1.0 and in 2.0, with the
//! native and exemplar switches off and on. With native histograms and
//! exemplars (the native workload) neither the registry's walk nor the
//! sink allocates: the core keeps each exemplar cell's last `Exemplar`
//! while the cell is unchanged and hands out clones.

#[path = "counting_alloc/mod.rs"]
mod counting_alloc;
#[path = "common/workload.rs"]
mod workload;

use counting_alloc::{CountingAlloc, allocations};
use hotmetrics_core::{FamilyDesc, LabelSet, MetricVisitor, Registry, SeriesValue};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_remote_write::{Protocol, RemoteWrite};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

struct Export {
    made: u64,
    samples: u64,
}

fn steady_state_allocations(registry: &Registry, protocol: Protocol, switches: bool) -> Export {
    let mut sink = RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
        .protocol(protocol)
        .external_label("job", "bench")
        .send_native_histograms(switches)
        .send_exemplars(switches)
        .build()
        .unwrap();
    let mut batch = Batch::default();
    let mut export = |batch: &mut Batch| {
        while !batch.is_empty() {
            batch.pop();
        }
        sink.encode(registry, batch).unwrap();
    };
    for _ in 0..3 {
        export(&mut batch);
    }
    let before = allocations();
    export(&mut batch);
    let made = allocations() - before;
    Export {
        made,
        samples: batch.payloads().iter().map(|p| p.samples).sum(),
    }
}

/// Reads everything a sink with both switches on is handed, and keeps
/// nothing: what the registry's walk allocates by itself.
struct Walk;

impl MetricVisitor for Walk {
    fn begin_family(&mut self, _: &FamilyDesc<'_>) {}
    fn series(&mut self, _: &dyn LabelSet, value: &SeriesValue<'_>) {
        std::hint::black_box(value);
    }
}

fn walk_allocations(registry: &Registry) -> u64 {
    for _ in 0..3 {
        registry.visit(&mut Walk);
    }
    let before = allocations();
    registry.visit(&mut Walk);
    allocations() - before
}

#[test]
fn v1_steady_state_exports_do_not_allocate() {
    let registry = workload::registry();
    for switches in [false, true] {
        let e = steady_state_allocations(&registry, Protocol::V1, switches);
        // 10,000 counters + 1,000 × (12 buckets + sum + count).
        assert_eq!(e.samples, 24_000);
        assert_eq!(
            e.made, 0,
            "allocations in a steady-state 1.0 export ({switches})"
        );
    }
}

#[test]
fn v2_steady_state_exports_do_not_allocate() {
    let registry = workload::registry();
    for switches in [false, true] {
        let e = steady_state_allocations(&registry, Protocol::V2, switches);
        assert_eq!(e.samples, 24_000);
        assert_eq!(
            e.made, 0,
            "allocations in a steady-state 2.0 export ({switches})"
        );
    }
}

#[test]
fn native_histograms_and_exemplars_add_no_allocation_to_the_walk() {
    let registry = workload::native_registry();
    let walk = walk_allocations(&registry);
    // The core keeps each cell's last `Exemplar` while the cell is
    // unchanged, so a steady-state walk hands out clones: no allocation.
    assert_eq!(walk, 0, "the core's walk allocates");
    for protocol in [Protocol::V1, Protocol::V2] {
        let e = steady_state_allocations(&registry, protocol, true);
        assert_eq!(e.samples, 17_000, "{protocol:?}");
        assert_eq!(
            e.made,
            walk,
            "{protocol:?}: the sink allocated {} times beyond the walk's {walk}",
            e.made.wrapping_sub(walk)
        );
    }
}

/// Native histograms without exemplars: nothing at all.
#[test]
fn native_histograms_without_exemplars_do_not_allocate() {
    let registry = Registry::new();
    let h = registry
        .histogram_vec(
            ("wait_seconds", "Wait."),
            hotmetrics_core::Buckets::new(vec![0.1, 1.0])
                .unwrap()
                .with_native(hotmetrics_core::NativeOpts::new())
                .unwrap(),
            &["route"],
        )
        .unwrap();
    for i in 0..100 {
        let h = h.get_or_create(&[&i.to_string()]).unwrap();
        for k in 0..50 {
            h.observe(f64::from(k) * 0.01 - 0.1);
        }
    }
    assert_eq!(walk_allocations(&registry), 0);
    for protocol in [Protocol::V1, Protocol::V2] {
        let e = steady_state_allocations(&registry, protocol, true);
        assert_eq!(e.samples, 100 * 6, "{protocol:?}");
        assert_eq!(e.made, 0, "{protocol:?}");
    }
}
