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
use std::time::Duration;

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
