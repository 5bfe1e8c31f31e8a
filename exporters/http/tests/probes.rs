//! `/health` with a `HealthCheck` and `/stats` with a `StatsJson`: status,
//! JSON bodies, methods, authentication, and the plain routes without them.

mod common;

use common::*;
use hotmetrics_core::Registry;
use hotmetrics_http::{Error, HealthAnswer, HealthCheck, Server, ServerHandle, StatsJson};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

struct Flag(AtomicBool);

impl HealthCheck for Flag {
    fn check(&self) -> HealthAnswer {
        let healthy = self.0.load(Ordering::Relaxed);
        HealthAnswer {
            healthy,
            json: format!("{{\"healthy\":{healthy}}}").into_bytes(),
        }
    }
}

struct Stats;

impl StatsJson for Stats {
    fn stats_json(&self) -> Vec<u8> {
        br#"{"events":3}"#.to_vec()
    }
}

fn start(builder: hotmetrics_http::ServerBuilder) -> ServerHandle {
    builder
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .expect("server starts")
}

#[test]
fn health_check_answers_200_or_503_with_its_json() {
    let flag = Arc::new(Flag(AtomicBool::new(true)));
    let server = start(Server::builder(Registry::new()).health(flag.clone()));
    let addr = server.local_addr();
    let ok = get(addr, "/health", &[]);
    assert_eq!((ok.status, ok.text()), (200, r#"{"healthy":true}"#));
    assert_eq!(ok.header("content-type"), Some("application/json"));
    assert_eq!(ok.header("cache-control"), Some("no-store"));
    flag.0.store(false, Ordering::Relaxed);
    let bad = get(addr, "/health", &[]);
    assert_eq!((bad.status, bad.text()), (503, r#"{"healthy":false}"#));
    let head = request(addr, "HEAD", "/health", &[]);
    assert_eq!((head.status, head.body.len()), (503, 0));
    assert_eq!(request(addr, "POST", "/health", &[]).status, 405);
    flag.0.store(true, Ordering::Relaxed);
    assert_eq!(get(addr, "/health", &[]).status, 200);
    assert_eq!(get(addr, "/stats", &[]).status, 404, "no stats view set");
}

#[test]
fn stats_route_serves_json_behind_auth() {
    let server = start(
        Server::builder(Registry::new())
            .stats(Arc::new(Stats))
            .bearer_token("t0ken"),
    );
    let addr = server.local_addr();
    assert_eq!(get(addr, "/stats", &[]).status, 401);
    let auth = [("Authorization", "Bearer t0ken")];
    let stats = get(addr, "/stats", &auth);
    assert_eq!((stats.status, stats.text()), (200, r#"{"events":3}"#));
    assert_eq!(stats.header("content-type"), Some("application/json"));
    assert_eq!(request(addr, "DELETE", "/stats", &auth).status, 405);
    // /health stays open and plain without a check.
    let health = get(addr, "/health", &[]);
    assert_eq!((health.status, health.text()), (200, "OK\n"));
}

#[test]
fn scrape_path_cannot_take_stats_when_set() {
    let err = Server::builder(Registry::new())
        .addr("127.0.0.1:0".parse().unwrap())
        .path("/stats")
        .stats(Arc::new(Stats))
        .start()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("/stats")),
        "{err}"
    );
    // Without a stats view, /stats may still be the scrape path.
    let server = start(Server::builder(Registry::new()).path("/stats"));
    assert_eq!(
        get(server.local_addr(), "/stats", &[]).header("content-type"),
        Some(TEXT)
    );
}

/// A check that blocks until released, saying when it started.
struct Gate {
    entered: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
    release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl HealthCheck for Gate {
    fn check(&self) -> HealthAnswer {
        let _ = self.entered.lock().unwrap().send(());
        let _ = self.release.lock().unwrap().recv();
        HealthAnswer {
            healthy: true,
            json: b"{}".to_vec(),
        }
    }
}

#[test]
fn a_slow_health_check_blocks_neither_scrapes_nor_more_than_its_slots() {
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let gate = Arc::new(Gate {
        entered: std::sync::Mutex::new(entered_tx),
        release: std::sync::Mutex::new(release_rx),
    });
    let server = start(
        Server::builder(Registry::new())
            .max_concurrent_scrapes(1)
            .health(gate),
    );
    let addr = server.local_addr();
    let slow = std::thread::spawn(move || get(addr, "/health", &[]));
    entered
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the check started");
    // Its one slot is taken: the next probe is told to come back.
    let refused = get(addr, "/health", &[]);
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("1"));
    // The async workers are free: scrapes are answered meanwhile.
    assert_eq!(get(addr, "/metrics", &[]).status, 200);
    release.send(()).unwrap();
    assert_eq!(slow.join().unwrap().status, 200);
    release.send(()).unwrap();
    assert_eq!(get(addr, "/health", &[]).status, 200, "the slot is back");
}
