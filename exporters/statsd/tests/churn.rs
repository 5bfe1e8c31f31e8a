//! Series that appear, disappear, come back (in a later export, or made
//! again before the next one, with a lower or a higher total) and move (a
//! removal swaps a family's last series into its place, so the order of
//! an export changes): every export's lines are exactly the increases
//! and the changed gauges a model of the registry expects, over many
//! random rounds.

use hotmetrics_core::{Counter, Gauge, Registry};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_statsd::StatsdSink;
use std::collections::{BTreeMap, BTreeSet};

/// One export's lines, `name → (value, type)`, each name once.
fn export(sink: &mut StatsdSink, registry: &Registry) -> BTreeMap<String, (u64, String)> {
    let mut batch = Batch::default();
    sink.encode(registry, &mut batch).unwrap();
    let mut lines = BTreeMap::new();
    for payload in batch.payloads() {
        for line in std::str::from_utf8(&payload.bytes).unwrap().split('\n') {
            let (name, rest) = line.split_once(':').expect("name:value|type");
            let (value, kind) = rest.split_once('|').expect("value|type");
            let old = lines.insert(name.to_owned(), (value.parse().unwrap(), kind.to_owned()));
            assert!(old.is_none(), "{name} twice in one export");
        }
    }
    lines
}

/// xorshift: the same rounds every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn random_churn_sends_exactly_what_changed() {
    let registry = Registry::new();
    let counters = registry.counter_vec(("c", "C."), &["k"]).unwrap();
    let gauges = registry.gauge_vec(("g", "G."), &["k"]).unwrap();
    let mut sink = StatsdSink::udp("127.0.0.1:8125").build().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // The model: live series and their totals, and what the last export
    // saw of each (a counter's total and creation time).
    let mut live_c: BTreeMap<String, (Counter, u64)> = BTreeMap::new();
    let mut live_g: BTreeMap<String, (Gauge, i64)> = BTreeMap::new();
    let mut seen_c: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    let mut seen_g: BTreeMap<String, i64> = BTreeMap::new();
    let mut ever: BTreeSet<String> = BTreeSet::new();
    let (mut appeared, mut came_back, mut gone) = (0, 0, 0);
    // Counters removed and made again between two exports, with a total
    // at least the one the last export saw.
    let mut remade_higher = 0;
    for round in 0..200 {
        for _ in 0..12 {
            let k = format!("s{}", rng.below(30));
            match rng.below(6) {
                0 if !live_c.contains_key(&k) => {
                    let c = counters.get_or_create(&[&k]).unwrap();
                    let n = 1 + rng.below(30);
                    c.inc_by(n);
                    appeared += 1;
                    came_back += u64::from(!ever.insert(k.clone()));
                    live_c.insert(k, (c, n));
                }
                1 if live_c.contains_key(&k) => {
                    assert!(counters.remove(&[&k]).unwrap());
                    live_c.remove(&k);
                    gone += 1;
                    // Half of them made again at once, before the export.
                    if rng.below(2) == 0 {
                        let c = counters.get_or_create(&[&k]).unwrap();
                        let n = 1 + rng.below(30);
                        c.inc_by(n);
                        live_c.insert(k, (c, n));
                    }
                }
                2 | 3 => {
                    if let Some((c, total)) = live_c.get_mut(&k) {
                        let n = rng.below(4);
                        c.inc_by(n);
                        *total += n;
                    }
                }
                4 if !live_g.contains_key(&k) => {
                    let g = gauges.get_or_create(&[&k]).unwrap();
                    let v = rng.below(3) as i64;
                    g.set(v);
                    live_g.insert(k, (g, v));
                }
                5 => {
                    if rng.below(3) == 0 && live_g.contains_key(&k) {
                        gauges.remove(&[&k]).unwrap();
                        live_g.remove(&k);
                    } else if let Some((g, v)) = live_g.get_mut(&k) {
                        *v = rng.below(3) as i64;
                        g.set(*v);
                    }
                }
                _ => {}
            }
        }
        let mut want = BTreeMap::new();
        for (k, (c, total)) in &live_c {
            let delta = match seen_c.get(k) {
                // The series the last export saw, still there (or made
                // again on the same clock tick: the sink cannot tell, and
                // sends all of a total that went down).
                Some(&(before, created)) if created == c.created() => {
                    if *total >= before {
                        total - before
                    } else {
                        *total
                    }
                }
                // Made again since (a new creation time): all of it is new.
                Some(&(before, _)) => {
                    remade_higher += u64::from(*total >= before);
                    *total
                }
                None => *total,
            };
            if delta > 0 {
                want.insert(format!("c.k.{k}"), (delta, "c".to_owned()));
            }
        }
        for (k, (_, v)) in &live_g {
            if seen_g.get(k) != Some(v) {
                want.insert(format!("g.k.{k}"), (*v as u64, "g".to_owned()));
            }
        }
        assert_eq!(export(&mut sink, &registry), want, "round {round}");
        seen_c = live_c
            .iter()
            .map(|(k, (c, t))| (k.clone(), (*t, c.created())))
            .collect();
        seen_g = live_g.iter().map(|(k, (_, v))| (k.clone(), *v)).collect();
    }
    assert!(
        appeared > 100 && came_back > 50 && gone > 50 && remade_higher > 10,
        "the rounds churn: {appeared} appeared, {came_back} came back, {gone} went, \
         {remade_higher} remade between two exports with a total not lower"
    );
}

