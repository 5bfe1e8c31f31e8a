//! A third-party exposition format written against the facade's public API
//! only, as a user's own exporter crate would be: JSON Lines, one object
//! per series. Python's `json` module (a parser nobody on this team wrote)
//! reads what it writes, and every value matches the registry's snapshot.

use std::io::Write;
use std::process::{Command, Stdio};

use bytes::{BufMut, BytesMut};
use hotmetrics::exposition::ScrapeEncoder;
use hotmetrics::{
    Encoder, FamilyDesc, LabelSet, MetricSource, MetricVisitor, Number, SeriesValue, ValueSnapshot,
};
use hotmetrics_tests::fixture;

/// `{"name":..,"type":..,"labels":{..},"value":..}` per series; histograms
/// and summaries carry `{"count":..,"sum":..}`, state sets one object per
/// state. Non-finite floats are strings (`"NaN"`, `"+Inf"`), as JSON has
/// none.
#[derive(Debug, Default)]
struct JsonLinesEncoder {
    family: String,
    metric_type: &'static str,
    value_suffix: &'static str,
}

struct Lines<'a> {
    enc: &'a mut JsonLinesEncoder,
    out: &'a mut BytesMut,
    series: usize,
}

fn put_json_string(out: &mut BytesMut, s: &str) {
    out.put_u8(b'"');
    for c in s.chars() {
        match c {
            '"' => out.put_slice(b"\\\""),
            '\\' => out.put_slice(b"\\\\"),
            c if u32::from(c) < 0x20 => {
                out.put_slice(format!("\\u{:04x}", u32::from(c)).as_bytes())
            }
            c => out.put_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out.put_u8(b'"');
}

fn put_json_number(out: &mut BytesMut, n: Number) {
    match n {
        Number::Float(v) if !v.is_finite() => {
            let text = if v.is_nan() {
                "NaN"
            } else if v > 0.0 {
                "+Inf"
            } else {
                "-Inf"
            };
            put_json_string(out, text);
        }
        Number::Float(v) => out.put_slice(format!("{v:?}").as_bytes()),
        Number::UInt(v) => out.put_slice(v.to_string().as_bytes()),
        Number::Int(v) => out.put_slice(v.to_string().as_bytes()),
    }
}

impl Lines<'_> {
    fn object(
        &mut self,
        labels: &dyn LabelSet,
        extra: Option<(&str, &str)>,
        value: impl FnOnce(&mut BytesMut),
    ) {
        self.out.put_slice(b"{\"name\":");
        let name = format!("{}{}", self.enc.family, self.enc.value_suffix);
        put_json_string(self.out, &name);
        self.out.put_slice(b",\"type\":");
        put_json_string(self.out, self.enc.metric_type);
        self.out.put_slice(b",\"labels\":{");
        let mut first = true;
        let out = &mut *self.out;
        let mut pair = |n: &str, v: &str| {
            if !std::mem::take(&mut first) {
                out.put_u8(b',');
            }
            put_json_string(out, n);
            out.put_u8(b':');
            put_json_string(out, v);
        };
        labels.for_each(&mut pair);
        if let Some((n, v)) = extra {
            pair(n, v);
        }
        self.out.put_slice(b"},\"value\":");
        value(self.out);
        self.out.put_slice(b"}\n");
    }
}

impl MetricVisitor for Lines<'_> {
    fn begin_family(&mut self, family: &FamilyDesc<'_>) {
        self.enc.family.clear();
        self.enc.family.push_str(family.name);
        self.enc.metric_type = family.metric_type.name();
        self.enc.value_suffix = family.metric_type.value_suffix();
    }

    fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
        self.series += 1;
        match *value {
            SeriesValue::Counter { value, .. }
            | SeriesValue::Gauge(value)
            | SeriesValue::Unknown(value) => {
                self.object(labels, None, |out| put_json_number(out, value));
            }
            SeriesValue::Info => self.object(labels, None, |out| out.put_u8(b'1')),
            SeriesValue::StateSet(states) => {
                let family = self.enc.family.clone();
                for &(state, on) in states {
                    self.object(labels, Some((&family, state)), |out| {
                        out.put_u8(b'0' + u8::from(on))
                    });
                }
            }
            SeriesValue::Histogram(h) => self.object(labels, None, |out| {
                out.put_slice(format!("{{\"count\":{},\"sum\":", h.count).as_bytes());
                put_json_number(out, Number::Float(h.sum));
                out.put_u8(b'}');
            }),
            SeriesValue::Summary(s) => self.object(labels, None, |out| {
                out.put_slice(format!("{{\"count\":{},\"sum\":", s.count).as_bytes());
                put_json_number(out, Number::Float(s.sum));
                out.put_u8(b'}');
            }),
        }
    }
}

