//! Scrapes under load: self-metrics, exact totals while 8 threads write,
//! and buffers that stop growing.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use hotmetrics_core::{Buckets, Registry};
use hotmetrics_http::Server;

fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split(' ').next()?.parse().ok())
}

#[test]
fn self_metrics_count_formats() {
    let registry = Registry::new();
    let server = Server::builder(registry.clone())
        .addr("127.0.0.1:0".parse().unwrap())
        .self_metrics(true)
        .start()
        .unwrap();
    let addr = server.local_addr();
    for accept in [PROMETHEUS_2, PROMETHEUS_3, PROMETHEUS_2_NATIVE, "*/*"] {
        assert_eq!(
            common::get(addr, "/metrics", &[("accept", accept)]).status,
            200
        );
    }
    // Not scrapes: not counted.
    common::get(addr, "/health", &[]);
    common::get(addr, "/", &[]);
    // This scrape counts itself.
    let text = common::get(addr, "/metrics", &[("accept-encoding", "identity")]);
    let body = text.text();
    assert_eq!(
        sample(
            body,
            "hotmetrics_http_scrapes_total{format=\"openmetrics\"}"
        ),
        Some(2.0),
        "{body}"
    );
    assert_eq!(
        sample(body, "hotmetrics_http_scrapes_total{format=\"protobuf\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(body, "hotmetrics_http_scrapes_total{format=\"text\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(body, "hotmetrics_http_scrape_duration_seconds_count"),
        Some(4.0)
    );
    assert!(sample(body, "hotmetrics_http_scrape_bytes_total").unwrap() > 1000.0);
    // scrapes{3 formats} + rejected{2} + duration + bytes + series, and
    // the server's connections_open + connections_closed{4 reasons}.
    assert_eq!(sample(body, "hotmetrics_http_scrape_series"), Some(13.0));
    assert_eq!(
        sample(
            body,
            "hotmetrics_http_scrapes_rejected_total{reason=\"busy\"}"
        ),
        Some(0.0)
    );

    // Also in OpenMetrics, as Prometheus reads them.
    let om = common::get(addr, "/metrics", &[("accept", PROMETHEUS_3)]);
    assert_eq!(
        sample(
            om.text(),
            "hotmetrics_http_scrapes_total{format=\"openmetrics\"}"
        ),
        Some(3.0)
    );

    // One set of self-metrics per registry.
    let err = Server::builder(registry)
        .addr("127.0.0.1:0".parse().unwrap())
        .self_metrics(true)
        .start()
        .unwrap_err();
    assert!(
        matches!(err, hotmetrics_http::Error::SelfMetrics(_)),
        "{err:?}"
    );
}

#[test]
fn exact_totals_while_eight_threads_write() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 200_000;
    let registry = Registry::new();
    let consumed = registry
        .counter_vec(("consumed", "Messages consumed."), &["worker"])
        .unwrap();
    let all = registry.counter(("all", "All messages.")).unwrap();
    let latency = registry
        .histogram(("latency_seconds", "Latency."), Buckets::default())
        .unwrap();
    let server = Server::builder(registry.clone())
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .unwrap();
    let addr = server.local_addr();

    let writing = Arc::new(AtomicBool::new(true));
    let scraper = {
        let writing = Arc::clone(&writing);
        thread::spawn(move || {
            let accepts = [PROMETHEUS_2, PROMETHEUS_2_NATIVE, "*/*", PROMETHEUS_3];
            let mut client = Client::connect(addr);
            let (mut scrapes, mut last) = (0usize, 0.0);
            while writing.load(Ordering::Relaxed) {
                let accept = accepts[scrapes % accepts.len()];
                let gzip = if scrapes % 3 == 0 { "gzip" } else { "identity" };
                let response = client
                    .request(
                        "GET",
                        "/metrics",
                        &[("accept", accept), ("accept-encoding", gzip)],
                    )
                    .unwrap();
                assert_eq!(response.status, 200);
                let body = if response.header("content-encoding") == Some("gzip") {
                    gunzip(&response.body)
                } else {
                    response.body
                };
                if accept == "*/*" {
                    let text = String::from_utf8(body).unwrap();
                    let now = sample(&text, "all_total").unwrap();
                    assert!(now >= last, "counters never go down: {now} < {last}");
                    last = now;
                }
                scrapes += 1;
            }
            scrapes
        })
    };
    let started = Instant::now();
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let consumed = consumed.clone();
            let all = all.clone();
            let latency = latency.clone();
            thread::spawn(move || {
                let worker = t.to_string();
                for i in 0..PER_THREAD {
                    consumed.with(&[&worker], |c| c.inc()).unwrap();
                    all.inc();
                    if i % 16 == 0 {
                        latency.observe(0.001 * (i % 100) as f64);
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    writing.store(false, Ordering::Relaxed);
    let scrapes = scraper.join().unwrap();
    assert!(scrapes >= 1, "scraped while writing");
    assert!(started.elapsed() < Duration::from_secs(120));

    let body = common::get(addr, "/metrics", &[]).text().to_owned();
    assert_eq!(
        sample(&body, "all_total"),
        Some((THREADS * PER_THREAD) as f64),
        "{body}"
    );
    for t in 0..THREADS {
        assert_eq!(
            sample(&body, &format!("consumed_total{{worker=\"{t}\"}}")),
            Some(PER_THREAD as f64)
        );
    }
    let observed = THREADS * PER_THREAD.div_ceil(16);
    assert_eq!(
        sample(&body, "latency_seconds_count"),
        Some(observed as f64)
    );
    assert_eq!(
        sample(&body, "latency_seconds_bucket{le=\"+Inf\"}"),
        Some(observed as f64)
    );
}

#[test]
fn buffers_are_reused_not_grown() {
    let registry = Registry::new();
    let family = registry
        .counter_vec(("events", "Events by key."), &["key"])
        .unwrap();
    for i in 0..2000 {
        family
            .with(&[&format!("key-{i:05}")], |c| c.inc_by(i))
            .unwrap();
    }
    let server = Server::builder(registry)
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .unwrap();
    let addr = server.local_addr();
    let mut client = Client::connect(addr);
    let mut first = None;
    let mut body_len = 0;
    for i in 0..100 {
        let gzip = if i % 2 == 0 { "gzip" } else { "identity" };
        let response = client
            .request("GET", "/metrics", &[("accept-encoding", gzip)])
            .unwrap();
        assert_eq!(response.status, 200);
        if gzip == "identity" {
            body_len = response.body.len();
        }
        // The response is read (and dropped by the server) before the next
        // scrape, so the pooled buffers take their allocations back.
        let pooled = server.service().pooled_bytes();
        assert!(pooled > 0);
        if i == 1 {
            first = Some(pooled);
        }
        if let Some(first) = first {
            assert!(
                pooled <= first,
                "scrape {i}: pooled buffers grew from {first} to {pooled}"
            );
        }
    }
    // One pooled scratch (one scrape at a time): the body's allocation
    // plus the gzip one, within a factor of two of what they hold.
    let pooled = server.service().pooled_bytes();
    assert!(body_len > 50_000);
    assert!(
        pooled <= 3 * body_len,
        "{pooled} bytes pooled for a {body_len}-byte body"
    );
}
