//! Error messages name metrics as the user typed them and say what exists
//! and what was expected.

use hotmetrics_core::{
    Buckets, Collector, Described, Error, MetricType, MetricVisitor, Opts, Registry, States,
};

#[test]
fn a_duplicate_names_the_typed_name_and_the_registered_type() {
    let r = Registry::new();
    r.counter(("jobs_total", "x")).unwrap();
    let e = r.counter(("jobs_total", "x")).unwrap_err();
    assert_eq!(
        e,
        Error::AlreadyRegistered {
            name: "jobs_total".into(),
            metric_type: MetricType::Counter,
            existing: "jobs_total".into(),
            existing_type: MetricType::Counter,
            sample: None,
        }
    );
    assert_eq!(
        e.to_string(),
        r#""jobs_total" is already registered as a counter"#
    );
    // The same family spelled differently says how it was registered.
    assert_eq!(
        r.counter(("jobs", "x")).unwrap_err().to_string(),
        r#""jobs" is already registered as a counter (as "jobs_total")"#
    );
    // Another type under the same name.
    assert_eq!(
        r.gauge(("jobs", "x")).unwrap_err().to_string(),
        r#""jobs" is already registered as a counter (as "jobs_total")"#
    );
}

#[test]
fn a_sample_clash_names_both_metrics_and_the_sample() {
    let r = Registry::builder().prefix("shop").build().unwrap();
    r.counter(("jobs_total", "x")).unwrap();
    r.histogram(("lat_seconds", "x"), Buckets::default())
        .unwrap();
    assert_eq!(
        r.gauge(("jobs_total", "x")).unwrap_err().to_string(),
        r#""jobs_total" (a gauge) clashes with a counter registered as "jobs_total": both would write the sample "shop_jobs_total""#
    );
    assert_eq!(
        r.counter(("lat_seconds_count", "x"))
            .unwrap_err()
            .to_string(),
        r#""lat_seconds_count" (a counter) clashes with a histogram registered as "lat_seconds": both would write the sample "shop_lat_seconds_count""#
    );
    // An info `build` writes `build_info`.
    r.info(("build", "x"), &[]).unwrap();
    assert_eq!(
        r.gauge(("build_info", "x")).unwrap_err().to_string(),
        r#""build_info" (a gauge) clashes with an info metric registered as "build": both would write the sample "shop_build_info""#
    );
}

struct Queue;
impl Collector for Queue {
    fn describe(&self) -> Vec<Described> {
        vec![Described::new("queue_depth", MetricType::Gauge)]
    }
    fn collect(&self, _: &mut dyn MetricVisitor) {}
}

#[test]
fn collector_clashes_use_the_described_names() {
    let r = Registry::new();
    r.register_collector(Queue).unwrap();
    assert_eq!(
        r.counter(("queue_depth", "x")).unwrap_err().to_string(),
        r#""queue_depth" is already registered as a gauge"#
    );
    assert_eq!(
        r.register_collector(Queue).unwrap_err().to_string(),
        r#""queue_depth" is already registered as a gauge"#
    );
}

#[test]
fn a_wrong_label_count_names_the_labels_expected() {
    let r = Registry::builder().prefix("shop").build().unwrap();
    let f = r
        .counter_vec(("requests_total", "x"), &["route", "status"])
        .unwrap();
    let e = f.with(&["/orders"], |c| c.inc()).unwrap_err();
    assert_eq!(
        e,
        Error::LabelCount {
            family: "requests_total".into(),
            expected: vec!["route".into(), "status".into()],
            got: 1,
        }
    );
    assert_eq!(
        e.to_string(),
        r#""requests_total" takes 2 label values ("route", "status"), got 1"#
    );
    let one = r.gauge_vec(("temp", "x"), &["room"]).unwrap();
    assert_eq!(
        one.get_or_create(&[]).unwrap_err().to_string(),
        r#""temp" takes 1 label value ("room"), got 0"#
    );
    let none = r.gauge_vec(("plain", "x"), &[]).unwrap();
    assert_eq!(
        none.handle(&["x"]).unwrap_err().to_string(),
        r#""plain" takes no label values, got 1"#
    );
}

#[test]
fn remove_with_the_wrong_arity_is_an_error() {
    let r = Registry::new();
    let f = r
        .counter_vec(("requests_total", "x"), &["route", "status"])
        .unwrap();
    f.with(&["/a", "200"], |c| c.inc()).unwrap();
    assert_eq!(
        f.remove(&["/a"]).unwrap_err().to_string(),
        r#""requests_total" takes 2 label values ("route", "status"), got 1"#
    );
    assert_eq!(f.len(), 1, "nothing removed");
    assert_eq!(f.remove(&["/a", "500"]), Ok(false));
    assert_eq!(f.remove(&["/a", "200"]), Ok(true));
}

#[test]
fn a_label_repeating_a_const_label_names_the_family_and_the_const_label() {
    let r = Registry::builder()
        .const_label("service", "api")
        .build()
        .unwrap();
    let e = r
        .counter_vec(("requests_total", "x"), &["service"])
        .unwrap_err();
    assert_eq!(
        e,
        Error::DuplicateLabelName {
            family: "requests_total".into(),
            label: "service".into(),
            first: "a constant label of the registry",
            second: "a label name",
        }
    );
    assert_eq!(
        e.to_string(),
        r#""requests_total": label "service" is given twice, as a constant label of the registry and as a label name"#
    );
    assert_eq!(
        r.gauge(Opts::new("temp", "x").const_label("service", "db"))
            .unwrap_err()
            .to_string(),
        r#""temp": label "service" is given twice, as a constant label of the registry and as a constant label of the metric"#
    );
    assert_eq!(
        r.gauge_vec(("level", "x"), &["a", "a"])
            .unwrap_err()
            .to_string(),
        r#""level": label "a" is given twice, as a label name"#
    );
    assert_eq!(
        Registry::builder()
            .const_label("zone", "a")
            .const_label("zone", "b")
            .build()
            .unwrap_err()
            .to_string(),
        r#"the registry: label "zone" is given twice, as a constant label of the registry"#
    );
}

#[test]
fn limits_units_and_states_use_the_typed_names() {
    let r = Registry::builder().prefix("shop").build().unwrap();
    let f = r
        .counter_vec(Opts::new("ids_total", "x").max_series(1), &["id"])
        .unwrap();
    f.with(&["1"], |c| c.inc()).unwrap();
    assert_eq!(
        f.with(&["2"], |c| c.inc()).unwrap_err().to_string(),
        r#""ids_total": series limit of 1 reached; new label values are refused"#
    );
    let e = r
        .gauge(Opts::new("temperature", "x").unit("celsius"))
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with(r#"unit "celsius" of "temperature": a unit is [a-zA-Z0-9_]+"#),
        "{e}"
    );
    assert_eq!(
        r.info(Opts::new("build_bytes", "x").unit("bytes"), &[])
            .unwrap_err()
            .to_string(),
        r#"unit "bytes" of "build_bytes": info and state set metrics take no unit"#
    );
    let task = r.state_set(("task", "x"), &["a", "b"]).unwrap();
    assert_eq!(
        task.set("c").unwrap_err(),
        Error::UnknownState {
            family: "task".into(),
            state: "c".into(),
            states: vec!["a".into(), "b".into()],
        }
    );
    assert_eq!(
        States::new(&["a", ""]).unwrap_err().to_string(),
        "invalid state set: state 2 is empty"
    );
}
