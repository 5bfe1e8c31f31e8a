//! Rates and latency summaries equal a reference computed in the test from
//! the same event log; histories stay bounded and keep the most recent.

use hotmetrics_sensors::{ManualClock, Monitor, Sensor, StreamTask, TopicPartition};
use std::time::Duration;

/// The one stream, run by one task.
const S: StreamTask<'static> = StreamTask::new("s", "agent");

fn at(manual: &ManualClock, seconds: f64) {
    manual.set(Duration::from_secs_f64(seconds));
}

/// The reference rate at read `now`: events since the newest earlier kept
/// read at least `window` old (or the start, time 0), over the time since.
/// A read is kept when it comes `window / 8` or more after the last kept.
fn reference_rate(log: &[f64], reads: &[f64], now: f64, window: f64) -> f64 {
    let from = reads
        .iter()
        .copied()
        .filter(|&t| t <= now - window)
        .fold(0.0, f64::max);
    let n = log.iter().filter(|&&t| t > from && t <= now).count();
    n as f64 / (now - from)
}

#[test]
fn rates_follow_the_event_log() {
    let manual = ManualClock::new();
    let monitor = Monitor::builder()
        .clock(manual.clock())
        .rate_window(Duration::from_secs(2))
        .build(&hotmetrics_core::Registry::new())
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    // Message times: bursts of different sizes.
    let mut log = Vec::new();
    for (i, n) in [5, 0, 12, 3, 40, 1, 0, 7].iter().enumerate() {
        for k in 0..*n {
            log.push(i as f64 + 0.01 * (k + 1) as f64);
        }
    }
    let reads = [0.5, 1.9, 2.5, 4.2, 4.3, 7.9];
    let mut done_reads = Vec::new();
    let mut next = 0;
    for &now in &reads {
        while next < log.len() && log[next] <= now {
            at(&manual, log[next]);
            monitor.on_message_in(tp, next as i64);
            let e = monitor.on_stream_event_in(tp, next as i64, S);
            monitor.on_stream_event_out(tp, next as i64, S, e);
            let s = monitor.on_send_initiated("out", 1, 1);
            monitor.on_send_completed("out", s);
            next += 1;
        }
        at(&manual, now);
        let snap = monitor.snapshot();
        let want = reference_rate(&log, &done_reads, now, 2.0);
        for (what, got) in [
            ("messages", snap.messages_s),
            ("events", snap.events_s),
            ("sends", snap.sends_s),
        ] {
            assert!(
                (got - want).abs() < 1e-9,
                "{what} at {now}: {got} != {want}"
            );
        }
        if now - done_reads.last().copied().unwrap_or(0.0) >= 2.0 / 8.0 {
            done_reads.push(now);
        }
    }
    assert_eq!(done_reads, [0.5, 1.9, 2.5, 4.2, 7.9], "4.3 came too soon");
}

/// An independent case, worked out by hand: a window of 1 s.
#[test]
fn rates_worked_out_by_hand() {
    let manual = ManualClock::new();
    let monitor = Monitor::builder()
        .clock(manual.clock())
        .rate_window(Duration::from_secs(1))
        .build(&hotmetrics_core::Registry::new())
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    let messages = |n: i64| {
        for o in 0..n {
            monitor.on_message_in(tp, o);
        }
    };
    at(&manual, 0.5);
    messages(10);
    at(&manual, 1.0);
    assert_eq!(
        monitor.snapshot().messages_s,
        10.0,
        "10 in the first second"
    );
    at(&manual, 1.5);
    messages(30);
    at(&manual, 2.0);
    assert_eq!(
        monitor.snapshot().messages_s,
        30.0,
        "30 since the read at 1.0"
    );
    at(&manual, 2.05);
    let rate = monitor.snapshot().messages_s;
    assert!((rate - 30.0 / 1.05).abs() < 1e-9, "still from 1.0: {rate}");
    at(&manual, 3.0);
    assert_eq!(
        monitor.snapshot().messages_s,
        0.0,
        "none since the read at 2.0 (2.05 was too soon to be kept)"
    );
}

