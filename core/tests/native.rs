//! Native histograms and histogram exemplars through the public API:
//! exact counts under racing scrapes with forced reductions, whole
//! exemplars, refused options.

use hotmetrics_core::{
    Buckets, Error, FamilyDesc, HistogramValue, LabelSet, MetricVisitor, NativeOpts, Registry,
    SeriesValue,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

/// What a scrape saw of each histogram series.
#[derive(Default)]
struct Seen {
    count: u64,
    classic_total: u64,
    native_total: u64,
    native: bool,
    exemplar_pairs: Vec<(String, f64)>,
    native_exemplars: Vec<(String, f64, f64)>,
}

#[derive(Default)]
struct Capture(Vec<Seen>);

impl MetricVisitor for Capture {
    fn begin_family(&mut self, _: &FamilyDesc<'_>) {}
    fn series(&mut self, _: &dyn LabelSet, value: &SeriesValue<'_>) {
        let SeriesValue::Histogram(h) = value else {
            return;
        };
        self.0.push(seen(h));
    }
}

fn label(e: &hotmetrics_core::Exemplar, name: &str) -> String {
    e.labels()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

fn seen(h: &HistogramValue<'_>) -> Seen {
    let mut s = Seen {
        count: h.count,
        classic_total: h.bucket_counts.iter().sum(),
        ..Seen::default()
    };
    for e in h.exemplars.iter().flatten() {
        s.exemplar_pairs.push((label(e, "thread"), e.value()));
    }
    if let Some(n) = &h.native {
        s.native = true;
        let decode = |deltas: &[i64]| -> u64 {
            let mut c = 0i64;
            deltas
                .iter()
                .map(|d| {
                    c += d;
                    assert!(c >= 0, "negative bucket count");
                    c as u64
                })
                .sum()
        };
        let lens: u32 = n.positive_spans.iter().map(|s| s.length).sum();
        assert_eq!(lens as usize, n.positive_deltas.len());
        s.native_total = n.zero_count + decode(n.positive_deltas) + decode(n.negative_deltas);
        for e in n.exemplars {
            s.native_exemplars
                .push((label(e, "thread"), e.value(), e.timestamp().unwrap()));
        }
    }
    s
}

fn scrape(r: &Registry) -> Vec<Seen> {
    let mut c = Capture::default();
    r.visit(&mut c);
    c.0
}

/// Values over twelve decades, both signs and zeros: at schema 8 with at
/// most 8 buckets per thread, every thread halves its resolution many
/// times while the scraper reads.
fn value(t: usize, i: u64) -> f64 {
    let x = (i.wrapping_mul(2654435761) % 10_000) as f64 / 10_000.0;
    let v = 10f64.powf(x * 12.0 - 6.0);
    match (i + t as u64) % 5 {
        0 => 0.0,
        1 => -v,
        _ => v,
    }
}

#[test]
fn racing_scrapes_see_consistent_growing_counts() {
    const THREADS: usize = 4;
    const PER_THREAD: u64 = 40_000;
    let r = Registry::new();
    let opts = NativeOpts::new().schema(8).max_buckets(8);
    let h = r
        .histogram(
            ("mixed", "classic and native"),
            Buckets::new(vec![0.001, 1.0, 1000.0])
                .unwrap()
                .with_native(opts.clone())
                .unwrap(),
        )
        .unwrap();
    let only = r
        .histogram_vec(
            ("only", "native only"),
            Buckets::native(opts).unwrap(),
            &["k"],
        )
        .unwrap();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (h, only) = (&h, &only);
                s.spawn(move || {
                    let series = only.get_or_create(&["a"]).unwrap();
                    for i in 0..PER_THREAD {
                        h.observe(value(t, i));
                        series.observe(value(t, i));
                    }
                })
            })
            .collect();
        let scraper = s.spawn(|| {
            let mut last = [0u64; 2];
            let mut scrapes = 0;
            while !done.load(Ordering::Relaxed) {
                for (i, seen) in scrape(&r).iter().enumerate() {
                    assert!(seen.native);
                    assert_eq!(seen.native_total, seen.count, "buckets vs count");
                    assert_eq!(seen.classic_total, seen.count, "classic vs count");
                    assert!(seen.count >= last[i], "went down");
                    last[i] = seen.count;
                }
                scrapes += 1;
            }
            scrapes
        });
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        assert!(scraper.join().unwrap() > 0);
    });
    let n = THREADS as u64 * PER_THREAD;
    for seen in scrape(&r) {
        assert_eq!(seen.count, n);
        assert_eq!(seen.native_total, n);
        assert_eq!(seen.classic_total, n);
    }
    let snap = h.snapshot();
    let native = snap.native.unwrap();
    assert_eq!(snap.count, n);
    assert!(native.schema < 8, "no reduction happened");
    let zeros = (0..THREADS)
        .flat_map(|t| (0..PER_THREAD).map(move |i| value(t, i)))
        .filter(|v| *v == 0.0)
        .count() as u64;
    assert_eq!(native.zero_count, zeros);
    let classic_expected: Vec<u64> = {
        let mut c = vec![0; 4];
        for t in 0..THREADS {
            for i in 0..PER_THREAD {
                let v = value(t, i);
                c[[0.001, 1.0, 1000.0]
                    .iter()
                    .position(|b| v <= *b)
                    .unwrap_or(3)] += 1;
            }
        }
        c
    };
    assert_eq!(snap.counts, classic_expected);
}

