//! Registration, validation, naming and collectors.

use hotmetrics_core::{
    Buckets, Collector, Described, Error, FamilyDesc, MetricType, MetricVisitor, Number, Opts,
    Registry, SeriesValue, ValueSnapshot, default_registry,
};

#[test]
fn invalid_names_are_refused_with_clear_errors() {
    let r = Registry::new();
    let e = r.counter(("9lives", "x")).unwrap_err();
    assert_eq!(e, Error::InvalidMetricName("9lives".into()));
    assert!(e.to_string().contains("[a-zA-Z_:]"));
    assert!(r.gauge(("has-dash", "x")).is_err());
    assert!(matches!(
        r.counter_vec(("ok_total", "x"), &["bad-label"]),
        Err(Error::InvalidLabelName(_))
    ));
    assert!(matches!(
        r.counter_vec(("ok2_total", "x"), &["__reserved"]),
        Err(Error::InvalidLabelName(_))
    ));
    assert!(matches!(
        r.histogram_vec(("h", "x"), Buckets::default(), &["le"]),
        Err(Error::ReservedLabelName { .. })
    ));
    assert!(matches!(
        r.histogram(
            Opts::new("h2", "x").const_label("le", "1"),
            Buckets::default()
        ),
        Err(Error::ReservedLabelName { .. })
    ));
    assert!(matches!(
        r.gauge_vec(Opts::new("g", "x").const_label("a", "1"), &["a"]),
        Err(Error::DuplicateLabelName { .. })
    ));
    assert!(Registry::builder().prefix("bad prefix").build().is_err());
    assert!(Registry::builder().const_label("__x", "1").build().is_err());
    assert!(r.family_names().is_empty(), "nothing half-registered");
}

#[test]
fn duplicates_and_suffix_clashes_are_refused() {
    let r = Registry::new();
    r.counter(("jobs_total", "x")).unwrap();
    // Same family with or without `_total`.
    assert!(matches!(
        r.counter(("jobs", "x")),
        Err(Error::AlreadyRegistered { .. })
    ));
    // A gauge named like the counter's sample would clash in OpenMetrics.
    let e = r.gauge(("jobs_total", "x")).unwrap_err();
    assert_eq!(
        e,
        Error::AlreadyRegistered {
            name: "jobs_total".into(),
            metric_type: MetricType::Gauge,
            existing: "jobs_total".into(),
            existing_type: MetricType::Counter,
            sample: Some("jobs_total".into()),
        }
    );
    r.histogram(("lat", "x"), Buckets::default()).unwrap();
    assert!(r.gauge(("lat_count", "x")).is_err());
    assert!(r.gauge(("lat_bucket", "x")).is_err());
    assert!(r.counter(("lat_created", "x")).is_err());
    // Different types, same name.
    assert!(r.gauge(("lat", "x")).is_err());
    assert_eq!(r.family_names(), vec!["jobs", "lat"]);
}

#[test]
fn units_must_be_the_name_suffix() {
    let r = Registry::new();
    r.histogram(
        Opts::new("wait_seconds", "x").unit("seconds"),
        Buckets::default(),
    )
    .unwrap();
    r.counter(Opts::new("sent_bytes_total", "x").unit("bytes"))
        .unwrap();
    assert!(matches!(
        r.gauge(Opts::new("temperature", "x").unit("celsius")),
        Err(Error::InvalidUnit { .. })
    ));
    assert!(r.gauge(Opts::new("t_c", "x").unit("")).is_err());
    assert!(r.gauge(Opts::new("t_a b", "x").unit("a b")).is_err());
    let snap = r.snapshot();
    assert_eq!(
        snap.family("wait_seconds").unwrap().unit.as_deref(),
        Some("seconds")
    );
}

#[test]
fn prefix_and_const_labels_apply_everywhere_in_order() {
    let r = Registry::builder()
        .prefix("app")
        .const_label("region", "eu")
        .build()
        .unwrap();
    let f = r
        .counter_vec(
            Opts::new("req_total", "x").const_label("svc", "api"),
            &["code"],
        )
        .unwrap();
    f.with(&["200"], |c| c.inc()).unwrap();
    r.register_collector(Fixed).unwrap();
    let snap = r.snapshot();
    let fam = snap.family("app_req").unwrap();
    assert_eq!(fam.metric_type, MetricType::Counter);
    assert_eq!(
        fam.series[0].labels,
        vec![
            ("region".to_owned(), "eu".to_owned()),
            ("svc".to_owned(), "api".to_owned()),
            ("code".to_owned(), "200".to_owned())
        ]
    );
    assert_eq!(
        snap.gauge("app_fixed", &[("region", "eu"), ("q", "a")]),
        Some(3.0)
    );
    assert!(r.unregister("app_req"));
}

