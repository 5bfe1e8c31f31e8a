//! The comparison runner behind `cargo run --release -p hotmetrics-benches
//! --bin compare`: every library through the same [`HotPath`] and
//! [`ScrapeTarget`] workloads, timed the same way, into one [`Report`].

use crate::alloc;
use crate::hot_path::{Case, HotPath, run_case};
use crate::peers;
use crate::report::{Measurement, Memory, Report, ScrapeCost};
use crate::scrape::{COUNTER_SERIES, Format, HISTOGRAM_SERIES, ScrapeTarget};
use std::time::{Duration, Instant};

/// What to run and how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Thread counts for the hot-path cases; the largest is also the writer
    /// count of the N-writer scrapes and memory rows.
    pub threads: Vec<usize>,
    /// Shorter runs (about 10× faster, noisier).
    pub quick: bool,
    /// Only the cases whose names contain one of these (all when empty).
    pub cases: Vec<String>,
    /// Only these libraries, by report name (all when empty).
    pub libs: Vec<String>,
}

impl Options {
    fn wants(&self, case: &str) -> bool {
        self.cases.is_empty() || self.cases.iter().any(|c| case.contains(c.as_str()))
    }

    fn wants_lib(&self, lib: &str) -> bool {
        self.libs.is_empty() || self.libs.iter().any(|l| l == lib)
    }

    /// The time one timed run aims at.
    fn target(&self) -> Duration {
        Duration::from_millis(if self.quick { 20 } else { 150 })
    }

    /// Timed runs per row; the median is reported.
    fn runs(&self) -> usize {
        if self.quick { 3 } else { 7 }
    }

