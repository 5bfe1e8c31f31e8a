//! `hotmetrics::recorder`: a crate that only knows the `metrics` macros,
//! driven from many threads, scraped through our text and OpenMetrics
//! encoders and read by tools nobody on this team wrote: promtool (no
//! problem, no lint) and Python's `prometheus_client` (its 0.0.4 parser
//! and its strict OpenMetrics parser), each reading what the registry
//! holds, value for value, HELP and unit included. And a steady-state
//! scrape of the recorder's families allocates nothing, in every format,
//! nor does a `counter!` & co. registered again on a thread that has used
//! its key.
//!
//! A missing tool fails the test (never skips it): `./test.sh --setup`
//! installs them.

use hotmetrics::recorder::{Matcher, MetricsRecorder};
use hotmetrics::{Buckets, Registry};
use hotmetrics_tests::diff::assert_same;
use hotmetrics_tests::expected::{expected, model};
use hotmetrics_tests::fixture::{encode_openmetrics, encode_text};
use hotmetrics_tests::normalized::render;
use hotmetrics_tests::parse::Dialect;
use hotmetrics_tests::tools::{promtool, python_parse, text_of};
use hotmetrics_tests::{CountingAlloc, allocations};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// A crate instrumented with the `metrics` facade, knowing nothing of
/// hotmetrics: dotted names, a unit, labels with characters to escape.
mod instrumented {
    /// What the crate describes at start.
    pub fn describe() {
        metrics::describe_counter!("http.requests_total", "HTTP requests \"served\", by route.");
        metrics::describe_counter!("sent_bytes_total", metrics::Unit::Bytes, "Bytes sent.");
        metrics::describe_gauge!("connections.open", "Connections open\nnow.");
        metrics::describe_histogram!(
            "http.request_seconds",
            metrics::Unit::Seconds,
            "Request duration."
        );
        metrics::describe_histogram!("payload_bytes", metrics::Unit::Bytes, "Payload sizes.");
    }

    /// One request: the macros on every call.
    pub fn request(route: &'static str, status: u16, seconds: f64, bytes: u64) {
        metrics::gauge!("connections.open").increment(1.0);
        metrics::counter!("http.requests_total", "route" => route, "status" => status.to_string())
            .increment(1);
        metrics::histogram!("http.request_seconds", "route" => route).record(seconds);
        metrics::histogram!("payload_bytes").record(bytes as f64);
        metrics::counter!("sent_bytes_total").increment(bytes);
        metrics::gauge!("connections.open").decrement(1.0);
    }

    /// Something the crate never describes.
    pub fn tick() {
        metrics::counter!("ticks_total", "path" => "C:\\tmp \"quoted\"\n").increment(1);
        metrics::gauge!("ratio").set(0.5);
    }
}

const ROUTES: [&str; 3] = ["/orders", "/orders/{id}", "/health"];
const THREADS: usize = 6;
const REQUESTS: u64 = 2_000;

/// A registry the instrumented crate wrote from many threads.
fn registry() -> Registry {
    let registry = Registry::builder()
        .const_label("service", "shop")
        .build()
        .unwrap();
    let recorder = MetricsRecorder::builder(&registry)
        .buckets_for(
            Matcher::Suffix("_bytes".into()),
            Buckets::exponential(64.0, 8.0, 4).unwrap(),
        )
        .build()
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let recorder = &recorder;
            s.spawn(move || {
                metrics::with_local_recorder(recorder, || {
                    instrumented::describe();
                    for i in 0..REQUESTS {
                        let route = ROUTES[(i as usize + t) % ROUTES.len()];
                        let status = if i % 10 == 0 { 500 } else { 200 };
                        instrumented::request(route, status, (i % 50) as f64 / 100.0, i % 5000);
                    }
                    instrumented::tick();
                });
            });
        }
    });
    registry
}

#[test]
fn the_totals_are_exact() {
    let registry = registry();
    let snap = registry.snapshot();
    let total: f64 = ROUTES
        .iter()
        .flat_map(|r| ["200", "500"].map(|s| (r, s)))
        .filter_map(|(r, s)| {
            snap.counter(
                "http_requests",
                &[("service", "shop"), ("route", r), ("status", s)],
            )
        })
        .sum();
    assert_eq!(total, (THREADS as u64 * REQUESTS) as f64);
    let sent: u64 = (0..REQUESTS).map(|i| i % 5000).sum::<u64>() * THREADS as u64;
    assert_eq!(
        snap.counter("sent_bytes", &[("service", "shop")]),
        Some(sent as f64)
    );
    assert_eq!(
        snap.gauge("connections_open", &[("service", "shop")]),
        Some(0.0)
    );
    // Nothing refused, for any reason: the self-metric is registered and
    // has no series (one appears at a reason's first refusal).
    let Some(refused) = snap.family("hotmetrics_recorder_refused") else {
        panic!("no hotmetrics_recorder_refused in {snap:?}");
    };
    assert_eq!(refused.series, [], "nothing refused");
}

#[test]
fn promtool_accepts_the_text_output() {
    let registry = registry();
    let text = encode_text(&registry);
    let out = promtool(&text);
    let report = text_of(&out);
    // `ticks_total` and `ratio` are never described: no HELP, promtool's
    // one lint, and nothing else.
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| {
            !(l.starts_with("ticks_total ") || l.starts_with("ratio "))
                || !l.ends_with(" no help text")
        })
        .collect();
    assert!(
        (out.status.success() || out.status.code() == Some(3)) && problems.is_empty(),
        "promtool check metrics: {}\n{report}\non:\n{}",
        out.status,
        String::from_utf8_lossy(&text)
    );
    assert_eq!(report.lines().count(), 2, "{report}");
}