struct Fixed;
impl Collector for Fixed {
    fn describe(&self) -> Vec<Described> {
        vec![Described::new("fixed", MetricType::Gauge)]
    }
    fn collect(&self, out: &mut dyn MetricVisitor) {
        out.begin_family(&FamilyDesc {
            name: "fixed",
            help: "h",
            metric_type: MetricType::Gauge,
            unit: None,
        });
        out.series(&[("q", "a")], &SeriesValue::Gauge(Number::Int(3)));
        out.end_family();
    }
}

#[test]
fn collectors_are_checked_for_clashes_and_can_be_removed() {
    let r = Registry::new();
    r.gauge(("fixed", "x")).unwrap();
    assert!(matches!(
        r.register_collector(Fixed),
        Err(Error::AlreadyRegistered { .. })
    ));
    assert!(r.unregister("fixed"));
    let id = r.register_collector(Fixed).unwrap();
    assert!(r.gauge(("fixed", "x")).is_err());
    assert!(r.unregister_collector(id));
    assert!(!r.unregister_collector(id));
    r.gauge(("fixed", "x")).unwrap();

    r.clear();
    let old = r.register_collector(Fixed).unwrap();
    r.clear();
    let new = r.register_collector(Fixed).unwrap();
    assert_ne!(old, new, "ids are not reused after clear");
    assert!(!r.unregister_collector(old));
    assert_eq!(r.snapshot().gauge("fixed", &[("q", "a")]), Some(3.0));
}

#[test]
fn visit_order_is_stable_and_clear_empties() {
    let r = Registry::new();
    r.gauge(("zeta", "x")).unwrap();
    r.gauge(("alpha", "x")).unwrap();
    let f = r.gauge_vec(("mid", "x"), &["k"]).unwrap();
    for k in ["c", "a", "b"] {
        f.with(&[k], |g| g.set(1)).unwrap();
    }
    let snap = r.snapshot();
    let names: Vec<_> = snap.families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["alpha", "mid", "zeta"]);
    let keys: Vec<_> = snap
        .family("mid")
        .unwrap()
        .series
        .iter()
        .map(|s| s.labels[0].1.as_str())
        .collect();
    assert_eq!(keys, ["c", "a", "b"], "series in creation order");
    assert_eq!(r.snapshot(), snap, "same state, same walk");
    r.clear();
    assert!(r.snapshot().families.is_empty());
    r.gauge(("zeta", "x")).unwrap();
}

#[test]
fn every_type_reports_through_the_visitor() {
    let r = Registry::new();
    r.counter(("a_total", "x")).unwrap().inc_by(3);
    r.counter_f64(("b_total", "x"))
        .unwrap()
        .inc_by(0.5)
        .unwrap();
    r.gauge(("c", "x")).unwrap().set(-4);
    r.gauge_f64(("d", "x")).unwrap().set(2.5);
    let h = r
        .histogram(("e", "x"), Buckets::new(vec![1.0, 2.0]).unwrap())
        .unwrap();
    h.observe(1.5);
    let snap = r.snapshot();
    assert_eq!(snap.counter("a", &[]), Some(3.0));
    assert_eq!(snap.counter("b", &[]), Some(0.5));
    assert_eq!(snap.gauge("c", &[]), Some(-4.0));
    assert_eq!(snap.gauge("d", &[]), Some(2.5));
    assert_eq!(
        snap.value("e", &[]),
        Some(&ValueSnapshot::Histogram {
            upper_bounds: vec![1.0, 2.0],
            bucket_counts: vec![0, 1, 0],
            count: 1,
            sum: 1.5
        })
    );
}

#[cfg(target_os = "linux")]
#[test]
fn process_collector_and_default_registry() {
    let r = default_registry();
    r.register_collector(hotmetrics_core::ProcessCollector::new())
        .unwrap();
    assert!(
        r.register_collector(hotmetrics_core::ProcessCollector::new())
            .is_err()
    );
    let snap = r.snapshot();
    for g in [
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "process_threads",
    ] {
        assert!(snap.gauge(g, &[]).unwrap() > 0.0, "{g}");
    }
    assert!(snap.counter("process_cpu_seconds", &[]).unwrap() >= 0.0);
}

/// A collector that emits what no format can carry, among valid output.
struct Unruly;
impl Collector for Unruly {
    fn describe(&self) -> Vec<Described> {
        Vec::new()
    }
    fn collect(&self, out: &mut dyn MetricVisitor) {
        let fam = |out: &mut dyn MetricVisitor, name, metric_type, unit| {
            out.begin_family(&FamilyDesc {
                name,
                help: "h",
                metric_type,
                unit,
            });
        };
        let one = SeriesValue::Gauge(Number::Int(1));
        fam(out, "bad name", MetricType::Gauge, None);
        out.series(&[], &one);
        out.end_family();
        fam(out, "ok", MetricType::Gauge, None);
        out.series(&[("bad-label", "x")], &one);
        out.series(&[("__reserved", "x")], &one);
        out.series(&[("good", "x")], &one);
        out.end_family();
        fam(out, "wrong_unit_bytes", MetricType::Gauge, Some("seconds"));
        out.series(&[], &one);
        out.end_family();
        fam(out, "ns:states", MetricType::StateSet, None);
        out.series(&[], &SeriesValue::StateSet(&[("a", true)]));
        out.end_family();
        fam(out, "size_bytes", MetricType::Gauge, Some("bytes"));
        out.series(&[], &one);
        out.end_family();
    }
}

