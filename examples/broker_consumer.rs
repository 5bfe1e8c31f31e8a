//! A simulated message consumer on tokio, instrumented with
//! [`hotmetrics::broker`] (FastStream's metric names, so Grafana dashboard
//! 22130 works as is), serving `/metrics` for Prometheus.
//!
//! Producer tasks fill a bounded in-memory queue (the broker). The consumer
//! is the usual tokio shape: a poll loop takes each message off the queue,
//! counts it received (`receive`, which starts the message's guard) and
//! spawns a task of its own to handle it; the guard moves into that task.
//! A task handles its message for a random time in the latency range (an
//! async sleep, as a handler waiting on I/O would), then acks, nacks,
//! rejects, skips or fails it. Some handled messages are published to a
//! destination, which sometimes fails. Every step goes through
//! `BrokerMetrics`: received and processed messages by handler and status,
//! the in-process gauge, size and duration histograms, publish counts and
//! durations, exceptions by type. At most `--workers` messages are in
//! process at once (a semaphore the poll loop waits on).
//!
//! ```sh
//! cargo run --release --example broker_consumer --features http,broker
//! curl -s http://127.0.0.1:9464/metrics | grep ^faststream_
//! ```
//!
//! Every two seconds it prints one line, read from its own registry:
//! messages processed per second, the scrapes served so far by format, and
//! the cost of the metric calls, measured: on one message in 8 the clock is
//! read around every metric call made for it (receive in the poll loop;
//! publish and finishing both guards in its task) and the cost of a clock
//! read, calibrated at start-up, is subtracted.
//! That is the cost in the real program, caches cooled by the sleeps
//! included. At start-up it also times the same calls in a tight loop on a
//! scratch registry, the best case.
//!
//! Without `--seconds` it runs until killed: Ctrl-C ends the process the
//! default way (no final summary; the OS closes the socket).

use hotmetrics::broker::{
    Broker, BrokerMetrics, DestinationMetrics, HandlerMetrics, Outcome, ProcessingGuard, Status,
};
use hotmetrics::http::{DEFAULT_ADDR, Server};
use hotmetrics::{Registry, Snapshot, ValueSnapshot};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{AcquireError, Semaphore, mpsc};

const USAGE: &str = "\
usage: broker_consumer [--addr HOST:PORT] [--workers N] [--seconds N] [--latency-ms MIN-MAX]

  --addr HOST:PORT      where /metrics is served (default 127.0.0.1:9464; port 0 picks one)
  --workers N           messages handled at once, each in a task of its own (default 64)
  --seconds N           stop cleanly after N seconds (default: run until killed; Ctrl-C
                        ends the process without a final summary)
  --latency-ms MIN-MAX  handling time of a message, uniform in [MIN, MAX] milliseconds
                        (default 0.5-20; tokio's timer rounds up to whole milliseconds);
                        a published message adds 0.1-1 ms of send time
  --help                this text";

/// The queues (topics) messages come from: the `handler` label.
const HANDLERS: [&str; 3] = ["orders", "payments", "shipments"];
/// Where some handled messages are sent: the `destination` label.
const DESTINATION: &str = "notifications";
/// Exception types of failed handling and failed sends.
const HANDLE_ERRORS: [&str; 3] = ["ValueError", "TimeoutError", "DecodeError"];
const PUBLISH_ERRORS: [&str; 2] = ["ConnectionError", "TimeoutError"];
/// Send time of a publish, in nanoseconds.
const PUBLISH_LATENCY_NS: (u64, u64) = (100_000, 1_000_000);
const PRODUCERS: usize = 2;
/// The most messages `--workers` lets be in process at once.
const MAX_WORKERS: u32 = 100_000;
const QUEUE_CAPACITY: usize = 256;
/// One message in this many has its metric calls timed.
const SAMPLE_EVERY: u64 = 8;
const REPORT_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Config {
    addr: SocketAddr,
    /// Messages in process at once.
    workers: u32,
    seconds: Option<u64>,
    /// Handling time range, nanoseconds.
    latency_ns: (u64, u64),
}

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("broker_consumer: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("broker_consumer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Option<Config>, String> {
    let mut config = Config {
        addr: DEFAULT_ADDR,
        workers: 64,
        seconds: None,
        latency_ns: (500_000, 20_000_000),
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        if !matches!(
            flag.as_str(),
            "--addr" | "--workers" | "--seconds" | "--latency-ms"
        ) {
            return Err(format!("unknown argument {arg:?}"));
        }
        let value = match inline {
            Some(v) => v,
            None => args.next().ok_or_else(|| format!("{flag} needs a value"))?,
        };
        let bad = |what: &str| format!("{flag} {value:?}: {what}");
        match flag.as_str() {
            "--addr" => {
                config.addr = value
                    .parse()
                    .map_err(|_| bad("expected HOST:PORT, e.g. 127.0.0.1:9464"))?;
            }
            "--workers" => {
                config.workers = value
                    .parse()
                    .ok()
                    .filter(|&n| (1..=MAX_WORKERS).contains(&n))
                    .ok_or_else(|| bad("expected a whole number from 1 to 100000"))?;
            }
            "--seconds" => {
                config.seconds = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| bad("expected a whole number of seconds, at least 1"))?,
                );
            }
            _ => {
                let ms = |s: &str| {
                    s.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite() && (0.0..=10_000.0).contains(v))
                };
                let (min, max) = value
                    .split_once('-')
                    .and_then(|(a, b)| Some((ms(a)?, ms(b)?)))
                    .filter(|(a, b)| a <= b)
                    .ok_or_else(|| {
                        bad("expected MIN-MAX in milliseconds, 0 <= MIN <= MAX <= 10000")
                    })?;
                config.latency_ns = ((min * 1e6) as u64, (max * 1e6) as u64);
            }
        }
    }
    Ok(Some(config))
}

