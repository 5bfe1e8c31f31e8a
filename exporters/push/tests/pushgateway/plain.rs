//! Pushes over plain http, straight to the gateway.

use hotmetrics_core::{Buckets, Registry};
use hotmetrics_push::{Error, Format, Pusher};

use crate::big_registry;
use crate::gateway::{Gateway, PASSWORD, USER, lines};

#[test]
fn push_replaces_the_group_in_both_formats() {
    let gw = Gateway::start();
    for (format, job) in [(Format::Protobuf, "proto"), (Format::Text, "text")] {
        let registry = Registry::new();
        let sent = registry
            .counter_vec(("sent", "Messages sent."), &["queue"])
            .unwrap();
        sent.with(&["a"], |c| c.inc_by(3)).unwrap();
        registry.gauge(("in_flight", "In flight.")).unwrap().set(-7);
        let wait = registry
            .histogram(
                ("wait_seconds", "Time in queue."),
                Buckets::new(vec![0.5, 1.0]).unwrap(),
            )
            .unwrap();
        wait.observe(0.75);

        let mut pusher = gw
            .pusher(job)
            .grouping("instance", "w1")
            .format(format)
            .build()
            .unwrap();
        pusher.push(&registry).unwrap();
        let l = |s: &str| s.replace("JOB", job);
        let want = [
            "in_flight{instance=\"w1\",job=\"JOB\"} -7",
            "sent_total{instance=\"w1\",job=\"JOB\",queue=\"a\"} 3",
            "wait_seconds_bucket{instance=\"w1\",job=\"JOB\",le=\"0.5\"} 0",
            "wait_seconds_bucket{instance=\"w1\",job=\"JOB\",le=\"1\"} 1",
            "wait_seconds_bucket{instance=\"w1\",job=\"JOB\",le=\"+Inf\"} 1",
            "wait_seconds_sum{instance=\"w1\",job=\"JOB\"} 0.75",
            "wait_seconds_count{instance=\"w1\",job=\"JOB\"} 1",
        ]
        .map(l);
        assert_eq!(
            gw.group(job),
            lines(&want.each_ref().map(String::as_str)),
            "{format:?}"
        );
        let metrics = gw.metrics();
        for typ in [
            "# TYPE sent_total counter",
            "# TYPE in_flight gauge",
            "# TYPE wait_seconds histogram",
            "# HELP sent_total Messages sent.",
        ] {
            assert!(
                metrics.contains(typ),
                "{format:?}: no {typ:?} in\n{metrics}"
            );
        }

        // A second push replaces the group: the unregistered family goes.
        assert!(registry.unregister("in_flight"));
        sent.with(&["a"], |c| c.inc()).unwrap();
        pusher.push(&registry).unwrap();
        let group = gw.group(job);
        assert!(
            !group.iter().any(|s| s.starts_with("in_flight")),
            "{group:?}"
        );
        assert!(group.contains(&l("sent_total{instance=\"w1\",job=\"JOB\",queue=\"a\"} 4")));
        assert_eq!(group.len(), 6, "{group:?}");
    }
}

#[test]
fn push_add_replaces_only_the_families_it_pushes() {
    let gw = Gateway::start();
    let first = Registry::new();
    first.gauge(("kept", "k")).unwrap().set(1);
    let b = first.gauge_vec(("replaced", "r"), &["x"]).unwrap();
    b.with(&["1"], |g| g.set(1)).unwrap();
    b.with(&["2"], |g| g.set(2)).unwrap();
    let second = Registry::new();
    let b = second.gauge_vec(("replaced", "r"), &["x"]).unwrap();
    b.with(&["3"], |g| g.set(3)).unwrap();
    second.gauge(("added", "a")).unwrap().set(4);

    let mut pusher = gw.pusher("add").build().unwrap();
    pusher.push(&first).unwrap();
    pusher.push_add(&second).unwrap();
    assert_eq!(
        gw.group("add"),
        lines(&[
            "added{instance=\"\",job=\"add\"} 4",
            "kept{instance=\"\",job=\"add\"} 1",
            // The whole family is replaced, not series by series.
            "replaced{instance=\"\",job=\"add\",x=\"3\"} 3",
        ])
    );
    // PUT drops what the registry lacks.
    pusher.push(&second).unwrap();
    assert_eq!(
        gw.group("add"),
        lines(&[
            "added{instance=\"\",job=\"add\"} 4",
            "replaced{instance=\"\",job=\"add\",x=\"3\"} 3",
        ])
    );
}

#[test]
fn delete_removes_only_its_group() {
    let gw = Gateway::start();
    let registry = Registry::new();
    registry.gauge(("up", "u")).unwrap().set(1);
    let mut one = gw.pusher("del").grouping("instance", "1").build().unwrap();
    let mut two = gw.pusher("del").grouping("instance", "2").build().unwrap();
    one.push(&registry).unwrap();
    two.push(&registry).unwrap();
    assert_eq!(gw.group("del").len(), 2);
    one.delete().unwrap();
    let two_left = lines(&["up{instance=\"2\",job=\"del\"} 1"]);
    assert_eq!(gw.group_after_delete("del", &two_left), two_left);
    // Deleting a group that does not exist is no error.
    one.delete().unwrap();
    two.delete().unwrap();
    assert_eq!(gw.group_after_delete("del", &[]), Vec::<String>::new());
    assert!(!gw.metrics().contains("job=\"del\""));
}

