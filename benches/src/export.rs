//! One export of the scrape workload (10,000 counters + 1,000 histograms)
//! through each sink of hotmetrics' export runtime, for the compare
//! runner: the sink's encode step, what the exporter's thread runs every
//! interval (the network not included), with the bytes it would send and
//! the allocations of one steady-state export. No peer has a remote-write
//! or StatsD sink of its own (`metrics` has a DogStatsD exporter in a crate
//! this workspace does not build), so the rows are hotmetrics' only.
//!
//! | case | one export |
//! |---|---|
//! | `export_remote_write_v1` | remote write 1.0 requests (2,000 samples each), snappy-compressed |
//! | `export_remote_write_v2` | remote write 2.0 requests |
//! | `export_statsd` | DogStatsD lines for every series, each changed since the last export |
//! | `export_statsd_unchanged` | the StatsD sink finding that nothing changed |
//!
//! Run after the scrapes, after 1 and N writers as they are:
//! `cargo run --release -p hotmetrics-benches --bin compare -- --cases export`.

use crate::alloc;
use crate::peers::hotmetrics::Workload;
use crate::report::{Measurement, Report, ScrapeCost};
use crate::runner::Options;
use crate::scrape::{COUNTER_SERIES, HISTOGRAM_SERIES, ScrapeTarget};
use hotmetrics::export::{Batch, Sink};
use hotmetrics::remote_write::{Protocol, RemoteWrite};
use hotmetrics::statsd::{Dialect, StatsdSink};
use std::time::Instant;

/// The export cases, in report order.
pub const CASES: [&str; 4] = [
    "export_remote_write_v1",
    "export_remote_write_v2",
    "export_statsd",
    "export_statsd_unchanged",
];

/// Times every export case `opts` selects (see the module docs).
pub fn run(opts: &Options, report: &mut Report) {
    let cases: Vec<&str> = CASES.into_iter().filter(|c| opts.wants(c)).collect();
    if cases.is_empty() || !opts.wants_lib("hotmetrics") {
        return;
    }
    for threads in opts.writers() {
        eprintln!("compare: hotmetrics exports after {threads} writers");
        let workload = Workload::build(COUNTER_SERIES, HISTOGRAM_SERIES, threads);
        for &case in &cases {
            let mut sink = sink(case);
            let mut batch = Batch::default();
            let changed = case == "export_statsd";
            let mut export = |batch: &mut Batch| {
                while !batch.is_empty() {
                    batch.pop();
                }
                // A sink configured here, sending nothing: cannot fail.
                let _ = sink.encode(workload.registry(), batch);
                batch
                    .payloads()
                    .iter()
                    .map(|p| p.bytes.len())
                    .sum::<usize>()
            };
            // Two warm-up exports size every reusable buffer (and give the
            // StatsD sink its previous values).
            export(&mut batch);
            export(&mut batch);
            if changed {
                workload.touch_all();
            }
            let (bytes, usage) = alloc::measure(|| export(&mut batch));
            let mut times = Vec::new();
            let start = Instant::now();
            while times.len() < 5 || (start.elapsed() < opts.target() * 4 && times.len() < 100) {
                if changed {
                    workload.touch_all();
                }
                let t = Instant::now();
                export(&mut batch);
                times.push(t.elapsed().as_nanos() as f64);
            }
            let ns = crate::runner::median(times);
            report.measurements.push(Measurement {
                case,
                lib: "hotmetrics",
                threads,
                ns_per_op: ns,
                mops: bytes as f64 * 1e3 / ns,
            });
            report.scrape_costs.push(ScrapeCost {
                case,
                lib: "hotmetrics",
                threads,
                allocations: usage.allocations,
                bytes,
            });
        }
    }
}

/// The sink of `case`, aimed at nothing (nothing is sent).
fn sink(case: &str) -> Box<dyn Sink> {
    let remote = |protocol| -> Box<dyn Sink> {
        Box::new(
            RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
                .protocol(protocol)
                .external_label("job", "compare")
                .build()
                .expect("a valid configuration"),
        )
    };
    match case {
        "export_remote_write_v1" => remote(Protocol::V1),
        "export_remote_write_v2" => remote(Protocol::V2),
        _ => Box::new(
            StatsdSink::udp("127.0.0.1:9")
                .dialect(Dialect::DogStatsd)
                .build()
                .expect("a valid configuration"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_run_reports_every_export_case() {
        let opts = Options {
            threads: vec![1],
            writers: Vec::new(),
            quick: true,
            cases: vec!["export".into()],
            libs: Vec::new(),
            probe: None,
        };
        let mut report = Report::default();
        run(&opts, &mut report);
        let cases: Vec<&str> = report.scrape_costs.iter().map(|c| c.case).collect();
        assert_eq!(cases, CASES);
        let bytes = |case: &str| {
            report
                .scrape_costs
                .iter()
                .find(|c| c.case == case)
                .map(|c| c.bytes)
        };
        // Every series is sent by remote write and by a StatsD export of
        // changed series; nothing when nothing changed.
        assert!(bytes("export_remote_write_v1") > Some(100_000));
        assert!(bytes("export_statsd") > Some(500_000));
        assert_eq!(bytes("export_statsd_unchanged"), Some(0));
        assert!(report.measurements.iter().all(|m| m.ns_per_op > 0.0));
    }
}
