//! Idle, slow-header and idle keep-alive connections cannot lock scrapes
//! out, and a flood of scrapers gets answers (200 or 503), never a hang.
//! Real sockets on loopback against the default limits (64 connections).
//!
//! The tests of this file run one at a time: they measure times and the
//! process's memory.

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use common::Client;
use hotmetrics_core::{
    Collector, Described, FamilyDesc, MetricType, MetricVisitor, Number, Registry, SeriesValue,
};
use hotmetrics_http::{Server, ServerBuilder, ServerHandle};

/// The server's default `max_connections`.
const MAX_CONNECTIONS: usize = 64;
/// How long a connection that has just begun its head is safe from
/// eviction (the server's grace is 250 ms), with a margin.
const PAST_THE_GRACE: Duration = Duration::from_millis(400);
/// What a legitimate scrape may take, attack or not.
const SCRAPE_BOUND: Duration = Duration::from_secs(1);
/// Generous on the client side: a loaded 2-core CI machine may be slow to
/// schedule the test's threads, and the kernel completes connects itself.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sockets the busiest test holds at once: its 1,000 clients, the
/// server's side of at most 64 of them (and of 64 rejected ones still
/// being answered), and the test harness's own.
const NEEDED_FDS: u64 = 2048;

/// Raises the soft `RLIMIT_NOFILE` to the hard one (often 1024 soft).
fn raise_fd_limit() {
    let (soft, hard) = rlimit::Resource::NOFILE
        .get()
        .expect("getrlimit(RLIMIT_NOFILE)");
    assert!(
        hard >= NEEDED_FDS,
        "these tests hold over 1,000 sockets at once: RLIMIT_NOFILE's hard limit is {hard}, \
         they need {NEEDED_FDS} (raise it: `ulimit -Hn`, or LimitNOFILE= for a service)"
    );
    if soft < hard {
        rlimit::Resource::NOFILE
            .set(hard, hard)
            .expect("raising the soft RLIMIT_NOFILE to the hard limit");
    }
}

/// A registry with some series, so that a scrape has work to do.
fn registry() -> Registry {
    let registry = Registry::new();
    let requests = registry
        .counter_vec(("requests", "Requests handled."), &["route"])
        .unwrap();
    for route in 0..100 {
        requests
            .get_or_create(&[&format!("/route/{route}")])
            .unwrap()
            .inc_by(route);
    }
    registry
}

fn start(builder: ServerBuilder) -> ServerHandle {
    builder
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .expect("server starts")
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// One scrape on a fresh connection: its status and the time from the
/// connect to the complete response.
fn scrape(addr: SocketAddr) -> io::Result<(u16, Duration)> {
    let started = Instant::now();
    let mut client = Client::new(connect(addr));
    let response = client.request("GET", "/metrics", &[("connection", "close")])?;
    Ok((response.status, started.elapsed()))
}

/// `count` scrapes, `pause` apart, each a 200 within [`SCRAPE_BOUND`];
/// prints their median and maximum times.
fn scrapes_during(attack: &str, addr: SocketAddr, count: usize, pause: Duration) {
    let mut times = Vec::new();
    for _ in 0..count {
        let (status, took) = scrape(addr).unwrap_or_else(|e| panic!("{attack}: scrape: {e}"));
        assert_eq!(status, 200, "{attack}");
        times.push(took);
        thread::sleep(pause);
    }
    times.sort_unstable();
    eprintln!(
        "{attack}: {count} scrapes, p50 {:?}, max {:?}",
        times[count / 2],
        times[count - 1]
    );
    assert!(
        times.iter().all(|took| *took < SCRAPE_BOUND),
        "{attack}: scrapes took {times:?}"
    );
}

/// The process's resident memory.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

/// Whether the server has closed `stream` (after the 503 of a rejected
/// connection, if it got one); it must not have sent anything else.
fn closed_by_server(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(received.is_empty(), "a response without the close");
                return false;
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("reading an attacking connection: {e}"),
        }
    }
    assert!(
        received.is_empty() || received.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"),
        "{}",
        String::from_utf8_lossy(&received)
    );
    true
}

