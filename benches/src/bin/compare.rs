//! One-command comparison of hotmetrics with every peer.
//!
//! ```text
//! cargo run --release -p hotmetrics-benches --bin compare -- [--threads 1,2,4] [--writers 1,4,16,64] [--quick]
//!     [--cases counter,scrape] [--libs hotmetrics,prometheus] [--machine "16-core Xeon"] [--date 2026-11-22] [--out docs/bench]
//! ```
//!
//! Prints the TSV table on stdout and writes `<date>-<machine>.md` and
//! `.svg` under `--out` (default `docs/bench`; `--out -` writes no files).

use hotmetrics_benches::alloc::CountingAlloc;
use hotmetrics_benches::report::{Report, chart, markdown};
use hotmetrics_benches::runner::{self, Options};
use hotmetrics_benches::thread_counts;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "usage: compare [--threads 1,2,4] [--writers 1,4,16] [--quick] [--cases NAME,...] [--libs NAME,...] \
                     [--machine TEXT] [--date YYYY-MM-DD] [--out DIR|-]";

struct Args {
    opts: Options,
    machine: String,
    date: String,
    out: Option<PathBuf>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        opts: Options {
            threads: thread_counts(),
            writers: Vec::new(),
            quick: false,
            cases: Vec::new(),
            libs: Vec::new(),
            probe: std::env::current_exe().ok(),
        },
        machine: machine(),
        date: today(),
        out: Some(PathBuf::from("docs/bench")),
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--quick" => parsed.opts.quick = true,
            "--threads" => parsed.opts.threads = counts(&flag, &value()?)?,
            "--writers" => parsed.opts.writers = counts(&flag, &value()?)?,
            "--cases" => parsed.opts.cases = value()?.split(',').map(str::to_owned).collect(),
            "--libs" => parsed.opts.libs = value()?.split(',').map(str::to_owned).collect(),
            "--machine" => parsed.machine = value()?,
            "--date" => parsed.date = value()?,
            "--out" => {
                let dir = value()?;
                parsed.out = (dir != "-").then(|| PathBuf::from(dir));
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(parsed)
}

/// A comma-separated list of positive numbers (`--threads`, `--writers`).
fn counts(flag: &str, list: &str) -> Result<Vec<usize>, String> {
    list.split(',')
        .map(|t| match t.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag}: {t:?} is not a positive number")),
        })
        .collect()
}

/// `N-core <cpu model>` from the cores present and /proc/cpuinfo.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cores}-core {model}")
}

/// Today's UTC date as `YYYY-MM-DD` (days-to-civil, proleptic Gregorian).
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A file-name-safe form of the machine: `16-core-intel-xeon-...`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(48).collect()
}

/// `compare --memory-probe <lib> <kind> <threads>`: one memory number,
/// measured in this fresh process (see `runner::memory`).
fn probe(args: &[String]) -> ExitCode {
    let number = match args {
        [lib, kind, threads] => threads
            .parse()
            .ok()
            .and_then(|t| runner::memory_probe(lib, kind, t)),
        _ => None,
    };
    match number {
        Some(bytes) => {
            println!("{bytes}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "usage: compare --memory-probe <lib> <counter|histogram|summary|native_histogram> <threads>"
            );
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().is_some_and(|a| a == "--memory-probe") {
        return probe(&argv[1..]);
    }
    let args = match parse(argv.into_iter()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut report = Report {
        machine: args.machine,
        date: args.date,
        ..Report::default()
    };
    eprintln!(
        "compare: {} on {}, threads {:?}{}",
        report.date,
        report.machine,
        args.opts.threads,
        if args.opts.quick { ", quick" } else { "" }
    );
    runner::run(&args.opts, &mut report);
    print!("{}", report.tsv());
    if let Some(dir) = args.out {
        let stem = dir.join(format!("{}-{}", report.date, slug(&report.machine)));
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(stem.with_extension("md"), markdown::markdown(&report)))
            .map_err(|e| e.to_string())
            .and_then(|()| {
                chart::chart(&report, &stem.with_extension("svg")).map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => eprintln!("compare: wrote {}.md and .svg", stem.display()),
            Err(e) => {
                eprintln!("compare: writing {}: {e}", stem.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
