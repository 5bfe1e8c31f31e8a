//! The recorder driven through the `metrics` macros only, as a crate that
//! knows nothing of hotmetrics would: exact totals from many threads,
//! descriptions, the facade's value semantics, and every refusal (a no-op
//! handle, counted, logged once, never a panic).
//!
//! Each test has a registry and recorder of its own, set with
//! `metrics::with_local_recorder` on every thread it uses, so tests run in
//! parallel without a global recorder.

use bytes::BytesMut;
use hotmetrics_core::{Buckets, Registry, ValueSnapshot};
use hotmetrics_recorder::{Matcher, MetricsRecorder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// What a third-party crate does: nothing but the `metrics` macros.
mod third_party {
    pub fn describe() {
        metrics::describe_counter!("jobs_total", "Jobs done.");
        metrics::describe_gauge!("queue.depth", "Jobs waiting.");
        metrics::describe_histogram!("job_seconds", metrics::Unit::Seconds, "Time per job.");
    }

    /// One job: every call registers again (the macros' own path).
    pub fn job(queue: &'static str, seconds: f64) {
        metrics::counter!("jobs_total", "queue" => queue).increment(1);
        metrics::gauge!("queue.depth", "queue" => queue).increment(1.0);
        metrics::histogram!("job_seconds", "queue" => queue).record(seconds);
        metrics::gauge!("queue.depth", "queue" => queue).decrement(1.0);
    }

    /// `n` jobs through handles kept across calls.
    pub fn jobs_cached(queue: String, n: u64) {
        let done = metrics::counter!("jobs_total", "queue" => queue.clone());
        let took = metrics::histogram!("job_seconds", "queue" => queue);
        for i in 0..n {
            done.increment(1);
            took.record((i % 10) as f64 / 10.0);
        }
    }
}

fn text(registry: &Registry) -> String {
    let mut buf = BytesMut::new();
    hotmetrics_text::TextEncoder::new().encode(registry, &mut buf);
    String::from_utf8(buf.to_vec()).unwrap()
}

fn openmetrics(registry: &Registry) -> String {
    let mut buf = BytesMut::new();
    hotmetrics_text::openmetrics::OpenMetricsEncoder::new().encode(registry, &mut buf);
    String::from_utf8(buf.to_vec()).unwrap()
}

fn refused(registry: &Registry, reason: &str) -> f64 {
    registry
        .snapshot()
        .counter("hotmetrics_recorder_refused", &[("reason", reason)])
        .unwrap_or(0.0)
}

/// The self-metric is registered and counts no refusal, for any reason.
fn assert_nothing_refused(registry: &Registry) {
    let snap = registry.snapshot();
    let Some(family) = snap.family("hotmetrics_recorder_refused") else {
        panic!("no hotmetrics_recorder_refused in {snap:?}");
    };
    for series in &family.series {
        assert_eq!(
            series.value,
            ValueSnapshot::Counter(0.0),
            "refused: {series:?}"
        );
    }
}

#[test]
fn many_threads_through_the_macros_count_exactly() {
    const THREADS: usize = 8;
    const JOBS: u64 = 5_000;
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let recorder = &recorder;
            s.spawn(move || {
                metrics::with_local_recorder(recorder, || {
                    third_party::describe();
                    let queue = if t % 2 == 0 { "emails" } else { "invoices" };
                    for i in 0..JOBS {
                        third_party::job(queue, (i % 7) as f64 * 0.01);
                    }
                    third_party::jobs_cached(format!("cached-{}", t % 3), JOBS);
                });
            });
        }
    });
    let snap = registry.snapshot();
    let per_queue = (THREADS as u64 / 2 * JOBS) as f64;
    for queue in ["emails", "invoices"] {
        assert_eq!(snap.counter("jobs", &[("queue", queue)]), Some(per_queue));
        assert_eq!(snap.gauge("queue_depth", &[("queue", queue)]), Some(0.0));
        let Some(ValueSnapshot::Histogram { count, sum, .. }) =
            snap.value("job_seconds", &[("queue", queue)])
        else {
            panic!("no job_seconds{{queue={queue:?}}} in {snap:?}");
        };
        assert_eq!(*count, per_queue as u64);
        let one_thread: f64 = (0..JOBS).map(|i| (i % 7) as f64 * 0.01).sum();
        assert!(
            (sum - one_thread * (THREADS / 2) as f64).abs() < 1e-6,
            "{sum}"
        );
    }
    // Threads 0, 3, 6 → cached-0; 1, 4, 7 → cached-1; 2, 5 → cached-2.
    for (queue, threads) in [("cached-0", 3), ("cached-1", 3), ("cached-2", 2)] {
        assert_eq!(
            snap.counter("jobs", &[("queue", queue)]),
            Some((threads * JOBS) as f64)
        );
    }
    assert_nothing_refused(&registry);
}

