//! The summary, native-histogram and exemplar rows on a quick run: each
//! case has exactly the libraries that have the type, every scrape and
//! memory row is filled, and our steady-state scrapes allocate nothing.
//! Its own test binary, so no other test allocates while the process-wide
//! counter runs.

use hotmetrics_benches::alloc::CountingAlloc;
use hotmetrics_benches::report::Report;
use hotmetrics_benches::runner::Options;
use hotmetrics_benches::{exemplar, native_histogram, summary};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// The libraries of `case`'s 1-thread rows, in order.
fn libs(report: &Report, case: &str) -> Vec<&'static str> {
    report
        .measurements
        .iter()
        .filter(|m| m.case == case && m.threads == 1)
        .map(|m| m.lib)
        .collect()
}

/// The libraries with scrape costs for `case`.
fn scraped(report: &Report, case: &str) -> Vec<&'static str> {
    report
        .scrape_costs
        .iter()
        .filter(|c| c.case == case)
        .map(|c| c.lib)
        .collect()
}

#[test]
fn a_quick_run_has_every_peer_that_has_the_type() {
    let opts = Options {
        threads: vec![1, 2],
        writers: vec![2],
        quick: true,
        cases: vec!["summary".into(), "native".into(), "exemplar".into()],
        libs: Vec::new(),
        probe: None,
    };
    let mut report = Report::default();
    summary::hot_paths(&opts, &mut report);
    native_histogram::hot_paths(&opts, &mut report);
    exemplar::hot_paths(&opts, &mut report);
    summary::scrapes(&opts, &mut report);
    native_histogram::scrapes(&opts, &mut report);
    summary::memory(&opts, &mut report);
    native_histogram::memory(&opts, &mut report);

    assert_eq!(libs(&report, "summary_observe"), ["hotmetrics", "metrics"]);
    assert_eq!(
        libs(&report, "native_histogram_observe"),
        ["hotmetrics", native_histogram::CLASSIC, "prometheus-client"]
    );
    for case in [exemplar::OBSERVE, exemplar::INC] {
        assert_eq!(libs(&report, case), ["hotmetrics", "prometheus-client"]);
    }
    assert_eq!(libs(&report, exemplar::NATIVE_OBSERVE), ["hotmetrics"]);
    // 2 + 3 + 2 + 2 + 1 libraries, at 1 and 2 threads.
    let hot = report
        .measurements
        .iter()
        .filter(|m| !m.case.starts_with("scrape_"))
        .count();
    assert_eq!(hot, 2 * 10);
    assert!(
        report
            .measurements
            .iter()
            .all(|m| m.ns_per_op > 0.0 && m.mops > 0.0)
    );

    assert_eq!(
        scraped(&report, "scrape_summary_text"),
        ["hotmetrics", "metrics"]
    );
    assert_eq!(scraped(&report, "scrape_summary_protobuf"), ["hotmetrics"]);
    assert_eq!(scraped(&report, "scrape_native_text"), ["hotmetrics"]);
    assert_eq!(
        scraped(&report, "scrape_native_protobuf"),
        ["hotmetrics", "prometheus-client"]
    );
    assert_eq!(report.scrape_costs.len(), 3 + 1 + 3 + 1);
    for c in &report.scrape_costs {
        assert_eq!(c.threads, 2, "{c:?}");
        // A thousand series of at least a count and a sum each.
        assert!(c.bytes > 20_000, "{c:?}");
        if c.lib == "hotmetrics" {
            assert_eq!(c.allocations, 0, "{c:?}");
        }
    }

    let memory: Vec<_> = report.memory.iter().map(|m| (m.kind, m.lib)).collect();
    assert_eq!(
        memory,
        [
            ("summary", "hotmetrics"),
            ("summary", "metrics"),
            ("native_histogram", "hotmetrics"),
            ("native_histogram", "prometheus-client"),
        ]
    );
    // A hundred log-spaced values fill dozens of buckets in every series.
    assert!(
        report.memory.iter().all(|m| m.bytes_per_series > 200.0),
        "{:?}",
        report.memory
    );
}
