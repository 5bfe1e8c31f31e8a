//! What a send does when the receiver is not there or not reading: it
//! never blocks, the runtime retries it, and memory stays bounded by the
//! queue. Also: bad configurations fail at build, and two exporters on
//! one registry keep apart.

mod common;

use common::{TempDir, free_udp_port};
use hotmetrics_core::Registry;
use hotmetrics_export::{Batch, Exporter, Payload, SendError, Sink};
use hotmetrics_statsd::{Error, StatsdSink};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

#[test]
fn a_dead_udp_receiver_never_blocks_and_the_queue_stays_bounded() {
    // Nothing listens on the port: the kernel answers each datagram with
    // "port unreachable", which the connected socket reports.
    let port = free_udp_port();
    let registry = Registry::new();
    let jobs = registry.counter_vec(("jobs", "Jobs."), &["n"]).unwrap();
    let series: Vec<_> = (0..200)
        .map(|i| jobs.get_or_create(&[&i.to_string()]).unwrap())
        .collect();
    let sink = StatsdSink::udp(format!("127.0.0.1:{port}"))
        .build()
        .unwrap();
    let exporter = Exporter::builder(registry.clone(), sink)
        .interval(Duration::from_millis(5))
        .queue_capacity(4)
        .backoff(Duration::from_millis(1), Duration::from_millis(20))
        .shutdown_timeout(Duration::from_millis(200))
        .start()
        .unwrap();
    let started = Instant::now();
    let mut max_queued = 0;
    while started.elapsed() < Duration::from_secs(2) {
        for s in &series {
            s.inc();
        }
        max_queued = max_queued.max(exporter.stats().queued_batches);
        std::thread::sleep(Duration::from_millis(2));
    }
    let stats = exporter.stats();
    assert!(stats.retries > 0, "refused sends are retried: {stats:?}");
    assert!(max_queued <= 4, "at most the queue capacity: {max_queued}");
    assert!(stats.exports > 50, "exports went on every 5 ms: {stats:?}");
    let stopping = Instant::now();
    let _ = exporter.shutdown();
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "shutdown within its timeout"
    );
}

#[test]
fn a_full_unix_socket_is_retryable_at_once() {
    let dir = TempDir::new("full");
    let path = dir.0.join("s");
    // A receiver that never reads.
    let _receiver = UnixDatagram::bind(&path).unwrap();
    let mut sink = StatsdSink::unix(&path).build().unwrap();
    let payload = Payload {
        bytes: vec![b'x'; 8000],
        samples: 1,
    };
    let mut outcome = Ok(());
    for _ in 0..10_000 {
        let started = Instant::now();
        outcome = sink.send(&payload);
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "a send never waits"
        );
        if outcome.is_err() {
            break;
        }
    }
    match outcome {
        Err(SendError::Retryable { message, .. }) => assert!(message.contains("full"), "{message}"),
        other => panic!("the buffer filled: want a retryable error, got {other:?}"),
    }
}

#[test]
fn a_unix_receiver_may_come_later_and_go_away() {
    let dir = TempDir::new("later");
    let path = dir.0.join("s");
    let registry = Registry::new();
    registry.counter(("c", "C.")).unwrap().inc();
    let mut sink = StatsdSink::unix(&path)
        .build()
        .expect("no socket yet is fine");
    let mut batch = Batch::default();
    sink.encode(&registry, &mut batch).unwrap();
    let payload = &batch.payloads()[0];
    assert!(matches!(
        sink.send(payload),
        Err(SendError::Retryable { .. })
    ));
    let receiver = UnixDatagram::bind(&path).unwrap();
    sink.send(payload).unwrap();
    let mut buf = [0u8; 64];
    let n = receiver.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"c:1|c");
    // The receiver restarts on the same path: the sink connects again.
    drop(receiver);
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        sink.send(payload),
        Err(SendError::Retryable { .. })
    ));
    let receiver = UnixDatagram::bind(&path).unwrap();
    sink.send(payload).unwrap();
    let n = receiver.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"c:1|c");
}

#[test]
fn bad_configurations_fail_at_build() {
    let err = |b: hotmetrics_statsd::StatsdBuilder| b.build().expect_err("must not build");
    assert!(matches!(
        err(StatsdSink::udp("no-port")),
        Error::Address { .. }
    ));
    assert!(matches!(
        err(StatsdSink::udp("127.0.0.1:notaport")),
        Error::Address { .. }
    ));
    assert!(matches!(
        err(StatsdSink::udp("127.0.0.1:8125").max_packet_size(0)),
        Error::PacketSize(0)
    ));
    assert!(matches!(
        err(StatsdSink::udp("127.0.0.1:8125").max_packet_size(65_508)),
        Error::PacketSize(65_508)
    ));
    assert!(matches!(err(StatsdSink::unix("")), Error::Path(_)));
    assert!(matches!(
        err(StatsdSink::unix("/".repeat(108))),
        Error::Path(_)
    ));
    let message = err(StatsdSink::udp("no-port")).to_string();
    assert!(
        message.contains("no-port") && message.contains("host:port"),
        "{message}"
    );
}

#[test]
fn two_exporters_to_one_daemon_keep_their_own_self_metrics() {
    // A plain StatsD and a DogStatsD exporter of one registry to one
    // receiver, both reporting into that registry: each is named after
    // the address, the second numbered, and each counts its own lines.
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = receiver.local_addr().unwrap().to_string();
    let registry = Registry::new();
    let jobs = registry.counter_vec(("jobs", "Jobs."), &["n"]).unwrap();
    for i in 0..3 {
        jobs.get_or_create(&[&i.to_string()]).unwrap().inc();
    }
    let start = |sink| {
        Exporter::builder(registry.clone(), sink)
            .interval(Duration::from_secs(3600))
            .self_metrics(&registry)
            .start()
            .unwrap()
    };
    let plain = start(StatsdSink::udp(&address).build().unwrap());
    let dog = start(
        StatsdSink::udp(&address)
            .dialect(hotmetrics_statsd::Dialect::DogStatsd)
            .build()
            .unwrap(),
    );
    let name = format!("udp://{address}");
    assert_eq!(plain.name(), name);
    assert_eq!(dog.name(), format!("{name}#2"));
    // Each export: the jobs and the self-metrics' gauges (new); the
    // second also the first one's sent count, which moved meanwhile.
    plain.flush(Duration::from_secs(5)).unwrap();
    dog.flush(Duration::from_secs(5)).unwrap();
    plain.flush(Duration::from_secs(5)).unwrap();
    let (p, d) = (plain.stats(), dog.stats());
    assert!(p.samples_sent > 3 && d.samples_sent > 3, "{p:?} {d:?}");
    // Each series holds its own exporter's count (one shared series
    // would hold their sum).
    let snapshot = registry.snapshot();
    for (exporter, stats) in [(plain.name(), p), (dog.name(), d)] {
        let sent = snapshot.counter(
            "hotmetrics_export_samples_sent",
            &[("sink", "statsd"), ("exporter", exporter)],
        );
        assert_eq!(sent, Some(stats.samples_sent as f64), "{exporter}");
    }
    plain.shutdown().unwrap();
    dog.shutdown().unwrap();
}
