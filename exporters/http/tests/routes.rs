//! Every route and method over real sockets, content negotiation with the
//! `Accept` headers Prometheus sends, gzip, authentication, and what a
//! broken or oversized request gets.

mod common;

use std::io::Read;
use std::net::SocketAddr;

use base64::Engine as _;
use common::*;
use hotmetrics_core::{Buckets, Registry};
use hotmetrics_http::{Error, MetricsService, Server, ServerHandle};

fn registry() -> Registry {
    let registry = Registry::new();
    registry
        .counter_vec(("consumed_total", "Messages consumed."), &["queue"])
        .unwrap()
        .with(&["orders"], |c| c.inc_by(42))
        .unwrap();
    registry
        .histogram(("handle_seconds", "Handling time."), Buckets::default())
        .unwrap()
        .observe(0.02);
    registry
}

fn start(builder: hotmetrics_http::ServerBuilder) -> ServerHandle {
    builder
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .expect("server starts")
}

fn server() -> ServerHandle {
    start(Server::builder(registry()))
}

#[test]
fn default_address_is_loopback_9464() {
    assert_eq!(
        hotmetrics_http::DEFAULT_ADDR,
        "127.0.0.1:9464".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn metrics_get_and_head() {
    let server = server();
    let addr = server.local_addr();
    let get = common::get(addr, "/metrics", &[]);
    assert_eq!(get.status, 200);
    assert_eq!(get.header("content-type"), Some(TEXT));
    assert_eq!(get.header("vary"), Some("Accept-Encoding"));
    assert_eq!(get.header("content-encoding"), None);
    assert!(
        get.text().contains("consumed_total{queue=\"orders\"} 42\n"),
        "{}",
        get.text()
    );
    assert_eq!(
        get.header("content-length").unwrap(),
        get.body.len().to_string()
    );

    // HEAD: the same headers, Content-Length included, and no body: the
    // next response on the connection starts right after the head.
    let mut client = Client::connect(addr);
    let head = client.request("HEAD", "/metrics", &[]).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some(TEXT));
    assert_eq!(head.header("vary"), Some("Accept-Encoding"));
    assert_eq!(head.header("content-length"), get.header("content-length"));
    let health = client.request("GET", "/health", &[]).unwrap();
    assert_eq!((health.status, health.text()), (200, "OK\n"));

    // The query string plays no part in routing.
    let query = common::get(addr, "/metrics?format=json&x", &[]);
    assert_eq!(query.status, 200);
    assert_eq!(query.header("content-type"), Some(TEXT));
    server.shutdown().unwrap();
}

#[test]
fn landing_health_404_405() {
    let server = server();
    let addr = server.local_addr();

    let landing = common::get(addr, "/", &[]);
    assert_eq!(landing.status, 200);
    assert_eq!(
        landing.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(landing.text().contains("<a href=\"/metrics\">"));
    let head = request(addr, "HEAD", "/", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length").unwrap(),
        landing.body.len().to_string()
    );

    let health = common::get(addr, "/health?probe=1", &[]);
    assert_eq!((health.status, health.text()), (200, "OK\n"));
    assert_eq!(request(addr, "HEAD", "/health", &[]).status, 200);

    for path in [
        "/metricsx",
        "/metrics/",
        "/favicon.ico",
        "/health/x",
        "//metrics",
    ] {
        for method in ["GET", "HEAD", "POST"] {
            let response = request(addr, method, path, &[]);
            assert_eq!(response.status, 404, "{method} {path}");
        }
    }
    for path in ["/metrics", "/", "/health"] {
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"] {
            let response = request(addr, method, path, &[("content-length", "0")]);
            assert_eq!(response.status, 405, "{method} {path}");
            assert_eq!(
                response.header("allow"),
                Some("GET, HEAD"),
                "{method} {path}"
            );
        }
    }
    server.shutdown().unwrap();
}

#[test]
fn negotiates_what_prometheus_asks_for() {
    let server = server();
    let addr = server.local_addr();
    let scrape = |accept: &str| common::get(addr, "/metrics", &[("accept", accept)]);

    for (accept, content_type) in [
        (PROMETHEUS_2, OPENMETRICS),
        (PROMETHEUS_3, OPENMETRICS_UTF8),
    ] {
        let response = scrape(accept);
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("content-type"),
            Some(content_type),
            "{accept}"
        );
        let body = response.text();
        assert!(body.ends_with("# EOF\n"), "{body}");
        assert!(body.contains("# TYPE consumed counter\n"), "{body}");
        assert!(
            body.contains("consumed_total{queue=\"orders\"} 42\n"),
            "{body}"
        );
        assert!(
            body.contains("handle_seconds_bucket{le=\"+Inf\"} 1\n"),
            "{body}"
        );
    }

    let protobuf = scrape(PROMETHEUS_2_NATIVE);
    assert_eq!(protobuf.header("content-type"), Some(PROTOBUF));
    let messages = delimited_messages(&protobuf.body);
    assert_eq!(messages.len(), 2, "one MetricFamily per family");
    // MetricFamily field 1 (name), length-delimited: tag 0x0a.
    assert_eq!(messages[0][0], 0x0a);
    let name_len = usize::from(messages[0][1]);
    assert_eq!(&messages[0][2..2 + name_len], b"consumed_total");

    for accept in [
        "*/*",
        "text/plain",
        "text/html,*/*;q=0.8",
        "application/json",
        "",
    ] {
        let response = scrape(accept);
        assert_eq!(response.status, 200, "{accept}");
        assert_eq!(response.header("content-type"), Some(TEXT), "{accept}");
    }
    // Accept split over two header lines reads as one list.
    let mut client = Client::connect(addr);
    let split = client
        .request(
            "GET",
            "/metrics",
            &[
                ("accept", "text/plain;q=0.1"),
                ("accept", "application/openmetrics-text"),
            ],
        )
        .unwrap();
    assert_eq!(split.header("content-type"), Some(OPENMETRICS));
    server.shutdown().unwrap();
}

