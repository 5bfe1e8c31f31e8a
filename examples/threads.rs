//! Several worker threads update counters, a gauge and a histogram as a
//! message consumer would; the main thread then prints a scrape in the
//! Prometheus text format.
//!
//! `cargo run --release --example threads -- [WORKERS] [MESSAGES_PER_WORKER]`

use hotmetrics::{Buckets, ProcessCollector, Registry};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let workers: usize = args.next().map_or(Ok(4), |a| a.parse())?;
    let per_worker: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;

    let registry = Registry::builder().prefix("demo").build()?;
    registry.register_collector(ProcessCollector::new())?;
    let received = registry.counter_vec(
        ("received_messages_total", "Messages received."),
        &["handler"],
    )?;
    let processed = registry.counter_vec(
        (
            "processed_messages_total",
            "Messages processed, by outcome.",
        ),
        &["handler", "status"],
    )?;
    let in_process = registry.gauge(("messages_in_process", "Messages being processed."))?;
    let size = registry.histogram(
        ("message_size_bytes", "Message body size."),
        Buckets::exponential(16.0, 4.0, 8)?,
    )?;

    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..workers {
            let (received, processed, in_process, size) =
                (&received, &processed, &in_process, &size);
            s.spawn(move || {
                let handler = if w % 2 == 0 { "orders" } else { "payments" };
                let acked = processed
                    .get_or_create(&[handler, "acked"])
                    .expect("two labels");
                for i in 0..per_worker {
                    let _ = received.with(&[handler], |c| c.inc());
                    let _busy = in_process.track_in_progress();
                    size.observe((i % 4096) as f64);
                    if i % 100 == 99 {
                        let _ = processed.with(&[handler, "nacked"], |c| c.inc());
                    } else {
                        acked.inc();
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed();

    let mut buf = bytes::BytesMut::new();
    hotmetrics::text::TextEncoder::new().encode(&registry, &mut buf);
    print!("{}", String::from_utf8_lossy(&buf));
    let total = workers as u64 * per_worker;
    eprintln!(
        "{workers} workers handled {total} messages in {:.1} ms ({:.1} M messages/s, 5 metric updates each)",
        elapsed.as_secs_f64() * 1e3,
        total as f64 / elapsed.as_secs_f64() / 1e6
    );
    Ok(())
}
