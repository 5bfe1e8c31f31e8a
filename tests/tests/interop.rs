//! Our output read by tools nobody on this team wrote: `promtool check
//! metrics`, Python's `prometheus_client` parsers (the OpenMetrics one is
//! strict), and `protoc` with client_model's `metrics.proto`. Each tool's
//! reading is normalized to the same lines (family metadata, then samples
//! with sorted labels and `le`/`quantile` spelled as numbers) and compared
//! with what the registry holds, and the formats with each other.
//!
//! A missing tool fails the test (never skips it): `./test.sh --setup`
//! installs them all.

use hotmetrics::{
    Buckets, Collector, Described, FamilyDesc, FamilySnapshot, LabelSet, MetricType, MetricVisitor,
    Number, Opts, Registry, SeriesSnapshot, SeriesValue, SummaryValue, ValueSnapshot,
};
use hotmetrics_tests::{fixture, proto};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// ---------------------------------------------------------------------------
// Running the tools

const SETUP: &str = "run `./test.sh --setup` (as root, on Debian) to install it";

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Runs `cmd` with `input` on stdin; a tool that cannot be started fails the
/// test with instructions.
fn run(cmd: &mut Command, input: &[u8], what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what} ({e}): {SETUP}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    // Write from a thread: the tool may fill its stdout before reading all.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait for the tool");
    writer
        .join()
        .expect("stdin writer")
        .unwrap_or_else(|e| panic!("writing to {what}: {e}"));
    out
}

fn text_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    OpenMetrics,
}

/// Parses every document with one Python process; per document, the
/// families read or the parser's error.
fn python_parse(docs: &[(Format, &[u8])]) -> Vec<Result<Vec<Fam>, String>> {
    let mut input = Vec::new();
    for (format, doc) in docs {
        let name = match format {
            Format::Text => "text",
            Format::OpenMetrics => "om",
        };
        input.extend_from_slice(format!("{name} {}\n", doc.len()).as_bytes());
        input.extend_from_slice(doc);
    }
    let script = interop_dir().join("parse.py");
    let out = run(
        Command::new("python3").arg(&script),
        &input,
        "python3 with prometheus_client",
    );
    assert!(
        out.status.success(),
        "{} failed ({}); if prometheus_client is missing, {SETUP}:\n{}",
        script.display(),
        out.status,
        text_of(&out)
    );
    let stdout = String::from_utf8(out.stdout).expect("parse.py prints UTF-8");
    let mut results: Vec<Result<Vec<Fam>, String>> = Vec::new();
    for line in stdout.split('\n').filter(|l| !l.is_empty()) {
        if line.starts_with("=doc ") {
            results.push(Ok(Vec::new()));
            continue;
        }
        let current = results.last_mut().expect("a =doc line comes first");
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["!", err] => *current = Err(unescape(err)),
            ["F", name, ty, unit, help] => current.as_mut().expect("no error yet").push(Fam {
                name: name.to_string(),
                ty: ty.to_string(),
                unit: unit.to_string(),
                help: unescape(help),
                samples: Vec::new(),
            }),
            ["S", name, labels, value] => {
                let fam = current
                    .as_mut()
                    .expect("no error yet")
                    .last_mut()
                    .expect("a family before its samples");
                fam.samples.push(Sample {
                    name: name.to_string(),
                    labels: parse_labels(labels),
                    value: value
                        .parse()
                        .unwrap_or_else(|_| panic!("value in {line:?}")),
                });
            }
            _ => panic!("unexpected line from parse.py: {line:?}"),
        }
    }
    assert_eq!(
        results.len(),
        docs.len(),
        "parse.py answered every document"
    );
    results
}

fn promtool(text: &[u8]) -> Output {
    run(
        Command::new("promtool").args(["check", "metrics"]),
        text,
        "promtool (Debian package `prometheus`)",
    )
}

/// The first path a Debian package installed that ends in `suffix`.
fn dpkg_file(package: &str, suffix: &str) -> PathBuf {
    let out = Command::new("dpkg")
        .args(["-L", package])
        .output()
        .unwrap_or_else(|e| panic!("cannot run dpkg ({e}); {SETUP}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.ends_with(suffix))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{package} does not provide {suffix}: {SETUP}"))
}

/// Include root of `file` that ends in `relative`.
fn include_root(file: &Path, relative: &str) -> PathBuf {
    let s = file.to_str().expect("UTF-8 path");
    PathBuf::from(s.strip_suffix(relative).expect("suffix"))
}

