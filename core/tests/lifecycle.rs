//! Series removal, slot reuse, cache invalidation and guards.

use hotmetrics_core::testing::{assert_absent, assert_value};
use hotmetrics_core::{Buckets, Error, Registry};
use std::thread;

#[test]
fn label_values_are_compared_exactly() {
    let r = Registry::new();
    let f = r.counter_vec(("ident_total", "x"), &["a", "b"]).unwrap();
    f.with(&["ab", "c"], |c| c.inc()).unwrap();
    f.with(&["a", "bc"], |c| c.inc_by(10)).unwrap();
    assert_eq!(
        f.len(),
        2,
        "[\"ab\",\"c\"] and [\"a\",\"bc\"] are different series"
    );
    assert_eq!(f.get_or_create(&["ab", "c"]).unwrap().get(), 1);
    assert_eq!(f.get_or_create(&["a", "bc"]).unwrap().get(), 10);
    let snap = r.snapshot();
    assert_eq!(snap.counter("ident", &[("a", "ab"), ("b", "c")]), Some(1.0));
    assert_eq!(
        snap.counter("ident", &[("a", "a"), ("b", "bc")]),
        Some(10.0)
    );
}

#[test]
fn wrong_label_count_is_an_error() {
    let r = Registry::new();
    let f = r.counter_vec(("arity_total", "x"), &["a", "b"]).unwrap();
    let e = f.with(&["only one"], |c| c.inc()).unwrap_err();
    assert_eq!(
        e,
        Error::LabelCount {
            family: "arity_total".into(),
            expected: vec!["a".into(), "b".into()],
            got: 1
        }
    );
    assert!(f.get_or_create(&["1", "2", "3"]).is_err());
    assert!(matches!(
        f.remove(&["1"]),
        Err(Error::LabelCount { got: 1, .. })
    ));
    assert!(f.is_empty(), "failed lookups create nothing");
}

#[test]
fn cardinality_limit_refuses_new_series_and_keeps_old_ones() {
    let r = Registry::new();
    let f = r
        .counter_vec(
            hotmetrics_core::Opts::new("card_total", "x").max_series(3),
            &["id"],
        )
        .unwrap();
    for id in ["1", "2", "3"] {
        f.with(&[id], |c| c.inc()).unwrap();
    }
    let e = f.with(&["4"], |c| c.inc()).unwrap_err();
    assert_eq!(
        e,
        Error::CardinalityLimit {
            family: "card_total".into(),
            limit: 3
        }
    );
    assert!(e.to_string().contains("limit of 3"));
    f.with(&["2"], |c| c.inc()).unwrap();
    assert_eq!(f.get_or_create(&["2"]).unwrap().get(), 2);
    assert_eq!(f.remove(&["1"]), Ok(true));
    f.with(&["4"], |c| c.inc()).unwrap();
    assert_eq!(f.len(), 3);
    // The default protects every family.
    let d = r.counter_vec(("default_card_total", "x"), &["id"]).unwrap();
    for i in 0..hotmetrics_core::DEFAULT_MAX_SERIES {
        d.with(&[&i.to_string()], |c| c.inc()).unwrap();
    }
    assert!(matches!(
        d.with(&["overflow"], |c| c.inc()),
        Err(Error::CardinalityLimit { .. })
    ));
}

#[test]
fn remove_and_clear_reach_other_threads_caches() {
    let r = Registry::new();
    let f = r.counter_vec(("rm_total", "x"), &["k"]).unwrap();
    let (to_worker, work) = std::sync::mpsc::channel::<u64>();
    let (to_main, done) = std::sync::mpsc::channel::<()>();
    let worker = {
        let f = f.clone();
        thread::spawn(move || {
            for n in work {
                f.with(&["x"], |c| c.inc_by(n)).unwrap();
                to_main.send(()).unwrap();
            }
        })
    };
    to_worker.send(5).unwrap();
    done.recv().unwrap();
    assert_value(&r, "rm_total", &[("k", "x")], 5.0);
    assert_eq!(f.remove(&["x"]), Ok(true));
    assert_eq!(f.remove(&["x"]), Ok(false));
    assert_absent(&r, "rm_total", &[("k", "x")]);
    // The worker's cached handle is stale; its next lookup must see the removal
    // and start a fresh series rather than write into the removed one.
    to_worker.send(2).unwrap();
    done.recv().unwrap();
    assert_value(&r, "rm_total", &[("k", "x")], 2.0);
    f.clear();
    assert!(f.is_empty());
    to_worker.send(1).unwrap();
    done.recv().unwrap();
    assert_value(&r, "rm_total", &[("k", "x")], 1.0);
    drop(to_worker);
    worker.join().unwrap();
}

#[test]
fn freed_slots_read_zero_when_reused() {
    let r = Registry::new();
    let f = r
        .histogram_vec(("reuse", "x"), Buckets::new(vec![1.0]).unwrap(), &["k"])
        .unwrap();
    // Many threads write the series so several arenas hold non-zero cells.
    for round in 0..50 {
        let key = format!("k{round}");
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| f.with(&[&key], |h| h.observe(0.5)).unwrap());
            }
        });
        f.with(&[&key], |h| {
            let snap = h.snapshot();
            assert_eq!(snap.count, 4, "a reused slot kept an old count: {snap:?}");
            assert_eq!(snap.sum, 2.0);
        })
        .unwrap();
        // Drop every cached handle (this thread's cache via the generation bump)
        // so the slots go back to the free list for the next round.
        f.clear();
    }
}