/// Each thread drives two native buckets far past what a 16-bit cell holds
/// (each spill moves the cell into its page's high part inside a rewrite)
/// while a scraper reads: every scrape's native buckets add up to its
/// count, counts only grow, and the totals are exact.
#[test]
fn buckets_past_a_cells_capacity_stay_exact_under_racing_scrapes() {
    const THREADS: usize = 4;
    const PER_THREAD: u64 = 300_000;
    let r = Registry::new();
    let h = r
        .histogram(
            ("spilling", "native only"),
            Buckets::native(NativeOpts::new()).unwrap(),
        )
        .unwrap();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let scraper = s.spawn(|| {
            let (mut last, mut scrapes) = (0, 0);
            while !done.load(Ordering::Relaxed) {
                let seen = &scrape(&r)[0];
                assert_eq!(seen.native_total, seen.count, "buckets vs count");
                assert!(seen.count >= last, "went down: {last} -> {}", seen.count);
                assert!(seen.count <= 2 * THREADS as u64 * PER_THREAD);
                last = seen.count;
                scrapes += 1;
            }
            scrapes
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|_| {
                let h = &h;
                s.spawn(move || {
                    for _ in 0..PER_THREAD {
                        h.observe(1.5);
                        h.observe(-0.25);
                    }
                })
            })
            .collect();
        writers.into_iter().for_each(|w| w.join().unwrap());
        done.store(true, Ordering::Relaxed);
        assert!(scraper.join().unwrap() > 0);
    });
    let n = 2 * THREADS as u64 * PER_THREAD;
    let seen = &scrape(&r)[0];
    assert_eq!((seen.count, seen.native_total), (n, n));
    let native = h.snapshot().native.unwrap();
    let counts = |b: &[(i32, u64)]| b.iter().map(|&(_, c)| c).collect::<Vec<_>>();
    assert_eq!(counts(&native.positive), [n / 2]);
    assert_eq!(counts(&native.negative), [n / 2]);
}

#[test]
fn exemplars_are_whole_under_racing_writers_and_scrapes() {
    let r = Registry::new();
    let h = r
        .histogram(
            ("ex", "exemplars"),
            Buckets::new(vec![1.0, 2.0])
                .unwrap()
                .with_native(NativeOpts::new().max_exemplars(4))
                .unwrap(),
        )
        .unwrap();
    assert!(scrape(&r)[0].exemplar_pairs.is_empty(), "none recorded yet");
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let h = &h;
                s.spawn(move || {
                    for i in 0..3_000 {
                        let id = format!("{t}-{i}");
                        let v = f64::from(t) * 0.75;
                        h.observe_with_exemplar(
                            v,
                            &[("trace_id", &id), ("thread", &t.to_string())],
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                for seen in scrape(&r) {
                    for (t, v) in &seen.exemplar_pairs {
                        assert_eq!(t.parse::<f64>().unwrap() * 0.75, *v, "torn exemplar");
                    }
                    assert!(seen.native_exemplars.len() <= 4);
                    for (t, v, _) in &seen.native_exemplars {
                        assert_eq!(t.parse::<f64>().unwrap() * 0.75, *v, "torn exemplar");
                    }
                    let ts: Vec<f64> = seen.native_exemplars.iter().map(|e| e.2).collect();
                    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "not oldest first");
                }
            }
        });
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    let seen = &scrape(&r)[0];
    assert_eq!(seen.count, 12_000);
    assert_eq!(
        seen.exemplar_pairs.len(),
        3,
        "one slot per bucket holds one"
    );
    assert_eq!(seen.native_exemplars.len(), 4);
}

