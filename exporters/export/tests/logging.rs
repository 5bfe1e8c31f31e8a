//! What the runtime logs about failed sends (a logger that keeps the
//! records, filtered by the exporter's name): a retryable failure is a
//! warning once per distinct message until a send succeeds, then again
//! in the next outage; a permanent one once per distinct message.

use hotmetrics_core::{MetricSource, Registry};
use hotmetrics_export::{Batch, EncodeError, Exporter, Payload, SendError, Sink};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every record at debug and above: (level, message).
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

fn install() {
    // Once per binary; a second call (another test) finds it in place.
    let _ = log::set_logger(&Keep);
    log::set_max_level(log::LevelFilter::Debug);
}

/// The warnings that name exporter `name`.
fn warnings(name: &str) -> Vec<String> {
    let tag = format!("exporter {name}:");
    RECORDS
        .lock()
        .unwrap()
        .iter()
        .filter(|(level, m)| *level == log::Level::Warn && m.contains(&tag))
        .map(|(_, m)| m.clone())
        .collect()
}

/// Answers each send from the script, `Ok` once it is used up.
struct Scripted(Arc<Mutex<VecDeque<Result<(), SendError>>>>);

impl Sink for Scripted {
    fn name(&self) -> &str {
        "test"
    }
    fn encode(&mut self, _: &dyn MetricSource, batch: &mut Batch) -> Result<(), EncodeError> {
        batch.payload().samples = 1;
        Ok(())
    }
    fn send(&mut self, _: &Payload) -> Result<(), SendError> {
        self.0.lock().unwrap().pop_front().unwrap_or(Ok(()))
    }
}

#[test]
fn retried_failures_are_warned_about_once_per_outage() {
    install();
    let tls = "cannot send to https://r/api/v1/write: invalid peer certificate: UnknownIssuer";
    let refused = "cannot send to https://r/api/v1/write: Connection refused";
    let mut answers: VecDeque<_> = VecDeque::new();
    for m in [tls, tls, refused, tls, refused, tls] {
        answers.push_back(Err(SendError::retryable(m)));
    }
    answers.push_back(Ok(()));
    // The next outage: warned about again.
    answers.push_back(Err(SendError::retryable(tls)));
    answers.push_back(Err(SendError::retryable(tls)));
    let script = Arc::new(Mutex::new(answers));
    let exporter = Exporter::builder(Registry::new(), Scripted(Arc::clone(&script)))
        .name("retries")
        .interval(Duration::from_secs(3600))
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .start()
        .unwrap();
    exporter.flush(Duration::from_secs(10)).unwrap();
    let stats = exporter.stats();
    assert_eq!(stats.samples_sent, 1);
    let got = warnings("retries");
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got[0].ends_with(&format!(
        "send failed, retrying with backoff until it succeeds: {tls} \
         (logged once until a send succeeds; each retry at debug)"
    )));
    assert!(got[1].contains(refused), "{got:#?}");
    exporter.flush(Duration::from_secs(10)).unwrap();
    let got = warnings("retries");
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got[2].contains(tls), "{got:#?}");
    assert!(script.lock().unwrap().is_empty());
    // Every retry is at debug.
    let retries = RECORDS
        .lock()
        .unwrap()
        .iter()
        .filter(|(l, m)| *l == log::Level::Debug && m.contains("exporter retries:"))
        .count();
    assert_eq!(retries, 8 - 3);
    exporter.shutdown().unwrap();
}

#[test]
fn permanent_failures_are_warned_about_once_per_message() {
    install();
    let script = Arc::new(Mutex::new(VecDeque::from([
        Err(SendError::permanent("400: out of order sample")),
        Err(SendError::permanent("400: out of order sample")),
        Err(SendError::permanent("400: bad label")),
    ])));
    let exporter = Exporter::builder(Registry::new(), Scripted(Arc::clone(&script)))
        .name("refusals")
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    for _ in 0..3 {
        exporter.flush(Duration::from_secs(10)).unwrap();
    }
    let got = warnings("refusals");
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0].ends_with("dropped: 400: out of order sample"),
        "{got:#?}"
    );
    assert!(got[1].ends_with("dropped: 400: bad label"), "{got:#?}");
    assert_eq!(exporter.stats().samples_failed, 3);
    exporter.shutdown().unwrap();
}
