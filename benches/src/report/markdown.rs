//! The Markdown rendering of a [`Report`]: one table per hot-path case, one
//! per scrape format, memory per series, and the peer/hotmetrics ratios.
//!
//! Rows are libraries in the order they first appear in the report; columns
//! are thread counts in ascending order. A cell the run did not measure shows
//! `—`.

use super::{OURS, Report};
use std::fmt::Write as _;

/// What an unmeasured cell shows.
const MISSING: &str = "—";

/// Renders `report` as a Markdown document:
///
/// - a heading with the machine and the date;
/// - per hot-path case (in the order cases first appear, `scrape_*`
///   excluded), a table of libraries × threads whose cells read
///   `Mops/s (ns/op/thread)`, e.g. `812 (2.46 ns)`;
/// - per scrape case, a table of libraries × writer threads whose cells read
///   `ms per scrape · MB/s · allocations per scrape`;
/// - bytes per series for each metric kind and writer thread count;
/// - peer/hotmetrics time ratios per case and thread count, in bold where the
///   peer is faster (below 1).
pub fn markdown(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {OURS} benchmarks: {}, {}\n",
        report.machine, report.date
    );
    hot_path(report, &mut s);
    scrapes(report, &mut s);
    memory(report, &mut s);
    ratios(report, &mut s);
    if report.measurements.is_empty() && report.memory.is_empty() {
        s.push_str("No measurements.\n");
    }
    s
}

/// Scrapes and exports: per whole pass over the registry, after writers.
fn is_scrape(case: &str) -> bool {
    case.starts_with("scrape_") || case.starts_with("export_")
}

/// The distinct items of `items`, in order of first appearance.
fn uniq<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The distinct thread counts of `items`, ascending.
fn sorted_threads(items: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut t = uniq(items);
    t.sort_unstable();
    t
}

