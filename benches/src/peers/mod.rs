//! Every library's [`HotPath`](crate::hot_path::HotPath) and
//! [`ScrapeTarget`](crate::scrape::ScrapeTarget), one module per library.
//! Each module has `Handles` (the hot path) and, for real libraries,
//! `Workload` (the scrape). Paths to the libraries themselves are written
//! `::name` so they never mean these modules.

pub mod fastmetrics;
pub mod hotmetrics;
pub mod limits;
pub mod measured;
pub mod metrics;
pub mod prometheus;
pub mod prometheus_client;

/// What the peers' tests read back from a text exposition.
#[cfg(test)]
pub(crate) mod text {
    use crate::hot_path::{LABEL_NAMES, LABEL_SETS};
    use crate::scrape::{COUNTER, HISTOGRAM, counter_increment};

    /// The value of the sample line that starts with `series` and a space.
    pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.parse().ok())
    }

    /// `l_total{handler="..",broker="..",status=".."}` for a label set, in
    /// declared order.
    pub(crate) fn labeled(set: &[&str; 3]) -> String {
        let pairs: Vec<String> = LABEL_NAMES
            .iter()
            .zip(set)
            .map(|(name, value)| format!("{name}=\"{value}\""))
            .collect();
        format!("l_total{{{}}}", pairs.join(","))
    }

    /// The hot-path metrics after 2 threads × 1000 operations of counter,
    /// gauge inc/dec, the three labeled cases, histogram and timer: exact
    /// totals (label sets in `LABEL_NAMES` order, unlabeled buckets).
    pub(crate) fn check_hot_path(text: &str) {
        assert_eq!(sample(text, "c_total"), Some(2000.0), "{text}");
        assert_eq!(sample(text, "gi"), Some(0.0), "{text}");
        // 500 from the string lookups and 500 from the typed ones (4 sets
        // each), 2000 through the cached handle.
        assert_eq!(sample(text, &labeled(&LABEL_SETS[0])), Some(3000.0));
        for set in &LABEL_SETS[1..] {
            assert_eq!(sample(text, &labeled(set)), Some(1000.0), "{text}");
        }
        assert_eq!(sample(text, "h_seconds_count"), Some(2000.0));
        assert_eq!(sample(text, r#"h_seconds_bucket{le="+Inf"}"#), Some(2000.0));
        assert_eq!(sample(text, r#"h_seconds_bucket{le="0.005"}"#), Some(2.0));
        assert_eq!(sample(text, "t_seconds_count"), Some(2000.0));
        assert_eq!(text.matches("_bucket{le=").count(), 2 * 12);
    }

    /// A text scrape of `Workload::build(100, 10, 3)` (labels in
    /// `topic, partition` order): metadata, 100 counter series, the value of
    /// series 7, and 10 histogram counts of 3. `counter_type` is the name
    /// the `# TYPE` line carries for the counter family.
    pub(crate) fn check_workload(text: &str, counter_type: &str) {
        let (counter, counter_help) = COUNTER;
        let (histogram, histogram_help) = HISTOGRAM;
        assert!(text.contains(&format!("# HELP {counter} {counter_help}\n")));
        assert!(text.contains(&format!("# TYPE {counter_type} counter\n")));
        assert!(text.contains(&format!("# HELP {histogram} {histogram_help}\n")));
        assert!(text.contains(&format!("# TYPE {histogram} histogram\n")));
        let counter_lines = text
            .lines()
            .filter(|l| l.starts_with(&format!("{counter}{{")))
            .count();
        assert_eq!(counter_lines, 100);
        let series = format!(r#"{counter}{{topic="topic-0",partition="7"}}"#);
        assert_eq!(
            sample(text, &series),
            Some(3.0 * counter_increment(7) as f64)
        );
        let counts: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("{histogram}_count{{")))
            .collect();
        assert_eq!(counts.len(), 10);
        assert!(counts.iter().all(|l| l.ends_with("} 3")), "{counts:?}");
    }
}
