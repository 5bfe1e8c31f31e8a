//! StatsD timers through the sink's `encode`: every sample from every
//! thread exactly once over several exports, drops counted and carried as
//! a sample rate, an export cut short sends its samples later, bad values
//! refused, DogStatsD tags, and one sink per set.

use hotmetrics_core::{
    Collector, Described, FamilyDesc, MetricType, MetricVisitor, Number, Registry, SeriesValue,
};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_statsd::{Dialect, Error, StatsdSink, Timings};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Barrier};

fn sink(timings: &Timings) -> StatsdSink {
    StatsdSink::udp("127.0.0.1:8125")
        .prefix("p")
        .max_packet_size(200)
        .timings(timings.clone())
        .build()
        .unwrap()
}

/// One export's lines.
fn export(sink: &mut StatsdSink, registry: &Registry) -> Vec<String> {
    let mut batch = Batch::default();
    sink.encode(registry, &mut batch).unwrap();
    lines(&batch)
}

fn lines(batch: &Batch) -> Vec<String> {
    let mut out = Vec::new();
    for p in batch.payloads() {
        assert!(p.bytes.len() <= 200, "a datagram over the packet size");
        let text = std::str::from_utf8(&p.bytes).unwrap();
        assert_eq!(p.samples, text.split('\n').count() as u64);
        out.extend(text.split('\n').map(str::to_owned));
    }
    out
}

/// `name:value|ms[|@rate]` → (name, value, rate).
fn timing(line: &str) -> (String, f64, Option<String>) {
    let (name, rest) = line.split_once(':').unwrap();
    let mut f = rest.split('|');
    let value = f.next().unwrap().parse().unwrap();
    assert_eq!(f.next(), Some("ms"), "{line}");
    let rate = f.next().map(|r| r.strip_prefix('@').unwrap().to_owned());
    assert_eq!(f.next(), None, "{line}");
    (name.to_owned(), value, rate)
}

#[test]
fn every_sample_from_every_thread_once_over_several_exports() {
    let timings = Timings::with_capacity(4096);
    let a = timings.timer("a").unwrap();
    let b = timings.timer("b.c-d").unwrap();
    let registry = Registry::new();
    let jobs = registry.counter(("jobs", "Jobs.")).unwrap();
    let mut sink = sink(&timings);
    let threads = 4;
    let per_round = 500u32;
    let rounds = 3;
    let mut got: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        // 4 threads record while nobody exports, then one export; a last
        // round exports while they record.
        let barrier = Arc::new(Barrier::new(threads + 1));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (a, b, barrier) = (a.clone(), b.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..per_round {
                        let v = f64::from(round * 100_000 + t as u32 * 10_000 + i) + 0.25;
                        a.record_ms(v);
                        b.record_ms(v * 2.0);
                    }
                })
            })
            .collect();
        jobs.inc();
        barrier.wait();
        if round == rounds - 1 {
            for line in export(&mut sink, &registry) {
                if !line.starts_with("p.jobs") {
                    let (name, v, rate) = timing(&line);
                    assert_eq!(rate, None);
                    got.entry(name).or_default().push(v);
                }
            }
        }
        for h in handles {
            h.join().unwrap();
        }
        let lines = export(&mut sink, &registry);
        if round < rounds - 1 {
            assert_eq!(lines[0], "p.jobs:1|c", "the registry's lines first");
        }
        for line in lines {
            if !line.starts_with("p.jobs") {
                let (name, v, rate) = timing(&line);
                assert_eq!(rate, None, "nothing dropped: no rate");
                got.entry(name).or_default().push(v);
            }
        }
    }
    let mut want_a = Vec::new();
    for round in 0..rounds {
        for t in 0..threads as u32 {
            for i in 0..per_round {
                want_a.push(f64::from(round * 100_000 + t * 10_000 + i) + 0.25);
            }
        }
    }
    let want_b: Vec<f64> = want_a.iter().map(|v| v * 2.0).collect();
    for (name, want) in [("p.a", want_a), ("p.b.c-d", want_b)] {
        let mut have = got.remove(name).unwrap_or_default();
        have.sort_by(f64::total_cmp);
        assert_eq!(have, want, "{name}: each sample once");
    }
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(timings.dropped(), 0);
    assert!(export(&mut sink, &registry).is_empty(), "all sent");
}

#[test]
fn drops_are_counted_and_sent_as_a_sample_rate() {
    let timings = Timings::with_capacity(4);
    let t = timings.timer("t").unwrap();
    let mut sink = sink(&timings);
    let registry = Registry::new();
    for v in 0..10 {
        t.record_ms(f64::from(v));
    }
    assert_eq!(t.dropped(), 6);
    // Another thread: its own ring, no drops.
    std::thread::scope(|s| {
        s.spawn(|| t.record_ms(100.0));
    });
    let lines = export(&mut sink, &registry);
    // 5 sent of 11 recorded: whole weights, one of 3 and four of 2.
    let mut want: Vec<String> = (0..4).map(|v| format!("p.t:{v}|ms|@0.5")).collect();
    want[0] = "p.t:0|ms|@0.3333333333333333".to_owned();
    want.push("p.t:100|ms|@0.5".to_owned());
    assert_eq!(lines, want);
    // The daemon's count: 1/rate per line (etsy's statsd), or its integer
    // part (the Datadog agent): 11 both ways.
    let inverse: Vec<f64> = lines
        .iter()
        .map(|l| 1.0 / timing(l).2.unwrap().parse::<f64>().unwrap())
        .collect();
    assert_eq!(inverse.iter().sum::<f64>(), 11.0);
    assert_eq!(inverse.iter().map(|&w| w as u64).sum::<u64>(), 11);
    // Reported once: the next export's lines have no rate.
    t.record_ms(1.5);
    assert_eq!(export(&mut sink, &registry), ["p.t:1.5|ms"]);
    // Drops while nothing is sent wait for a line to carry them.
    for _ in 0..6 {
        t.record_ms(2.0);
    }
    let lines = export(&mut sink, &registry);
    assert_eq!(
        lines,
        ["p.t:2|ms|@0.5", "p.t:2|ms|@0.5", "p.t:2|ms", "p.t:2|ms"],
        "4 of 6: weights 2, 2, 1, 1"
    );
    assert_eq!(t.dropped(), 8);
}

