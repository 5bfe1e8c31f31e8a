//! System roots that fail to load while a CA is given: the sink is built
//! on the CA alone and a warning says what failed. `SSL_CERT_FILE` points
//! the loader at a file that is not there, in a child process of its own
//! (the variable would reach every other test of a shared process).

mod common;

use common::tls::Ca;
use hotmetrics_remote_write::{Error, RemoteWrite};
use std::process::Command;
use std::sync::Mutex;

static RECORDS: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Keep;

impl log::Log for Keep {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        RECORDS
            .lock()
            .unwrap()
            .push((record.level(), record.args().to_string()));
    }
    fn flush(&self) {}
}

const CHILD: &str = "HOTMETRICS_SYSTEM_ROOTS_CHILD";
const MISSING: &str = "/nonexistent/hotmetrics-test/roots.pem";

/// Runs in the child (its environment set by the parent); passes
/// trivially in the parent, which runs `system_roots_that_fail_are_warned_about`.
#[test]
fn child_builds_with_roots_missing() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    log::set_logger(&Keep).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let url = "https://127.0.0.1:1/api/v1/write";
    // No root at all: refused at build, saying why.
    let err = RemoteWrite::builder(url).build().unwrap_err();
    assert!(
        matches!(err, Error::NoRootCertificates(ref d) if d.contains(MISSING)),
        "{err:?}"
    );
    assert!(RECORDS.lock().unwrap().is_empty());
    // A CA given: built on it alone, with a warning naming what failed.
    let ca = Ca::new("private CA");
    RemoteWrite::builder(url)
        .ca_certificate(ca.pem.clone())
        .build()
        .unwrap();
    let records = RECORDS.lock().unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    let (level, message) = &records[0];
    assert_eq!(*level, log::Level::Warn);
    assert!(
        message.contains("some of the system's root certificates could not be loaded")
            && message.contains("using the 0 that could and the 1 CA certificates given")
            && message.contains(MISSING),
        "{message}"
    );
}

#[test]
fn system_roots_that_fail_are_warned_about() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_builds_with_roots_missing", "--nocapture"])
        .env(CHILD, "1")
        .env("SSL_CERT_FILE", MISSING)
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child ran its test: {text}");
}