#[test]
fn threads_that_come_and_go_lose_nothing() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    for _round in 0..20 {
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    metrics::with_local_recorder(&recorder, || {
                        for _ in 0..100 {
                            metrics::counter!("churn_total").increment(1);
                        }
                    });
                });
            }
            // A scrape racing the writers and their exit.
            let _ = text(&registry);
        });
    }
    assert_eq!(registry.snapshot().counter("churn", &[]), Some(8000.0));
}

#[test]
fn descriptions_become_help_and_unit_before_or_after_the_first_use() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_histogram!("early_seconds", metrics::Unit::Seconds, "Described first.");
        metrics::histogram!("early_seconds").record(1.0);
        metrics::counter!("late_bytes_total").increment(7);
        metrics::gauge!("temperature").set(21.5);
        // After the first use, and then a second description, which does
        // not replace the first.
        metrics::describe_counter!("late_bytes_total", metrics::Unit::Bytes, "Described later.");
        metrics::describe_counter!("late_bytes_total", "Ignored: the first stays.");
        // A unit the name does not end in is left out; the help is kept.
        metrics::describe_gauge!(
            "temperature",
            metrics::Unit::Seconds,
            "Degrees, not seconds."
        );
    });
    let om = openmetrics(&registry);
    for line in [
        "# HELP early_seconds Described first.\n# TYPE early_seconds histogram\n# UNIT early_seconds seconds\n",
        "# HELP late_bytes Described later.\n# TYPE late_bytes counter\n# UNIT late_bytes bytes\nlate_bytes_total 7\n",
        "# HELP temperature Degrees, not seconds.\n# TYPE temperature gauge\ntemperature 21.5\n",
    ] {
        assert!(om.contains(line), "{line:?} not in:\n{om}");
    }
    assert!(!om.contains("# UNIT temperature"), "{om}");
    let text = text(&registry);
    assert!(
        text.contains(
            "# HELP late_bytes_total Described later.\n# TYPE late_bytes_total counter\n"
        ),
        "{text}"
    );
}

#[test]
fn gauges_follow_the_facade_semantics() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    let value = || registry.snapshot().gauge("level", &[]).unwrap();
    metrics::with_local_recorder(&recorder, || {
        let g = metrics::gauge!("level");
        g.increment(1.5);
        g.increment(2u32);
        g.decrement(0.25);
        assert_eq!(value(), 3.25);
        g.set(-10.0);
        assert_eq!(value(), -10.0);
        g.decrement(-1.0);
        assert_eq!(value(), -9.0);
        g.set(f64::INFINITY);
        assert_eq!(value(), f64::INFINITY);
        g.set(f64::NAN);
        assert!(value().is_nan());
        g.increment(1.0);
        assert!(
            value().is_nan(),
            "NaN stays NaN, as in the facade's f64 gauge"
        );
        g.set(5.0);
        assert_eq!(value(), 5.0);
    });
    assert!(openmetrics(&registry).contains("level 5.0\n"));
}

