//! Writers are not slowed by a running exporter: `counter_inc` from 2
//! threads (each on its own counter) on a registry of 10,000 counters and
//! 1,000 histograms, without an exporter, then with one exporting through
//! the StatsD sink every 10 ms (to a loopback UDP socket that a thread
//! drains), then through remote write 1.0 every 10 ms and every second
//! (to a loopback HTTP receiver that a thread answers with 204). One run,
//! every case: `cargo bench -p hotmetrics-export`. Prints how many
//! exports ran during each measurement.
//!
//! Every 10 ms is far more often than anyone exports (15 s to 1 min is
//! usual): an export of this registry takes milliseconds, so the
//! exporter's thread is busy most of the time, and on a machine with no
//! core to spare it takes CPU time from the writers (never a lock). Every
//! second is the realistic case.

use criterion::{Criterion, criterion_group, criterion_main};
use hotmetrics_core::{Buckets, Counter, DEFAULT_BUCKETS, Registry};
use hotmetrics_export::{Exporter, ExporterHandle, Sink};
use hotmetrics_remote_write::RemoteWrite;
use hotmetrics_statsd::StatsdSink;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const THREADS: usize = 2;

/// The registry, and one counter per writer thread.
fn workload() -> (Registry, Vec<Counter>) {
    let registry = Registry::new();
    let c = registry
        .counter_vec(("consumed_messages", "Messages."), &["topic", "partition"])
        .unwrap();
    let h = registry
        .histogram_vec(
            ("handle_seconds", "Handling time."),
            Buckets::new(DEFAULT_BUCKETS.to_vec()).unwrap(),
            &["handler"],
        )
        .unwrap();
    let counters: Vec<Counter> = (0..10_000)
        .map(|i| {
            c.get_or_create(&[&format!("topic-{}", i / 100), &(i % 100).to_string()])
                .unwrap()
        })
        .collect();
    for i in 0..1_000 {
        h.get_or_create(&[&format!("handler-{i}")])
            .unwrap()
            .observe(0.01);
    }
    let writers = (0..THREADS).map(|t| counters[t * 4999].clone()).collect();
    (registry, writers)
}

/// `iters` increments on each of the writers' threads, all started at
/// once; the time until the last one is done.
fn incs(writers: &[Counter], iters: u64) -> Duration {
    let start = Arc::new(Barrier::new(writers.len() + 1));
    let threads: Vec<_> = writers
        .iter()
        .map(|c| {
            let (c, start) = (c.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for _ in 0..iters {
                    black_box(&c).inc();
                }
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    for th in threads {
        th.join().unwrap();
    }
    t.elapsed()
}

/// A loopback UDP socket drained by a thread; its address.
fn udp_receiver() -> String {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = receiver.local_addr().unwrap().to_string();
    thread::spawn(move || {
        let mut buf = [0u8; 65_536];
        while receiver.recv(&mut buf).is_ok() {}
    });
    address
}

/// A loopback HTTP/1.1 receiver answering every request with 204 (a
/// thread per connection, kept alive); its write URL.
fn http_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            thread::spawn(move || answer_204(conn));
        }
    });
    url
}

fn answer_204(conn: TcpStream) {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    let mut body = Vec::new();
    loop {
        let mut length = 0;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        body.resize(length, 0);
        if reader.read_exact(&mut body).is_err()
            || reader
                .get_mut()
                .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .is_err()
        {
            return;
        }
    }
}

/// Measures the writers with `sink` exporting `registry` every
/// `interval`, and prints what the exporter did meanwhile.
fn with_exporter(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    registry: &Registry,
    writers: &[Counter],
    sink: impl Sink,
    interval: Duration,
) {
    let exporter: ExporterHandle = Exporter::builder(registry.clone(), sink)
        .interval(interval)
        .start()
        .unwrap();
    group.bench_function(name, |b| b.iter_custom(|n| incs(writers, n)));
    let stats = exporter.stats();
    println!(
        "{name}: {} exports, {} samples sent, {} dropped, {} retries",
        stats.exports, stats.samples_sent, stats.samples_dropped, stats.retries
    );
    exporter.shutdown().unwrap();
}

fn counter_inc(c: &mut Criterion) {
    let (registry, writers) = workload();
    let mut group = c.benchmark_group("counter_inc_2_threads");
    group.bench_function("no_exporter", |b| b.iter_custom(|n| incs(&writers, n)));
    let statsd = StatsdSink::udp(udp_receiver()).build().unwrap();
    let ms10 = Duration::from_millis(10);
    with_exporter(
        &mut group,
        "statsd_exporter_every_10ms",
        &registry,
        &writers,
        statsd,
        ms10,
    );
    let url = http_receiver();
    for (name, interval) in [
        ("remote_write_exporter_every_10ms", ms10),
        ("remote_write_exporter_every_1s", Duration::from_secs(1)),
    ] {
        let sink = RemoteWrite::builder(url.clone()).build().unwrap();
        with_exporter(&mut group, name, &registry, &writers, sink, interval);
    }
    group.finish();
}

criterion_group!(benches, counter_inc);
criterion_main!(benches);