#[test]
fn python_reads_what_the_registry_holds_in_both_formats() {
    let registry = registry();
    let text = encode_text(&registry);
    let om = encode_openmetrics(&registry);
    let mut parsed = python_parse(&[(Dialect::Text, &text), (Dialect::OpenMetrics, &om)]);
    let om_read = parsed.pop().unwrap().unwrap_or_else(|e| {
        panic!(
            "prometheus_client.openmetrics.parser rejected our output: {e}\n{}",
            String::from_utf8_lossy(&om)
        )
    });
    let text_read = parsed
        .pop()
        .unwrap()
        .unwrap_or_else(|e| panic!("prometheus_client.parser: {e}"));
    let model = model(&registry);
    assert_same(
        "prometheus_client.parser on the 0.0.4 output",
        &render(&expected(&model, Dialect::Text)),
        &render(&text_read),
    );
    assert_same(
        "prometheus_client.openmetrics.parser on the OpenMetrics output",
        &render(&expected(&model, Dialect::OpenMetrics)),
        &render(&om_read),
    );
    // The descriptions, as the strict parser read them.
    let family = |name: &str| {
        om_read
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no family {name} in {om_read:?}"))
    };
    let seconds = family("http_request_seconds");
    assert_eq!(
        (seconds.unit.as_str(), seconds.help.as_str()),
        ("seconds", "Request duration.")
    );
    let requests = family("http_requests");
    assert_eq!(requests.help, "HTTP requests \"served\", by route.");
    assert_eq!(family("sent_bytes").unit, "bytes");
    assert_eq!(family("connections_open").help, "Connections open\nnow.");
    assert_eq!(family("payload_bytes").unit, "bytes");
    assert_eq!(family("ticks").help, "");
}

#[test]
fn steady_state_scrapes_of_the_recorders_families_allocate_nothing() {
    use hotmetrics::bytes::BytesMut;
    use hotmetrics::exposition::{Format, ScrapeEncoder};
    let registry = registry();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    let (requests, seconds) = metrics::with_local_recorder(&recorder, || {
        (
            metrics::counter!("http.requests_total", "route" => "/orders", "status" => "200"),
            metrics::histogram!("http.request_seconds", "route" => "/orders"),
        )
    });
    let mut encoder = ScrapeEncoder::new();
    let mut buf = BytesMut::new();
    for &format in Format::available() {
        // The first scrape grows the buffers; leave room for longer values.
        buf.clear();
        encoder.encode(format, &registry, &mut buf);
        buf.reserve(4096);
        for round in 0..3 {
            requests.increment(1_000 * round + 1);
            seconds.record(round as f64);
            buf.clear();
            let before = allocations();
            encoder.encode(format, &registry, &mut buf);
            let made = allocations() - before;
            assert_eq!(
                made, 0,
                "a steady-state {format:?} scrape allocated {made} times"
            );
        }
    }
}

#[test]
fn registering_again_on_a_thread_allocates_nothing() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&recorder, || {
        let update = || {
            metrics::counter!("calls_total", "route" => "/orders").increment(1);
            metrics::gauge!("level", "route" => "/orders").set(2.0);
            metrics::histogram!("call_seconds", "route" => "/orders").record(0.01);
        };
        update(); // the thread's first use resolves and caches the handles
        let before = allocations();
        for _ in 0..1_000 {
            update();
        }
        let made = allocations() - before;
        assert_eq!(made, 0, "1,000 cached registrations allocated {made} times");
    });
    assert_eq!(
        registry
            .snapshot()
            .counter("calls", &[("route", "/orders")]),
        Some(1001.0)
    );
}

/// What the crate docs say of wide keys: up to 7 labels a cached
/// `counter!` allocates nothing; from 8 on, every hit allocates in the
/// facade's own `Key::eq` (two `Vec`s to sort the labels of both keys).
#[test]
fn wide_keys_allocate_on_cache_hits_from_eight_labels() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&recorder, || {
        let seven = || {
            metrics::counter!("seven_total", "a" => "1", "b" => "2", "c" => "3", "d" => "4",
                "e" => "5", "f" => "6", "g" => "7")
            .increment(1)
        };
        let eight = || {
            metrics::counter!("eight_total", "a" => "1", "b" => "2", "c" => "3", "d" => "4",
                "e" => "5", "f" => "6", "g" => "7", "h" => "8")
            .increment(1)
        };
        seven();
        eight();
        let before = allocations();
        for _ in 0..100 {
            seven();
        }
        assert_eq!(allocations() - before, 0, "7 labels");
        let before = allocations();
        for _ in 0..100 {
            eight();
        }
        let made = allocations() - before;
        assert_eq!(made, 200, "8 labels: two Vecs per hit");
    });
    let snap = registry.snapshot();
    assert_eq!(snap.family("eight").map(|f| f.series.len()), Some(1));
    assert_eq!(
        snap.family("eight").map(|f| f.series[0].value.clone()),
        Some(hotmetrics::ValueSnapshot::Counter(101.0))
    );
}