/// A length prefix: (value, bytes it took).
fn varint(bytes: &[u8]) -> (usize, usize) {
    let (mut value, mut shift) = (0usize, 0u32);
    for (i, b) in bytes.iter().enumerate() {
        value |= usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    panic!("truncated length varint");
}

/// Decodes a delimited stream with `protoc --decode` against Debian's
/// client_model `metrics.proto`.
fn protoc_decode(pb: &[u8]) -> Vec<proto::MetricFamily> {
    protoc_decode_many(&[pb]).remove(0)
}

/// Decodes many delimited streams with one `protoc` process: each message
/// becomes field 1 of the wrapper `hotmetrics.interop.Families`
/// (tests/interop/families.proto), then the families are dealt back out.
fn protoc_decode_many(streams: &[&[u8]]) -> Vec<Vec<proto::MetricFamily>> {
    let metrics = "io/prometheus/client/metrics.proto";
    let timestamp = "google/protobuf/timestamp.proto";
    let client_model = include_root(
        &dpkg_file("golang-github-prometheus-client-model-dev", metrics),
        metrics,
    );
    let well_known = include_root(&dpkg_file("libprotobuf-dev", timestamp), timestamp);
    let mut wrapped = Vec::new();
    let mut counts = Vec::new();
    for pb in streams {
        let mut rest = *pb;
        let mut count = 0;
        while !rest.is_empty() {
            let (len, used) = varint(rest);
            assert!(
                rest.len() >= used + len,
                "truncated message in the protobuf output"
            );
            wrapped.push(0x0a); // field 1, length-delimited
            wrapped.extend_from_slice(&rest[..used + len]);
            rest = &rest[used + len..];
            count += 1;
        }
        counts.push(count);
    }
    let out = run(
        Command::new("protoc")
            .arg("--decode=hotmetrics.interop.Families")
            .arg("-I")
            .arg(interop_dir())
            .arg("-I")
            .arg(&client_model)
            .arg("-I")
            .arg(&well_known)
            .arg("families.proto"),
        &wrapped,
        "protoc (Debian package `protobuf-compiler`)",
    );
    assert!(
        out.status.success(),
        "protoc could not decode our protobuf output ({}):\n{}",
        out.status,
        text_of(&out)
    );
    let text = String::from_utf8(out.stdout).expect("protoc prints text format in ASCII");
    let mut families = families_from_protoc(&text).into_iter();
    let dealt: Vec<Vec<proto::MetricFamily>> = counts
        .iter()
        .map(|n| families.by_ref().take(*n).collect())
        .collect();
    assert!(
        families.next().is_none(),
        "protoc read more families than we wrote"
    );
    dealt
}

// ---------------------------------------------------------------------------
// What a tool read, normalized

/// A family as a parser reports it.
#[derive(Clone, Debug, PartialEq)]
struct Fam {
    name: String,
    ty: String,
    unit: String,
    help: String,
    samples: Vec<Sample>,
}

#[derive(Clone, Debug, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

fn fmt_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else {
        format!("{v:?}")
    }
}

/// Backslash, quote, newline, CR and tab escaped (as parse.py does).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(c) => out.push(c),
            None => panic!("dangling backslash in {s:?}"),
        }
    }
    out
}

/// `k="v",...` as parse.py prints labels.
fn parse_labels(s: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect("label name");
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.expect("closing quote");
        labels.push((name.to_owned(), unescape(&after[..end])));
        rest = after[end + 1..]
            .strip_prefix(',')
            .unwrap_or(&after[end + 1..]);
    }
    labels
}

/// One line per family (metadata) followed by its samples, sorted; labels
/// sorted, `le` and `quantile` values spelled as the numbers they are.
fn render(fams: &[Fam]) -> Vec<String> {
    let mut lines = Vec::new();
    for f in fams {
        lines.push(format!(
            "# {} {} unit={:?} help=\"{}\"",
            f.name,
            f.ty,
            f.unit,
            esc(&f.help)
        ));
        let mut samples: Vec<String> = f.samples.iter().map(render_sample).collect();
        samples.sort();
        lines.extend(samples);
    }
    lines
}

fn render_sample(s: &Sample) -> String {
    let mut labels = s.labels.clone();
    labels.sort();
    let labels: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            let v = match (k.as_str(), v.parse::<f64>()) {
                ("le" | "quantile", Ok(f)) => fmt_f64(f),
                _ => esc(v),
            };
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{}{{{}}} {}", s.name, labels.join(","), fmt_f64(s.value))
}