#[test]
fn counter_absolute_raises_and_never_lowers() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    let value = || registry.snapshot().counter("mirrored", &[]).unwrap();
    metrics::with_local_recorder(&recorder, || {
        let c = metrics::counter!("mirrored_total");
        c.absolute(10);
        assert_eq!(value(), 10.0);
        c.absolute(4);
        assert_eq!(value(), 10.0, "absolute never lowers a counter");
        c.increment(1);
        c.absolute(11);
        assert_eq!(value(), 11.0);
    });
    // Many threads mirroring the same external total: at least the
    // largest, never their sum.
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let recorder = &recorder;
            s.spawn(move || {
                metrics::with_local_recorder(recorder, || {
                    for v in 0..200u64 {
                        metrics::counter!("mirrored_total").absolute(100 + v * 8 + t);
                    }
                });
            });
        }
    });
    assert_eq!(value(), (100 + 199 * 8 + 7) as f64);
}

#[test]
fn nan_negative_and_infinite_observations_never_panic() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::builder(&registry)
        .buckets(Buckets::new(vec![0.0, 1.0]).unwrap())
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        let h = metrics::histogram!("odd");
        h.record(-1.0);
        h.record(f64::NEG_INFINITY);
        h.record(0.5);
        h.record(f64::INFINITY);
        h.record(f64::NAN);
        h.record_many(2.0, 3);
        h.record_many(0.5, 0);
    });
    let snap = registry.snapshot();
    let Some(ValueSnapshot::Histogram {
        bucket_counts,
        count,
        sum,
        ..
    }) = snap.value("odd", &[])
    else {
        panic!("no histogram odd in {snap:?}");
    };
    assert_eq!(*count, 8);
    assert!(sum.is_nan());
    // Per bucket: -1 and -inf ≤ 0; 0.5 ≤ 1; +inf, NaN and three 2.0 in +Inf.
    assert_eq!(bucket_counts, &[2, 1, 5]);
    // Every format still writes it.
    assert!(text(&registry).contains("odd_count 8\n"));
    assert!(openmetrics(&registry).contains("odd_bucket{le=\"+Inf\"} 8\n"));
}

#[test]
fn buckets_are_configured_per_name() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::builder(&registry)
        .buckets_for(
            Matcher::Suffix("_bytes".into()),
            Buckets::exponential(64.0, 4.0, 3).unwrap(),
        )
        .buckets_for(
            Matcher::Full("db.query_seconds".into()),
            Buckets::new(vec![0.001]).unwrap(),
        )
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::histogram!("payload_bytes").record(100.0);
        metrics::histogram!("db.query_seconds").record(0.0005);
        metrics::histogram!("other_seconds").record(0.2);
    });
    let text = text(&registry);
    for line in [
        "payload_bytes_bucket{le=\"64\"} 0\npayload_bytes_bucket{le=\"256\"} 1\npayload_bytes_bucket{le=\"1024\"} 1\npayload_bytes_bucket{le=\"+Inf\"} 1\n",
        "db_query_seconds_bucket{le=\"0.001\"} 1\ndb_query_seconds_bucket{le=\"+Inf\"} 1\n",
        "other_seconds_bucket{le=\"0.005\"} 0\n",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
}

#[test]
fn the_registry_prefix_and_constant_labels_apply() {
    let registry = Registry::builder()
        .prefix("shop")
        .const_label("region", "eu")
        .build()
        .unwrap();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("orders_total", "kind" => "book").increment(2);
    });
    assert!(
        text(&registry).contains("shop_orders_total{region=\"eu\",kind=\"book\"} 2\n"),
        "{}",
        text(&registry)
    );
}

#[test]
fn recorders_on_one_registry_share_its_series() {
    let registry = Registry::new();
    let first = MetricsRecorder::new(&registry).unwrap();
    let second = MetricsRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&first, || metrics::counter!("shared_total").increment(1));
    metrics::with_local_recorder(&second, || metrics::counter!("shared_total").increment(2));
    metrics::with_local_recorder(&first, || metrics::counter!("shared").increment(3));
    assert_eq!(registry.snapshot().counter("shared", &[]), Some(6.0));
}

