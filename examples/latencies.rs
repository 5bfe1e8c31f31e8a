//! Summaries, native histograms and exemplars, served on `/metrics`.
//!
//! Two writer threads handle "requests" whose times cycle evenly through
//! 1, 2, ..., 1000 ms (so every quantile of the data is known exactly: the
//! q-quantile is about q seconds), and record each one in
//!
//! - `latencies_rpc_seconds`, a summary (quantiles 0.5, 0.9, 0.99 over a
//!   sliding window, count and sum over its whole life);
//! - `latencies_request_seconds`, a histogram with classic buckets and
//!   native buckets on one series, an exemplar (`trace_id`) on every 100th
//!   observation;
//! - `latencies_queue_wait_seconds`, a native-only histogram;
//! - `latencies_requests_total`, a counter, with an exemplar on every
//!   100th increment.
//!
//! ```text
//! cargo run --example latencies --features http -- --addr 127.0.0.1:9464 --seconds 60
//! ```
//!
//! A Prometheus 2.42 started with `--enable-feature=native-histograms`
//! scrapes it as protobuf and stores the native histograms
//! (`histogram_quantile(0.9, rate(latencies_request_seconds[1m]))`); with
//! `--enable-feature=exemplar-storage` it stores the exemplars
//! (`/api/v1/query_exemplars`). The end-to-end test
//! `tests/tests/e2e_metric_types.rs` does both.

use hotmetrics::http::{DEFAULT_ADDR, Server};
use hotmetrics::{Buckets, NativeOpts, Registry, SummaryOpts};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: latencies [--addr HOST:PORT] [--seconds N]";
/// Observations per writer thread per 10 ms.
const BATCH: u64 = 100;
const WRITERS: u64 = 2;

fn main() -> ExitCode {
    let mut addr: SocketAddr = DEFAULT_ADDR;
    let mut seconds: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let parsed = match arg.as_str() {
            "--addr" => args.next().and_then(|v| v.parse().ok()).map(|a| addr = a),
            "--seconds" => args
                .next()
                .and_then(|v| v.parse().ok())
                .map(|s| seconds = Some(s)),
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => None,
        };
        if parsed.is_none() {
            eprintln!("latencies: bad argument {arg:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    match run(addr, seconds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latencies: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(addr: SocketAddr, seconds: Option<u64>) -> Result<(), Box<dyn std::error::Error>> {
    let registry = Registry::new();
    let rpc = registry.summary(
        ("latencies_rpc_seconds", "RPC time"),
        SummaryOpts::default().max_age(Duration::from_secs(60)),
    )?;
    let request = registry.histogram(
        ("latencies_request_seconds", "Request time"),
        Buckets::default().with_native(NativeOpts::default())?,
    )?;
    let queue_wait = registry.histogram(
        ("latencies_queue_wait_seconds", "Time in the queue"),
        Buckets::native(NativeOpts::default())?,
    )?;
    let requests = registry.counter(("latencies_requests", "Requests handled"))?;

    let server = Server::builder(registry.clone()).addr(addr).start()?;
    println!("serving http://{}/metrics", server.local_addr());

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (rpc, request, queue_wait, requests) = (
                rpc.clone(),
                request.clone(),
                queue_wait.clone(),
                requests.clone(),
            );
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut i: u64 = w * 500;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..BATCH {
                        let v = (1 + i % 1000) as f64 / 1000.0;
                        rpc.observe(v);
                        queue_wait.observe(v / 10.0);
                        if i.is_multiple_of(100) {
                            let trace = format!("{:032x}", (w << 56) | i);
                            let labels = [("trace_id", trace.as_str())];
                            // A refused exemplar is an error here only
                            // because this program built it; the update
                            // counts either way.
                            request.observe_with_exemplar(v, &labels)?;
                            requests.inc_with_exemplar(&labels)?;
                        } else {
                            request.observe(v);
                            requests.inc();
                        }
                        i += 1;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok::<(), hotmetrics::Error>(())
            })
        })
        .collect();

    let started = Instant::now();
    while seconds.is_none_or(|s| started.elapsed() < Duration::from_secs(s)) {
        std::thread::sleep(Duration::from_millis(100));
        if writers.iter().any(|w| w.is_finished()) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().map_err(|_| "a writer thread panicked")??;
    }
    Ok(())
}