#[test]
fn gzip_when_accepted() {
    let server = server();
    let addr = server.local_addr();
    let plain = common::get(addr, "/metrics", &[("accept", PROMETHEUS_2)]);
    let gzipped = common::get(
        addr,
        "/metrics",
        &[("accept", PROMETHEUS_2), ("accept-encoding", "gzip")],
    );
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gzipped.header("vary"), Some("Accept-Encoding"));
    assert_eq!(gzipped.header("content-type"), Some(OPENMETRICS));
    assert_eq!(
        gzipped.header("content-length").unwrap(),
        gzipped.body.len().to_string()
    );
    assert_eq!(gunzip(&gzipped.body), plain.body);

    // Weights are honoured.
    for (encoding, gzip) in [
        ("deflate, gzip;q=0.5", true),
        ("br;q=1.0, *;q=0.1", true),
        ("gzip;q=0", false),
        ("gzip;q=0.000, *", false),
        ("identity", false),
        ("br", false),
    ] {
        let response = common::get(addr, "/metrics", &[("accept-encoding", encoding)]);
        assert_eq!(
            response.header("content-encoding") == Some("gzip"),
            gzip,
            "{encoding}"
        );
        let body = if gzip {
            gunzip(&response.body)
        } else {
            response.body.clone()
        };
        assert!(String::from_utf8(body).unwrap().contains("consumed_total"));
    }

    // HEAD gets the compressed length without the body.
    let head = request(
        addr,
        "HEAD",
        "/metrics",
        &[("accept", PROMETHEUS_2), ("accept-encoding", "gzip")],
    );
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert_eq!(
        head.header("content-length").unwrap(),
        gzipped.body.len().to_string()
    );

    // Off by configuration.
    let no_gzip = start(Server::builder(registry()).gzip(false));
    let response = common::get(
        no_gzip.local_addr(),
        "/metrics",
        &[("accept-encoding", "gzip")],
    );
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.header("vary"), Some("Accept-Encoding"));
}

#[test]
fn basic_auth() {
    let server = start(Server::builder(registry()).basic_auth("prometheus", "pa:ss wörd"));
    let addr = server.local_addr();
    let credentials = |user: &str, password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };

    for path in ["/metrics", "/", "/nowhere"] {
        let response = common::get(addr, path, &[]);
        assert_eq!(response.status, 401, "{path}");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Basic realm=\"metrics\", charset=\"UTF-8\"")
        );
    }
    for wrong in [
        credentials("prometheus", "pa:ss"),
        credentials("prometheus", "pa:ss wörd!"),
        credentials("Prometheus", "pa:ss wörd"),
        "Basic ???".to_owned(),
        "Bearer pa:ss".to_owned(),
    ] {
        let response = common::get(addr, "/metrics", &[("authorization", &wrong)]);
        assert_eq!(response.status, 401, "{wrong}");
    }
    let good = credentials("prometheus", "pa:ss wörd");
    let response = common::get(addr, "/metrics", &[("authorization", &good)]);
    assert_eq!(response.status, 200);
    assert!(response.text().contains("consumed_total"));
    assert_eq!(
        common::get(addr, "/nowhere", &[("authorization", &good)]).status,
        404
    );
    // Liveness probes need no credentials.
    assert_eq!(common::get(addr, "/health", &[]).status, 200);
}