/// A message on the in-memory queue.
#[derive(Debug)]
struct Message {
    /// Index into [`HANDLERS`].
    handler: usize,
    size: usize,
}

/// Timings of sampled messages, since the last report.
#[derive(Debug, Default)]
struct Samples {
    /// Per message: time spent in metric calls, clock cost removed.
    metric_ns: Vec<u64>,
    /// Sum of the time from receive to finish of those messages.
    handle_ns: u64,
}

/// What the metrics say so far, summed over handlers: processed messages
/// by status, and sends.
#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    /// By `Status as usize`.
    outcomes: [u64; Status::ALL.len()],
    published: u64,
    publish_failed: u64,
}

impl Totals {
    /// Reads the counters of the registry's broker families.
    fn of(snapshot: &Snapshot) -> Self {
        let mut t = Self::default();
        let counters = |family: &str| {
            snapshot
                .family(family)
                .map(|f| f.series.as_slice())
                .unwrap_or_default()
                .iter()
                .filter_map(|s| {
                    let status = s.labels.iter().find(|(k, _)| k == "status")?;
                    match s.value {
                        ValueSnapshot::Counter(v) => Some((status.1.as_str(), v as u64)),
                        _ => None,
                    }
                })
        };
        for (status, n) in counters("faststream_received_processed_messages") {
            if let Some(i) = Status::ALL.iter().position(|s| s.as_str() == status) {
                t.outcomes[i] += n;
            }
        }
        for (status, n) in counters("faststream_published_messages") {
            t.published += n;
            if status == "error" {
                t.publish_failed += n;
            }
        }
        t
    }

    fn processed(&self) -> u64 {
        self.outcomes.iter().sum()
    }
}

/// xorshift64*: small, fast, good enough to simulate traffic.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(stream: u64) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        // splitmix64 of the time and the stream, never 0.
        let mut z = now ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Times the metric calls of a sampled message.
struct Meter {
    on: bool,
    ns: u64,
    calls: u64,
}

impl Meter {
    #[inline]
    fn time<R>(&mut self, f: impl FnOnce() -> R) -> R {
        if !self.on {
            return f();
        }
        let start = Instant::now();
        let r = f();
        self.ns += start.elapsed().as_nanos() as u64;
        self.calls += 1;
        r
    }
}

/// What the poll loop and the message tasks share.
struct Shared {
    handlers: Vec<HandlerMetrics>,
    destination: DestinationMetrics,
    latency_ns: (u64, u64),
    /// Cost of one `Instant::now()` + `elapsed()`, subtracted per timed call.
    clock_ns: u64,
    samples: Mutex<Samples>,
}

