//! One export of 10,000 counters and 1,000 histograms (24,000 samples):
//! the time to encode it as remote write 1.0 and 2.0 (snappy included,
//! the network not), and the bytes it puts on the wire, printed once.
//! Beside it, with `send_native_histograms` and `send_exemplars` on, one
//! export of the native workload: 1,000 counters with exemplars, 1,000
//! classic+native and 1,000 native-only histograms (17,000 samples, 6,000
//! exemplars; the registry's walk, which copies the exemplars out,
//! included), the same registry with the switches off (its classic view,
//! 18,000 samples: the walk skips the native merge, and still copies the
//! counters' and classic buckets' exemplars out), and that registry's walk
//! alone, without a sink.
//! For comparison, `prost_v1_encode_only`: the same 1.0 requests encoded
//! by prost's generated code from Prometheus' protos, structs already
//! built (what a generated encoder costs at the least), then compressed.
//! `cargo bench -p hotmetrics-remote-write`.

#[path = "../tests/common/workload.rs"]
mod workload;

use criterion::{Criterion, criterion_group, criterion_main};
use hotmetrics_core::{FamilyDesc, LabelSet, MetricVisitor, SeriesValue};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_remote_write::{Protocol, RemoteWrite};
use hotmetrics_remote_write_prompb::prometheus::WriteRequest;
use prost::Message;

fn export(c: &mut Criterion) {
    let classic = workload::registry();
    let native = workload::native_registry();
    // (protocol, its name, registry, what it holds, both switches)
    let cases = [
        (
            Protocol::V1,
            "v1",
            &classic,
            "10k_counters_1k_histograms",
            false,
        ),
        (
            Protocol::V2,
            "v2",
            &classic,
            "10k_counters_1k_histograms",
            false,
        ),
        (
            Protocol::V1,
            "v1",
            &native,
            "native_workload_switches_off",
            false,
        ),
        (
            Protocol::V1,
            "v1",
            &native,
            "native_workload_native_and_exemplars",
            true,
        ),
        (
            Protocol::V2,
            "v2",
            &native,
            "native_workload_native_and_exemplars",
            true,
        ),
    ];
    for (protocol, name, registry, what, switches) in cases {
        let mut sink = RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
            .protocol(protocol)
            .external_label("job", "bench")
            .send_native_histograms(switches)
            .send_exemplars(switches)
            .build()
            .expect("a valid configuration");
        let mut batch = Batch::default();
        let mut once = |batch: &mut Batch| {
            while !batch.is_empty() {
                batch.pop();
            }
            sink.encode(registry, batch).expect("encodes");
        };
        once(&mut batch);
        let bytes: usize = batch.payloads().iter().map(|p| p.bytes.len()).sum();
        let samples: u64 = batch.payloads().iter().map(|p| p.samples).sum();
        println!(
            "remote write {name} {what}: {samples} samples in {} requests, {bytes} bytes compressed ({:.1} per sample)",
            batch.len(),
            bytes as f64 / samples as f64
        );
        c.bench_function(&format!("remote_write_{name}_export_{what}"), |b| {
            b.iter(|| once(&mut batch))
        });
        if protocol == Protocol::V1 && what != "native_workload_switches_off" {
            prost_baseline(c, &batch, what);
        }
    }
    // What the native workload's walk costs alone (the native merge and the
    // exemplars' copies), without a sink: the rest of an export is the
    // sink's.
    c.bench_function("registry_walk_only_native_workload", |b| {
        b.iter(|| native.visit(&mut Walk))
    });
}

/// Reads what a sink with both switches on is handed, and keeps nothing.
struct Walk;

impl MetricVisitor for Walk {
    fn begin_family(&mut self, _: &FamilyDesc<'_>) {}
    fn series(&mut self, _: &dyn LabelSet, value: &SeriesValue<'_>) {
        std::hint::black_box(value);
    }
}

/// The 1.0 requests of `batch`, decoded into prost's structs, then
/// encoded and compressed by prost and snap each iteration.
fn prost_baseline(c: &mut Criterion, batch: &Batch, what: &str) {
    let requests: Vec<WriteRequest> = batch
        .payloads()
        .iter()
        .map(|p| {
            let raw = snap::raw::Decoder::new()
                .decompress_vec(&p.bytes)
                .expect("snappy");
            WriteRequest::decode(&raw[..]).expect("a WriteRequest")
        })
        .collect();
    let mut raw = Vec::new();
    let mut out = Vec::new();
    let mut snappy = snap::raw::Encoder::new();
    c.bench_function(&format!("prost_v1_encode_only_{what}"), |b| {
        b.iter(|| {
            for r in &requests {
                raw.clear();
                r.encode(&mut raw).expect("a Vec grows");
                out.resize(snap::raw::max_compress_len(raw.len()), 0);
                let n = snappy.compress(&raw, &mut out).expect("compresses");
                std::hint::black_box(n);
            }
        })
    });
}

criterion_group!(benches, export);
criterion_main!(benches);
