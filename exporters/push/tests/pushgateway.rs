//! Pushes to the real Pushgateway (Debian package `prometheus-pushgateway`;
//! `./test.sh` installs it) and reads the groups back from its `/metrics`.
//! Each test starts its own gateway on a free loopback port, without
//! persistence, and kills it when done.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hotmetrics_core::{Buckets, Registry};
use hotmetrics_push::{Error, Format, Pusher};

/// A running Pushgateway, killed on drop.
struct Gateway {
    child: Child,
    port: u16,
    prefix: &'static str,
    log: PathBuf,
}

impl Gateway {
    fn start() -> Self {
        Self::start_with_prefix("")
    }

    /// Starts a gateway serving under `prefix` (`--web.route-prefix`).
    fn start_with_prefix(prefix: &'static str) -> Self {
        let bin = binary();
        // The free port may be taken again between probing and listening:
        // try a few.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let log = std::env::temp_dir().join(format!(
                "hotmetrics-pushgateway-{}-{port}.log",
                std::process::id()
            ));
            let mut cmd = Command::new(&bin);
            cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
            if !prefix.is_empty() {
                cmd.arg(format!("--web.route-prefix={prefix}"));
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).expect("a log file"))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut gateway = Gateway {
                child,
                port,
                prefix,
                log,
            };
            if gateway.wait_ready() {
                return gateway;
            }
        }
        panic!("the Pushgateway did not become ready on any of 5 ports");
    }

    /// Polls `/-/ready` until it answers 200; false if the process exits
    /// (port taken) first.
    fn wait_ready(&mut self) -> bool {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().expect("child status") {
                eprintln!(
                    "pushgateway exited ({status}):\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
                return false;
            }
            if get(self.port, &format!("{}/-/ready", self.prefix)).is_some_and(|(s, _)| s == 200) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the Pushgateway on port {} was not ready within 30 s; its log:\n{}",
            self.port,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.prefix)
    }

    fn pusher(&self, job: &str) -> hotmetrics_push::PusherBuilder {
        Pusher::builder(self.url(), job).timeout(Duration::from_secs(10))
    }

    /// The gateway's whole `/metrics` text.
    fn metrics(&self) -> String {
        let (status, body) = get(self.port, &format!("{}/metrics", self.prefix))
            .expect("the gateway answers /metrics");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The sample lines of the groups of `job` (the `job` label is always
    /// rendered as `job="<job>"`), without the gateway's own
    /// `push_time_seconds` and `push_failure_time_seconds`, sorted.
    fn group(&self, job: &str) -> Vec<String> {
        let needle = format!("job=\"{job}\"");
        let mut lines: Vec<String> = self
            .metrics()
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains(&needle))
            .filter(|l| !l.starts_with("push_time_seconds") && !l.starts_with("push_failure"))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }

    /// [`group`](Self::group) once it equals `want`, for up to 5 s. The
    /// Pushgateway answers a DELETE with 202 Accepted and applies it from
    /// its write queue, so a read right after can still see the group.
    fn group_after_delete(&self, job: &str, want: &[String]) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.group(job);
            if got == want || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The gateway binary: `$PUSHGATEWAY`, else `prometheus-pushgateway` on
/// `PATH`, else `/usr/bin/prometheus-pushgateway`. Missing is a failure.
fn binary() -> PathBuf {
    let bin = std::env::var_os("PUSHGATEWAY")
        .map(PathBuf::from)
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join("prometheus-pushgateway"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| "/usr/bin/prometheus-pushgateway".into());
    assert!(
        bin.is_file(),
        "the Pushgateway binary {} is missing: run ./test.sh, which installs it (Debian \
         package prometheus-pushgateway), or set PUSHGATEWAY=/path/to/prometheus-pushgateway",
        bin.display()
    );
    bin
}

/// A plain HTTP/1.0 GET; `None` if nothing listens yet.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.get(9..12)?.parse().ok()?;
    Some((status, body.to_owned()))
}

fn lines(lines: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = lines.iter().map(|&l| l.to_owned()).collect();
    v.sort();
    v
}

