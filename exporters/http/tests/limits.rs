//! Limits and lifecycle: concurrent scrapes, connections, timeouts and
//! graceful shutdown, with a collector that holds scrapes in flight.

mod common;

use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use hotmetrics_core::Registry;
use hotmetrics_http::{Error, Server, ServerBuilder, ServerHandle};

fn gated() -> (Registry, Gate) {
    let registry = Registry::new();
    registry.gauge(("up", "Always 1.")).unwrap().set(1);
    let gate = Gate::default();
    registry.register_collector(gate.clone()).unwrap();
    (registry, gate)
}

fn start(builder: ServerBuilder) -> ServerHandle {
    builder
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .expect("server starts")
}

#[test]
fn excess_concurrent_scrapes_get_503() {
    let (registry, gate) = gated();
    let server = start(
        Server::builder(registry)
            .max_concurrent_scrapes(2)
            .self_metrics(true),
    );
    let addr = server.local_addr();
    // Five scrapes at once while the collector blocks: two hold the
    // scrape slots, three are refused at once instead of queueing.
    let scrapers: Vec<_> = (0..5)
        .map(|_| thread::spawn(move || common::get(addr, "/metrics", &[])))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    while scrapers.iter().filter(|s| s.is_finished()).count() < 3 {
        assert!(Instant::now() < deadline, "refusals did not come back");
        thread::sleep(Duration::from_millis(10));
    }
    // Other routes stay served while the scrapes hang.
    assert_eq!(common::get(addr, "/health", &[]).status, 200);
    gate.open();
    let mut statuses: Vec<u16> = Vec::new();
    for scraper in scrapers {
        let response = scraper.join().unwrap();
        if response.status == 503 {
            assert_eq!(response.header("retry-after"), Some("1"));
        } else {
            assert!(response.text().contains("gate_open 1\n"));
        }
        statuses.push(response.status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 503, 503, 503]);
    let metrics = common::get(addr, "/metrics", &[]);
    assert!(
        metrics
            .text()
            .contains("hotmetrics_http_scrapes_rejected_total{reason=\"busy\"} 3\n"),
        "{}",
        metrics.text()
    );
}

#[test]
fn over_the_cap_the_longest_idle_connection_makes_room() {
    let server = start(Server::builder(Registry::new()).max_connections(2));
    let addr = server.local_addr();
    let mut oldest = Client::connect(addr);
    assert_eq!(oldest.request("GET", "/health", &[]).unwrap().status, 200);
    let mut newer = Client::connect(addr);
    assert_eq!(newer.request("GET", "/health", &[]).unwrap().status, 200);
    // Both slots are idle keep-alive connections: a third client is
    // served at once, in the place of the one idle longest...
    let mut third = Client::connect(addr);
    assert_eq!(third.request("GET", "/health", &[]).unwrap().status, 200);
    oldest
        .stream()
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    assert!(oldest.is_closed_by_server());
    // ...and the other keeps its connection.
    assert_eq!(newer.request("GET", "/health", &[]).unwrap().status, 200);
}

/// Reads a response to a request never sent, then the close.
fn assert_busy_answer(addr: std::net::SocketAddr) {
    let mut client = Client::connect(addr);
    client.send("GET", "/metrics", &[]).unwrap();
    let response = client.read_response(false).unwrap();
    assert_eq!(response.status, 503);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.is_closed_by_server());
}

