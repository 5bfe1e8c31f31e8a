//! Go's expectations, exact reductions and merges, on the series state
//! directly (with a mock clock for resets).

use super::key::key;
use super::merge::spans;
use super::*;
use crate::visit::BucketSpan;
use proptest::prelude::*;

struct Want {
    schema: i32,
    zero_threshold: f64,
    zero: u64,
    count: u64,
    positive: &'static [(i32, u32)],
    positive_deltas: &'static [i64],
    negative: &'static [(i32, u32)],
    negative_deltas: &'static [i64],
}

fn run(opts: NativeOpts, observations: &[f64], want: Want) {
    let (clock, mock) = quanta::Clock::mock();
    let native = Native::with_clock(opts.validate().unwrap(), 0, 0.0, clock);
    for &v in observations {
        // One simulated minute per observation, as Go's test does.
        mock.increment(Duration::from_secs(60));
        native.observe(v, 0);
    }
    let mut s = NativeScratch::default();
    let m = native.merge(&mut [], &mut s);
    let (mut ps, mut pd, mut ns, mut nd) = Default::default();
    spans(&s.positive, &mut ps, &mut pd);
    spans(&s.negative, &mut ns, &mut nd);
    let span = |v: &[(i32, u32)]| -> Vec<BucketSpan> {
        v.iter()
            .map(|&(offset, length)| BucketSpan { offset, length })
            .collect()
    };
    assert_eq!(m.schema, want.schema);
    assert_eq!(m.zero_threshold, want.zero_threshold);
    assert_eq!(m.zero, want.zero);
    assert_eq!(m.count, want.count);
    assert_eq!(ps, span(want.positive));
    assert_eq!(pd, want.positive_deltas);
    assert_eq!(ns, span(want.negative));
    assert_eq!(nd, want.negative_deltas);
}

const ZT: f64 = DEFAULT_ZERO_THRESHOLD;

