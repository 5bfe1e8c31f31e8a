//! The comparison runner behind `cargo run --release -p hotmetrics-benches
//! --bin compare`: every library through the same [`HotPath`] and
//! [`ScrapeTarget`] workloads, timed the same way, into one [`Report`].

use crate::alloc;
use crate::hot_path::{Case, HotPath, run_case};
use crate::kinds::{self, Kind, SERIES, SeriesTarget};
use crate::peers;
use crate::report::{Measurement, Memory, Report, ScrapeCost};
use crate::scrape::{COUNTER_SERIES, Format, HISTOGRAM_SERIES, ScrapeTarget};
use std::time::{Duration, Instant};

/// What to run and how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Thread counts for the hot-path cases; the largest is also the writer
    /// count of the N-writer scrapes and memory rows unless `writers` is set.
    pub threads: Vec<usize>,
    /// Writer threads that touch every series before the scrape and memory
    /// rows (`--writers 1,4,16,64`); empty: 1 and the most `threads`. The
    /// writers only touch the series, so counts above the cores are valid.
    pub writers: Vec<usize>,
    /// Shorter runs (about 10× faster, noisier).
    pub quick: bool,
    /// Only the cases whose names contain one of these (all when empty).
    pub cases: Vec<String>,
    /// Only these libraries, by report name (all when empty).
    pub libs: Vec<String>,
    /// An executable that answers `--memory-probe` (the `compare` binary):
    /// memory is then measured in a fresh process per number.
    pub probe: Option<std::path::PathBuf>,
}

impl Options {
    /// Whether `case` is selected (`--cases`: a substring of its name).
    pub fn wants(&self, case: &str) -> bool {
        self.cases.is_empty() || self.cases.iter().any(|c| case.contains(c.as_str()))
    }

    /// Whether the library named `lib` is selected (`--libs`).
    pub fn wants_lib(&self, lib: &str) -> bool {
        self.libs.is_empty() || self.libs.iter().any(|l| l == lib)
    }

    /// The time one timed run aims at.
    pub fn target(&self) -> Duration {
        Duration::from_millis(if self.quick { 20 } else { 150 })
    }

    /// Timed runs per row; the median is reported.
    fn runs(&self) -> usize {
        if self.quick { 3 } else { 7 }
    }

    /// The writer counts of the scrape and memory rows: `writers`, or 1 and
    /// the most threads asked for.
    pub fn writers(&self) -> Vec<usize> {
        if !self.writers.is_empty() {
            return self.writers.clone();
        }
        let n = self.threads.iter().copied().max().unwrap_or(1);
        if n > 1 { vec![1, n] } else { vec![1] }
    }
}

/// The middle value (the upper one of an even count).
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// A library's hot path behind one dynamic call per timed run; the
/// operations inside a run are monomorphised ([`run_case`]).
pub trait Contender: Sync {
    /// The library's report name.
    fn name(&self) -> &'static str;
    /// Whether the library has `case`.
    fn supports(&self, case: Case) -> bool;
    /// One timed run: `iters` operations on each of `threads` threads.
    fn run(&self, case: Case, threads: usize, iters: u64) -> Duration;
}

struct Lib<L>(L);

impl<L: HotPath> Contender for Lib<L> {
    fn name(&self) -> &'static str {
        L::NAME
    }

    fn supports(&self, case: Case) -> bool {
        L::supports(case)
    }

    fn run(&self, case: Case, threads: usize, iters: u64) -> Duration {
        run_case(&self.0, case, threads, iters)
    }
}

/// Library `L`'s handles, ready to time.
pub fn contender<L: HotPath + 'static>() -> Box<dyn Contender> {
    Box::new(Lib(L::new()))
}

/// One library's side of a case: its report name and one timed run
/// (`threads`, `iters` operations on each) returning the wall time.
pub type Side<'a> = (&'static str, &'a (dyn Fn(usize, u64) -> Duration + Sync));

