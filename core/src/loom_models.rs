//! Loom models of the engine's protocols, run over every interleaving.
//! They live inside the crate (as `bytes` keeps its models) so the engine
//! stays private:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test -p hotmetrics-core --lib --release
//! ```

use crate::engine::Engine;
use crate::expiry::{Fate, Seen, fate};
use crate::merge::MergedCells;
use crate::sync::{AtomicUsize, Mutex, Ordering, lock};
use loom::sync::Arc;
use loom::thread;

/// Two writer threads exit (one may take over the other's arena) while a
/// scraper reads: scrapes never go down, and the final total is exact.
#[test]
fn thread_exit_hands_counts_over_without_loss() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        let slot = engine.alloc(1).unwrap();
        let writers: Vec<_> = [2u64, 1]
            .into_iter()
            .map(|n| {
                let e = Arc::clone(&engine);
                thread::spawn(move || {
                    let lease = e.lease();
                    for _ in 0..n {
                        lease.add_u64(slot, 1);
                    }
                })
            })
            .collect();
        let first = engine.sum_u64(slot);
        let second = engine.sum_u64(slot);
        assert!(second >= first, "scrape went down: {first} -> {second}");
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(engine.sum_u64(slot), 3);
        assert!(engine.arena_count() <= 2);
    });
}

/// A freed slot is zeroed in every arena before a new series can get it,
/// even when the arena that wrote it is now leased by another thread.
#[test]
fn freed_slot_is_zero_for_the_next_series() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        let slot = engine.alloc(1).unwrap();
        let e = Arc::clone(&engine);
        thread::spawn(move || {
            let lease = e.lease();
            lease.add_u64(slot, 5);
        })
        .join()
        .unwrap();
        // The last handle is gone: free, then reuse.
        engine.free(slot, 1);
        let again = engine.alloc(1).unwrap();
        assert_eq!(again, slot, "freed ranges are reused");
        let e = Arc::clone(&engine);
        let writer = thread::spawn(move || {
            let lease = e.lease();
            lease.add_u64(again, 1);
        });
        let seen = engine.sum_u64(again);
        assert!(seen <= 1, "old count leaked into the new series: {seen}");
        writer.join().unwrap();
        assert_eq!(engine.sum_u64(again), 1);
    });
}

/// A scrape merges the run of a series that is then dropped, its slot
/// reused by a new series and written, and the new series published (as a
/// family map would) while the scrape goes on: once the scrape sees the new
/// series, it reads the new series' cell (0 if the run was merged after the
/// free but before the write: an earlier reading), never the old one's sum.
#[test]
fn merged_run_is_not_reused_for_a_series_that_took_a_freed_slot() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        let slot = engine.alloc_narrow(1).unwrap();
        let neighbour = engine.alloc_narrow(1).unwrap();
        {
            let lease = engine.lease();
            // 5 spills (the narrow maximum is 2 under loom): the count is in
            // the spill cell, which the free must zero too.
            lease.add_narrow(slot, 5);
            lease.add_narrow(neighbour, 2);
        }
        let published = Arc::new(Mutex::new(None::<u32>));
        let (e, p) = (Arc::clone(&engine), Arc::clone(&published));
        let churn = thread::spawn(move || {
            e.free_narrow(slot, 1);
            let again = e.alloc_narrow(1).unwrap();
            e.lease().add_narrow(again, 1);
            *lock(&p) = Some(again);
        });
        let mut view = MergedCells::default();
        view.begin();
        // Merges the block of both slots. What it holds for `slot` is not
        // asserted: nobody reads a series that is being freed (a scrape
        // holds what it visits), and the count of a freed slot is zeroed
        // in two places, so a read racing the free may mix old and new.
        view.narrow(&engine, slot);
        assert_eq!(view.narrow(&engine, neighbour), 2);
        let seen = *lock(&published);
        if let Some(again) = seen {
            let v = view.narrow(&engine, again);
            assert!(v <= 1, "the old series' merged sum: {v}");
        }
        view.end();
        churn.join().unwrap();
    });
}

