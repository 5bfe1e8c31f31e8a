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
    use crate::hot_path::LABEL_NAMES;

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
}
