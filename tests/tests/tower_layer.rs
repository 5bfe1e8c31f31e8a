//! `hotmetrics::tower_layer` in an axum application served over real
//! HTTP, its scrape mounted with `MetricsService` (excluded from the
//! counts by default): what it serves passes `promtool check metrics`
//! (text 0.0.4) and Python's strict OpenMetrics parser, and carries what
//! the requests did (the duration with its unit, `seconds`).

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use hotmetrics::http::MetricsService;
use hotmetrics::testing::TestRegistry;
use hotmetrics::tower_layer::HttpMetricsLayer;
use hotmetrics_tests::normalized::Fam;
use hotmetrics_tests::parse::Dialect;
use hotmetrics_tests::tools::{promtool, python_parse, text_of};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One request over a fresh connection: status and body (`None` when the
/// connection closed unanswered). Bodies here are small and not chunked
/// (`MetricsService` sends a length).
fn request(addr: SocketAddr, path: &str, accept: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).expect("connect to the app");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: app\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    assert!(!head.to_ascii_lowercase().contains("chunked"), "{head}");
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, raw[split + 4..].to_vec()))
}

fn sample(fams: &[Fam], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    fams.iter().flat_map(|f| &f.samples).find_map(|s| {
        let same = s.labels.len() == labels.len()
            && labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(n, w)| n == k && w == v));
        (s.name == name && same).then_some(s.value)
    })
}

#[test]
fn the_layers_scrape_passes_promtool_and_the_strict_parser() {
    let registry = TestRegistry::new();
    let app = Router::new()
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { format!("user {id}") }),
        )
        .route("/gone", get(|| async { StatusCode::GONE }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("a bug in the handler");
                }
            }),
        )
        .route_service("/metrics", MetricsService::new(registry.registry().clone()))
        .layer(HttpMetricsLayer::new(&registry).unwrap());
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

    for path in ["/users/1", "/users/2", "/users/x", "/gone", "/missing"] {
        assert!(request(addr, path, "*/*").is_some(), "{path} answered");
    }
    assert_eq!(
        request(addr, "/panic", "*/*"),
        None,
        "the panic closes the connection"
    );

    let (status, text) = request(addr, "/metrics", "text/plain").expect("a text scrape");
    assert_eq!(status, 200);
    let out = promtool(&text);
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}\n{}",
        text_of(&out),
        String::from_utf8_lossy(&text)
    );
    let (status, om) = request(
        addr,
        "/metrics",
        "application/openmetrics-text;version=1.0.0",
    )
    .expect("an OpenMetrics scrape");
    assert_eq!(status, 200);
    let parsed = python_parse(&[(Dialect::OpenMetrics, &om), (Dialect::Text, &text)]);
    let fams = match &parsed[0] {
        Ok(fams) => fams,
        Err(e) => panic!(
            "strict OpenMetrics parser: {e}\n{}",
            String::from_utf8_lossy(&om)
        ),
    };
    assert!(parsed[1].is_ok(), "{:?}", parsed[1]);

    let users = [("method", "GET"), ("path", "/users/{id}")];
    let status_of = |path: &'static str, code: &'static str| {
        sample(
            fams,
            "status_codes_total",
            &[("method", "GET"), ("path", path), ("status_code", code)],
        )
    };
    assert_eq!(sample(fams, "requests_total", &users), Some(3.0));
    assert_eq!(status_of("/users/{id}", "200"), Some(2.0));
    assert_eq!(status_of("/users/{id}", "400"), Some(1.0));
    assert_eq!(status_of("/gone", "410"), Some(1.0));
    assert_eq!(status_of("<unmatched>", "404"), Some(1.0));
    assert_eq!(status_of("/panic", "500"), Some(1.0));
    assert_eq!(
        sample(
            fams,
            "exceptions_total",
            &[("method", "GET"), ("path", "/panic")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(fams, "request_duration_seconds_count", &users),
        Some(3.0)
    );
    assert_eq!(sample(fams, "requests_in_flight", &users), Some(0.0));
    // The duration's unit, as the strict parser read it from `# UNIT`.
    let duration = fams
        .iter()
        .find(|f| f.name == "request_duration_seconds")
        .expect("the duration family");
    assert_eq!(duration.unit, "seconds");
    // The scrapes themselves are excluded.
    registry.assert_absent("requests_total", &[("method", "GET"), ("path", "/metrics")]);
    // The helpers read what the parser read.
    registry.assert_value("requests_total", &users, 3.0);
}
