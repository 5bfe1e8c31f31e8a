//! The runtime's promises, with a sink whose answers the test scripts:
//! exports at the interval, retries with backoff (honouring Retry-After),
//! no retry of permanent failures, a bounded queue that drops the oldest
//! and counts it, flush and shutdown deadlines, and self-metrics that
//! agree with the handle's stats, one set of series per exporter.

use hotmetrics_core::{MetricSource, Registry};
use hotmetrics_export::{Batch, EncodeError, Error, Exporter, Payload, SendError, Sink, Stats};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the scripted sink answers to each send, in order; `Ok` once the
/// script is used up.
#[derive(Default)]
struct Script {
    answers: VecDeque<Result<(), SendError>>,
    /// Each send: when, and the export number it carried.
    sends: Vec<(Instant, u64)>,
    /// Whether sends fail (retryably) until told otherwise.
    down: bool,
}

#[derive(Clone, Default)]
struct Scripted(Arc<Mutex<Script>>);

/// Encodes one payload per export carrying the export's number, with
/// `samples` samples.
struct TestSink {
    script: Scripted,
    exports: u64,
    samples: u64,
    target: Option<String>,
}

impl Sink for TestSink {
    fn name(&self) -> &str {
        "test"
    }

    fn target(&self) -> Option<String> {
        self.target.clone()
    }

    fn encode(&mut self, _: &dyn MetricSource, batch: &mut Batch) -> Result<(), EncodeError> {
        self.exports += 1;
        let p = batch.payload();
        p.bytes.extend_from_slice(&self.exports.to_le_bytes());
        p.samples = self.samples;
        Ok(())
    }

    fn send(&mut self, payload: &Payload) -> Result<(), SendError> {
        let mut s = self.script.0.lock().unwrap();
        let n = u64::from_le_bytes(payload.bytes[..8].try_into().unwrap());
        s.sends.push((Instant::now(), n));
        if s.down {
            return Err(SendError::retryable("down"));
        }
        s.answers.pop_front().unwrap_or(Ok(()))
    }
}

fn scripted(samples: u64) -> (TestSink, Scripted) {
    let script = Scripted::default();
    let sink = TestSink {
        script: script.clone(),
        exports: 0,
        samples,
        target: None,
    };
    (sink, script)
}

const LONG: Duration = Duration::from_secs(3600);
const MS: Duration = Duration::from_millis(1);

