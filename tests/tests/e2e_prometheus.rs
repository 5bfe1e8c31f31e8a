//! End to end with a real Prometheus: the `broker_consumer` example (the
//! README's main job) is built and started, then Debian's `prometheus`
//! (2.42) scrapes it, twice: as is, when it negotiates OpenMetrics, and
//! with `--enable-feature=native-histograms`, when it negotiates protobuf.
//! Each time the test asks Prometheus' query API what it stored: the target
//! is up, the demo's series are there and move, the median handling time
//! computed from the duration histogram lies in the latency range the demo
//! was given, and the server's self-metrics counted scrapes in the format
//! expected.
//!
//! A missing `prometheus` fails the test (never skips it): `./test.sh`
//! installs it. Every port is picked free on loopback (Debian's package may
//! have started a Prometheus service on :9090).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The demo's handling time range, milliseconds (`--latency-ms`).
const LATENCY_MS: (f64, f64) = (2.0, 12.0);
/// A published message adds up to this much send time, milliseconds.
const PUBLISH_MS: f64 = 1.0;
const WORKERS: u32 = 4;
const JOB: &str = "broker_consumer";

const SETUP: &str = "./test.sh installs it (Debian package `prometheus`)";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

// ---------------------------------------------------------------------------
// Processes and files that clean up after themselves

/// A child process killed and reaped on drop, also when the test panics.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> Self {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// Polls `f` every 200 ms until it gives `Some`, or fails after `timeout`
/// with `what` and the last reason `f` gave.
fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
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

// ---------------------------------------------------------------------------
// A minimal HTTP client: HTTP/1.0, so the body ends with the connection
// (no chunked encoding), and no Accept-Encoding, so no gzip.

fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
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

