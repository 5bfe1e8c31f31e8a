//! Exactness under many threads, thread churn and scrapes racing writers.
//! Each test fails if the merge loses, double-counts or tears an update.

use hotmetrics_core::{Buckets, Registry, ValueSnapshot};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

const THREADS: usize = 16;
const PER_THREAD: u64 = 50_000;

#[test]
fn exact_totals_from_many_threads() {
    let r = Registry::new();
    let c = r.counter(("c_total", "c")).unwrap();
    let f = r.counter_f64(("f_total", "f")).unwrap();
    let g = r.gauge(("g", "g")).unwrap();
    let h = r
        .histogram(("h", "h"), Buckets::new(vec![1.0, 2.0, 3.0]).unwrap())
        .unwrap();
    let fam = r.counter_vec(("l_total", "l"), &["k"]).unwrap();
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        for t in 0..THREADS {
            let (c, f, g, h, fam, start) = (&c, &f, &g, &h, &fam, &start);
            s.spawn(move || {
                start.wait();
                for i in 0..PER_THREAD {
                    c.inc();
                    f.inc_by(0.5).unwrap();
                    g.inc();
                    if i % 2 == 0 {
                        g.dec();
                    }
                    h.observe((i % 4) as f64);
                    fam.with(&[if t % 2 == 0 { "even" } else { "odd" }], |c| c.inc())
                        .unwrap();
                }
            });
        }
    });
    let n = THREADS as u64 * PER_THREAD;
    assert_eq!(c.get(), n);
    assert_eq!(f.get(), n as f64 * 0.5);
    assert_eq!(g.get(), (n / 2) as i64);
    let snap = h.snapshot();
    assert_eq!(snap.counts, vec![n / 2, n / 4, n / 4, 0]);
    assert_eq!(snap.count, n);
    assert_eq!(snap.sum, (THREADS as u64 * (PER_THREAD / 4) * 6) as f64);
    assert_eq!(fam.get_or_create(&["even"]).unwrap().get(), n / 2);
    assert_eq!(fam.get_or_create(&["odd"]).unwrap().get(), n / 2);
}

/// Thousands of short-lived threads, each adding a known amount while a
/// scraper runs: the total must be exact, and exited threads' arenas must be
/// reused rather than piling up.
#[test]
fn thread_churn_loses_nothing_and_reuses_arenas() {
    let r = Registry::new();
    let c = r.counter(("churn_total", "c")).unwrap();
    let h = r.histogram(("churn_h", "h"), Buckets::default()).unwrap();
    let done = AtomicBool::new(false);
    const WAVES: usize = 250;
    const WAVE: usize = 8;
    thread::scope(|s| {
        s.spawn(|| {
            let mut last = 0;
            while !done.load(Ordering::Relaxed) {
                let now = c.get();
                assert!(now >= last, "counter went down: {last} -> {now}");
                last = now;
                let snap = h.snapshot();
                assert_eq!(snap.count, snap.counts.iter().sum::<u64>());
            }
        });
        for _ in 0..WAVES {
            thread::scope(|w| {
                for t in 0..WAVE {
                    let (c, h) = (&c, &h);
                    w.spawn(move || {
                        c.inc_by(t as u64 + 1);
                        h.observe(0.001);
                    });
                }
            });
        }
        done.store(true, Ordering::Relaxed);
    });
    let per_wave: u64 = (1..=WAVE as u64).sum();
    assert_eq!(c.get(), WAVES as u64 * per_wave);
    assert_eq!(h.snapshot().count, (WAVES * WAVE) as u64);
    // 2,000 threads came and went; arenas are bounded by the threads alive at
    // once (across every test in this binary), not by the threads ever started.
    assert!(
        hotmetrics_core::arena_count() < 200,
        "arenas were not reused: {}",
        hotmetrics_core::arena_count()
    );
}

