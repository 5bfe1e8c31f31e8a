//! The awaited flush and shutdown (feature `tokio`): on a one-thread
//! runtime, other tasks run while they wait for a slow receiver, the
//! final export is sent, and the exporter's name is free once
//! `shutdown_async` returns.

use hotmetrics_core::{MetricSource, Registry};
use hotmetrics_export::{Batch, EncodeError, Exporter, Payload, SendError, Sink};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One payload of one sample per export; each send takes `delay`.
struct Slow {
    delay: Duration,
    sent: Arc<AtomicU64>,
}

impl Sink for Slow {
    fn name(&self) -> &str {
        "slow"
    }

    fn encode(&mut self, _: &dyn MetricSource, batch: &mut Batch) -> Result<(), EncodeError> {
        batch.payload().samples = 1;
        Ok(())
    }

    fn send(&mut self, _: &Payload) -> Result<(), SendError> {
        std::thread::sleep(self.delay);
        self.sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn awaiting_leaves_the_runtime_thread_free() {
    let registry = Registry::new();
    let sent = Arc::new(AtomicU64::new(0));
    let sink = Slow {
        delay: Duration::from_millis(300),
        sent: Arc::clone(&sent),
    };
    let start = |sink| {
        Exporter::builder(registry.clone(), sink)
            .interval(Duration::from_secs(3600))
            .self_metrics(&registry)
            .name("async")
            .start()
    };
    let exporter = start(sink).unwrap();
    // A task that counts while the flush is awaited: with a blocking
    // wait, the runtime's one thread could not run it.
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = {
        let ticks = Arc::clone(&ticks);
        tokio::spawn(async move {
            loop {
                ticks.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    exporter.flush_async(Duration::from_secs(10)).await.unwrap();
    assert_eq!(sent.load(Ordering::Relaxed), 1);
    assert!(
        ticks.load(Ordering::Relaxed) >= 10,
        "{} ticks during a 300 ms flush",
        ticks.load(Ordering::Relaxed)
    );
    let before = ticks.load(Ordering::Relaxed);
    exporter.shutdown_async().await.unwrap();
    assert!(ticks.load(Ordering::Relaxed) > before, "ticked meanwhile");
    // The final export was sent.
    assert_eq!(sent.load(Ordering::Relaxed), 2);
    ticker.abort();
    // Its name is free at once.
    let again = start(Slow {
        delay: Duration::ZERO,
        sent: Arc::new(AtomicU64::new(0)),
    })
    .unwrap();
    assert_eq!(again.name(), "async");
    again.shutdown_async().await.unwrap();
}