/// A line diff (longest common subsequence), changed lines with two lines
/// of context; `None` when equal.
fn diff(expected: &[String], actual: &[String]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let (n, m) = (expected.len(), actual.len());
    // lcs[i][j]: common subsequence length of expected[i..] and actual[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            ops.push((' ', &expected[i]));
            (i, j) = (i + 1, j + 1);
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', &expected[i]));
            i += 1;
        } else {
            ops.push(('+', &actual[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        ops[k.saturating_sub(2)..(k + 3).min(ops.len())]
            .iter()
            .any(|o| o.0 != ' ')
    };
    let mut out = String::from("(- expected, + actual)\n");
    let mut skipped = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if near_change(k) {
            out.push_str(&format!("{op} {line}\n"));
            skipped = false;
        } else if !skipped {
            out.push_str("  ...\n");
            skipped = true;
        }
    }
    Some(out)
}

/// Panics with a readable diff when the two renderings differ.
fn assert_same(what: &str, expected: &[String], actual: &[String]) {
    if let Some(d) = diff(expected, actual) {
        panic!("{what}: {d}");
    }
}

// ---------------------------------------------------------------------------
// What the registry holds, and what each format should say about it

fn model(registry: &Registry) -> Vec<FamilySnapshot> {
    registry.snapshot().families
}

/// What a parser of `format` should report for `model`: the Python parsers'
/// view (0.0.4 counters lose `_total` in the family name, untyped reads as
/// unknown, 0.0.4 has no units, info and state sets are 0.0.4 gauges).
fn expected(model: &[FamilySnapshot], format: Format) -> Vec<Fam> {
    let om = format == Format::OpenMetrics;
    model
        .iter()
        .map(|f| {
            let n = &f.name;
            let (name, ty) = match (f.metric_type, om) {
                (MetricType::Counter, _) => (n.clone(), "counter"),
                (MetricType::Gauge, _) => (n.clone(), "gauge"),
                (MetricType::Histogram, _) => (n.clone(), "histogram"),
                (MetricType::Summary, _) => (n.clone(), "summary"),
                (MetricType::Unknown, _) => (n.clone(), "unknown"),
                (MetricType::Info, true) => (n.clone(), "info"),
                (MetricType::Info, false) => (format!("{n}_info"), "gauge"),
                (MetricType::StateSet, true) => (n.clone(), "stateset"),
                (MetricType::StateSet, false) => (n.clone(), "gauge"),
            };
            let mut samples = Vec::new();
            for SeriesSnapshot {
                labels,
                value,
                created,
            } in &f.series
            {
                let mut push = |suffix: &str, extra: Option<(&str, String)>, value: f64| {
                    let mut labels = labels.clone();
                    if let Some((k, v)) = extra {
                        labels.push((k.to_owned(), v));
                    }
                    samples.push(Sample {
                        name: format!("{n}{suffix}"),
                        labels,
                        value,
                    });
                };
                match value {
                    ValueSnapshot::Counter(v) => {
                        push("_total", None, *v);
                        if let (true, Some(c)) = (om, created) {
                            push("_created", None, *c);
                        }
                    }
                    ValueSnapshot::Gauge(v) | ValueSnapshot::Unknown(v) => push("", None, *v),
                    ValueSnapshot::Info => push("_info", None, 1.0),
                    ValueSnapshot::StateSet(states) => {
                        for (state, on) in states {
                            push("", Some((n, state.clone())), f64::from(u8::from(*on)));
                        }
                    }
                    ValueSnapshot::Histogram {
                        upper_bounds: bounds,
                        bucket_counts: counts,
                        count,
                        sum,
                    } => {
                        let mut cumulative = 0;
                        for (i, c) in counts.iter().enumerate() {
                            cumulative += c;
                            let le = bounds.get(i).copied().unwrap_or(f64::INFINITY);
                            push("_bucket", Some(("le", fmt_f64(le))), cumulative as f64);
                        }
                        // OpenMetrics: "Negative threshold buckets MAY be
                        // used, but then the Histogram MetricPoint MUST NOT
                        // contain a sum value"; and no _count without _sum.
                        let counter_like =
                            !(*sum < 0.0 || sum.is_nan()) && bounds.iter().all(|b| *b >= 0.0);
                        if !om || counter_like {
                            push("_sum", None, *sum);
                            push("_count", None, *count as f64);
                        }
                        if let (true, Some(c)) = (om, created) {
                            push("_created", None, *c);
                        }
                    }
                    ValueSnapshot::Summary {
                        quantiles,
                        count,
                        sum,
                    } => {
                        for (q, v) in quantiles {
                            push("", Some(("quantile", fmt_f64(*q))), *v);
                        }
                        push("_sum", None, *sum);
                        push("_count", None, *count as f64);
                        if let (true, Some(c)) = (om, created) {
                            push("_created", None, *c);
                        }
                    }
                }
            }
            Fam {
                name,
                ty: ty.to_owned(),
                unit: if om {
                    f.unit.clone().unwrap_or_default()
                } else {
                    String::new()
                },
                help: f.help.clone(),
                samples,
            }
        })
        .collect()
}

/// The families that have samples: the protobuf encoder leaves out families
/// without series, as Go's client does (`NormalizeMetricFamilies`); the
/// text formats keep their metadata.
fn non_empty(fams: &[Fam]) -> Vec<Fam> {
    fams.iter()
        .filter(|f| !f.samples.is_empty())
        .cloned()
        .collect()
}

/// `fams` without `_created` samples (OpenMetrics-only), for comparing
/// OpenMetrics with the formats that lack them.
fn without_created(fams: &[Fam]) -> Vec<Sample> {
    fams.iter()
        .filter(|f| matches!(f.ty.as_str(), "counter" | "histogram" | "summary"))
        .flat_map(|f| {
            let created = format!("{}_created", f.name);
            f.samples.iter().filter(move |s| s.name != created).cloned()
        })
        .chain(
            fams.iter()
                .filter(|f| !matches!(f.ty.as_str(), "counter" | "histogram" | "summary"))
                .flat_map(|f| f.samples.iter().cloned()),
        )
        .collect()
}

fn sorted_samples(samples: &[Sample]) -> Vec<String> {
    let mut lines: Vec<String> = samples.iter().map(render_sample).collect();
    lines.sort();
    lines
}

// ---------------------------------------------------------------------------
// protoc's text format, read back

#[derive(Debug)]
enum Node {
    Scalar(String),
    Bytes(Vec<u8>),
    Message(Vec<(String, Node)>),
}

impl Node {
    fn fields(&self) -> &[(String, Node)] {
        match self {
            Node::Message(f) => f,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        self.fields().iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.fields()
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v)
    }

    fn string(&self, key: &str) -> String {
        match self.get(key) {
            Some(Node::Bytes(b)) => String::from_utf8(b.clone()).expect("UTF-8 string field"),
            None => String::new(),
            Some(other) => panic!("{key}: expected a string, got {other:?}"),
        }
    }

    fn number(&self, key: &str) -> f64 {
        match self.get(key) {
            Some(Node::Scalar(s)) => s.parse().unwrap_or_else(|_| panic!("{key}: number {s:?}")),
            None => 0.0,
            Some(other) => panic!("{key}: expected a number, got {other:?}"),
        }
    }

    fn scalar(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Node::Scalar(s)) => Some(s),
            _ => None,
        }
    }

    fn opt_string(&self, key: &str) -> Option<String> {
        self.get(key).map(|_| self.string(key))
    }

    fn opt_f64(&self, key: &str) -> Option<f64> {
        self.get(key).map(|_| self.number(key))
    }

    fn opt_u64(&self, key: &str) -> Option<u64> {
        self.scalar(key)
            .map(|s| s.parse().unwrap_or_else(|_| panic!("{key}: integer {s:?}")))
    }

    /// A `google.protobuf.Timestamp` that protoc printed as the unknown
    /// field `field` (its fields 1 and 2 unnamed).
    fn timestamp(&self, field: &str) -> Option<proto::Timestamp> {
        let t = self.get(field)?;
        Some(proto::Timestamp {
            seconds: t.scalar("1").map_or(0, |s| s.parse().expect("seconds")),
            nanos: t.scalar("2").map_or(0, |s| s.parse().expect("nanos")),
        })
    }
}