/// Captures what the recorder logs (every test's, so each looks for its own
/// metric's name).
struct Captured(Mutex<Vec<String>>);

impl log::Log for Captured {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push(record.args().to_string());
    }
    fn flush(&self) {}
}

fn logged(name: &str) -> Vec<String> {
    static LOGGER: OnceLock<&'static Captured> = OnceLock::new();
    let logger = LOGGER.get_or_init(|| {
        let logger: &'static Captured = Box::leak(Box::new(Captured(Mutex::default())));
        log::set_logger(logger).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Warn);
        logger
    });
    let quoted = format!("{name:?}");
    logger
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(&quoted))
        .cloned()
        .collect()
}

#[test]
fn other_label_names_get_a_no_op_handle_counted_and_logged_once() {
    logged(""); // installs the logger
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("requests_total", "route" => "/a", "status" => "200").increment(1);
        // The same names in another order are the same family.
        metrics::counter!("requests_total", "status" => "200", "route" => "/a").increment(1);
        for _ in 0..3 {
            metrics::counter!("requests_total", "path" => "/a").increment(100);
        }
        let kept = metrics::counter!("requests_total");
        kept.increment(100);
        kept.increment(100);
        metrics::counter!("requests_total", "route" => "/b", "route" => "/c").increment(100);
    });
    let snap = registry.snapshot();
    assert_eq!(
        snap.counter("requests", &[("route", "/a"), ("status", "200")]),
        Some(2.0)
    );
    assert_eq!(snap.family("requests").map(|f| f.series.len()), Some(1));
    assert_eq!(
        refused(&registry, "label_names"),
        5.0,
        "one per registration"
    );
    let lines = logged("requests_total");
    assert_eq!(lines.len(), 1, "logged once: {lines:?}");
    assert!(
        lines[0].contains(
            "\"requests_total\" was first registered with the label names [\"route\", \
             \"status\"], this key has [\"path\"]"
        ),
        "{lines:?}"
    );
    assert!(lines[0].contains("hotmetrics_recorder_refused_total{reason=\"label_names\"}"));
}

#[test]
fn another_type_reserved_labels_and_clashes_are_refused() {
    logged("");
    let registry = Registry::new();
    registry
        .gauge(("app_owned", "The application's own."))
        .unwrap()
        .set(1);
    let recorder = MetricsRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("events_total").increment(1);
        metrics::gauge!("events_total").set(5.0); // a gauge, not the counter
        metrics::gauge!("events").set(5.0); // the counter's name
        metrics::histogram!("latency", "le" => "1").record(1.0); // `le` is the histogram's
        metrics::counter!("x", "__name__" => "y").increment(1); // reserved
        metrics::counter!("").increment(1); // no name
        metrics::counter!("app_owned").increment(1); // the registry's own family
    });
    let snap = registry.snapshot();
    assert_eq!(snap.counter("events", &[]), Some(1.0));
    assert_eq!(snap.gauge("app_owned", &[]), Some(1.0));
    // `events_total` as a gauge would write the counter's sample
    // `events_total`: another type too, not a registration refusal.
    assert_eq!(refused(&registry, "type"), 2.0);
    assert_eq!(refused(&registry, "registration"), 4.0);
    assert!(snap.family("latency").is_none());
    assert!(
        logged("events")
            .iter()
            .any(|l| l.contains("\"events\" is already a counter, it cannot also be a gauge")),
        "{:?}",
        logged("events")
    );
    assert!(
        logged("app_owned")
            .iter()
            .any(|l| l.contains("could not be registered")),
        "{:?}",
        logged("app_owned")
    );
}

#[test]
fn the_series_limit_is_a_refusal_not_a_panic() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    let limit = hotmetrics_core::DEFAULT_MAX_SERIES;
    metrics::with_local_recorder(&recorder, || {
        for i in 0..limit + 3 {
            metrics::counter!("per_user_total", "user" => i.to_string()).increment(1);
        }
    });
    let snap = registry.snapshot();
    assert_eq!(snap.family("per_user").map(|f| f.series.len()), Some(limit));
    assert_eq!(refused(&registry, "cardinality"), 3.0);
}