#[test]
fn over_the_cap_newcomers_get_503_while_no_connection_can_make_room() {
    let (registry, gate) = gated();
    let server = start(
        Server::builder(registry)
            .max_connections(2)
            .self_metrics(true),
    );
    let addr = server.local_addr();
    // One slot computes a response: never evicted.
    let scrape = thread::spawn(move || common::get(addr, "/metrics", &[]));
    gate.wait_entered(1);
    // The other reads a head that has only just begun: safe for 250 ms.
    let mut silent = Client::connect(addr);
    let started = Instant::now();
    assert_busy_answer(addr);
    assert!(started.elapsed() < Duration::from_millis(250));
    // Once its grace is over, the silent connection makes room.
    thread::sleep(Duration::from_millis(300));
    assert_eq!(common::get(addr, "/health", &[]).status, 200);
    assert!(silent.is_closed_by_server());
    gate.open();
    assert_eq!(scrape.join().unwrap().status, 200);
    // The server sees those clients go before the next one comes.
    thread::sleep(Duration::from_millis(200));
    let text = common::get(addr, "/metrics", &[]).text().to_owned();
    for line in [
        "hotmetrics_http_connections_closed_total{reason=\"rejected\"} 1\n",
        "hotmetrics_http_connections_closed_total{reason=\"evicted\"} 1\n",
        "hotmetrics_http_connections_closed_total{reason=\"header_timeout\"} 0\n",
        "hotmetrics_http_connections_closed_total{reason=\"idle_timeout\"} 0\n",
        // The scrape's own.
        "hotmetrics_http_connections_open 1\n",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
}

#[test]
fn idle_connections_are_closed() {
    let server = start(Server::builder(Registry::new()).idle_timeout(Duration::from_millis(300)));
    let mut client = Client::connect(server.local_addr());
    assert_eq!(client.request("GET", "/health", &[]).unwrap().status, 200);
    // Within the idle timeout, keep-alive works.
    thread::sleep(Duration::from_millis(50));
    assert_eq!(client.request("GET", "/health", &[]).unwrap().status, 200);
    let idle_since = Instant::now();
    assert!(client.is_closed_by_server());
    let waited = idle_since.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn slow_request_heads_are_cut_off() {
    let server =
        start(Server::builder(Registry::new()).header_read_timeout(Duration::from_millis(300)));
    let addr = server.local_addr();
    // Connects and says nothing.
    let started = Instant::now();
    let mut silent = Client::connect(addr);
    assert!(silent.is_closed_by_server());
    assert!(started.elapsed() < Duration::from_secs(5));
    // Starts a request and trickles it, a byte every 50 ms.
    let mut slowloris = Client::connect(addr);
    let started = Instant::now();
    let mut closed = false;
    for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" {
        if slowloris.send_raw(&[*byte]).is_err() {
            closed = true;
            break;
        }
        thread::sleep(Duration::from_millis(50));
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    assert!(closed || slowloris.is_closed_by_server());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // A normal client is unaffected.
    assert_eq!(common::get(addr, "/health", &[]).status, 200);
}

#[test]
fn shutdown_lets_an_in_flight_scrape_finish() {
    let (registry, gate) = gated();
    let server = start(Server::builder(registry));
    let addr = server.local_addr();
    // An idle keep-alive connection: closed by the shutdown.
    let mut idle = Client::connect(addr);
    assert_eq!(idle.request("GET", "/health", &[]).unwrap().status, 200);

    let scrape = thread::spawn(move || common::get(addr, "/metrics", &[]));
    gate.wait_entered(1);
    let stopping = Instant::now();
    let shutdown = thread::spawn(move || server.shutdown());
    // New connections are refused once the listener is closed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting");
        thread::sleep(Duration::from_millis(10));
    }
    assert!(idle.is_closed_by_server());
    assert!(!shutdown.is_finished(), "waits for the scrape");
    gate.open();
    let response = scrape.join().unwrap();
    assert_eq!(response.status, 200);
    assert!(
        response.text().contains("gate_open 1\n"),
        "{}",
        response.text()
    );
    shutdown.join().unwrap().expect("graceful");
    assert!(stopping.elapsed() < Duration::from_secs(10));
}

#[test]
fn shutdown_deadline_cuts_stuck_scrapes() {
    let (registry, gate) = gated();
    let server = start(Server::builder(registry).shutdown_timeout(Duration::from_millis(200)));
    let addr = server.local_addr();
    let scrape = thread::spawn(move || Client::connect(addr).request("GET", "/metrics", &[]));
    gate.wait_entered(1);
    let started = Instant::now();
    let result = server.shutdown();
    assert!(
        matches!(result, Err(Error::ShutdownTimeout { closed: 1 })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The client sees the connection closed, not a response.
    assert!(scrape.join().unwrap().is_err());
    gate.open();
}

#[test]
fn drop_stops_the_server() {
    let server = start(Server::builder(Registry::new()));
    let addr = server.local_addr();
    assert_eq!(common::get(addr, "/health", &[]).status, 200);
    assert!(!server.is_finished());
    drop(server);
    assert!(TcpStream::connect(addr).is_err());
}
