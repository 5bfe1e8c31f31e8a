//! Summaries: quantiles within the stated relative error of the exact
//! ones however the data is split over threads, exact count and sum under
//! racing scrapes, option validation, families and timers.

use hotmetrics_core::{Error, Registry, Summary, SummaryOpts, ValueSnapshot};
use proptest::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;

const QUANTILES: [f64; 9] = [0.0, 0.01, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0];

fn objectives() -> Vec<(f64, f64)> {
    QUANTILES.iter().map(|&q| (q, 0.001)).collect()
}

/// The exact `q`-quantile as the docs define it: 0-based rank
/// `floor(q * (n - 1))` of the sorted non-NaN values.
fn exact(sorted: &[f64], q: f64) -> f64 {
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

/// Whether `got` is what the docs promise for the exact quantile `x`.
fn within(got: f64, x: f64, alpha: f64) -> bool {
    let a = x.abs();
    if a < 1e-9 {
        got == 0.0
    } else if a > 1e9 {
        got == f64::INFINITY.copysign(x)
    } else {
        (got - x).abs() <= alpha * a * (1.0 + 1e-9)
    }
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        // Magnitudes over the whole bucketed range, both signs.
        8 => (-9.0f64..9.0, any::<bool>())
            .prop_map(|(e, neg)| if neg { -(10f64.powf(e)) } else { 10f64.powf(e) }),
        // Many equal values (ties at one bucket).
        2 => (0u32..20).prop_map(f64::from),
        1 => Just(0.0),
        1 => prop::sample::select(vec![
            1e-12, -1e-12, 5e9, -5e9, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e-9, 1e9,
        ]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn quantiles_are_within_the_relative_error_of_the_exact_ones(
        data in prop::collection::vec((value(), 0usize..4), 1..2000),
        alpha in prop::sample::select(vec![0.001, 0.01, 0.05, 0.2]),
    ) {
        let r = Registry::new();
        let s = r
            .summary(("p", "p"), SummaryOpts::new().objectives(&objectives()).relative_error(alpha))
            .unwrap();
        let threads = data.iter().map(|&(_, t)| t).max().unwrap_or(0) + 1;
        thread::scope(|scope| {
            for t in 0..threads {
                let (s, data) = (&s, &data);
                scope.spawn(move || {
                    data.iter().filter(|&&(_, i)| i == t).for_each(|&(v, _)| s.observe(v));
                });
            }
        });
        let snap = s.snapshot();
        prop_assert_eq!(snap.count, data.len() as u64);
        let mut sorted: Vec<f64> = data.iter().map(|&(v, _)| v).filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        prop_assert_eq!(snap.quantiles.len(), QUANTILES.len());
        for (&(q, got), &want_q) in snap.quantiles.iter().zip(&QUANTILES) {
            prop_assert_eq!(q, want_q);
            if sorted.is_empty() {
                prop_assert!(got.is_nan());
            } else {
                let x = exact(&sorted, q);
                prop_assert!(within(got, x, alpha), "q {} α {}: got {}, exact {}", q, alpha, got, x);
            }
        }
    }
}

#[test]
fn racing_scrapes_see_growing_counts_then_exact_totals_and_quantiles() {
    const THREADS: usize = 8;
    const PER_THREAD: u64 = 20_000;
    let r = Registry::new();
    let s = r
        .summary(
            ("race_seconds", "r"),
            SummaryOpts::new().objectives(&objectives()),
        )
        .unwrap();
    let done = AtomicBool::new(false);
    let start = Barrier::new(THREADS + 1);
    let scrapes = Mutex::new(0u32);
    thread::scope(|scope| {
        scope.spawn(|| {
            start.wait();
            let mut last = 0;
            while !done.load(Ordering::Relaxed) {
                let snap = r.snapshot();
                let series = &snap.families[0].series[0];
                let ValueSnapshot::Summary { count, .. } = &series.value else {
                    panic!("not a summary: {:?}", series.value);
                };
                assert!(*count >= last, "count went back: {last} -> {count}");
                last = *count;
                *scrapes.lock().unwrap() += 1;
            }
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (s, start) = (&s, &start);
                scope.spawn(move || {
                    start.wait();
                    for i in 0..PER_THREAD {
                        // Integers: the f64 sum is exact in any order.
                        s.observe(((i + t as u64) % 1000) as f64 - 200.0);
                    }
                })
            })
            .collect();
        writers.into_iter().for_each(|w| w.join().unwrap());
        done.store(true, Ordering::Relaxed);
    });
    assert!(*scrapes.lock().unwrap() > 0);
    let snap = s.snapshot();
    assert_eq!(snap.count, THREADS as u64 * PER_THREAD);
    let mut data: Vec<f64> = (0..THREADS as u64)
        .flat_map(|t| (0..PER_THREAD).map(move |i| ((i + t) % 1000) as f64 - 200.0))
        .collect();
    assert_eq!(snap.sum, data.iter().sum::<f64>());
    // After the race, every quantile against the exact one of all the data
    // (the window, 10 minutes, holds it all).
    data.sort_by(f64::total_cmp);
    for (&(q, got), &want_q) in snap.quantiles.iter().zip(&QUANTILES) {
        assert_eq!(q, want_q);
        let x = exact(&data, q);
        assert!(within(got, x, 0.01), "q {q}: got {got}, exact {x}");
    }
}

/// Several threads read one summary at once (registry scrapes and
/// `snapshot()`), with a window of microseconds in one age bucket so
/// nearly every read rotates it, while writers observe: a read's counts
/// are never below the snapshot it subtracts (debug builds assert it; a
/// read that took its clock or counts before another read's rotation
/// would subtract that newer snapshot), counts grow for each reader, every
/// quantile is NaN or one of the observed values, and the totals come out
/// exact.
#[test]
fn concurrent_readers_rotating_the_window_stay_consistent() {
    const WRITERS: usize = 4;
    const PER_THREAD: u64 = 50_000;
    const VALUES: [f64; 3] = [1.0, 10.0, 100.0];
    let r = Registry::new();
    let s = r
        .summary(
            ("rot", "r"),
            SummaryOpts::new()
                .objectives(&objectives())
                .max_age(std::time::Duration::from_micros(5))
                .age_buckets(1),
        )
        .unwrap();
    let writing = AtomicUsize::new(WRITERS);
    let check = |count: u64, last: &mut u64, quantiles: &[(f64, f64)]| {
        assert!(count >= *last, "count went back: {last} -> {count}");
        *last = count;
        let empty = quantiles.iter().all(|(_, v)| v.is_nan());
        assert!(
            empty
                || quantiles
                    .iter()
                    .all(|&(_, v)| VALUES.iter().any(|&x| within(v, x, 0.01))),
            "not an observed value: {quantiles:?}"
        );
    };
    thread::scope(|scope| {
        for reader in 0..4 {
            let (r, s, writing) = (&r, &s, &writing);
            scope.spawn(move || {
                let (mut last, mut reads) = (0, 0);
                while writing.load(Ordering::Relaxed) > 0 || reads < 1000 {
                    reads += 1;
                    if reader == 0 {
                        let snap = r.snapshot();
                        let ValueSnapshot::Summary {
                            quantiles, count, ..
                        } = &snap.families[0].series[0].value
                        else {
                            panic!("not a summary");
                        };
                        check(*count, &mut last, quantiles);
                    } else {
                        let snap = s.snapshot();
                        check(snap.count, &mut last, &snap.quantiles);
                    }
                }
            });
        }
        for t in 0..WRITERS {
            let (s, writing) = (&s, &writing);
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    s.observe(VALUES[(i as usize + t) % 3]);
                }
                writing.fetch_sub(1, Ordering::Relaxed);
            });
        }
    });
    let snap = s.snapshot();
    assert_eq!(snap.count, WRITERS as u64 * PER_THREAD);
    let want: f64 = (0..WRITERS)
        .flat_map(|t| (0..PER_THREAD as usize).map(move |i| VALUES[(i + t) % 3]))
        .sum();
    assert_eq!(snap.sum, want);
}

