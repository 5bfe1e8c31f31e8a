//! Random registries for the interop tests: every metric type (info and
//! state sets both as metrics and from a collector), random help,
//! label values and numbers (escapes' targets, separators, Unicode line
//! breaks, special floats), creation times pinned. The generator is seeded,
//! so every run sees the same registries and a failure names one by index.

use crate::fixture;
use hotmetrics::{
    Buckets, Collector, Described, FamilyDesc, LabelSet, MetricType, MetricVisitor, Number, Opts,
    Registry, SeriesValue, StateSet, States, SummaryValue,
};

/// xorshift64*: deterministic, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Any string: mostly ASCII, with escapes' targets, separators of the
    /// formats, Unicode line breaks and arbitrary code points mixed in.
    fn string(&mut self, max: usize) -> String {
        const SPECIAL: &[char] = &[
            '\\', '"', '\n', '\t', '\r', ' ', '{', '}', ',', '=', '#', '\'', 'é', 'ß', '東', '🦀',
            '\u{2028}', '\u{85}', '\u{1c}', '\u{0}', '\u{7f}', '\u{feff}', '\u{a0}',
        ];
        let len = self.below(max + 1);
        (0..len)
            .map(|_| match self.below(4) {
                0 => self.pick(SPECIAL),
                1 => loop {
                    if let Some(c) = char::from_u32((self.next() % 0x11_0000) as u32) {
                        break c;
                    }
                },
                _ => char::from(b' ' + (self.next() % 95) as u8),
            })
            .collect()
    }

    /// Help text: empty now and then, else starting and ending in a letter
    /// (both Python parsers trim whitespace around HELP text).
    fn help(&mut self) -> String {
        if self.chance(8) {
            String::new()
        } else {
            format!("h{}h", self.string(20))
        }
    }

    fn any_f64(&mut self) -> f64 {
        const SPECIAL: &[f64] = &[
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            1e-5,
            1e6,
            0.1,
            1e21,
            123_456.7,
        ];
        match self.below(3) {
            0 => self.pick(SPECIAL),
            1 => f64::from_bits(self.next()),
            _ => (self.next() as i64 % 1_000_000) as f64 / 1000.0,
        }
    }

    fn finite_nonneg(&mut self) -> f64 {
        loop {
            let v = self.any_f64().abs();
            if v.is_finite() {
                return v;
            }
        }
    }

    fn u64(&mut self) -> u64 {
        match self.below(3) {
            0 => self.pick(&[0, 1, u64::MAX, 1 << 53, (1 << 53) + 1]),
            1 => self.next(),
            _ => self.next() % 1000,
        }
    }
}

/// Families a random registry's collector emits.
struct RandomCollector(Vec<CollectedFamily>);

struct CollectedFamily {
    name: String,
    help: String,
    metric_type: MetricType,
    series: Vec<(Vec<(String, String)>, Collected)>,
}

enum Collected {
    Summary {
        quantiles: Vec<(f64, f64)>,
        count: u64,
        sum: f64,
    },
    Info,
    StateSet(Vec<(String, bool)>),
    Unknown(Number),
}

/// Owned label pairs as a [`LabelSet`].
struct Pairs<'a>(&'a [(String, String)]);

impl LabelSet for Pairs<'_> {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (n, v) in self.0 {
            f(n, v);
        }
    }
}

impl Collector for RandomCollector {
    fn describe(&self) -> Vec<Described> {
        self.0
            .iter()
            .map(|f| Described::new(f.name.clone(), f.metric_type))
            .collect()
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        for f in &self.0 {
            out.begin_family(&FamilyDesc {
                name: &f.name,
                help: &f.help,
                metric_type: f.metric_type,
                unit: None,
            });
            for (labels, value) in &f.series {
                let states: Vec<(&str, bool)>;
                let value = match value {
                    Collected::Summary {
                        quantiles,
                        count,
                        sum,
                    } => SeriesValue::Summary(SummaryValue {
                        quantiles,
                        count: *count,
                        sum: *sum,
                        created: Some(fixture::CREATED),
                    }),
                    Collected::Info => SeriesValue::Info,
                    Collected::StateSet(s) => {
                        states = s.iter().map(|(k, on)| (k.as_str(), *on)).collect();
                        SeriesValue::StateSet(&states)
                    }
                    Collected::Unknown(n) => SeriesValue::Unknown(*n),
                };
                out.series(&Pairs(labels), &value);
            }
            out.end_family();
        }
    }
}

