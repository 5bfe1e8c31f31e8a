//! Every hot-path case (see `hotmetrics_benches::hot_path::Case`) for every
//! library and both limits, every thread hammering the same metric, at 1, 2,
//! 4, ... threads up to the cores present. Criterion's HTML report
//! (`target/criterion/report/index.html`) plots each case per library
//! against threads; times are per operation per thread.
//!
//! `cargo bench -p hotmetrics-benches --bench hot_path [-- counter_inc]`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hotmetrics_benches::hot_path::{Case, HotPath, run_case};
use hotmetrics_benches::{peers, thread_counts};
use std::time::Duration;

fn lib<L: HotPath>(c: &mut Criterion) {
    let lib = L::new();
    for case in Case::ALL.into_iter().filter(|&case| L::supports(case)) {
        let mut g = c.benchmark_group(case.name());
        g.warm_up_time(Duration::from_secs(1));
        g.measurement_time(Duration::from_secs(2));
        for t in thread_counts() {
            g.bench_with_input(BenchmarkId::new(L::NAME, t), &t, |b, &t| {
                b.iter_custom(|n| run_case(&lib, case, t, n))
            });
        }
        g.finish();
    }
}

criterion_group!(
    benches,
    lib::<peers::hotmetrics::Handles>,
    lib::<peers::prometheus::Handles>,
    lib::<peers::prometheus_client::Handles>,
    lib::<peers::metrics::Handles>,
    lib::<peers::measured::Handles>,
    lib::<peers::fastmetrics::Handles>,
    lib::<peers::limits::Floor>,
    lib::<peers::limits::SharedAtomic>,
);
criterion_main!(benches);
