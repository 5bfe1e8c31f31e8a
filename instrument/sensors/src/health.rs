//! [`HealthMonitor`]: thresholds on what the [`Monitor`] knows (consumer
//! lag, error rate, time since the last event) and on the process' memory,
//! checked when asked (`/health`, [`HealthMonitor::report`]).

use crate::monitor::Monitor;
use crate::rates::Rates;
use serde::Serialize;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Whether a check passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Within its threshold.
    Ok,
    /// Over its threshold: the process is unhealthy.
    Failing,
    /// No value to compare yet (no partition with a known lag, no RSS on
    /// this platform); does not make the process unhealthy.
    Unknown,
}

/// One check of a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// `consumer_lag`, `error_rate`, `rss_bytes` or `idle_seconds`.
    pub name: &'static str,
    /// The verdict.
    pub status: CheckStatus,
    /// What was measured: the largest partition lag (messages), errors per
    /// second, resident bytes, seconds since the last stream event.
    pub value: Option<f64>,
    /// The largest value that passes.
    pub threshold: f64,
    /// For the lag: the partition with the largest lag (`topic:partition`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What [`HealthMonitor::report`] returns (and `/health` sends as JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// `"healthy"` or `"unhealthy"`.
    pub status: &'static str,
    /// Every check passed or was unknown.
    pub healthy: bool,
    /// The checks configured, in the order above.
    pub checks: Vec<CheckReport>,
}

type Alert = Arc<dyn Fn(&HealthReport) + Send + Sync>;

/// How a [`HealthMonitor`] is set up; [`HealthMonitor::builder`]. No
/// check is on until its threshold is set.
#[must_use = "a builder does nothing until `build`"]
pub struct HealthMonitorBuilder {
    monitor: Monitor,
    max_lag: Option<i64>,
    max_error_rate: Option<f64>,
    error_window: Duration,
    max_rss_bytes: Option<u64>,
    max_idle: Option<Duration>,
    alert: Option<Alert>,
}

impl fmt::Debug for HealthMonitorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthMonitorBuilder")
            .field("max_lag", &self.max_lag)
            .field("max_error_rate", &self.max_error_rate)
            .field("error_window", &self.error_window)
            .field("max_rss_bytes", &self.max_rss_bytes)
            .field("max_idle", &self.max_idle)
            .field("alert", &self.alert.is_some())
            .finish()
    }
}

impl HealthMonitorBuilder {
    /// Unhealthy while a partition's consumer lag (high watermark −
    /// committed offset, [`Monitor::consumer_lag`]) is over `messages`.
    pub fn max_lag(mut self, messages: i64) -> Self {
        self.max_lag = Some(messages);
        self
    }

    /// Unhealthy while send errors plus failed assignments per second,
    /// over at least the [`error_window`](Self::error_window), are over
    /// `per_second`. Before a whole window has passed the errors so far
    /// are divided by the window, so a single early error does not read
    /// as a burst.
    pub fn max_error_rate(mut self, per_second: f64) -> Self {
        self.max_error_rate = Some(per_second);
        self
    }

    /// The window of the error rate (default 60 s).
    pub fn error_window(mut self, window: Duration) -> Self {
        self.error_window = window;
        self
    }

    /// Unhealthy while the process' resident memory is over `bytes`
    /// (`VmRSS` of `/proc/self/status`: Linux only; elsewhere the check
    /// reports `unknown`).
    pub fn max_rss_bytes(mut self, bytes: u64) -> Self {
        self.max_rss_bytes = Some(bytes);
        self
    }

    /// Unhealthy when no stream event came in for longer than `idle`
    /// (counted from the monitor's creation before the first).
    pub fn max_idle(mut self, idle: Duration) -> Self {
        self.max_idle = Some(idle);
        self
    }

    /// Called with the report each time the status changes (the first
    /// report is compared with "healthy"), on the thread that asked for
    /// the report. Checks run only when asked: a transition is seen (and
    /// alerted) by the next [`HealthMonitor::report`] or
    /// [`is_healthy`](HealthMonitor::is_healthy) (a `/health` request),
    /// never in the background. Reports are computed one at a time, so
    /// alerts come in the order of the states they report; the callback
    /// runs while that lock is held and must not ask the same health
    /// monitor for a report.
    pub fn on_transition(mut self, alert: impl Fn(&HealthReport) + Send + Sync + 'static) -> Self {
        self.alert = Some(Arc::new(alert));
        self
    }

    /// The health monitor.
    pub fn build(self) -> HealthMonitor {
        let now = self.monitor.clock().seconds();
        HealthMonitor {
            errors: Rates::over_full_window(self.error_window.as_secs_f64(), now),
            base_errors: self.monitor.errors_total(),
            was_healthy: Mutex::new(true),
            b: self,
        }
    }
}