/// Parses protoc's `--decode` output (text format) into a tree.
fn parse_text_format(s: &str) -> Node {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let fields = parse_fields(bytes, &mut pos);
    assert_eq!(pos, bytes.len(), "protoc output parsed to the end");
    Node::Message(fields)
}

fn skip_ws(b: &[u8], pos: &mut usize) {
    while *pos < b.len() && b[*pos].is_ascii_whitespace() {
        *pos += 1;
    }
}

fn parse_fields(b: &[u8], pos: &mut usize) -> Vec<(String, Node)> {
    let mut fields = Vec::new();
    loop {
        skip_ws(b, pos);
        if *pos >= b.len() || b[*pos] == b'}' {
            return fields;
        }
        let key = bare(b, pos);
        skip_ws(b, pos);
        match b[*pos] {
            b'{' => {
                *pos += 1;
                let inner = parse_fields(b, pos);
                assert_eq!(b.get(*pos), Some(&b'}'), "closing brace");
                *pos += 1;
                fields.push((key, Node::Message(inner)));
            }
            b':' => {
                *pos += 1;
                skip_ws(b, pos);
                let value = if b[*pos] == b'"' {
                    let mut bytes = Vec::new();
                    while *pos < b.len() && b[*pos] == b'"' {
                        quoted(b, pos, &mut bytes);
                        skip_ws(b, pos);
                    }
                    Node::Bytes(bytes)
                } else {
                    Node::Scalar(bare(b, pos))
                };
                fields.push((key, value));
            }
            c => panic!("unexpected {:?} at {pos} in protoc output", c as char),
        }
    }
}

fn bare(b: &[u8], pos: &mut usize) -> String {
    let start = *pos;
    while *pos < b.len() && !b[*pos].is_ascii_whitespace() && !b":{}\"".contains(&b[*pos]) {
        *pos += 1;
    }
    assert!(*pos > start, "token expected at {start}");
    String::from_utf8(b[start..*pos].to_vec()).expect("ASCII token")
}

