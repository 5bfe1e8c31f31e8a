//! The StatsD monitor read back from the real npm `statsd` daemon (as the
//! StatsD sink's own tests run it): faust-streaming's statsd names, exact
//! counts, offsets and levels as gauges, latencies as StatsD timers
//! (count, upper, lower, sum as the daemon computes them); and revoked
//! partitions' gauges dropped while threads write.

#[path = "../../../exporters/statsd/tests/common/mod.rs"]
mod common;

use common::{StatsdDaemon, TimerStats};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_sensors::{ManualClock, Sensor, StatsdMonitor, StreamTask, TopicPartition};
use hotmetrics_statsd::StatsdSink;
use std::sync::Barrier;
use std::time::Duration;

#[test]
fn faust_statsd_names_read_back_from_the_daemon() {
    let daemon = StatsdDaemon::start();
    let manual = ManualClock::new();
    let statsd = StatsdMonitor::with_clock(100, manual.clock());
    let exporter = statsd
        .export_to(&daemon.address(), "faust-app", Duration::from_secs(3600))
        .unwrap();
    let tp = TopicPartition::new("orders", 3);
    for offset in 0..10 {
        let m = statsd.on_message_in(tp, offset);
        let e = statsd.on_stream_event_in(tp, offset, StreamTask::new("orders", "agent"));
        statsd.on_table_get("totals");
        statsd.on_table_set("totals");
        let s = statsd.on_send_initiated("invoices", 1, 1);
        manual.advance(Duration::from_millis(20));
        if offset == 9 {
            statsd.on_send_error("invoices", &"timed out", s);
        } else {
            statsd.on_send_completed("invoices", s);
        }
        statsd.on_stream_event_out(tp, offset, StreamTask::new("orders", "agent"), e);
        if offset < 8 {
            statsd.on_message_out(tp, offset, m);
        }
    }
    statsd.on_table_del("totals");
    let c = statsd.on_commit_initiated();
    statsd.on_tp_commit(&[(tp, 10)]);
    manual.advance(Duration::from_millis(7));
    statsd.on_commit_completed(c);
    statsd.on_partition_end_offset(tp, 25);
    let r = statsd.on_rebalance_start();
    manual.advance(Duration::from_millis(30));
    statsd.on_rebalance_return(r);
    let w = statsd.on_web_request_start("GET", "/");
    statsd.on_web_request_end("GET", "/", 503, w);
    statsd.count("orders_checked", 4);
    // A `-` in a name travels as written (plain StatsD keeps it).
    statsd.on_send_initiated("audit-log", 1, 1);

    let before = daemon.own("metrics_received");
    exporter.flush(Duration::from_secs(5)).unwrap();
    // Wait for whatever the export sent, then read it back.
    common::wait_for(Duration::from_secs(10), "lines at the daemon", || {
        let got = daemon.own("metrics_received");
        if got > before {
            Ok(())
        } else {
            Err(format!("{got} lines"))
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let counters = daemon.counters();
    let gauges = daemon.read("gauges");
    let p = "faust-app.";
    let count = |name: &str| {
        counters
            .get(&format!("{p}{name}"))
            .copied()
            .unwrap_or_else(|| panic!("no counter {p}{name} in {counters:?}"))
    };
    let gauge = |name: &str| {
        gauges
            .get(&format!("{p}{name}"))
            .copied()
            .unwrap_or_else(|| panic!("no gauge {p}{name} in {gauges:?}"))
    };
    assert_eq!(count("messages_received"), 10.0);
    assert_eq!(count("topic.orders.messages_received"), 10.0);
    assert_eq!(count("events"), 10.0);
    assert_eq!(count("stream.orders.events"), 10.0);
    assert_eq!(count("table.totals.keys_retrieved"), 10.0);
    assert_eq!(count("table.totals.keys_updated"), 10.0);
    assert_eq!(count("table.totals.keys_deleted"), 1.0);
    assert_eq!(count("topic.invoices.messages_sent"), 10.0);
    assert_eq!(count("messages_sent"), 9.0);
    assert_eq!(count("messages_sent_error"), 1.0);
    assert_eq!(count("http_status_code.503"), 1.0);
    assert_eq!(count("orders_checked"), 4.0);
    assert_eq!(count("topic.audit-log.messages_sent"), 1.0);
    // Latencies are timers (their samples, as the admin interface lists
    // them; their values in the test below), not histogram counters.
    assert!(
        !counters
            .keys()
            .any(|k| k.contains("latency") || k.contains("runtime")),
        "{counters:?}"
    );
    let timers = daemon.read("timers");
    let samples = |name: &str| timers.get(&format!("{p}{name}")).copied();
    assert_eq!(samples("send_latency"), Some(9.0));
    assert_eq!(samples("send_latency_for_error"), Some(1.0));
    assert_eq!(samples("events_runtime"), Some(10.0));
    assert_eq!(samples("commit_latency"), Some(1.0));
    assert_eq!(samples("rebalance_return_latency"), Some(1.0));
    assert_eq!(samples("http_response_latency"), Some(1.0));
    assert_eq!(daemon.own("bad_lines_seen"), 0.0);
    assert_eq!(gauge("read_offset.orders.3"), 9.0);
    assert_eq!(gauge("committed_offset.orders.3"), 10.0);
    assert_eq!(gauge("end_offset.orders.3"), 25.0);
    assert_eq!(gauge("messages_active"), 2.0, "a level, not ±1 counts");
    assert_eq!(gauge("rebalances_recovering"), 1.0);
    exporter.shutdown().unwrap();
}

/// The 8 latencies at the daemon as timers: count, upper, lower and sum
/// as it computes them at its flush, in milliseconds, from the start
/// (Faust's rebalance and HTTP latencies are ≈ 0).
#[test]
fn latencies_are_timers_at_the_daemon() {
    let daemon = StatsdDaemon::start_with_timers();
    let manual = ManualClock::new();
    let statsd = StatsdMonitor::with_clock(100, manual.clock());
    let exporter = statsd
        .export_to(&daemon.address(), "faust-app", Duration::from_secs(3600))
        .unwrap();
    assert!(
        statsd
            .export_to(&daemon.address(), "again", Duration::from_secs(3600))
            .is_err(),
        "the timers go to one sink"
    );
    let tp = TopicPartition::new("orders", 0);
    let ms = |n| manual.advance(Duration::from_millis(n));
    for (i, took) in [4u64, 16, 2].into_iter().enumerate() {
        let e = statsd.on_stream_event_in(tp, i as i64, StreamTask::new("orders", "agent"));
        ms(took);
        statsd.on_stream_event_out(tp, i as i64, StreamTask::new("orders", "agent"), e);
    }
    let s = statsd.on_send_initiated("out", 1, 1);
    ms(20);
    statsd.on_send_completed("out", s);
    let s = statsd.on_send_initiated("out", 1, 1);
    ms(8);
    statsd.on_send_completed("out", s);
    let s = statsd.on_send_initiated("out", 1, 1);
    ms(64);
    statsd.on_send_error("out", &"timed out", s);
    let c = statsd.on_commit_initiated();
    ms(7);
    statsd.on_commit_completed(c);
    let a = statsd.on_assignment_start();
    ms(3);
    statsd.on_assignment_completed(a);
    let r = statsd.on_rebalance_start();
    ms(30);
    statsd.on_rebalance_return(r);
    ms(15);
    statsd.on_rebalance_end(r);
    let w = statsd.on_web_request_start("GET", "/");
    ms(12);
    statsd.on_web_request_end("GET", "/", 200, w);
    exporter.flush(Duration::from_secs(5)).unwrap();
    let one = |v| TimerStats {
        count: 1.0,
        upper: v,
        lower: v,
        sum: v,
        samples: 1.0,
    };
    let timer = |name: &str, samples| daemon.wait_timer(&format!("faust-app.{name}"), samples);
    let stats = |count, upper, lower, sum| TimerStats {
        count,
        upper,
        lower,
        sum,
        samples: count,
    };
    assert_eq!(timer("events_runtime", 3.0), stats(3.0, 16.0, 2.0, 22.0));
    assert_eq!(timer("send_latency", 2.0), stats(2.0, 20.0, 8.0, 28.0));
    assert_eq!(timer("send_latency_for_error", 1.0), one(64.0));
    assert_eq!(timer("commit_latency", 1.0), one(7.0));
    assert_eq!(timer("assignment_latency", 1.0), one(3.0));
    assert_eq!(timer("rebalance_return_latency", 1.0), one(30.0));
    assert_eq!(timer("rebalance_end_latency", 1.0), one(45.0));
    assert_eq!(timer("http_response_latency", 1.0), one(12.0));
    assert_eq!(statsd.timings().dropped(), 0);
    exporter.shutdown().unwrap();
}

fn gauge(statsd: &StatsdMonitor, name: &str) -> Option<f64> {
    statsd.registry().snapshot().gauge(name, &[])
}

/// A revoke while 4 threads write messages for other partitions: the
/// revoked partition's offset gauges are gone from the registry right
/// after it, the others and every counter untouched; then each thread in
/// turn writes the revoked partition again, and its value shows at once
/// (a thread writing through a cached handle of the dropped gauge would
/// leave it missing or stale).
#[test]
fn a_revoke_drops_the_partitions_gauges_while_threads_write_others() {
    let statsd = StatsdMonitor::new(100);
    let threads = 4;
    let rounds = 2_000;
    let barrier = Barrier::new(threads + 1);
    let revoked = TopicPartition::new("t", 1);
    let names = ["read_offset.t.1", "committed_offset.t.1", "end_offset.t.1"];
    // What the main thread saw, checked after the threads are done (an
    // assertion failing among the barriers would leave them waiting).
    let mut after_revoke = Vec::new();
    let mut unwritten = Vec::new();
    let mut rewritten = Vec::new();
    let mut others = (false, None);
    std::thread::scope(|s| {
        for k in 0..threads {
            let (statsd, barrier) = (&statsd, &barrier);
            s.spawn(move || {
                // Every thread caches every partition, the revoked one too.
                for p in 0..4 {
                    let tp = TopicPartition::new("t", p);
                    statsd.on_message_in(tp, 1);
                    statsd.on_tp_commit(&[(tp, 2)]);
                    statsd.on_partition_end_offset(tp, 3);
                }
                barrier.wait();
                // The revoke comes during these.
                for i in 0..rounds {
                    for p in [0, 2, 3] {
                        let tp = TopicPartition::new("t", p);
                        statsd.on_message_in(tp, i);
                        statsd.on_partition_end_offset(tp, i + 1);
                    }
                }
                barrier.wait();
                // In turn: this thread writes the revoked partition.
                for turn in 0..threads {
                    barrier.wait();
                    if turn == k {
                        let v = 1000 + k as i64;
                        statsd.on_message_in(revoked, v);
                        statsd.on_tp_commit(&[(revoked, v + 1)]);
                        statsd.on_partition_end_offset(revoked, v + 2);
                    }
                    barrier.wait();
                }
            });
        }
        barrier.wait();
        std::thread::sleep(Duration::from_millis(2));
        statsd.on_partitions_revoked(&[revoked]);
        let read = |names: &[&str]| -> Vec<Option<f64>> {
            names.iter().map(|n| gauge(&statsd, n)).collect()
        };
        after_revoke = read(&names);
        others = (
            gauge(&statsd, "read_offset.t.0").is_some(),
            gauge(&statsd, "committed_offset.t.2"),
        );
        barrier.wait();
        unwritten = read(&names);
        for _ in 0..threads {
            barrier.wait();
            barrier.wait();
            rewritten.push(read(&names));
        }
    });
    assert_eq!(
        after_revoke,
        [None, None, None],
        "the revoked gauges gone right after the revoke"
    );
    assert_eq!(others, (true, Some(2.0)), "the others untouched");
    assert_eq!(unwritten, [None, None, None], "nobody wrote them since");
    for (k, got) in rewritten.into_iter().enumerate() {
        let v = 1000.0 + k as f64;
        assert_eq!(
            got,
            [Some(v), Some(v + 1.0), Some(v + 2.0)],
            "thread {k}'s writes"
        );
    }
    let last = f64::from(rounds as i32);
    assert_eq!(gauge(&statsd, "end_offset.t.0"), Some(last));
    assert_eq!(gauge(&statsd, "read_offset.t.3"), Some(last - 1.0));
    // Counters stay (monotonic): every message counted, none lost.
    let total = (threads * 4 + threads * 3 * rounds as usize + threads) as f64;
    let snapshot = statsd.registry().snapshot();
    assert_eq!(snapshot.counter("messages_received", &[]), Some(total));
    assert_eq!(
        snapshot.counter("topic.t.messages_received", &[]),
        Some(total)
    );
    assert_eq!(snapshot.counter("sensor_errors", &[]), Some(0.0));
}

/// The StatsD sink stops sending a revoked partition's gauges, and sends
/// them afresh once it is assigned again.
#[test]
fn the_sink_stops_sending_a_revoked_partitions_gauges() {
    let statsd = StatsdMonitor::new(100);
    let mut sink = StatsdSink::udp("127.0.0.1:9").build().unwrap();
    let mut export = || {
        let mut batch = Batch::default();
        sink.encode(statsd.registry(), &mut batch).unwrap();
        let mut lines = Vec::new();
        for p in batch.payloads() {
            lines.extend(
                std::str::from_utf8(&p.bytes)
                    .unwrap()
                    .split('\n')
                    .map(str::to_owned),
            );
        }
        lines
    };
    let (a, b) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
    statsd.on_message_in(a, 5);
    statsd.on_message_in(b, 7);
    let lines = export();
    assert!(
        lines.contains(&"read_offset.t.1:7|g".to_owned()),
        "{lines:?}"
    );
    statsd.on_partitions_revoked(&[b]);
    statsd.on_message_in(a, 6);
    let lines = export();
    assert!(
        lines.contains(&"read_offset.t.0:6|g".to_owned()),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("t.1")), "{lines:?}");
    assert!(lines.contains(&"topic.t.messages_received:1|c".to_owned()));
    // Nothing more about it while it is not assigned.
    assert!(!export().iter().any(|l| l.contains("t.1")));
    // Assigned again: a new gauge, sent at its first value.
    statsd.on_message_in(b, 7);
    let lines = export();
    assert!(
        lines.contains(&"read_offset.t.1:7|g".to_owned()),
        "{lines:?}"
    );
}
