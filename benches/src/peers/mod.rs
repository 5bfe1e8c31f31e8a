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
