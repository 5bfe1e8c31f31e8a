//! The facade end to end: many threads update, a text scrape reports exact
//! totals, and a steady-state scrape allocates nothing.

use bytes::BytesMut;
use hotmetrics::exposition::{Format, ScrapeEncoder};
use hotmetrics::text::TextEncoder;
use hotmetrics::{Buckets, Registry};
use hotmetrics::{
    Collector, Described, FamilyDesc, MetricType, MetricVisitor, Number, SeriesValue,
};
use hotmetrics_tests::{CountingAlloc, allocations};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

fn registry_under_load() -> Registry {
    let r = Registry::builder().prefix("t").build().unwrap();
    let c = r
        .counter_vec(("msgs_total", "Messages."), &["handler", "status"])
        .unwrap();
    let h = r
        .histogram_vec(
            ("lat_seconds", "Latency."),
            Buckets::default(),
            &["handler"],
        )
        .unwrap();
    let g = r.gauge(("busy", "Busy workers.")).unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (c, h, g) = (&c, &h, &g);
            s.spawn(move || {
                let handler = ["a", "b"][t % 2];
                for i in 0..10_000u32 {
                    let _busy = g.track_in_progress();
                    c.with(&[handler, if i % 10 == 0 { "error" } else { "ok" }], |c| {
                        c.inc()
                    })
                    .unwrap();
                    h.with(&[handler], |h| h.observe(f64::from(i % 100) / 1000.0))
                        .unwrap();
                }
            });
        }
    });
    r
}

#[test]
fn text_scrape_reports_exact_totals() {
    let r = registry_under_load();
    let mut buf = BytesMut::new();
    TextEncoder::new().encode(&r, &mut buf);
    let text = std::str::from_utf8(&buf).unwrap();
    assert_eq!(
        sample(text, "t_msgs_total{handler=\"a\",status=\"ok\"}"),
        Some(36_000.0)
    );
    assert_eq!(
        sample(text, "t_msgs_total{handler=\"b\",status=\"error\"}"),
        Some(4_000.0)
    );
    assert_eq!(
        sample(text, "t_lat_seconds_count{handler=\"a\"}"),
        Some(40_000.0)
    );
    assert_eq!(
        sample(text, "t_lat_seconds_bucket{handler=\"a\",le=\"+Inf\"}"),
        Some(40_000.0)
    );
    // 0..=5 ms of every 100: 6 values of 100, so 6% of 40,000.
    assert_eq!(
        sample(text, "t_lat_seconds_bucket{handler=\"a\",le=\"0.005\"}"),
        Some(2_400.0)
    );
    assert_eq!(sample(text, "t_busy"), Some(0.0));
    assert!(text.contains("# TYPE t_msgs_total counter\n"));
    assert!(text.contains("# TYPE t_lat_seconds histogram\n"));
}

/// A collector on the scrape path, so its prefixing is covered too.
struct Queues;
impl Collector for Queues {
    fn describe(&self) -> Vec<Described> {
        vec![Described::new("queue_depth", MetricType::Gauge)]
    }
    fn collect(&self, out: &mut dyn MetricVisitor) {
        out.begin_family(&FamilyDesc {
            name: "queue_depth",
            help: "Messages waiting.",
            metric_type: MetricType::Gauge,
            unit: None,
        });
        out.series(&[("queue", "orders")], &SeriesValue::Gauge(Number::UInt(7)));
        out.end_family();
    }
}

#[test]
fn steady_state_scrapes_allocate_nothing_in_every_format() {
    let r = registry_under_load();
    r.register_collector(Queues).unwrap();
    let c = r
        .counter_vec(("later_total", "Updated between scrapes."), &["k"])
        .unwrap();
    let series = c.get_or_create(&["v"]).unwrap();
    // Info and state sets: labels behind a lock, states in a reused vector.
    r.info(("build_info", "Build."), &[("version", "1.2.3")])
        .unwrap();
    let states = r
        .state_set_vec(("mode", "Mode."), &["on", "off", "auto"], &["unit"])
        .unwrap();
    for unit in ["a", "b"] {
        states.with(&[unit], |s| s.set("auto")).unwrap().unwrap();
    }
    let mut enc = ScrapeEncoder::new();
    let mut buf = BytesMut::new();
    for &format in Format::available() {
        // The first scrape grows the buffers; leave room for longer values.
        buf.clear();
        enc.encode(format, &r, &mut buf);
        buf.reserve(4096);
        for round in 0..3 {
            series.inc_by(1_000 * round + 1);
            buf.clear();
            let before = allocations();
            enc.encode(format, &r, &mut buf);
            let made = allocations() - before;
            assert_eq!(
                made, 0,
                "a steady-state {format:?} scrape allocated {made} times"
            );
            assert!(!buf.is_empty());
        }
    }
}

/// What Prometheus 2.42, 2.42 with native histograms and 3.x send, and junk.
const ACCEPT_HEADERS: &[&str] = &[
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,\
     text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,\
     application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,\
     text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
     application/openmetrics-text;version=0.0.1;q=0.5,\
     text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
    "text/plain;x=\"a,b\\\"c\";q=0.5, garbage;;;,,, application/json",
    "",
];

#[test]
fn negotiated_scrapes_allocate_nothing() {
    let r = registry_under_load();
    let mut enc = ScrapeEncoder::new();
    let mut buf = BytesMut::new();
    for header in ACCEPT_HEADERS {
        buf.clear();
        enc.encode_negotiated(Some(header), &r, &mut buf);
    }
    buf.reserve(4096);
    for header in ACCEPT_HEADERS {
        let before = allocations();
        let chosen = hotmetrics::exposition::negotiate(Some(header));
        assert_eq!(
            allocations() - before,
            0,
            "negotiating {header:?} allocated"
        );
        std::hint::black_box(chosen);
        buf.clear();
        let before = allocations();
        enc.encode_negotiated(Some(header), &r, &mut buf);
        assert_eq!(allocations() - before, 0, "scrape for {header:?} allocated");
    }
}

/// Prometheus 3 names: escaping and quoting write into the reused buffers
/// too, so a steady-state scrape of a UTF-8 registry allocates nothing in
/// any format and any escaping scheme.
#[test]
fn utf8_scrapes_allocate_nothing_in_every_scheme() {
    let r = hotmetrics_tests::utf8::registry();
    let c = r
        .counter_vec(("later.total", "Updated between scrapes."), &["k.v"])
        .unwrap();
    let series = c.get_or_create(&["v"]).unwrap();
    let mut enc = ScrapeEncoder::new();
    let mut buf = BytesMut::new();
    let schemes = [
        hotmetrics::Escaping::AllowUtf8,
        hotmetrics::Escaping::Underscores,
        hotmetrics::Escaping::Dots,
        hotmetrics::Escaping::Values,
    ];
    for &format in Format::available() {
        for escaping in schemes {
            buf.clear();
            enc.encode_escaped(format, escaping, &r, &mut buf);
            buf.reserve(4096);
            for round in 0..3 {
                series.inc_by(1_000 * round + 1);
                buf.clear();
                let before = allocations();
                enc.encode_escaped(format, escaping, &r, &mut buf);
                let made = allocations() - before;
                assert_eq!(
                    made, 0,
                    "a steady-state {format:?} scrape escaped as {escaping:?} allocated {made} times"
                );
                assert!(!buf.is_empty());
            }
        }
    }
}