#[test]
fn latency_summaries_match_the_log_and_histories_are_bounded() {
    let manual = ManualClock::new();
    let monitor = Monitor::builder()
        .clock(manual.clock())
        .max_avg_history(10)
        .build(&hotmetrics_core::Registry::new())
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    let mut t = 0.0;
    let mut runtimes = Vec::new();
    let mut sends = Vec::new();
    // Alternate between two threads, so the history merges two rings.
    for i in 0..57u32 {
        let runtime = f64::from(i % 7) * 0.001 + 0.0005 * f64::from(i);
        let send = f64::from(i % 5) * 0.01;
        std::thread::scope(|s| {
            s.spawn(|| {
                at(&manual, t);
                let e = monitor.on_stream_event_in(tp, 0, S);
                let st = monitor.on_send_initiated("out", 1, 1);
                at(&manual, t + send);
                monitor.on_send_completed("out", st);
                at(&manual, t + runtime);
                monitor.on_stream_event_out(tp, 0, S, e);
            });
        });
        // The history orders by completion time.
        runtimes.push((t + runtime, runtime));
        sends.push((t + send, send));
        t += 1.0;
    }
    let last = |v: &mut Vec<(f64, f64)>, n: usize| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v[v.len() - n..]
            .iter()
            .map(|&(_, x)| x)
            .collect::<Vec<f64>>()
    };
    let want_runtimes = last(&mut runtimes, 10);
    let want_sends = last(&mut sends, 30);
    let snap = monitor.snapshot();
    let close = |a: &[f64], b: &[f64]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    };
    assert!(
        close(&snap.events_runtime, &want_runtimes),
        "{:?} != {want_runtimes:?}",
        snap.events_runtime
    );
    assert!(
        close(&snap.send_latency, &want_sends),
        "{:?}",
        snap.send_latency
    );
    let stats = &snap.latency.events_runtime;
    let mean = want_runtimes.iter().sum::<f64>() / 10.0;
    let mut sorted = want_runtimes.clone();
    sorted.sort_by(f64::total_cmp);
    assert!((stats.mean.unwrap() - mean).abs() < 1e-9);
    assert!((stats.median.unwrap() - (sorted[4] + sorted[5]) / 2.0).abs() < 1e-9);
    assert!((stats.max.unwrap() - sorted[9]).abs() < 1e-9);
    assert_eq!(
        snap.events_runtime_avg, stats.median,
        "Faust's *_avg is the median"
    );
    assert_eq!(snap.latency.send.count, 30);
    assert_eq!(snap.events_total, 57);
}

#[test]
fn every_history_has_its_bound() {
    let manual = ManualClock::new();
    let monitor = Monitor::builder()
        .clock(manual.clock())
        .max_avg_history(4)
        .max_commit_latency_history(2)
        .max_send_latency_history(3)
        .max_assignment_latency_history(5)
        .build(&hotmetrics_core::Registry::new())
        .unwrap();
    for i in 0..50u64 {
        at(&manual, i as f64);
        let c = monitor.on_commit_initiated();
        let a = monitor.on_assignment_start();
        let r = monitor.on_rebalance_start();
        let w = monitor.on_web_request_start("GET", "/x");
        at(&manual, i as f64 + 0.5);
        monitor.on_commit_completed(c);
        monitor.on_assignment_completed(a);
        monitor.on_rebalance_return(r);
        monitor.on_rebalance_end(r);
        monitor.on_web_request_end("GET", "/x", 200, w);
    }
    let s = monitor.snapshot();
    assert_eq!(s.commit_latency, [0.5; 2]);
    assert_eq!(s.assignment_latency, [0.5; 5]);
    assert_eq!(s.rebalance_return_latency, [0.5; 4]);
    assert_eq!(s.rebalance_end_latency, [0.5; 4]);
    assert_eq!(s.http_response_latency, [0.5; 4]);
    assert_eq!(s.rebalance_end_avg, Some(0.5));
    // Faust's bug not copied: measured from the start, not ≈ 0.
    assert_eq!(s.http_response_latency_avg, Some(0.5));
}