#[test]
fn bad_options_are_refused_with_reasons() {
    let r = Registry::new();
    let err = |opts: SummaryOpts| match r.summary(("bad", "b"), opts) {
        Err(Error::InvalidSummary(why)) => why,
        other => panic!("accepted or other error: {other:?}"),
    };
    let o = SummaryOpts::new;
    assert!(err(o().objectives(&[(1.5, 0.01)])).contains("quantile 1.5 is outside"));
    assert!(err(o().objectives(&[(-0.1, 0.01)])).contains("outside [0, 1]"));
    assert!(err(o().objectives(&[(f64::NAN, 0.01)])).contains("outside [0, 1]"));
    assert!(err(o().objectives(&[(0.5, 2.0)])).contains("error 2 of quantile 0.5"));
    assert!(err(o().objectives(&[(0.5, 0.1), (0.5, 0.01)])).contains("given twice"));
    // Below the floor of 1e-4, too: 5e-9 overflowed the key arithmetic,
    // 1e-8 asked for 33 GB at the first read, 1e-6 for 166 MB a thread.
    for alpha in [0.0, 0.5, -0.1, f64::NAN, 5e-9, 1e-8, 1e-6, 9.9e-5] {
        assert!(err(o().relative_error(alpha)).contains("relative error"));
    }
    assert!(err(o().age_buckets(0)).contains("age_buckets is 0"));
    assert!(err(o().max_age(std::time::Duration::ZERO)).contains("max_age is 0"));
    assert!(err(o().max_age(std::time::Duration::from_nanos(3))).contains("shorter than"));
    assert!(
        r.summary_vec(("bad_vec", "b"), o().age_buckets(0), &["k"])
            .is_err(),
        "a family's options are checked at registration"
    );
    assert!(r.snapshot().families.is_empty(), "nothing was registered");
    // No objectives is fine: only _sum and _count.
    let plain = r.summary(("plain", "p"), o().objectives(&[])).unwrap();
    plain.observe(2.0);
    assert_eq!(plain.snapshot().quantiles, vec![]);
    assert_eq!(plain.snapshot().sum, 2.0);
    // The floor itself is accepted, and reads.
    let fine = r.summary(("fine", "f"), o().relative_error(1e-4)).unwrap();
    fine.observe(2.0);
    let q = fine.snapshot().quantiles[0].1;
    assert!((q - 2.0).abs() <= 2e-4, "{q}");
}