#[test]
fn a_gauge_on_a_counters_total_sample_is_a_type_refusal_either_way() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("jobs").increment(1);
        metrics::gauge!("jobs_total").set(1.0);
        metrics::gauge!("tasks_total").set(2.0);
        metrics::counter!("tasks").increment(1);
        metrics::counter!("tasks_total").increment(1);
    });
    let snap = registry.snapshot();
    assert_eq!(snap.counter("jobs", &[]), Some(1.0));
    assert_eq!(snap.gauge("tasks_total", &[]), Some(2.0));
    assert_eq!(refused(&registry, "type"), 3.0);
    assert_eq!(refused(&registry, "registration"), 0.0);
}

#[test]
fn a_label_named_as_a_constant_label_of_the_registry_is_refused() {
    logged("");
    let registry = Registry::builder()
        .const_label("region", "eu")
        .build()
        .unwrap();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("shipped_total", "region" => "us").increment(1);
        // Sanitized first: `region` too.
        metrics::gauge!("stock", "kind" => "book", "region" => "us").set(1.0);
        metrics::counter!("shipped_total", "kind" => "book").increment(2);
    });
    let text = text(&registry);
    assert!(!text.contains("region=\"us\""), "{text}");
    assert_eq!(
        registry.snapshot().counter(
            "hotmetrics_recorder_refused",
            &[("region", "eu"), ("reason", "const_label")]
        ),
        Some(2.0)
    );
    // The third key made the family, with its own label names.
    assert!(
        text.contains("shipped_total{region=\"eu\",kind=\"book\"} 2\n"),
        "{text}"
    );
    let lines = logged("stock");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("\"stock\" has the label \"region\", a constant label of the registry"),
        "{lines:?}"
    );
}

/// Sets its flag when dropped: kept with a registry as an extension, it
/// tells when the registry is freed.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_registry_is_freed_once_its_recorders_are() {
    let freed = Arc::new(AtomicBool::new(false));
    let registry = Registry::new();
    registry.extension(|| DropFlag(Arc::clone(&freed)));
    let recorder = MetricsRecorder::new(&registry).unwrap();
    let second = MetricsRecorder::new(&registry).unwrap();
    let kept = metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("jobs_total", "Jobs.");
        metrics::counter!("jobs_total").increment(1);
        metrics::histogram!("job_seconds", "queue" => "a").record(1.0);
        metrics::gauge!("jobs", "x" => "y").set(1.0); // refused: counted
        metrics::counter!("kept_total")
    });
    assert_eq!(refused(&registry, "type"), 1.0);
    drop(registry);
    drop(recorder);
    assert!(
        !freed.load(Ordering::SeqCst),
        "the second recorder keeps it"
    );
    drop(second);
    assert!(freed.load(Ordering::SeqCst), "the registry leaked");
    kept.increment(1); // a handle outliving its registry still works
}