/// A counter remade until its creation time differs from the one `old`
/// had (the clock's resolution: a removal and a remaking can fall on the
/// same tick, and then the sink cannot tell them apart).
fn remake(counters: &hotmetrics_core::CounterVec, k: &str, old: f64) -> Counter {
    loop {
        counters.remove(&[k]).unwrap();
        let c = counters.get_or_create(&[k]).unwrap();
        if c.created() != old {
            return c;
        }
    }
}

#[test]
fn a_series_remade_between_exports_with_a_higher_total_sends_it_all() {
    let registry = Registry::new();
    let counters = registry.counter_vec(("c", "C."), &["k"]).unwrap();
    let hist = registry
        .histogram_vec(
            ("h", "H."),
            hotmetrics_core::Buckets::new(vec![1.0]).unwrap(),
            &["k"],
        )
        .unwrap();
    let mut sink = StatsdSink::udp("127.0.0.1:8125").build().unwrap();
    let a = counters.get_or_create(&["a"]).unwrap();
    a.inc_by(10);
    let h = hist.get_or_create(&["a"]).unwrap();
    h.observe(1.0);
    assert_eq!(export(&mut sink, &registry).len(), 4);
    // Removed and made again before the next export, with more than the
    // old total: the sink sends all of it, not 15 - 10.
    remake(&counters, "a", a.created()).inc_by(15);
    // (Histograms do not show their creation time: a pause longer than
    // the clock's resolution makes it another.)
    hist.remove(&["a"]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    let h = hist.get_or_create(&["a"]).unwrap();
    for v in [0.5, 0.5, 2.0] {
        h.observe(v);
    }
    let want = BTreeMap::from([
        ("c.k.a".to_owned(), (15, "c".to_owned())),
        ("h_count.k.a".to_owned(), (3, "c".to_owned())),
        ("h_sum.k.a".to_owned(), (3, "c".to_owned())),
        ("h_bucket.k.a.le.1".to_owned(), (2, "c".to_owned())),
    ]);
    assert_eq!(export(&mut sink, &registry), want);
    assert!(export(&mut sink, &registry).is_empty());
}

#[test]
fn a_series_remade_between_exports_with_a_lower_total_sends_it_all() {
    let registry = Registry::new();
    let counters = registry.counter_vec(("c", "C."), &["k"]).unwrap();
    let mut sink = StatsdSink::udp("127.0.0.1:8125").build().unwrap();
    for k in ["a", "b", "c"] {
        counters.get_or_create(&[k]).unwrap().inc_by(10);
    }
    assert_eq!(export(&mut sink, &registry).len(), 3);
    // `a` goes and comes back at once: the last one moved to its place,
    // and its total went down, so it started again: all of it is new.
    counters.remove(&["a"]).unwrap();
    counters.get_or_create(&["a"]).unwrap().inc_by(4);
    counters.get_or_create(&["b"]).unwrap().inc();
    let want = BTreeMap::from([
        ("c.k.a".to_owned(), (4, "c".to_owned())),
        ("c.k.b".to_owned(), (1, "c".to_owned())),
    ]);
    assert_eq!(export(&mut sink, &registry), want);
    assert!(export(&mut sink, &registry).is_empty());
}
