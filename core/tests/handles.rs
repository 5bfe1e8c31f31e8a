//! Owned handles out of a family's per-thread cache: `Family::handle`, the
//! owned timer and in-progress guard. Exact totals from many threads, what
//! a handle does across `remove`/`clear`, and that it is `Send + 'static`.

use hotmetrics_core::{
    Buckets, Counter, Family, Handle, Histogram, HistogramTimer, InProgressGuard, Registry,
};
use std::sync::Barrier;
use std::thread;

const THREADS: usize = 8;
const PER_THREAD: u64 = 20_000;

fn assert_send_static<T: Send + Sync + 'static>(_: &T) {}

#[test]
fn handles_timers_and_guards_are_owned() {
    let r = Registry::new();
    let c = r.counter_vec(("c_total", "c"), &["k"]).unwrap();
    let h = r
        .histogram_vec(("h_seconds", "h"), Buckets::default(), &["k"])
        .unwrap();
    let g = r.gauge_vec(("g", "g"), &["k"]).unwrap();
    let handle: Handle<Counter> = c.handle(&["a"]).unwrap();
    let timer: HistogramTimer<'static> = h.start_timer(&["a"]).unwrap();
    let guard: InProgressGuard<'static> = g.track_in_progress(&["a"]).unwrap();
    // All three can be held across an `.await` in a multi-threaded runtime.
    assert_send_static(&handle);
    assert_send_static(&timer);
    assert_send_static(&guard);
    // Timers and guards leave the scope of the lookup and the families.
    drop((c, h, g));
    thread::spawn(move || {
        handle.inc();
        drop(timer);
        drop(guard);
    })
    .join()
    .unwrap();
    let snap = r.snapshot();
    assert_eq!(snap.counter("c", &[("k", "a")]), Some(1.0));
    assert_eq!(snap.gauge("g", &[("k", "a")]), Some(0.0));
    let count = match snap.value("h_seconds", &[("k", "a")]) {
        Some(hotmetrics_core::ValueSnapshot::Histogram { count, .. }) => *count,
        other => panic!("{other:?}"),
    };
    assert_eq!(count, 1);
}

#[test]
fn exact_totals_from_many_threads() {
    let r = Registry::new();
    let c = r.counter_vec(("c_total", "c"), &["k"]).unwrap();
    let h: Family<Histogram> = r
        .histogram_vec(("h_seconds", "h"), Buckets::default(), &["k"])
        .unwrap();
    let g = r.gauge_vec(("g", "g"), &["k"]).unwrap();
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        for t in 0..THREADS {
            let (c, h, g, start) = (&c, &h, &g, &start);
            s.spawn(move || {
                let key = if t % 2 == 0 { "even" } else { "odd" };
                start.wait();
                for i in 0..PER_THREAD {
                    c.handle(&[key]).unwrap().inc();
                    let _busy = g.track_in_progress(&[key]).unwrap();
                    let timer = h.start_timer(&[key]).unwrap();
                    if i % 4 == 0 {
                        timer.discard();
                    }
                }
                // A handle kept across many updates, then dropped on
                // another thread.
                let kept = c.handle(&[key]).unwrap();
                for _ in 0..PER_THREAD {
                    kept.inc();
                }
                thread::spawn(move || kept.inc()).join().unwrap();
            });
        }
    });
    let half = (THREADS / 2) as u64 * (2 * PER_THREAD + 1);
    for key in ["even", "odd"] {
        assert_eq!(c.get_or_create(&[key]).unwrap().get(), half, "{key}");
        assert_eq!(g.get_or_create(&[key]).unwrap().get(), 0, "{key}");
        let timed = h.get_or_create(&[key]).unwrap().snapshot().count;
        assert_eq!(timed, (THREADS / 2) as u64 * PER_THREAD * 3 / 4, "{key}");
    }
}

#[test]
fn a_handle_across_remove_and_clear_writes_the_removed_series() {
    let r = Registry::new();
    let c = r.counter_vec(("jobs_total", "x"), &["q"]).unwrap();
    let h = r
        .histogram_vec(("job_seconds", "x"), Buckets::default(), &["q"])
        .unwrap();
    let before = c.handle(&["mail"]).unwrap();
    before.inc();
    let timer = h.start_timer(&["mail"]).unwrap();
    assert_eq!(c.remove(&["mail"]), Ok(true));
    assert_eq!(h.remove(&["mail"]), Ok(true));
    before.inc();
    drop(timer);
    assert_eq!(before.get(), 2, "the removed series still counts");
    let snap = r.snapshot();
    assert_eq!(snap.counter("jobs", &[("q", "mail")]), None, "not exported");
    assert!(snap.value("job_seconds", &[("q", "mail")]).is_none());

    // The next lookup, on this thread or another, is a new series.
    let after = c.handle(&["mail"]).unwrap();
    assert_eq!(after.get(), 0);
    after.inc();
    thread::scope(|s| {
        s.spawn(|| c.handle(&["mail"]).unwrap().inc());
    });
    assert_eq!(r.snapshot().counter("jobs", &[("q", "mail")]), Some(2.0));
    assert_eq!(before.get(), 2, "old and new series are apart");

    c.clear();
    after.inc();
    assert_eq!(after.get(), 3);
    assert_eq!(c.handle(&["mail"]).unwrap().get(), 0);
    assert_eq!(
        h.get_or_create(&["mail"]).unwrap().snapshot().count,
        0,
        "the timer's observation went to the removed series"
    );
}

#[test]
fn handles_of_one_thread_share_its_cache_entry() {
    let r = Registry::new();
    let c = r.counter_vec(("c_total", "c"), &["k"]).unwrap();
    let a = c.handle(&["x"]).unwrap();
    let b = c.handle(&["x"]).unwrap();
    a.inc();
    b.inc();
    assert_eq!(a.get(), 2);
    // A handle taken inside `with` on the same family (its cache busy)
    // still works, from the shared map.
    let nested = c.with(&["x"], |_| c.handle(&["x"]).unwrap()).unwrap();
    nested.inc();
    assert_eq!(a.get(), 3);
    assert_eq!(c.len(), 1);
    assert_eq!(format!("{a:?}").split('(').next(), Some("Handle"));
}