/// A C-escaped string (octal and hex escapes are bytes).
fn quoted(b: &[u8], pos: &mut usize, out: &mut Vec<u8>) {
    *pos += 1;
    loop {
        let c = b[*pos];
        *pos += 1;
        match c {
            b'"' => return,
            b'\\' => {
                let e = b[*pos];
                *pos += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            if matches!(b[*pos], b'0'..=b'7') {
                                v = v * 8 + u32::from(b[*pos] - b'0');
                                *pos += 1;
                            }
                        }
                        out.push(u8::try_from(v).expect("octal escape is a byte"));
                    }
                    b'x' => {
                        let mut v = 0u32;
                        while b[*pos].is_ascii_hexdigit() {
                            v = v * 16 + (b[*pos] as char).to_digit(16).expect("hex");
                            *pos += 1;
                        }
                        out.push(u8::try_from(v).expect("hex escape is a byte"));
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
    }
}

/// protoc's reading as prost structs. Debian's metrics.proto predates
/// `created_timestamp` (Counter 3, Summary 4, Histogram 15) and `unit`
/// (MetricFamily 5): protoc prints them as unknown numbered fields, read here.
fn families_from_protoc(decoded: &str) -> Vec<proto::MetricFamily> {
    let root = parse_text_format(decoded);
    root.all("family")
        .map(|f| proto::MetricFamily {
            name: f.opt_string("name"),
            help: f.opt_string("help"),
            r#type: f.scalar("type").map(|t| {
                use proto::MetricType as T;
                let t = match t {
                    "COUNTER" => T::Counter,
                    "GAUGE" => T::Gauge,
                    "SUMMARY" => T::Summary,
                    "UNTYPED" => T::Untyped,
                    "HISTOGRAM" => T::Histogram,
                    "GAUGE_HISTOGRAM" => T::GaugeHistogram,
                    other => panic!("unknown type {other}"),
                };
                t as i32
            }),
            unit: match f.get("5") {
                Some(Node::Bytes(_)) => f.opt_string("5"),
                Some(other) => panic!("unit printed as {other:?}"),
                None => None,
            },
            metric: f
                .all("metric")
                .map(|m| proto::Metric {
                    label: m
                        .all("label")
                        .map(|l| proto::LabelPair {
                            name: l.opt_string("name"),
                            value: l.opt_string("value"),
                        })
                        .collect(),
                    gauge: m.get("gauge").map(|g| proto::Gauge {
                        value: g.opt_f64("value"),
                    }),
                    untyped: m.get("untyped").map(|g| proto::Untyped {
                        value: g.opt_f64("value"),
                    }),
                    counter: m.get("counter").map(|c| proto::Counter {
                        value: c.opt_f64("value"),
                        created_timestamp: c.timestamp("3"),
                        ..Default::default()
                    }),
                    summary: m.get("summary").map(|s| proto::Summary {
                        sample_count: s.opt_u64("sample_count"),
                        sample_sum: s.opt_f64("sample_sum"),
                        quantile: s
                            .all("quantile")
                            .map(|q| proto::Quantile {
                                quantile: q.opt_f64("quantile"),
                                value: q.opt_f64("value"),
                            })
                            .collect(),
                        created_timestamp: s.timestamp("4"),
                    }),
                    histogram: m.get("histogram").map(|h| proto::Histogram {
                        sample_count: h.opt_u64("sample_count"),
                        sample_sum: h.opt_f64("sample_sum"),
                        bucket: h
                            .all("bucket")
                            .map(|b| proto::Bucket {
                                cumulative_count: b.opt_u64("cumulative_count"),
                                upper_bound: b.opt_f64("upper_bound"),
                                ..Default::default()
                            })
                            .collect(),
                        created_timestamp: h.timestamp("15"),
                        ..Default::default()
                    }),
                    timestamp_ms: m.scalar("timestamp_ms").map(|t| t.parse().expect("ms")),
                })
                .collect(),
        })
        .collect()
}

