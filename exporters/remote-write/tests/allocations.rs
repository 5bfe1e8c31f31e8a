//! A steady-state export allocates nothing: after a few warm-up exports
//! (buffers grown), encoding 10,000 counters and 1,000 histograms into
//! the same batch makes zero allocations, in 1.0 and in 2.0.

#[path = "counting_alloc/mod.rs"]
mod counting_alloc;
#[path = "common/workload.rs"]
mod workload;

use counting_alloc::{CountingAlloc, allocations};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_remote_write::{Protocol, RemoteWrite};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn steady_state_allocations(protocol: Protocol) -> (u64, u64, usize) {
    let registry = workload::registry();
    let mut sink = RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
        .protocol(protocol)
        .external_label("job", "bench")
        .build()
        .unwrap();
    let mut batch = Batch::default();
    let mut export = |batch: &mut Batch| {
        while !batch.is_empty() {
            batch.pop();
        }
        sink.encode(&registry, batch).unwrap();
    };
    for _ in 0..3 {
        export(&mut batch);
    }
    let before = allocations();
    export(&mut batch);
    let made = allocations() - before;
    let samples = batch.payloads().iter().map(|p| p.samples).sum();
    let bytes = batch.payloads().iter().map(|p| p.bytes.len()).sum();
    (made, samples, bytes)
}

#[test]
fn v1_steady_state_exports_do_not_allocate() {
    let (made, samples, _) = steady_state_allocations(Protocol::V1);
    // 10,000 counters + 1,000 × (12 buckets + sum + count).
    assert_eq!(samples, 24_000);
    assert_eq!(made, 0, "allocations in a steady-state 1.0 export");
}

#[test]
fn v2_steady_state_exports_do_not_allocate() {
    let (made, samples, _) = steady_state_allocations(Protocol::V2);
    assert_eq!(samples, 24_000);
    assert_eq!(made, 0, "allocations in a steady-state 2.0 export");
}
