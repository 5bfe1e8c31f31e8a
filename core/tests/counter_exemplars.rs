//! Exemplars on counters: what a scrape sees while writers race it, refused
//! exemplars that still count, and counter families.

use hotmetrics_core::{
    Error, Exemplar, FamilyDesc, LabelSet, MetricVisitor, Number, Registry, SeriesValue,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A counter series as a scrape hands it over: labels, value, exemplar.
type Series = (Vec<(String, String)>, Number, Option<Exemplar>);

/// Each counter series of a scrape.
#[derive(Default)]
struct Seen(Vec<Series>);

impl MetricVisitor for Seen {
    fn begin_family(&mut self, _: &FamilyDesc<'_>) {}

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        let mut pairs = Vec::new();
        labels.for_each(&mut |n, v| pairs.push((n.to_owned(), v.to_owned())));
        if let SeriesValue::Counter {
            value, exemplar, ..
        } = value
        {
            self.0.push((pairs, *value, exemplar.cloned()));
        }
    }
}

fn scrape(registry: &Registry) -> Seen {
    let mut seen = Seen::default();
    registry.visit(&mut seen);
    seen
}

fn labels(e: &Exemplar) -> Vec<(&str, &str)> {
    e.labels().collect()
}

#[test]
fn plain_counter_has_no_exemplar_and_the_latest_one_wins() {
    let registry = Registry::new();
    let c = registry.counter(("jobs_total", "Jobs.")).unwrap();
    c.inc();
    assert!(c.exemplar().is_none());
    assert!(scrape(&registry).0[0].2.is_none());

    c.inc_by_with_exemplar(5, &[("trace_id", "a")]).unwrap();
    c.inc_with_exemplar(&[("trace_id", "b"), ("span_id", "c")])
        .unwrap();
    let e = c.exemplar().unwrap();
    assert_eq!(labels(&e), [("trace_id", "b"), ("span_id", "c")]);
    assert_eq!(e.value(), 1.0, "the value is the increment");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let t = e.timestamp().unwrap();
    assert!((now - 60.0..=now + 1.0).contains(&t), "{t}");

    let seen = scrape(&registry);
    assert_eq!(seen.0[0].1, Number::UInt(7));
    assert_eq!(seen.0[0].2.as_ref(), Some(&e));
}

#[test]
fn refused_exemplars_still_count_and_keep_the_previous_one() {
    let registry = Registry::new();
    let c = registry.counter(("jobs_total", "Jobs.")).unwrap();
    c.inc_with_exemplar(&[("trace_id", "kept")]).unwrap();
    let long = "x".repeat(121); // 8 + 121 = 129 characters
    for bad in [
        vec![("trace_id", long.as_str())],
        vec![("trace-id", "x")],
        vec![("a", "1"), ("a", "2")],
    ] {
        let err = c.inc_by_with_exemplar(2, &bad).unwrap_err();
        assert!(matches!(err, Error::InvalidExemplar(_)), "{err}");
        assert!(err.to_string().contains("still counts"), "{err}");
    }
    assert_eq!(c.get(), 7);
    assert_eq!(labels(&c.exemplar().unwrap()), [("trace_id", "kept")]);

    let f = registry
        .counter_f64(("busy_seconds_total", "Busy."))
        .unwrap();
    let err = f
        .inc_by_with_exemplar(0.5, &[("trace_id", long.as_str())])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidExemplar(_)), "{err}");
    assert_eq!(f.get(), 0.5, "a refused exemplar still counts");
    assert!(f.exemplar().is_none());
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let err = f
            .inc_by_with_exemplar(bad, &[("trace_id", "t")])
            .unwrap_err();
        assert!(matches!(err, Error::InvalidIncrement(_)), "{err}");
    }
    assert_eq!(f.get(), 0.5, "an invalid increment counts nothing");
    assert!(f.exemplar().is_none(), "and records no exemplar");
    f.inc_by_with_exemplar(0.25, &[("trace_id", "t")]).unwrap();
    assert_eq!(f.exemplar().unwrap().value(), 0.25);
    let seen = scrape(&registry);
    let busy = seen.0.iter().find(|s| s.1 == Number::Float(0.75)).unwrap();
    assert_eq!(busy.2.as_ref().unwrap().value(), 0.25);
}

