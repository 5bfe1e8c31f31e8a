//! `ProcessCollector`: the standard `process_*` metrics, read from `/proc`
//! at scrape time (Linux only).

use crate::collector::{Collector, Described};
use crate::visit::{FamilyDesc, MetricType, MetricVisitor, Number, SeriesValue};
use std::fs;
use std::path::PathBuf;

/// `USER_HZ`: the unit of `/proc/<pid>/stat` CPU times, 100 on every Linux
/// architecture (it is part of the kernel ABI, independent of `CONFIG_HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

/// Exposes `process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`,
/// `process_start_time_seconds` and `process_threads` of one process (this
/// one by default). A value that cannot be read is left out of that scrape.
///
/// The names stay as they are in a registry with a prefix, so the standard
/// process dashboards find them (as with the Go client); the registry's
/// constant labels still apply. [`registry_prefix(true)`](Self::registry_prefix)
/// puts the prefix before them.
///
/// ```
/// let registry = hotmetrics_core::Registry::builder().prefix("shop").build().unwrap();
/// registry.register_collector(hotmetrics_core::ProcessCollector::new()).unwrap();
/// let snap = registry.snapshot();
/// assert!(snap.gauge("process_resident_memory_bytes", &[]).unwrap() > 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct ProcessCollector {
    proc_dir: PathBuf,
    prefixed: bool,
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new()
    }
}

/// What one read of `/proc/<pid>` gave.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ProcStats {
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) threads: Option<u64>,
    pub(crate) start_time: Option<f64>,
    pub(crate) virtual_bytes: Option<u64>,
    pub(crate) resident_bytes: Option<u64>,
    pub(crate) open_fds: Option<u64>,
    pub(crate) max_fds: Option<u64>,
}

const FAMILIES: [(&str, &str, MetricType); 7] = [
    (
        "process_cpu_seconds",
        "Total user and system CPU time spent in seconds.",
        MetricType::Counter,
    ),
    (
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        MetricType::Gauge,
    ),
    (
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        MetricType::Gauge,
    ),
    (
        "process_open_fds",
        "Number of open file descriptors.",
        MetricType::Gauge,
    ),
    (
        "process_max_fds",
        "Maximum number of open file descriptors.",
        MetricType::Gauge,
    ),
    (
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        MetricType::Gauge,
    ),
    (
        "process_threads",
        "Number of OS threads in the process.",
        MetricType::Gauge,
    ),
];

impl ProcessCollector {
    /// Collects for the calling process (`/proc/self`).
    pub fn new() -> Self {
        Self {
            proc_dir: PathBuf::from("/proc/self"),
            prefixed: false,
        }
    }

    /// Collects for process `pid`.
    pub fn for_pid(pid: u32) -> Self {
        Self {
            proc_dir: PathBuf::from(format!("/proc/{pid}")),
            prefixed: false,
        }
    }

    /// Whether the registry's prefix goes before the `process_*` names
    /// (default `false`: `process_cpu_seconds_total` in any registry).
    ///
    /// ```
    /// use hotmetrics_core::{ProcessCollector, Registry};
    /// let registry = Registry::builder().prefix("shop").build().unwrap();
    /// registry.register_collector(ProcessCollector::new().registry_prefix(true)).unwrap();
    /// assert!(registry.snapshot().family("shop_process_threads").is_some());
    /// ```
    pub fn registry_prefix(mut self, prefixed: bool) -> Self {
        self.prefixed = prefixed;
        self
    }

    pub(crate) fn read(&self) -> ProcStats {
        let mut s = ProcStats::default();
        if let Ok(stat) = fs::read_to_string(self.proc_dir.join("stat")) {
            let boot = fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|t| parse_boot_time(&t));
            parse_stat(&stat, boot, &mut s);
        }
        if let Ok(status) = fs::read_to_string(self.proc_dir.join("status")) {
            s.virtual_bytes = status_kib(&status, "VmSize:");
            s.resident_bytes = status_kib(&status, "VmRSS:");
        }
        s.open_fds = fs::read_dir(self.proc_dir.join("fd"))
            .ok()
            .map(|d| d.count() as u64);
        s.max_fds = fs::read_to_string(self.proc_dir.join("limits"))
            .ok()
            .and_then(|l| parse_max_fds(&l));
        s
    }
}

