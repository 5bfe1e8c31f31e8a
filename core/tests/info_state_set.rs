//! User-facing info and state-set metrics: registration, validation, and
//! what the visitor sees.

use hotmetrics_core::{
    Error, MetricType, Opts, Registry, StateSet, States, ValueSnapshot, validate_label_name,
};

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn info_carries_its_labels_after_the_series_labels() {
    let r = Registry::builder()
        .prefix("shop")
        .const_label("region", "eu")
        .build()
        .unwrap();
    let build = r
        .info(
            Opts::new("build_info", "Build.").const_label("team", "core"),
            &[("version", "1.2.3"), ("commit", "abc")],
        )
        .unwrap();
    let snap = r.snapshot();
    let fam = snap.family("shop_build").expect("named without _info");
    assert_eq!(fam.metric_type, MetricType::Info);
    assert_eq!(fam.series.len(), 1);
    assert_eq!(
        fam.series[0].labels,
        pairs(&[
            ("region", "eu"),
            ("team", "core"),
            ("version", "1.2.3"),
            ("commit", "abc")
        ])
    );
    assert_eq!(fam.series[0].value, ValueSnapshot::Info);

    build.set(&[("version", "1.2.4")]).unwrap();
    let snap = r.snapshot();
    assert_eq!(
        snap.family("shop_build").unwrap().series[0].labels,
        pairs(&[("region", "eu"), ("team", "core"), ("version", "1.2.4")])
    );
    // `build` and `build_info` are one family.
    assert!(matches!(
        r.info(("build", "x"), &[]),
        Err(Error::AlreadyRegistered { .. })
    ));
}

