//! What the real-broker tests share: finding the server test.sh started,
//! running one of a test's own, reading exact counts from a scrape, and
//! the outcome plan the mix-of-outcomes tests drive.
// Each test file uses the part it needs.
#![allow(dead_code)]

pub mod plan;
mod scrape;

pub use scrape::Scrape;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a server may take to stop after a SIGTERM (RabbitMQ takes
/// seconds, more on a busy machine).
pub const STOP_WITHIN: Duration = Duration::from_secs(60);

/// A server process a restart test runs itself, in a process group of its
/// own (with what it starts, as rabbitmq-server's script starts the
/// Erlang VM): stopped with SIGTERM (as a service manager does) by
/// [`stop`](Self::stop), the whole group killed when dropped.
pub struct OwnServer(Child);

impl OwnServer {
    /// Runs `command` (`name` on PATH), its output discarded; fails the
    /// test, saying what to install, when it cannot run.
    pub fn spawn(mut command: Command, name: &str) -> Self {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {name} ({e}): this test needs it on PATH; ./test.sh --setup installs it")
            });
        Self(child)
    }

    /// SIGTERM, then waits for the process to end; fails the test (and
    /// kills the group) when it has not within [`STOP_WITHIN`].
    pub fn stop(mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + STOP_WITHIN;
        while !matches!(self.0.try_wait(), Ok(Some(_))) {
            assert!(
                Instant::now() < deadline,
                "the server (pid {pid}) did not stop within {STOP_WITHIN:?} of a SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::mem::forget(self);
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        // The group's id is the leader's pid, not reused before the
        // leader is waited for (below).
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
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
