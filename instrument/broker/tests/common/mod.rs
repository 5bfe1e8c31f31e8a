//! What the real-broker tests share: finding the server test.sh started,
//! and reading exact counts from a scrape.
// Each test file uses the part it needs.
#![allow(dead_code)]

use hotmetrics_core::{Registry, Snapshot, ValueSnapshot};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// A server process a restart test runs itself: stopped with SIGTERM (as
/// a service manager does) by [`stop`](Self::stop), killed when dropped.
pub struct OwnServer(Child);

impl OwnServer {
    /// Runs `command` (`name` on PATH), its output discarded; fails the
    /// test, saying what to install, when it cannot run.
    pub fn spawn(mut command: Command, name: &str) -> Self {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {name} ({e}): this test needs it on PATH; ./test.sh --setup installs it")
            });
        Self(child)
    }

    /// SIGTERM, then waits for the process to end.
    pub fn stop(mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.0.wait();
        std::mem::forget(self);
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The URL in `var`, which `./test.sh` exports after starting the server;
/// fails the test, with what to do, when it is not set.
pub fn server_url(var: &str, server: &str) -> String {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{var} is not set: this test needs a running {server}. Run ./test.sh (it \
             installs and starts one), or start one and export {var}."
        ),
    }
}

/// A name no other run uses (queues, subjects, streams).
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Exact values of one scrape, by FastStream's label conventions.
pub struct Scrape {
    snap: Snapshot,
    broker: &'static str,
}

impl Scrape {
    pub fn of(registry: &Registry, broker: &'static str) -> Self {
        Self {
            snap: registry.snapshot(),
            broker,
        }
    }

    fn value(&self, name: &str, key: &str, value: &str, extra: Option<(&str, &str)>) -> f64 {
        let mut labels = vec![
            ("app_name", "faststream"),
            ("broker", self.broker),
            (key, value),
        ];
        labels.extend(extra);
        match self.snap.value(&format!("faststream_{name}"), &labels) {
            Some(ValueSnapshot::Counter(v)) | Some(ValueSnapshot::Gauge(v)) => *v,
            Some(ValueSnapshot::Histogram { count, .. }) => *count as f64,
            None => 0.0,
            Some(other) => panic!("{name}: unexpected {other:?}"),
        }
    }

    pub fn received(&self, handler: &str) -> f64 {
        self.value("received_messages", "handler", handler, None)
    }

    pub fn in_process(&self, handler: &str) -> f64 {
        self.value("received_messages_in_process", "handler", handler, None)
    }

    pub fn sizes(&self, handler: &str) -> f64 {
        self.value("received_messages_size_bytes", "handler", handler, None)
    }

    pub fn durations(&self, handler: &str) -> f64 {
        self.value(
            "received_processed_messages_duration_seconds",
            "handler",
            handler,
            None,
        )
    }

    pub fn processed(&self, handler: &str, status: &str) -> f64 {
        let extra = Some(("status", status));
        self.value("received_processed_messages", "handler", handler, extra)
    }

    pub fn exceptions(&self, handler: &str, ty: &str) -> f64 {
        let extra = Some(("exception_type", ty));
        self.value(
            "received_processed_messages_exceptions",
            "handler",
            handler,
            extra,
        )
    }

    pub fn published(&self, destination: &str, status: &str) -> f64 {
        let extra = Some(("status", status));
        self.value("published_messages", "destination", destination, extra)
    }

    pub fn publish_durations(&self, destination: &str) -> f64 {
        self.value(
            "published_messages_duration_seconds",
            "destination",
            destination,
            None,
        )
    }

    pub fn publish_exceptions(&self, destination: &str, ty: &str) -> f64 {
        let extra = Some(("exception_type", ty));
        self.value(
            "published_messages_exceptions",
            "destination",
            destination,
            extra,
        )
    }

    pub fn lag(&self, handler: &str) -> f64 {
        self.value("consumer_lag_messages", "handler", handler, None)
    }

    /// Every (exception type, count) of `family`, all handlers together.
    pub fn exception_types(&self, family: &str) -> Vec<(String, f64)> {
        let name = format!("faststream_{family}");
        let mut out = Vec::new();
        for f in self.snap.families.iter().filter(|f| f.name == name) {
            for s in &f.series {
                let ty = s
                    .labels
                    .iter()
                    .find(|(n, _)| n == "exception_type")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                if let ValueSnapshot::Counter(v) = s.value {
                    out.push((ty, v));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