/// Iterations that make one run take about `target`.
fn calibrate(run: &dyn Fn(usize, u64) -> Duration, threads: usize, target: Duration) -> u64 {
    let mut iters = 1_000u64;
    let mut took = run(threads, iters);
    // The cap stops a loop the compiler folded away from growing forever.
    while took < target / 4 && iters < 1 << 40 {
        iters *= 4;
        took = run(threads, iters);
    }
    let scale = target.as_secs_f64() / took.as_secs_f64().max(1e-9);
    ((iters as f64 * scale) as u64).max(1)
}

/// Times the `sides` of `case` (those `--libs` selects) at every thread
/// count, side by side: each side's iterations are scaled until one run
/// takes about 150 ms (20 ms with `quick`); then the sides take turns, run
/// after run (7 rounds, 3 with `quick`), and each keeps its median. Taking
/// turns means a burst of noise on a shared machine hits every library
/// alike instead of whichever happened to be running. Does nothing unless
/// `--cases` selects `case`.
pub fn side_by_side(opts: &Options, case: &'static str, sides: &[Side<'_>], report: &mut Report) {
    if !opts.wants(case) {
        return;
    }
    let sides: Vec<&Side<'_>> = sides.iter().filter(|(n, _)| opts.wants_lib(n)).collect();
    for &threads in &opts.threads {
        eprintln!("compare: {case} at {threads} threads");
        let iters: Vec<u64> = sides
            .iter()
            .map(|(_, run)| calibrate(*run, threads, opts.target()))
            .collect();
        let mut samples = vec![Vec::new(); sides.len()];
        for _ in 0..opts.runs() {
            for (k, (_, run)) in sides.iter().enumerate() {
                let took = run(threads, iters[k]);
                samples[k].push(took.as_nanos() as f64 / iters[k] as f64);
            }
        }
        for ((lib, _), samples) in sides.iter().zip(samples) {
            let ns = median(samples);
            report.measurements.push(Measurement {
                case,
                lib,
                threads,
                ns_per_op: ns,
                mops: threads as f64 * 1e3 / ns,
            });
        }
    }
}

/// Times every case for every contender at every thread count, through
/// [`side_by_side`].
pub fn hot_paths(opts: &Options, contenders: &[Box<dyn Contender>], report: &mut Report) {
    for case in Case::ALL {
        let runs: Vec<_> = contenders
            .iter()
            .filter(|c| c.supports(case))
            .map(|c| move |threads, iters| c.run(case, threads, iters))
            .collect();
        let sides: Vec<Side<'_>> = contenders
            .iter()
            .filter(|c| c.supports(case))
            .zip(&runs)
            .map(|(c, run)| (c.name(), run as &(dyn Fn(usize, u64) -> Duration + Sync)))
            .collect();
        side_by_side(opts, case.name(), &sides, report);
    }
}

/// Times one whole scrape of the 10,000 + 1,000 series workload in every
/// format `S` writes, after 1 and N writer threads; records the bytes and
/// the allocations of one steady-state scrape.
pub fn scrape<S: ScrapeTarget>(opts: &Options, report: &mut Report) {
    let formats: Vec<_> = Format::ALL
        .into_iter()
        .filter(|&f| S::supports(f))
        .map(|f| (f, f.case()))
        .collect();
    if !opts.wants_lib(S::NAME) || !formats.iter().any(|(_, case)| opts.wants(case)) {
        return;
    }
    for threads in opts.writers() {
        eprintln!("compare: {} scrapes after {threads} writers", S::NAME);
        let mut target = S::build(COUNTER_SERIES, HISTOGRAM_SERIES, threads);
        scrape_rows(
            opts,
            S::NAME,
            threads,
            &formats,
            &mut |f| target.scrape(f),
            report,
        );
    }
}