#[test]
fn handles_outlive_unregistration() {
    let r = Registry::new();
    let c = r.counter(("gone_total", "x")).unwrap();
    c.inc();
    assert!(r.unregister("gone"));
    assert!(!r.unregister("gone"));
    c.inc();
    assert_eq!(c.get(), 2);
    assert!(r.snapshot().family("gone").is_none());
    // The name is free again.
    let c2 = r.counter(("gone_total", "x")).unwrap();
    assert_eq!(c2.get(), 0);
}

#[test]
fn nested_lookup_on_the_same_family_does_not_panic() {
    let r = Registry::new();
    let f = r.counter_vec(("nested_total", "x"), &["k"]).unwrap();
    f.with(&["outer"], |outer| {
        outer.inc();
        f.with(&["inner"], |inner| inner.inc()).unwrap();
    })
    .unwrap();
    assert_eq!(f.len(), 2);
}

#[test]
fn timer_and_in_progress_guards() {
    let r = Registry::new();
    let h = r.histogram(("t_seconds", "x"), Buckets::default()).unwrap();
    {
        let _t = h.start_timer();
    }
    let timer = h.start_timer();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let secs = timer.observe_duration();
    assert!(
        (0.02..1.0).contains(&secs),
        "measured {secs} s for a 20 ms sleep"
    );
    assert!(h.snapshot().sum >= 0.02);
    h.start_timer().discard();
    let v = h.time(|| 42);
    assert_eq!(v, 42);
    assert_eq!(h.snapshot().count, 3);

    let g = r.gauge(("busy", "x")).unwrap();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = g.track_in_progress();
        assert_eq!(g.get(), 1);
        panic!("handler failed");
    }));
    assert!(res.is_err());
    assert_eq!(g.get(), 0, "the guard decremented during unwinding");

    let errors = r.counter(("errors_total", "x")).unwrap();
    assert_eq!(errors.count_errors(|| Ok::<_, ()>(1)), Ok(1));
    assert_eq!(errors.count_errors(|| Err::<(), _>("boom")), Err("boom"));
    assert_eq!(errors.get(), 1);
}

#[test]
fn f64_counter_rejects_bad_increments_without_changing() {
    let r = Registry::new();
    let c = r.counter_f64(("bytes_total", "x")).unwrap();
    c.inc_by(1.5).unwrap();
    for bad in [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0001] {
        assert!(
            matches!(c.inc_by(bad), Err(Error::InvalidIncrement(_))),
            "{bad}"
        );
    }
    c.inc();
    assert_eq!(c.get(), 2.5);
    // The check is a compare of the bits: every class of float, and the
    // values next to the edges, against the float definition.
    let edges = [
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE / 2.0,
        -f64::MIN_POSITIVE / 2.0,
        0.0f64.next_up(),
        0.0f64.next_down(),
        f64::MAX,
        f64::MIN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::from_bits(0xfff8_0000_0000_0001),
    ];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let random = (0..100_000).map(|_| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        f64::from_bits(rng)
    });
    for v in edges.into_iter().chain(random) {
        let valid = v.is_finite() && v >= 0.0;
        assert_eq!(c.inc_by(v).is_ok(), valid, "{v:e} ({:#x})", v.to_bits());
    }
}

#[test]
fn gauges_f64_and_histogram_edge_values() {
    let r = Registry::new();
    let g = r.gauge_f64(("level", "x")).unwrap();
    g.set(1.5);
    g.inc();
    g.dec();
    g.sub(0.5);
    assert_eq!(g.get(), 1.0);
    g.set(f64::NAN);
    assert!(g.get().is_nan());
    g.set_to_current_time();
    assert!(g.get() > 1.6e9);

    let h = r
        .histogram(("edge", "x"), Buckets::new(vec![0.0, 1.0]).unwrap())
        .unwrap();
    h.observe(f64::NEG_INFINITY);
    h.observe(0.0);
    h.observe(f64::INFINITY);
    h.observe(f64::NAN);
    let s = h.snapshot();
    assert_eq!(s.counts, vec![2, 0, 2]);
    assert!(s.sum.is_nan());
}

/// A family over several of its store's pages (256 series each), with
/// removals that move series between pages and values of every length
/// class the packed store writes (empty, one length byte, two): every
/// series keeps its own count and labels, removed ones start over.
#[test]
fn many_series_keep_their_values_across_removals() {
    let r = Registry::new();
    let f = r.counter_vec(("paged_total", "x"), &["id", "pad"]).unwrap();
    let pad = |i: usize| "p".repeat(i % 70);
    for i in 0..1_000 {
        f.with(&[&format!("s{i}"), &pad(i)], |c| c.inc_by(i as u64 + 1))
            .unwrap();
    }
    for i in (0..1_000).step_by(3) {
        assert_eq!(f.remove(&[&format!("s{i}"), &pad(i)]), Ok(true));
    }
    assert_eq!(f.len(), 1_000 - 334);
    let snap = r.snapshot();
    for i in 0..1_000 {
        let (id, p) = (format!("s{i}"), pad(i));
        let got = snap.counter("paged", &[("id", &id), ("pad", &p)]);
        let want = (i % 3 != 0).then_some(i as f64 + 1.0);
        assert_eq!(got, want, "series {i}");
        let now = f.get_or_create(&[&id, &p]).unwrap().get();
        assert_eq!(now, if i % 3 == 0 { 0 } else { i as u64 + 1 }, "series {i}");
    }
    assert_eq!(f.len(), 1_000);
}
