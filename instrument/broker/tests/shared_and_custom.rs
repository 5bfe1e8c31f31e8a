//! Several brokers on one registry's families, and custom labels (static
//! and per message) on all nine: what a text scrape reads, line for line.

use hotmetrics_broker::{Broker, BrokerMetrics};
use hotmetrics_core::{Buckets, Error, Registry};

/// The scrape's sample lines without the histograms' buckets, sums and
/// the duration counts (timing): what the counts are.
fn samples(registry: &Registry) -> Vec<String> {
    let mut buf = bytes::BytesMut::new();
    hotmetrics_text::TextEncoder::new().encode(registry, &mut buf);
    let text = std::str::from_utf8(&buf).expect("the text format is UTF-8");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| !l.contains("_bucket{") && !l.contains("_sum{"))
        .filter(|l| !(l.contains("_seconds_count{")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn kafka_rabbitmq_nats_and_mqtt_share_the_nine_families() {
    let registry = Registry::new();
    let kafka = BrokerMetrics::new(&registry, Broker::Kafka).unwrap();
    let rabbit = BrokerMetrics::new(&registry, Broker::Rabbit).unwrap();
    let mqtt = BrokerMetrics::builder(Broker::Mqtt)
        .app_name("sensors")
        .build(&registry)
        .unwrap();
    assert_eq!(registry.family_names().len(), 9);

    kafka.handler("orders").unwrap().receive(3).ack();
    rabbit.handler("default.orders").unwrap().receive(5).nack();
    let t = mqtt.handler("sensors/+/temp").unwrap();
    t.receive(1).ack();
    t.receive(1).error("ValueError");
    rabbit
        .destination("default.audit")
        .unwrap()
        .publish()
        .success();

    let got = samples(&registry);
    let want = [
        r#"faststream_published_messages_total{app_name="faststream",broker="rabbitmq",destination="default.audit",status="success"} 1"#,
        r#"faststream_published_messages_total{app_name="faststream",broker="rabbitmq",destination="default.audit",status="error"} 0"#,
        r#"faststream_received_messages_total{app_name="faststream",broker="kafka",handler="orders"} 1"#,
        r#"faststream_received_messages_total{app_name="faststream",broker="rabbitmq",handler="default.orders"} 1"#,
        r#"faststream_received_messages_total{app_name="sensors",broker="mqtt",handler="sensors/+/temp"} 2"#,
    ];
    for line in want {
        assert!(got.iter().any(|l| l == line), "missing {line}\nin {got:#?}");
    }
    let size_count = |broker: &str, handler: &str| {
        let app = if broker == "mqtt" {
            "sensors"
        } else {
            "faststream"
        };
        format!(
            r#"faststream_received_messages_size_bytes_count{{app_name="{app}",broker="{broker}",handler="{handler}"}}"#
        )
    };
    assert!(got.contains(&format!("{} 2", size_count("mqtt", "sensors/+/temp"))));
    let processed = |line: &str| got.iter().any(|l| l == line);
    assert!(processed(
        r#"faststream_received_processed_messages_total{app_name="faststream",broker="rabbitmq",handler="default.orders",status="nacked"} 1"#
    ));
    assert!(processed(
        r#"faststream_received_processed_messages_total{app_name="sensors",broker="mqtt",handler="sensors/+/temp",status="error"} 1"#
    ));
    assert!(processed(
        r#"faststream_received_processed_messages_exceptions_total{app_name="sensors",broker="mqtt",handler="sensors/+/temp",exception_type="ValueError"} 1"#
    ));
}

#[test]
fn families_built_with_other_labels_or_buckets_are_refused() {
    let registry = Registry::new();
    let _kafka = BrokerMetrics::builder(Broker::Kafka)
        .label("env", "prod")
        .build(&registry)
        .unwrap();
    // Same custom label names, other value: shared.
    let staging = BrokerMetrics::builder(Broker::Nats)
        .label("env", "staging")
        .build(&registry)
        .unwrap();
    staging.handler("s").unwrap().receive(1).ack();
    let err = BrokerMetrics::new(&registry, Broker::Rabbit).unwrap_err();
    assert!(matches!(err, Error::AlreadyRegistered { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("with custom labels env where none were asked for"),
        "{err}"
    );
    let err = BrokerMetrics::builder(Broker::Rabbit)
        .label("env", "prod")
        .size_buckets(Buckets::new(vec![1.0]).unwrap())
        .build(&registry)
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyRegistered { .. }), "{err}");
    assert_eq!(registry.family_names().len(), 9);
    // Another prefix is another set.
    BrokerMetrics::builder(Broker::Rabbit)
        .prefix("other")
        .build(&registry)
        .unwrap();
    assert_eq!(registry.family_names().len(), 18);
    // Another registry is another set, even with the same prefix.
    let second = Registry::new();
    let _ = BrokerMetrics::new(&second, Broker::Rabbit).unwrap();
    assert_eq!(second.family_names().len(), 9);
}

#[test]
fn custom_labels_static_and_per_message_on_all_nine_families() {
    let registry = Registry::new();
    let metrics = BrokerMetrics::builder(Broker::Rabbit)
        .label("env", "prod")
        .per_message_label("tenant")
        .build(&registry)
        .unwrap();
    let acme = metrics.handler_with("default.in", &["acme"]).unwrap();
    let mut m = acme.receive(100);
    m.exception("ValueError");
    m.ack();
    let out = metrics.destination_with("default.out", &["acme"]).unwrap();
    out.publish().error("ConnectionError");
    metrics
        .handler_with("default.in", &["globex"])
        .unwrap()
        .receive(1)
        .reject();

    let got = samples(&registry);
    let l = r#"app_name="faststream",broker="rabbitmq""#;
    let c = r#"env="prod",tenant="acme""#;
    let want = [
        format!(
            r#"faststream_published_messages_total{{{l},destination="default.out",status="success",{c}}} 0"#
        ),
        format!(
            r#"faststream_published_messages_total{{{l},destination="default.out",status="error",{c}}} 1"#
        ),
        format!(
            r#"faststream_published_messages_exceptions_total{{{l},destination="default.out",exception_type="ConnectionError",{c}}} 1"#
        ),
        format!(r#"faststream_received_messages_total{{{l},handler="default.in",{c}}} 1"#),
        format!(
            r#"faststream_received_messages_size_bytes_count{{{l},handler="default.in",{c}}} 1"#
        ),
        format!(r#"faststream_received_messages_in_process{{{l},handler="default.in",{c}}} 0"#),
        format!(
            r#"faststream_received_processed_messages_total{{{l},handler="default.in",status="acked",{c}}} 1"#
        ),
        format!(
            r#"faststream_received_processed_messages_exceptions_total{{{l},handler="default.in",exception_type="ValueError",{c}}} 1"#
        ),
        format!(
            r#"faststream_received_processed_messages_total{{{l},handler="default.in",status="rejected",env="prod",tenant="globex"}} 1"#
        ),
    ];
    for line in &want {
        assert!(got.contains(line), "missing {line}\nin {got:#?}");
    }
    // The two duration histograms carry them too.
    let mut buf = bytes::BytesMut::new();
    hotmetrics_text::TextEncoder::new().encode(&registry, &mut buf);
    let text = std::str::from_utf8(&buf).unwrap();
    for family in [
        "faststream_received_processed_messages_duration_seconds_count",
        "faststream_published_messages_duration_seconds_count",
    ] {
        let n = text
            .lines()
            .filter(|x| x.starts_with(family) && x.contains(c) && x.ends_with(" 1"))
            .count();
        assert_eq!(n, 1, "{family} with {c}\n{text}");
    }

    // Wrong numbers of values: errors, never panics.
    for values in [&[][..], &["a", "b"][..]] {
        let err = metrics.handler_with("x", values).unwrap_err();
        assert!(
            matches!(&err, Error::LabelCount { expected, got, .. } if expected == &["tenant"] && *got == values.len()),
            "{err}"
        );
        let err = metrics.destination_with("x", values).unwrap_err();
        assert!(matches!(err, Error::LabelCount { .. }), "{err}");
    }
    let err = metrics
        .record_processed(
            "x",
            1,
            std::time::Duration::ZERO,
            hotmetrics_broker::Outcome::Acked,
        )
        .unwrap_err();
    assert!(matches!(err, Error::LabelCount { .. }), "{err}");
    // An invalid custom label name is refused at build time.
    let err = BrokerMetrics::builder(Broker::Rabbit)
        .prefix("p2")
        .label("bad-name", "x")
        .build(&registry)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidLabelName(_)), "{err}");
}

#[test]
fn shared_families_must_agree_on_expiry_and_the_lag_gauge_never_expires() {
    use std::time::Duration;
    let registry = Registry::builder()
        .expire_after(Duration::ZERO)
        .build()
        .unwrap();
    let kafka = BrokerMetrics::new(&registry, Broker::Kafka).unwrap();
    let e = BrokerMetrics::builder(Broker::Rabbit)
        .expire_after(Duration::from_secs(60))
        .build(&registry)
        .expect_err("another expiry than the families have");
    assert!(matches!(e, Error::AlreadyRegistered { .. }), "{e}");
    assert!(e.to_string().contains("expiry"), "{e}");

    kafka.lag("orders").unwrap().set(7);
    kafka.handler("orders").unwrap().receive(3).ack();
    // Two sweeps with nothing changed: the registry's default (zero)
    // expires the handler's series, never the lag.
    registry.expire_idle();
    assert!(registry.expire_idle() > 0);
    let lines = samples(&registry);
    assert_eq!(
        lines,
        [
            "faststream_consumer_lag_messages{app_name=\"faststream\",broker=\"kafka\",handler=\"orders\"} 7"
        ],
        "{lines:#?}"
    );
}