/// Fields of `/proc/<pid>/stat` after the parenthesised command name, which
/// may itself contain spaces and parentheses.
fn parse_stat(stat: &str, boot_time: Option<u64>, s: &mut ProcStats) {
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return;
    };
    // After ")": field 3 (state) is index 0, so field N is index N - 3.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    if let (Some(utime), Some(stime)) = (num(14), num(15)) {
        s.cpu_seconds = Some((utime + stime) as f64 / TICKS_PER_SECOND);
    }
    s.threads = num(20);
    if let (Some(start), Some(boot)) = (num(22), boot_time) {
        s.start_time = Some(boot as f64 + start as f64 / TICKS_PER_SECOND);
    }
}

fn parse_boot_time(proc_stat: &str) -> Option<u64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    let kib: u64 = line.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

fn parse_max_fds(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

impl Collector for ProcessCollector {
    fn describe(&self) -> Vec<Described> {
        FAMILIES
            .iter()
            .map(|(name, _, t)| Described::new(*name, *t))
            .collect()
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        let s = self.read();
        let values = [
            s.cpu_seconds.map(Number::Float),
            s.resident_bytes.map(Number::UInt),
            s.virtual_bytes.map(Number::UInt),
            s.open_fds.map(Number::UInt),
            s.max_fds.map(Number::UInt),
            s.start_time.map(Number::Float),
            s.threads.map(Number::UInt),
        ];
        for ((name, help, metric_type), value) in FAMILIES.iter().zip(values) {
            let Some(value) = value else { continue };
            out.begin_family(&FamilyDesc {
                name,
                help,
                metric_type: *metric_type,
                unit: None,
            });
            let v = match metric_type {
                MetricType::Counter => SeriesValue::Counter {
                    value,
                    created: s.start_time.unwrap_or(0.0),
                    exemplar: None,
                },
                _ => SeriesValue::Gauge(value),
            };
            out.series(&[], &v);
            out.end_family();
        }
    }

    fn prefixed(&self) -> bool {
        self.prefixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_command_names() {
        let stat = "4242 (my (weird) cmd) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 7 0 1000 123 456";
        let mut s = ProcStats::default();
        parse_stat(stat, Some(1_700_000_000), &mut s);
        assert_eq!(s.cpu_seconds, Some(4.0));
        assert_eq!(s.threads, Some(7));
        assert_eq!(s.start_time, Some(1_700_000_010.0));
    }

    #[test]
    fn parses_status_limits_and_btime() {
        let status = "Name:\tx\nVmSize:\t  2048 kB\nVmRSS:\t   512 kB\n";
        assert_eq!(status_kib(status, "VmSize:"), Some(2048 * 1024));
        assert_eq!(status_kib(status, "VmRSS:"), Some(512 * 1024));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 1048576              files\n";
        assert_eq!(parse_max_fds(limits), Some(1024));
        assert_eq!(
            parse_boot_time("cpu 1 2\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_boot_time("garbage"), None);
    }

    #[test]
    fn garbage_reads_as_missing_not_panic() {
        let mut s = ProcStats::default();
        parse_stat("no paren here", None, &mut s);
        parse_stat("1 (x) S", None, &mut s);
        assert_eq!(s, ProcStats::default());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let s = ProcessCollector::new().read();
        assert!(s.threads.unwrap() >= 1);
        assert!(s.resident_bytes.unwrap() > 0);
        assert!(s.virtual_bytes.unwrap() >= s.resident_bytes.unwrap());
        assert!(s.open_fds.unwrap() >= 3);
        assert!(s.max_fds.unwrap() >= s.open_fds.unwrap());
        let now = crate::slots::now_unix_seconds();
        let start = s.start_time.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 86_400.0 * 365.0,
            "{start}"
        );
        assert!(ProcessCollector::for_pid(u32::MAX).read() == ProcStats::default());
    }
}
