//! What the tests share: processes and directories that clean up after
//! themselves, free loopback ports, polling, a tiny HTTP client, the real
//! receivers (Prometheus, VictoriaMetrics) and the registry they check.
#![allow(dead_code)] // each test binary uses its own part

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hotmetrics_core::{Buckets, Registry};

pub mod decode;
pub mod scripted;
pub mod tls;

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "hotmetrics-rw-{what}-{}-{nanos}",
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// Polls `f` every 200 ms until it gives `Ok`, or panics after `timeout`
/// with the last reason.
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

/// GET over HTTP/1.0 (the body ends with the connection).
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

pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Which real receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Debian's `prometheus` (2.42) with its remote write receiver on.
    Prometheus,
    /// Debian's `victoria-metrics` (single node).
    VictoriaMetrics,
}

/// A running receiver, killed on drop; its data survive a restart.
pub struct Receiver {
    pub kind: Kind,
    pub addr: SocketAddr,
    /// Prometheus' `--enable-feature` list (`""`: none).
    features: &'static str,
    child: Option<Child>,
    log: PathBuf,
    pub dir: TempDir,
}

/// One exemplar as `/api/v1/query_exemplars` returns it: its series
/// (`{a="b",...}`, sorted), labels (`{trace_id="..."}`), value and
/// timestamp in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredExemplar {
    pub series: String,
    pub labels: String,
    pub value: f64,
    pub timestamp_ms: i64,
}

/// `{a="b",...}` of a JSON object of labels, sorted by name.
fn labels_key(labels: &serde_json::Value) -> Result<String, String> {
    let labels = labels
        .as_object()
        .ok_or_else(|| format!("not labels: {labels}"))?;
    let sorted: BTreeMap<&String, &str> = labels
        .iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or("")))
        .collect();
    let pairs: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    Ok(format!("{{{}}}", pairs.join(",")))
}

impl Receiver {
    pub fn start(kind: Kind) -> Self {
        Self::start_with_features(kind, "")
    }

    /// Prometheus with `--enable-feature=<features>` (comma-separated).
    pub fn start_with_features(kind: Kind, features: &'static str) -> Self {
        let dir = TempDir::new(match kind {
            Kind::Prometheus => "prometheus",
            Kind::VictoriaMetrics => "victoria",
        });
        let addr = ([127, 0, 0, 1], free_port()).into();
        let log = dir.0.join("receiver.log");
        let mut r = Self {
            kind,
            addr,
            features,
            child: None,
            log,
            dir,
        };
        r.restart();
        r
    }