/// A protobuf reading as the Python 0.0.4 parser would report the same data
/// (`+Inf` bucket restored from `sample_count`), plus the creation times as
/// OpenMetrics `_created` samples.
fn from_protobuf(families: &[proto::MetricFamily]) -> (Vec<Fam>, Vec<Sample>) {
    use proto::MetricType as T;
    let mut fams = Vec::new();
    let mut created = Vec::new();
    for f in families {
        let pb_name = f.name();
        let (name, ty) = match f.r#type() {
            T::Counter => (pb_name.strip_suffix("_total").unwrap_or(pb_name), "counter"),
            T::Gauge => (pb_name, "gauge"),
            T::Summary => (pb_name, "summary"),
            T::Untyped => (pb_name, "unknown"),
            T::Histogram => (pb_name, "histogram"),
            T::GaugeHistogram => panic!("{pb_name}: we write no gauge histograms"),
        };
        let created_name = format!("{name}_created");
        let mut samples = Vec::new();
        for m in &f.metric {
            let labels: Vec<(String, String)> = m
                .label
                .iter()
                .map(|l| (l.name().to_owned(), l.value().to_owned()))
                .collect();
            let mut push = |suffix: &str, extra: Option<(&str, f64)>, value: f64| {
                let mut labels = labels.clone();
                if let Some((k, v)) = extra {
                    labels.push((k.to_owned(), fmt_f64(v)));
                }
                samples.push(Sample {
                    name: format!("{pb_name}{suffix}"),
                    labels,
                    value,
                });
            };
            let mut timestamp = |ts: &Option<proto::Timestamp>| {
                if let Some(ts) = ts {
                    created.push(Sample {
                        name: created_name.clone(),
                        labels: labels.clone(),
                        value: ts.seconds as f64 + f64::from(ts.nanos) / 1e9,
                    });
                }
            };
            let missing = format!("{pb_name}: a {ty} metric without its {ty} field");
            match f.r#type() {
                T::Counter => {
                    let c = m.counter.as_ref().expect(&missing);
                    push("", None, c.value());
                    timestamp(&c.created_timestamp);
                }
                T::Gauge => push("", None, m.gauge.as_ref().expect(&missing).value()),
                T::Untyped => push("", None, m.untyped.as_ref().expect(&missing).value()),
                T::Summary => {
                    let s = m.summary.as_ref().expect(&missing);
                    for q in &s.quantile {
                        push("", Some(("quantile", q.quantile())), q.value());
                    }
                    push("_sum", None, s.sample_sum());
                    push("_count", None, s.sample_count() as f64);
                    timestamp(&s.created_timestamp);
                }
                T::Histogram => {
                    let h = m.histogram.as_ref().expect(&missing);
                    for b in &h.bucket {
                        let count = b.cumulative_count() as f64;
                        push("_bucket", Some(("le", b.upper_bound())), count);
                    }
                    if h.bucket
                        .last()
                        .is_none_or(|b| b.upper_bound() != f64::INFINITY)
                    {
                        let count = h.sample_count() as f64;
                        push("_bucket", Some(("le", f64::INFINITY)), count);
                    }
                    push("_sum", None, h.sample_sum());
                    push("_count", None, h.sample_count() as f64);
                    timestamp(&h.created_timestamp);
                }
                T::GaugeHistogram => unreachable!(),
            }
        }
        fams.push(Fam {
            name: name.to_owned(),
            ty: ty.to_owned(),
            unit: String::new(),
            help: f.help().to_owned(),
            samples,
        });
    }
    (fams, created)
}

/// `<family name> <unit>` for each protobuf family with a unit.
fn protobuf_units(families: &[proto::MetricFamily]) -> Vec<String> {
    families
        .iter()
        .filter_map(|f| Some(format!("{} {}", f.name(), f.unit.as_deref()?)))
        .collect()
}

