//! A UTF-8 registry over real sockets: each scrape gets its names as its
//! `Accept` header's `escaping` asks, and a Content-Type that says so.

mod common;

use hotmetrics_core::{NameValidation, Registry};
use hotmetrics_http::Server;

/// Prometheus 3's default `Accept` (prometheus/prometheus `scrape/scrape.go`
/// `acceptHeader` over `config.DefaultScrapeProtocols`).
const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
    application/openmetrics-text;version=0.0.1;q=0.5,\
    text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
    text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

#[test]
fn scrapes_get_the_escaping_they_ask_for() {
    let registry = Registry::builder()
        .name_validation(NameValidation::Utf8)
        .build()
        .unwrap();
    registry
        .gauge_vec(("queue.depth", "Waiting."), &["queue.name"])
        .unwrap()
        .with(&["orders"], |g| g.set(3))
        .unwrap();
    let server = Server::builder(registry)
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .expect("server starts");
    let addr = server.local_addr();

    let om = common::get(addr, "/metrics", &[("accept", PROMETHEUS_3)]);
    assert_eq!(
        om.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8")
    );
    assert!(
        om.text()
            .contains("{\"queue.depth\",\"queue.name\"=\"orders\"} 3\n"),
        "{}",
        om.text()
    );

    let text = common::get(
        addr,
        "/metrics",
        &[("accept", "text/plain;version=1.0.0;escaping=allow-utf-8")],
    );
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8")
    );
    assert!(text.text().contains("# TYPE \"queue.depth\" gauge\n"));

    // No header (Prometheus 2, curl): underscores, today's Content-Type.
    let plain = common::get(addr, "/metrics", &[]);
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(
        plain
            .text()
            .contains("queue_depth{queue_name=\"orders\"} 3\n"),
        "{}",
        plain.text()
    );

    let dots = common::get(addr, "/metrics", &[("accept", "text/plain;escaping=dots")]);
    assert_eq!(
        dots.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=dots")
    );
    assert!(
        dots.text()
            .contains("queue_dot_depth{queue_dot_name=\"orders\"} 3\n"),
        "{}",
        dots.text()
    );
}
