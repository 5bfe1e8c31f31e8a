//! What the real-receiver tests share: the npm `statsd` daemon (started
//! by each test on free loopback ports, read back through its admin TCP
//! interface), and the independent DogStatsD parser (a Python script).
// Each test file uses the part it needs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// A free UDP port on loopback (bound, then let go).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("bind a loopback UDP port")
        .port()
}

/// A free TCP port on loopback (bound, then let go).
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback TCP port")
        .port()
}

/// Polls `f` every 50 ms until it gives `Ok`, or fails after `timeout`
/// with `what` and the last reason `f` gave.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return v,
            Err(why) if Instant::now() >= deadline => {
                panic!("{what}: not within {timeout:?}: {why}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The npm `statsd` daemon (etsy/statsd 0.9.0, installed by test.sh into
/// `tests/statsd-daemon`), listening on a free UDP port, with its admin
/// interface on a free TCP port; no backend, and a flush interval of an
/// hour, so what it received stays readable. Killed when dropped.
pub struct StatsdDaemon {
    child: Child,
    /// Where it takes metrics.
    pub udp_port: u16,
    admin_port: u16,
    /// The timer totals file of [`StatsdDaemon::start_with_timers`].
    timers: Option<PathBuf>,
    _dir: TempDir,
}

/// A timer's statistics as the daemon computed them at its flushes,
/// added up over all of them (`tests/timer_backend.js`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimerStats {
    /// The count: `1/rate` per line received.
    pub count: f64,
    pub upper: f64,
    pub lower: f64,
    pub sum: f64,
    /// The samples (lines) it kept.
    pub samples: f64,
}

impl StatsdDaemon {
    pub fn start() -> Self {
        Self::launch(false)
    }

    /// A daemon that flushes every 100 ms to the test backend
    /// `tests/timer_backend.js`, which adds up each timer's statistics
    /// (count, upper, lower, sum) as the daemon computes them at its
    /// flush: read with [`timers`](Self::timers). (Its counters are reset
    /// at every flush: read those from a [`start`](Self::start)ed one.)
    pub fn start_with_timers() -> Self {
        Self::launch(true)
    }

    fn launch(with_timers: bool) -> Self {
        // From the workspace root, so that the sensors crate's tests, which
        // include this file, find it too (both crates are two levels deep).
        let stats_js = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../exporters/statsd/tests/statsd-daemon/node_modules/statsd/stats.js");
        assert!(
            stats_js.exists(),
            "{} is missing: ./test.sh --setup installs the npm statsd daemon (npm ci in tests/statsd-daemon)",
            stats_js.display()
        );
        let dir = TempDir::new("statsd-daemon");
        let udp_port = free_udp_port();
        let admin_port = free_tcp_port();
        let config = dir.0.join("config.js");
        let timers = with_timers.then(|| dir.0.join("timers.tsv"));
        let flushing = match &timers {
            Some(out) => {
                let backend = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../exporters/statsd/tests/timer_backend.js");
                format!(
                    "flushInterval: 100, backends: [{:?}], timerOutput: {:?}",
                    backend.display().to_string(),
                    out.display().to_string()
                )
            }
            None => "flushInterval: 3600000, backends: []".to_owned(),
        };
        std::fs::write(
            &config,
            format!(
                "{{ port: {udp_port}, address: \"127.0.0.1\", mgmt_port: {admin_port}, \
                 mgmt_address: \"127.0.0.1\", {flushing} }}\n"
            ),
        )
        .expect("write the statsd config");
        let child = Command::new("node")
            .arg(&stats_js)
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run node ({e}): ./test.sh --setup installs Node.js")
            });
        let daemon = Self {
            child,
            udp_port,
            admin_port,
            timers,
            _dir: dir,
        };
        wait_for(
            Duration::from_secs(20),
            "the statsd admin interface",
            || daemon.try_admin("health").map(|_| ()),
        );
        daemon
    }

    /// `host:port` of its UDP listener.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.udp_port)
    }

    fn try_admin(&self, command: &str) -> Result<String, String> {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.admin_port)).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(format!("{command}\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        let end: &[u8] = if command == "health" {
            b"\n"
        } else {
            b"END\n\n"
        };
        while !answer.ends_with(end) {
            let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!("the admin interface closed after {answer:?}"));
            }
            answer.extend_from_slice(&chunk[..n]);
        }
        let _ = stream.write_all(b"quit\n");
        String::from_utf8(answer).map_err(|e| e.to_string())
    }

    /// The answer to an admin command (`counters`, `gauges`, `timers`) as
    /// `name → value`.
    pub fn read(&self, command: &str) -> BTreeMap<String, f64> {
        let text = self
            .try_admin(command)
            .unwrap_or_else(|e| panic!("statsd admin {command}: {e}"));
        parse_inspect(&text)
    }

    /// The daemon's counters, without its own `statsd.*` ones.
    pub fn counters(&self) -> BTreeMap<String, f64> {
        let mut all = self.read("counters");
        all.retain(|k, _| !k.starts_with("statsd."));
        all
    }

    /// The daemon's own count, e.g. `metrics_received`.
    pub fn own(&self, name: &str) -> f64 {
        self.read("counters")
            .get(&format!("statsd.{name}"))
            .copied()
            .unwrap_or_else(|| panic!("statsd has no statsd.{name}"))
    }

    /// Waits until the daemon has received `metrics` lines in all (its
    /// `statsd.metrics_received`): UDP arrives a little after the send.
    pub fn wait_metrics(&self, metrics: f64) {
        wait_for(Duration::from_secs(10), "the lines to reach statsd", || {
            let got = self.own("metrics_received");
            if got == metrics {
                Ok(())
            } else {
                Err(format!("{got} of {metrics} lines received"))
            }
        });
    }
}

