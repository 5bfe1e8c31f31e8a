//! The tokio shape: receive in a poll loop, handle each message in a task
//! of its own. Guards move into the tasks (`Send + 'static`), outlive the
//! handles they came from, finish on other threads, and every way a task
//! can end counts exactly once.

use hotmetrics_broker::{Broker, BrokerMetrics, DROPPED, PANIC, ProcessingGuard, PublishGuard};
use hotmetrics_core::{Registry, Snapshot, ValueSnapshot};
use std::panic::{self, PanicHookInfo};
use tokio::sync::watch;

/// How the task of message `i` ends: `i % PLANS`.
const PLANS: usize = 7;
const MESSAGES: usize = 100 * PLANS;
/// The panic of plan 6, kept out of the test's output.
const PLANNED_PANIC: &str = "planned handler panic";

#[test]
fn guards_are_send_and_static() {
    fn assert_send_static<T: Send + 'static>() {}
    assert_send_static::<ProcessingGuard>();
    assert_send_static::<PublishGuard>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poll_loop_spawns_a_task_per_message_and_totals_are_exact() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
        if info.payload().downcast_ref::<&str>() != Some(&PLANNED_PANIC) {
            previous(info);
        }
    }));

    let registry = Registry::new();
    let metrics = BrokerMetrics::new(&registry, Broker::Kafka).unwrap();
    let orders = metrics.handler("orders").unwrap();
    let payments = metrics.destination("payments").unwrap();
    // The tasks wait for this, so that they finish after the loop and the
    // handles are gone.
    let (go, wait) = watch::channel(false);

    // The poll loop runs on the test's thread, the tasks on the runtime's
    // workers: every guard finishes on a thread other than its own.
    let mut tasks = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let msg = orders.receive(i % 10);
        let send = payments.publish();
        let mut wait = wait.clone();
        tasks.push(tokio::spawn(async move {
            wait.wait_for(|&go| go).await.unwrap();
            let plan = i % PLANS;
            match plan {
                1 => send.error("ConnectionError"),
                5 | 6 => {}
                _ => send.success(),
            }
            match plan {
                0 => msg.ack(),
                1 => msg.nack(),
                2 => msg.reject(),
                3 => msg.skip(),
                4 => msg.error("DecodeError"),
                // Both guards dropped unfinished: an early return.
                5 => {}
                _ => panic::panic_any(PLANNED_PANIC),
            }
        }));
    }
    drop((orders, payments, metrics));
    let open = series(
        &registry.snapshot(),
        "faststream_received_messages_in_process",
    );
    assert_eq!(open, ValueSnapshot::Gauge(MESSAGES as f64));

    go.send(true).unwrap();
    let mut panicked = 0;
    for task in tasks {
        if let Err(e) = task.await {
            assert!(e.is_panic(), "{e}");
            panicked += 1;
        }
    }
    assert_eq!(panicked, MESSAGES / PLANS);

    let each = (MESSAGES / PLANS) as f64;
    let snap = registry.snapshot();
    let counter = |name: &str, (key, value): (&str, &str), extra: (&str, &str)| {
        let labels = [
            ("app_name", "faststream"),
            ("broker", "kafka"),
            (key, value),
            extra,
        ];
        snap.counter(name, &labels)
            .unwrap_or_else(|| panic!("{name} {extra:?} is missing"))
    };
    let orders = ("handler", "orders");
    let payments = ("destination", "payments");
    let processed = "faststream_received_processed_messages";
    let expected = [
        ("acked", each),
        ("nacked", each),
        ("rejected", each),
        ("skipped", each),
        ("error", 3.0 * each),
    ];
    for (status, n) in expected {
        assert_eq!(
            counter(processed, orders, ("status", status)),
            n,
            "{status}"
        );
    }
    let exceptions = "faststream_received_processed_messages_exceptions";
    for (ty, n) in [("DecodeError", each), (DROPPED, each), (PANIC, each)] {
        assert_eq!(
            counter(exceptions, orders, ("exception_type", ty)),
            n,
            "{ty}"
        );
    }
    let published = "faststream_published_messages";
    assert_eq!(
        counter(published, payments, ("status", "success")),
        4.0 * each
    );
    // Failed, dropped with the early return, and dropped by the panic.
    assert_eq!(
        counter(published, payments, ("status", "error")),
        3.0 * each
    );
    let publish_exceptions = "faststream_published_messages_exceptions";
    for (ty, n) in [("ConnectionError", each), (DROPPED, each), (PANIC, each)] {
        assert_eq!(
            counter(publish_exceptions, payments, ("exception_type", ty)),
            n,
            "{ty}"
        );
    }

    let received = series(&snap, "faststream_received_messages");
    assert_eq!(received, ValueSnapshot::Counter(MESSAGES as f64));
    let open = series(&snap, "faststream_received_messages_in_process");
    assert_eq!(open, ValueSnapshot::Gauge(0.0));
    for name in [
        "faststream_received_messages_size_bytes",
        "faststream_received_processed_messages_duration_seconds",
        "faststream_published_messages_duration_seconds",
    ] {
        match series(&snap, name) {
            ValueSnapshot::Histogram { count, sum, .. } => {
                assert_eq!(count, MESSAGES as u64, "{name}");
                if name.ends_with("_bytes") {
                    // Sizes 0..10, each 70 times.
                    assert_eq!(sum, 45.0 * (MESSAGES / 10) as f64, "{name}");
                }
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// The value of the one series of `family` (the one handler or
/// destination).
fn series(snap: &Snapshot, family: &str) -> ValueSnapshot {
    let f = snap
        .family(family)
        .unwrap_or_else(|| panic!("no family {family}"));
    match f.series.as_slice() {
        [one] => one.value.clone(),
        other => panic!("{family}: {} series", other.len()),
    }
}