/// Scenarios of client_golang's `TestNativeHistogram`
/// (`prometheus/histogram_test.go`), expectations copied from there. The
/// ones that rely on Go's reset timer are left out: resets here happen at
/// the next limit event (see the module docs).
#[test]
fn go_scenarios() {
    let f = |factor| NativeOpts::new().factor(factor).max_buckets(0);
    run(
        f(1.1),
        &[],
        Want {
            schema: 3,
            zero_threshold: ZT,
            zero: 0,
            count: 0,
            positive: &[],
            positive_deltas: &[],
            negative: &[],
            negative_deltas: &[],
        },
    );
    run(
        f(1.1),
        &[0.0, 1.0, 2.0, 3.0],
        Want {
            schema: 3,
            zero_threshold: ZT,
            zero: 1,
            count: 4,
            positive: &[(0, 1), (7, 1), (4, 1)],
            positive_deltas: &[1, 0, 0],
            negative: &[],
            negative_deltas: &[],
        },
    );
    run(
        f(1.2),
        &[0.0, 1.0, 1.2, 1.4, 1.8, 2.0],
        Want {
            schema: 2,
            zero_threshold: ZT,
            zero: 1,
            count: 6,
            positive: &[(0, 5)],
            positive_deltas: &[1, -1, 2, -2, 2],
            negative: &[],
            negative_deltas: &[],
        },
    );
    run(
        f(4.0),
        &[
            0.0156251, 0.0625, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 3.5, 5.0, 6.0, 7.0, 33.33,
        ],
        Want {
            schema: -1,
            zero_threshold: ZT,
            zero: 0,
            count: 14,
            positive: &[(-2, 6)],
            positive_deltas: &[2, 0, 0, 2, -1, -2],
            negative: &[],
            negative_deltas: &[],
        },
    );
    run(
        f(17.0),
        &[
            0.0156251, 0.0625, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 3.5, 5.0, 6.0, 7.0, 33.33,
        ],
        Want {
            schema: -2,
            zero_threshold: ZT,
            zero: 0,
            count: 14,
            positive: &[(-1, 4)],
            positive_deltas: &[2, 2, 3, -6],
            negative: &[],
            negative_deltas: &[],
        },
    );
    let both = [0.0, -1.0, -1.2, -1.4, -1.8, -2.0, 1.0, 1.2, 1.4, 1.8, 2.0];
    run(
        f(1.2),
        &both,
        Want {
            schema: 2,
            zero_threshold: ZT,
            zero: 1,
            count: 11,
            positive: &[(0, 5)],
            positive_deltas: &[1, -1, 2, -2, 2],
            negative: &[(0, 5)],
            negative_deltas: &[1, -1, 2, -2, 2],
        },
    );
    run(
        f(1.2).zero_threshold(1.4),
        &both,
        Want {
            schema: 2,
            zero_threshold: 1.4,
            zero: 7,
            count: 11,
            positive: &[(4, 1)],
            positive_deltas: &[2],
            negative: &[(4, 1)],
            negative_deltas: &[2],
        },
    );
    let base = [0.0, 1.0, 1.2, 1.4, 1.8, 2.0];
    run(
        f(1.2),
        &[&base[..], &[f64::NAN]].concat(),
        Want {
            schema: 2,
            zero_threshold: ZT,
            zero: 1,
            count: 7,
            positive: &[(0, 5)],
            positive_deltas: &[1, -1, 2, -2, 2],
            negative: &[],
            negative_deltas: &[],
        },
    );
    run(
        f(1.2),
        &[&base[..], &[f64::INFINITY]].concat(),
        Want {
            schema: 2,
            zero_threshold: ZT,
            zero: 1,
            count: 7,
            positive: &[(0, 5), (4092, 1)],
            positive_deltas: &[1, -1, 2, -2, 2, -1],
            negative: &[],
            negative_deltas: &[],
        },
    );
    run(
        f(1.2),
        &[&base[..], &[f64::NEG_INFINITY]].concat(),
        Want {
            schema: 2,
            zero_threshold: ZT,
            zero: 1,
            count: 7,
            positive: &[(0, 5)],
            positive_deltas: &[1, -1, 2, -2, 2],
            negative: &[(4097, 1)],
            negative_deltas: &[1],
        },
    );
    let limited = |max_zt| {
        NativeOpts::new()
            .factor(1.2)
            .max_buckets(4)
            .max_zero_threshold(max_zt)
    };
    run(
        limited(ZT),
        &base,
        Want {
            schema: 2,
            zero_threshold: ZT,
            zero: 1,
            count: 6,
            positive: &[(0, 5)],
            positive_deltas: &[1, -1, 2, -2, 2],
            negative: &[],
            negative_deltas: &[],
        },
    );
    let over = [0.0, 1.0, 1.1, 1.2, 1.4, 1.8, 2.0, 3.0];
    run(
        limited(ZT),
        &over,
        Want {
            schema: 1,
            zero_threshold: ZT,
            zero: 1,
            count: 8,
            positive: &[(0, 5)],
            positive_deltas: &[1, 2, -1, -2, 1],
            negative: &[],
            negative_deltas: &[],
        },
    );
    run(
        limited(1.2),
        &over,
        Want {
            schema: 2,
            zero_threshold: 1.0,
            zero: 2,
            count: 8,
            positive: &[(1, 7)],
            positive_deltas: &[1, 1, -2, 2, -2, 0, 1],
            negative: &[],
            negative_deltas: &[],
        },
    );
    let neg: Vec<f64> = over.iter().map(|v| -v).collect();
    run(
        limited(1.2),
        &neg,
        Want {
            schema: 2,
            zero_threshold: 1.0,
            zero: 2,
            count: 8,
            positive: &[],
            positive_deltas: &[],
            negative: &[(1, 7)],
            negative_deltas: &[1, 1, -2, 2, -2, 0, 1],
        },
    );
    let twice = [0.0, 1.0, 1.1, 1.2, 1.4, 1.8, 2.0, 3.0, 4.0];
    run(
        limited(1.2),
        &twice,
        Want {
            schema: 2,
            zero_threshold: 1.189207115002721,
            zero: 3,
            count: 9,
            positive: &[(2, 7)],
            positive_deltas: &[2, -2, 2, -2, 0, 1, 0],
            negative: &[],
            negative_deltas: &[],
        },
    );
    // "buckets limited by reset": the 8th observation (minute 8) resets.
    run(
        limited(1.2).min_reset(Duration::from_secs(300)),
        &twice,
        Want {
            schema: 2,
            zero_threshold: ZT,
            zero: 0,
            count: 2,
            positive: &[(7, 2)],
            positive_deltas: &[1, 0],
            negative: &[],
            negative_deltas: &[],
        },
    );
}