/// Scrapes racing writers: every scrape sees each counter at least as high as
/// the scrape before, and every histogram consistent.
#[test]
fn scrapes_racing_writers_are_monotonic_and_consistent() {
    let r = Registry::new();
    let fam = r.counter_vec(("race_total", "c"), &["w"]).unwrap();
    let hist = r
        .histogram_vec(
            ("race_h", "h"),
            Buckets::linear(1.0, 1.0, 5).unwrap(),
            &["w"],
        )
        .unwrap();
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        for w in 0..4 {
            let (fam, hist, stop) = (&fam, &hist, &stop);
            s.spawn(move || {
                let name = w.to_string();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    fam.with(&[&name], |c| c.inc()).unwrap();
                    hist.with(&[&name], |h| h.observe((i % 7) as f64)).unwrap();
                    i += 1;
                }
            });
        }
        let mut last: Vec<(Vec<(String, String)>, f64)> = Vec::new();
        for _ in 0..300 {
            let snap = r.snapshot();
            for s in &snap.family("race").unwrap().series {
                let ValueSnapshot::Counter(v) = s.value else {
                    panic!()
                };
                if let Some((_, before)) = last.iter_mut().find(|(l, _)| *l == s.labels) {
                    assert!(v >= *before, "{:?} went down: {before} -> {v}", s.labels);
                    *before = v;
                } else {
                    last.push((s.labels.clone(), v));
                }
            }
            for s in &snap.family("race_h").unwrap().series {
                let ValueSnapshot::Histogram {
                    bucket_counts,
                    count,
                    ..
                } = &s.value
                else {
                    panic!()
                };
                assert_eq!(*count, bucket_counts.iter().sum::<u64>());
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
}

/// Every thread drives one bucket far past what a per-thread narrow cell
/// holds (65,535), so each cell spills many times, while a scraper reads:
/// every scrape's bucket is at least the last one's and at most what was
/// observed, its count equals its buckets' sum, and the totals are exact.
#[test]
fn buckets_past_the_narrow_cells_capacity_spill_exactly_under_racing_scrapes() {
    const WRITERS: u64 = 4;
    const OBSERVES: u64 = 300_000;
    let r = Registry::new();
    let h = r
        .histogram(("spill_h", "h"), Buckets::new(vec![1.0, 2.0]).unwrap())
        .unwrap();
    let done = AtomicBool::new(false);
    let bucket = |snap: &hotmetrics_core::Snapshot| -> (u64, u64) {
        let ValueSnapshot::Histogram {
            bucket_counts,
            count,
            ..
        } = &snap.family("spill_h").unwrap().series[0].value
        else {
            panic!()
        };
        assert_eq!(*count, bucket_counts.iter().sum::<u64>());
        (bucket_counts[0], bucket_counts[1])
    };
    thread::scope(|s| {
        let scraper = s.spawn(|| {
            let (mut last, mut scrapes) = ((0, 0), 0);
            while !done.load(Ordering::Relaxed) {
                let now = bucket(&r.snapshot());
                assert!(now.0 >= last.0 && now.1 >= last.1, "{last:?} -> {now:?}");
                assert!(now.0 <= WRITERS * OBSERVES && now.1 <= WRITERS * OBSERVES);
                last = now;
                scrapes += 1;
            }
            scrapes
        });
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                let h = &h;
                s.spawn(move || {
                    for _ in 0..OBSERVES {
                        h.observe(0.5);
                        h.observe(1.5);
                    }
                })
            })
            .collect();
        writers.into_iter().for_each(|w| w.join().unwrap());
        done.store(true, Ordering::Relaxed);
        assert!(scraper.join().unwrap() > 0);
    });
    assert_eq!(
        bucket(&r.snapshot()),
        (WRITERS * OBSERVES, WRITERS * OBSERVES)
    );
}

/// A metric updated from another thread-local's destructor, after this
/// thread's arena lease is gone, lands in the shared arena: not lost.
#[test]
fn updates_during_thread_exit_are_kept() {
    struct IncOnDrop(hotmetrics_core::Counter);
    impl Drop for IncOnDrop {
        fn drop(&mut self) {
            self.0.inc_by(10);
        }
    }
    thread_local! {
        static LATE: std::cell::RefCell<Option<IncOnDrop>> = const { std::cell::RefCell::new(None) };
    }
    let r = Registry::new();
    let c = r.counter(("late_total", "c")).unwrap();
    for _ in 0..20 {
        let c2 = c.clone();
        thread::spawn(move || {
            // Registered before the lease, so destroyed after it (reverse order).
            LATE.with(|l| *l.borrow_mut() = Some(IncOnDrop(c2.clone())));
            c2.inc();
        })
        .join()
        .unwrap();
    }
    assert_eq!(c.get(), 20 * 11);
}

#[test]
fn gauge_set_is_last_writer_wins_and_inc_dec_balance() {
    let r = Registry::new();
    let g = r.gauge(("inflight", "g")).unwrap();
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10_000 {
                    let _guard = g.track_in_progress();
                }
            });
        }
    });
    assert_eq!(g.get(), 0);
    g.set(7);
    thread::scope(|s| {
        s.spawn(|| g.add(5));
    });
    assert_eq!(g.get(), 12);
    g.set(-3);
    assert_eq!(g.get(), -3);
}
