//! The broker demo's metrics (FastStream's set), sent by Prometheus remote
//! write instead of scraped: a simulated consumer handles messages on a
//! few threads while an exporter sends the registry every interval.
//!
//! ```sh
//! prometheus --web.enable-remote-write-receiver &   # or VictoriaMetrics on :8428
//! cargo run --release --example remote_write --features remote-write,broker -- \
//!     --url http://127.0.0.1:9090/api/v1/write [--seconds 30] [--interval 5] [--v2]
//! ```

use hotmetrics::broker::{Broker, BrokerMetrics};
use hotmetrics::export::Exporter;
use hotmetrics::remote_write::{Protocol, RemoteWrite};
use std::time::{Duration, Instant};

struct Args {
    url: String,
    seconds: u64,
    interval: u64,
    protocol: Protocol,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        url: String::new(),
        seconds: 30,
        interval: 5,
        protocol: Protocol::V1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = value()?,
            "--seconds" => a.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--interval" => {
                a.interval = value()?.parse().map_err(|e| format!("--interval: {e}"))?
            }
            "--v2" => a.protocol = Protocol::V2,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.url.is_empty() {
        return Err("--url http://host:port/api/v1/write is required".into());
    }
    Ok(a)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let registry = hotmetrics::Registry::new();
    let metrics = BrokerMetrics::builder(Broker::Kafka).build(&registry)?;
    let sink = RemoteWrite::builder(&args.url)
        .protocol(args.protocol)
        .external_label("job", "broker_consumer")
        .external_label("instance", "remote-write-example")
        .build()?;
    let exporter = Exporter::builder(registry.clone(), sink)
        .interval(Duration::from_secs(args.interval))
        .self_metrics(&registry)
        .start()?;
    println!(
        "sending to {} every {} s for {} s",
        args.url, args.interval, args.seconds
    );

    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let workers: Vec<_> = ["orders", "payments"]
        .into_iter()
        .map(|queue| {
            let handler = metrics.handler(queue).expect("a valid queue name");
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let msg = handler.receive(64 + (n % 512) as usize);
                    std::thread::sleep(Duration::from_millis(2 + n % 10));
                    if n.is_multiple_of(17) {
                        msg.error("ParseError");
                    } else {
                        msg.ack();
                    }
                    n += 1;
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    exporter.flush(Duration::from_secs(10))?;
    println!("{:?}", exporter.stats());
    exporter.shutdown()?;
    Ok(())
}