#[test]
fn bearer_auth() {
    let server = start(Server::builder(registry()).bearer_token("t0ken-ABC"));
    let addr = server.local_addr();
    let response = common::get(addr, "/metrics", &[]);
    assert_eq!(response.status, 401);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"metrics\"")
    );
    for wrong in [
        "Bearer t0ken-AB",
        "Bearer t0ken-ABCD",
        "Bearer t0ken-abc",
        "Basic t0ken-ABC",
    ] {
        assert_eq!(
            common::get(addr, "/metrics", &[("authorization", wrong)]).status,
            401,
            "{wrong}"
        );
    }
    let response = common::get(addr, "/metrics", &[("authorization", "Bearer t0ken-ABC")]);
    assert_eq!(response.status, 200);
    assert_eq!(common::get(addr, "/health", &[]).status, 200);
}

#[test]
fn bad_settings_are_errors() {
    for builder in [
        Server::builder(Registry::new()).basic_auth("a:b", "c"),
        Server::builder(Registry::new()).bearer_token(""),
        Server::builder(Registry::new()).bearer_token("has space"),
        Server::builder(Registry::new()).max_connections(0),
        Server::builder(Registry::new()).max_concurrent_scrapes(0),
        Server::builder(Registry::new()).max_header_bytes(10),
    ] {
        let err = builder
            .addr("127.0.0.1:0".parse().unwrap())
            .start()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn bind_failure_is_an_error() {
    let server = server();
    let err = Server::builder(registry())
        .addr(server.local_addr())
        .start()
        .unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
    assert!(err.to_string().contains(&server.local_addr().to_string()));
}

#[test]
fn malformed_requests_get_400() {
    let server = server();
    let addr = server.local_addr();
    for garbage in [
        &b"garbage\r\n\r\n"[..],
        b"GET /metrics HTTP/9.9\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nbad header line\r\n\r\n",
        b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    ] {
        let mut client = Client::connect(addr);
        client.send_raw(garbage).unwrap();
        let mut response = Vec::new();
        // hyper answers and closes.
        let _ = client
            .stream()
            .try_clone()
            .unwrap()
            .read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response);
        assert!(
            response.starts_with("HTTP/1.1 400 "),
            "{garbage:?}: {response}"
        );
    }
    // The server is still fine.
    assert_eq!(common::get(addr, "/metrics", &[]).status, 200);
}

#[test]
fn oversized_heads_get_431_and_bodies_413() {
    let server = start(Server::builder(registry()).max_header_bytes(2048));
    let addr = server.local_addr();
    let big = "x".repeat(4000);
    let mut client = Client::connect(addr);
    client.send("GET", "/metrics", &[("x-padding", &big)]).ok();
    match client.read_response(false) {
        Ok(response) => assert_eq!(response.status, 431),
        // Closing without a response is as good.
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        ),
    }
    let many: Vec<(String, String)> = (0..150).map(|i| (format!("x-h{i}"), "1".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let mut client = Client::connect(addr);
    client.send("GET", "/metrics", &many).ok();
    if let Ok(response) = client.read_response(false) {
        assert_eq!(response.status, 431);
    }

    // A declared body above the limit (1 KiB by default), sent or not.
    let response = request(addr, "POST", "/metrics", &[("content-length", "100000")]);
    assert_eq!(response.status, 413);
    assert_eq!(response.header("connection"), Some("close"));
    let response = request(addr, "GET", "/metrics", &[("content-length", "2000")]);
    assert_eq!(response.status, 413);
    // A small one is ignored.
    let mut client = Client::connect(addr);
    client
        .send_raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    assert_eq!(client.read_response(false).unwrap().status, 200);
    assert_eq!(client.request("GET", "/health", &[]).unwrap().status, 200);
    server.shutdown().unwrap();
}

/// The service as a hyper `Service`, and `handle` outside any runtime.
#[test]
fn service_without_the_server() {
    use http_body_util::BodyExt;
    use hyper::service::Service as _;

    let service = MetricsService::new(registry());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let request = http::Request::get("/metrics")
        .header("accept", PROMETHEUS_3)
        .body(String::from("ignored"))
        .unwrap();
    let response = runtime.block_on(service.call(request)).unwrap();
    assert_eq!(response.headers()["content-type"], OPENMETRICS_UTF8);
    let body = runtime
        .block_on(response.into_body().collect())
        .unwrap()
        .to_bytes();
    assert!(body.ends_with(b"# EOF\n"));

    // No runtime at all: encodes inline. Poll it by hand.
    let get =
        block_on_without_runtime(service.handle(http::Request::get("/metrics").body(()).unwrap()));
    let get_body = block_on_without_runtime(get.into_body().collect())
        .unwrap()
        .to_bytes();
    assert!(get_body.starts_with(b"# HELP consumed_total Messages consumed.\n"));
    let head =
        block_on_without_runtime(service.handle(http::Request::head("/metrics").body(()).unwrap()));
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], get_body.len().to_string());
    let head_body = block_on_without_runtime(head.into_body().collect())
        .unwrap()
        .to_bytes();
    assert!(head_body.is_empty());
    // Mounted, it scrapes wherever its router sent the request.
    for path in ["/", "/x", "/health", "/internal/metrics?x=1"] {
        let response =
            block_on_without_runtime(service.handle(http::Request::get(path).body(()).unwrap()));
        assert_eq!(response.status(), 200, "{path}");
        let body = block_on_without_runtime(response.into_body().collect())
            .unwrap()
            .to_bytes();
        assert_eq!(body, get_body, "{path}");
    }
    let post =
        block_on_without_runtime(service.handle(http::Request::post("/x").body(()).unwrap()));
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    assert!(format!("{service:?}").contains("MetricsService"));
}