#[test]
fn bad_settings_are_refused() {
    type Start = fn(Registry) -> Result<hotmetrics_export::ExporterHandle, Error>;
    let cases: [(Start, &str); 3] = [
        (
            |r| {
                Exporter::builder(r, scripted(1).0)
                    .interval(Duration::ZERO)
                    .start()
            },
            "interval",
        ),
        (
            |r| {
                Exporter::builder(r, scripted(1).0)
                    .queue_capacity(0)
                    .start()
            },
            "queue capacity",
        ),
        (
            |r| {
                Exporter::builder(r, scripted(1).0)
                    .backoff(MS * 10, MS)
                    .start()
            },
            "backoff",
        ),
    ];
    for (start, what) in cases {
        match start(Registry::new()) {
            Err(Error::Config(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn exports_every_interval() {
    let (sink, script) = scripted(2);
    let started = Instant::now();
    let exporter = Exporter::builder(Registry::new(), sink)
        .interval(MS * 50)
        .start()
        .unwrap();
    // Load can only delay ticks: wait for five, then check none came
    // early (never more than one per interval since the start).
    let deadline = started + Duration::from_secs(20);
    while exporter.stats().samples_sent < 10 && Instant::now() < deadline {
        std::thread::sleep(MS * 5);
    }
    let stats = exporter.stats();
    let elapsed = started.elapsed();
    exporter.shutdown().unwrap();
    assert!(stats.exports >= 5, "{stats:?} after {elapsed:?}");
    let most = elapsed.as_millis() as u64 / 50;
    assert!(
        stats.exports <= most,
        "{stats:?} in {elapsed:?}: faster than the interval"
    );
    // Every export sent once, in order, the final one included.
    let sent: Vec<u64> = script.0.lock().unwrap().sends.iter().map(|s| s.1).collect();
    let expected: Vec<u64> = (1..=sent.len() as u64).collect();
    assert_eq!(sent, expected);
    assert!(sent.len() as u64 > stats.exports, "the final export");
}

#[test]
fn retries_back_off_and_honour_retry_after() {
    let (sink, script) = scripted(1);
    script.0.lock().unwrap().answers.extend([
        Err(SendError::retryable("connection refused")),
        Err(SendError::Retryable {
            message: "429".into(),
            retry_after: Some(MS * 300),
        }),
        Err(SendError::retryable("503")),
    ]);
    let exporter = Exporter::builder(Registry::new(), sink)
        .interval(LONG)
        .backoff(MS * 20, MS * 100)
        .start()
        .unwrap();
    exporter.flush(Duration::from_secs(5)).unwrap();
    let stats = exporter.stats();
    assert_eq!(
        (stats.retries, stats.samples_sent, stats.queued_batches),
        (3, 1, 0)
    );
    let sends = script.0.lock().unwrap().sends.clone();
    assert_eq!(sends.len(), 4, "three failures, then the success");
    assert!(
        sends.iter().all(|&(_, n)| n == 1),
        "the same payload each time"
    );
    let gap = |i: usize| sends[i + 1].0 - sends[i].0;
    assert!(
        gap(0) >= MS * 10,
        "first backoff: half of 20 ms at least, {:?}",
        gap(0)
    );
    assert!(gap(1) >= MS * 300, "Retry-After: {:?}", gap(1));
    assert!(
        gap(2) >= MS * 20,
        "third backoff: half of 40 ms at least, {:?}",
        gap(2)
    );
}

#[test]
fn permanent_failures_are_dropped_not_retried() {
    let (sink, script) = scripted(5);
    script
        .0
        .lock()
        .unwrap()
        .answers
        .push_back(Err(SendError::permanent("400: out of order sample")));
    let exporter = Exporter::builder(Registry::new(), sink)
        .interval(LONG)
        .start()
        .unwrap();
    exporter.flush(Duration::from_secs(5)).unwrap();
    exporter.flush(Duration::from_secs(5)).unwrap();
    let stats = exporter.stats();
    assert_eq!(
        (stats.samples_failed, stats.samples_sent, stats.retries),
        (5, 5, 0)
    );
    let sent: Vec<u64> = script.0.lock().unwrap().sends.iter().map(|s| s.1).collect();
    assert_eq!(sent, [1, 2], "the refused export was not sent again");
}

#[test]
fn a_dead_receiver_fills_the_queue_and_drops_the_oldest() {
    let (sink, script) = scripted(10);
    script.0.lock().unwrap().down = true;
    let registry = Registry::new();
    let exporter = Exporter::builder(registry.clone(), sink)
        .interval(LONG)
        .queue_capacity(3)
        .backoff(MS, MS * 2)
        .self_metrics(&registry)
        .start()
        .unwrap();
    for _ in 0..7 {
        let e = exporter.flush(MS * 20).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
    }
    let stats = exporter.stats();
    assert_eq!(stats.queued_batches, 3, "{stats:?}");
    assert_eq!(stats.samples_dropped, 40, "exports 1-4 dropped: {stats:?}");
    assert!(stats.retries > 0);
    // The receiver comes back. The flush's own export (8) pushes out the
    // oldest queued one (5): the three newest go, in order.
    script.0.lock().unwrap().down = false;
    script.0.lock().unwrap().sends.clear();
    exporter.flush(Duration::from_secs(5)).unwrap();
    let sent: Vec<u64> = script.0.lock().unwrap().sends.iter().map(|s| s.1).collect();
    assert_eq!(sent, [6, 7, 8]);
    let stats = exporter.stats();
    assert_eq!(
        (
            stats.samples_sent,
            stats.samples_dropped,
            stats.queued_batches
        ),
        (30, 50, 0)
    );
    assert_self_metrics(&registry, stats);
}

#[test]
fn shutdown_sends_a_final_export_within_its_deadline() {
    let (sink, script) = scripted(3);
    let exporter = Exporter::builder(Registry::new(), sink)
        .interval(LONG)
        .start()
        .unwrap();
    exporter.shutdown().unwrap();
    assert_eq!(script.0.lock().unwrap().sends.len(), 1);

    // A receiver that stays down: shutdown gives up at its deadline and
    // says how much it dropped.
    let (sink, script) = scripted(3);
    script.0.lock().unwrap().down = true;
    let exporter = Exporter::builder(Registry::new(), sink)
        .interval(LONG)
        .backoff(MS * 5, MS * 10)
        .shutdown_timeout(MS * 200)
        .start()
        .unwrap();
    let started = Instant::now();
    let e = exporter.shutdown().unwrap_err();
    assert!(matches!(e, Error::Timeout { samples: 3 }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn dropping_the_handle_shuts_down() {
    let (sink, script) = scripted(1);
    let exporter = Exporter::builder(Registry::new(), sink)
        .interval(LONG)
        .start()
        .unwrap();
    drop(exporter);
    assert_eq!(script.0.lock().unwrap().sends.len(), 1, "the final export");
}

#[test]
fn writers_keep_counting_while_the_receiver_stalls() {
    // A sink whose every send takes 200 ms: the writers' totals are
    // exact and nothing they do waits for it.
    struct Slow;
    impl Sink for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        fn encode(&mut self, s: &dyn MetricSource, b: &mut Batch) -> Result<(), EncodeError> {
            // Reads every series, as a real sink does.
            struct Count(u64);
            impl hotmetrics_core::MetricVisitor for Count {
                fn begin_family(&mut self, _: &hotmetrics_core::FamilyDesc<'_>) {}
                fn series(
                    &mut self,
                    _: &dyn hotmetrics_core::LabelSet,
                    _: &hotmetrics_core::SeriesValue<'_>,
                ) {
                    self.0 += 1;
                }
            }
            let mut count = Count(0);
            s.visit(&mut count);
            b.payload().samples = count.0;
            Ok(())
        }
        fn send(&mut self, _: &Payload) -> Result<(), SendError> {
            std::thread::sleep(Duration::from_millis(200));
            Ok(())
        }
    }
    let registry = Registry::new();
    let counter = registry.counter(("work_total", "Work.")).unwrap();
    let exporter = Exporter::builder(registry.clone(), Slow)
        .interval(MS * 10)
        .start()
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let c = counter.clone();
            s.spawn(move || {
                for _ in 0..250_000 {
                    c.inc();
                }
            });
        }
    });
    assert_eq!(counter.get(), 1_000_000);
    exporter.shutdown().unwrap();
}

fn assert_self_metrics(registry: &Registry, stats: Stats) {
    assert_self_metrics_of(registry, "test", stats);
}

/// The self-metrics of the exporter named `exporter` agree with `stats`.
fn assert_self_metrics_of(registry: &Registry, exporter: &str, stats: Stats) {
    let snapshot = registry.snapshot();
    let want = [
        ("sink".to_owned(), "test".to_owned()),
        ("exporter".to_owned(), exporter.to_owned()),
    ];
    let value = |name: &str| {
        let family = snapshot.family(name).unwrap_or_else(|| panic!("no {name}"));
        let series = family
            .series
            .iter()
            .find(|s| s.labels == want)
            .unwrap_or_else(|| panic!("{name}: no series {want:?} in {:?}", family.series));
        match &series.value {
            hotmetrics_core::ValueSnapshot::Counter(v) => *v as u64,
            hotmetrics_core::ValueSnapshot::Gauge(v) => *v as u64,
            other => panic!("{name}: {other:?}"),
        }
    };
    assert_eq!(value("hotmetrics_export_samples_sent"), stats.samples_sent);
    assert_eq!(
        value("hotmetrics_export_samples_dropped"),
        stats.samples_dropped
    );
    assert_eq!(value("hotmetrics_export_retries"), stats.retries);
    assert_eq!(
        value("hotmetrics_export_queue_batches"),
        stats.queued_batches
    );
}

#[test]
fn a_panicking_sink_is_counted_and_the_exporter_goes_on() {
    struct Flaky(u64);
    impl Sink for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn encode(&mut self, _: &dyn MetricSource, b: &mut Batch) -> Result<(), EncodeError> {
            self.0 += 1;
            assert!(self.0 != 2, "a bug in the sink's encode");
            b.payload().samples = self.0;
            Ok(())
        }
        fn send(&mut self, p: &Payload) -> Result<(), SendError> {
            assert!(p.samples != 3, "a bug in the sink's send");
            Ok(())
        }
    }
    let exporter = Exporter::builder(Registry::new(), Flaky(0))
        .interval(LONG)
        .start()
        .unwrap();
    for _ in 0..4 {
        exporter.flush(Duration::from_secs(5)).unwrap();
    }
    let stats = exporter.stats();
    assert_eq!(stats.encode_failures, 1, "{stats:?}");
    assert_eq!(
        (stats.samples_failed, stats.samples_sent),
        (3, 1 + 4),
        "{stats:?}"
    );
    exporter.shutdown().unwrap();
}

#[test]
fn extreme_durations_neither_panic_nor_hang() {
    // A receiver asking to wait u64::MAX seconds; a flush asked to wait
    // forever; an interval too long to add to a clock.
    let (sink, script) = scripted(1);
    script
        .0
        .lock()
        .unwrap()
        .answers
        .push_back(Err(SendError::Retryable {
            message: "429".into(),
            retry_after: Some(Duration::from_secs(u64::MAX)),
        }));
    let exporter = Exporter::builder(Registry::new(), sink)
        .interval(Duration::MAX)
        .shutdown_timeout(MS * 100)
        .start()
        .unwrap();
    let e = exporter.flush(MS * 50).unwrap_err();
    assert!(matches!(e, Error::Timeout { samples: 1 }), "{e}");
    let started = Instant::now();
    let e = exporter.shutdown().unwrap_err();
    assert!(matches!(e, Error::Timeout { samples: 2 }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));

    let (sink, _) = scripted(1);
    let exporter = Exporter::builder(Registry::new(), sink).start().unwrap();
    exporter.flush(Duration::MAX).unwrap();
}

#[test]
fn deadlines_hold_while_every_send_is_slow() {
    // Each send takes 100 ms and is refused: 31 queued exports would take
    // 3.1 s, not the 250 ms the shutdown has.
    struct Slow;
    impl Sink for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        fn encode(&mut self, _: &dyn MetricSource, b: &mut Batch) -> Result<(), EncodeError> {
            b.payload().samples = 1;
            Ok(())
        }
        fn send(&mut self, _: &Payload) -> Result<(), SendError> {
            std::thread::sleep(Duration::from_millis(100));
            Err(SendError::permanent("400 after 100 ms"))
        }
    }
    let exporter = Exporter::builder(Registry::new(), Slow)
        .interval(LONG)
        .queue_capacity(40)
        .shutdown_timeout(MS * 250)
        .start()
        .unwrap();
    for _ in 0..30 {
        let _ = exporter.flush(Duration::ZERO);
    }
    let started = Instant::now();
    let e = exporter.shutdown().unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn exporters_of_one_sink_kind_keep_apart_in_one_registry() {
    let registry = Registry::new();
    // One sends everything, one has a dead receiver: their counts differ.
    let (up, _) = scripted(10);
    let (down, down_script) = scripted(7);
    down_script.0.lock().unwrap().down = true;
    let start = |sink: TestSink| {
        Exporter::builder(registry.clone(), sink)
            .interval(LONG)
            .queue_capacity(1)
            .backoff(MS, MS * 2)
            .shutdown_timeout(MS * 50)
            .self_metrics(&registry)
            .start()
            .unwrap()
    };
    let first = start(up);
    let second = start(down);
    // Named after the sink (no target), the second one numbered.
    assert_eq!((first.name(), second.name()), ("test", "test#2"));
    for _ in 0..3 {
        first.flush(Duration::from_secs(5)).unwrap();
        assert!(second.flush(MS * 20).is_err());
    }
    let (a, b) = (first.stats(), second.stats());
    assert_eq!((a.samples_sent, a.samples_dropped), (30, 0));
    assert_eq!(
        (b.samples_sent, b.samples_dropped, b.queued_batches),
        (0, 14, 1)
    );
    assert_self_metrics_of(&registry, "test", a);
    assert_self_metrics_of(&registry, "test#2", b);
    let snapshot = registry.snapshot();
    let family = snapshot.family("hotmetrics_export_samples_sent").unwrap();
    assert_eq!(family.series.len(), 2, "{:?}", family.series);
    first.shutdown().unwrap(); // its final export: 40 sent
    // The first one's name is free again: a new exporter takes it, and
    // continues its series.
    let again = start(scripted(1).0);
    assert_eq!(again.name(), "test");
    again.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(again.stats().samples_sent, 1);
    let snapshot = registry.snapshot();
    let sent = snapshot.family("hotmetrics_export_samples_sent").unwrap();
    let test = sent
        .series
        .iter()
        .find(|s| s.labels.iter().any(|(n, v)| n == "exporter" && v == "test"))
        .unwrap();
    assert_eq!(test.value, hotmetrics_core::ValueSnapshot::Counter(41.0));
    drop(second);
}

#[test]
fn exporter_names_come_from_the_target_or_are_given() {
    let registry = Registry::new();
    let with_target = |target: &str| {
        let (mut sink, _) = scripted(1);
        sink.target = Some(target.to_owned());
        sink
    };
    let builder = |sink| {
        Exporter::builder(registry.clone(), sink)
            .interval(LONG)
            .self_metrics(&registry)
    };
    let a = builder(with_target("udp://127.0.0.1:8125"))
        .start()
        .unwrap();
    let b = builder(with_target("udp://127.0.0.1:8125"))
        .start()
        .unwrap();
    let c = builder(with_target("udp://127.0.0.1:9125"))
        .start()
        .unwrap();
    assert_eq!(
        [a.name(), b.name(), c.name()],
        [
            "udp://127.0.0.1:8125",
            "udp://127.0.0.1:8125#2",
            "udp://127.0.0.1:9125"
        ]
    );
    // An explicit name: taken by a running exporter, the second fails.
    let named = builder(scripted(1).0).name("primary").start().unwrap();
    assert_eq!(named.name(), "primary");
    match builder(scripted(1).0).name("primary").start() {
        Err(e @ Error::NameTaken(_)) => {
            assert!(e.to_string().contains("\"primary\""), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // ... and so does one naming itself like a derived one.
    match builder(scripted(1).0).name("udp://127.0.0.1:8125").start() {
        Err(Error::NameTaken(n)) => assert_eq!(n, "udp://127.0.0.1:8125"),
        other => panic!("{other:?}"),
    }
    match builder(scripted(1).0).name("").start() {
        Err(Error::Config(m)) => assert!(m.contains("name"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Names are per registry: another registry's exporter may take it.
    let other = Registry::new();
    let elsewhere = Exporter::builder(other.clone(), scripted(1).0)
        .interval(LONG)
        .self_metrics(&other)
        .name("primary")
        .start()
        .unwrap();
    assert_eq!(elsewhere.name(), "primary");
    // Without self-metrics nothing is claimed.
    let unreported = Exporter::builder(registry.clone(), scripted(1).0)
        .interval(LONG)
        .name("primary")
        .start()
        .unwrap();
    assert_eq!(unreported.name(), "primary");
    for e in [a, b, c, named, elsewhere, unreported] {
        e.shutdown().unwrap();
    }
    // All stopped: the name can be had again.
    builder(scripted(1).0).name("primary").start().unwrap();
}