/// The buckets of `values` counted directly at `schema` (no zero bucket
/// beyond exact zeros and the default threshold).
fn direct(values: &[f64], schema: i32) -> Vec<(i32, u64)> {
    let mut m = std::collections::BTreeMap::new();
    for &v in values.iter().filter(|v| **v > ZT) {
        *m.entry(key(v, schema)).or_insert(0u64) += 1;
    }
    m.into_iter().collect()
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        (1e-9f64..1e9),
        (1u64..0x7fef_ffff_ffff_ffff).prop_map(f64::from_bits),
        Just(0.0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Halving the resolution (forced by a small `max_buckets`) keeps
    /// every count, on both signs: the buckets equal those of the same
    /// data counted at the final schema directly. The threads are alive at
    /// once, so each has its own shard and they end at different schemas,
    /// which the scrape lowers to the smallest (and then further, to hold
    /// `max_buckets` merged).
    #[test]
    fn reductions_and_merges_are_exact(
        values in proptest::collection::vec((value(), any::<bool>()), 1..300),
        max_buckets in 1u32..40,
        threads in 1usize..5,
    ) {
        let values: Vec<f64> = values.into_iter().map(|(v, neg)| if neg { -v } else { v }).collect();
        let opts = NativeOpts::new().schema(8).max_buckets(max_buckets);
        let native = Native::new(opts.validate().unwrap(), 0, 0.0);
        let chunks: Vec<&[f64]> = values.chunks(values.len().div_ceil(threads)).collect();
        on_live_threads(chunks.len(), |t| chunks[t].iter().for_each(|&v| native.observe(v, 0)));
        let mut s = NativeScratch::default();
        let m = native.merge(&mut [], &mut s);
        prop_assert_eq!(m.count, values.len() as u64);
        prop_assert_eq!(m.zero, values.iter().filter(|v| v.abs() <= ZT).count() as u64);
        prop_assert_eq!(&s.positive, &direct(&values, m.schema));
        let negated: Vec<f64> = values.iter().map(|v| -v).collect();
        prop_assert_eq!(&s.negative, &direct(&negated, m.schema));
        // (The lowest schema is as far as the limit can reduce.)
        prop_assert!(s.positive.len() + s.negative.len() <= max_buckets as usize || m.schema == -4);
    }
}

/// The module docs' memory figures: a shard's fixed part (classic cells
/// and runs apart).
#[test]
fn shard_fixed_size_is_as_documented() {
    let size = std::mem::size_of::<crossbeam_utils::CachePadded<shard::Shard>>();
    assert!(size <= 256, "{size} bytes");
}

/// A reset moves `_created` to the reset and leaves only the observation
/// that triggered it (Go's "buckets limited by reset").
#[test]
fn reset_moves_created() {
    let (clock, mock) = quanta::Clock::mock();
    let opts = NativeOpts::new()
        .factor(1.2)
        .max_buckets(2)
        .min_reset(Duration::from_secs(60));
    let native = Native::with_clock(opts.validate().unwrap(), 0, 1000.0, clock);
    native.observe(1.0, 0);
    native.observe(2.0, 0);
    assert_eq!(native.created(), 1000.0);
    mock.increment(Duration::from_secs(90));
    native.observe(4.0, 0);
    assert_eq!(native.created(), 1090.0);
    let m = native.merge(&mut [], &mut NativeScratch::default());
    assert_eq!((m.count, m.sum), (1, 4.0));
}

/// Runs `f(i)` on `threads` threads that are all alive until each is done,
/// so each writes its own shard (an exited thread's shard is reused).
fn on_live_threads(threads: usize, f: impl Fn(usize) + Sync) {
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|s| {
        for i in 0..threads {
            let (f, barrier) = (&f, &barrier);
            s.spawn(move || {
                f(i);
                barrier.wait();
            });
        }
    });
}

/// A reset empties every thread's part, not only the resetting one's: the
/// merged series holds only what came after it, and a thread that had data
/// before counts only its observations after the reset.
#[test]
fn reset_clears_every_thread() {
    let (clock, mock) = quanta::Clock::mock();
    let opts = NativeOpts::new()
        .factor(1.2)
        .max_buckets(2)
        .min_reset(Duration::from_secs(60));
    let native = Native::with_clock(opts.validate().unwrap(), 2, 1000.0, clock);
    std::thread::scope(|s| {
        // Made in the scope, so a failing check drops them and ends `a`.
        let (to_a, from_main) = std::sync::mpsc::channel::<()>();
        let (to_main, from_a) = std::sync::mpsc::channel::<()>();
        let native = &native;
        s.spawn(move || {
            (0..5).for_each(|_| native.observe(1.0, 0));
            to_main.send(()).unwrap();
            from_main.recv().unwrap();
            native.observe(3.0, 1);
            to_main.send(()).unwrap();
        });
        from_a.recv().unwrap();
        native.observe(1.0, 0);
        native.observe(2.0, 0);
        mock.increment(Duration::from_secs(90));
        native.observe(4.0, 1);
        assert_eq!(native.created(), 1090.0);
        let mut classic = [0; 2];
        let m = native.merge(&mut classic, &mut NativeScratch::default());
        assert_eq!((m.count, m.sum, classic), (1, 4.0, [0, 1]));
        let totals = native.totals(&mut classic, &mut NativeScratch::default());
        assert_eq!((totals, classic), ((1, 4.0), [0, 1]));
        to_a.send(()).unwrap();
        from_a.recv().unwrap();
    });
    let mut classic = [0; 2];
    let m = native.merge(&mut classic, &mut NativeScratch::default());
    assert_eq!((m.count, m.sum, classic), (2, 7.0, [0, 2]));
}

