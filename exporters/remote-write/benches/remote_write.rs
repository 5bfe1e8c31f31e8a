//! One export of 10,000 counters and 1,000 histograms (24,000 samples):
//! the time to encode it as remote write 1.0 and 2.0 (snappy included,
//! the network not), and the bytes it puts on the wire, printed once.
//! For comparison, `prost_v1_encode_only`: the same 1.0 requests encoded
//! by prost's generated code from Prometheus' protos, structs already
//! built (what a generated encoder costs at the least), then compressed.
//! `cargo bench -p hotmetrics-remote-write`.

#[path = "../tests/common/workload.rs"]
mod workload;

use criterion::{Criterion, criterion_group, criterion_main};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_remote_write::{Protocol, RemoteWrite};
use hotmetrics_remote_write_prompb::prometheus::WriteRequest;
use prost::Message;

fn export(c: &mut Criterion) {
    let registry = workload::registry();
    for (name, protocol) in [("v1", Protocol::V1), ("v2", Protocol::V2)] {
        let mut sink = RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
            .protocol(protocol)
            .external_label("job", "bench")
            .build()
            .expect("a valid configuration");
        let mut batch = Batch::default();
        let mut once = |batch: &mut Batch| {
            while !batch.is_empty() {
                batch.pop();
            }
            sink.encode(&registry, batch).expect("encodes");
        };
        once(&mut batch);
        let bytes: usize = batch.payloads().iter().map(|p| p.bytes.len()).sum();
        let samples: u64 = batch.payloads().iter().map(|p| p.samples).sum();
        println!(
            "remote write {name}: {samples} samples in {} requests, {bytes} bytes compressed ({:.1} per sample)",
            batch.len(),
            bytes as f64 / samples as f64
        );
        c.bench_function(
            &format!("remote_write_{name}_export_10k_counters_1k_histograms"),
            |b| b.iter(|| once(&mut batch)),
        );
        if protocol == Protocol::V1 {
            prost_baseline(c, &batch);
        }
    }
}

/// The 1.0 requests of `batch`, decoded into prost's structs, then
/// encoded and compressed by prost and snap each iteration.
fn prost_baseline(c: &mut Criterion, batch: &Batch) {
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
    c.bench_function("prost_v1_encode_only_10k_counters_1k_histograms", |b| {
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