fn url_encode(s: &str) -> String {
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

// ---------------------------------------------------------------------------
// The demo

/// Builds the example with the cargo running this test (same profile) and
/// returns the path of its executable, read from cargo's JSON messages.
fn build_demo() -> PathBuf {
    let release = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.file_name()? == "release"))
        .unwrap_or(false);
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(workspace_root())
        .args(["build", "--example", JOB, "--features", "http,broker"])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit());
    if release {
        cargo.arg("--release");
    }
    let out = cargo.output().expect("run cargo");
    assert!(
        out.status.success(),
        "cargo build --example {JOB} failed ({})",
        out.status
    );
    let messages = String::from_utf8_lossy(&out.stdout);
    let executable = messages
        .lines()
        .filter(|l| l.contains(r#""reason":"compiler-artifact""#))
        .filter(|l| l.contains(&format!(r#""name":"{JOB}""#)))
        .find_map(|l| {
            let rest = &l[l.find(r#""executable":""#)? + r#""executable":""#.len()..];
            Some(rest[..rest.find('"')?].to_owned())
        })
        .unwrap_or_else(|| panic!("no executable for example {JOB} in cargo's output"));
    PathBuf::from(executable)
}

/// The running demo, its stdout collected by a thread.
struct Demo {
    _child: Reaped,
    addr: SocketAddr,
    output: Arc<Mutex<Vec<String>>>,
}

impl Demo {
    fn start(exe: &Path) -> Self {
        let latency = format!("{}-{}", LATENCY_MS.0, LATENCY_MS.1);
        let mut child = Command::new(exe)
            .args(["--addr", "127.0.0.1:0", "--seconds", "120"])
            .args(["--workers", &WORKERS.to_string(), "--latency-ms", &latency])
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
                if let Some(url) = line.strip_prefix("serving http://") {
                    let _ = tx.send(url.trim_end_matches("/metrics").to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the demo printed no `serving http://...` line"))
            .parse()
            .expect("the demo's address");
        let demo = Self {
            _child: child,
            addr,
            output,
        };
        wait_for(
            Duration::from_secs(10),
            "the demo's /metrics",
            || match http_get(demo.addr, "/metrics")? {
                (200, body) if body.contains("faststream_received_messages_total{") => Ok(()),
                (status, body) => Err(format!("{status}: {body:.300}")),
            },
        );
        demo
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }
}

// ---------------------------------------------------------------------------
// Prometheus

struct Prometheus {
    _child: Reaped,
    addr: SocketAddr,
    log: PathBuf,
    _dir: TempDir,
}

impl Prometheus {
    fn start(target: SocketAddr, native_histograms: bool) -> Self {
        let dir = TempDir::new(if native_histograms { "native" } else { "plain" });
        let config = dir.0.join("prometheus.yml");
        let template = include_str!("../e2e/prometheus.yml");
        std::fs::write(&config, template.replace("@TARGET@", &target.to_string()))
            .expect("write prometheus.yml");
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
        if native_histograms {
            cmd.arg("--enable-feature=native-histograms");
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot run `prometheus` ({e}): it must be on PATH; {SETUP}")
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

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The values of an instant query's result vector.
    fn query(&self, promql: &str) -> Result<Vec<f64>, String> {
        let path = format!("/api/v1/query?query={}", url_encode(promql));
        let (status, body) = http_get(self.addr, &path)?;
        if status != 200 || !body.contains(r#""status":"success""#) {
            return Err(format!("{promql}: HTTP {status}: {body}"));
        }
        if !body.contains(r#""resultType":"vector""#) {
            return Err(format!("{promql}: not a vector: {body}"));
        }
        // Each sample is `"value":[<time>,"<value>"]`.
        body.split(r#""value":["#)
            .skip(1)
            .map(|sample| {
                let v = sample
                    .split_once(",\"")
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(v, _)| v)
                    .ok_or_else(|| format!("{promql}: cannot read {body}"))?;
                v.parse::<f64>()
                    .map_err(|e| format!("{promql}: value {v:?}: {e}"))
            })
            .collect()
    }

    /// The single value of `promql`, waiting up to 10 s for it to exist.
    fn value(&self, promql: &str) -> f64 {
        wait_for(Duration::from_secs(10), promql, || {
            match &self.query(promql)?[..] {
                [v] => Ok(*v),
                other => Err(format!("{} values: {other:?}", other.len())),
            }
        })
    }
}

/// One Prometheus run against the demo; returns the median handling time
/// Prometheus computed, in seconds.
fn scrape_with(demo: &Demo, native_histograms: bool, format: &str) -> f64 {
    let prometheus = Prometheus::start(demo.addr, native_histograms);
    let context = || {
        format!(
            "\n--- prometheus log (tail):\n{}\n--- demo output:\n{}",
            prometheus.log_tail(),
            demo.output()
        )
    };

    // A few scrapes, so that rate() over 5 s has samples to work with.
    let scrapes = format!(r#"count_over_time(up{{job="{JOB}"}}[1m])"#);
    wait_for(Duration::from_secs(30), "5 scrapes", || {
        match prometheus.query(&scrapes)?[..] {
            [n] if n >= 5.0 => Ok(()),
            ref other => Err(format!("{other:?}{}", context())),
        }
    });

    let up = prometheus.value(&format!(r#"up{{job="{JOB}"}}"#));
    assert_eq!(up, 1.0, "the demo target is down{}", context());

    // Every family of the broker set is there.
    for family in [
        "faststream_received_messages_total",
        "faststream_received_messages_size_bytes_count",
        "faststream_received_messages_in_process",
        "faststream_received_processed_messages_total",
        "faststream_received_processed_messages_duration_seconds_count",
        "faststream_received_processed_messages_exceptions_total",
        "faststream_published_messages_total",
        "faststream_published_messages_duration_seconds_count",
        "faststream_published_messages_exceptions_total",
    ] {
        let series = prometheus.query(family).unwrap_or_else(|e| panic!("{e}"));
        assert!(!series.is_empty(), "no series of {family}{}", context());
    }
    let acked =
        prometheus.value(r#"sum(faststream_received_processed_messages_total{status="acked"})"#);
    assert!(acked > 0.0, "nothing acked{}", context());
    let in_process = prometheus.value("sum(faststream_received_messages_in_process)");
    assert!(
        (0.0..=f64::from(WORKERS)).contains(&in_process),
        "{in_process} messages in process with {WORKERS} workers{}",
        context()
    );

    // The counters move.
    let received = "sum(faststream_received_messages_total)";
    let before = prometheus.value(received);
    std::thread::sleep(Duration::from_millis(2500));
    let after = prometheus.value(received);
    assert!(
        after > before,
        "received went from {before} to {after}{}",
        context()
    );

    // The median from the duration histogram's buckets lies in the range
    // the demo was told to sleep for (plus a send, for published ones).
    let median = prometheus.value(
        "histogram_quantile(0.5, sum by (le) \
         (rate(faststream_received_processed_messages_duration_seconds_bucket[5s])))",
    );
    let (lo, hi) = (LATENCY_MS.0 / 1e3, (LATENCY_MS.1 + PUBLISH_MS) / 1e3);
    assert!(
        (lo..=hi).contains(&median),
        "median handling time {median} s outside [{lo}, {hi}]{}",
        context()
    );

    // The server says which format it served.
    let served = |f: &str| {
        prometheus.value(&format!(
            r#"sum(hotmetrics_http_scrapes_total{{job="{JOB}",format="{f}"}})"#
        ))
    };
    let count = served(format);
    assert!(count > 0.0, "no {format} scrape counted{}", context());
    if !native_histograms {
        // The demo is fresh: nobody has asked it for protobuf yet.
        assert_eq!(served("protobuf"), 0.0, "protobuf served{}", context());
    }
    eprintln!(
        "prometheus{}: up, {format} scrapes {count}, received {before} -> {after}, \
         median handling time {:.2} ms",
        if native_histograms {
            " (native histograms)"
        } else {
            ""
        },
        median * 1e3
    );
    median
}

#[test]
fn prometheus_scrapes_the_broker_consumer_demo() {
    match Command::new("prometheus").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("`prometheus --version` failed ({}); {SETUP}", out.status),
        Err(e) => panic!("`prometheus` is not installed or not on PATH ({e}); {SETUP}"),
    }
    let exe = build_demo();
    let demo = Demo::start(&exe);
    // Prometheus 2.42 asks for OpenMetrics first...
    scrape_with(&demo, false, "openmetrics");
    // ...and protobuf first once native histograms are on; the classic
    // buckets it reads from protobuf give the same median.
    scrape_with(&demo, true, "protobuf");
}