/// The sum of the samples of the series starting with `prefix`.
fn sample_sum(exposition: &str, prefix: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn self_metrics(addr: SocketAddr) -> String {
    common::get(addr, "/metrics", &[]).text().to_owned()
}

#[test]
fn a_thousand_idle_connections_cannot_lock_out_a_scrape() {
    let _serial = serial();
    raise_fd_limit();
    let server = start(Server::builder(registry()).self_metrics(true));
    let addr = server.local_addr();
    // Warm: the scrape buffers and the encoding thread exist.
    scrapes_during("no attack", addr, 3, Duration::ZERO);
    let rss_before = rss_bytes();

    // About a millisecond apart, so that some come while the slots are
    // young (answered 503) and some after (they take the place of the
    // one waiting longest).
    let started = Instant::now();
    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| {
            thread::sleep(Duration::from_millis(1));
            connect(addr)
        })
        .collect();
    eprintln!("1,000 idle connections opened in {:?}", started.elapsed());
    thread::sleep(PAST_THE_GRACE);
    scrapes_during(
        "1,000 idle connections",
        addr,
        10,
        Duration::from_millis(100),
    );
    // The server holds at most 64 of them (a task, a table entry and
    // hyper's state each, its 8 KiB read buffer only once a connection
    // sends), and answers at most 64 rejected ones at a time: well under
    // 2 MiB (1.2 MiB measured). 8 MiB leaves room for the allocator's
    // arenas, and is what 1,000 connections would take at 8 KiB each.
    let grown = rss_bytes().saturating_sub(rss_before);
    eprintln!("1,000 idle connections: RSS grew {} KiB", grown / 1024);
    assert!(grown < 8 << 20, "RSS grew {grown} bytes");

    // Every connection but the newest few has been closed by the server.
    let still_open = idle.iter().filter(|s| !closed_by_server(s)).count();
    assert!(still_open <= MAX_CONNECTIONS, "{still_open} still open");
    let metrics = self_metrics(addr);
    let open = sample_sum(&metrics, "hotmetrics_http_connections_open ");
    assert!(open as usize <= MAX_CONNECTIONS, "{open} connections open");
    let evicted = sample_sum(
        &metrics,
        "hotmetrics_http_connections_closed_total{reason=\"evicted\"}",
    );
    let rejected = sample_sum(
        &metrics,
        "hotmetrics_http_connections_closed_total{reason=\"rejected\"}",
    );
    assert!(
        (evicted + rejected) as usize >= 1000 - still_open,
        "{evicted} evicted, {rejected} rejected, {still_open} open"
    );
    eprintln!("1,000 idle connections: {evicted} evicted, {rejected} answered 503");
}

#[test]
fn two_hundred_slowloris_connections_cannot_lock_out_a_scrape() {
    let _serial = serial();
    raise_fd_limit();
    let server = start(Server::builder(registry()));
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(Barrier::new(2));
    let attacker = {
        let stop = Arc::clone(&stop);
        let opened = Arc::clone(&opened);
        thread::spawn(move || {
            // A request head that never ends: one more `a` each time.
            let prefix = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            let mut connections: Vec<Option<TcpStream>> =
                (0..200).map(|_| Some(connect(addr))).collect();
            opened.wait();
            let mut sent = 0;
            let mut cut = 0;
            while !stop.load(Ordering::Relaxed) {
                let byte = prefix.get(sent).copied().unwrap_or(b'a');
                for slot in &mut connections {
                    if let Some(stream) = slot
                        && stream.write_all(&[byte]).is_err()
                    {
                        *slot = None;
                        cut += 1;
                    }
                }
                sent += 1;
                thread::sleep(Duration::from_millis(500));
            }
            cut
        })
    };
    opened.wait();
    thread::sleep(PAST_THE_GRACE);
    scrapes_during(
        "200 slowloris connections",
        addr,
        8,
        Duration::from_millis(300),
    );
    stop.store(true, Ordering::Relaxed);
    let cut = attacker.join().unwrap();
    // Those over the limit were answered 503 (or evicted) and closed; a
    // write to a closed connection fails from the second one on.
    assert!(cut >= 200 - MAX_CONNECTIONS, "only {cut} cut off");
}

