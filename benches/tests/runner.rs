//! The runner end to end on a quick run: every row kind is filled, and
//! the allocation counts are exact. Its own test binary, so no other test
//! allocates while the process-wide counter runs.

use hotmetrics_benches::alloc::CountingAlloc;
use hotmetrics_benches::peers;
use hotmetrics_benches::report::Report;
use hotmetrics_benches::runner::{Options, contender, hot_paths, memory, scrape};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn a_quick_run_fills_every_row_kind() {
    let opts = Options {
        threads: vec![1, 2],
        // Scrape and memory rows after 1 and 3 writers (not 1 and the most
        // threads).
        writers: vec![1, 3],
        quick: true,
        cases: vec!["counter_inc".into(), "scrape_text".into(), "memory".into()],
        libs: Vec::new(),
        probe: None,
    };
    let mut report = Report::default();
    let contenders = [
        contender::<peers::hotmetrics::Handles>(),
        contender::<peers::limits::Floor>(),
    ];
    hot_paths(&opts, &contenders, &mut report);
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
    assert_eq!(scrapes.len(), 4, "2 libs × writers 1 and 3");
    assert!(scrapes.iter().all(|c| c.threads == 1 || c.threads == 3));
    assert!(
        report
            .memory
            .iter()
            .all(|m| m.threads == 1 || m.threads == 3)
    );
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