#[test]
fn family_series_keep_their_own_exemplars() {
    let registry = Registry::new();
    let family = registry
        .counter_vec(("sent_total", "Sent."), &["queue"])
        .unwrap();
    for (queue, trace) in [("a", "t-a"), ("b", "t-b")] {
        family
            .with(&[queue], |c| c.inc_with_exemplar(&[("trace_id", trace)]))
            .unwrap()
            .unwrap();
    }
    family.with(&["c"], |c| c.inc()).unwrap();
    let seen = scrape(&registry);
    let got: Vec<_> = seen
        .0
        .iter()
        .map(|(l, _, e)| {
            let trace = e.as_ref().map(|e| e.labels().next().unwrap().1.to_owned());
            (l[0].1.clone(), trace)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a".to_owned(), Some("t-a".to_owned())),
            ("b".to_owned(), Some("t-b".to_owned())),
            ("c".to_owned(), None),
        ]
    );
}

/// Writers mixing plain increments with exemplars while a scraper reads:
/// every exemplar a scrape sees is whole (its labels and value come from
/// one call), the totals are exact at the end.
#[test]
fn racing_writers_and_scrapes_count_exactly_and_see_whole_exemplars() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 5_000;
    let registry = Arc::new(Registry::new());
    let c = registry.counter(("events_total", "Events.")).unwrap();
    let f = registry
        .counter_f64(("work_seconds_total", "Work."))
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (registry, done) = (Arc::clone(&registry), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut scrapes = 0u64;
            let mut last = [0.0f64; 2];
            while !done.load(Ordering::Relaxed) || scrapes == 0 {
                for (i, (_, value, exemplar)) in scrape(&registry).0.iter().enumerate() {
                    let v = value.as_f64();
                    assert!(v >= last[i], "counter went back: {v} < {}", last[i]);
                    last[i] = v;
                    if let Some(e) = exemplar {
                        // Written as ("trace_id", "<t>-<n>"), ("n", "<n>")
                        // with value n: all three must agree.
                        let l = labels(e);
                        let n: f64 = l[1].1.parse().unwrap();
                        assert_eq!(e.value(), n, "{e:?}");
                        assert!(l[0].1.ends_with(&format!("-{}", l[1].1)), "{e:?}");
                    }
                }
                scrapes += 1;
            }
            scrapes
        })
    };
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (c, f) = (c.clone(), f.clone());
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    let n = i % 7 + 1;
                    if i % 3 == 0 {
                        let (id, ns) = (format!("{t}-{n}"), n.to_string());
                        let l = [("trace_id", id.as_str()), ("n", ns.as_str())];
                        c.inc_by_with_exemplar(n, &l).unwrap();
                        f.inc_by_with_exemplar(n as f64, &l).unwrap();
                    } else {
                        c.inc_by(n);
                        f.inc_by(n as f64).unwrap();
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(scraper.join().unwrap() > 0);
    let per_thread: u64 = (0..ROUNDS).map(|i| i % 7 + 1).sum();
    assert_eq!(c.get(), THREADS * per_thread);
    assert_eq!(
        f.get(),
        (THREADS * per_thread) as f64,
        "small integers add exactly"
    );
    assert!(c.exemplar().is_some() && f.exemplar().is_some());
}

/// A scrape never shows an exemplar whose increment its value lacks: one
/// writer records its running total as the exemplar's label, a scraper
/// checks the value covers it. The first counter shares the second's merge
/// block and is visited first, so the block is summed before the second's
/// exemplar is loaded.
#[test]
fn a_scraped_value_covers_its_exemplar() {
    const ROUNDS: u64 = 20_000;
    let registry = Arc::new(Registry::new());
    let neighbour = registry.counter(("a_total", "Neighbour.")).unwrap();
    let c = registry.counter(("b_total", "Traced.")).unwrap();
    let f = registry.counter_f64(("c_total", "Traced.")).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (registry, done) = (Arc::clone(&registry), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut checked = 0u64;
            while !done.load(Ordering::Relaxed) || checked == 0 {
                for (_, value, exemplar) in scrape(&registry).0 {
                    if let Some(e) = exemplar {
                        let total: f64 = labels(&e)[0].1.parse().unwrap();
                        assert!(value.as_f64() >= total, "{value:?} < {e:?}");
                        checked += 1;
                    }
                }
            }
            checked
        })
    };
    for i in 1..=ROUNDS {
        neighbour.inc();
        let total = i.to_string();
        c.inc_with_exemplar(&[("total", &total)]).unwrap();
        f.inc_by_with_exemplar(1.0, &[("total", &total)]).unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(scraper.join().unwrap() > 0);
    assert_eq!(c.get(), ROUNDS);
}
