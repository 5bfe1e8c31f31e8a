//! A collector that panics while an export visits the registry (the
//! runtime catches it and drops that export): the samples written before
//! the panic do not reach the next export's request.

mod common;

use common::decode;
use hotmetrics_core::{
    Collector, Described, FamilyDesc, MetricType, MetricVisitor, Number, Registry, SeriesValue,
};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_remote_write::{Protocol, RemoteWrite};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// A gauge `m` of 7, then a panic when `fail` is set.
struct Flaky(Arc<AtomicBool>);

impl Collector for Flaky {
    fn describe(&self) -> Vec<Described> {
        vec![Described::new("m", MetricType::Gauge)]
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        out.begin_family(&FamilyDesc {
            name: "m",
            help: "M.",
            metric_type: MetricType::Gauge,
            unit: None,
        });
        out.series(&[], &SeriesValue::Gauge(Number::UInt(7)));
        assert!(!self.0.load(Relaxed), "the collector fails");
        out.end_family();
    }
}

#[test]
fn an_export_cut_short_by_a_panic_leaves_nothing_in_the_next() {
    for protocol in [Protocol::V1, Protocol::V2] {
        let registry = Registry::new();
        registry.counter(("c", "C.")).unwrap().inc_by(3);
        let fail = Arc::new(AtomicBool::new(true));
        registry
            .register_collector(Flaky(Arc::clone(&fail)))
            .unwrap();
        let mut sink = RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
            .protocol(protocol)
            .build()
            .unwrap();
        // As the runtime encodes: a panic is caught and the export dropped.
        let mut cut = Batch::default();
        let panicked = catch_unwind(AssertUnwindSafe(|| sink.encode(&registry, &mut cut)));
        assert!(panicked.is_err(), "the collector panicked");

        fail.store(false, Relaxed);
        let mut batch = Batch::default();
        sink.encode(&registry, &mut batch).unwrap();
        assert_eq!(batch.len(), 1);
        let payload = &batch.payloads()[0];
        let want = BTreeMap::from([
            ("{__name__=\"c_total\"}".to_owned(), 3.0),
            ("{__name__=\"m\"}".to_owned(), 7.0),
        ]);
        let (got, sent) = match protocol {
            Protocol::V1 => {
                let (values, request) = decode::v1(&payload.bytes);
                (values, request.timeseries.len())
            }
            Protocol::V2 => {
                let (values, meta) = decode::v2(&payload.bytes);
                (values, meta.len())
            }
        };
        assert_eq!(got, want, "{protocol:?}");
        assert_eq!(payload.samples, 2, "{protocol:?}: counted once each");
        assert_eq!(sent, 2, "{protocol:?}");
    }
}
