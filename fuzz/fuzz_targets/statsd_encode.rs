//! Builds a registry from arbitrary bytes (`hotmetrics_fuzz::registry`),
//! encodes it with the StatsD sink (`Sink::encode`; the UDP socket is
//! never written to), plain or DogStatsD, with a prefix or not, in small
//! or default-sized datagrams, and checks: every datagram is at most the
//! packet size, not empty, and `payload.samples` is its count of values;
//! every line is `name:value|type` (DogStatsD: `[|#tag:value,...]`), its
//! name and tags in the dialect's documented alphabet (no `:|@#,` or
//! newline where they would cut it), its value a finite number, its type
//! `c` or `g`; so no line is split across datagrams. Then it bumps
//! counters (new series too), encodes again and checks that the second
//! export is exactly one `|c` line per counter series that grew, carrying
//! the growth of its total (dropped only when longer than a datagram),
//! and that the growths add up to the increments made in between.
//!
//! ```sh
//! cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run statsd_encode -- -max_total_time=60
//! ```
#![no_main]

use hotmetrics::export::{Batch, Sink};
use hotmetrics::statsd::{DEFAULT_UDP_PACKET_SIZE, Dialect, StatsdSink};
use hotmetrics::{FamilyDesc, LabelSet, MetricVisitor, Number, SeriesValue};
use hotmetrics_fuzz::Input;
use hotmetrics_fuzz::registry::{self, Counters, label_values, name, odd_float};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

/// Each character outside `keep` as `_` (the crate's documented
/// sanitising, one `_` per character).
fn sanitise(out: &mut String, s: &str, keep: fn(char) -> bool) {
    out.extend(s.chars().map(|c| if keep(c) { c } else { '_' }));
}

fn is_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.')
}
fn is_plain_part(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}
fn is_tag_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}
fn is_tag_value(c: char) -> bool {
    is_tag_name(c) || c == ':'
}

/// A number as the crate documents: integers as integers, other floats
/// in their shortest round-tripping form.
fn number(n: Number) -> String {
    match n {
        Number::UInt(v) => v.to_string(),
        Number::Int(v) => v.to_string(),
        Number::Float(v) if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 => {
            (v as i64).to_string()
        }
        Number::Float(v) => ryu::Buffer::new().format_finite(v).to_owned(),
    }
}

/// The counter series of a registry: identity, line name and tags, total.
struct Counted<'a> {
    dialect: Dialect,
    prefix: &'a str,
    family: String,
    out: HashMap<Identity, (String, Number)>,
}

/// A series: its family's name and its label pairs.
type Identity = (String, Vec<(String, String)>);

impl MetricVisitor for Counted<'_> {
    fn begin_family(&mut self, family: &FamilyDesc<'_>) {
        self.family = family.name.to_owned();
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        let SeriesValue::Counter { value, .. } = *value else {
            return;
        };
        let mut pairs = Vec::new();
        let mut line = String::new();
        if !self.prefix.is_empty() {
            sanitise(&mut line, self.prefix, is_name);
            line.push('.');
        }
        sanitise(&mut line, &self.family, is_name);
        let mut tags = String::new();
        labels.for_each(&mut |n, v| {
            pairs.push((n.to_owned(), v.to_owned()));
            if v.is_empty() {
                return;
            }
            match self.dialect {
                Dialect::Plain => {
                    line.push('.');
                    sanitise(&mut line, n, is_plain_part);
                    line.push('.');
                    sanitise(&mut line, v, is_plain_part);
                }
                _ => {
                    if !tags.is_empty() {
                        tags.push(',');
                    }
                    sanitise(&mut tags, n, is_tag_name);
                    tags.push(':');
                    sanitise(&mut tags, v, is_tag_value);
                }
            }
        });
        if !tags.is_empty() {
            tags.insert_str(0, "|#");
        }
        let identity = (self.family.clone(), pairs);
        self.out
            .insert(identity, (format!("{line}:{{}}|c{tags}"), value));
    }
}

fn counters(
    registry: &hotmetrics::Registry,
    dialect: Dialect,
    prefix: &str,
) -> HashMap<Identity, (String, Number)> {
    let mut c = Counted {
        dialect,
        prefix,
        family: String::new(),
        out: HashMap::new(),
    };
    registry.visit(&mut c);
    c.out
}

fn all(s: &str, keep: fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(keep)
}

/// Checks one line's grammar.
fn check_line(line: &str, dialect: Dialect) {
    let (name, rest) = line
        .split_once(':')
        .unwrap_or_else(|| panic!("no ':' in {line:?}"));
    let name_ok = match dialect {
        Dialect::Plain => all(name, |c| is_plain_part(c) || c == '.'),
        _ => all(name, is_name),
    };
    assert!(name_ok, "bad name in {line:?}");
    let mut parts = rest.split('|');
    let value = parts.next().unwrap_or("");
    assert!(
        all(value, |c| c.is_ascii_digit()
            || matches!(c, '-' | '.' | 'e'))
            && value.parse::<f64>().is_ok_and(f64::is_finite),
        "bad value in {line:?}"
    );
    let kind = parts.next();
    assert!(matches!(kind, Some("c" | "g")), "bad type in {line:?}");
    if let Some(tags) = parts.next() {
        assert!(
            dialect == Dialect::DogStatsd,
            "tags in plain StatsD: {line:?}"
        );
        let tags = tags
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("bad tags in {line:?}"));
        for tag in tags.split(',') {
            let (n, v) = tag
                .split_once(':')
                .unwrap_or_else(|| panic!("bad tag in {line:?}"));
            assert!(
                all(n, is_tag_name) && all(v, is_tag_value),
                "bad tag in {line:?}"
            );
        }
    }
    assert!(parts.next().is_none(), "too many fields in {line:?}");
}

