//! An arbitrary registry out of the fuzzer's bytes, shared by the sink
//! targets (`remote_write_encode`, `statsd_encode`): legacy or UTF-8
//! names, label values of any text (empty included), counters, gauges and
//! histograms with odd floats (NaN, infinities, -0, huge, subnormal),
//! info and state set families; and the counters it made, for a target to
//! bump between two exports.

use crate::Input;
use hotmetrics::{Buckets, Counter, CounterF64, Family, NameValidation, Registry};

/// Characters of names: legacy ones most of the time, then what the
/// sinks must escape or replace (`.`, `:`, `|`, `@`, `#`, `,`, newlines,
/// quotes, non-ASCII).
const NAME_CHARS: &[char] = &[
    'a',
    'b',
    'c',
    'x',
    'Z',
    '_',
    '_',
    '0',
    '9',
    ':',
    '.',
    '|',
    '@',
    '#',
    ',',
    '-',
    '/',
    '\n',
    '"',
    '\\',
    ' ',
    '=',
    '{',
    'é',
    '日',
    '\u{1F600}',
];

/// A float a registry may be handed: the awkward ones first.
pub fn odd_float(input: &mut Input<'_>) -> f64 {
    match input.below(16) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => -0.0,
        4 => 0.0,
        5 => f64::MAX,
        6 => f64::MIN_POSITIVE,
        7 => 5e-324,
        8 => 1e300,
        9 => 9_007_199_254_740_993.0,
        10 => -1.5,
        11 => 0.1,
        _ => {
            let mut b = [0u8; 8];
            b.iter_mut().for_each(|x| *x = input.byte());
            f64::from_le_bytes(b)
        }
    }
}

/// A name: from [`NAME_CHARS`], or arbitrary text now and then.
pub fn name(input: &mut Input<'_>) -> String {
    if input.one_in(8) {
        return input.text(12);
    }
    let len = 1 + input.below(8);
    (0..len).map(|_| input.pick(NAME_CHARS)).collect()
}

/// A label value: short, often empty or repeated, sometimes any bytes
/// (lossily UTF-8, as label values are strings).
fn label_value(input: &mut Input<'_>) -> String {
    match input.below(6) {
        0 => String::new(),
        1 => "v".to_owned(),
        2 => name(input),
        _ => input.text(10),
    }
}

/// A counter family the input registered, with what a target needs to
/// bump it and to name its series.
pub enum Counters {
    /// An integer counter family.
    Int(Family<Counter>),
    /// A float counter family.
    Float(Family<CounterF64>),
}

/// A registered counter family: its name, label names and handle.
pub struct CounterFamily {
    /// The family's name ([`Family::name`]: without `_total`).
    pub name: String,
    /// Its label names, in order.
    pub labels: Vec<String>,
    /// The family itself.
    pub family: Counters,
}

/// A registry made from the input, and its counter families.
pub struct Fuzzed {
    /// The registry.
    pub registry: Registry,
    /// The counter families registered (live or unregistered since).
    pub counters: Vec<CounterFamily>,
}

/// Label names for a new family: 0 to 2, from the name alphabet.
fn label_names(input: &mut Input<'_>) -> Vec<String> {
    (0..input.below(3)).map(|_| name(input)).collect()
}

/// Label values for a family of `n` labels.
pub fn label_values(input: &mut Input<'_>, n: usize) -> Vec<String> {
    (0..n).map(|_| label_value(input)).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Builds a registry from `input`: up to a dozen operations. Registration errors are fine (an
/// invalid name, a clash): the operation does nothing.
pub fn build(input: &mut Input<'_>) -> Fuzzed {
    let validation = if input.one_in(2) {
        NameValidation::Utf8
    } else {
        NameValidation::Legacy
    };
    let mut builder = Registry::builder().name_validation(validation);
    if input.one_in(4) {
        builder = builder.const_label(name(input), label_value(input));
    }
    let registry = builder
        .build()
        .or_else(|_| Registry::builder().build())
        .expect("a default registry builds");
    let mut counters = Vec::new();
    let ops = input.below(12);
    for _ in 0..ops {
        if input.is_empty() {
            break;
        }
        let op = input.below(9);
        let (family, help) = (name(input), input.text(6));
        let labels = label_names(input);
        let values = label_values(input, labels.len());
        let (l, v) = (refs(&labels), refs(&values));
        match op {
            0 | 1 => {
                if let Ok(f) = registry.counter_vec((family.as_str(), help), &l) {
                    let n = u64::from(input.byte()) << input.below(40);
                    let _ = f.with(&v, |c| c.inc_by(n));
                    counters.push(CounterFamily {
                        name: f.name().to_owned(),
                        labels,
                        family: Counters::Int(f),
                    });
                }
            }
            2 => {
                if let Ok(f) = registry.counter_f64_vec((family.as_str(), help), &l) {
                    let x = odd_float(input);
                    let _ = f.with(&v, |c| c.inc_by(x));
                    counters.push(CounterFamily {
                        name: f.name().to_owned(),
                        labels,
                        family: Counters::Float(f),
                    });
                }
            }
            3 => {
                if let Ok(f) = registry.gauge_vec((family, help), &l) {
                    let x = i64::from(input.byte() as i8) << input.below(60);
                    let _ = f.with(&v, |g| g.set(x));
                }
            }
            4 => {
                if let Ok(f) = registry.gauge_f64_vec((family, help), &l) {
                    let x = odd_float(input);
                    let _ = f.with(&v, |g| g.set(x));
                }
            }
            5 => {
                let bounds = (0..input.below(4)).map(|_| odd_float(input)).collect();
                if let Ok(b) = Buckets::new(bounds)
                    && let Ok(f) = registry.histogram_vec((family, help), b, &l)
                {
                    for _ in 0..input.below(4) {
                        let x = odd_float(input);
                        let _ = f.with(&v, |h| h.observe(x));
                    }
                }
            }
            6 => {
                let pairs: Vec<(&str, &str)> = l.iter().copied().zip(v.iter().copied()).collect();
                let _ = registry.info((family, help), &pairs);
            }
            7 => {
                let states: Vec<String> = (0..1 + input.below(3)).map(|_| name(input)).collect();
                if let Ok(s) = registry.state_set((family, help), &refs(&states)) {
                    let _ = s.set(&states[input.below(states.len())]);
                }
            }
            _ => {
                if registry.unregister(&family) {
                    // Its handles count nowhere now.
                    counters.retain(|c: &CounterFamily| c.name != family);
                }
            }
        }
    }
    Fuzzed { registry, counters }
}
