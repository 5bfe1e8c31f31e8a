//! Scrape of 10,000 labeled counter series + 1,000 labeled histograms
//! (default buckets), collection included, in each format, next to the
//! `prometheus` crate's `TextEncoder`/`ProtobufEncoder` (gather included)
//! and `prometheus-client`'s text encoder. Throughput is in bytes of output.
//! The registries were touched by 1 and by 2 writer threads (hotmetrics
//! merges one arena per thread).
//!
//! `cargo bench -p hotmetrics-benches --bench scrape`

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hotmetrics::exposition::{Format, ScrapeEncoder};
use hotmetrics_benches::scrape;

fn scrapes(c: &mut Criterion) {
    for writers in [1, 2] {
        let ours = scrape::hotmetrics_registry(writers);
        let tikv = scrape::prometheus_registry(writers);
        let client = scrape::prometheus_client_registry(writers);
        for (case, format) in [
            ("scrape_text", Format::Text),
            ("scrape_openmetrics", Format::OpenMetrics),
            ("scrape_protobuf", Format::Protobuf),
        ] {
            let mut g = c.benchmark_group(format!("{case}/writers={writers}"));
            g.sample_size(20);
            let mut enc = ScrapeEncoder::new();
            let mut buf = BytesMut::new();
            peer(&mut g, "hotmetrics", || {
                buf.clear();
                enc.encode(format, &ours, &mut buf);
                buf.len()
            });
            let mut out = Vec::new();
            let text = prometheus::TextEncoder::new();
            let proto = prometheus::ProtobufEncoder::new();
            let mut encode = |enc: &dyn Fn(&[prometheus::proto::MetricFamily], &mut Vec<u8>)| {
                out.clear();
                enc(&tikv.gather(), &mut out);
                out.len()
            };
            use prometheus::Encoder as _;
            match format {
                Format::Text => peer(&mut g, "prometheus", || {
                    encode(&|m, o| text.encode(m, o).expect("encodes"))
                }),
                Format::Protobuf => peer(&mut g, "prometheus", || {
                    encode(&|m, o| proto.encode(m, o).expect("encodes"))
                }),
                _ => {}
            }
            if format != Format::Protobuf {
                // prometheus-client writes OpenMetrics text only; it is the
                // peer for both text formats.
                let mut s = String::new();
                peer(&mut g, "prometheus-client", || {
                    s.clear();
                    prometheus_client::encoding::text::encode(&mut s, &client).expect("encodes");
                    s.len()
                });
            }
            g.finish();
        }
    }
}

/// Benches one peer's scrape; `scrape` returns the bytes it wrote.
fn peer(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut scrape: impl FnMut() -> usize,
) {
    g.throughput(Throughput::Bytes(scrape() as u64));
    g.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(&mut scrape));
}

criterion_group!(benches, scrapes);
criterion_main!(benches);