fn run(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let registry = Registry::new();
    #[cfg(target_os = "linux")]
    registry.register_collector(hotmetrics::ProcessCollector::new())?;
    let metrics = BrokerMetrics::builder(Broker::Kafka).build(&registry)?;
    let handlers = HANDLERS
        .iter()
        .map(|h| metrics.handler(h))
        .collect::<Result<Vec<_>, _>>()?;
    let destination = metrics.destination(DESTINATION)?;

    let server = Server::builder(registry.clone())
        .addr(config.addr)
        .self_metrics(true)
        .start()
        .map_err(|e| format!("cannot serve on {}: {e}", config.addr))?;

    let (lo, hi) = config.latency_ns;
    println!(
        "broker_consumer: up to {} messages in process, each in a task of its own; \
         {PRODUCERS} producers, handlers {}, handling time {}-{} ms (uniform), \
         publishing to {DESTINATION}",
        config.workers,
        HANDLERS.join("/"),
        lo as f64 / 1e6,
        hi as f64 / 1e6,
    );
    println!("serving http://{}/metrics", server.local_addr());
    let clock_ns = calibrate_clock();
    let (receive_ack, publish_success) = calibrate_tight_loop()?;
    println!(
        "tight loop, one thread, scratch registry: receive+ack {receive_ack:.1} ns/msg, \
         publish+success {publish_success:.1} ns/send (clock read: {clock_ns} ns)"
    );
    match config.seconds {
        Some(s) => println!("running for {s} s"),
        None => println!("running until killed (Ctrl-C)"),
    }

    let shared = Arc::new(Shared {
        handlers,
        destination,
        latency_ns: config.latency_ns,
        clock_ns,
        samples: Mutex::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()?;
    let started = Instant::now();
    runtime.block_on(async {
        let reporter = tokio::spawn(report_every(registry.clone(), Arc::clone(&shared)));
        let consumed = consume(&shared, config.workers, config.seconds).await;
        reporter.abort();
        consumed
    })?;
    // The producers, blocked on the closed queue, end with the runtime.
    drop(runtime);

    let totals = Totals::of(&registry.snapshot());
    let elapsed = started.elapsed().as_secs_f64();
    let by_status = Status::ALL
        .iter()
        .zip(totals.outcomes)
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "done: {} messages in {elapsed:.1} s ({:.1} msg/s): {by_status}; \
         published {} ({} failed)",
        totals.processed(),
        totals.processed() as f64 / elapsed,
        totals.published,
        totals.publish_failed,
    );
    server.shutdown()?;
    Ok(())
}

/// The cost of reading the clock around a call, to subtract from timings.
fn calibrate_clock() -> u64 {
    const N: u32 = 100_000;
    let start = Instant::now();
    let mut sink = 0u64;
    for _ in 0..N {
        sink = sink.wrapping_add(std::hint::black_box(Instant::now()).elapsed().as_nanos() as u64);
    }
    std::hint::black_box(sink);
    // Each iteration reads the clock twice, as `Meter::time` does.
    (start.elapsed().as_nanos() / u128::from(N)) as u64
}

/// ns per `receive(..).ack()` and per `publish().success()`, one thread, in
/// a tight loop on a scratch registry (so the served one is not touched).
fn calibrate_tight_loop() -> Result<(f64, f64), hotmetrics::Error> {
    const N: u32 = 200_000;
    let scratch = Registry::new();
    let metrics = BrokerMetrics::new(&scratch, Broker::Kafka)?;
    let handler = metrics.handler("calibration")?;
    let destination = metrics.destination("calibration")?;
    for _ in 0..1000 {
        handler.receive(256).ack();
        destination.publish().success();
    }
    let start = Instant::now();
    for i in 0..N {
        handler
            .receive(std::hint::black_box(i as usize & 4095))
            .ack();
    }
    let receive = start.elapsed().as_nanos() as f64 / f64::from(N);
    let start = Instant::now();
    for _ in 0..N {
        std::hint::black_box(&destination).publish().success();
    }
    let publish = start.elapsed().as_nanos() as f64 / f64::from(N);
    Ok((receive, publish))
}

/// The poll loop: takes each message off the queue once a slot is free,
/// receives it (the guard starts) and hands it to a task of its own; after
/// `seconds` (if given) it stops taking messages and waits for the ones in
/// process.
async fn consume(
    shared: &Arc<Shared>,
    workers: u32,
    seconds: Option<u64>,
) -> Result<(), AcquireError> {
    let (deliver, mut inbox) = mpsc::channel(QUEUE_CAPACITY);
    for p in 0..PRODUCERS {
        tokio::spawn(produce(deliver.clone(), p as u64));
    }
    drop(deliver);
    let stop = async {
        match seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop);
    let slots = Arc::new(Semaphore::new(workers as usize));
    let mut seen = 0u64;
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot?,
            () = &mut stop => break,
        };
        let message = tokio::select! {
            message = inbox.recv() => message,
            () = &mut stop => break,
        };
        let Some(message) = message else {
            break; // every producer is gone
        };
        let mut meter = Meter {
            on: seen.is_multiple_of(SAMPLE_EVERY),
            ns: 0,
            calls: 0,
        };
        seen += 1;
        let start = meter.on.then(Instant::now);
        let handler = &shared.handlers[message.handler];
        let guard = meter.time(|| handler.receive(message.size));
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            handle(&shared, guard, meter, start, seen).await;
            drop(slot);
        });
    }
    // What is still queued would be redelivered by a real broker; the
    // messages in process finish (all slots back).
    drop(inbox);
    slots.acquire_many(workers).await.map(drop)
}