fn label_names(rng: &mut Rng) -> Vec<String> {
    (0..rng.below(4)).map(|j| format!("l{j}")).collect()
}

fn label_values(rng: &mut Rng, names: &[String]) -> Vec<String> {
    names.iter().map(|_| rng.string(12)).collect()
}

/// A registry of 1 to 6 random families of every type, with random help,
/// label values and numbers; creation times pinned.
fn random_registry(rng: &mut Rng, index: usize) -> Registry {
    let mut builder = Registry::builder();
    if rng.chance(3) {
        builder = builder.prefix(format!("p{index}"));
    }
    if rng.chance(3) {
        builder = builder.const_label("c", rng.string(8));
    }
    let r = builder.build().expect("valid builder");
    let mut collected = Vec::new();
    for i in 0..1 + rng.below(6) {
        let names = label_names(rng);
        let names_ref: Vec<&str> = names.iter().map(String::as_str).collect();
        let series = rng.below(4);
        let opts = |name: String, rng: &mut Rng| {
            let mut o = Opts::new(name, rng.help());
            if rng.chance(4) {
                o = o.const_label("k", rng.string(8));
            }
            o
        };
        match rng.below(11) {
            0 => {
                let f = r
                    .counter_vec(opts(format!("f{i}_total"), rng), &names_ref)
                    .expect("counter");
                for _ in 0..series {
                    let v = rng.u64();
                    f.with(
                        &label_values(rng, &names)
                            .iter()
                            .map(String::as_str)
                            .collect::<Vec<_>>(),
                        |c| c.inc_by(v),
                    )
                    .expect("series");
                }
            }
            1 => {
                let f = r
                    .counter_f64_vec(opts(format!("f{i}_total"), rng), &names_ref)
                    .expect("counter");
                for _ in 0..series {
                    let values = label_values(rng, &names);
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    for _ in 0..rng.below(3) {
                        let v = rng.finite_nonneg();
                        f.with(&values, |c| c.inc_by(v))
                            .expect("series")
                            .expect("finite");
                    }
                    f.get_or_create(&values).expect("series");
                }
            }
            2 => {
                let f = r
                    .gauge_vec(opts(format!("f{i}"), rng), &names_ref)
                    .expect("gauge");
                for _ in 0..series {
                    let v = rng.next() as i64;
                    let values = label_values(rng, &names);
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    f.with(&values, |g| g.set(v)).expect("series");
                }
            }
            3 => {
                let f = r
                    .gauge_f64_vec(opts(format!("f{i}"), rng), &names_ref)
                    .expect("gauge");
                for _ in 0..series {
                    let v = rng.any_f64();
                    let values = label_values(rng, &names);
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    f.with(&values, |g| g.set(v)).expect("series");
                }
            }
            4 => {
                let mut bounds: Vec<f64> = (0..1 + rng.below(5))
                    .map(|_| rng.any_f64())
                    .filter(|v| v.is_finite())
                    .collect();
                if bounds.is_empty() {
                    bounds.push(1.0);
                }
                bounds.sort_by(f64::total_cmp);
                bounds.dedup_by(|a, b| a == b);
                let unit = rng.chance(3);
                let mut o = opts(format!("f{i}_seconds"), rng);
                if unit {
                    o = o.unit("seconds");
                }
                let f = r
                    .histogram_vec(o, Buckets::new(bounds).expect("valid bounds"), &names_ref)
                    .expect("histogram");
                for _ in 0..series {
                    let values = label_values(rng, &names);
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    let h = f.get_or_create(&values).expect("series");
                    for _ in 0..rng.below(5) {
                        h.observe(rng.finite_nonneg());
                    }
                }
            }
            9 => {
                let f = r
                    .info_vec(opts(format!("f{i}_info"), rng), &names_ref)
                    .expect("info");
                for _ in 0..series {
                    let values = label_values(rng, &names);
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    let info: Vec<(String, String)> = (0..rng.below(3))
                        .map(|j| (format!("i{j}"), rng.string(12)))
                        .collect();
                    let info: Vec<(&str, &str)> =
                        info.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                    f.with(&values, |m| m.set(&info))
                        .expect("series")
                        .expect("info labels");
                }
            }
            10 => {
                let mut states: Vec<String> = (0..1 + rng.below(3))
                    .map(|_| format!("s{}", rng.string(8)))
                    .collect();
                states.sort();
                states.dedup();
                let states: Vec<&str> = states.iter().map(String::as_str).collect();
                let flags = rng.chance(2);
                let config = if flags {
                    States::flags(&states)
                } else {
                    States::new(&states)
                };
                let f = r
                    .family::<StateSet>(
                        opts(format!("f{i}"), rng),
                        &names_ref,
                        config.expect("states"),
                    )
                    .expect("state set");
                for _ in 0..series {
                    let values = label_values(rng, &names);
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    let s = f.get_or_create(&values).expect("series");
                    if flags {
                        for state in &states {
                            s.set_state(state, rng.chance(2)).expect("state");
                        }
                    } else {
                        s.set(rng.pick(&states)).expect("state");
                    }
                }
            }
            t => {
                let metric_type = [
                    MetricType::Summary,
                    MetricType::Info,
                    MetricType::StateSet,
                    MetricType::Unknown,
                ][t - 5];
                let series = (0..series)
                    .map(|_| {
                        let labels: Vec<(String, String)> =
                            names.iter().map(|n| (n.clone(), rng.string(12))).collect();
                        let value = match metric_type {
                            MetricType::Summary => {
                                let mut qs: Vec<f64> = (0..rng.below(4))
                                    .map(|_| {
                                        rng.pick(&[0.0, 0.5, 0.9, 0.99, 1.0, 0.123_456_789, 1e-5])
                                    })
                                    .collect();
                                qs.sort_by(f64::total_cmp);
                                qs.dedup();
                                Collected::Summary {
                                    quantiles: qs
                                        .into_iter()
                                        .map(|q| {
                                            let v = if rng.chance(4) {
                                                f64::NAN
                                            } else {
                                                rng.finite_nonneg()
                                            };
                                            (q, v)
                                        })
                                        .collect(),
                                    count: rng.u64(),
                                    sum: rng.finite_nonneg(),
                                }
                            }
                            MetricType::Info => Collected::Info,
                            MetricType::StateSet => {
                                let mut states: Vec<(String, bool)> = (0..1 + rng.below(3))
                                    .map(|_| (rng.string(8), rng.chance(2)))
                                    .collect();
                                states.sort();
                                states.dedup_by(|a, b| a.0 == b.0);
                                Collected::StateSet(states)
                            }
                            _ => Collected::Unknown(if rng.chance(2) {
                                Number::Float(rng.any_f64())
                            } else {
                                Number::Int(rng.next() as i64)
                            }),
                        };
                        (labels, value)
                    })
                    .collect::<Vec<(Vec<(String, String)>, Collected)>>();
                let mut series = series;
                // One series per label set, as a registry family has.
                let mut seen = std::collections::HashSet::new();
                series.retain(|(labels, _)| seen.insert(labels.clone()));
                collected.push(CollectedFamily {
                    name: format!("f{i}"),
                    help: rng.help(),
                    metric_type,
                    series,
                });
            }
        }
    }
    if !collected.is_empty() {
        r.register_collector(RandomCollector(collected))
            .expect("collector");
    }
    fixture::pinned(r)
}

/// How many registries [`random_registries`] makes.
pub const RANDOM_REGISTRIES: usize = 200;

/// The [`RANDOM_REGISTRIES`] registries, the same on every call.
pub fn random_registries() -> Vec<Registry> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..RANDOM_REGISTRIES)
        .map(|i| random_registry(&mut rng, i))
        .collect()
}
