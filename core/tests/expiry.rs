//! Idle-series expiry: what expires and when, opting out, revival through
//! kept handles and lookups, and no write lost under concurrent sweeps.

use hotmetrics_core::testing::{assert_absent, assert_value};
use hotmetrics_core::{Buckets, Error, Opts, Registry, Snapshot, ValueSnapshot};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// Expires whatever did not change since the previous sweep.
fn eager(name: &str) -> Opts {
    Opts::new(name, "x").expire_after(Duration::ZERO)
}

/// The values of `family`'s series in `snap`, by their `k` label; fails on
/// label values exported twice.
fn by_key(snap: &Snapshot, family: &str) -> HashMap<String, ValueSnapshot> {
    let mut out = HashMap::new();
    for s in snap.family(family).map_or(&[][..], |f| &f.series) {
        let (_, key) = s.labels.iter().find(|(n, _)| n == "k").expect("a k label");
        let dup = out.insert(key.clone(), s.value.clone());
        assert!(dup.is_none(), "{family}{{k={key:?}}} exported twice");
    }
    out
}

#[test]
fn idle_series_expire_and_changing_ones_stay() {
    let r = Registry::new();
    let c = r.counter_vec(eager("c_total"), &["k"]).unwrap();
    let f = r.counter_f64_vec(eager("f_total"), &["k"]).unwrap();
    let g = r.gauge_vec(eager("g"), &["k"]).unwrap();
    let h = r
        .histogram_vec(eager("h"), Buckets::new(vec![1.0]).unwrap(), &["k"])
        .unwrap();
    let write_busy = || {
        c.with(&["busy"], |m| m.inc()).unwrap();
        f.with(&["busy"], |m| m.inc_by(0.5).unwrap()).unwrap();
        g.with(&["busy"], |m| m.dec()).unwrap();
        h.with(&["busy"], |m| m.observe(2.0)).unwrap();
    };
    let look_up = |k: &str| {
        c.with(&[k], |_| ()).unwrap();
        f.with(&[k], |_| ()).unwrap();
        g.with(&[k], |_| ()).unwrap();
        h.with(&[k], |_| ()).unwrap();
    };
    for k in ["busy", "idle"] {
        c.with(&[k], |m| m.inc()).unwrap();
        f.with(&[k], |m| m.inc()).unwrap();
        g.with(&[k], |m| m.inc()).unwrap();
        h.with(&[k], |m| m.observe(0.5)).unwrap();
    }
    assert_eq!(r.expire_idle(), 0, "the first sweep sees new series change");
    write_busy();
    assert_eq!(r.expire_idle(), 4, "the idle series of each family");
    assert_eq!(c.len(), 1);
    assert_eq!(r.expire_idle(), 4, "busy, unchanged since the last sweep");
    assert_eq!(c.len(), 0);
    // Lookups revive both, values and all.
    look_up("busy");
    look_up("idle");
    write_busy();
    assert_eq!(
        r.expire_idle(),
        0,
        "the first sweep sees revived series change"
    );
    write_busy();
    assert_eq!(r.expire_idle(), 4);
    let snap = r.snapshot();
    assert_eq!(by_key(&snap, "c").len(), 1);
    assert_eq!(snap.counter("c", &[("k", "busy")]), Some(4.0));
    assert_eq!(snap.counter("f", &[("k", "busy")]), Some(2.5));
    assert_eq!(snap.gauge("g", &[("k", "busy")]), Some(-2.0));
    let busy = h.get_or_create(&["busy"]).unwrap().snapshot();
    assert_eq!((busy.count, busy.sum), (4, 6.5));
    assert_eq!(c.get_or_create(&["idle"]).unwrap().get(), 1);
}