#[test]
fn quantile_is_a_reserved_label() {
    let r = Registry::new();
    let e = r
        .summary_vec(("lat", "l"), SummaryOpts::new(), &["quantile"])
        .unwrap_err();
    assert!(matches!(e, Error::ReservedLabelName { .. }), "{e:?}");
    let e = r
        .summary(
            hotmetrics_core::Opts::new("lat2", "l").const_label("quantile", "x"),
            SummaryOpts::new(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::ReservedLabelName { .. }), "{e:?}");
}

#[test]
fn families_report_each_series_with_quantiles_in_order() {
    let r = Registry::new();
    let fam = r
        .summary_vec(
            ("req_seconds", "r"),
            SummaryOpts::new().objectives(&[(0.9, 0.01), (0.5, 0.05)]),
            &["route"],
        )
        .unwrap();
    for i in 1..=10 {
        fam.with(&["/a"], |s| s.observe(i as f64)).unwrap();
    }
    fam.with(&["/b"], |s| s.observe(-4.0)).unwrap();
    let snap = r.snapshot();
    let series = &snap.families[0].series;
    assert_eq!(series.len(), 2);
    let ValueSnapshot::Summary {
        quantiles,
        count,
        sum,
    } = &series[0].value
    else {
        panic!("{:?}", series[0].value)
    };
    assert_eq!((*count, *sum), (10, 55.0));
    // Given out of order, reported increasing; ranks floor(q * 9) = 4, 8.
    assert_eq!(quantiles[0].0, 0.5);
    assert!((quantiles[0].1 - 5.0).abs() <= 0.05);
    assert_eq!(quantiles[1].0, 0.9);
    assert!((quantiles[1].1 - 9.0).abs() <= 0.09);
    let b = fam.get_or_create(&["/b"]).unwrap().snapshot();
    assert!((b.quantiles[0].1 + 4.0).abs() <= 0.04, "{b:?}");
    assert!(fam.with(&["/a", "extra"], |_| ()).is_err());
}

#[test]
fn timers_record_once() {
    let r = Registry::new();
    let s: Summary = r.summary(("t_seconds", "t"), SummaryOpts::new()).unwrap();
    drop(s.start_timer());
    let secs = s.start_timer().observe_duration();
    assert!(secs >= 0.0);
    s.start_timer().discard();
    assert_eq!(s.time(|| 7), 7);
    s.observe_duration(std::time::Duration::from_millis(250));
    let snap = s.snapshot();
    assert_eq!(snap.count, 4);
    assert!(snap.sum >= 0.25);
    let fam = r
        .summary_vec(("ft_seconds", "t"), SummaryOpts::new(), &["k"])
        .unwrap();
    let timer = fam.start_timer(&["x"]).unwrap();
    let held = thread::spawn(move || drop(timer));
    held.join().unwrap();
    assert_eq!(fam.get_or_create(&["x"]).unwrap().snapshot().count, 1);
}

#[test]
fn nan_counts_but_is_in_no_quantile() {
    let r = Registry::new();
    let s = r.summary(("n", "n"), SummaryOpts::new()).unwrap();
    s.observe(f64::NAN);
    let snap = s.snapshot();
    assert_eq!(snap.count, 1);
    assert!(snap.sum.is_nan());
    assert!(snap.quantiles.iter().all(|(_, v)| v.is_nan()));
    s.observe(3.0);
    let snap = s.snapshot();
    assert!(snap.quantiles.iter().all(|(_, v)| (v - 3.0).abs() <= 0.03));
}
