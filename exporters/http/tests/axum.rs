//! The service mounted in an axum `Router` at a path of the application's
//! choosing, next to the application's own routes, served by `axum::serve`
//! on a real loopback port and scraped over real HTTP.

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use common::*;
use hotmetrics_core::Registry;
use hotmetrics_http::{MetricsService, Server};

fn registry() -> Registry {
    let registry = Registry::new();
    registry
        .counter_vec(("orders", "Orders taken."), &["shop"])
        .unwrap()
        .with(&["eu"], |c| c.inc_by(7))
        .unwrap();
    registry
}

/// An application served on a loopback port by a runtime of its own;
/// dropping it stops the server.
struct App {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

fn serve(app: Router) -> App {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });
    App {
        addr,
        _runtime: runtime,
    }
}

/// The application with its own routes and the scrape at `/internal/metrics`.
fn app(metrics: MetricsService) -> Router {
    Router::new()
        .route("/", get(|| async { "the shop" }))
        .route("/other", get(|| async { "other route" }))
        .route_service("/internal/metrics", metrics)
}

#[test]
fn mounted_at_the_applications_path() {
    let app = serve(app(MetricsService::new(registry())));
    let addr = app.addr;

    let text = common::get(addr, "/internal/metrics", &[]);
    assert_eq!(text.status, 200);
    assert_eq!(text.header("content-type"), Some(TEXT));
    assert_eq!(text.header("vary"), Some("Accept-Encoding"));
    assert_eq!(
        text.text(),
        "# HELP orders_total Orders taken.\n# TYPE orders_total counter\norders_total{shop=\"eu\"} 7\n"
    );
    assert_eq!(
        text.header("content-length").unwrap(),
        text.body.len().to_string()
    );

    // Content negotiation: what Prometheus 2 and 3 ask for, and protobuf
    // with native histograms on.
    // Prometheus 3 asks for UTF-8 names, and the Content-Type says it got
    // them (this registry's names are legacy: the body is the same).
    for (accept, content_type) in [
        (PROMETHEUS_2, OPENMETRICS),
        (PROMETHEUS_3, OPENMETRICS_UTF8),
    ] {
        let om = common::get(addr, "/internal/metrics", &[("accept", accept)]);
        assert_eq!(om.header("content-type"), Some(content_type), "{accept}");
        assert!(om.text().contains("orders_total{shop=\"eu\"} 7\n"));
        assert!(om.text().ends_with("# EOF\n"), "{}", om.text());
    }
    let protobuf = common::get(
        addr,
        "/internal/metrics",
        &[("accept", PROMETHEUS_2_NATIVE)],
    );
    assert_eq!(protobuf.header("content-type"), Some(PROTOBUF));
    assert_eq!(delimited_messages(&protobuf.body).len(), 1);

    // gzip when asked, the same exposition inside.
    let gzipped = common::get(addr, "/internal/metrics", &[("accept-encoding", "gzip")]);
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(
        gzipped.header("content-length").unwrap(),
        gzipped.body.len().to_string()
    );
    assert_eq!(gunzip(&gzipped.body), text.body);

    // HEAD: the headers without the body; the next response on the same
    // connection starts right after them.
    let mut client = Client::connect(addr);
    let head = client.request("HEAD", "/internal/metrics", &[]).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some(TEXT));
    assert_eq!(head.header("content-length"), text.header("content-length"));
    let other = client.request("GET", "/other", &[]).unwrap();
    assert_eq!((other.status, other.text()), (200, "other route"));

    // Other methods on the scrape path get the service's 405.
    let post = request(
        addr,
        "POST",
        "/internal/metrics",
        &[("content-length", "0")],
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    // The application's routes still reach axum; unknown paths get
    // axum's 404, `/metrics` included: the router chose the path.
    assert_eq!(common::get(addr, "/", &[]).text(), "the shop");
    for path in ["/metrics", "/health", "/internal/metrics/x"] {
        assert_eq!(common::get(addr, path, &[]).status, 404, "{path}");
    }
}

#[test]
fn nested_and_as_the_fallback() {
    let metrics = MetricsService::new(registry());
    let app = serve(
        Router::new()
            .route("/other", get(|| async { "other route" }))
            .nest_service("/ops/metrics", metrics.clone())
            .fallback_service(metrics),
    );
    for path in ["/ops/metrics", "/anything/else"] {
        let response = common::get(app.addr, path, &[]);
        assert_eq!(response.status, 200, "{path}");
        assert!(response.text().contains("orders_total{shop=\"eu\"} 7\n"));
    }
    assert_eq!(common::get(app.addr, "/other", &[]).text(), "other route");
}

#[test]
fn built_service_keeps_its_settings() {
    let metrics = Server::builder(registry())
        .bearer_token("t0ken")
        .gzip(false)
        .build_service()
        .unwrap();
    let app = serve(app(metrics));
    let addr = app.addr;
    let refused = common::get(addr, "/internal/metrics", &[]);
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer realm=\"metrics\"")
    );
    let allowed = common::get(
        addr,
        "/internal/metrics",
        &[
            ("authorization", "Bearer t0ken"),
            ("accept-encoding", "gzip"),
        ],
    );
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.header("content-encoding"), None);
    assert!(allowed.text().contains("orders_total{shop=\"eu\"} 7\n"));
    // The application's own routes are none of its business.
    assert_eq!(common::get(addr, "/other", &[]).status, 200);
}
