//! What the comparison runner measured, and its three renderings: the TSV
//! table on stdout ([`Report::tsv`]), Markdown ([`markdown`]) and an SVG
//! chart ([`chart`]).

pub mod chart;
pub mod markdown;

use std::fmt::Write as _;

/// One timed row: a hot-path case or a scrape.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// `counter_inc`, ..., `scrape_text`, ...
    pub case: &'static str,
    /// The library (`hotmetrics`, `prometheus`, ..., `floor`, `shared-atomic`).
    pub lib: &'static str,
    /// Threads hammering the metric; for scrapes, the writer threads that
    /// touched every series before the scrape.
    pub threads: usize,
    /// Hot path: wall time / operations each thread did. Scrape: nanoseconds
    /// per whole scrape.
    pub ns_per_op: f64,
    /// Hot path: million operations per second over all threads. Scrape:
    /// megabytes of output per second.
    pub mops: f64,
}

/// Bytes each series costs, from a counting allocator.
#[derive(Clone, Debug, PartialEq)]
pub struct Memory {
    /// `counter` or `histogram`.
    pub kind: &'static str,
    /// The library.
    pub lib: &'static str,
    /// Writer threads that touched every series.
    pub threads: usize,
    /// Live heap bytes after building, divided by the series count.
    pub bytes_per_series: f64,
}

/// What one steady-state scrape allocates and writes.
#[derive(Clone, Debug, PartialEq)]
pub struct ScrapeCost {
    /// `scrape_text`, `scrape_openmetrics` or `scrape_protobuf`.
    pub case: &'static str,
    /// The library.
    pub lib: &'static str,
    /// Writer threads that touched every series.
    pub threads: usize,
    /// Heap allocations during one scrape (after two warm-up scrapes).
    pub allocations: u64,
    /// Bytes of output.
    pub bytes: usize,
}

/// How many times slower a peer is than hotmetrics (peer ns / our ns).
#[derive(Clone, Debug, PartialEq)]
pub struct Ratio {
    /// The case.
    pub case: &'static str,
    /// Threads (writers for scrapes).
    pub threads: usize,
    /// The peer.
    pub peer: &'static str,
    /// Peer time / hotmetrics time; above 1 means hotmetrics is faster.
    pub x: f64,
}

/// Everything one run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Where it ran, e.g. `2-core dev machine (AMD EPYC ...)`.
    pub machine: String,
    /// The run's date, `YYYY-MM-DD`.
    pub date: String,
    /// Timed rows, in run order.
    pub measurements: Vec<Measurement>,
    /// Memory per series.
    pub memory: Vec<Memory>,
    /// Scrape allocations and sizes.
    pub scrape_costs: Vec<ScrapeCost>,
}

/// The library the ratios are taken against.
pub const OURS: &str = "hotmetrics";

impl Report {
    /// Peer/hotmetrics time ratios for every measurement that has a
    /// hotmetrics row with the same case and threads.
    pub fn ratios(&self) -> Vec<Ratio> {
        let ours = |case: &str, threads| {
            self.measurements
                .iter()
                .find(|m| m.lib == OURS && m.case == case && m.threads == threads)
        };
        self.measurements
            .iter()
            .filter(|m| m.lib != OURS)
            .filter_map(|m| {
                let o = ours(m.case, m.threads)?;
                Some(Ratio {
                    case: m.case,
                    threads: m.threads,
                    peer: m.lib,
                    x: m.ns_per_op / o.ns_per_op,
                })
            })
            .collect()
    }

    /// The TSV table: header `case lib threads ns_per_op mops`, one row per
    /// measurement, then `memory` rows (`memory kind lib threads
    /// bytes_per_series`), `allocs` rows (`allocs case lib threads
    /// allocations bytes`) and finally `ratio` rows (`ratio case threads
    /// peer/hotmetrics x`).
    pub fn tsv(&self) -> String {
        let mut s = String::from("case\tlib\tthreads\tns_per_op\tmops\n");
        for m in &self.measurements {
            let _ = writeln!(
                s,
                "{}\t{}\t{}\t{:.2}\t{:.1}",
                m.case, m.lib, m.threads, m.ns_per_op, m.mops
            );
        }
        for m in &self.memory {
            let _ = writeln!(
                s,
                "memory\t{}\t{}\t{}\t{:.0}",
                m.kind, m.lib, m.threads, m.bytes_per_series
            );
        }
        for c in &self.scrape_costs {
            let _ = writeln!(
                s,
                "allocs\t{}\t{}\t{}\t{}\t{}",
                c.case, c.lib, c.threads, c.allocations, c.bytes
            );
        }
        for r in self.ratios() {
            let _ = writeln!(
                s,
                "ratio\t{}\t{}\t{}/{}\t{:.2}",
                r.case, r.threads, r.peer, OURS, r.x
            );
        }
        s
    }
}