/// Checks the datagrams of one export; returns their lines.
fn check_batch(batch: &Batch, dialect: Dialect, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for p in batch.payloads() {
        assert!(
            !p.bytes.is_empty() && p.bytes.len() <= max,
            "a {}-byte datagram, max {max}",
            p.bytes.len()
        );
        let text = std::str::from_utf8(&p.bytes).expect("datagrams are ASCII");
        let mine: Vec<&str> = text.split('\n').collect();
        let mut values = mine.len() as u64;
        for (i, line) in mine.iter().enumerate() {
            check_line(line, dialect);
            // A plain negative gauge goes as a reset to 0 and the value:
            // one value, two lines.
            if let (Dialect::Plain, Some(next)) = (dialect, mine.get(i + 1))
                && let Some(name) = line.strip_suffix(":0|g")
                && next
                    .strip_prefix(name)
                    .is_some_and(|r| r.starts_with(":-") && r.ends_with("|g"))
            {
                values -= 1;
            }
        }
        assert_eq!(p.samples, values, "payload.samples in {text:?}");
        lines.extend(mine.into_iter().map(str::to_owned));
    }
    lines
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let dialect = if input.one_in(2) {
        Dialect::DogStatsd
    } else {
        Dialect::Plain
    };
    let max = if input.one_in(2) {
        DEFAULT_UDP_PACKET_SIZE
    } else {
        1 + input.below(120)
    };
    let prefix = if input.one_in(3) {
        name(&mut input)
    } else {
        String::new()
    };
    let fuzzed = registry::build(&mut input);
    let mut builder = StatsdSink::udp("127.0.0.1:9")
        .dialect(dialect)
        .prefix(&prefix);
    if max != DEFAULT_UDP_PACKET_SIZE || input.one_in(2) {
        builder = builder.max_packet_size(max);
    }
    let mut sink = builder.build().expect("a loopback sink builds");

    let mut batch = Batch::default();
    sink.encode(&fuzzed.registry, &mut batch).expect("encodes");
    check_batch(&batch, dialect, max);
    let before = counters(&fuzzed.registry, dialect, &prefix);

    // Bump counters, new series included.
    let (mut int_incs, mut float_incs) = (0u64, 0f64);
    let mut float_ops = 0u32;
    while !input.is_empty() && !fuzzed.counters.is_empty() {
        let c = &fuzzed.counters[input.below(fuzzed.counters.len())];
        let values = label_values(&mut input, c.labels.len());
        let v: Vec<&str> = values.iter().map(String::as_str).collect();
        match &c.family {
            Counters::Int(f) => {
                let n = u64::from(input.byte());
                if f.with(&v, |c| c.inc_by(n)).is_ok() {
                    int_incs += n;
                }
            }
            Counters::Float(f) => {
                let x = if input.one_in(2) {
                    f64::from(input.byte()) / 4.0
                } else {
                    odd_float(&mut input)
                };
                if f.with(&v, |c| c.inc_by(x)).is_ok_and(|r| r.is_ok()) {
                    float_incs += x;
                    float_ops += 1;
                }
            }
        }
    }
    let after = counters(&fuzzed.registry, dialect, &prefix);

    let mut batch = Batch::default();
    sink.encode(&fuzzed.registry, &mut batch).expect("encodes");
    let mut sent = check_batch(&batch, dialect, max);

    // What each counter series' growth makes, if it fits a datagram.
    let (mut int_growth, mut float_growth, mut float_scale) = (0u64, 0f64, 0f64);
    let mut want = Vec::new();
    for (identity, (line, now)) in &after {
        let last = before.get(identity).map(|(_, n)| *n);
        let delta = match (last, *now) {
            (Some(Number::UInt(l)), Number::UInt(n)) => {
                Number::UInt(if n >= l { n - l } else { n })
            }
            (None, n) => n,
            (Some(l), n) => {
                let (l, n) = (l.as_f64(), n.as_f64());
                Number::Float(if n >= l { n - l } else { n })
            }
        };
        match delta {
            Number::UInt(d) => int_growth += d,
            Number::Float(d) if d.is_finite() => {
                float_growth += d;
                float_scale += now.as_f64().abs();
            }
            _ => {}
        }
        let zero =
            matches!(delta, Number::UInt(0)) || matches!(delta, Number::Float(d) if d == 0.0);
        let finite = !matches!(delta, Number::Float(d) if !d.is_finite())
            && !matches!(now, Number::Float(n) if !n.is_finite());
        if zero || !finite {
            continue;
        }
        let text = line.replacen("{}", &number(delta), 1);
        if text.len() <= max {
            want.push(text);
        }
    }
    want.sort();
    sent.sort();
    assert_eq!(sent, want, "the second export is the counters' growth");
    assert_eq!(
        int_growth, int_incs,
        "integer counters grew by the increments"
    );
    let infinite = after.values().any(|(_, n)| !n.as_f64().is_finite());
    if !infinite && float_incs.is_finite() && float_scale.is_finite() {
        let tolerance =
            4.0 * f64::from(float_ops + 1) * f64::EPSILON * float_scale.max(float_incs.abs());
        assert!(
            (float_growth - float_incs).abs() <= tolerance.max(f64::MIN_POSITIVE),
            "float counters grew by {float_growth}, increments {float_incs}"
        );
    }
});
