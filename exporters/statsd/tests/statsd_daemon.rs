//! Against the real npm `statsd` daemon (etsy/statsd 0.9.0, run with
//! Node.js; read back through its admin interface): exact counter deltas
//! over several exports, gauges (negative ones too), histogram buckets,
//! folded names, DogStatsD tags, packets of the configured size, and
//! timers (`|ms`): count, upper, lower and sum as the daemon computes
//! them at its flush, the count with a sample rate too.

mod common;

use common::{StatsdDaemon, TimerStats};
use hotmetrics_core::{Buckets, Registry};
use hotmetrics_export::{Exporter, ExporterHandle};
use hotmetrics_statsd::{DEFAULT_UDP_PACKET_SIZE, Dialect, StatsdSink, Timings};
use std::collections::BTreeMap;
use std::time::Duration;

fn exporter(
    registry: &Registry,
    daemon: &StatsdDaemon,
    dialect: Dialect,
    packet: usize,
) -> ExporterHandle {
    let sink = StatsdSink::udp(daemon.address())
        .dialect(dialect)
        .prefix("t")
        .max_packet_size(packet)
        .build()
        .expect("the sink builds");
    Exporter::builder(registry.clone(), sink)
        .interval(Duration::from_secs(3600))
        .start()
        .expect("the exporter starts")
}

/// An exporter of an empty registry and `timings` to `daemon`, under the
/// prefix `t`, exporting only when flushed.
fn timer_exporter(daemon: &StatsdDaemon, timings: &Timings, packet: usize) -> ExporterHandle {
    let sink = StatsdSink::udp(daemon.address())
        .prefix("t")
        .max_packet_size(packet)
        .timings(timings.clone())
        .build()
        .expect("the sink builds");
    Exporter::builder(Registry::new(), sink)
        .interval(Duration::from_secs(3600))
        .start()
        .expect("the exporter starts")
}

fn map<const N: usize>(pairs: [(&str, f64); N]) -> BTreeMap<String, f64> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Exports now, then waits until the daemon counted `lines` more lines.
fn export(exporter: &ExporterHandle, daemon: &StatsdDaemon, lines: f64) {
    let before = daemon.own("metrics_received");
    exporter
        .flush(Duration::from_secs(5))
        .expect("the export is sent");
    daemon.wait_metrics(before + lines);
}