#[test]
fn awkward_grouping_values_round_trip() {
    let gw = Gateway::start();
    let registry = Registry::new();
    registry.gauge(("up", "u")).unwrap().set(1);
    for format in [Format::Protobuf, Format::Text] {
        let mut pusher = gw
            .pusher("batch/nightly")
            .grouping("path", "/var/tmp")
            .grouping("empty", "")
            .grouping("dot", ".")
            .grouping("dots", "..")
            .grouping("text", "é %?#&+=\"")
            .format(format)
            .build()
            .unwrap();
        assert!(
            pusher
                .url()
                .contains("/metrics/job@base64/YmF0Y2gvbmlnaHRseQ==/")
        );
        pusher.push(&registry).unwrap();
        assert_eq!(
            gw.group("batch/nightly"),
            lines(&[
                "up{dot=\".\",dots=\"..\",empty=\"\",instance=\"\",job=\"batch/nightly\",\
                 path=\"/var/tmp\",text=\"é %?#&+=\\\"\"} 1"
            ]),
            "{format:?}"
        );
        pusher.delete().unwrap();
        let left = gw.group_after_delete("batch/nightly", &[]);
        assert_eq!(left, Vec::<String>::new(), "{format:?}");
    }
}

#[test]
fn gateway_rejections_surface_as_status_errors() {
    let gw = Gateway::start();
    let counter = Registry::new();
    counter.counter(("clash", "c")).unwrap().inc();
    gw.pusher("one").build().unwrap().push(&counter).unwrap();

    // The same name as a gauge in another group: the gateway checks the
    // union of all groups and refuses.
    let gauge = Registry::new();
    gauge.gauge(("clash_total", "g")).unwrap().set(1);
    for format in [Format::Protobuf, Format::Text] {
        let mut pusher = gw.pusher("two").format(format).build().unwrap();
        match pusher.push(&gauge) {
            Err(Error::Status { code, body }) => {
                assert_eq!(code, 400, "{body}");
                assert!(
                    body.contains("inconsistent") && body.contains("clash_total"),
                    "{body}"
                );
                assert_eq!(body, body.trim());
            }
            other => panic!("{format:?}: {other:?}"),
        }
    }
    assert_eq!(gw.group("two"), Vec::<String>::new());
    assert_eq!(
        gw.group("one"),
        lines(&["clash_total{instance=\"\",job=\"one\"} 1"])
    );
}

#[test]
fn a_path_prefix_is_kept() {
    let gw = Gateway::start_with_prefix("/pg");
    let registry = Registry::new();
    registry.gauge(("up", "u")).unwrap().set(1);
    let mut pusher = Pusher::builder(format!("{}/", gw.url()), "prefixed")
        .format(Format::Text)
        .build()
        .unwrap();
    pusher.push(&registry).unwrap();
    assert_eq!(
        gw.group("prefixed"),
        lines(&["up{instance=\"\",job=\"prefixed\"} 1"])
    );
    // Without the prefix the gateway has no such route.
    let mut lost = Pusher::builder(format!("http://127.0.0.1:{}", gw.port), "prefixed")
        .build()
        .unwrap();
    assert!(
        matches!(lost.delete(), Err(Error::Status { code: 404, .. })),
        "expected a 404"
    );
}

#[test]
fn a_large_gzip_push_the_gateway_refuses_gets_its_answer() {
    // The gateway's basic auth answers 401 without reading the body; the
    // 2 MB push compressed fits the 256 KiB it reads of an unread body, so
    // the whole body goes out and the answer comes back.
    let gw = Gateway::start_with_basic_auth();
    let err = gw
        .pusher("big")
        .basic_auth(USER, "wrong")
        .format(Format::Text)
        .gzip(true)
        .build()
        .unwrap()
        .push(&big_registry())
        .unwrap_err();
    assert!(
        matches!(&err, Error::Status { code: 401, body } if body == "Unauthorized"),
        "{err:?}"
    );
}

#[test]
fn a_large_uncompressed_push_the_gateway_refuses_is_a_clear_error() {
    // 2 MB the gateway does not read: it answers 401 and closes. The
    // client gets the answer when it finished writing before the close,
    // otherwise the connection is gone under the body (ClosedEarly); never
    // a success, a hang or another error.
    let gw = Gateway::start_with_basic_auth();
    let err = gw
        .pusher("big")
        .basic_auth(USER, "wrong")
        .format(Format::Text)
        .build()
        .unwrap()
        .push(&big_registry())
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Status { code: 401, .. } | Error::ClosedEarly(_)
        ),
        "{err:?}"
    );
}

#[test]
fn gzip_pushes_arrive_decompressed() {
    let gw = Gateway::start_with_basic_auth();
    for format in [Format::Protobuf, Format::Text] {
        let mut pusher = gw
            .pusher("zipped")
            .basic_auth(USER, PASSWORD)
            .format(format)
            .gzip(true)
            .build()
            .unwrap();
        pusher.push(&big_registry()).unwrap();
        let group = gw.group("zipped");
        let series = group.iter().filter(|l| l.starts_with("big{")).count();
        assert_eq!(series, 10_000, "{format:?}");
        assert!(group.iter().any(|l| l.contains("v=\"9999p")), "{format:?}");
        pusher.delete().unwrap();
        assert_eq!(gw.group_after_delete("zipped", &[]), Vec::<String>::new());
    }
}