    /// The write endpoint.
    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// Kills it (its data stay).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port and data.
    pub fn restart(&mut self) {
        self.stop();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the log");
        let data = self.dir.0.join("data");
        let mut cmd = match self.kind {
            Kind::Prometheus => {
                let config = self.dir.0.join("prometheus.yml");
                std::fs::write(&config, "global:\n  scrape_interval: 1h\n").expect("config");
                let mut c = Command::new("prometheus");
                c.arg(format!("--config.file={}", config.display()))
                    .arg(format!("--storage.tsdb.path={}", data.display()))
                    .arg(format!("--web.listen-address={}", self.addr))
                    .arg("--web.enable-remote-write-receiver");
                if !self.features.is_empty() {
                    c.arg(format!("--enable-feature={}", self.features));
                }
                c
            }
            Kind::VictoriaMetrics => {
                let mut c = Command::new("victoria-metrics");
                c.arg(format!("-httpListenAddr={}", self.addr))
                    .arg(format!("-storageDataPath={}", data.display()))
                    // Samples are searchable as soon as they are flushed.
                    .arg("-search.latencyOffset=0s")
                    .arg("-search.disableCache");
                c
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log"))
            .stderr(log);
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run {:?} ({e}): ./test.sh installs it (Debian packages `prometheus`, `victoria-metrics`)",
                self.kind
            )
        });
        self.child = Some(child);
        let ready = match self.kind {
            Kind::Prometheus => "/-/ready",
            Kind::VictoriaMetrics => "/health",
        };
        wait_for(Duration::from_secs(30), "the receiver to be ready", || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("{:?} exited ({status}):\n{}", self.kind, self.log_tail());
            }
            match http_get(self.addr, ready)? {
                (200, _) => Ok(()),
                (status, body) => Err(format!("{status}: {body}")),
            }
        });
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Makes what was written searchable (VictoriaMetrics buffers it).
    pub fn settle(&self) {
        if self.kind == Kind::VictoriaMetrics {
            let _ = http_get(self.addr, "/internal/force_flush");
        }
    }

    /// An instant query's vector: each series' labels (as `{a="b",...}`,
    /// sorted, `__name__` included) and value.
    pub fn query(&self, promql: &str) -> Result<BTreeMap<String, f64>, String> {
        self.settle();
        let path = format!("/api/v1/query?query={}", url_encode(promql));
        let (status, body) = http_get(self.addr, &path)?;
        if status != 200 {
            return Err(format!("{promql}: HTTP {status}: {body}"));
        }
        let json: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        let result = json["data"]["result"]
            .as_array()
            .ok_or_else(|| format!("no result in {body}"))?;
        let mut out = BTreeMap::new();
        for series in result {
            let key = labels_key(&series["metric"])?;
            let value = series["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| format!("no value in {series}"))?;
            out.insert(key, value);
        }
        Ok(out)
    }

    /// The exemplars of the series `promql` selects, over the last hour,
    /// in the order Prometheus returns them (by series, then time).
    pub fn exemplars(&self, promql: &str) -> Result<Vec<StoredExemplar>, String> {
        let now = decode::now_ms() / 1000;
        let path = format!(
            "/api/v1/query_exemplars?query={}&start={}&end={}",
            url_encode(promql),
            now - 3600,
            now + 60
        );
        let (status, body) = http_get(self.addr, &path)?;
        if status != 200 {
            return Err(format!("{promql}: HTTP {status}: {body}"));
        }
        let json: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        let data = json["data"]
            .as_array()
            .ok_or_else(|| format!("no data in {body}"))?;
        let mut out = Vec::new();
        for series in data {
            let key = labels_key(&series["seriesLabels"])?;
            for e in series["exemplars"].as_array().into_iter().flatten() {
                let value = e["value"]
                    .as_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .ok_or_else(|| format!("no value in {e}"))?;
                let seconds = e["timestamp"]
                    .as_f64()
                    .ok_or_else(|| format!("no timestamp in {e}"))?;
                out.push(StoredExemplar {
                    series: key.clone(),
                    labels: labels_key(&e["labels"])?,
                    value,
                    timestamp_ms: (seconds * 1000.0).round() as i64,
                });
            }
        }
        Ok(out)
    }

    /// Waits until `promql` returns exactly `want`, and panics with what it
    /// returned last otherwise.
    pub fn expect(&self, promql: &str, want: &BTreeMap<String, f64>) {
        wait_for(Duration::from_secs(20), promql, || {
            let got = self.query(promql)?;
            if &got == want {
                Ok(())
            } else {
                Err(format!("\n got {got:#?}\nwant {want:#?}"))
            }
        });
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the fixture's histogram observed, in order.
const OBSERVED: [f64; 5] = [0.05, 0.2, 0.2, 0.7, 3.0];

/// The registry every receiver test writes, its values known.
pub fn fixture() -> Registry {
    let r = Registry::new();
    let jobs = r
        .counter_vec(("rw_jobs", "Jobs done."), &["queue"])
        .unwrap();
    jobs.get_or_create(&["a"]).unwrap().inc_by(5);
    jobs.get_or_create(&["b"]).unwrap().inc_by(7);
    r.gauge_f64(("rw_temperature_celsius", "Room temperature."))
        .unwrap()
        .set(21.5);
    r.gauge(("rw_inflight", "Requests in flight."))
        .unwrap()
        .set(-3);
    let latency = r
        .histogram(
            hotmetrics_core::Opts::new("rw_latency_seconds", "Request latency.").unit("seconds"),
            Buckets::new(vec![0.1, 0.5, 1.0]).unwrap(),
        )
        .unwrap();
    for v in OBSERVED {
        latency.observe(v);
    }
    r.info(("rw_build", "Build information."), &[("version", "1.2.3")])
        .unwrap();
    r
}

/// What a receiver holds after the fixture was written with external
/// labels `job="rw-test"` and `instance="host-1"`: `{...}` → value.
pub fn fixture_series() -> BTreeMap<String, f64> {
    let base = r#"instance="host-1",job="rw-test""#;
    let mut m = BTreeMap::new();
    let mut add = |name: &str, extra: &str, v: f64| {
        // Every extra label sorts after `job`.
        let key = if extra.is_empty() {
            format!(r#"{{__name__="{name}",{base}}}"#)
        } else {
            format!(r#"{{__name__="{name}",{base},{extra}}}"#)
        };
        m.insert(key, v);
    };
    add("rw_jobs_total", r#"queue="a""#, 5.0);
    add("rw_jobs_total", r#"queue="b""#, 7.0);
    add("rw_temperature_celsius", "", 21.5);
    add("rw_inflight", "", -3.0);
    add("rw_latency_seconds_bucket", r#"le="0.1""#, 1.0);
    add("rw_latency_seconds_bucket", r#"le="0.5""#, 3.0);
    add("rw_latency_seconds_bucket", r#"le="1""#, 4.0);
    add("rw_latency_seconds_bucket", r#"le="+Inf""#, 5.0);
    add("rw_latency_seconds_sum", "", OBSERVED.iter().sum());
    add("rw_latency_seconds_count", "", 5.0);
    add("rw_build_info", r#"version="1.2.3""#, 1.0);
    m
}

/// What the native fixture's histograms observed, in order: both signs,
/// the zero bucket, values far apart (spans with gaps).
pub const NATIVE_OBSERVED: [f64; 11] = [
    -0.25, 0.0, 0.003, 0.01, 0.02, 0.02, 0.05, 0.1, 0.3, 1.5, 4.0,
];

/// Which of [`NATIVE_OBSERVED`] were recorded with an exemplar, and its
/// trace id.
pub const NATIVE_EXEMPLARS: [(usize, &str); 2] = [(6, "wait-050"), (9, "wait-1500")];

/// A registry of native histograms and exemplars, its values known:
/// - `rw_wait_seconds`: native only (schema 3), [`NATIVE_OBSERVED`], the
///   exemplars of [`NATIVE_EXEMPLARS`];
/// - `rw_job_seconds`: classic bounds 0.1, 0.5, 1 and native buckets, the
///   same data, one exemplar (`job-300`, on 0.3: the `le="0.5"` bucket);
/// - `rw_idle_seconds`: native only, nothing observed;
/// - `rw_orders_total`: 4, the last with exemplar `order-4`;
/// - `rw_latency_seconds`: classic bounds 0.1, 0.5, 1, the classic
///   fixture's data, 0.7 with exemplar `latency-700` (`le="1"`).
pub fn native_fixture() -> Registry {
    use hotmetrics_core::NativeOpts;
    let r = Registry::new();
    let wait = r
        .histogram(
            ("rw_wait_seconds", "Time queued."),
            Buckets::native(NativeOpts::new()).unwrap(),
        )
        .unwrap();
    let job = r
        .histogram(
            ("rw_job_seconds", "Job time."),
            Buckets::new(vec![0.1, 0.5, 1.0])
                .unwrap()
                .with_native(NativeOpts::new())
                .unwrap(),
        )
        .unwrap();
    for (i, v) in NATIVE_OBSERVED.into_iter().enumerate() {
        match NATIVE_EXEMPLARS.iter().find(|(at, _)| *at == i) {
            Some((_, trace)) => {
                // Prometheus keeps a series' exemplars in increasing time,
                // a millisecond apart at least (a second one in the same
                // millisecond is out of order).
                std::thread::sleep(Duration::from_millis(2));
                wait.observe_with_exemplar(v, &[("trace_id", trace)])
                    .unwrap()
            }
            None => wait.observe(v),
        }
        if v == 0.3 {
            job.observe_with_exemplar(v, &[("trace_id", "job-300")])
                .unwrap();
        } else {
            job.observe(v);
        }
    }
    r.histogram(
        ("rw_idle_seconds", "Time idle."),
        Buckets::native(NativeOpts::new()).unwrap(),
    )
    .unwrap();
    let orders = r.counter(("rw_orders", "Orders placed.")).unwrap();
    orders.inc_by(3);
    orders
        .inc_with_exemplar(&[("trace_id", "order-4")])
        .unwrap();
    let latency = r
        .histogram(
            ("rw_latency_seconds", "Request latency."),
            Buckets::new(vec![0.1, 0.5, 1.0]).unwrap(),
        )
        .unwrap();
    for v in OBSERVED {
        if v == 0.7 {
            latency
                .observe_with_exemplar(v, &[("trace_id", "latency-700")])
                .unwrap();
        } else {
            latency.observe(v);
        }
    }
    r
}

/// The float series a receiver holds after the native fixture was written
/// with external label `job`: `{...}` → value. With native histograms
/// sent, the native-only histograms have no classic view (their native
/// samples are not here: floats only); without, they are `+Inf`, `_sum`
/// and `_count`.
pub fn native_fixture_floats(job: &str, native: bool) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let mut add = |name: &str, le: Option<&str>, v: f64| {
        let le = le.map_or(String::new(), |le| format!(r#",le="{le}""#));
        m.insert(format!(r#"{{__name__="{name}",job="{job}"{le}}}"#), v);
    };
    let native_sum: f64 = NATIVE_OBSERVED.iter().sum();
    for (le, v) in [("0.1", 8.0), ("0.5", 9.0), ("1", 9.0), ("+Inf", 11.0)] {
        add("rw_job_seconds_bucket", Some(le), v);
    }
    add("rw_job_seconds_sum", None, native_sum);
    add("rw_job_seconds_count", None, 11.0);
    for (le, v) in [("0.1", 1.0), ("0.5", 3.0), ("1", 4.0), ("+Inf", 5.0)] {
        add("rw_latency_seconds_bucket", Some(le), v);
    }
    add("rw_latency_seconds_sum", None, OBSERVED.iter().sum());
    add("rw_latency_seconds_count", None, 5.0);
    add("rw_orders_total", None, 4.0);
    if !native {
        add("rw_wait_seconds_bucket", Some("+Inf"), 11.0);
        add("rw_wait_seconds_sum", None, native_sum);
        add("rw_wait_seconds_count", None, 11.0);
        add("rw_idle_seconds_bucket", Some("+Inf"), 0.0);
        add("rw_idle_seconds_sum", None, 0.0);
        add("rw_idle_seconds_count", None, 0.0);
    }
    m
}

/// The width of the native bucket (schema 3, `NativeOpts`' default) that
/// holds the positive value `v`: `(2^((k-1)/8), 2^(k/8)]`.
pub fn native_bucket_width(v: f64) -> f64 {
    let k = (v.log2() * 8.0).ceil();
    2f64.powf(k / 8.0) - 2f64.powf((k - 1.0) / 8.0)
}