#[test]
fn collector_output_no_format_can_carry_is_dropped_at_scrape() {
    let r = Registry::builder().prefix("app").build().unwrap();
    r.register_collector(Unruly).unwrap();
    let snap = r.snapshot();
    let names: Vec<&str> = snap.families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["app_ok", "app_size_bytes"]);
    let ok = snap.family("app_ok").unwrap();
    assert_eq!(ok.series.len(), 1, "only the validly labelled series stays");
    assert_eq!(snap.gauge("app_ok", &[("good", "x")]), Some(1.0));
}

#[cfg(target_os = "linux")]
#[test]
fn process_collector_is_unprefixed_in_a_prefixed_registry() {
    use hotmetrics_core::ProcessCollector;
    let r = Registry::builder()
        .prefix("shop")
        .const_label("region", "eu")
        .build()
        .unwrap();
    r.register_collector(ProcessCollector::new()).unwrap();
    r.register_collector(Fixed).unwrap();
    let snap = r.snapshot();
    // Const labels still apply, the prefix does not.
    assert!(
        snap.counter("process_cpu_seconds", &[("region", "eu")])
            .unwrap()
            >= 0.0
    );
    assert!(snap.gauge("process_threads", &[("region", "eu")]).unwrap() >= 1.0);
    assert!(snap.family("shop_process_threads").is_none());
    // A prefixed collector next to it still gets the prefix.
    assert_eq!(
        snap.gauge("shop_fixed", &[("region", "eu"), ("q", "a")]),
        Some(3.0)
    );
    // Clash checks see the unprefixed names: `shop_process_threads` is
    // free, `process_threads` from a registry prefixed `process` is not.
    r.gauge(("process_threads", "x")).unwrap();
    let p = Registry::builder().prefix("process").build().unwrap();
    p.register_collector(ProcessCollector::new()).unwrap();
    assert_eq!(
        p.gauge(("threads", "x")).unwrap_err().to_string(),
        r#""threads" is already registered as a gauge (as "process_threads")"#
    );
    assert!(
        p.register_collector(ProcessCollector::new().registry_prefix(true))
            .is_ok(),
        "prefixed, its names are process_process_*"
    );
    assert!(p.snapshot().family("process_process_open_fds").is_some());
}

/// Every series of a family vouches for the family's label names with one
/// id (`LabelSet::names_id`), and series with the same id within a family
/// have the same names: what lets a writer spell the names once.
#[test]
fn a_familys_series_share_their_names_id() {
    use hotmetrics_core::LabelSet;
    #[derive(Default)]
    struct Ids {
        family: Vec<(usize, Vec<String>)>,
        families: Vec<Vec<(usize, Vec<String>)>>,
    }
    impl MetricVisitor for Ids {
        fn begin_family(&mut self, _: &FamilyDesc<'_>) {
            self.family.clear();
        }
        fn series(&mut self, labels: &dyn LabelSet, _: &SeriesValue<'_>) {
            let mut names = Vec::new();
            labels.for_each(&mut |n, _| names.push(n.to_string()));
            let id = labels
                .names_id()
                .expect("a family's series have an id")
                .get();
            self.family.push((id, names));
        }
        fn end_family(&mut self) {
            self.families.push(std::mem::take(&mut self.family));
        }
    }
    let r = Registry::builder()
        .const_label("region", "eu")
        .build()
        .unwrap();
    let requests = r
        .counter_vec(("requests_total", "x"), &["method", "code"])
        .unwrap();
    let depth = r.gauge_vec(("depth", "x"), &["queue"]).unwrap();
    for (m, c) in [("GET", "200"), ("POST", "500"), ("GET", "404")] {
        requests.with(&[m, c], |c| c.inc()).unwrap();
    }
    for q in ["a", "b"] {
        depth.with(&[q], |g| g.set(1)).unwrap();
    }
    r.gauge(("plain", "x")).unwrap().set(2);
    let mut ids = Ids::default();
    r.visit(&mut ids);
    assert_eq!(ids.families.len(), 3);
    for family in &ids.families {
        assert!(!family.is_empty());
        let (id, names) = &family[0];
        for (other, other_names) in family {
            assert_eq!((other, other_names), (id, names));
        }
    }
    assert!(
        ids.families
            .iter()
            .any(|f| f[0].1 == ["region", "method", "code"])
    );
}