/// The scrape rows of one built target: for each `(format, case)` that
/// `--cases` selects, two warm-up scrapes (they size every reusable
/// buffer), the allocations and bytes of a third, then the median time of
/// at least 5 scrapes (up to 200 or about 0.6 s, 80 ms with `quick`).
pub fn scrape_rows(
    opts: &Options,
    lib: &'static str,
    threads: usize,
    formats: &[(Format, &'static str)],
    scrape: &mut dyn FnMut(Format) -> usize,
    report: &mut Report,
) {
    for &(format, case) in formats.iter().filter(|(_, case)| opts.wants(case)) {
        scrape(format);
        scrape(format);
        let (bytes, usage) = alloc::measure(|| scrape(format));
        let mut times = Vec::new();
        let start = Instant::now();
        while times.len() < 5 || (start.elapsed() < opts.target() * 4 && times.len() < 200) {
            let t = Instant::now();
            scrape(format);
            times.push(t.elapsed().as_nanos() as f64);
        }
        let ns = median(times);
        report.measurements.push(Measurement {
            case,
            lib,
            threads,
            ns_per_op: ns,
            mops: bytes as f64 * 1e3 / ns,
        });
        report.scrape_costs.push(ScrapeCost {
            case,
            lib,
            threads,
            allocations: usage.allocations,
            bytes,
        });
    }
}

/// Live heap bytes per series of `kind` (`counter`: [`COUNTER_SERIES`],
/// `histogram`: [`HISTOGRAM_SERIES`]) once `threads` writer threads have
/// touched them: registry, label values and every per-thread cell included.
/// Needs [`alloc::CountingAlloc`] installed; `None` for an unknown kind.
///
/// Measure in a fresh process ([`memory_probe`]): arenas, pools and slots a
/// library keeps from earlier work would otherwise hide part of the cost.
pub fn bytes_per_series<S: ScrapeTarget>(kind: &str, threads: usize) -> Option<f64> {
    let (counters, histograms) = match kind {
        "counter" => (COUNTER_SERIES, 0),
        "histogram" => (0, HISTOGRAM_SERIES),
        _ => return None,
    };
    // Lazily built global state is not a cost of the series.
    drop(S::build(1, 1, 1));
    let (target, usage) = alloc::measure(|| S::build(counters, histograms, threads));
    drop(target);
    Some(usage.live_bytes as f64 / (counters + histograms) as f64)
}

/// [`bytes_per_series`] for the library named `lib` (report names), or
/// for `kind` `summary` and `native_histogram`, the libraries that have
/// them ([`crate::summary::memory_probe`],
/// [`crate::native_histogram::memory_probe`]).
pub fn memory_probe(lib: &str, kind: &str, threads: usize) -> Option<f64> {
    if kind == Kind::Summary.name() {
        return crate::summary::memory_probe(lib, threads);
    }
    if kind == Kind::NativeHistogram.name() {
        return crate::native_histogram::memory_probe(lib, threads);
    }
    match lib {
        "hotmetrics" => bytes_per_series::<peers::hotmetrics::Workload>(kind, threads),
        "prometheus" => bytes_per_series::<peers::prometheus::Workload>(kind, threads),
        "prometheus-client" => {
            bytes_per_series::<peers::prometheus_client::Workload>(kind, threads)
        }
        "metrics" => bytes_per_series::<peers::metrics::Workload>(kind, threads),
        "measured" => bytes_per_series::<peers::measured::Workload>(kind, threads),
        "fastmetrics" => bytes_per_series::<peers::fastmetrics::Workload>(kind, threads),
        _ => None,
    }
}

/// Memory rows for `S`, 1 and N writers, counters and histograms (see
/// [`memory_rows`]).
pub fn memory<S: ScrapeTarget>(opts: &Options, report: &mut Report) {
    if !opts.wants("memory") {
        return;
    }
    for kind in ["counter", "histogram"] {
        memory_rows(
            opts,
            S::NAME,
            kind,
            &|t| bytes_per_series::<S>(kind, t),
            report,
        );
    }
}

/// Memory rows of `lib` for `kind` at every writer count. With
/// [`Options::probe`] set, each number comes from a fresh process running
/// that executable with `--memory-probe <lib> <kind> <threads>` (which
/// prints the bytes); otherwise `local` measures it in this process.
pub fn memory_rows(
    opts: &Options,
    lib: &'static str,
    kind: &'static str,
    local: &dyn Fn(usize) -> Option<f64>,
    report: &mut Report,
) {
    if !opts.wants_lib(lib) {
        return;
    }
    for threads in opts.writers() {
        let bytes = match &opts.probe {
            Some(exe) => std::process::Command::new(exe)
                .args(["--memory-probe", lib, kind, &threads.to_string()])
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(|s| s.trim().parse().ok()),
            None => local(threads),
        };
        if let Some(bytes_per_series) = bytes {
            report.memory.push(Memory {
                kind,
                lib,
                threads,
                bytes_per_series,
            });
        }
    }
}

/// Scrape rows of [`SERIES`] series of `S`'s kind in every format `S`
/// writes, after each writer count (see [`scrape_rows`]).
pub fn series_scrape<S: SeriesTarget>(opts: &Options, report: &mut Report) {
    let formats: Vec<_> = Format::ALL
        .into_iter()
        .filter(|&f| S::supports(f))
        .map(|f| (f, S::KIND.scrape_case(f)))
        .collect();
    if !opts.wants_lib(S::NAME) || !formats.iter().any(|(_, case)| opts.wants(case)) {
        return;
    }
    for threads in opts.writers() {
        eprintln!(
            "compare: {} {} scrapes after {threads} writers",
            S::NAME,
            S::KIND.name()
        );
        let mut target = S::build(SERIES, threads);
        scrape_rows(
            opts,
            S::NAME,
            threads,
            &formats,
            &mut |f| target.scrape(f),
            report,
        );
    }
}

/// Memory rows of `S`'s kind at every writer count (see [`memory_rows`]),
/// when `--cases` selects its memory case (`memory_summary`, ...).
pub fn series_memory<S: SeriesTarget>(opts: &Options, report: &mut Report) {
    if opts.wants(S::KIND.memory_case()) {
        let local = |t| Some(kinds::bytes_per_series::<S>(t));
        memory_rows(opts, S::NAME, S::KIND.name(), &local, report);
    }
}

/// Runs everything `opts` selects, for every library and both limits, then
/// the newer metric types ([`crate::summary`], [`crate::native_histogram`],
/// [`crate::exemplar`]) for the libraries that have them, then the
/// `metrics` recorders ([`crate::recorder`]), in report order.
pub fn run(opts: &Options, report: &mut Report) {
    let contenders = [
        contender::<peers::hotmetrics::Handles>(),
        contender::<peers::prometheus::Handles>(),
        contender::<peers::prometheus_client::Handles>(),
        contender::<peers::metrics::Handles>(),
        contender::<peers::measured::Handles>(),
        contender::<peers::fastmetrics::Handles>(),
        contender::<peers::limits::Floor>(),
        contender::<peers::limits::SharedAtomic>(),
    ];
    hot_paths(opts, &contenders, report);
    // Dropped before the scrapes: `metrics`' upkeep thread would allocate
    // inside the measured ones.
    drop(contenders);
    crate::summary::hot_paths(opts, report);
    crate::native_histogram::hot_paths(opts, report);
    crate::exemplar::hot_paths(opts, report);
    // The `metrics` macros through hotmetrics' recorder and through
    // metrics-exporter-prometheus'.
    crate::recorder::run(opts, report);
    crate::http_layer::run(opts, report);
    scrape::<peers::hotmetrics::Workload>(opts, report);
    scrape::<peers::prometheus::Workload>(opts, report);
    scrape::<peers::prometheus_client::Workload>(opts, report);
    scrape::<peers::metrics::Workload>(opts, report);
    scrape::<peers::measured::Workload>(opts, report);
    scrape::<peers::fastmetrics::Workload>(opts, report);
    crate::summary::scrapes(opts, report);
    crate::native_histogram::scrapes(opts, report);
    crate::export::run(opts, report);
    memory::<peers::hotmetrics::Workload>(opts, report);
    memory::<peers::prometheus::Workload>(opts, report);
    memory::<peers::prometheus_client::Workload>(opts, report);
    memory::<peers::metrics::Workload>(opts, report);
    memory::<peers::measured::Workload>(opts, report);
    memory::<peers::fastmetrics::Workload>(opts, report);
    crate::summary::memory(opts, report);
    crate::native_histogram::memory(opts, report);
}