    /// The writer counts of the scrape and memory rows: 1 and the most
    /// threads asked for.
    fn writers(&self) -> Vec<usize> {
        let n = self.threads.iter().copied().max().unwrap_or(1);
        if n > 1 { vec![1, n] } else { vec![1] }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times `case` for library `L` at every thread count: iterations are
/// scaled until one run takes about [`Options::target`], then the median of
/// [`Options::runs`] runs is kept.
pub fn hot_path<L: HotPath>(opts: &Options, report: &mut Report) {
    if !opts.wants_lib(L::NAME) {
        return;
    }
    let lib = L::new();
    for case in Case::ALL {
        if !L::supports(case) || !opts.wants(case.name()) {
            continue;
        }
        for &threads in &opts.threads {
            let mut iters = 1_000u64;
            let mut took = run_case(&lib, case, threads, iters);
            // The cap stops a loop the compiler folded away from growing forever.
            while took < opts.target() / 4 && iters < 1 << 40 {
                iters *= 4;
                took = run_case(&lib, case, threads, iters);
            }
            let scale = opts.target().as_secs_f64() / took.as_secs_f64().max(1e-9);
            let iters = ((iters as f64 * scale) as u64).max(1);
            let ns = median(
                (0..opts.runs())
                    .map(|_| run_case(&lib, case, threads, iters).as_nanos() as f64 / iters as f64)
                    .collect(),
            );
            report.measurements.push(Measurement {
                case: case.name(),
                lib: L::NAME,
                threads,
                ns_per_op: ns,
                mops: threads as f64 * 1e3 / ns,
            });
        }
    }
}

/// Times one whole scrape of the 10,000 + 1,000 series workload in every
/// format `S` writes, after 1 and N writer threads; records the bytes and
/// the allocations of one steady-state scrape.
pub fn scrape<S: ScrapeTarget>(opts: &Options, report: &mut Report) {
    let formats: Vec<_> = Format::ALL
        .into_iter()
        .filter(|&f| S::supports(f) && opts.wants(f.case()))
        .collect();
    if formats.is_empty() || !opts.wants_lib(S::NAME) {
        return;
    }
    for threads in opts.writers() {
        let mut target = S::build(COUNTER_SERIES, HISTOGRAM_SERIES, threads);
        for &format in &formats {
            // Two warm-up scrapes size every reusable buffer.
            target.scrape(format);
            target.scrape(format);
            let (bytes, usage) = alloc::measure(|| target.scrape(format));
            let mut times = Vec::new();
            let start = Instant::now();
            while times.len() < 5 || (start.elapsed() < opts.target() * 4 && times.len() < 200) {
                let t = Instant::now();
                target.scrape(format);
                times.push(t.elapsed().as_nanos() as f64);
            }
            let ns = median(times);
            report.measurements.push(Measurement {
                case: format.case(),
                lib: S::NAME,
                threads,
                ns_per_op: ns,
                mops: bytes as f64 * 1e3 / ns,
            });
            report.scrape_costs.push(ScrapeCost {
                case: format.case(),
                lib: S::NAME,
                threads,
                allocations: usage.allocations,
                bytes,
            });
        }
    }
}

/// Live heap bytes per counter series and per histogram series once 1 and
/// N writer threads have touched them (registry, label values and every
/// per-thread cell included; needs [`alloc::CountingAlloc`] installed).
pub fn memory<S: ScrapeTarget>(opts: &Options, report: &mut Report) {
    if !opts.wants("memory") || !opts.wants_lib(S::NAME) {
        return;
    }
    // Lazily built global state is not a cost of the series.
    drop(S::build(1, 1, 1));
    for threads in opts.writers() {
        for (kind, counters, histograms) in [
            ("counter", COUNTER_SERIES, 0),
            ("histogram", 0, HISTOGRAM_SERIES),
        ] {
            let (target, usage) = alloc::measure(|| S::build(counters, histograms, threads));
            drop(target);
            report.memory.push(Memory {
                kind,
                lib: S::NAME,
                threads,
                bytes_per_series: usage.live_bytes as f64 / (counters + histograms) as f64,
            });
        }
    }
}

/// Runs everything `opts` selects, for every library and both limits, in
/// report order.
pub fn run(opts: &Options, report: &mut Report) {
    hot_path::<peers::hotmetrics::Handles>(opts, report);
    hot_path::<peers::prometheus::Handles>(opts, report);
    hot_path::<peers::prometheus_client::Handles>(opts, report);
    hot_path::<peers::metrics::Handles>(opts, report);
    hot_path::<peers::measured::Handles>(opts, report);
    hot_path::<peers::fastmetrics::Handles>(opts, report);
    hot_path::<peers::limits::Floor>(opts, report);
    hot_path::<peers::limits::SharedAtomic>(opts, report);
    scrape::<peers::hotmetrics::Workload>(opts, report);
    scrape::<peers::prometheus::Workload>(opts, report);
    scrape::<peers::prometheus_client::Workload>(opts, report);
    scrape::<peers::metrics::Workload>(opts, report);
    scrape::<peers::measured::Workload>(opts, report);
    scrape::<peers::fastmetrics::Workload>(opts, report);
    memory::<peers::hotmetrics::Workload>(opts, report);
    memory::<peers::prometheus::Workload>(opts, report);
    memory::<peers::prometheus_client::Workload>(opts, report);
    memory::<peers::metrics::Workload>(opts, report);
    memory::<peers::measured::Workload>(opts, report);
    memory::<peers::fastmetrics::Workload>(opts, report);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_run_fills_every_row_kind() {
        let opts = Options {
            threads: vec![1, 2],
            quick: true,
            cases: vec!["counter_inc".into(), "scrape_text".into(), "memory".into()],
            libs: Vec::new(),
        };
        let mut report = Report::default();
        hot_path::<peers::hotmetrics::Handles>(&opts, &mut report);
        hot_path::<peers::limits::Floor>(&opts, &mut report);
        scrape::<peers::hotmetrics::Workload>(&opts, &mut report);
        scrape::<peers::prometheus::Workload>(&opts, &mut report);
        memory::<peers::hotmetrics::Workload>(&opts, &mut report);
        // counter_inc and counter_inc_f64 at 1 and 2 threads, for 2 libs.
        assert_eq!(
            report
                .measurements
                .iter()
                .filter(|m| m.case.starts_with("counter"))
                .count(),
            8
        );
        let scrapes = &report.scrape_costs;
        assert_eq!(scrapes.len(), 4, "2 libs × writers 1 and 2");
        assert!(scrapes.iter().all(|c| c.bytes > 500_000));
        assert!(
            report
                .measurements
                .iter()
                .all(|m| m.ns_per_op > 0.0 && m.mops > 0.0)
        );
        assert_eq!(report.memory.len(), 4);
        // A counter series holds at least its label values and one cell.
        assert!(report.memory.iter().all(|m| m.bytes_per_series > 8.0));
        for c in scrapes {
            match c.lib {
                "hotmetrics" => assert_eq!(c.allocations, 0, "{c:?}"),
                _ => assert!(c.allocations > 1000, "{c:?}"),
            }
        }
        let ratios = report.ratios();
        assert!(
            ratios
                .iter()
                .any(|r| r.peer == "prometheus" && r.case == "scrape_text")
        );
        assert!(
            ratios
                .iter()
                .any(|r| r.peer == "floor" && r.case == "counter_inc")
        );
    }
}
