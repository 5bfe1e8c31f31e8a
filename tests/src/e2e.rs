//! What the end-to-end tests share: processes killed and reaped on drop,
//! temporary directories, free loopback ports, polling, a minimal HTTP
//! client, the workspace's examples built and started, and a real
//! Prometheus (Debian's `prometheus`, 2.42) with its query API.
//!
//! A missing `prometheus` fails the test (never skips it): `./test.sh`
//! installs it. Every port is picked free on loopback (Debian's package
//! may have started a Prometheus service on :9090).

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to do when `prometheus` is missing.
pub const PROMETHEUS_SETUP: &str = "./test.sh installs it (Debian package `prometheus`)";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// A child process killed and reaped on drop, also when the test panics.
#[derive(Debug)]
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new directory under the system's temporary directory, its name
    /// made of `what`, the process id and the clock.
    pub fn new(what: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "hotmetrics-e2e-{what}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// Polls `f` every 200 ms until it gives `Ok`, or fails after `timeout`
/// with `what` and the last reason `f` gave.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// `GET path` from `addr`: the status and the body. HTTP/1.0, so the body
/// ends with the connection (no chunked encoding), and no
/// `Accept-Encoding`, so no gzip.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let timeout = Duration::from_secs(5);
    let mut conn = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8(raw).map_err(|e| e.to_string())?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {raw:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok((status, body.to_owned()))
}

/// `s` percent-encoded for a URL's query string.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Builds example `name` of the root package with `features`, with the
/// cargo running this test and in its profile, and returns the path of
/// its executable, read from cargo's JSON messages.
pub fn build_example(name: &str, features: &str) -> PathBuf {
    let release = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.file_name()? == "release"))
        .unwrap_or(false);
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(workspace_root())
        .args(["build", "--example", name, "--features", features])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit());
    if release {
        cargo.arg("--release");
    }
    let out = cargo.output().expect("run cargo");
    assert!(
        out.status.success(),
        "cargo build --example {name} failed ({})",
        out.status
    );
    let messages = String::from_utf8_lossy(&out.stdout);
    let executable = messages
        .lines()
        .filter(|l| l.contains(r#""reason":"compiler-artifact""#))
        .filter(|l| l.contains(&format!(r#""name":"{name}""#)))
        .find_map(|l| {
            let rest = &l[l.find(r#""executable":""#)? + r#""executable":""#.len()..];
            Some(rest[..rest.find('"')?].to_owned())
        })
        .unwrap_or_else(|| panic!("no executable for example {name} in cargo's output"));
    PathBuf::from(executable)
}

/// A running example that serves `/metrics` and says where in a line of
/// its stdout (`... serving http://ADDR/metrics`); its stdout is collected
/// by a thread.
#[derive(Debug)]
pub struct Example {
    _child: Reaped,
    /// Where it serves `/metrics`.
    pub addr: SocketAddr,
    output: Arc<Mutex<Vec<String>>>,
}

impl Example {
    /// Starts `exe` with `args` and waits (up to a minute) for its
    /// `serving http://` line, then (up to 10 s) for a `/metrics` body
    /// that contains `ready`.
    pub fn start(exe: &Path, args: &[&str], ready: &str) -> Self {
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let child = Reaped(child);
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, url)) = line.split_once("serving http://") {
                    let _ = tx.send(url.trim_end_matches("/metrics").to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{} printed no `serving http://...` line", exe.display()))
            .parse()
            .expect("the example's address");
        let example = Self {
            _child: child,
            addr,
            output,
        };
        wait_for(
            Duration::from_secs(10),
            "the example's /metrics",
            || match http_get(example.addr, "/metrics")? {
                (200, body) if body.contains(ready) => Ok(()),
                (status, body) => Err(format!("{status}: {body:.300}")),
            },
        );
        example
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }
}

/// One sample of an instant query's result vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' labels (`__name__` included where the result keeps it).
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, empty where it has none (as PromQL has
    /// it).
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

/// A Prometheus server of its own, scraping given targets every second,
/// its data and log in a directory removed on drop.
#[derive(Debug)]
pub struct Prometheus {
    _child: Reaped,
    addr: SocketAddr,
    log: PathBuf,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts `prometheus` scraping `targets` as job `job` (configuration:
    /// `tests/e2e/prometheus.yml`), with
    /// `--enable-feature=native-histograms` if asked, and waits up to 20 s
    /// for it to be ready.
    pub fn start(job: &str, targets: &[SocketAddr], native_histograms: bool) -> Self {
        let features: &[&str] = if native_histograms {
            &["native-histograms"]
        } else {
            &[]
        };
        Self::start_with_features(job, targets, features)
    }

    /// As [`start`](Self::start), with each of `features` given to
    /// `--enable-feature` (`native-histograms`, `exemplar-storage`, ...).
    pub fn start_with_features(job: &str, targets: &[SocketAddr], features: &[&str]) -> Self {
        let dir = TempDir::new(&features.join("+").replace('-', "_"));
        let config = dir.0.join("prometheus.yml");
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let yml = include_str!("../e2e/prometheus.yml")
            .replace("@JOB@", job)
            .replace("@TARGETS@", &targets.join(", "));
        std::fs::write(&config, yml).expect("write prometheus.yml");
        let log = dir.0.join("prometheus.log");
        let log_file = std::fs::File::create(&log).expect("create the log file");
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the log file"))
            .stderr(log_file);
        if !features.is_empty() {
            cmd.arg(format!("--enable-feature={}", features.join(",")));
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot run `prometheus` ({e}): it must be on PATH; {PROMETHEUS_SETUP}")
        });
        let mut prometheus = Self {
            _child: Reaped(child),
            addr,
            log,
            _dir: dir,
        };
        wait_for(Duration::from_secs(20), "Prometheus to be ready", || {
            if let Ok(Some(status)) = prometheus._child.0.try_wait() {
                panic!("prometheus exited ({status}):\n{}", prometheus.log_tail());
            }
            match http_get(prometheus.addr, "/-/ready")? {
                (200, _) => Ok(()),
                (status, body) => Err(format!("{status}: {body}")),
            }
        });
        prometheus
    }

    /// The last 30 lines of its log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `GET /api/v1/{path}`: the `data` of a `success` answer.
    fn api(&self, path: &str) -> Result<Value, String> {
        let (status, body) = http_get(self.addr, &format!("/api/v1/{path}"))?;
        let answer: Value =
            serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
        if status != 200 || answer["status"] != "success" {
            return Err(format!("HTTP {status}: {body}"));
        }
        Ok(answer["data"].clone())
    }

    /// The samples of an instant query (at the latest data) whose result
    /// is a vector.
    pub fn query(&self, promql: &str) -> Result<Vec<Sample>, String> {
        let data = self
            .api(&format!("query?query={}", url_encode(promql)))
            .map_err(|e| format!("{promql}: {e}"))?;
        if data["resultType"] != "vector" {
            return Err(format!("{promql}: not a vector: {data}"));
        }
        let result = data["result"].as_array().cloned().unwrap_or_default();
        result.iter().map(|s| sample(promql, s)).collect()
    }

    /// The exemplars of the series `promql` selects over the last
    /// `seconds`, as `/api/v1/query_exemplars` gives them: one
    /// `(series labels, exemplar labels, value)` per exemplar.
    pub fn exemplars(&self, promql: &str, seconds: u64) -> Result<Vec<StoredExemplar>, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let data = self
            .api(&format!(
                "query_exemplars?query={}&start={}&end={}",
                url_encode(promql),
                now.saturating_sub(seconds),
                now + 1
            ))
            .map_err(|e| format!("exemplars of {promql}: {e}"))?;
        let labels = |v: &Value| -> BTreeMap<String, String> {
            v.as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        for series in data.as_array().cloned().unwrap_or_default() {
            let series_labels = labels(&series["seriesLabels"]);
            for e in series["exemplars"].as_array().cloned().unwrap_or_default() {
                let value = e["value"]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("exemplar of {promql} without a value: {e}"))?;
                out.push(StoredExemplar {
                    series: series_labels.clone(),
                    labels: labels(&e["labels"]),
                    value,
                });
            }
        }
        Ok(out)
    }

    /// The single value of `promql`, waiting up to 10 s for it to exist.
    pub fn value(&self, promql: &str) -> f64 {
        wait_for(Duration::from_secs(10), promql, || {
            match &self.query(promql)?[..] {
                [s] => Ok(s.value),
                other => Err(format!("{} values: {other:?}", other.len())),
            }
        })
    }

    /// The values of label `label` in the series that `selector` matches
    /// (all series: `None`), as `/api/v1/label/<label>/values` gives them.
    pub fn label_values(&self, label: &str, selector: Option<&str>) -> Result<Vec<String>, String> {
        let matcher = selector.map_or(String::new(), |s| format!("?match[]={}", url_encode(s)));
        let data = self
            .api(&format!("label/{label}/values{matcher}"))
            .map_err(|e| format!("{label} of {selector:?}: {e}"))?;
        let values = data.as_array().cloned().unwrap_or_default();
        values
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{label}: value {v}"))
            })
            .collect()
    }
}

/// One exemplar Prometheus stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredExemplar {
    /// The labels of the series it belongs to.
    pub series: BTreeMap<String, String>,
    /// Its own labels (the trace id).
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// One element of a vector result: `{"metric": {...}, "value": [t, "v"]}`.
fn sample(promql: &str, s: &Value) -> Result<Sample, String> {
    let labels = s["metric"]
        .as_object()
        .ok_or_else(|| format!("{promql}: no labels in {s}"))?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let text = s["value"][1]
        .as_str()
        .ok_or_else(|| format!("{promql}: no value in {s}"))?;
    // Go's spellings of infinities and NaN (`+Inf`, `NaN`) parse as well.
    let value = text
        .parse()
        .map_err(|e| format!("{promql}: value {text:?}: {e}"))?;
    Ok(Sample { labels, value })
}