#[test]
fn a_sweep_expires_only_after_the_duration() {
    let r = Registry::new();
    let after = Duration::from_millis(400);
    let c = r
        .counter_vec(Opts::new("slow_total", "x").expire_after(after), &["k"])
        .unwrap();
    c.with(&["a"], |m| m.inc()).unwrap();
    assert_eq!(r.expire_idle(), 0);
    assert_eq!(r.expire_idle(), 0, "unchanged, but for less than 400 ms");
    thread::sleep(after + Duration::from_millis(50));
    assert_eq!(r.expire_idle(), 1);
    assert!(c.is_empty());
}

#[test]
fn scrapes_sweep_and_export_before_expiring() {
    let r = Registry::new();
    let c = r.counter_vec(eager("scraped_total"), &["k"]).unwrap();
    c.with(&["a"], |m| m.inc()).unwrap();
    // The first scrape sees the creation as a change, the second finds the
    // series unchanged: it still exports it, then expires it.
    for _ in 0..2 {
        assert_value(&r, "scraped_total", &[("k", "a")], 1.0);
    }
    assert_absent(&r, "scraped_total", &[("k", "a")]);
    assert!(c.is_empty());
}

#[test]
fn registry_default_and_opt_outs() {
    let r = Registry::builder()
        .expire_after(Duration::ZERO)
        .build()
        .unwrap();
    let default = r.counter_vec(("default_total", "x"), &["k"]).unwrap();
    let never = r
        .gauge_vec(Opts::new("never", "x").never_expire(), &["k"])
        .unwrap();
    let longer = r
        .counter_vec(
            Opts::new("longer_total", "x").expire_after(Duration::from_secs(3600)),
            &["k"],
        )
        .unwrap();
    let unlabeled = r.counter(("unlabeled_total", "x")).unwrap();
    default.with(&["a"], |m| m.inc()).unwrap();
    never.with(&["a"], |m| m.set(3)).unwrap();
    longer.with(&["a"], |m| m.inc()).unwrap();
    unlabeled.inc();
    r.expire_idle();
    assert_eq!(r.expire_idle(), 1, "only the family on the default expires");
    assert!(default.is_empty());
    let snap = r.snapshot();
    assert_eq!(snap.gauge("never", &[("k", "a")]), Some(3.0));
    assert_eq!(snap.counter("longer", &[("k", "a")]), Some(1.0));
    assert_eq!(snap.counter("unlabeled", &[]), Some(1.0));

    // Asking for expiry of a metric with no labels is an error.
    let e = Registry::new().counter(eager("single_total")).unwrap_err();
    assert_eq!(e, Error::ExpiryWithoutLabels("single_total".into()));
    assert_eq!(
        e.to_string(),
        r#""single_total" has no label names, so its one series cannot expire: expire_after applies to labeled families"#
    );
}

#[test]
fn a_gauge_set_to_the_same_value_looks_idle() {
    // Documented on `Opts::expire_after`: expiry compares values.
    let r = Registry::new();
    let g = r.gauge_vec(eager("level"), &["k"]).unwrap();
    let kept = g.get_or_create(&["a"]).unwrap();
    kept.set(7);
    r.expire_idle();
    kept.set(7);
    assert_eq!(r.expire_idle(), 1);
    kept.set(8);
    assert_value(&r, "level", &[("k", "a")], 8.0);
}

#[test]
fn kept_handles_revive_their_series_with_the_whole_value() {
    let r = Registry::new();
    let c = r.counter_vec(eager("kept_total"), &["k"]).unwrap();
    let h = r
        .histogram_vec(eager("kept_seconds"), Buckets::default(), &["k"])
        .unwrap();
    let from_map = c.get_or_create(&["map"]).unwrap();
    let from_cache = c.handle(&["cache"]).unwrap();
    from_map.inc_by(3);
    from_cache.inc_by(5);
    let timer = h.start_timer(&["t"]).unwrap();
    r.expire_idle();
    assert_eq!(r.expire_idle(), 3);
    let snap = r.snapshot();
    assert!(snap.family("kept").is_none_or(|f| f.series.is_empty()));
    from_map.inc();
    from_cache.inc();
    drop(timer);
    let snap = r.snapshot();
    assert_eq!(snap.counter("kept", &[("k", "map")]), Some(4.0));
    assert_eq!(snap.counter("kept", &[("k", "cache")]), Some(6.0));
    assert_eq!(by_key(&snap, "kept").len(), 2);
    let t = h.get_or_create(&["t"]).unwrap().snapshot();
    assert_eq!(
        t.count, 1,
        "the timer's observation landed in the revived series"
    );
}

