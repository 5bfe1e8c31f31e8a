//! Scrape of 10,000 labeled counter series + 1,000 labeled histograms
//! (default buckets), collection included, in every format each library
//! writes, after 1 and after N writer threads touched every series (a
//! sharded store merges one shard per thread). Throughput is in bytes of
//! output. Allocations per scrape and memory per series are in the
//! `compare` runner, which has a counting allocator.
//!
//! `hotmetrics_expiry` is hotmetrics with every family on
//! `expire_after` (an hour: nothing expires), for what the sweep that each
//! scrape does adds.
//!
//! `cargo bench -p hotmetrics-benches --bench scrape [-- scrape_text]`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hotmetrics_benches::scrape::{COUNTER_SERIES, Format, HISTOGRAM_SERIES, ScrapeTarget};
use hotmetrics_benches::{peers, thread_counts};

fn lib<S: ScrapeTarget>(c: &mut Criterion) {
    let most = thread_counts().into_iter().max().unwrap_or(1);
    let mut writers = vec![1, most];
    writers.dedup();
    for writers in writers {
        let mut target = S::build(COUNTER_SERIES, HISTOGRAM_SERIES, writers);
        for format in Format::ALL.into_iter().filter(|&f| S::supports(f)) {
            let mut g = c.benchmark_group(format!("{}/writers={writers}", format.case()));
            g.sample_size(20);
            g.throughput(Throughput::Bytes(target.scrape(format) as u64));
            g.bench_function(BenchmarkId::from_parameter(S::NAME), |b| {
                b.iter(|| target.scrape(format))
            });
            g.finish();
        }
    }
}

criterion_group!(
    benches,
    lib::<peers::hotmetrics::Workload>,
    lib::<peers::hotmetrics::ExpiringWorkload>,
    lib::<peers::prometheus::Workload>,
    lib::<peers::prometheus_client::Workload>,
    lib::<peers::metrics::Workload>,
    lib::<peers::measured::Workload>,
    lib::<peers::fastmetrics::Workload>,
);
criterion_main!(benches);
