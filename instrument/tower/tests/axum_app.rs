//! The layer in a real axum application served over real HTTP (axum's
//! server on a loopback socket, requests written on a `TcpStream`): route
//! templates, excluded paths, status codes, methods, in-flight requests
//! back to 0, and panics in handlers counted.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use hotmetrics_core::Registry;
use hotmetrics_core::testing::TestRegistry;
use hotmetrics_tower::HttpMetricsLayer;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The application: templated routes, a handler that panics, one that
/// waits for the test, and its own `/metrics` (excluded by default).
fn app(registry: &Registry, gate: Arc<Semaphore>) -> Router {
    let scraped = registry.clone();
    Router::new()
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { format!("user {id}") }),
        )
        .route(
            "/orders",
            post(|| async { (StatusCode::CREATED, "placed") }),
        )
        .route("/teapot", get(|| async { StatusCode::IM_A_TEAPOT }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("a bug in the handler");
                }
                "unreachable"
            }),
        )
        .route(
            "/slow",
            get(move || async move {
                let _permit = gate.acquire().await;
                "done"
            }),
        )
        .route(
            "/metrics",
            get(move || async move {
                let mut body = hotmetrics_core::bytes::BytesMut::new();
                hotmetrics_text::TextEncoder::new().encode(&scraped, &mut body);
                body.freeze()
            }),
        )
        .layer(HttpMetricsLayer::new(registry).expect("the layer's families register"))
}

/// Serves `app` on a loopback port from a runtime of its own.
fn serve(app: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            axum::serve(listener, app).await.expect("axum serves");
        });
    });
    addr
}

/// Sends one request; the response's status and body, or `None` when the
/// server closed the connection without answering.
fn request(addr: SocketAddr, method: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).expect("connect to the app");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut raw = Vec::new();
    // A connection reset (the handler panicked) reads as no answer.
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_real_axum_app_over_http() {
    let registry = TestRegistry::new();
    let gate = Arc::new(Semaphore::new(0));
    let addr = serve(app(&registry, Arc::clone(&gate)));

    assert_eq!(
        request(addr, "GET", "/users/1"),
        Some((200, "user 1".into()))
    );
    assert_eq!(request(addr, "GET", "/users/2").map(|r| r.0), Some(200));
    assert_eq!(request(addr, "GET", "/users/x").map(|r| r.0), Some(400));
    assert_eq!(request(addr, "POST", "/orders").map(|r| r.0), Some(201));
    assert_eq!(request(addr, "GET", "/teapot").map(|r| r.0), Some(418));
    assert_eq!(
        request(addr, "GET", "/no/such/page").map(|r| r.0),
        Some(404)
    );
    assert_eq!(request(addr, "GET", "/another/404").map(|r| r.0), Some(404));
    assert_eq!(request(addr, "PURGE", "/users/1").map(|r| r.0), Some(405));
    assert_eq!(request(addr, "DELETE", "/orders").map(|r| r.0), Some(405));
    // Excluded: a route in the list, and an unrouted path in the list.
    assert_eq!(request(addr, "GET", "/metrics").map(|r| r.0), Some(200));
    assert_eq!(request(addr, "GET", "/favicon.ico").map(|r| r.0), Some(404));
    // The handler panics: the connection closes without an answer.
    assert_eq!(request(addr, "GET", "/panic"), None);

    let users = [("method", "GET"), ("path", "/users/{id}")];
    let with_status = |route: [(&'static str, &'static str); 2], code: &'static str| {
        [route[0], route[1], ("status_code", code)]
    };
    let orders = [("method", "POST"), ("path", "/orders")];
    let teapot = [("method", "GET"), ("path", "/teapot")];
    let unmatched = [("method", "GET"), ("path", "<unmatched>")];
    let purge = [("method", "_OTHER"), ("path", "/users/{id}")];
    let delete = [("method", "DELETE"), ("path", "/orders")];
    let panic = [("method", "GET"), ("path", "/panic")];

    registry.assert_family(
        "requests_total",
        &[
            (&users, 3.0),
            (&orders, 1.0),
            (&teapot, 1.0),
            (&unmatched, 2.0),
            (&purge, 1.0),
            (&delete, 1.0),
            (&panic, 1.0),
        ],
    );
    registry.assert_family(
        "status_codes_total",
        &[
            (&with_status(users, "200"), 2.0),
            (&with_status(users, "400"), 1.0),
            (&with_status(orders, "201"), 1.0),
            (&with_status(teapot, "418"), 1.0),
            (&with_status(unmatched, "404"), 2.0),
            (&with_status(purge, "405"), 1.0),
            (&with_status(delete, "405"), 1.0),
            (&with_status(panic, "500"), 1.0),
        ],
    );
    registry.assert_family("exceptions_total", &[(&panic, 1.0)]);
    registry.assert_value("responses_total", &users, 3.0);
    registry.assert_value("responses_total", &panic, 1.0);
    registry.assert_value("request_duration_seconds_count", &users, 3.0);
    registry.assert_value("request_duration_seconds_count", &panic, 1.0);
    for s in registry.samples().iter() {
        assert!(
            !s.labels
                .iter()
                .any(|(_, v)| v == "/metrics" || v == "/favicon.ico" || v.contains("/users/1")),
            "excluded or raw paths never become label values: {s}"
        );
        if s.name == "requests_in_flight" {
            assert_eq!(s.value, 0.0, "nothing in flight: {s}");
        }
    }

    // In flight while the handler waits; back to 0 once it answered.
    let slow = [("method", "GET"), ("path", "/slow")];
    let client = std::thread::spawn(move || request(addr, "GET", "/slow"));
    wait_until("the slow request is in flight", || {
        registry.value("requests_in_flight", &slow) == Some(1.0)
    });
    registry.assert_absent("responses_total", &slow);
    gate.add_permits(1);
    assert_eq!(
        client.join().expect("the client thread"),
        Some((200, "done".into()))
    );
    registry.assert_value("requests_in_flight", &slow, 0.0);
    registry.assert_value("status_codes_total", &with_status(slow, "200"), 1.0);

    // The scrape over HTTP carries the same numbers.
    let (status, body) = request(addr, "GET", "/metrics").expect("a scrape");
    assert_eq!(status, 200);
    assert!(
        body.contains("requests_total{method=\"GET\",path=\"/users/{id}\"} 3\n"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE request_duration_seconds histogram\n"),
        "{body}"
    );
}