/// The service as a tower `Service`: always ready, the same answers.
#[test]
fn service_as_tower_service() {
    use http_body_util::BodyExt;
    use tower_service::Service as _;

    let mut service = MetricsService::new(registry());
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let ready = tower_service::Service::<http::Request<String>>::poll_ready(&mut service, &mut cx);
    assert!(matches!(ready, std::task::Poll::Ready(Ok(()))));
    let request = http::Request::get("/where/ever")
        .header("accept", PROMETHEUS_2)
        .body(String::from("ignored"))
        .unwrap();
    let response = block_on_without_runtime(service.call(request)).unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], OPENMETRICS);
    let body = block_on_without_runtime(response.into_body().collect())
        .unwrap()
        .to_bytes();
    assert!(body.ends_with(b"# EOF\n"));
}

#[test]
fn custom_scrape_path() {
    let server = start(Server::builder(registry()).path("/internal/metrics"));
    let addr = server.local_addr();
    let scrape = common::get(addr, "/internal/metrics?x=1", &[]);
    assert_eq!(scrape.status, 200);
    assert_eq!(scrape.header("content-type"), Some(TEXT));
    assert!(
        scrape
            .text()
            .contains("consumed_total{queue=\"orders\"} 42\n")
    );
    let head = request(addr, "HEAD", "/internal/metrics", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length").unwrap(),
        scrape.body.len().to_string()
    );
    assert_eq!(
        request(
            addr,
            "POST",
            "/internal/metrics",
            &[("content-length", "0")]
        )
        .status,
        405
    );
    for path in ["/metrics", "/internal", "/internal/metrics/"] {
        assert_eq!(common::get(addr, path, &[]).status, 404, "{path}");
    }
    let landing = common::get(addr, "/", &[]);
    assert_eq!(landing.status, 200);
    assert!(
        landing
            .text()
            .contains("<a href=\"/internal/metrics\">Metrics</a>"),
        "{}",
        landing.text()
    );
    assert_eq!(common::get(addr, "/health", &[]).status, 200);
    server.shutdown().unwrap();

    // `/` scrapes instead of showing the landing page.
    let root = start(Server::builder(registry()).path("/"));
    let scrape = common::get(root.local_addr(), "/", &[]);
    assert_eq!(scrape.header("content-type"), Some(TEXT));
    assert!(scrape.text().contains("consumed_total"));
    assert_eq!(common::get(root.local_addr(), "/metrics", &[]).status, 404);
    assert_eq!(common::get(root.local_addr(), "/health", &[]).status, 200);
}

#[test]
fn bad_scrape_paths_are_errors() {
    for (path, why) in [
        ("metrics", "must start with '/'"),
        ("/metrics?x", "holds '?'"),
        ("/health", "liveness route"),
    ] {
        let err = Server::builder(Registry::new())
            .path(path)
            .addr("127.0.0.1:0".parse().unwrap())
            .start()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(err.to_string().contains(why), "{path}: {err}");
        // A service has no path of its own: the bad one plays no part.
        assert!(
            Server::builder(Registry::new())
                .path(path)
                .build_service()
                .is_ok(),
            "{path}"
        );
    }
}

fn block_on_without_runtime<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("never ready");
}