impl Encoder for JsonLinesEncoder {
    fn content_type(&self) -> &'static str {
        "application/x-ndjson"
    }

    fn encode(&mut self, source: &dyn MetricSource, out: &mut BytesMut) -> usize {
        let mut lines = Lines {
            enc: self,
            out,
            series: 0,
        };
        source.visit(&mut lines);
        lines.series
    }
}

/// Each JSON line as Python reads it, canonicalised to
/// `name|type|k=v,...|value` with labels sorted.
fn python_reads(body: &[u8]) -> Vec<String> {
    let script = r#"
import json, sys
for line in sys.stdin.buffer.read().decode("utf-8").splitlines():
    o = json.loads(line)
    labels = ",".join(f"{k}={v!r}" for k, v in sorted(o["labels"].items()))
    v = o["value"]
    if isinstance(v, dict):
        v = f"count={v['count']},sum={float(v['sum'])!r}"
    else:
        v = repr(float(v))
    print(f"{o['name']}|{o['type']}|{labels}|{v}")
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (./test.sh --setup installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "python3 could not read the JSON lines: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `repr(float(x))` as Python prints it, for the finite and special values
/// the fixture holds.
fn py_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        let s = format!("{v:?}");
        // Python writes the exponent signed and with two digits at least
        // (1e+16, 1e-07) where Rust writes 1e16 and 1e-7.
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    }
}

#[test]
fn python_float_spelling() {
    for (v, want) in [
        (1e16, "1e+16"),
        (1e-7, "1e-07"),
        (1.5e-10, "1.5e-10"),
        (0.25, "0.25"),
        (-3.0, "-3.0"),
    ] {
        assert_eq!(py_float(v), want);
    }
}

/// The same canonical lines, from the registry's snapshot.
fn expected(registry: &hotmetrics::Registry) -> Vec<String> {
    let mut lines = Vec::new();
    for family in registry.snapshot().families {
        let suffix = family.metric_type.value_suffix();
        let ty = family.metric_type.name();
        for series in &family.series {
            let line = |extra: Option<(&str, &str)>, value: String| {
                let mut labels: Vec<(String, String)> = series.labels.clone();
                labels.extend(extra.map(|(n, v)| (n.to_owned(), v.to_owned())));
                labels.sort();
                let labels: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}={}", py_repr(v)))
                    .collect();
                format!("{}{suffix}|{ty}|{}|{value}", family.name, labels.join(","))
            };
            match &series.value {
                ValueSnapshot::Counter(v) | ValueSnapshot::Gauge(v) | ValueSnapshot::Unknown(v) => {
                    lines.push(line(None, py_float(*v)));
                }
                ValueSnapshot::Info => lines.push(line(None, "1.0".into())),
                ValueSnapshot::StateSet(states) => {
                    for (state, on) in states {
                        lines.push(line(
                            Some((&family.name, state)),
                            py_float(f64::from(u8::from(*on))),
                        ));
                    }
                }
                ValueSnapshot::Histogram { count, sum, .. }
                | ValueSnapshot::Summary { count, sum, .. } => {
                    lines.push(line(None, format!("count={count},sum={}", py_float(*sum))));
                }
            }
        }
    }
    lines
}

/// Python's `repr` of a string, for the label values the fixture holds
/// (ASCII, quotes, backslashes, newlines and non-ASCII letters).
fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[test]
fn a_custom_format_reads_back_exactly_in_python() {
    let registry = fixture::registry();
    let mut encoder = JsonLinesEncoder::default();
    let mut body = BytesMut::new();
    // Through the seam, as ScrapeEncoder hands out the built-in formats.
    let format: &mut dyn Encoder = &mut encoder;
    assert_eq!(format.content_type(), "application/x-ndjson");
    let series = format.encode(&registry, &mut body);
    let read = python_reads(&body);
    assert_eq!(read, expected(&registry));
    // Every series of the snapshot came through (state sets once each).
    let want: usize = registry
        .snapshot()
        .families
        .iter()
        .map(|f| f.series.len())
        .sum();
    assert_eq!(series, want);
    // Reused buffers give the same bytes.
    let first = body.clone();
    body.clear();
    format.encode(&registry, &mut body);
    assert_eq!(body, first);
}

#[test]
fn built_in_formats_go_through_the_same_seam() {
    let registry = fixture::registry();
    let mut scrape = ScrapeEncoder::new();
    for &format in hotmetrics::exposition::Format::available() {
        let encoder = scrape.encoder(format);
        assert_eq!(encoder.content_type(), format.content_type());
        let mut body = BytesMut::new();
        assert!(encoder.encode(&registry, &mut body) > 0, "{format:?}");
    }
}