#[test]
fn push_replaces_the_group_in_both_formats() {
    let gw = Gateway::start();
    for (format, job) in [(Format::Protobuf, "proto"), (Format::Text, "text")] {
        let registry = Registry::new();
        let sent = registry
            .counter_vec(("sent", "Messages sent."), &["queue"])
            .unwrap();
        sent.with(&["a"], |c| c.inc_by(3)).unwrap();
        registry.gauge(("in_flight", "In flight.")).unwrap().set(-7);
        let wait = registry
            .histogram(
                ("wait_seconds", "Time in queue."),
                Buckets::new(vec![0.5, 1.0]).unwrap(),
            )
            .unwrap();
        wait.observe(0.75);

        let mut pusher = gw
            .pusher(job)
            .grouping("instance", "w1")
            .format(format)
            .build()
            .unwrap();
        pusher.push(&registry).unwrap();
        let l = |s: &str| s.replace("JOB", job);
        let want = [
            "in_flight{instance=\"w1\",job=\"JOB\"} -7",
            "sent_total{instance=\"w1\",job=\"JOB\",queue=\"a\"} 3",
            "wait_seconds_bucket{instance=\"w1\",job=\"JOB\",le=\"0.5\"} 0",
            "wait_seconds_bucket{instance=\"w1\",job=\"JOB\",le=\"1\"} 1",
            "wait_seconds_bucket{instance=\"w1\",job=\"JOB\",le=\"+Inf\"} 1",
            "wait_seconds_sum{instance=\"w1\",job=\"JOB\"} 0.75",
            "wait_seconds_count{instance=\"w1\",job=\"JOB\"} 1",
        ]
        .map(l);
        assert_eq!(
            gw.group(job),
            lines(&want.each_ref().map(String::as_str)),
            "{format:?}"
        );
        let metrics = gw.metrics();
        for typ in [
            "# TYPE sent_total counter",
            "# TYPE in_flight gauge",
            "# TYPE wait_seconds histogram",
            "# HELP sent_total Messages sent.",
        ] {
            assert!(
                metrics.contains(typ),
                "{format:?}: no {typ:?} in\n{metrics}"
            );
        }

        // A second push replaces the group: the unregistered family goes.
        assert!(registry.unregister("in_flight"));
        sent.with(&["a"], |c| c.inc()).unwrap();
        pusher.push(&registry).unwrap();
        let group = gw.group(job);
        assert!(
            !group.iter().any(|s| s.starts_with("in_flight")),
            "{group:?}"
        );
        assert!(group.contains(&l("sent_total{instance=\"w1\",job=\"JOB\",queue=\"a\"} 4")));
        assert_eq!(group.len(), 6, "{group:?}");
    }
}

#[test]
fn push_add_replaces_only_the_families_it_pushes() {
    let gw = Gateway::start();
    let first = Registry::new();
    first.gauge(("kept", "k")).unwrap().set(1);
    let b = first.gauge_vec(("replaced", "r"), &["x"]).unwrap();
    b.with(&["1"], |g| g.set(1)).unwrap();
    b.with(&["2"], |g| g.set(2)).unwrap();
    let second = Registry::new();
    let b = second.gauge_vec(("replaced", "r"), &["x"]).unwrap();
    b.with(&["3"], |g| g.set(3)).unwrap();
    second.gauge(("added", "a")).unwrap().set(4);

    let mut pusher = gw.pusher("add").build().unwrap();
    pusher.push(&first).unwrap();
    pusher.push_add(&second).unwrap();
    assert_eq!(
        gw.group("add"),
        lines(&[
            "added{instance=\"\",job=\"add\"} 4",
            "kept{instance=\"\",job=\"add\"} 1",
            // The whole family is replaced, not series by series.
            "replaced{instance=\"\",job=\"add\",x=\"3\"} 3",
        ])
    );
    // PUT drops what the registry lacks.
    pusher.push(&second).unwrap();
    assert_eq!(
        gw.group("add"),
        lines(&[
            "added{instance=\"\",job=\"add\"} 4",
            "replaced{instance=\"\",job=\"add\",x=\"3\"} 3",
        ])
    );
}