async fn produce(deliver: mpsc::Sender<Message>, stream: u64) {
    let mut rng = Rng::new(stream);
    loop {
        // Sizes spread over 16 B .. 2 MiB, log-uniform.
        let base = 1usize << rng.range(4, 20);
        let message = Message {
            handler: rng.below(HANDLERS.len() as u64) as usize,
            size: base + rng.below(base as u64) as usize,
        };
        if deliver.send(message).await.is_err() {
            return; // the consumer is gone
        }
    }
}

/// Handles one message in its own task: the simulated work, the outcome,
/// and the metrics, finishing the guard the poll loop started.
async fn handle(
    shared: &Shared,
    guard: ProcessingGuard,
    mut meter: Meter,
    start: Option<Instant>,
    stream: u64,
) {
    let mut rng = Rng::new(stream);
    let (lo, hi) = shared.latency_ns;
    tokio::time::sleep(Duration::from_nanos(rng.range(lo, hi))).await;
    let outcome = match rng.below(1000) {
        0..30 => Outcome::Error(rng.pick(&HANDLE_ERRORS)),
        30..60 => Outcome::Nacked,
        60..75 => Outcome::Rejected,
        75..95 => Outcome::Skipped,
        // Handled; 40% of these send a result on, and a failed send means
        // the message is nacked to be retried.
        _ if rng.below(100) < 40 => {
            let send = meter.time(|| shared.destination.publish());
            let (lo, hi) = PUBLISH_LATENCY_NS;
            tokio::time::sleep(Duration::from_nanos(rng.range(lo, hi))).await;
            if rng.below(100) < 5 {
                let exception = rng.pick(&PUBLISH_ERRORS);
                meter.time(|| send.error(exception));
                Outcome::Nacked
            } else {
                meter.time(|| send.success());
                Outcome::Acked
            }
        }
        _ => Outcome::Acked,
    };
    meter.time(|| guard.finish(outcome));
    if let Some(start) = start {
        let clock = meter.calls * shared.clock_ns;
        let handle_ns = start.elapsed().as_nanos() as u64;
        let mut samples = shared
            .samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        samples.metric_ns.push(meter.ns.saturating_sub(clock));
        samples.handle_ns += handle_ns;
    }
}

/// Prints one summary line every [`REPORT_EVERY`].
async fn report_every(registry: Registry, shared: Arc<Shared>) {
    let started = Instant::now();
    let mut last = (started, Totals::default());
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + REPORT_EVERY, REPORT_EVERY);
    loop {
        ticks.tick().await;
        let now = Instant::now();
        let snapshot = registry.snapshot();
        let totals = Totals::of(&snapshot);
        let samples = std::mem::take(
            &mut *shared
                .samples
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        report(&snapshot, started, now, &last, &totals, samples);
        last = (now, totals);
    }
}

/// One summary line for the interval from `last` to `now`.
fn report(
    snapshot: &Snapshot,
    started: Instant,
    now: Instant,
    last: &(Instant, Totals),
    t: &Totals,
    samples: Samples,
) {
    let Samples {
        metric_ns: mut samples,
        handle_ns,
    } = samples;
    let (since, before) = last;
    let secs = now.duration_since(*since).as_secs_f64().max(1e-9);
    let rate = (t.processed() - before.processed()) as f64 / secs;
    samples.sort_unstable();
    let cost = if samples.is_empty() {
        "metrics: no message sampled".to_owned()
    } else {
        let total: u64 = samples.iter().sum();
        format!(
            "metrics: median {} ns/msg, mean {} ns ({} msgs timed) = {:.4}% of handling time",
            samples[samples.len() / 2],
            total / samples.len() as u64,
            samples.len(),
            100.0 * total as f64 / handle_ns.max(1) as f64,
        )
    };
    // What the server has served, read from its self-metrics.
    let scrapes = snapshot
        .family("hotmetrics_http_scrapes")
        .map(|f| {
            f.series
                .iter()
                .filter_map(|s| match s.value {
                    ValueSnapshot::Counter(v) if v > 0.0 => {
                        Some(format!("{} {v}", s.labels.first()?.1))
                    }
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let scrapes = if scrapes.is_empty() {
        "none".to_owned()
    } else {
        scrapes.join(", ")
    };
    println!(
        "[{:>5.1}s] {rate:7.1} msg/s processed ({} total) | {cost} | scrapes: {scrapes}",
        now.duration_since(started).as_secs_f64(),
        t.processed(),
    );
}
