//! The application of issue 11, as a new user builds it from the README:
//! an axum service with two routes (a labeled request counter, a latency
//! histogram timed with an owned labeled timer, an in-flight gauge), a
//! tokio consumer on `BrokerMetrics` that receives in a poll loop and
//! finishes each message in a task of its own, a labeled gauge, the
//! process collector and constant labels; the scrape mounted at
//! `/internal/metrics` with `route_service`. It runs on real loopback
//! sockets, is scraped over real HTTP, and promtool and Python's strict
//! OpenMetrics parser accept what it serves.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use hotmetrics::broker::{Broker, BrokerMetrics, HandlerMetrics};
use hotmetrics::http::MetricsService;
use hotmetrics::{Buckets, CounterVec, GaugeVec, HistogramVec, ProcessCollector, Registry};
use hotmetrics_tests::normalized::Fam;
use hotmetrics_tests::parse::Dialect;
use hotmetrics_tests::tools::{promtool, python_parse, text_of};
use tokio::sync::mpsc;

/// The HTTP side's metrics, shared by the handlers.
#[derive(Clone)]
struct Http {
    requests: CounterVec,
    latency: HistogramVec,
    in_flight: GaugeVec,
}

async fn hello(State(m): State<Http>) -> Result<&'static str, String> {
    let _timer = m
        .latency
        .start_timer(&["/hello"])
        .map_err(|e| e.to_string())?;
    let _busy = m
        .in_flight
        .track_in_progress(&["/hello"])
        .map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_millis(2)).await; // held across an await
    m.requests
        .with(&["/hello", "200"], |c| c.inc())
        .map_err(|e| e.to_string())?;
    Ok("hello")
}

async fn order(State(m): State<Http>, Path(id): Path<u32>) -> Result<String, String> {
    let _timer = m
        .latency
        .start_timer(&["/orders"])
        .map_err(|e| e.to_string())?;
    let status = if id % 2 == 0 { "200" } else { "404" };
    m.requests
        .with(&["/orders", status], |c| c.inc())
        .map_err(|e| e.to_string())?;
    Ok(format!("order {id}"))
}

/// One HTTP/1.1 request over a fresh connection: (status, headers, body).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    accept: Option<&str>,
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect to the app");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: app\r\n{accept}Connection: close\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status");
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, head, body)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size");
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

fn sample(fams: &[Fam], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    fams.iter().flat_map(|f| &f.samples).find_map(|s| {
        let all = labels
            .iter()
            .all(|(k, v)| s.labels.iter().any(|(n, w)| n == k && w == v));
        (s.name == name && all).then_some(s.value)
    })
}

