//! Byte-exact golden files of the fixture registry in every format.
//! `UPDATE_GOLDEN=1 cargo test -p hotmetrics-tests --test golden` rewrites them.

use hotmetrics_tests::fixture;
use std::path::PathBuf;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(name)
}

/// Compares `actual` with the golden file `name` (or rewrites it under
/// `UPDATE_GOLDEN=1`); `render` turns bytes into text for the diff.
fn check(name: &str, actual: &[u8], render: fn(&[u8]) -> String) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0") {
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e}\n(run `UPDATE_GOLDEN=1 cargo test -p hotmetrics-tests --test golden` to create it)",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{} differs from the encoder's output (- golden, + actual):\n{}\n\
             If the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff.",
            path.display(),
            diff(&render(&expected), &render(actual)),
        );
    }
}

/// A line diff: common prefix and suffix collapsed, the rest shown as - / +.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.split_inclusive('\n').collect();
    let a: Vec<&str> = actual.split_inclusive('\n').collect();
    let head = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let tail = e[head..]
        .iter()
        .rev()
        .zip(a[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = String::new();
    let start = head.saturating_sub(2);
    for l in &e[start..head] {
        out.push_str(&format!("  {l:?}\n"));
    }
    for l in &e[head..e.len() - tail] {
        out.push_str(&format!("- {l:?}\n"));
    }
    for l in &a[head..a.len() - tail] {
        out.push_str(&format!("+ {l:?}\n"));
    }
    for l in e[e.len() - tail..].iter().take(2) {
        out.push_str(&format!("  {l:?}\n"));
    }
    out
}

fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn decoded(bytes: &[u8]) -> String {
    match hotmetrics_tests::proto::decode_delimited(bytes) {
        Ok(families) => families.iter().map(|f| format!("{f:#?}\n")).collect(),
        Err(e) => format!("<undecodable: {e}>\n{bytes:02x?}\n"),
    }
}

#[test]
fn text_0_0_4() {
    check(
        "fixture.prom",
        &fixture::encode_text(&fixture::registry()),
        utf8,
    );
}

#[test]
fn openmetrics() {
    check(
        "fixture.om.txt",
        &fixture::encode_openmetrics(&fixture::registry()),
        utf8,
    );
}

#[test]
fn protobuf() {
    check(
        "fixture.pb",
        &fixture::encode_protobuf(&fixture::registry()),
        decoded,
    );
}

#[test]
fn repeated_scrapes_are_identical() {
    let r = fixture::registry();
    assert_eq!(fixture::encode_text(&r), fixture::encode_text(&r));
    assert_eq!(
        fixture::encode_openmetrics(&r),
        fixture::encode_openmetrics(&r)
    );
    assert_eq!(fixture::encode_protobuf(&r), fixture::encode_protobuf(&r));
}

/// The UTF-8 registry (`hotmetrics_tests::utf8`) in every format and
/// escaping scheme: `utf8.<scheme>.prom`, `.om.txt`, `.pb`. Legacy names
/// in it are written the same in every scheme.
#[test]
fn utf8_names_in_every_escaping_scheme() {
    use hotmetrics::Escaping;
    use hotmetrics_tests::utf8 as fixture;
    let r = fixture::registry();
    for escaping in Escaping::ALL {
        let name = escaping.param();
        check(
            &format!("utf8.{name}.prom"),
            &fixture::encode_text(&r, escaping),
            utf8,
        );
        check(
            &format!("utf8.{name}.om.txt"),
            &fixture::encode_openmetrics(&r, escaping),
            utf8,
        );
        check(
            &format!("utf8.{name}.pb"),
            &fixture::encode_protobuf(&r, escaping),
            decoded,
        );
    }
}

/// Exemplars and native histograms with fixed values
/// (`fixture::exemplars`): `exemplars.prom` (no exemplars, the classic
/// view), `exemplars.om.txt` (exemplars on `_total` and `_bucket`),
/// `exemplars.pb` (exemplars, native fields, the no-op span).
#[test]
fn exemplars_and_native_histograms() {
    let r = fixture::exemplars();
    check("exemplars.prom", &fixture::encode_text(&r), utf8);
    check("exemplars.om.txt", &fixture::encode_openmetrics(&r), utf8);
    check("exemplars.pb", &fixture::encode_protobuf(&r), decoded);
}