#[test]
fn another_threads_drops_count_in_the_rate() {
    let timings = Timings::with_capacity(1);
    let t = timings.timer("t").unwrap();
    let mut sink = sink(&timings);
    let registry = Registry::new();
    t.record_ms(1.0);
    // Encode stages the full ring; drops before the next record.
    assert_eq!(export(&mut sink, &registry), ["p.t:1|ms"]);
    std::thread::scope(|s| {
        // A second thread's ring fills and drops; its one sample goes.
        s.spawn(|| {
            t.record_ms(3.0);
            t.record_ms(4.0);
        });
    });
    assert_eq!(export(&mut sink, &registry), ["p.t:3|ms|@0.5"]);
    assert!(export(&mut sink, &registry).is_empty());
}

/// A counter `m`, then a panic when `fail` is set.
struct Flaky(Arc<AtomicBool>);

impl Collector for Flaky {
    fn describe(&self) -> Vec<Described> {
        vec![Described::new("m", MetricType::Counter)]
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        out.begin_family(&FamilyDesc {
            name: "m",
            help: "M.",
            metric_type: MetricType::Counter,
            unit: None,
        });
        out.series(
            &[],
            &SeriesValue::Counter {
                value: Number::UInt(1),
                created: 1.0,
                exemplar: None,
            },
        );
        assert!(!self.0.load(Relaxed), "the collector fails");
        out.end_family();
    }
}

#[test]
fn an_export_cut_short_sends_its_samples_in_the_next() {
    let timings = Timings::new();
    let t = timings.timer("t").unwrap();
    let mut sink = sink(&timings);
    let registry = Registry::new();
    let fail = Arc::new(AtomicBool::new(false));
    registry
        .register_collector(Flaky(Arc::clone(&fail)))
        .unwrap();
    t.record_ms(1.0);
    assert_eq!(export(&mut sink, &registry), ["p.m:1|c", "p.t:1|ms"]);
    t.record_ms(2.0);
    t.record_ms(3.0);
    fail.store(true, Relaxed);
    let mut batch = Batch::default();
    let cut = catch_unwind(AssertUnwindSafe(|| sink.encode(&registry, &mut batch)));
    assert!(cut.is_err(), "the collector panicked");
    fail.store(false, Relaxed);
    t.record_ms(4.0);
    assert_eq!(
        export(&mut sink, &registry),
        ["p.t:2|ms", "p.t:3|ms", "p.t:4|ms"]
    );
}

#[test]
fn bad_values_are_refused_and_counted() {
    let timings = Timings::new();
    let t = timings.timer("t").unwrap();
    let mut sink = sink(&timings);
    for v in [f64::NAN, -0.5, f64::INFINITY, f64::NEG_INFINITY] {
        t.record_ms(v);
    }
    t.record_ms(-0.0);
    t.record_ms(1e-7);
    t.record_ms(1e300);
    assert_eq!(t.refused(), 4);
    assert_eq!(timings.refused(), 4);
    assert_eq!(
        export(&mut sink, &Registry::new()),
        ["p.t:0|ms", "p.t:1e-7|ms", "p.t:1e300|ms"],
        "the sink's float formatting"
    );
    assert!(matches!(timings.timer("a b"), Err(Error::TimerName { .. })));
}

#[test]
fn dogstatsd_timers_carry_the_constant_tags() {
    let timings = Timings::with_capacity(1);
    let t = timings.timer("took-ms").unwrap();
    let mut sink = StatsdSink::udp("127.0.0.1:8125")
        .dialect(Dialect::DogStatsd)
        .tags([("env", "prod")])
        .timings(timings.clone())
        .build()
        .unwrap();
    t.record_ms(2.5);
    t.record_ms(9.0);
    assert_eq!(
        export(&mut sink, &Registry::new()),
        ["took_ms:2.5|ms|@0.5|#env:prod"]
    );
}

#[test]
fn a_set_is_sent_by_one_sink() {
    let timings = Timings::new();
    let first = sink(&timings);
    let twice = StatsdSink::udp("127.0.0.1:8125").timings(timings.clone());
    assert!(matches!(twice.build(), Err(Error::TimingsShared)));
    let both = StatsdSink::udp("127.0.0.1:8125")
        .timings(Timings::new())
        .timings(timings.clone());
    assert!(matches!(both.build(), Err(Error::TimingsShared)));
    drop(first);
    let again = StatsdSink::udp("127.0.0.1:8125")
        .timings(timings.clone())
        .timings(timings.clone());
    assert!(
        matches!(again.build(), Err(Error::TimingsShared)),
        "the same set twice"
    );
    let mut last = sink(&timings);
    let t = timings.timer("t").unwrap();
    t.record_ms(1.0);
    assert_eq!(export(&mut last, &Registry::new()), ["p.t:1|ms"]);
}
