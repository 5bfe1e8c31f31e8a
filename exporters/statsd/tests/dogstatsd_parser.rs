//! DogStatsD lines through an independent parser (`dogstatsd_parse.py`,
//! from Datadog's documented datagram format; no DogStatsD server is
//! packaged for Debian, npm or PyPI), over UDP and a Unix datagram
//! socket: sanitised names and tags, absolute negative gauges, exact
//! deltas summed over several exports, datagrams within the size, timers
//! (`|ms`) with their sample rate and tags.

mod common;

use common::{DogMetric, DogParser, TempDir};
use hotmetrics_core::{Buckets, Registry};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_statsd::{Dialect, StatsdSink};
use std::collections::BTreeMap;

/// Sends one export through `sink`'s own `send`, and returns what the
/// parser read, datagram by datagram.
fn export(
    sink: &mut StatsdSink,
    registry: &Registry,
    parser: &mut DogParser,
    max: usize,
) -> Vec<DogMetric> {
    let mut batch = Batch::default();
    sink.encode(registry, &mut batch).unwrap();
    let mut metrics = Vec::new();
    for payload in batch.payloads() {
        sink.send(payload).unwrap();
        let datagram = parser.next();
        assert_eq!(datagram.size, payload.bytes.len());
        assert!(datagram.size <= max, "{} > {max}", datagram.size);
        assert_eq!(datagram.metrics.len() as u64, payload.samples);
        metrics.extend(datagram.metrics);
    }
    metrics
}

