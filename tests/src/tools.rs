//! The tools nobody on this team wrote, run on our output: `promtool check
//! metrics`, Python's `prometheus_client` parsers (through
//! `tests/interop/parse.py`), and `protoc --decode` with client_model's
//! `metrics.proto`.
//!
//! These are for tests: a tool that is missing or misbehaves panics with
//! what to do about it (`./test.sh --setup` installs them all), so the test
//! fails and is never skipped.

use crate::normalized::{Fam, Sample, parse_labels, unescape};
use crate::parse::Dialect;
use crate::{proto, protoc_text};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

/// A tool's stdout then stderr, as text.
pub fn text_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `promtool check metrics` on a 0.0.4 document: its exit status and
/// report.
pub fn promtool(text: &[u8]) -> Output {
    run(
        Command::new("promtool").args(["check", "metrics"]),
        text,
        "promtool (Debian package `prometheus`)",
    )
}

/// Parses every document with one Python process (`prometheus_client`'s
/// 0.0.4 parser, or its strict OpenMetrics one); per document, the families
/// read or the parser's error.
pub fn python_parse(docs: &[(Dialect, &[u8])]) -> Vec<Result<Vec<Fam>, String>> {
    let mut input = Vec::new();
    for (dialect, doc) in docs {
        let name = match dialect {
            Dialect::Text => "text",
            Dialect::OpenMetrics => "om",
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
    let results = read_parse_py(&stdout)
        .unwrap_or_else(|e| panic!("unexpected output from {}: {e}", script.display()));
    assert_eq!(
        results.len(),
        docs.len(),
        "parse.py answered every document"
    );
    results
}

/// The exemplars Python's strict OpenMetrics parser reads in `doc`, one
/// line each as `tests/interop/exemplars.py` prints them
/// (`<sample>\t<labels>\t<exemplar labels>\t<value>\t<seconds.nanos>`),
/// or the parser's error.
pub fn python_exemplars(doc: &[u8]) -> Result<Vec<String>, String> {
    let script = interop_dir().join("exemplars.py");
    let out = run(
        Command::new("python3").arg(&script),
        doc,
        "python3 with prometheus_client",
    );
    assert!(
        out.status.success(),
        "{} failed ({}); if prometheus_client is missing, {SETUP}:\n{}",
        script.display(),
        out.status,
        text_of(&out)
    );
    let stdout = String::from_utf8(out.stdout).expect("exemplars.py prints UTF-8");
    match stdout.strip_prefix("!\t") {
        Some(err) => Err(unescape(err.trim_end())?),
        None => Ok(stdout.lines().map(str::to_owned).collect()),
    }
}

/// parse.py's records (see its docstring), per document.
fn read_parse_py(stdout: &str) -> Result<Vec<Result<Vec<Fam>, String>>, String> {
    let mut results: Vec<Result<Vec<Fam>, String>> = Vec::new();
    for line in stdout.split('\n').filter(|l| !l.is_empty()) {
        if line.starts_with("=doc ") {
            results.push(Ok(Vec::new()));
            continue;
        }
        let current = results
            .last_mut()
            .ok_or_else(|| format!("{line:?} before the first =doc line"))?;
        let fields: Vec<&str> = line.split('\t').collect();
        let after_error = || format!("{line:?} after the document's error");
        match fields.as_slice() {
            ["!", err] => *current = Err(unescape(err)?),
            ["F", name, ty, unit, help] => current.as_mut().map_err(|_| after_error())?.push(Fam {
                name: name.to_string(),
                ty: ty.to_string(),
                unit: unit.to_string(),
                help: unescape(help)?,
                samples: Vec::new(),
            }),
            ["S", name, labels, value] => {
                let fam = current
                    .as_mut()
                    .map_err(|_| after_error())?
                    .last_mut()
                    .ok_or_else(|| format!("{line:?} before its family"))?;
                fam.samples.push(Sample {
                    name: name.to_string(),
                    labels: parse_labels(labels)?,
                    value: value.parse().map_err(|_| format!("no value in {line:?}"))?,
                });
            }
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    Ok(results)
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
    panic!("truncated length varint in the protobuf output");
}

/// Decodes a delimited stream with `protoc --decode` against Debian's
/// client_model `metrics.proto`.
pub fn protoc_decode(pb: &[u8]) -> Vec<proto::MetricFamily> {
    protoc_decode_many(&[pb]).remove(0)
}

/// Decodes many delimited streams with one `protoc` process: each message
/// becomes field 1 of the wrapper `hotmetrics.interop.Families`
/// (tests/interop/families.proto), then the families are dealt back out.
pub fn protoc_decode_many(streams: &[&[u8]]) -> Vec<Vec<proto::MetricFamily>> {
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
    let families = protoc_text::families_from_protoc(&text)
        .unwrap_or_else(|e| panic!("reading protoc's output: {e}\n{text}"));
    let mut families = families.into_iter();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_py_records_read_per_document() {
        let out = "=doc 0 text\nF\tc\tcounter\t\th\\n\nS\tc_total\ta=\"x\"\t1.5\n\
                   =doc 1 om\n!\tbad \\\"line\\\"\n";
        let docs = read_parse_py(out).unwrap();
        assert_eq!(docs.len(), 2);
        let fams = docs[0].as_ref().unwrap();
        assert_eq!(fams[0].help, "h\n");
        assert_eq!(
            fams[0].samples,
            [Sample {
                name: "c_total".into(),
                labels: vec![("a".into(), "x".into())],
                value: 1.5
            }]
        );
        assert_eq!(docs[1], Err("bad \"line\"".to_owned()));
    }

    #[test]
    fn stray_parse_py_records_are_errors() {
        for out in [
            "F\tc\tcounter\t\th\n",
            "=doc 0 text\nS\tc\t\t1\n",
            "=doc 0 text\nF\tc\n",
            "=doc 0 text\nF\tc\tgauge\t\th\nS\tc\t\tone\n",
        ] {
            assert!(read_parse_py(out).is_err(), "{out:?}");
        }
    }

    #[test]
    fn varints_read_as_protobuf_writes_them() {
        assert_eq!(varint(&[0x05, 0xff]), (5, 1));
        assert_eq!(varint(&[0xac, 0x02]), (300, 2));
    }
}
