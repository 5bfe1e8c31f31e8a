//! A registry with Prometheus 3's UTF-8 names: what it accepts, what it
//! refuses, and that a legacy registry refuses the same names as before.

use hotmetrics_core::{
    Buckets, Collector, Described, Error, FamilyDesc, MetricType, MetricVisitor, NameValidation,
    Number, Registry, SeriesValue,
};

fn utf8() -> Registry {
    Registry::builder()
        .name_validation(NameValidation::Utf8)
        .build()
        .expect("an empty UTF-8 registry")
}

#[test]
fn utf8_names_are_accepted_and_visited_as_they_are() {
    let r = Registry::builder()
        .name_validation(NameValidation::Utf8)
        .prefix("my.app")
        .const_label("service.name", "shop")
        .build()
        .unwrap();
    let c = r
        .counter_vec(("http.server.requests", "Requests."), &["http.method"])
        .unwrap();
    c.with(&["GET"], |c| c.inc()).unwrap();
    r.histogram(("花火.seconds", "Fireworks."), Buckets::default())
        .unwrap()
        .observe(0.1);
    r.info(("build.info", "Build."), &[("version.full", "1.2")])
        .unwrap();
    r.state_set(("mode.now", "Mode."), &["on", "off"]).unwrap();
    let snap = r.snapshot();
    assert_eq!(
        snap.counter(
            "my.app_http.server.requests",
            &[("service.name", "shop"), ("http.method", "GET")]
        ),
        Some(1.0)
    );
    assert_eq!(
        r.family_names(),
        [
            "my.app_build.info",
            "my.app_http.server.requests",
            "my.app_mode.now",
            "my.app_花火.seconds"
        ]
    );
}

#[test]
fn empty_and_reserved_names_are_refused_clearly() {
    let r = utf8();
    let e = r.counter(("", "Empty.")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid metric name \"\": names may not be empty"
    );
    let e = r.counter_vec(("a.b", "x"), &[""]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid label name \"\": names may not be empty"
    );
    let e = r.counter_vec(("a.b", "x"), &["__x.y"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid label name \"__x.y\": names starting with \"__\" are reserved for Prometheus' own labels"
    );
    // `_.x` is `__x` to a scraper without UTF-8 support.
    let e = r.counter_vec(("a.b", "x"), &["_.x"]).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidUtf8Name { kind: "label", name, .. } if name == "_.x"),
        "{e}"
    );
    let e = Registry::builder()
        .name_validation(NameValidation::Utf8)
        .const_label("__a", "b")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidUtf8Name { .. }), "{e}");
    // Info labels set later are checked the same way.
    let info = r.info(("build", "Build."), &[]).unwrap();
    assert!(info.set(&[("__v", "1")]).is_err());
    assert!(info.set(&[("v.1", "1")]).is_ok());
}

#[test]
fn names_that_escape_alike_are_refused_naming_both() {
    let r = utf8();
    r.counter(("a.b", "First.")).unwrap();
    let e = r.gauge(("a_b", "Second.")).unwrap_err();
    assert_eq!(
        e,
        Error::EscapedNameClash {
            name: "a_b".into(),
            existing: "a.b".into(),
            escaped: "a_b".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "\"a_b\" clashes with \"a.b\": a scrape without UTF-8 support \
         (escaping=underscores, the default) reads both as \"a_b\""
    );
    // A sample of one against the family of another: `a-b_total`.
    let e = r.gauge(("a-b_total", "Third.")).unwrap_err();
    assert!(
        matches!(&e, Error::EscapedNameClash { escaped, .. } if escaped == "a_b_total"),
        "{e}"
    );
    // The same name twice is still the old error.
    assert!(matches!(
        r.counter(("a.b", "Again.")),
        Err(Error::AlreadyRegistered { .. })
    ));
    // Unregistering releases the escaped name too.
    assert!(r.unregister("a.b"));
    r.gauge(("a_b", "Now free.")).unwrap();

    let e = r
        .counter_vec(("c", "Labels."), &["http.method", "http_method"])
        .unwrap_err();
    assert_eq!(
        e,
        Error::EscapedNameClash {
            name: "http_method".into(),
            existing: "http.method".into(),
            escaped: "http_method".into()
        }
    );
    let info = r.info(("i", "Info."), &[]).unwrap();
    assert!(matches!(
        info.set(&[("x.y", "1"), ("x_y", "2")]),
        Err(Error::EscapedNameClash { .. })
    ));
    assert!(matches!(
        r.state_set_vec(("s.t", "States."), &["on"], &["s_t"]),
        Err(Error::ReservedLabelName { .. })
    ));
}

#[test]
fn a_legacy_registry_refuses_utf8_names_as_before() {
    let r = Registry::new();
    assert_eq!(
        r.counter(("my.metric", "x")).unwrap_err(),
        Error::InvalidMetricName("my.metric".into())
    );
    assert_eq!(
        r.counter_vec(("m", "x"), &["http.method"]).unwrap_err(),
        Error::InvalidLabelName("http.method".into())
    );
    assert!(Registry::builder().prefix("my.app").build().is_err());
    r.counter(("a_b", "x")).unwrap();
    assert!(matches!(
        r.gauge(("a_b", "x")),
        Err(Error::AlreadyRegistered { .. })
    ));
}

/// A collector's UTF-8 output is kept by a UTF-8 registry and dropped by a
/// legacy one, as before.
#[test]
fn collector_output_is_checked_under_the_registry_scheme() {
    struct Dotted;
    impl Collector for Dotted {
        fn describe(&self) -> Vec<Described> {
            Vec::new()
        }
        fn collect(&self, out: &mut dyn MetricVisitor) {
            out.begin_family(&FamilyDesc {
                name: "queue.depth",
                help: "Depth.",
                metric_type: MetricType::Gauge,
                unit: None,
            });
            out.series(&[("queue.name", "a")], &SeriesValue::Gauge(Number::Int(3)));
            out.series(&[("__bad", "a")], &SeriesValue::Gauge(Number::Int(4)));
            out.end_family();
        }
    }
    let r = utf8();
    r.register_collector(Dotted).unwrap();
    let snap = r.snapshot();
    assert_eq!(snap.gauge("queue.depth", &[("queue.name", "a")]), Some(3.0));
    assert_eq!(snap.families.len(), 1);
    assert_eq!(
        snap.families[0].series.len(),
        1,
        "the __bad series is dropped"
    );

    let legacy = Registry::new();
    legacy.register_collector(Dotted).unwrap();
    assert!(legacy.snapshot().families.is_empty());
}