fn metric(name: &str, value: f64, kind: &str, tags: &[&str]) -> DogMetric {
    DogMetric {
        name: name.into(),
        value,
        kind: kind.into(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    }
}

fn check_tags_and_deltas(mut sink: StatsdSink, parser: &mut DogParser, max: usize) {
    let registry = Registry::new();
    let requests = registry
        .counter_vec(("http:requests", "Requests."), &["path", "code"])
        .unwrap();
    let level = registry.gauge(("level", "A level.")).unwrap();
    let took = registry
        .histogram(("took", "Time."), Buckets::new(vec![0.1, 1.0]).unwrap())
        .unwrap();
    let nasty = requests.get_or_create(&["/a|b@c#d,e\nf:g", "200"]).unwrap();
    let empty = requests.get_or_create(&["", "500"]).unwrap();
    nasty.inc_by(2);
    empty.inc();
    level.set(-4);
    took.observe(0.05);
    took.observe(0.5);
    let first = export(&mut sink, &registry, parser, max);
    assert_eq!(
        first,
        vec![
            metric(
                "http_requests",
                2.0,
                "c",
                &["path:/a_b_c_d_e_f:g", "code:200"]
            ),
            metric("http_requests", 1.0, "c", &["code:500"]),
            metric("level", -4.0, "g", &[]),
            metric("took_count", 2.0, "c", &[]),
            metric("took_sum", 0.55, "c", &[]),
            metric("took_bucket", 1.0, "c", &["le:0.1"]),
            metric("took_bucket", 2.0, "c", &["le:1"]),
        ]
    );

    // Over several exports, the counts the agent sums are the registry's.
    let mut sums: BTreeMap<(String, Vec<String>), f64> = BTreeMap::new();
    for m in &first {
        if m.kind == "c" {
            *sums.entry((m.name.clone(), m.tags.clone())).or_default() += m.value;
        }
    }
    for round in 1..=5u64 {
        nasty.inc_by(round);
        took.observe(2.0);
        for m in export(&mut sink, &registry, parser, max) {
            assert_eq!(m.kind, "c", "only counters changed: {m:?}");
            *sums.entry((m.name, m.tags)).or_default() += m.value;
        }
    }
    let key = |name: &str, tags: &[&str]| {
        (
            name.to_owned(),
            tags.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        sums[&key("http_requests", &["path:/a_b_c_d_e_f:g", "code:200"])],
        17.0
    );
    assert_eq!(sums[&key("http_requests", &["code:500"])], 1.0);
    assert_eq!(sums[&key("took_count", &[])], 7.0);
    assert_eq!(
        sums[&key("took_bucket", &["le:1"])],
        2.0,
        "2.0 is over le=1"
    );
    assert!((sums[&key("took_sum", &[])] - 10.55).abs() < 1e-9);
}

#[test]
fn dogstatsd_over_udp_parses_with_sanitised_tags_and_exact_deltas() {
    let mut parser = DogParser::start(None);
    let sink = StatsdSink::udp(format!("127.0.0.1:{}", parser.address))
        .dialect(Dialect::DogStatsd)
        .build()
        .unwrap();
    check_tags_and_deltas(sink, &mut parser, 1432);
}

#[test]
fn dogstatsd_over_a_unix_socket() {
    let dir = TempDir::new("dsd");
    let path = dir.0.join("dsd.socket");
    let mut parser = DogParser::start(Some(&path));
    let sink = StatsdSink::unix(&path)
        .dialect(Dialect::DogStatsd)
        .max_packet_size(120)
        .build()
        .unwrap();
    check_tags_and_deltas(sink, &mut parser, 120);
}

#[test]
fn many_tagged_series_fill_datagrams_to_the_default_size() {
    let mut parser = DogParser::start(None);
    let mut sink = StatsdSink::udp(format!("127.0.0.1:{}", parser.address))
        .dialect(Dialect::DogStatsd)
        .build()
        .unwrap();
    let registry = Registry::new();
    let family = registry
        .gauge_vec(("queue_depth", "Depth."), &["queue", "shard"])
        .unwrap();
    for i in 0..1000i64 {
        let q = format!("queue-{i:04}");
        family.get_or_create(&[&q, "s1"]).unwrap().set(i);
    }
    let got = export(&mut sink, &registry, &mut parser, 1432);
    assert_eq!(got.len(), 1000);
    for (i, m) in got.iter().enumerate() {
        let q = format!("queue:queue-{i:04}");
        assert_eq!(*m, metric("queue_depth", i as f64, "g", &[&q, "shard:s1"]));
    }
}

#[test]
fn constant_tags_go_on_every_line_and_yield_to_the_series_own() {
    let mut parser = DogParser::start(None);
    let mut sink = StatsdSink::udp(format!("127.0.0.1:{}", parser.address))
        .dialect(Dialect::DogStatsd)
        .tags([("env", "prod"), ("team", "a|b,c#d e")])
        .tags([("region", "eu-west/1:a")])
        .build()
        .unwrap();
    let registry = Registry::new();
    let requests = registry
        .counter_vec(("requests", "Requests."), &["path", "env"])
        .unwrap();
    let took = registry
        .histogram(("took", "Time."), Buckets::new(vec![0.5]).unwrap())
        .unwrap();
    requests
        .get_or_create(&["/a", "staging"])
        .unwrap()
        .inc_by(3);
    requests.get_or_create(&["/b", ""]).unwrap().inc();
    took.observe(0.25);
    let constant = ["env:prod", "team:a_b_c_d_e", "region:eu-west/1:a"];
    let with = |own: &[&str], last: &[&str]| -> Vec<String> {
        let mut tags: Vec<String> = own.iter().map(|t| (*t).to_owned()).collect();
        tags.extend(constant.iter().map(|t| (*t).to_owned()));
        tags.extend(last.iter().map(|t| (*t).to_owned()));
        tags
    };
    let got = export(&mut sink, &registry, &mut parser, 1432);
    let want = vec![
        DogMetric {
            name: "requests".into(),
            value: 3.0,
            kind: "c".into(),
            // The series' own `env` wins over the constant one.
            tags: [
                "path:/a",
                "env:staging",
                "team:a_b_c_d_e",
                "region:eu-west/1:a",
            ]
            .map(str::to_owned)
            .to_vec(),
        },
        DogMetric {
            name: "requests".into(),
            value: 1.0,
            kind: "c".into(),
            // An empty `env` is no label: the constant one applies.
            tags: with(&["path:/b"], &[]),
        },
        metric("took_count", 1.0, "c", &[]),
        metric("took_sum", 0.25, "c", &[]),
        DogMetric {
            name: "took_bucket".into(),
            value: 1.0,
            kind: "c".into(),
            tags: with(&[], &["le:0.5"]),
        },
    ];
    let want: Vec<DogMetric> = want
        .into_iter()
        .map(|mut m| {
            if m.tags.is_empty() {
                m.tags = with(&[], &[]);
            }
            m
        })
        .collect();
    assert_eq!(got, want);
    // Later exports carry them too.
    requests.get_or_create(&["/b", ""]).unwrap().inc();
    let got = export(&mut sink, &registry, &mut parser, 1432);
    assert_eq!(
        got,
        vec![metric("requests", 1.0, "c", &[])]
            .into_iter()
            .map(|mut m| {
                m.tags = with(&["path:/b"], &[]);
                m
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn constant_tags_are_checked_at_build() {
    let build = |dialect, tags: &[(&str, &str)]| {
        StatsdSink::udp("127.0.0.1:8125")
            .dialect(dialect)
            .tags(tags.iter().copied())
            .build()
    };
    let dog = Dialect::DogStatsd;
    for (dialect, tags, want) in [
        (
            Dialect::Plain,
            &[("env", "prod")][..],
            "plain StatsD has no tags",
        ),
        (dog, &[("", "x")], "starts with a letter"),
        (dog, &[("1env", "x")], "starts with a letter"),
        (dog, &[("e:nv", "x")], "holds only"),
        (dog, &[("le", "x")], "the sink's own tag"),
        (dog, &[("quantile", "x")], "the sink's own tag"),
        (dog, &[("env", "")], "an empty value"),
        (dog, &[("env", "a"), ("env", "b")], "given twice"),
    ] {
        match build(dialect, tags) {
            Err(e @ hotmetrics_statsd::Error::Tag { .. }) => {
                assert!(e.to_string().contains(want), "{tags:?}: {e}")
            }
            other => panic!("{tags:?}: {other:?}"),
        }
    }
    assert!(build(Dialect::Plain, &[]).is_ok());
    assert!(build(dog, &[("env", "prod"), ("a.b/c-d_e", "v")]).is_ok());
}

#[test]
fn dogstatsd_timers_parse_with_their_rate_and_tags() {
    let mut parser = DogParser::start(None);
    let timings = hotmetrics_statsd::Timings::with_capacity(2);
    let took = timings.timer("took-ms").unwrap();
    let mut sink = StatsdSink::udp(format!("127.0.0.1:{}", parser.address))
        .dialect(Dialect::DogStatsd)
        .prefix("app")
        .tags([("env", "prod")])
        .max_packet_size(64)
        .timings(timings.clone())
        .build()
        .unwrap();
    for v in [0.25, 1e-7, 3.0] {
        took.record_ms(v);
    }
    let got = export(&mut sink, &Registry::new(), &mut parser, 64);
    // 2 of 3 kept, weighing 2 and 1: `|@0.5` is parsed (and checked) too.
    let want: Vec<DogMetric> = [0.25, 1e-7]
        .into_iter()
        .map(|v| metric("app.took_ms", v, "ms", &["env:prod"]))
        .collect();
    assert_eq!(got, want);
    took.record_ms(12.5);
    let got = export(&mut sink, &Registry::new(), &mut parser, 64);
    assert_eq!(got, [metric("app.took_ms", 12.5, "ms", &["env:prod"])]);
}