#[test]
fn sixty_four_idle_keep_alive_connections_cannot_lock_out_a_scrape() {
    let _serial = serial();
    let server = start(Server::builder(registry()));
    let addr = server.local_addr();
    let mut kept: Vec<Client<TcpStream>> = (0..MAX_CONNECTIONS)
        .map(|_| {
            let mut client = Client::new(connect(addr));
            let response = client.request("GET", "/metrics", &[]).unwrap();
            assert_eq!(response.status, 200);
            client
        })
        .collect();
    let (status, took) = scrape(addr).unwrap();
    assert_eq!(status, 200);
    assert!(took < SCRAPE_BOUND, "{took:?}");
    // It took the place of the connection idle longest, which sees the
    // close at once.
    let oldest = kept[0].stream();
    oldest.set_read_timeout(Some(SCRAPE_BOUND)).unwrap();
    let waiting = Instant::now();
    assert!(kept[0].is_closed_by_server());
    eprintln!(
        "64 idle keep-alive connections: the evicted one saw its close {:?} after the scrape",
        waiting.elapsed()
    );
    scrapes_during(
        "64 idle keep-alive connections",
        addr,
        8,
        Duration::from_millis(100),
    );
    // The newest are still served: each scrape took a free slot or the
    // one idle longest.
    let served = kept[MAX_CONNECTIONS - 8..]
        .iter_mut()
        .map(|client| client.request("GET", "/health", &[]))
        .filter(|response| response.as_ref().is_ok_and(|r| r.status == 200))
        .count();
    assert_eq!(served, 8);
}

/// A collector that makes each scrape take its duration.
struct Slow(Duration);

impl Collector for Slow {
    fn describe(&self) -> Vec<Described> {
        vec![Described::new("slow", MetricType::Gauge)]
    }

    fn collect(&self, out: &mut dyn MetricVisitor) {
        thread::sleep(self.0);
        out.begin_family(&FamilyDesc {
            name: "slow",
            help: "Always 1, after a while.",
            metric_type: MetricType::Gauge,
            unit: None,
        });
        let no_labels: [(&str, &str); 0] = [];
        out.series(&no_labels, &SeriesValue::Gauge(Number::UInt(1)));
        out.end_family();
    }
}

/// 50 clients scrape at once: each gets 200 or 503, and the self-metrics
/// count as many of each.
fn flood(max_connections: usize, max_concurrent_scrapes: usize) {
    const CLIENTS: usize = 50;
    let registry = registry();
    registry
        .register_collector(Slow(Duration::from_millis(100)))
        .unwrap();
    let server = start(
        Server::builder(registry)
            .max_connections(max_connections)
            .max_concurrent_scrapes(max_concurrent_scrapes)
            .self_metrics(true),
    );
    let addr = server.local_addr();
    let together = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let together = Arc::clone(&together);
            thread::spawn(move || {
                together.wait();
                let (status, _) = scrape(addr).unwrap_or_else(|e| panic!("client {i}: {e}"));
                status
            })
        })
        .collect();
    let statuses: Vec<u16> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    let busy = statuses.iter().filter(|&&s| s == 503).count();
    assert_eq!(ok + busy, CLIENTS, "{statuses:?}");

    let metrics = self_metrics(addr);
    // Counted as they start: the scrape reading them counts itself.
    let scrapes = sample_sum(&metrics, "hotmetrics_http_scrapes_total{") as usize;
    let refused = sample_sum(
        &metrics,
        "hotmetrics_http_scrapes_rejected_total{reason=\"busy\"}",
    ) as usize;
    let rejected = sample_sum(
        &metrics,
        "hotmetrics_http_connections_closed_total{reason=\"rejected\"}",
    ) as usize;
    eprintln!(
        "flood of {CLIENTS} (max_connections {max_connections}, max_concurrent_scrapes \
         {max_concurrent_scrapes}): {ok} × 200, {refused} × 503 from the scrape limit, \
         {rejected} × 503 at accept"
    );
    assert_eq!(scrapes - 1, ok, "{metrics}");
    assert_eq!(refused + rejected, busy, "{metrics}");
}

#[test]
fn a_flood_of_scrapers_gets_200_or_503_and_the_counts_agree() {
    let _serial = serial();
    // Room for every client: the scrape limit answers the excess.
    flood(MAX_CONNECTIONS, 2);
    // Every slot computing a scrape: newcomers are answered at accept.
    flood(2, 2);
}