/// Health thresholds over a [`Monitor`]'s state and the process' memory,
/// evaluated on each [`report`](Self::report) (with feature `http`, it is
/// the `/health` route's `hotmetrics_http::HealthCheck`:
/// `503` with the JSON report when unhealthy, `200` when healthy).
///
/// ```
/// use hotmetrics_sensors::{HealthMonitor, Monitor, Sensor, TopicPartition};
///
/// let monitor = Monitor::new();
/// let health = HealthMonitor::builder(&monitor).max_lag(100).build();
/// let tp = TopicPartition::new("orders", 0);
/// monitor.on_partition_end_offset(tp, 500);
/// monitor.on_tp_commit(&[(tp, 300)]);
/// assert!(!health.is_healthy(), "lag 200 > 100");
/// monitor.on_tp_commit(&[(tp, 450)]);
/// assert!(health.is_healthy());
/// ```
pub struct HealthMonitor {
    b: HealthMonitorBuilder,
    errors: Rates<1>,
    base_errors: u64,
    /// The status of the last report; held while a report is computed and
    /// its transition alerted, so they happen in order.
    was_healthy: Mutex<bool>,
}

impl fmt::Debug for HealthMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthMonitor")
            .field("settings", &self.b)
            .finish_non_exhaustive()
    }
}

impl HealthMonitor {
    /// Thresholds over `monitor`'s state.
    pub fn builder(monitor: &Monitor) -> HealthMonitorBuilder {
        HealthMonitorBuilder {
            monitor: monitor.clone(),
            max_lag: None,
            max_error_rate: None,
            error_window: Duration::from_secs(60),
            max_rss_bytes: None,
            max_idle: None,
            alert: None,
        }
    }

    /// Whether every check passes now.
    pub fn is_healthy(&self) -> bool {
        self.report().healthy
    }

    /// Every check, evaluated now; calls the transition alert if the
    /// status changed since the previous report.
    pub fn report(&self) -> HealthReport {
        let mut was_healthy = self
            .was_healthy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let report = self.evaluate();
        if std::mem::replace(&mut *was_healthy, report.healthy) != report.healthy
            && let Some(alert) = &self.b.alert
        {
            alert(&report);
        }
        report
    }

    /// Every check, evaluated now.
    fn evaluate(&self) -> HealthReport {
        let b = &self.b;
        let mut checks = Vec::new();
        let check = |name, value: Option<f64>, threshold: f64, detail| CheckReport {
            name,
            status: match value {
                None => CheckStatus::Unknown,
                Some(v) if v > threshold => CheckStatus::Failing,
                Some(_) => CheckStatus::Ok,
            },
            value,
            threshold,
            detail,
        };
        if let Some(max) = b.max_lag {
            let lags = b.monitor.consumer_lag();
            // Only the worst partition's name is formatted.
            let worst = lags
                .iter()
                .flat_map(|(topic, parts)| parts.iter().map(move |(p, lag)| (*lag, topic, *p)))
                .max_by_key(|&(lag, _, _)| lag);
            let (value, detail) = match worst {
                Some((lag, topic, p)) => (Some(lag as f64), Some(format!("{topic}:{p}"))),
                None => (None, None),
            };
            checks.push(check("consumer_lag", value, max as f64, detail));
        }
        if let Some(max) = b.max_error_rate {
            let now = b.monitor.clock().seconds();
            let errors = b.monitor.errors_total().saturating_sub(self.base_errors);
            let [rate] = self.errors.read(now, [errors]);
            checks.push(check("error_rate", Some(rate), max, None));
        }
        if let Some(max) = b.max_rss_bytes {
            checks.push(check(
                "rss_bytes",
                rss_bytes().map(|b| b as f64),
                max as f64,
                None,
            ));
        }
        if let Some(max) = b.max_idle {
            let idle = b.monitor.seconds_since_last_event();
            checks.push(check("idle_seconds", Some(idle), max.as_secs_f64(), None));
        }
        let healthy = checks.iter().all(|c| c.status != CheckStatus::Failing);
        HealthReport {
            status: if healthy { "healthy" } else { "unhealthy" },
            healthy,
            checks,
        }
    }
}

/// The process' resident set size (`VmRSS` in `/proc/self/status`).
#[cfg(target_os = "linux")]
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(not(target_os = "linux"))]
fn rss_bytes() -> Option<u64> {
    None
}

#[cfg(feature = "http")]
impl hotmetrics_http::HealthCheck for HealthMonitor {
    fn check(&self) -> hotmetrics_http::HealthAnswer {
        let report = self.report();
        hotmetrics_http::HealthAnswer {
            healthy: report.healthy,
            json: serde_json::to_vec(&report)
                .unwrap_or_else(|_| br#"{"status":"unhealthy"}"#.to_vec()),
        }
    }
}

#[cfg(feature = "http")]
impl hotmetrics_http::StatsJson for Monitor {
    fn stats_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.snapshot()).unwrap_or_else(|_| b"{}".to_vec())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn reads_this_process_rss() {
        let rss = super::rss_bytes().unwrap();
        assert!(rss > 1024 * 1024, "{rss}");
    }
}