#[test]
fn delete_removes_only_its_group() {
    let gw = Gateway::start();
    let registry = Registry::new();
    registry.gauge(("up", "u")).unwrap().set(1);
    let mut one = gw.pusher("del").grouping("instance", "1").build().unwrap();
    let mut two = gw.pusher("del").grouping("instance", "2").build().unwrap();
    one.push(&registry).unwrap();
    two.push(&registry).unwrap();
    assert_eq!(gw.group("del").len(), 2);
    one.delete().unwrap();
    let two_left = lines(&["up{instance=\"2\",job=\"del\"} 1"]);
    assert_eq!(gw.group_after_delete("del", &two_left), two_left);
    // Deleting a group that does not exist is no error.
    one.delete().unwrap();
    two.delete().unwrap();
    assert_eq!(gw.group_after_delete("del", &[]), Vec::<String>::new());
    assert!(!gw.metrics().contains("job=\"del\""));
}

#[test]
fn awkward_grouping_values_round_trip() {
    let gw = Gateway::start();
    let registry = Registry::new();
    registry.gauge(("up", "u")).unwrap().set(1);
    for format in [Format::Protobuf, Format::Text] {
        let mut pusher = gw
            .pusher("batch/nightly")
            .grouping("path", "/var/tmp")
            .grouping("empty", "")
            .grouping("dot", ".")
            .grouping("dots", "..")
            .grouping("text", "é %?#&+=\"")
            .format(format)
            .build()
            .unwrap();
        assert!(
            pusher
                .url()
                .contains("/metrics/job@base64/YmF0Y2gvbmlnaHRseQ==/")
        );
        pusher.push(&registry).unwrap();
        assert_eq!(
            gw.group("batch/nightly"),
            lines(&[
                "up{dot=\".\",dots=\"..\",empty=\"\",instance=\"\",job=\"batch/nightly\",\
                 path=\"/var/tmp\",text=\"é %?#&+=\\\"\"} 1"
            ]),
            "{format:?}"
        );
        pusher.delete().unwrap();
        let left = gw.group_after_delete("batch/nightly", &[]);
        assert_eq!(left, Vec::<String>::new(), "{format:?}");
    }
}

#[test]
fn gateway_rejections_surface_as_status_errors() {
    let gw = Gateway::start();
    let counter = Registry::new();
    counter.counter(("clash", "c")).unwrap().inc();
    gw.pusher("one").build().unwrap().push(&counter).unwrap();

    // The same name as a gauge in another group: the gateway checks the
    // union of all groups and refuses.
    let gauge = Registry::new();
    gauge.gauge(("clash_total", "g")).unwrap().set(1);
    for format in [Format::Protobuf, Format::Text] {
        let mut pusher = gw.pusher("two").format(format).build().unwrap();
        match pusher.push(&gauge) {
            Err(Error::Status { code, body }) => {
                assert_eq!(code, 400, "{body}");
                assert!(
                    body.contains("inconsistent") && body.contains("clash_total"),
                    "{body}"
                );
                assert_eq!(body, body.trim());
            }
            other => panic!("{format:?}: {other:?}"),
        }
    }
    assert_eq!(gw.group("two"), Vec::<String>::new());
    assert_eq!(
        gw.group("one"),
        lines(&["clash_total{instance=\"\",job=\"one\"} 1"])
    );
}

#[test]
fn a_path_prefix_is_kept() {
    let gw = Gateway::start_with_prefix("/pg");
    let registry = Registry::new();
    registry.gauge(("up", "u")).unwrap().set(1);
    let mut pusher = Pusher::builder(format!("{}/", gw.url()), "prefixed")
        .format(Format::Text)
        .build()
        .unwrap();
    pusher.push(&registry).unwrap();
    assert_eq!(
        gw.group("prefixed"),
        lines(&["up{instance=\"\",job=\"prefixed\"} 1"])
    );
    // Without the prefix the gateway has no such route.
    let mut lost = Pusher::builder(format!("http://127.0.0.1:{}", gw.port), "prefixed")
        .build()
        .unwrap();
    assert!(
        matches!(lost.delete(), Err(Error::Status { code: 404, .. })),
        "expected a 404"
    );
}