#[test]
fn the_first_hour_app_serves_what_promtool_and_python_accept() {
    let registry = Registry::builder()
        .prefix("shop")
        .const_label("region", "eu-west")
        .build()
        .unwrap();
    registry
        .register_collector(ProcessCollector::new())
        .unwrap();
    let http = Http {
        requests: registry
            .counter_vec(
                ("http_requests_total", "Requests answered."),
                &["route", "status"],
            )
            .unwrap(),
        latency: registry
            .histogram_vec(
                ("http_request_duration_seconds", "Time to answer."),
                Buckets::default(),
                &["route"],
            )
            .unwrap(),
        in_flight: registry
            .gauge_vec(
                ("http_requests_in_flight", "Requests being answered."),
                &["route"],
            )
            .unwrap(),
    };
    let queue_depth = registry
        .gauge_vec(("queue_depth", "Messages waiting, by queue."), &["queue"])
        .unwrap();
    let broker = BrokerMetrics::builder(Broker::Kafka)
        .build(&registry)
        .unwrap();
    let orders: HandlerMetrics = broker.handler("orders").unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/hello", get(hello))
        .route("/orders/{id}", post(order))
        .with_state(http)
        .route_service("/internal/metrics", MetricsService::new(registry.clone()));
    runtime.spawn(async move { axum::serve(listener, app).await });

    // The consumer: a poll loop, each message finished in its own task.
    const MESSAGES: usize = 300;
    let consumed = runtime.block_on(async {
        let (deliver, mut inbox) = mpsc::channel::<Vec<u8>>(64);
        tokio::spawn(async move {
            for i in 0..MESSAGES {
                deliver.send(vec![0; 10 + i % 7]).await.unwrap();
            }
        });
        let mut tasks = Vec::new();
        let mut n = 0usize;
        while let Some(body) = inbox.recv().await {
            let msg = orders.receive(body.len()); // 'static + Send: moves into the task
            n += 1;
            let i = n;
            tasks.push(tokio::spawn(async move {
                tokio::task::yield_now().await;
                match i % 3 {
                    0 => msg.nack(),
                    1 => msg.ack(),
                    _ => msg.error("ValueError"),
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        n
    });
    assert_eq!(consumed, MESSAGES);
    queue_depth.with(&["orders"], |g| g.set(12)).unwrap();

    // Traffic over real HTTP.
    for _ in 0..5 {
        let (status, _, body) = request(addr, "GET", "/hello", None);
        assert_eq!((status, body.as_slice()), (200, &b"hello"[..]));
    }
    for id in 0..4 {
        assert_eq!(request(addr, "POST", &format!("/orders/{id}"), None).0, 200);
    }

    // Text 0.0.4 (curl's scrape): promtool finds no problem.
    let (status, head, text) = request(addr, "GET", "/internal/metrics", None);
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let out = promtool(&text);
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}\n{}",
        text_of(&out),
        String::from_utf8_lossy(&text)
    );

    // OpenMetrics (Prometheus' scrape): the strict parser reads it.
    let prometheus =
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3";
    let (status, head, om) = request(addr, "GET", "/internal/metrics", Some(prometheus));
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    let parsed = python_parse(&[(Dialect::OpenMetrics, &om), (Dialect::Text, &text)]);
    let fams = match &parsed[0] {
        Ok(fams) => fams,
        Err(e) => panic!(
            "strict OpenMetrics parser: {e}\n{}",
            String::from_utf8_lossy(&om)
        ),
    };
    assert!(parsed[1].is_ok(), "{:?}", parsed[1]);

    // What the app did, read back through the parser.
    let eu = ("region", "eu-west");
    let requests = |route, status| {
        sample(
            fams,
            "shop_http_requests_total",
            &[("route", route), ("status", status), eu],
        )
    };
    assert_eq!(requests("/hello", "200"), Some(5.0));
    assert_eq!(requests("/orders", "200"), Some(2.0));
    assert_eq!(requests("/orders", "404"), Some(2.0));
    let latency = |route| {
        sample(
            fams,
            "shop_http_request_duration_seconds_count",
            &[("route", route)],
        )
    };
    assert_eq!(latency("/hello"), Some(5.0));
    assert_eq!(latency("/orders"), Some(4.0));
    assert_eq!(
        sample(fams, "shop_http_requests_in_flight", &[("route", "/hello")]),
        Some(0.0)
    );
    assert_eq!(
        sample(fams, "shop_queue_depth", &[("queue", "orders"), eu]),
        Some(12.0)
    );
    // The process collector keeps its standard, unprefixed names.
    assert!(sample(fams, "process_cpu_seconds_total", &[eu]).is_some());
    // FastStream's families: 100 acked, 100 nacked, 100 errors.
    let processed = |status| {
        let labels = [("handler", "orders"), ("status", status), eu];
        sample(
            fams,
            "shop_faststream_received_processed_messages_total",
            &labels,
        )
    };
    assert_eq!(
        processed("acked"),
        Some(100.0),
        "{}",
        String::from_utf8_lossy(&om)
    );
    assert_eq!(processed("nacked"), Some(100.0));
    assert_eq!(processed("error"), Some(100.0));
    drop(runtime);
}