impl StatsdDaemon {
    /// The timers' statistics so far, `name → stats` (a daemon from
    /// [`start_with_timers`](Self::start_with_timers); empty before its
    /// first flush with a timer).
    pub fn timers(&self) -> BTreeMap<String, TimerStats> {
        let path = self
            .timers
            .as_ref()
            .expect("a daemon from StatsdDaemon::start_with_timers");
        let Ok(text) = std::fs::read_to_string(path) else {
            return BTreeMap::new();
        };
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                let n = |i: usize| -> f64 {
                    f[i].parse()
                        .unwrap_or_else(|_| panic!("a number in {line:?}"))
                };
                let stats = TimerStats {
                    count: n(1),
                    upper: n(2),
                    lower: n(3),
                    sum: n(4),
                    samples: n(5),
                };
                (f[0].to_owned(), stats)
            })
            .collect()
    }

    /// Waits until the daemon's flushes have taken `samples` samples of
    /// `timer` in all, and returns its statistics then.
    pub fn wait_timer(&self, timer: &str, samples: f64) -> TimerStats {
        wait_for(
            Duration::from_secs(10),
            "the timer's samples",
            || match self.timers().get(timer) {
                Some(t) if t.samples == samples => Ok(*t),
                Some(t) => Err(format!("{} of {samples} samples", t.samples)),
                None => Err(format!("no {timer} yet")),
            },
        )
    }
}

impl Drop for StatsdDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads Node's `util.inspect` of a flat object of numbers, as the admin
/// interface prints it: `{ 'a.b': 3, c: -1.5 }`, one pair a line when
/// long; `[ ... ]` arrays (timers) are kept as their length.
pub fn parse_inspect(text: &str) -> BTreeMap<String, f64> {
    let body = text.trim_end().trim_end_matches("END").trim();
    let body = body.trim_start_matches('{').trim_end_matches('}');
    let mut out = BTreeMap::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let (key, after) = if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'').expect("a closing quote");
            (&quoted[..end], quoted[end + 1..].trim_start())
        } else {
            let end = rest.find(':').expect("a key");
            (&rest[..end], &rest[end..])
        };
        let after = after
            .strip_prefix(':')
            .expect("':' after a key")
            .trim_start();
        let (value, tail) = if let Some(array) = after.strip_prefix('[') {
            let end = array.find(']').expect("a closing bracket");
            let items = array[..end]
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .count();
            (items as f64, &array[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            let v = after[..end].trim();
            (
                v.parse().unwrap_or_else(|_| panic!("a number, got {v:?}")),
                &after[end..],
            )
        };
        out.insert(key.to_owned(), value);
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// The independent DogStatsD parser (`tests/dogstatsd_parse.py`, written
/// from Datadog's documented datagram format, not from our encoder): it
/// listens on UDP or a Unix datagram socket and prints one JSON object
/// per datagram.
pub struct DogParser {
    child: Child,
    lines: BufReader<ChildStdout>,
    /// The UDP port or socket path it listens on.
    pub address: String,
}

/// One datagram as the parser read it.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub size: usize,
    pub metrics: Vec<DogMetric>,
}

/// One metric line: name, value, type, tags (`key:value`, in order).
#[derive(Debug, Clone, PartialEq)]
pub struct DogMetric {
    pub name: String,
    pub value: f64,
    pub kind: String,
    pub tags: Vec<String>,
}

impl DogParser {
    /// Listens on a free loopback UDP port (`unix: None`) or on the Unix
    /// datagram socket `unix`.
    pub fn start(unix: Option<&Path>) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dogstatsd_parse.py");
        let address = match unix {
            Some(path) => path.display().to_string(),
            None => format!("udp:{}", free_udp_port()),
        };
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&address)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 ({e}): ./test.sh --setup installs it"));
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut ready = String::new();
        lines
            .read_line(&mut ready)
            .expect("the parser's first line");
        assert_eq!(ready.trim(), "ready", "the parser did not start");
        let address = address.trim_start_matches("udp:").to_owned();
        Self {
            child,
            lines,
            address,
        }
    }

    /// The next datagram the parser read (fails after 10 s). A line it
    /// could not parse fails the test with the parser's reason.
    pub fn next(&mut self) -> Datagram {
        let mut line = String::new();
        let n = self
            .lines
            .read_line(&mut line)
            .expect("read the parser's output");
        assert!(n > 0, "the parser stopped");
        parse_datagram(line.trim())
    }
}

impl Drop for DogParser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The parser prints, per datagram, a line `size<TAB>name<US>value<US>
/// type<US>tag<GS>tag<RS>...` (ASCII separators: nothing to escape on
/// either side), or `error<TAB>reason`.
fn parse_datagram(line: &str) -> Datagram {
    let (head, body) = line.split_once('\t').expect("size<TAB>metrics");
    assert_ne!(
        head, "error",
        "the DogStatsD parser refused a datagram: {body}"
    );
    let size = head.parse().expect("a size");
    let metrics = body
        .split('\u{1e}')
        .filter(|m| !m.is_empty())
        .map(|m| {
            let f: Vec<&str> = m.split('\u{1f}').collect();
            DogMetric {
                name: f[0].to_owned(),
                value: f[1].parse().expect("a value"),
                kind: f[2].to_owned(),
                tags: f[3]
                    .split('\u{1d}')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            }
        })
        .collect();
    Datagram { size, metrics }
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("hm-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("make a temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