#[test]
fn plain_deltas_gauges_and_buckets_read_back_exactly() {
    let daemon = StatsdDaemon::start();
    let registry = Registry::new();
    let requests = registry
        .counter_vec(("requests", "Requests."), &["path"])
        .unwrap();
    let bytes = registry.counter_f64(("bytes", "Bytes.")).unwrap();
    let level = registry.gauge(("level", "A level.")).unwrap();
    let took = registry
        .histogram(
            ("took_seconds", "Time."),
            Buckets::new(vec![0.5, 1.0]).unwrap(),
        )
        .unwrap();
    let a = requests.get_or_create(&["/a.b:c"]).unwrap();
    let x = requests.get_or_create(&["x"]).unwrap();
    let exporter = exporter(&registry, &daemon, Dialect::Plain, 1432);

    a.inc_by(3);
    x.inc_by(5);
    level.set(7);
    for v in [0.25, 0.75, 3.0] {
        took.observe(v);
    }
    // 2 counters, 1 gauge, count, sum, 2 buckets.
    export(&exporter, &daemon, 7.0);
    assert_eq!(
        daemon.counters(),
        map([
            ("t.requests.path._a_b_c", 3.0),
            ("t.requests.path.x", 5.0),
            ("t.took_seconds_bucket.le.0_5", 1.0),
            ("t.took_seconds_bucket.le.1", 2.0),
            ("t.took_seconds_count", 3.0),
            ("t.took_seconds_sum", 4.0),
        ])
    );
    assert_eq!(daemon.read("gauges"), map([("t.level", 7.0)]));

    // Only what changed: a's increase, and the gauge (as 0 then -5, or
    // StatsD would subtract 5 from 7).
    a.inc_by(4);
    level.set(-5);
    export(&exporter, &daemon, 3.0);
    let counters = daemon.counters();
    assert_eq!(counters["t.requests.path._a_b_c"], 7.0, "{counters:?}");
    assert_eq!(counters["t.requests.path.x"], 5.0, "{counters:?}");
    assert_eq!(daemon.read("gauges"), map([("t.level", -5.0)]));

    // Nothing changed: nothing sent.
    let sent = exporter.stats().samples_sent;
    let received = daemon.own("metrics_received");
    exporter.flush(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(exporter.stats().samples_sent, sent);
    assert_eq!(daemon.own("metrics_received"), received);

    // A float counter, a histogram's next observations, the gauge back up.
    bytes.inc_by(0.5).unwrap();
    bytes.inc_by(0.25).unwrap();
    took.observe(0.5);
    took.observe(10.0);
    level.set(2);
    // bytes, count, sum, le=0.5, le=1 (the cumulative buckets moved), gauge.
    export(&exporter, &daemon, 6.0);
    let counters = daemon.counters();
    assert_eq!(counters["t.bytes"], 0.75);
    assert_eq!(counters["t.took_seconds_count"], 5.0);
    assert_eq!(counters["t.took_seconds_sum"], 14.5);
    assert_eq!(counters["t.took_seconds_bucket.le.0_5"], 2.0);
    assert_eq!(counters["t.took_seconds_bucket.le.1"], 3.0);
    assert_eq!(daemon.read("gauges"), map([("t.level", 2.0)]));

    // Histograms are counters: no timers; every line was well-formed.
    assert!(daemon.read("timers").is_empty());
    assert_eq!(daemon.own("bad_lines_seen"), 0.0);
    exporter.shutdown().unwrap();
}

#[test]
fn dogstatsd_tags_reach_the_daemon() {
    // statsd 0.9 reads DogStatsD's `|#k:v,k2:v2` as Graphite tags,
    // `name;k=v;k2=v2`.
    let daemon = StatsdDaemon::start();
    let registry = Registry::new();
    let requests = registry
        .counter_vec(("requests", "Requests."), &["method", "code"])
        .unwrap();
    let temp = registry
        .gauge_vec(("temp", "Temperature."), &["room"])
        .unwrap();
    let get = requests.get_or_create(&["GET", "200"]).unwrap();
    let post = requests.get_or_create(&["POST", "500"]).unwrap();
    let exporter = exporter(&registry, &daemon, Dialect::DogStatsd, 1432);
    get.inc_by(2);
    post.inc();
    temp.get_or_create(&["kitchen"]).unwrap().set(21);
    export(&exporter, &daemon, 3.0);
    get.inc_by(10);
    export(&exporter, &daemon, 1.0);
    assert_eq!(
        daemon.counters(),
        map([
            ("t.requests;method=GET;code=200", 12.0),
            ("t.requests;method=POST;code=500", 1.0),
        ])
    );
    assert_eq!(daemon.read("gauges"), map([("t.temp;room=kitchen", 21.0)]));
    assert_eq!(daemon.own("bad_lines_seen"), 0.0);
}

#[test]
fn many_series_fill_small_packets_and_all_arrive() {
    let daemon = StatsdDaemon::start();
    let registry = Registry::new();
    let family = registry
        .counter_vec(("jobs", "Jobs."), &["worker"])
        .unwrap();
    for i in 0..300u64 {
        family
            .get_or_create(&[&format!("w{i:03}")])
            .unwrap()
            .inc_by(i + 1);
    }
    let exporter = exporter(&registry, &daemon, Dialect::Plain, 200);
    export(&exporter, &daemon, 300.0);
    let counters = daemon.counters();
    assert_eq!(counters.len(), 300);
    for i in 0..300u64 {
        assert_eq!(counters[&format!("t.jobs.worker.w{i:03}")], (i + 1) as f64);
    }
    // "t.jobs.worker.w000:1|c" is 22 to 24 bytes: 8 to a 200-byte packet.
    let packets = daemon.own("packets_received");
    assert!((38.0..=40.0).contains(&packets), "{packets} packets");
    assert_eq!(daemon.own("bad_lines_seen"), 0.0);
}

#[test]
fn timers_read_back_from_the_daemon_with_their_sample_rate() {
    let daemon = StatsdDaemon::start_with_timers();
    let timings = Timings::with_capacity(8);
    let took = timings.timer("took").unwrap();
    let full = timings.timer("full").unwrap();
    let exporter = timer_exporter(&daemon, &timings, 64);
    let stats = |count, upper, lower, sum, samples| TimerStats {
        count,
        upper,
        lower,
        sum,
        samples,
    };
    // Two threads, exact binary values (sums exact in any order).
    std::thread::scope(|s| {
        s.spawn(|| [0.25, 12.75].map(|v| took.record_ms(v)));
        s.spawn(|| [1.5, 3.0].map(|v| took.record(Duration::from_secs_f64(v / 1000.0))));
    });
    took.record_ms(f64::NAN);
    exporter.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(
        daemon.wait_timer("t.took", 4.0),
        stats(4.0, 12.75, 0.25, 17.5, 4.0)
    );
    // The next export adds only the new sample (the daemon's totals
    // over its flushes: 5 samples in all).
    took.record_ms(100.5);
    exporter.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(
        daemon.wait_timer("t.took", 5.0),
        stats(5.0, 100.5, 0.25, 118.0, 5.0)
    );
    assert_eq!(took.refused(), 1);

    // 16 recorded into a ring of 8: 8 sent at rate 0.5, counted as 16.
    for v in 1..=16 {
        full.record_ms(f64::from(v));
    }
    assert_eq!(full.dropped(), 8);
    exporter.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(
        daemon.wait_timer("t.full", 8.0),
        stats(16.0, 8.0, 1.0, 36.0, 8.0)
    );
    exporter.shutdown().unwrap();
}

/// 13 recorded, 5 sent (a ring of 4 that dropped 8, and this thread's
/// one sample): the lines carry integer weights (three of 3, two of 2, as
/// `@0.3333333333333333` and `@0.5`), so the daemon's count is exactly 13
/// (a rate of 5/13 on every line counts 12.999999999999998 here, and 5 at
/// the Datadog agent, which adds `int64(1/rate)`).
#[test]
fn a_rate_with_a_fractional_inverse_still_counts_exactly() {
    let daemon = StatsdDaemon::start_with_timers();
    let timings = Timings::with_capacity(4);
    let took = timings.timer("took").unwrap();
    let exporter = timer_exporter(&daemon, &timings, DEFAULT_UDP_PACKET_SIZE);
    // Two rings: this thread's and (alive meanwhile) another's.
    took.record_ms(2.0);
    std::thread::scope(|s| {
        s.spawn(|| (1..=12).for_each(|v| took.record_ms(f64::from(v))));
    });
    assert_eq!(took.dropped(), 8);
    exporter.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(
        daemon.wait_timer("t.took", 5.0),
        TimerStats {
            count: 13.0,
            upper: 4.0,
            lower: 1.0,
            sum: 12.0,
            samples: 5.0,
        }
    );
    exporter.shutdown().unwrap();
}