/// As [`merged_run_is_not_reused_for_a_series_that_took_a_freed_slot`],
/// for `f64` cells merged as floats (a histogram's sum, a float counter):
/// once the scrape sees the new series, it reads the new series' sum (0 or
/// what it added), never the old one's.
#[test]
fn merged_float_run_is_not_reused_for_a_series_that_took_a_freed_slot() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        let slot = engine.alloc(1).unwrap();
        let neighbour = engine.alloc(1).unwrap();
        {
            let lease = engine.lease();
            lease.add_f64(slot, 5.5);
            lease.add_f64(neighbour, 2.0);
        }
        let published = Arc::new(Mutex::new(None::<u32>));
        let (e, p) = (Arc::clone(&engine), Arc::clone(&published));
        let churn = thread::spawn(move || {
            e.free(slot, 1);
            let again = e.alloc(1).unwrap();
            e.lease().add_f64(again, 0.25);
            *lock(&p) = Some(again);
        });
        let mut view = MergedCells::default();
        view.begin();
        view.f64(&engine, slot);
        assert_eq!(view.f64(&engine, neighbour), 2.0);
        let seen = *lock(&published);
        if let Some(again) = seen {
            let v = view.f64(&engine, again);
            assert!(v == 0.0 || v == 0.25, "the old series' merged sum: {v}");
        }
        view.end();
        churn.join().unwrap();
    });
}

/// Two writers push narrow cells past their maximum (each spills once, the
/// maximum being 2 under loom) while a scrape reads the count three ways:
/// through a merged block, through `sum_range_narrow` over a range that
/// starts mid-run and crosses into the next run (which one writer also
/// writes, so its arena grows there), and cell by cell. A spill is seen
/// whole or not at all, so reads never go down or overshoot, and the final
/// counts are exact.
#[test]
fn spills_racing_a_scrape_are_seen_whole() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        // The second slot of a run (`RUN` is 2 under loom): the range
        // `[slot, slot + 1]` crosses a run boundary.
        let slot = engine.alloc_narrow(4).unwrap() | 1;
        let next = slot + 1;
        let done = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..2)
            .map(|t| {
                let (e, done) = (Arc::clone(&engine), Arc::clone(&done));
                thread::spawn(move || {
                    let lease = e.lease();
                    lease.add_narrow(slot, 2);
                    lease.add_narrow(slot, 1);
                    if t == 0 {
                        lease.add_narrow(next, 1);
                    }
                    done.fetch_add(1, Ordering::Release);
                })
            })
            .collect();
        let mut view = MergedCells::default();
        view.begin();
        let first = view.narrow(&engine, slot);
        view.end();
        let mut range = [0u64; 2];
        engine.sum_range_narrow(slot, &mut range);
        assert!(first <= range[0], "went down: {first} -> {range:?}");
        assert!(range[0] <= 6 && range[1] <= 1, "overshot: {range:?}");
        // Writers seen finished (Acquire) must all be in a later read: a
        // read that saw a spill's zeroed cell but not its add would miss it.
        let finished = done.load(Ordering::Acquire) as u64;
        let second = engine.sum_narrow(slot);
        assert!(range[0] <= second, "went down: {range:?} -> {second}");
        assert!(
            second >= 3 * finished,
            "lost a spill: {second} < {}",
            3 * finished
        );
        assert!(second <= 6, "counted a spill twice: {second}");
        for w in writers {
            w.join().unwrap();
        }
        engine.sum_range_narrow(slot, &mut range);
        assert_eq!(range, [6, 1]);
    });
}

/// A writer growing its arena into a new bucket races a scrape: the scrape
/// reads either nothing or the published value, never unpublished memory
/// (64-bit cells and narrow cells alike).
#[test]
fn scrape_races_arena_growth() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        let low = engine.alloc_narrow(1).unwrap();
        let high = engine.alloc(6).unwrap() + 5;
        let e = Arc::clone(&engine);
        let writer = thread::spawn(move || {
            let lease = e.lease();
            lease.add_narrow(low, 1);
            lease.add_f64(high, 0.5);
        });
        let f = engine.sum_f64(high);
        assert!(f == 0.0 || f == 0.5, "torn or unpublished read: {f}");
        let mut range = [0u64; 1];
        engine.sum_range_narrow(low, &mut range);
        assert!(range[0] <= 1);
        writer.join().unwrap();
        assert_eq!(engine.sum_narrow(low), 1);
        assert_eq!(engine.sum_f64(high), 0.5);
    });
}

/// A series of the expiry models: its slot, behind the `Arc` every handle
/// to it clones (as a metric's cell is).
type Series = Arc<u32>;