/// Million ops (or megabytes) per second: 1 decimal, none from 100 up.
fn fmt_rate(v: f64) -> String {
    if !v.is_finite() {
        MISSING.to_owned()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Nanoseconds with about three significant digits: `2.46`, `24.6`, `246`.
fn fmt_ns(v: f64) -> String {
    if !v.is_finite() {
        MISSING.to_owned()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn threads_label(t: usize, what: &str) -> String {
    if t == 1 {
        format!("1 {what}")
    } else {
        format!("{t} {what}s")
    }
}

/// Writes a table: a header row, its alignment row and the body rows. The
/// first `left` columns are left-aligned, the rest right-aligned.
fn table(s: &mut String, header: &[String], left: usize, rows: &[Vec<String>]) {
    let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
    s.push_str(&line(header));
    let align: Vec<String> = (0..header.len())
        .map(|i| if i < left { ":--" } else { "--:" }.to_owned())
        .collect();
    s.push_str(&line(&align));
    for row in rows {
        s.push_str(&line(row));
    }
    s.push('\n');
}

fn hot_path(report: &Report, s: &mut String) {
    let cases = uniq(
        report
            .measurements
            .iter()
            .map(|m| m.case)
            .filter(|c| !is_scrape(c)),
    );
    if cases.is_empty() {
        return;
    }
    s.push_str("## Hot path\n\n");
    s.push_str(
        "Every thread updates the same metric. Cells: total million operations \
         per second over all threads (higher is better), and in parentheses \
         nanoseconds per operation on each thread.\n\n",
    );
    for case in cases {
        let rows: Vec<_> = report
            .measurements
            .iter()
            .filter(|m| m.case == case)
            .collect();
        let libs = uniq(rows.iter().map(|m| m.lib));
        let threads = sorted_threads(rows.iter().map(|m| m.threads));
        let _ = writeln!(s, "### `{case}`\n");
        let mut header = vec!["library".to_owned()];
        header.extend(threads.iter().map(|&t| threads_label(t, "thread")));
        let body: Vec<Vec<String>> = libs
            .iter()
            .map(|&lib| {
                let mut row = vec![lib_cell(lib)];
                row.extend(threads.iter().map(|&t| {
                    rows.iter()
                        .find(|m| m.lib == lib && m.threads == t)
                        .map_or_else(
                            || MISSING.to_owned(),
                            |m| format!("{} ({} ns)", fmt_rate(m.mops), fmt_ns(m.ns_per_op)),
                        )
                }));
                row
            })
            .collect();
        table(s, &header, 1, &body);
    }
}

/// The library's name, bold for hotmetrics.
fn lib_cell(lib: &str) -> String {
    if lib == OURS {
        format!("**{lib}**")
    } else {
        lib.to_owned()
    }
}

fn scrapes(report: &Report, s: &mut String) {
    let cases = uniq(
        report
            .measurements
            .iter()
            .map(|m| m.case)
            .chain(report.scrape_costs.iter().map(|c| c.case))
            .filter(|c| is_scrape(c)),
    );
    if cases.is_empty() {
        return;
    }
    s.push_str("## Scrape and export\n\n");
    s.push_str(
        "Writer threads touched every series before the scrape. Cells: \
         milliseconds per scrape, megabytes of output per second, and heap \
         allocations per scrape. `export_*` rows: one export through a sink \
         of the export runtime (encoded, not sent), the same way.\n\n",
    );
    for case in cases {
        let rows: Vec<_> = report
            .measurements
            .iter()
            .filter(|m| m.case == case)
            .collect();
        let costs: Vec<_> = report
            .scrape_costs
            .iter()
            .filter(|c| c.case == case)
            .collect();
        let libs = uniq(
            rows.iter()
                .map(|m| m.lib)
                .chain(costs.iter().map(|c| c.lib)),
        );
        let threads = sorted_threads(
            rows.iter()
                .map(|m| m.threads)
                .chain(costs.iter().map(|c| c.threads)),
        );
        let _ = writeln!(s, "### `{case}`\n");
        let mut header = vec!["library".to_owned()];
        header.extend(threads.iter().map(|&t| threads_label(t, "writer")));
        let body: Vec<Vec<String>> = libs
            .iter()
            .map(|&lib| {
                let mut row = vec![lib_cell(lib)];
                row.extend(threads.iter().map(|&t| {
                    let m = rows.iter().find(|m| m.lib == lib && m.threads == t);
                    let c = costs.iter().find(|c| c.lib == lib && c.threads == t);
                    let mut parts = Vec::new();
                    if let Some(m) = m {
                        parts.push(format!("{:.2} ms", m.ns_per_op / 1e6));
                        parts.push(format!("{} MB/s", fmt_rate(m.mops)));
                    }
                    if let Some(c) = c {
                        parts.push(format!("{} allocs", c.allocations));
                    }
                    if parts.is_empty() {
                        MISSING.to_owned()
                    } else {
                        parts.join(" · ")
                    }
                }));
                row
            })
            .collect();
        table(s, &header, 1, &body);
    }
}

fn memory(report: &Report, s: &mut String) {
    if report.memory.is_empty() {
        return;
    }
    s.push_str("## Memory per series\n\n");
    s.push_str(
        "Live heap bytes per series after building the scrape workload and \
         touching every series from the writer threads.\n\n",
    );
    let libs = uniq(report.memory.iter().map(|m| m.lib));
    let columns: Vec<(&str, usize)> = uniq(report.memory.iter().map(|m| m.kind))
        .into_iter()
        .flat_map(|kind| {
            sorted_threads(
                report
                    .memory
                    .iter()
                    .filter(|m| m.kind == kind)
                    .map(|m| m.threads),
            )
            .into_iter()
            .map(move |t| (kind, t))
        })
        .collect();
    let mut header = vec!["library".to_owned()];
    header.extend(
        columns
            .iter()
            .map(|&(kind, t)| format!("{kind}, {}", threads_label(t, "writer"))),
    );
    let body: Vec<Vec<String>> = libs
        .iter()
        .map(|&lib| {
            let mut row = vec![lib_cell(lib)];
            row.extend(columns.iter().map(|&(kind, t)| {
                report
                    .memory
                    .iter()
                    .find(|m| m.lib == lib && m.kind == kind && m.threads == t)
                    .map_or_else(
                        || MISSING.to_owned(),
                        |m| format!("{:.0} B", m.bytes_per_series),
                    )
            }));
            row
        })
        .collect();
    table(s, &header, 1, &body);
}

fn ratios(report: &Report, s: &mut String) {
    let ratios = report.ratios();
    if ratios.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Time relative to {OURS}\n");
    let _ = writeln!(
        s,
        "Peer time / {OURS} time for the same case and threads: above 1 means \
         {OURS} is faster; **bold** marks where the peer is faster.\n"
    );
    let peers = uniq(ratios.iter().map(|r| r.peer));
    let mut header = vec!["case".to_owned(), "threads".to_owned()];
    header.extend(peers.iter().map(|p| (*p).to_owned()));
    let mut body = Vec::new();
    for case in uniq(ratios.iter().map(|r| r.case)) {
        let threads = sorted_threads(ratios.iter().filter(|r| r.case == case).map(|r| r.threads));
        for t in threads {
            let mut row = vec![format!("`{case}`"), t.to_string()];
            row.extend(peers.iter().map(|&peer| {
                ratios
                    .iter()
                    .find(|r| r.case == case && r.threads == t && r.peer == peer)
                    .map_or_else(
                        || MISSING.to_owned(),
                        |r| {
                            if r.x < 1.0 {
                                format!("**{:.2}**", r.x)
                            } else {
                                format!("{:.2}", r.x)
                            }
                        },
                    )
            }));
            body.push(row);
        }
    }
    table(s, &header, 1, &body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Measurement, Memory, ScrapeCost};

    fn m(case: &'static str, lib: &'static str, threads: usize, ns: f64) -> Measurement {
        // Hot path: every thread does 1e9 / ns ops per second.
        Measurement {
            case,
            lib,
            threads,
            ns_per_op: ns,
            mops: threads as f64 * 1e3 / ns,
        }
    }

    fn sample() -> Report {
        let mut measurements = Vec::new();
        for case in ["counter_inc", "histogram_observe"] {
            for (lib, base) in [("hotmetrics", 2.0), ("prometheus", 8.0), ("floor", 0.5)] {
                for threads in [1, 2] {
                    // histogram_observe for prometheus has no 2-thread row.
                    if case == "histogram_observe" && lib == "prometheus" && threads == 2 {
                        continue;
                    }
                    measurements.push(m(case, lib, threads, base * threads as f64));
                }
            }
        }
        for (lib, ns) in [("hotmetrics", 1_500_000.0), ("prometheus", 3_000_000.0)] {
            measurements.push(Measurement {
                case: "scrape_text",
                lib,
                threads: 2,
                ns_per_op: ns,
                mops: 1_000_000.0 / ns * 1e3,
            });
        }
        Report {
            machine: "test box".into(),
            date: "2024-01-02".into(),
            measurements,
            memory: vec![
                Memory {
                    kind: "counter",
                    lib: "hotmetrics",
                    threads: 1,
                    bytes_per_series: 96.4,
                },
                Memory {
                    kind: "histogram",
                    lib: "hotmetrics",
                    threads: 1,
                    bytes_per_series: 412.0,
                },
                Memory {
                    kind: "counter",
                    lib: "prometheus",
                    threads: 1,
                    bytes_per_series: 250.0,
                },
            ],
            scrape_costs: vec![
                ScrapeCost {
                    case: "scrape_text",
                    lib: "hotmetrics",
                    threads: 2,
                    allocations: 0,
                    bytes: 1_000_000,
                },
                ScrapeCost {
                    case: "scrape_text",
                    lib: "prometheus",
                    threads: 2,
                    allocations: 12345,
                    bytes: 1_000_000,
                },
            ],
        }
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_rate(812.4), "812");
        assert_eq!(fmt_rate(99.94), "99.9");
        assert_eq!(fmt_rate(0.04), "0.0");
        assert_eq!(fmt_ns(2.456), "2.46");
        assert_eq!(fmt_ns(24.56), "24.6");
        assert_eq!(fmt_ns(245.6), "246");
        assert_eq!(fmt_ns(f64::NAN), MISSING);
    }

    #[test]
    fn heading_and_hot_path_tables() {
        let md = markdown(&sample());
        assert!(md.starts_with("# hotmetrics benchmarks: test box, 2024-01-02\n"));
        let counter = md.find("### `counter_inc`").expect("counter table");
        let histogram = md.find("### `histogram_observe`").expect("histogram table");
        assert!(counter < histogram, "cases in order of appearance");
        assert!(md.contains("| library | 1 thread | 2 threads |\n| :-- | --: | --: |\n"));
        // counter_inc: hotmetrics 2 ns at 1 thread -> 500 Mops/s; 4 ns at 2
        // threads -> 2 * 250 = 500 Mops/s.
        assert!(md.contains("| **hotmetrics** | 500 (2.00 ns) | 500 (4.00 ns) |\n"));
        assert!(md.contains("| prometheus | 125 (8.00 ns) | 125 (16.0 ns) |\n"));
        assert!(md.contains("| floor | 2000 (0.50 ns) | 2000 (1.00 ns) |\n"));
        // The missing histogram_observe cell.
        assert!(md.contains("| prometheus | 125 (8.00 ns) | — |\n"));
        // Libraries in order of first appearance.
        let section = &md[counter..histogram];
        let h = section.find("hotmetrics").expect("hotmetrics row");
        let p = section.find("prometheus").expect("prometheus row");
        let f = section.find("floor").expect("floor row");
        assert!(h < p && p < f);
        // Scrapes are not hot-path tables.
        assert!(
            md.find("### `scrape_text`").expect("scrape table")
                > md.find("## Scrape").expect("scrape section")
        );
    }

    #[test]
    fn scrape_memory_and_ratios() {
        let md = markdown(&sample());
        assert!(md.contains("| library | 2 writers |\n"));
        assert!(md.contains("| **hotmetrics** | 1.50 ms · 667 MB/s · 0 allocs |\n"));
        assert!(md.contains("| prometheus | 3.00 ms · 333 MB/s · 12345 allocs |\n"));
        assert!(md.contains(
            "| library | counter, 1 writer | histogram, 1 writer |\n| :-- | --: | --: |\n"
        ));
        assert!(md.contains("| **hotmetrics** | 96 B | 412 B |\n"));
        assert!(md.contains("| prometheus | 250 B | — |\n"));
        assert!(md.contains("| case | threads | prometheus | floor |\n"));
        assert!(md.contains("| `counter_inc` | 1 | 4.00 | **0.25** |\n"));
        assert!(md.contains("| `histogram_observe` | 2 | — | **0.25** |\n"));
        assert!(md.contains("| `scrape_text` | 2 | 2.00 | — |\n"));
    }

    #[test]
    fn empty_report() {
        let md = markdown(&Report::default());
        assert!(md.contains("No measurements."));
        assert!(!md.contains('|'));
    }
}