#[test]
fn after_clear_the_facade_starts_over_for_old_and_new_recorders() {
    let registry = Registry::new();
    let old = MetricsRecorder::new(&registry).unwrap();
    let kept = metrics::with_local_recorder(&old, || {
        metrics::describe_counter!("jobs_total", "Jobs done.");
        metrics::counter!("jobs_total", "queue" => "a").increment(5);
        metrics::gauge!("jobs").set(1.0); // refused
        metrics::counter!("jobs_total", "queue" => "a")
    });
    assert_eq!(refused(&registry, "type"), 1.0);
    registry.clear();
    assert!(
        registry.snapshot().families.is_empty(),
        "{:?}",
        registry.snapshot()
    );
    // Unexported, as a core handle after a clear.
    kept.increment(1);
    assert!(registry.snapshot().families.is_empty());

    // A recorder built after the clear registers the self-metric again.
    let new = MetricsRecorder::new(&registry).unwrap();
    assert_nothing_refused(&registry);
    // The old recorder's cached key, on the thread that cached it, made
    // again from zero; the description kept.
    metrics::with_local_recorder(&old, || {
        metrics::counter!("jobs_total", "queue" => "a").increment(2);
    });
    metrics::with_local_recorder(&new, || {
        metrics::counter!("jobs_total", "queue" => "a").increment(3);
        // The name is free for another type now.
        metrics::gauge!("jobs_seconds").set(2.0);
    });
    let snap = registry.snapshot();
    assert_eq!(snap.counter("jobs", &[("queue", "a")]), Some(5.0));
    assert_eq!(snap.gauge("jobs_seconds", &[]), Some(2.0));
    assert_nothing_refused(&registry);
    assert!(
        text(&registry).contains("# HELP jobs_total Jobs done.\n"),
        "{}",
        text(&registry)
    );
    // And a second clear is noticed too, from another thread.
    registry.clear();
    std::thread::scope(|s| {
        s.spawn(|| {
            metrics::with_local_recorder(&old, || {
                metrics::counter!("jobs_total", "queue" => "a").increment(1);
            });
        });
    });
    assert_eq!(
        registry.snapshot().counter("jobs", &[("queue", "a")]),
        Some(1.0)
    );
    assert_nothing_refused(&registry);
}

#[test]
fn a_description_belongs_to_its_type() {
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("x_total", "Counted.");
        metrics::describe_gauge!("y", "Measured.");
        metrics::gauge!("x").set(1.0);
        metrics::counter!("y").increment(1);
    });
    let text = text(&registry);
    assert!(text.contains("# TYPE x gauge\nx 1.0\n"), "{text}");
    assert!(!text.contains("Counted."), "{text}");
    assert!(!text.contains("Measured."), "{text}");
    assert_nothing_refused(&registry);
}

#[test]
fn clears_racing_registrations_and_scrapes_leave_no_stale_family() {
    logged("");
    const NAMES: usize = 8;
    let registry = Registry::new();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    let name = |i: usize| format!("racing_{i}_total");
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                metrics::with_local_recorder(&recorder, || {
                    for i in 0..20_000 {
                        metrics::counter!(name(i % NAMES)).increment(1);
                    }
                });
            });
        }
        for _ in 0..200 {
            registry.clear();
            let _ = text(&registry);
            std::thread::yield_now();
        }
    });
    registry.clear();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..NAMES {
            metrics::counter!(name(i)).increment(1);
        }
    });
    let snap = registry.snapshot();
    for i in 0..NAMES {
        assert_eq!(snap.counter(&format!("racing_{i}"), &[]), Some(1.0));
        let lines = logged(&format!("racing_{i}_total"));
        assert!(lines.is_empty(), "{lines:?}");
    }
    assert_nothing_refused(&registry);
}

#[test]
fn a_self_metric_name_taken_after_a_clear_is_logged_and_nothing_breaks() {
    logged("");
    let registry = Registry::builder().prefix("taken").build().unwrap();
    let recorder = MetricsRecorder::new(&registry).unwrap();
    registry.clear();
    registry
        .counter((
            "hotmetrics_recorder_refused_total",
            "The application's own.",
        ))
        .unwrap()
        .inc();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("after_total").increment(2);
        metrics::gauge!("after_total").set(1.0); // refused: logged only
    });
    let snap = registry.snapshot();
    assert_eq!(snap.counter("taken_after", &[]), Some(2.0));
    assert_eq!(
        snap.counter("taken_hotmetrics_recorder_refused", &[]),
        Some(1.0),
        "the application's family, untouched"
    );
    assert_eq!(
        logged("hotmetrics_recorder_refused_total")
            .iter()
            .filter(|l| l.contains("could not be registered again"))
            .count(),
        1,
        "{:?}",
        logged("hotmetrics_recorder_refused_total")
    );
    assert!(
        logged("after_total")
            .iter()
            .any(|l| l.contains("is already a counter")),
        "{:?}",
        logged("after_total")
    );
}