#[test]
fn refused_exemplar_still_counts() {
    let r = Registry::new();
    let h = r
        .histogram(("n", "native"), Buckets::native(NativeOpts::new()).unwrap())
        .unwrap();
    let long = "x".repeat(121);
    let err = h
        .observe_with_exemplar(2.0, &[("trace_id", &long)])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidExemplar(_)), "{err}");
    assert!(
        err.to_string().contains("more than the 128 characters"),
        "{err}"
    );
    let snap = h.snapshot();
    assert_eq!(snap.count, 1);
    assert_eq!(snap.counts, [1]);
    assert!(snap.exemplars.is_empty());
    assert_eq!(snap.native.unwrap().positive, [(8, 1)]);
    // A good one lands in the +Inf slot (the only one) and the ring.
    h.observe_with_exemplar(2.0, &[("trace_id", "abc")])
        .unwrap();
    let snap = h.snapshot();
    assert_eq!(snap.exemplars.len(), 1);
    assert_eq!(snap.native.unwrap().exemplars.len(), 1);
}

#[test]
fn bad_options_are_refused_with_reasons() {
    let err = |o: NativeOpts| match Buckets::native(o) {
        Err(Error::InvalidNative(why)) => why,
        other => panic!("accepted: {other:?}"),
    };
    assert!(err(NativeOpts::new().factor(1.0)).contains("factor 1 must be"));
    assert!(err(NativeOpts::new().factor(0.5)).contains("> 1"));
    assert!(err(NativeOpts::new().factor(f64::NAN)).contains("NaN"));
    assert!(err(NativeOpts::new().schema(9)).contains("outside -4..=8"));
    assert!(err(NativeOpts::new().schema(-5)).contains("outside"));
    assert!(err(NativeOpts::new().zero_threshold(-1.0)).contains(">= 0"));
    assert!(err(NativeOpts::new().zero_threshold(f64::NAN)).contains("finite"));
    assert!(
        err(NativeOpts::new()
            .zero_threshold(0.5)
            .max_zero_threshold(0.1))
        .contains(">= the zero threshold")
    );
    assert!(
        Buckets::default()
            .with_native(NativeOpts::new().schema(8))
            .is_ok()
    );
    assert!(Buckets::native(NativeOpts::new().zero_threshold(0.0)).is_ok());
}

#[test]
fn nan_and_infinities_count_as_go_counts_them() {
    let r = Registry::new();
    let h = r
        .histogram(
            ("edge", "edge values"),
            Buckets::new(vec![1.0])
                .unwrap()
                .with_native(NativeOpts::new().schema(0))
                .unwrap(),
        )
        .unwrap();
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 0.5] {
        h.observe(v);
    }
    let snap = h.snapshot();
    assert_eq!(snap.count, 6);
    // NaN and +Inf in the classic +Inf bucket; -Inf, the zeros and 0.5 in le=1.
    assert_eq!(snap.counts, [4, 2]);
    assert!(snap.sum.is_nan());
    let native = snap.native.unwrap();
    // NaN counts in no native bucket; +-Inf one past f64::MAX's key (1024).
    assert_eq!(native.zero_count, 2);
    assert_eq!(native.positive, [(-1, 1), (1025, 1)]);
    assert_eq!(native.negative, [(1025, 1)]);
    let seen = &scrape(&r)[0];
    assert_eq!(seen.count, 6);
    assert_eq!(seen.native_total, 5, "NaN is in the count only");
}