#[test]
fn a_lookup_revives_the_same_series() {
    let r = Registry::new();
    let c = r.counter_vec(eager("looked_total"), &["k"]).unwrap();
    let first = c.get_or_create(&["a"]).unwrap();
    first.inc();
    let created = first.created();
    r.expire_idle();
    assert_eq!(r.expire_idle(), 1);
    for lookup in 0..3 {
        match lookup {
            0 => c.with(&["a"], |m| m.inc()).unwrap(),
            1 => c.handle(&["a"]).unwrap().inc(),
            _ => c.get_or_create(&["a"]).unwrap().inc(),
        }
        assert_eq!(c.len(), 1);
        assert_eq!(first.get(), 2 + lookup, "the lookup found the kept series");
        assert_eq!(c.get_or_create(&["a"]).unwrap().created(), created);
        r.expire_idle();
        r.expire_idle();
    }
    // A removed expired series is gone for good: the next lookup starts anew.
    assert_eq!(c.remove(&["a"]), Ok(true));
    assert_eq!(c.remove(&["a"]), Ok(false));
    c.with(&["a"], |m| m.inc()).unwrap();
    assert_value(&r, "looked_total", &[("k", "a")], 1.0);
    assert_eq!(first.get(), 4);
}

#[test]
fn revivals_may_pass_the_series_limit_new_series_may_not() {
    let r = Registry::new();
    let c = r
        .counter_vec(eager("limited_total").max_series(1), &["k"])
        .unwrap();
    let a = c.get_or_create(&["a"]).unwrap();
    a.inc();
    r.expire_idle();
    assert_eq!(r.expire_idle(), 1);
    // Expired series do not count against the limit...
    c.with(&["b"], |m| m.inc()).unwrap();
    // ...and a revival is never refused, even above it.
    a.inc();
    assert_eq!(c.get_or_create(&["a"]).unwrap().get(), 2);
    assert_eq!(c.len(), 2);
    assert!(matches!(
        c.with(&["c"], |m| m.inc()),
        Err(Error::CardinalityLimit { limit: 1, .. })
    ));
    assert_eq!(by_key(&r.snapshot(), "limited").len(), 2);
}

#[test]
fn info_and_state_set_families_expire_when_unchanged() {
    let r = Registry::new();
    let info = r.info_vec(eager("build"), &["k"]).unwrap();
    let states = r
        .state_set_vec(eager("mode"), &["on", "off"], &["k"])
        .unwrap();
    let i = info.get_or_create(&["a"]).unwrap();
    let s = states.get_or_create(&["a"]).unwrap();
    i.set(&[("version", "1")]).unwrap();
    s.set("off").unwrap();
    r.expire_idle();
    i.set(&[("version", "2")]).unwrap();
    assert_eq!(r.expire_idle(), 1, "the state set did not change");
    assert_eq!(r.expire_idle(), 1, "now the info did not either");
    s.set("on").unwrap();
    i.set(&[("version", "3")]).unwrap();
    let snap = r.snapshot();
    assert_eq!(snap.family("build").unwrap().series.len(), 1);
    assert_eq!(snap.family("mode").unwrap().series.len(), 1);
}

