//! A collector that panics while an export visits the registry (the
//! runtime catches it and drops that export): the next export sends every
//! change since the last complete one, once, and nothing the cut-short
//! export had begun to pack.

use hotmetrics_core::{
    Collector, Described, FamilyDesc, MetricType, MetricVisitor, Number, Registry, SeriesValue,
};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_statsd::StatsdSink;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// A counter `m` of `total`, then a panic when `fail` is set.
struct Flaky {
    total: Arc<AtomicU64>,
    fail: Arc<AtomicBool>,
}

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
                value: Number::UInt(self.total.load(Relaxed)),
                created: 1.0,
                exemplar: None,
            },
        );
        assert!(!self.fail.load(Relaxed), "the collector fails");
        out.end_family();
    }
}

/// One export's lines, `name → value`, each name once.
fn lines(batch: &Batch) -> BTreeMap<String, String> {
    let mut lines = BTreeMap::new();
    for payload in batch.payloads() {
        for line in std::str::from_utf8(&payload.bytes).unwrap().split('\n') {
            let (name, value) = line.split_once(':').expect("name:value|type");
            let old = lines.insert(name.to_owned(), value.to_owned());
            assert!(old.is_none(), "{name} twice in one export: {line}");
        }
    }
    lines
}

fn want(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn an_export_cut_short_by_a_panic_loses_and_repeats_nothing() {
    let registry = Registry::new();
    let counters = registry.counter_vec(("c", "C."), &["k"]).unwrap();
    let gauge = registry.gauge(("g", "G.")).unwrap();
    let total = Arc::new(AtomicU64::new(5));
    let fail = Arc::new(AtomicBool::new(false));
    registry
        .register_collector(Flaky {
            total: Arc::clone(&total),
            fail: Arc::clone(&fail),
        })
        .unwrap();
    let a = counters.get_or_create(&["a"]).unwrap();
    let z = counters.get_or_create(&["z"]).unwrap();
    a.inc_by(10);
    z.inc_by(20);
    gauge.set(1);
    // A packet small enough that the cut-short export finishes some
    // datagrams and leaves one half-filled.
    let mut sink = StatsdSink::udp("127.0.0.1:8125")
        .max_packet_size(24)
        .build()
        .unwrap();
    let mut batch = Batch::default();
    sink.encode(&registry, &mut batch).unwrap();
    assert_eq!(
        lines(&batch),
        want(&[
            ("c.k.a", "10|c"),
            ("c.k.z", "20|c"),
            ("g", "1|g"),
            ("m", "5|c")
        ])
    );

    a.inc_by(3);
    z.inc_by(4);
    gauge.set(2);
    total.store(8, Relaxed);
    fail.store(true, Relaxed);
    // As the runtime encodes: a panic is caught and the export dropped.
    let mut cut = Batch::default();
    let panicked = catch_unwind(AssertUnwindSafe(|| sink.encode(&registry, &mut cut)));
    assert!(panicked.is_err(), "the collector panicked");

    fail.store(false, Relaxed);
    a.inc();
    total.store(9, Relaxed);
    let mut batch = Batch::default();
    sink.encode(&registry, &mut batch).unwrap();
    assert_eq!(
        lines(&batch),
        want(&[
            ("c.k.a", "4|c"),
            ("c.k.z", "4|c"),
            ("g", "2|g"),
            ("m", "4|c")
        ]),
        "every change since the last complete export, once"
    );
    let mut batch = Batch::default();
    sink.encode(&registry, &mut batch).unwrap();
    assert!(batch.is_empty(), "{:?}", lines(&batch));
}
