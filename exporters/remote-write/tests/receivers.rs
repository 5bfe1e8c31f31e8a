//! End to end with real receivers, started here on free loopback ports:
//! Debian's Prometheus 2.42 (`--web.enable-remote-write-receiver`) and
//! VictoriaMetrics. After an export, their query APIs return exactly the
//! fixture registry's values, histogram buckets included, with the
//! external labels. A missing receiver fails the test: `./test.sh`
//! installs both.

mod common;

use common::{Kind, Receiver, fixture, fixture_series};
use hotmetrics_export::Exporter;
use hotmetrics_remote_write::RemoteWrite;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn write_fixture_to(kind: Kind) -> Receiver {
    let receiver = Receiver::start(kind);
    let sink = RemoteWrite::builder(receiver.write_url())
        .external_label("job", "rw-test")
        .external_label("instance", "host-1")
        // Several requests per export.
        .max_samples_per_request(4)
        .build()
        .unwrap();
    let exporter = Exporter::builder(fixture(), sink)
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    exporter.flush(Duration::from_secs(10)).unwrap();
    let stats = exporter.stats();
    assert_eq!(stats.samples_sent, 11, "{stats:?}\n{}", receiver.log_tail());
    assert_eq!((stats.samples_failed, stats.retries), (0, 0), "{stats:?}");
    exporter.shutdown().unwrap();
    receiver
}

#[test]
fn prometheus_stores_exactly_the_registry() {
    let prometheus = write_fixture_to(Kind::Prometheus);
    prometheus.expect(r#"{job="rw-test"}"#, &fixture_series());
}

#[test]
fn victoria_metrics_stores_exactly_the_registry() {
    let vm = write_fixture_to(Kind::VictoriaMetrics);
    vm.expect(r#"{job="rw-test"}"#, &fixture_series());
}

/// VictoriaMetrics goes away for 10 s while two writers keep counting,
/// and comes back: the counters read back exactly (they are cumulative),
/// the queue drains, what was dropped is counted (the queue held at most
/// its capacity meanwhile) and every export is accounted for.
#[test]
fn counters_read_back_exactly_after_a_receiver_outage() {
    const CAPACITY: usize = 4;
    let mut vm = Receiver::start(Kind::VictoriaMetrics);
    let registry = hotmetrics_core::Registry::new();
    let events = registry
        .counter_vec(("rw_outage_events", "Events counted."), &["writer"])
        .unwrap();
    let own = hotmetrics_core::Registry::new();
    let sink = RemoteWrite::builder(vm.write_url())
        .external_label("job", "outage")
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let exporter = Exporter::builder(registry.clone(), sink)
        .interval(Duration::from_millis(200))
        .queue_capacity(CAPACITY)
        .backoff(Duration::from_millis(50), Duration::from_millis(400))
        .self_metrics(&own)
        .start()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|i| {
            let counter = events.get_or_create(&[&i.to_string()]).unwrap();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    counter.inc();
                    n += 1;
                    if n.is_multiple_of(64) {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    vm.stop();
    let outage = Instant::now();
    let mut max_queued = 0;
    while outage.elapsed() < Duration::from_secs(10) {
        max_queued = max_queued.max(exporter.stats().queued_batches);
        std::thread::sleep(Duration::from_millis(50));
    }
    vm.restart();
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let totals: Vec<u64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    exporter.flush(Duration::from_secs(15)).unwrap();
    let stats = exporter.stats();
    assert_eq!(stats.queued_batches, 0, "drained: {stats:?}");
    assert!(max_queued <= CAPACITY as u64, "queue grew to {max_queued}");
    assert!(
        stats.samples_dropped > 0,
        "10 s of 200 ms exports fit no 4-batch queue: {stats:?}"
    );
    assert_eq!(
        stats.samples_sent + stats.samples_dropped + stats.samples_failed,
        2 * stats.exports,
        "every export (2 samples) sent or dropped: {stats:?}"
    );
    assert_eq!(stats.samples_failed, 0);
    let dropped = own.snapshot().counter(
        "hotmetrics_export_samples_dropped",
        &[("sink", "remote_write"), ("exporter", exporter.name())],
    );
    assert_eq!(dropped, Some(stats.samples_dropped as f64));
    let want = totals
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let key = format!(r#"{{__name__="rw_outage_events_total",job="outage",writer="{i}"}}"#);
            (key, n as f64)
        })
        .collect();
    vm.expect(r#"rw_outage_events_total{job="outage"}"#, &want);
    exporter.shutdown().unwrap();
}