/// Values too far apart for the memory cap (not for `max_buckets`) halve
/// the resolution only, re-centring the run: the zero bucket does not
/// widen and the schema stays one below Go's (which keeps 8 here).
#[test]
fn memory_cap_halves_and_recentres_only() {
    let opts = NativeOpts::new()
        .schema(8)
        .max_buckets(1000)
        .max_zero_threshold(1.0);
    let native = Native::new(opts.validate().unwrap(), 0, 0.0);
    let values = [0.001, 0.002, 0.01, 0.1, 0.5, 1e6];
    values.iter().for_each(|&v| native.observe(v, 0));
    let mut s = NativeScratch::default();
    let m = native.merge(&mut [], &mut s);
    assert_eq!((m.schema, m.zero, m.count), (7, 0, 6));
    assert_eq!(m.zero_threshold, ZT);
    assert_eq!(s.positive, direct(&values, 7));
}

/// Unlimited buckets (`max_buckets(0)`) still cap a thread's run: values
/// over the whole `f64` range lower the resolution instead of allocating
/// a cell for every key between them; counts stay exact.
#[test]
fn unlimited_buckets_keep_a_memory_cap() {
    let native = Native::new(
        NativeOpts::new()
            .schema(8)
            .max_buckets(0)
            .validate()
            .unwrap(),
        0,
        0.0,
    );
    let values = [1e-300, 1.0, 1e300, -1e-300, -1e300];
    values.iter().for_each(|&v| native.observe(v, 0));
    let mut s = NativeScratch::default();
    let m = native.merge(&mut [], &mut s);
    assert!(m.schema < 3, "schema {}", m.schema);
    assert_eq!(m.count, 5);
    assert_eq!(s.positive, direct(&values, m.schema));
    assert_eq!(s.negative, direct(&values.map(|v| -v), m.schema));
}

/// `max_buckets` holds for the merged series too: 8 threads with 10
/// distinct buckets each merge into at most 10, exactly.
#[test]
fn merged_series_keeps_max_buckets() {
    let native = Native::new(
        NativeOpts::new()
            .schema(3)
            .max_buckets(10)
            .validate()
            .unwrap(),
        0,
        0.0,
    );
    let value = |t: usize, i: usize| 2f64.powf((t * 10 + i) as f64 / 8.0);
    on_live_threads(8, |t| (0..10).for_each(|i| native.observe(value(t, i), 0)));
    let mut s = NativeScratch::default();
    let m = native.merge(&mut [], &mut s);
    let values: Vec<f64> = (0..8)
        .flat_map(|t| (0..10).map(move |i| value(t, i)))
        .collect();
    assert!(s.positive.len() <= 10, "{} buckets", s.positive.len());
    assert_eq!(m.count, 80);
    assert_eq!(s.positive, direct(&values, m.schema));
}

/// Threads whose zero buckets widened differently: the merge takes the
/// widest, and the other threads' buckets inside it join it.
#[test]
fn merge_folds_buckets_into_the_widest_zero_bucket() {
    let opts = NativeOpts::new()
        .schema(0)
        .max_buckets(2)
        .max_zero_threshold(1.0);
    let native = Native::new(opts.validate().unwrap(), 0, 0.0);
    on_live_threads(2, |t| {
        let values: &[f64] = if t == 0 {
            // Three buckets: the zero bucket widens to 0.25 (the bucket of
            // 0.2 is (0.125, 0.25]).
            &[0.2, 3.0, 10.0]
        } else {
            &[0.1, 0.2, 3.0]
        };
        values.iter().for_each(|&v| native.observe(v, 0));
    });
    let mut s = NativeScratch::default();
    let m = native.merge(&mut [], &mut s);
    assert_eq!((m.zero_threshold, m.zero, m.count), (0.25, 3, 6));
    assert_eq!((m.schema, s.positive.clone()), (0, vec![(2, 2), (4, 1)]));
}

/// A scrape that skips the native buckets reads the same count, sum and
/// classic counts as the full merge.
#[test]
fn totals_equal_the_full_merge() {
    let opts = NativeOpts::new().schema(8).max_buckets(4);
    let native = Native::new(opts.validate().unwrap(), 3, 0.0);
    on_live_threads(3, |t| {
        for i in 0..200 {
            let v = (i as f64 - 50.0) * (t + 1) as f64;
            native.observe(if i % 17 == 0 { f64::NAN } else { v }, i % 3);
        }
    });
    let (mut a, mut b) = ([0; 3], [0; 3]);
    let m = native.merge(&mut a, &mut NativeScratch::default());
    let (count, sum) = native.totals(&mut b, &mut NativeScratch::default());
    assert_eq!((count, a), (600, b));
    assert_eq!((m.count, m.sum.to_bits()), (count, sum.to_bits()));
}
