//! Our 0.0.4 output read by promtool (`promtool check metrics`, the Go
//! reference parser and linter): the fixture passes clean, and 200 random
//! registries parse with no lint beyond missing help.
//!
//! A missing promtool fails the test (never skips it): `./test.sh --setup`
//! installs it.

use hotmetrics_tests::fixture;
use hotmetrics_tests::random::{RANDOM_REGISTRIES, random_registries};
use hotmetrics_tests::tools::{promtool, text_of};

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

/// The random registries' 0.0.4 output through promtool: no parse error,
/// no lint beyond missing help.
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
