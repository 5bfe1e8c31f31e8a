//! `AsyncPusher` from tokio tasks against the real gateway.

use std::sync::{Arc, LazyLock};

use hotmetrics_core::{Buckets, Registry};
use hotmetrics_push::{Error, Format};

use crate::gateway::{Gateway, lines};

#[tokio::test]
async fn push_push_add_and_delete_from_a_task() {
    let gw = Gateway::start();
    for (format, job) in [
        (Format::Protobuf, "async_proto"),
        (Format::Text, "async_text"),
    ] {
        let registry = Registry::new();
        let sent = registry.counter(("sent", "Messages sent.")).unwrap();
        sent.inc_by(3);
        registry
            .histogram(
                ("wait_seconds", "Time in queue."),
                Buckets::new(vec![1.0]).unwrap(),
            )
            .unwrap()
            .observe(0.5);
        let pusher = gw
            .pusher(job)
            .grouping("instance", "a1")
            .format(format)
            .build_async()
            .unwrap();
        assert_eq!(pusher.format(), format);

        // An owned registry (a clone is an `Arc` clone).
        pusher.push(registry.clone()).await.unwrap();
        let l = |s: &str| s.replace("JOB", job);
        let want = [
            "sent_total{instance=\"a1\",job=\"JOB\"} 3",
            "wait_seconds_bucket{instance=\"a1\",job=\"JOB\",le=\"1\"} 1",
            "wait_seconds_bucket{instance=\"a1\",job=\"JOB\",le=\"+Inf\"} 1",
            "wait_seconds_count{instance=\"a1\",job=\"JOB\"} 1",
            "wait_seconds_sum{instance=\"a1\",job=\"JOB\"} 0.5",
        ]
        .map(l);
        assert_eq!(
            gw.group(job),
            lines(&want.each_ref().map(String::as_str)),
            "{format:?}"
        );

        // POST from an `Arc`: replaces only the family it carries.
        let more = Registry::new();
        more.gauge(("in_flight", "In flight.")).unwrap().set(-2);
        pusher.push_add(Arc::new(more)).await.unwrap();
        let group = gw.group(job);
        assert!(
            group.contains(&l("in_flight{instance=\"a1\",job=\"JOB\"} -2")),
            "{group:?}"
        );
        assert!(group.contains(&l("sent_total{instance=\"a1\",job=\"JOB\"} 3")));

        // The pusher's buffers carry the next push's fresh values.
        sent.inc();
        pusher.push(registry).await.unwrap();
        let group = gw.group(job);
        assert!(group.contains(&l("sent_total{instance=\"a1\",job=\"JOB\"} 4")));
        assert!(
            !group.iter().any(|s| s.starts_with("in_flight")),
            "{group:?}"
        );

        pusher.delete().await.unwrap();
        assert_eq!(gw.group_after_delete(job, &[]), Vec::<String>::new());
    }
}

/// A `static` registry, the way many applications keep theirs.
static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let registry = Registry::new();
    registry.gauge(("up", "Up.")).unwrap().set(1);
    registry
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_push_from_many_tasks() {
    let gw = Gateway::start();
    let pusher = gw.pusher("async_tasks").build_async().unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let pusher = pusher.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    pusher.push(&*REGISTRY).await
                } else {
                    pusher.push_add(&*REGISTRY).await
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        gw.group("async_tasks"),
        lines(&["up{instance=\"\",job=\"async_tasks\"} 1"])
    );

    // The gateway's refusals come back as they do from `Pusher`: `up` is
    // a gauge in the other group.
    let clash = Registry::new();
    clash
        .histogram(("up", "Up, as a histogram."), Buckets::default())
        .unwrap()
        .observe(1.0);
    let err = gw
        .pusher("async_other")
        .build_async()
        .unwrap()
        .push(clash)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { code: 400, .. }), "{err:?}");
}
