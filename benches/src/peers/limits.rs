//! The two limits every library sits between, for the counter and gauge
//! cases: the floor, a plain thread-local `Cell` (no library can beat it),
//! and the collapse, one shared atomic word every thread writes (what any
//! unsharded design becomes under contention).

use crate::hot_path::{Case, HotPath};
use atomic_float::AtomicF64;
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
    static SUM: Cell<f64> = const { Cell::new(0.0) };
    static LEVEL: Cell<f64> = const { Cell::new(0.0) };
    static IN_FLIGHT: Cell<i64> = const { Cell::new(0) };
}

fn counter_cases(case: Case) -> bool {
    matches!(
        case,
        Case::CounterInc | Case::CounterIncF64 | Case::GaugeSet | Case::GaugeIncDec
    )
}

/// The floor: each thread's own `Cell`, never read by anyone else. The cell
/// goes through `black_box` so the compiler keeps one load and one store per
/// operation instead of folding the benchmark loop into one addition.
#[derive(Debug, Default)]
pub struct Floor;

impl Floor {
    /// The calling thread's count (tests check the cells were written).
    pub fn local_count() -> u64 {
        COUNT.with(Cell::get)
    }
}

impl HotPath for Floor {
    const NAME: &'static str = "floor";

    fn new() -> Self {
        Floor
    }

    fn supports(case: Case) -> bool {
        counter_cases(case)
    }

    #[inline]
    fn counter_inc(&self) {
        COUNT.with(|c| {
            let c = black_box(c);
            c.set(c.get() + 1);
        });
    }

    #[inline]
    fn counter_inc_f64(&self, v: f64) {
        SUM.with(|c| {
            let c = black_box(c);
            c.set(c.get() + v);
        });
    }

    #[inline]
    fn gauge_set(&self, v: f64) {
        LEVEL.with(|c| black_box(c).set(v));
    }

    #[inline]
    fn gauge_inc_dec(&self, inc: bool) {
        IN_FLIGHT.with(|c| {
            let c = black_box(c);
            c.set(c.get() + if inc { 1 } else { -1 });
        });
    }

    fn histogram_observe(&self, _: f64) {}
    fn labeled_lookup_inc(&self, _: &[&str; 3]) {}
    fn labeled_cached_inc(&self) {}
    fn timer_guard(&self) {}
}

/// The collapse: one atomic word shared by every thread.
#[derive(Debug, Default)]
pub struct SharedAtomic {
    /// `fetch_add` target.
    pub count: AtomicU64,
    /// `f64` `fetch_add` (a compare-and-swap loop).
    pub sum: AtomicF64,
    level: AtomicF64,
    /// `fetch_add`/`fetch_sub` target.
    pub in_flight: AtomicI64,
}

impl HotPath for SharedAtomic {
    const NAME: &'static str = "shared-atomic";

    fn new() -> Self {
        Self::default()
    }

    fn supports(case: Case) -> bool {
        counter_cases(case)
    }

    #[inline]
    fn counter_inc(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    fn counter_inc_f64(&self, v: f64) {
        self.sum.fetch_add(v, Ordering::Relaxed);
    }

    #[inline]
    fn gauge_set(&self, v: f64) {
        self.level.store(v, Ordering::Relaxed);
    }

    #[inline]
    fn gauge_inc_dec(&self, inc: bool) {
        self.in_flight
            .fetch_add(if inc { 1 } else { -1 }, Ordering::Relaxed);
    }

    fn histogram_observe(&self, _: f64) {}
    fn labeled_lookup_inc(&self, _: &[&str; 3]) {}
    fn labeled_cached_inc(&self) {}
    fn timer_guard(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hot_path::run_case;

    #[test]
    fn the_limits_do_the_work() {
        let a = SharedAtomic::new();
        for case in Case::ALL.into_iter().filter(|&c| SharedAtomic::supports(c)) {
            run_case(&a, case, 2, 1000);
        }
        assert_eq!(a.count.load(Ordering::Relaxed), 2000);
        assert_eq!(a.in_flight.load(Ordering::Relaxed), 0);
        let before = Floor::local_count();
        Floor.counter_inc();
        assert_eq!(Floor::local_count(), before + 1);
        assert!(!Floor::supports(Case::HistogramObserve));
    }
}