/// The family's side of the models: its live and expired series, each
/// expired one with the fingerprint it expired with, under one lock.
#[derive(Default)]
struct Maps {
    live: Vec<Series>,
    expired: Vec<(Series, u64)>,
}

/// What the family's sweep does with its expired series, under its lock.
fn settle(engine: &Engine, maps: &Mutex<Maps>) -> Vec<Fate> {
    let mut maps = lock(maps);
    let mut fates = Vec::new();
    let mut i = 0;
    while i < maps.expired.len() {
        let (series, last) = &mut maps.expired[i];
        let verdict = fate(
            series,
            *last,
            |s| Arc::get_mut(s).is_some(),
            |s| engine.sum_u64(**s),
        );
        match verdict {
            Fate::Keep => i += 1,
            Fate::Drop => drop(maps.expired.swap_remove(i)),
            Fate::Revive => {
                let (series, _) = maps.expired.swap_remove(i);
                maps.live.push(series);
            }
        }
        fates.push(verdict);
    }
    fates
}

/// A write through a kept handle, then the handle's drop, race the sweep
/// of the expired series: the sweep never drops it with the write unseen
/// (it checks uniqueness before it merges), and once the writer is done
/// the series is revived with its value.
#[test]
fn sweep_never_drops_a_series_with_an_unseen_write() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        let slot = engine.alloc(1).unwrap();
        let series: Series = Arc::new(slot);
        let kept = Arc::clone(&series);
        let maps = Arc::new(Mutex::new(Maps {
            live: Vec::new(),
            expired: vec![(series, 0)],
        }));
        let e = Arc::clone(&engine);
        let writer = thread::spawn(move || {
            e.lease().add_u64(*kept, 1);
            drop(kept);
        });
        let first = settle(&engine, &maps);
        assert!(
            !first.contains(&Fate::Drop),
            "dropped with a write: {first:?}"
        );
        writer.join().unwrap();
        settle(&engine, &maps);
        let maps = lock(&maps);
        assert_eq!(maps.live.len(), 1, "revived once the write is seen");
        assert!(maps.expired.is_empty());
        assert_eq!(engine.sum_u64(*maps.live[0]), 1);
    });
}

/// A thread writing through its stale cache, a lookup that revives the
/// series (or would create it if it were gone) and writes, and a sweep, all
/// at once: no write is lost, the lookup finds the same series, and the
/// label values never have two series. A live series' `Seen` shows the
/// revived series as changed at the first sweep that sees it.
#[test]
fn revival_by_lookup_and_by_sweep_keep_one_series() {
    loom::model(|| {
        let engine = Arc::new(Engine::new());
        let slot = engine.alloc(1).unwrap();
        let series: Series = Arc::new(slot);
        let cached = Arc::clone(&series);
        let maps = Arc::new(Mutex::new(Maps {
            live: Vec::new(),
            expired: vec![(series, 0)],
        }));
        let e = Arc::clone(&engine);
        let stale = thread::spawn(move || {
            e.lease().add_u64(*cached, 1);
        });
        let (e, m) = (Arc::clone(&engine), Arc::clone(&maps));
        let lookup = thread::spawn(move || {
            let found = {
                let mut maps = lock(&m);
                if let Some(s) = maps.live.first() {
                    Arc::clone(s)
                } else if let Some((s, _)) = maps.expired.pop() {
                    maps.live.push(Arc::clone(&s));
                    s
                } else {
                    let created: Series = Arc::new(e.alloc(1).unwrap());
                    maps.live.push(Arc::clone(&created));
                    created
                }
            };
            e.lease().add_u64(*found, 1);
            *found
        });
        settle(&engine, &maps);
        {
            let maps = lock(&maps);
            assert_eq!(maps.live.len() + maps.expired.len(), 1, "two series");
        }
        stale.join().unwrap();
        let found = lookup.join().unwrap();
        assert_eq!(found, slot, "the lookup created a second series");
        settle(&engine, &maps);
        let maps = lock(&maps);
        assert!(maps.expired.is_empty());
        assert_eq!(engine.sum_u64(*maps.live[0]), 2, "a write was lost");
        let seen = Seen::unseen();
        assert!(!seen.is_idle(2, 0, 0), "the first sweep sees a change");
        assert!(seen.is_idle(2, 1, 0), "the next finds it unchanged");
    });
}