#[test]
fn info_labels_are_validated_and_a_failure_changes_nothing() {
    let r = Registry::builder()
        .const_label("region", "eu")
        .build()
        .unwrap();
    let info = r.info(("build", "x"), &[("version", "1")]).unwrap();
    for bad in [
        vec![("bad-name", "1")],
        vec![("__x", "1")],
        vec![("region", "us")],
        vec![("a", "1"), ("a", "2")],
    ] {
        assert!(info.set(&bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        info.set(&[("a", "1"), ("a", "2")]).unwrap_err().to_string(),
        r#""build": label "a" is given twice, as an info label"#
    );
    assert_eq!(info.get(), pairs(&[("version", "1")]));
    // A registration whose labels are refused leaves nothing behind.
    assert!(r.info(("other", "x"), &[("region", "us")]).is_err());
    assert!(r.info(("other", "x"), &[]).is_ok());
    // Values may be anything; no labels at all is fine.
    info.set(&[("note", "quotes \" and\nnewlines, ünïcode")])
        .unwrap();
    info.set(&[]).unwrap();
    assert_eq!(info.get(), []);
}

#[test]
fn info_families_refuse_labels_their_series_carry() {
    let r = Registry::new();
    let f = r.info_vec(("component", "x"), &["name"]).unwrap();
    f.with(&["db"], |i| i.set(&[("version", "15")]))
        .unwrap()
        .unwrap();
    f.with(&["cache"], |i| i.set(&[("version", "7"), ("mode", "lru")]))
        .unwrap()
        .unwrap();
    let e = f
        .with(&["db"], |i| i.set(&[("name", "x")]))
        .unwrap()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#""component": label "name" is given twice, as a label name and as an info label"#
    );
    let snap = r.snapshot();
    let fam = snap.family("component").unwrap();
    assert_eq!(
        fam.series[1].labels,
        pairs(&[("name", "cache"), ("version", "7"), ("mode", "lru")])
    );
}

fn states(r: &Registry, name: &str, labels: &[(&str, &str)]) -> Vec<(String, bool)> {
    match r.snapshot().value(name, labels) {
        Some(ValueSnapshot::StateSet(s)) => s.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn on(names: &[&str], enabled: &[bool]) -> Vec<(String, bool)> {
    names
        .iter()
        .zip(enabled)
        .map(|(n, b)| ((*n).to_owned(), *b))
        .collect()
}

#[test]
fn an_enum_state_set_has_exactly_one_state_enabled() {
    let r = Registry::builder().prefix("shop").build().unwrap();
    let names = ["starting", "running", "stopped"];
    let task = r.state_set(("task_state", "x"), &names).unwrap();
    assert_eq!(
        states(&r, "shop_task_state", &[]),
        on(&names, &[true, false, false])
    );
    task.set("stopped").unwrap();
    assert_eq!(
        states(&r, "shop_task_state", &[]),
        on(&names, &[false, false, true])
    );
    assert!(matches!(
        task.set("Running"),
        Err(Error::UnknownState { .. })
    ));
    assert!(task.set_state("nope", true).is_err());
    assert!(task.is_enabled("nope").is_err());
    assert_eq!(task.is_enabled("stopped"), Ok(true), "unchanged by errors");
    // Many writers, one scraper: never zero or two states.
    let snapshots = std::thread::scope(|s| {
        for t in 0..2 {
            let task = &task;
            s.spawn(move || {
                for i in 0..5_000 {
                    task.set(names[(i + t) % 3]).unwrap();
                }
            });
        }
        let scraper = s.spawn(|| {
            (0..500)
                .map(|_| states(&r, "shop_task_state", &[]))
                .collect::<Vec<_>>()
        });
        scraper.join().unwrap()
    });
    for s in snapshots {
        assert_eq!(s.iter().filter(|(_, b)| *b).count(), 1, "{s:?}");
    }
}

#[test]
fn flags_start_disabled_and_change_one_by_one() {
    let r = Registry::new();
    let names = ["tls", "gzip", "http2"];
    let features = r
        .metric::<StateSet>(("features", "x"), States::flags(&names).unwrap())
        .unwrap();
    assert_eq!(states(&r, "features", &[]), on(&names, &[false; 3]));
    features.set_state("gzip", true).unwrap();
    features.set_state("http2", true).unwrap();
    features.set_state("gzip", false).unwrap();
    assert_eq!(
        states(&r, "features", &[]),
        on(&names, &[false, false, true])
    );
    features.set("tls").unwrap();
    assert_eq!(
        states(&r, "features", &[]),
        on(&names, &[true, false, false])
    );
}

#[test]
fn state_set_families_and_validation() {
    let r = Registry::new();
    let names = ["closed", "open"];
    let breakers = r
        .state_set_vec(("breaker", "x"), &names, &["upstream"])
        .unwrap();
    breakers
        .with(&["payments"], |b| b.set("open"))
        .unwrap()
        .unwrap();
    breakers.with(&["search"], |_| ()).unwrap();
    assert_eq!(
        states(&r, "breaker", &[("upstream", "payments")]),
        on(&names, &[false, true])
    );
    assert_eq!(
        states(&r, "breaker", &[("upstream", "search")]),
        on(&names, &[true, false])
    );

    // States: at least one, none empty, each once; any string otherwise.
    assert!(matches!(
        r.state_set(("s1", "x"), &[]),
        Err(Error::InvalidStates(_))
    ));
    assert!(r.state_set(("s2", "x"), &["a", ""]).is_err());
    assert!(r.state_set(("s3", "x"), &["a", "b", "a"]).is_err());
    let odd = ["with space", "ünï \"quoted\"\n"];
    assert!(validate_label_name(odd[0]).is_err(), "not a label name...");
    let s = r.state_set(("s4", "x"), &odd).unwrap();
    s.set(odd[1]).unwrap(); // ...but a fine label value
    // The name doubles as the state label: no colons, not reserved.
    assert!(matches!(
        r.state_set(("ns:state", "x"), &["a"]),
        Err(Error::InvalidStates(_))
    ));
    assert!(matches!(
        r.state_set_vec(("mode", "x"), &["a"], &["mode"]),
        Err(Error::ReservedLabelName { .. })
    ));
    assert!(matches!(
        r.state_set(Opts::new("mode_seconds", "x").unit("seconds"), &["a"]),
        Err(Error::InvalidUnit { .. })
    ));
    let names: Vec<_> = r.family_names();
    assert_eq!(names, ["breaker", "s4"], "nothing half-registered");
}