/// Writers over rotating label sets, through `with` and through kept
/// handles, in rounds of threads that exit, while another thread sweeps
/// and scrapes in a loop with an `after` of zero. Every label set's series
/// is also held from the start, so none is ever dropped and its total is
/// known: each scrape exports each label set at most once, and at the end
/// the exported totals are exact.
#[test]
fn no_write_is_lost_or_doubled_under_concurrent_sweeps() {
    const KEYS: usize = 24;
    const WRITERS: usize = 4;
    const ROUNDS: usize = 6;
    const PER_ROUND: usize = 3_000;
    let r = Registry::new();
    let c = r.counter_vec(eager("churn_total"), &["k"]).unwrap();
    let h = r
        .histogram_vec(
            eager("churn_seconds"),
            Buckets::new(vec![1.0]).unwrap(),
            &["k"],
        )
        .unwrap();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("k{i}")).collect();
    let held: Vec<_> = keys
        .iter()
        .map(|k| c.get_or_create(&[k.as_str()]).unwrap())
        .collect();
    let held_histograms: Vec<_> = keys
        .iter()
        .map(|k| h.get_or_create(&[k.as_str()]).unwrap())
        .collect();
    let stop = AtomicBool::new(false);
    let mut expected = [0u64; KEYS];
    thread::scope(|s| {
        let sweeper = s.spawn(|| {
            let (mut sweeps, mut last) = (0u64, [0.0f64; KEYS]);
            while !stop.load(Ordering::Relaxed) {
                r.expire_idle();
                let snap = r.snapshot();
                for (key, v) in by_key(&snap, "churn") {
                    let i: usize = key[1..].parse().unwrap();
                    let ValueSnapshot::Counter(v) = v else {
                        panic!("{v:?}")
                    };
                    assert!(v >= last[i], "{key} went down: {} -> {v}", last[i]);
                    last[i] = v;
                }
                by_key(&snap, "churn_seconds");
                sweeps += 1;
            }
            sweeps
        });
        for round in 0..ROUNDS {
            let counts: Vec<Vec<u64>> = thread::scope(|w| {
                let writers: Vec<_> = (0..WRITERS)
                    .map(|t| {
                        let (c, h, keys) = (&c, &h, &keys);
                        w.spawn(move || {
                            let mut mine = vec![0u64; KEYS];
                            let mut kept = Vec::new();
                            for i in 0..PER_ROUND {
                                let k = (i * (t + 1) + round) % KEYS;
                                let key = [keys[k].as_str()];
                                if i % 7 == 0 {
                                    // Take a handle and keep it a while.
                                    kept.push((k, c.handle(&key).unwrap()));
                                } else {
                                    c.with(&key, |m| m.inc()).unwrap();
                                    mine[k] += 1;
                                }
                                if i % 3 == 0
                                    && let Some((k, handle)) = kept.get(i % (kept.len() + 1))
                                {
                                    handle.inc();
                                    mine[*k] += 1;
                                }
                                if kept.len() > 8 {
                                    kept.remove(0);
                                }
                                h.with(&key, |m| m.observe(0.5)).unwrap();
                            }
                            mine
                        })
                    })
                    .collect();
                writers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            for mine in counts {
                for (e, n) in expected.iter_mut().zip(mine) {
                    *e += n;
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        let sweeps = sweeper.join().unwrap();
        assert!(sweeps > 10, "the sweeper ran {sweeps} times only");
    });
    // Every held series has its exact total...
    for (i, s) in held.iter().enumerate() {
        assert_eq!(s.get(), expected[i], "k{i}");
    }
    // ...and it is the one exported: look every label set up (reviving
    // what expired), then scrape once; a scrape exports before it expires.
    for k in &keys {
        c.with(&[k.as_str()], |_| ()).unwrap();
        h.with(&[k.as_str()], |_| ()).unwrap();
    }
    let snap = r.snapshot();
    let exported = by_key(&snap, "churn");
    assert_eq!(exported.len(), KEYS);
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(
            exported[k],
            ValueSnapshot::Counter(expected[i] as f64),
            "{k}"
        );
    }
    let observed: u64 = by_key(&snap, "churn_seconds")
        .values()
        .map(|v| match v {
            ValueSnapshot::Histogram { count, .. } => *count,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(observed, (WRITERS * ROUNDS * PER_ROUND) as u64);
    let held_total: u64 = held_histograms.iter().map(|h| h.snapshot().count).sum();
    assert_eq!(held_total, observed);
}