/// The `_created` samples of an OpenMetrics reading.
fn created_samples(fams: &[Fam]) -> Vec<Sample> {
    fams.iter()
        .flat_map(|f| {
            let created = format!("{}_created", f.name);
            f.samples.iter().filter(move |s| s.name == created).cloned()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The fixture through every tool

#[test]
fn promtool_finds_no_problem_in_the_text_output() {
    let text = fixture::encode_text(&fixture::registry());
    let out = promtool(&text);
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {} \n{}\non:\n{}",
        out.status,
        text_of(&out),
        String::from_utf8_lossy(&text)
    );
}

#[test]
fn python_reads_the_text_output_as_written() {
    let registry = fixture::registry();
    let text = fixture::encode_text(&registry);
    let parsed = python_parse(&[(Format::Text, &text)]).remove(0);
    let parsed = parsed.unwrap_or_else(|e| panic!("prometheus_client.parser: {e}"));
    assert_same(
        "prometheus_client.parser on the 0.0.4 output",
        &render(&expected(&model(&registry), Format::Text)),
        &render(&parsed),
    );
}

#[test]
fn strict_python_parser_accepts_the_openmetrics_output() {
    let registry = fixture::registry();
    let om = fixture::encode_openmetrics(&registry);
    let parsed = python_parse(&[(Format::OpenMetrics, &om)]).remove(0);
    let parsed = parsed.unwrap_or_else(|e| {
        panic!(
            "prometheus_client.openmetrics.parser rejected our output: {e}\n{}",
            String::from_utf8_lossy(&om)
        )
    });
    assert_same(
        "prometheus_client.openmetrics.parser on the OpenMetrics output",
        &render(&expected(&model(&registry), Format::OpenMetrics)),
        &render(&parsed),
    );
}

#[test]
fn protoc_decodes_the_protobuf_output() {
    let registry = fixture::registry();
    let pb = fixture::encode_protobuf(&registry);
    let (fams, created) = from_protobuf(&protoc_decode(&pb));
    let model = model(&registry);
    assert_same(
        "protoc --decode on the protobuf output",
        &render(&non_empty(&expected(&model, Format::Text))),
        &render(&fams),
    );
    assert_same(
        "creation times decoded by protoc",
        &sorted_samples(&created_samples(&expected(&model, Format::OpenMetrics))),
        &sorted_samples(&created),
    );
}

/// Our prost mirror of metrics.proto (tests/src/proto.rs) reads what protoc
/// reads, units included.
#[test]
fn protoc_and_prost_read_the_same() {
    let registry = fixture::registry();
    let pb = fixture::encode_protobuf(&registry);
    let via_protoc = protoc_decode(&pb);
    let via_prost = proto::decode_delimited(&pb).expect("prost decodes our output");
    let (protoc_fams, protoc_created) = from_protobuf(&via_protoc);
    let (prost_fams, prost_created) = from_protobuf(&via_prost);
    assert_same(
        "protoc vs prost",
        &render(&protoc_fams),
        &render(&prost_fams),
    );
    assert_same(
        "creation times: protoc vs prost",
        &sorted_samples(&protoc_created),
        &sorted_samples(&prost_created),
    );
    let units: Vec<String> = model(&registry)
        .iter()
        .filter(|f| !f.series.is_empty())
        .filter_map(|f| {
            let suffix = if f.metric_type == MetricType::Counter {
                "_total"
            } else {
                ""
            };
            Some(format!("{}{suffix} {}", f.name, f.unit.as_deref()?))
        })
        .collect();
    assert_same("units (protoc)", &units, &protobuf_units(&via_protoc));
    assert_same("units (prost)", &units, &protobuf_units(&via_prost));
}

/// The three formats, as three independent readers saw them, agree series
/// by series (no model of ours in between).
#[test]
fn the_formats_agree() {
    let registry = fixture::registry();
    let text = fixture::encode_text(&registry);
    let om = fixture::encode_openmetrics(&registry);
    let pb = fixture::encode_protobuf(&registry);
    let mut parsed = python_parse(&[(Format::Text, &text), (Format::OpenMetrics, &om)]);
    let from_om = parsed
        .pop()
        .expect("two documents")
        .expect("OpenMetrics parses");
    let from_text = parsed.pop().expect("two documents").expect("0.0.4 parses");
    let (from_pb, pb_created) = from_protobuf(&protoc_decode(&pb));

    let text_samples = sorted_samples(&without_created(&from_text));
    assert!(!text_samples.is_empty());
    assert_same(
        "0.0.4 (Python) vs OpenMetrics (Python), _created left out",
        &text_samples,
        &sorted_samples(&without_created(&from_om)),
    );
    assert_same(
        "0.0.4 (Python) vs protobuf (protoc)",
        &text_samples,
        &sorted_samples(
            &from_pb
                .iter()
                .flat_map(|f| f.samples.clone())
                .collect::<Vec<_>>(),
        ),
    );
    assert_same(
        "creation times: OpenMetrics (Python) vs protobuf (protoc)",
        &sorted_samples(&created_samples(&from_om)),
        &sorted_samples(&pb_created),
    );
    let helps = |fams: &[Fam]| -> Vec<String> { fams.iter().map(|f| esc(&f.help)).collect() };
    assert_same(
        "HELP: 0.0.4 vs OpenMetrics",
        &helps(&from_text),
        &helps(&from_om),
    );
    assert_same(
        "HELP: 0.0.4 vs protobuf",
        &helps(&non_empty(&from_text)),
        &helps(&from_pb),
    );
}

/// OpenMetrics 1.0: "Negative threshold buckets MAY be used, but then the
/// Histogram MetricPoint MUST NOT contain a sum value as it would no longer
/// be a counter semantically"; a `_count` without `_sum` is refused too.
#[test]
fn openmetrics_histogram_with_negative_bounds_passes_the_strict_parser() {
    let r = Registry::new();
    let h = r
        .histogram(
            ("outdoor_temperature_celsius", "Air temperature."),
            Buckets::new(vec![-10.0, 0.0, 10.0]).expect("valid bounds"),
        )
        .expect("histogram");
    h.observe(-5.0);
    h.observe(3.0);
    strict_parse_matches_model(&fixture::pinned(r));
}

/// A negative observation makes `_sum` negative, which no counter-like
/// OpenMetrics sample may be.
#[test]
fn openmetrics_histogram_with_negative_sum_passes_the_strict_parser() {
    let r = Registry::new();
    let h = r
        .histogram(
            ("balance_change", "Change per transaction."),
            Buckets::default(),
        )
        .expect("histogram");
    h.observe(-2.5);
    h.observe(0.5);
    strict_parse_matches_model(&fixture::pinned(r));
}

/// A NaN observation (counted in `+Inf`, as Go does) makes `_sum` NaN,
/// which no counter-like OpenMetrics sample may be.
#[test]
fn openmetrics_histogram_with_nan_sum_passes_the_strict_parser() {
    let r = Registry::new();
    let h = r
        .histogram(("reading_seconds", "Time to read."), Buckets::default())
        .expect("histogram");
    h.observe(f64::NAN);
    h.observe(0.5);
    strict_parse_matches_model(&fixture::pinned(r));
}

fn strict_parse_matches_model(registry: &Registry) {
    let om = fixture::encode_openmetrics(registry);
    let parsed = python_parse(&[(Format::OpenMetrics, &om)]).remove(0);
    let parsed = parsed.unwrap_or_else(|e| {
        panic!(
            "prometheus_client.openmetrics.parser rejected our output: {e}\n{}",
            String::from_utf8_lossy(&om)
        )
    });
    assert_same(
        "prometheus_client.openmetrics.parser",
        &render(&expected(&model(registry), Format::OpenMetrics)),
        &render(&parsed),
    );
}

// ---------------------------------------------------------------------------
// Random registries through the external parsers

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
        match rng.below(9) {
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

const RANDOM_REGISTRIES: usize = 200;

fn random_registries() -> Vec<Registry> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..RANDOM_REGISTRIES)
        .map(|i| random_registry(&mut rng, i))
        .collect()
}

/// 200 random registries, each in 0.0.4 and OpenMetrics, through one Python
/// process: every document parses and reads back exactly as the registry
/// holds it, escapes and special floats included.
#[test]
fn random_registries_read_back_exactly_in_python() {
    let registries = random_registries();
    let mut docs = Vec::new();
    for r in &registries {
        docs.push((Format::Text, fixture::encode_text(r)));
        docs.push((Format::OpenMetrics, fixture::encode_openmetrics(r)));
    }
    let refs: Vec<(Format, &[u8])> = docs.iter().map(|(f, d)| (*f, d.as_slice())).collect();
    let parsed = python_parse(&refs);
    let mut failures = Vec::new();
    for (i, ((format, doc), result)) in docs.iter().zip(parsed).enumerate() {
        let want = render(&expected(&model(&registries[i / 2]), *format));
        let outcome = match result {
            Err(e) => Err(format!("parser error: {e}")),
            Ok(fams) => diff(&want, &render(&fams)).map_or(Ok(()), Err),
        };
        if let Err(e) = outcome {
            failures.push(format!(
                "registry {} in {format:?}: {e}\ndocument: {:?}\n",
                i / 2,
                String::from_utf8_lossy(doc)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} documents did not read back; the first ones:\n{}",
        failures.len(),
        docs.len(),
        failures.iter().take(5).cloned().collect::<String>()
    );
}

/// The same random registries' 0.0.4 output through promtool (the Go
/// reference parser): no parse error, no lint beyond missing help.
#[test]
fn promtool_parses_random_registries() {
    let docs: Vec<Vec<u8>> = random_registries()
        .iter()
        .map(fixture::encode_text)
        .collect();
    const CHUNK: usize = RANDOM_REGISTRIES.div_ceil(8);
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = docs
            .chunks(CHUNK)
            .enumerate()
            .map(|(chunk, docs)| {
                s.spawn(move || {
                    let mut failures = Vec::new();
                    for (j, doc) in docs.iter().enumerate() {
                        let out = promtool(doc);
                        let report = text_of(&out);
                        let problems: Vec<&str> = report
                            .lines()
                            .filter(|l| !l.ends_with(" no help text"))
                            .collect();
                        let rc_ok = out.status.success()
                            || (out.status.code() == Some(3) && problems.is_empty());
                        if !rc_ok || !problems.is_empty() {
                            failures.push(format!(
                                "registry {}: {}\n{report}\ndocument: {:?}\n",
                                chunk * CHUNK + j,
                                out.status,
                                String::from_utf8_lossy(doc)
                            ));
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "promtool rejected {} of {} documents:\n{}",
        failures.len(),
        docs.len(),
        failures.iter().take(5).cloned().collect::<String>()
    );
}

/// The same random registries as protobuf, read by protoc (one process for
/// all) and by our prost mirror: values, help, label values and creation
/// times as the registry holds them.
#[test]
fn random_registries_read_back_exactly_from_protobuf() {
    let registries = random_registries();
    let streams: Vec<Vec<u8>> = registries.iter().map(fixture::encode_protobuf).collect();
    let refs: Vec<&[u8]> = streams.iter().map(Vec::as_slice).collect();
    let via_protoc = protoc_decode_many(&refs);
    let mut failures = Vec::new();
    for (i, (registry, pb)) in registries.iter().zip(&streams).enumerate() {
        let model = model(registry);
        let want = render(&non_empty(&expected(&model, Format::Text)));
        let want_created = sorted_samples(&created_samples(&expected(&model, Format::OpenMetrics)));
        let via_prost = match proto::decode_delimited(pb) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("registry {i}: prost: {e}\n"));
                continue;
            }
        };
        for (reader, families) in [("protoc", &via_protoc[i]), ("prost", &via_prost)] {
            let (fams, created) = from_protobuf(families);
            let problem = diff(&want, &render(&fams))
                .or_else(|| diff(&want_created, &sorted_samples(&created)));
            if let Some(d) = problem {
                failures.push(format!("registry {i} read by {reader}: {d}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} protobuf readings of {} registries differ:\n{}",
        failures.len(),
        registries.len(),
        failures.iter().take(5).cloned().collect::<String>()
    );
}
