//! A real Pushgateway on a free loopback port, and reading groups back
//! from its `/metrics`.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hotmetrics_push::{Pusher, PusherBuilder};

use crate::scratch::Scratch;

/// A running Pushgateway, killed on drop.
pub struct Gateway {
    child: Child,
    pub port: u16,
    prefix: &'static str,
    /// The `Authorization` header its own requests need, if any.
    authorization: Option<String>,
    dir: Scratch,
}

impl Gateway {
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    /// Starts a gateway serving under `prefix` (`--web.route-prefix`).
    pub fn start_with_prefix(prefix: &'static str) -> Self {
        Self::start_with(Options {
            prefix,
            ..Options::default()
        })
    }

    /// Starts a gateway that requires basic auth of [`USER`] with
    /// [`PASSWORD`] (`--web.config.file`, exporter-toolkit's web config).
    pub fn start_with_basic_auth() -> Self {
        Self::start_with(Options {
            basic_auth: true,
            ..Options::default()
        })
    }

    fn start_with(options: Options) -> Self {
        let bin = binary();
        // The free port may be taken again between probing and listening:
        // try a few.
        for _ in 0..5 {
            let port = free_port();
            let dir = Scratch::new();
            let mut cmd = Command::new(&bin);
            cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
            if !options.prefix.is_empty() {
                cmd.arg(format!("--web.route-prefix={}", options.prefix));
            }
            let mut authorization = None;
            if options.basic_auth {
                let config = dir.write(
                    "web.yml",
                    format!("basic_auth_users:\n  {USER}: {PASSWORD_BCRYPT}\n"),
                );
                cmd.arg(format!("--web.config.file={}", config.display()));
                let credentials =
                    base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
                authorization = Some(format!("Basic {credentials}"));
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(dir.path().join("log")).expect("a log file"))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut gateway = Gateway {
                child,
                port,
                prefix: options.prefix,
                authorization,
                dir,
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
                eprintln!("pushgateway exited ({status}):\n{}", self.dir.read("log"));
                return false;
            }
            if self
                .get(&format!("{}/-/ready", self.prefix))
                .is_some_and(|(s, _)| s == 200)
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the Pushgateway on port {} was not ready within 30 s; its log:\n{}",
            self.port,
            self.dir.read("log")
        );
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.prefix)
    }

    pub fn pusher(&self, job: &str) -> PusherBuilder {
        Pusher::builder(self.url(), job).timeout(Duration::from_secs(10))
    }

    /// The gateway's whole `/metrics` text.
    pub fn metrics(&self) -> String {
        let (status, body) = self
            .get(&format!("{}/metrics", self.prefix))
            .expect("the gateway answers /metrics");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The sample lines of the groups of `job` (the `job` label is always
    /// rendered as `job="<job>"`), without the gateway's own
    /// `push_time_seconds` and `push_failure_time_seconds`, sorted.
    pub fn group(&self, job: &str) -> Vec<String> {
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
    pub fn group_after_delete(&self, job: &str, want: &[String]) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.group(job);
            if got == want || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A plain HTTP/1.0 GET, with the gateway's credentials if it has
    /// any; `None` if nothing listens yet.
    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n").ok()?;
        if let Some(authorization) = &self.authorization {
            write!(stream, "Authorization: {authorization}\r\n").ok()?;
        }
        stream.write_all(b"\r\n").ok()?;
        let mut raw = String::new();
        stream.read_to_string(&mut raw).ok()?;
        let (head, body) = raw.split_once("\r\n\r\n")?;
        let status = head.get(9..12)?.parse().ok()?;
        Some((status, body.to_owned()))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The user of [`Gateway::start_with_basic_auth`].
pub const USER: &str = "pusher";
/// [`USER`]'s password.
pub const PASSWORD: &str = "open sesame";
/// [`PASSWORD`]'s bcrypt hash, cost 4 (the least, for quick checks).
const PASSWORD_BCRYPT: &str = "$2b$04$4UwxEVyg5lBRNNpNsEFp4ufKOaKr417lonTPy5fquDBDEimskcime";

#[derive(Default)]
struct Options {
    prefix: &'static str,
    /// Whether [`USER`] must log in with [`PASSWORD`].
    basic_auth: bool,
}

/// A loopback port nothing listened on a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The gateway binary: `$PUSHGATEWAY`, else `prometheus-pushgateway` on
/// `PATH`, else `/usr/bin/prometheus-pushgateway`. Missing is a failure.
fn binary() -> PathBuf {
    let bin = std::env::var_os("PUSHGATEWAY")
        .map(PathBuf::from)
        .or_else(|| crate::on_path("prometheus-pushgateway"))
        .unwrap_or_else(|| "/usr/bin/prometheus-pushgateway".into());
    assert!(
        bin.is_file(),
        "the Pushgateway binary {} is missing: run ./test.sh, which installs it (Debian \
         package prometheus-pushgateway), or set PUSHGATEWAY=/path/to/prometheus-pushgateway",
        bin.display()
    );
    bin
}

/// `lines`, owned and sorted, to compare with [`Gateway::group`].
pub fn lines(lines: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = lines.iter().map(|&l| l.to_owned()).collect();
    v.sort();
    v
}
