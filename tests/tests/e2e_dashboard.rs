//! Grafana dashboard 22130 ("FastStream Metrics") on the real-broker
//! example, not the simulated demo: `broker_clients` runs against
//! RabbitMQ and against NATS JetStream (the servers
//! `instrument/broker/servers.sh` starts, at `HOTMETRICS_RABBITMQ_URL` and
//! `HOTMETRICS_NATS_URL`; the test fails without them), a real Prometheus
//! scrapes both every second, and every panel query and every
//! template-variable query of the dashboard is evaluated through
//! Prometheus' HTTP API with the variables substituted as Grafana does:
//! `${metrics_prefix}` is `faststream` (the textbox's default), `$__range`
//! is `21600s` (the default time range, the last 6 hours), and
//! `$app_name`, `$handler` and `$destination` (multi-value, with "All")
//! are `.+` (their `allValue`) or the values selected, each escaped for a
//! regex and joined as `(a|b)` (Grafana's Prometheus data source,
//! `interpolateQueryExpr`). The dashboard uses fixed `[1m]` windows, no
//! `$__rate_interval`. Each query runs once with every variable at "All"
//! and once per broker with its own values selected; each must return a
//! non-empty result over exactly the series selected, with plausible
//! values: totals and rates above zero where the example's traffic has
//! them and zero where it has none (no `skipped` or `error` statuses; no
//! successful publish to the refused destinations), quantiles within the
//! histograms' buckets, averages under a second, the shares of each status
//! those of the example's outcome mix, and only FastStream's statuses.
//!
//! The queries are the dashboard's own, transcribed in `PANELS` and
//! `VARIABLES` from `grafana/dashboards/faststream.json` of
//! github.com/draincoder/faststream-monitoring (commit 5aedd3c, "FastStream
//! Metrics", version 3), the monitoring example of the author of
//! FastStream's Prometheus middleware, whose README links dashboard 22130.
//! The panels' instant values are checked (Grafana's range queries end
//! with them).

use hotmetrics_tests::e2e::{Example, Prometheus, Sample, build_example, wait_for};
use std::collections::BTreeSet;
use std::time::Duration;

const JOB: &str = "broker_clients";
const FEATURES: &str = "http,broker-lapin,broker-nats,broker-redis,broker-mqtt,broker-kafka";
/// `${metrics_prefix}`: the textbox's default, the example's prefix.
const PREFIX: &str = "faststream";
/// `$__range` of Grafana's default time range, the last 6 hours.
const RANGE: &str = "21600s";
/// FastStream's receive statuses.
const STATUSES: [&str; 5] = ["acked", "nacked", "rejected", "skipped", "error"];
/// The statuses the example's outcome mix gives.
const MIX_STATUSES: [&str; 3] = ["acked", "nacked", "rejected"];

/// A broker the example runs against, and the label values it writes.
struct Run {
    broker: &'static str,
    url_var: &'static str,
    handler: &'static str,
    /// Where the consumer reads.
    consumed: &'static str,
    /// Where the publishes that are refused go.
    refused: &'static str,
}

const RUNS: [Run; 2] = [
    Run {
        broker: "rabbitmq",
        url_var: "HOTMETRICS_RABBITMQ_URL",
        handler: "default.hotmetrics-example",
        consumed: "default.hotmetrics-example",
        refused: "default.hotmetrics-example-unrouted",
    },
    Run {
        broker: "nats",
        url_var: "HOTMETRICS_NATS_URL",
        handler: "hotmetrics.example.orders",
        consumed: "hotmetrics.example.orders",
        refused: "hotmetrics.nowhere",
    },
];

/// Inclusive bounds of a value (NaN is in none).
#[derive(Clone, Copy, Debug)]
struct Bounds(f64, f64);

impl Bounds {
    fn check(self, what: &str, value: f64) -> Result<(), String> {
        if (self.0..=self.1).contains(&value) {
            Ok(())
        } else {
            Err(format!(
                "{what}: {value} outside [{:?}, {:?}]",
                self.0, self.1
            ))
        }
    }
}

const POSITIVE: Bounds = Bounds(f64::MIN_POSITIVE, f64::MAX);
const ZERO: Bounds = Bounds(0.0, 0.0);
/// Messages per second: the example publishes one every 5 ms at most.
const RATE: Bounds = Bounds(f64::MIN_POSITIVE, 250.0);
/// A 99th percentile of a duration histogram: within its finite buckets.
const P99_SECONDS: Bounds = Bounds(f64::MIN_POSITIVE, 10.0);
/// An average publish or handling time on a local broker.
const AVERAGE_SECONDS: Bounds = Bounds(f64::MIN_POSITIVE, 1.0);

/// What a panel's result must be.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// One value.
    One(Bounds),
    /// One value per selected handler.
    PerHandler(Bounds),
    /// One value per selected destination: those the consumer reads, and
    /// those of the refused publishes.
    PerDestination { consumed: Bounds, refused: Bounds },
    /// One rate per selected destination and publish status: positive for
    /// the publishes the example makes (consumed: `success`, refused:
    /// `error`), zero for the others.
    PublishRates,
    /// One rate per selected handler and FastStream status: positive for
    /// the outcome mix's statuses, zero for the others.
    ProcessRates,
}

/// A panel's query, as the dashboard has it.
struct Panel {
    title: &'static str,
    expr: &'static str,
    expect: Expect,
}

const PANELS: &[Panel] = &[
    Panel {
        title: "Total messages published",
        expr: r#"sum(increase({app_name=~"$app_name", __name__=~"${metrics_prefix}_published_messages_total", destination=~"$destination"} [$__range]))"#,
        expect: Expect::One(POSITIVE),
    },
    Panel {
        title: "Messages published",
        expr: r#"increase({app_name=~"$app_name", __name__=~"${metrics_prefix}_published_messages_total", status="success", destination=~"$destination"} [$__range])"#,
        expect: Expect::PerDestination {
            consumed: POSITIVE,
            refused: ZERO,
        },
    },
    Panel {
        title: "Total messages received",
        expr: r#"sum(increase({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_messages_total", handler=~"$handler"} [$__range]))"#,
        expect: Expect::One(POSITIVE),
    },
    Panel {
        title: "Total messages processed",
        expr: r#"sum(increase({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_total", handler=~"$handler"} [$__range]))"#,
        expect: Expect::One(POSITIVE),
    },
    Panel {
        title: "Messages processed",
        expr: r#"increase({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_total", status="acked", handler=~"$handler"} [$__range])"#,
        expect: Expect::PerHandler(POSITIVE),
    },
    Panel {
        title: "Publish exceptions",
        expr: r#"sum(increase({app_name=~"$app_name", __name__=~"${metrics_prefix}_published_messages_exceptions_total", destination=~"$destination"} [$__range]))"#,
        expect: Expect::One(POSITIVE),
    },
    Panel {
        title: "Publish average duration",
        expr: r#"{app_name=~"$app_name", __name__=~"${metrics_prefix}_published_messages_duration_seconds_sum", destination=~"$destination"} / {app_name=~"$app_name", __name__=~"${metrics_prefix}_published_messages_duration_seconds_count", destination=~"$destination"}"#,
        expect: Expect::PerDestination {
            consumed: AVERAGE_SECONDS,
            refused: AVERAGE_SECONDS,
        },
    },
    Panel {
        title: "Process exceptions",
        expr: r#"sum(increase({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_exceptions_total", handler=~"$handler"} [$__range]))"#,
        expect: Expect::One(POSITIVE),
    },
    Panel {
        title: "Messages in progress",
        expr: r#"sum({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_messages_in_process", handler=~"$handler"})"#,
        // Each consumer settles one message at a time.
        expect: Expect::One(Bounds(0.0, RUNS.len() as f64)),
    },
    Panel {
        title: "Process average duration",
        expr: r#"{app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_duration_seconds_sum", handler=~"$handler"} / {app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_duration_seconds_count", handler=~"$handler"}"#,
        expect: Expect::PerHandler(AVERAGE_SECONDS),
    },
    Panel {
        title: "Publish per sec",
        expr: r#"rate({app_name=~"$app_name", __name__=~"${metrics_prefix}_published_messages_total", destination=~"$destination"} [1m])"#,
        expect: Expect::PublishRates,
    },
    Panel {
        title: "Process per sec",
        expr: r#"rate({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_total", handler=~"$handler"} [1m])"#,
        expect: Expect::ProcessRates,
    },
    Panel {
        title: "Messages in process",
        expr: r#"{app_name=~"$app_name", __name__=~"${metrics_prefix}_received_messages_in_process", handler=~"$handler"}"#,
        expect: Expect::PerHandler(Bounds(0.0, 1.0)),
    },
    Panel {
        title: "Publish duration [PR 99]",
        expr: r#"histogram_quantile(.99,sum(rate({app_name=~"$app_name", __name__=~"${metrics_prefix}_published_messages_duration_seconds_bucket", destination=~"$destination"} [1m])) by(destination, le))"#,
        expect: Expect::PerDestination {
            consumed: P99_SECONDS,
            refused: P99_SECONDS,
        },
    },
    Panel {
        title: "Process duration [PR 99]",
        expr: r#"histogram_quantile(.99,sum(rate({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_duration_seconds_bucket", handler=~"$handler"} [1m])) by(handler, le))"#,
        expect: Expect::PerHandler(P99_SECONDS),
    },
    Panel {
        title: "Received message size [PR 99]",
        expr: r#"histogram_quantile(.99,sum(rate({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_messages_size_bytes_bucket", handler=~"$handler"} [1m])) by(handler, le))"#,
        // Bodies are message numbers, a few bytes: the first bucket, 16.
        expect: Expect::PerHandler(Bounds(f64::MIN_POSITIVE, 16.0)),
    },
    Panel {
        title: "Percent of acked messages",
        expr: r#"sum by(handler) ({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_total", status="acked", handler=~"$handler"}) / sum by(handler) ({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_total", handler=~"$handler"})"#,
        // 7 in 10 (NATS: 8 in 11, a nacked message acked when it comes
        // again).
        expect: Expect::PerHandler(Bounds(0.6, 0.8)),
    },
    Panel {
        title: "Percent of error messages",
        expr: r#"sum by(handler) ({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_total", status="error", handler=~"$handler"}) / sum by(handler) ({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_total", handler=~"$handler"})"#,
        expect: Expect::PerHandler(ZERO),
    },
    Panel {
        title: "Percent of nacked, rejected, skipped messages",
        expr: r#"sum by(handler) ({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_total", status=~"nacked|rejected|skipped", handler=~"$handler"}) / sum by(handler) ({app_name=~"$app_name", __name__=~"${metrics_prefix}_received_processed_messages_total", handler=~"$handler"})"#,
        // 3 in 10 (NATS: 3 in 11).
        expect: Expect::PerHandler(Bounds(0.2, 0.4)),
    },
];

/// A template variable's query: `label_values(selector, label)`, or
/// `label_values(label)` without a selector.
struct Variable {
    name: &'static str,
    label: &'static str,
    selector: Option<&'static str>,
}

const VARIABLES: &[Variable] = &[
    // The query Grafana runs...
    Variable {
        name: "app_name",
        label: "app_name",
        selector: None,
    },
    // ...and the variable's `definition`, which older editors run.
    Variable {
        name: "app_name (definition)",
        label: "app_name",
        selector: Some(
            r#"{__name__=~"${metrics_prefix}_published_messages_total|${metrics_prefix}_received_messages_total"}"#,
        ),
    },
    Variable {
        name: "destination",
        label: "destination",
        selector: Some(
            r#"{__name__=~"${metrics_prefix}_published_messages_total", app_name=~"$app_name"}"#,
        ),
    },
    Variable {
        name: "handler",
        label: "handler",
        selector: Some(
            r#"{__name__=~"${metrics_prefix}_received_messages_total", app_name=~"$app_name"}"#,
        ),
    },
];

/// A multi-value variable with "All": all (its `allValue`, `.+`), or the
/// values selected.
#[derive(Clone, Debug)]
enum Choice {
    All,
    Values(Vec<&'static str>),
}

impl Choice {
    /// What Grafana writes for it in a regex matcher.
    fn interpolated(&self) -> String {
        match self {
            Self::All => ".+".to_owned(),
            Self::Values(values) => match &values[..] {
                [one] => regex_escaped(one),
                many => {
                    let escaped: Vec<String> = many.iter().map(|v| regex_escaped(v)).collect();
                    format!("({})", escaped.join("|"))
                }
            },
        }
    }

    /// The values selected, of `all` those there are.
    fn selected(&self, all: &[&'static str]) -> BTreeSet<&'static str> {
        match self {
            Self::All => all.iter().copied().collect(),
            Self::Values(values) => values.iter().copied().collect(),
        }
    }
}

/// Grafana's `prometheusSpecialRegexEscape`: a backslash doubled twice,
/// each regex metacharacter behind two backslashes (one for the PromQL
/// string, one for the regex).
fn regex_escaped(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\\\"),
            '$' | '^' | '*' | '{' | '}' | '[' | ']' | '\'' | '+' | '?' | '.' | '(' | ')' | '|' => {
                out.push_str(r"\\");
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The dashboard's variables as a user set them.
#[derive(Clone, Debug)]
struct Selection {
    app_name: Choice,
    handler: Choice,
    destination: Choice,
}

impl Selection {
    fn all() -> Self {
        Self {
            app_name: Choice::All,
            handler: Choice::All,
            destination: Choice::All,
        }
    }

    /// One broker's handler and destinations, selected from the lists.
    fn of(run: &Run) -> Self {
        Self {
            app_name: Choice::Values(vec![PREFIX]),
            handler: Choice::Values(vec![run.handler]),
            destination: Choice::Values(vec![run.consumed, run.refused]),
        }
    }

    /// `expr` with the variables substituted.
    fn substitute(&self, expr: &str) -> String {
        expr.replace("${metrics_prefix}", PREFIX)
            .replace("$__range", RANGE)
            .replace("$app_name", &self.app_name.interpolated())
            .replace("$handler", &self.handler.interpolated())
            .replace("$destination", &self.destination.interpolated())
    }

    fn handlers(&self) -> BTreeSet<&'static str> {
        self.handler.selected(&RUNS.map(|r| r.handler))
    }

    fn destinations(&self) -> BTreeSet<&'static str> {
        let all: Vec<&str> = RUNS.iter().flat_map(|r| [r.consumed, r.refused]).collect();
        self.destination.selected(&all)
    }
}

fn is_refused(destination: &str) -> bool {
    RUNS.iter().any(|r| r.refused == destination)
}

/// The values of `labels` of each sample, which must be exactly
/// `expected`, each once.
fn keyed(
    samples: &[Sample],
    labels: &[&str],
    expected: BTreeSet<Vec<String>>,
) -> Result<Vec<(Vec<String>, f64)>, String> {
    let keys: Vec<Vec<String>> = samples
        .iter()
        .map(|s| labels.iter().map(|l| s.label(l).to_owned()).collect())
        .collect();
    let distinct: BTreeSet<Vec<String>> = keys.iter().cloned().collect();
    if distinct != expected || distinct.len() != keys.len() {
        return Err(format!(
            "series by {labels:?}: {keys:?}, expected one each of {expected:?}"
        ));
    }
    Ok(keys
        .into_iter()
        .zip(samples.iter().map(|s| s.value))
        .collect())
}

/// `samples` as `expect` says they must be under `selection`.
fn verify(expect: Expect, samples: &[Sample], selection: &Selection) -> Result<(), String> {
    let handlers = selection.handlers();
    let destinations = selection.destinations();
    let one_each = |set: &BTreeSet<&str>| set.iter().map(|v| vec![v.to_string()]).collect();
    let pairs = |set: &BTreeSet<&str>, statuses: &[&str]| {
        set.iter()
            .flat_map(|v| {
                statuses
                    .iter()
                    .map(move |s| vec![v.to_string(), s.to_string()])
            })
            .collect()
    };
    match expect {
        Expect::One(bounds) => match samples {
            [s] => bounds.check("the value", s.value),
            _ => Err(format!("{} values, expected one", samples.len())),
        },
        Expect::PerHandler(bounds) => keyed(samples, &["handler"], one_each(&handlers))?
            .into_iter()
            .try_for_each(|(key, v)| bounds.check(&key[0], v)),
        Expect::PerDestination { consumed, refused } => {
            keyed(samples, &["destination"], one_each(&destinations))?
                .into_iter()
                .try_for_each(|(key, v)| {
                    let bounds = if is_refused(&key[0]) {
                        refused
                    } else {
                        consumed
                    };
                    bounds.check(&key[0], v)
                })
        }
        Expect::PublishRates => {
            let expected = pairs(&destinations, &["success", "error"]);
            keyed(samples, &["destination", "status"], expected)?
                .into_iter()
                .try_for_each(|(key, v)| {
                    let published = is_refused(&key[0]) == (key[1] == "error");
                    let bounds = if published { RATE } else { ZERO };
                    bounds.check(&key.join(" "), v)
                })
        }
        Expect::ProcessRates => {
            keyed(samples, &["handler", "status"], pairs(&handlers, &STATUSES))?
                .into_iter()
                .try_for_each(|(key, v)| {
                    let bounds = if MIX_STATUSES.contains(&key[1].as_str()) {
                        RATE
                    } else {
                        ZERO
                    };
                    bounds.check(&key.join(" "), v)
                })
        }
    }
}

/// Every panel's query under `selection`: the first that fails, with why.
fn check_panels(prometheus: &Prometheus, selection: &Selection) -> Result<(), String> {
    for panel in PANELS {
        let promql = selection.substitute(panel.expr);
        let samples = prometheus.query(&promql)?;
        verify(panel.expect, &samples, selection)
            .map_err(|e| format!("panel {:?} ({promql}): {e}", panel.title))?;
    }
    Ok(())
}

/// Every variable's query (the others at "All"): exactly the values the
/// examples write.
fn check_variables(prometheus: &Prometheus) -> Result<(), String> {
    let all = Selection::all();
    for variable in VARIABLES {
        let selector = variable.selector.map(|s| all.substitute(s));
        let found: BTreeSet<String> = prometheus
            .label_values(variable.label, selector.as_deref())?
            .into_iter()
            .collect();
        let expected = match variable.label {
            "handler" => all.handlers(),
            "destination" => all.destinations(),
            _ => [PREFIX].into(),
        };
        let expected: BTreeSet<String> = expected.into_iter().map(str::to_owned).collect();
        if found != expected {
            return Err(format!(
                "variable {} ({selector:?}): {found:?}, expected {expected:?}",
                variable.name
            ));
        }
    }
    Ok(())
}

/// The server `run` needs, from its environment variable: a test that
/// fails without it.
fn broker_url(run: &Run) -> String {
    std::env::var(run.url_var).unwrap_or_else(|_| {
        panic!(
            "{} is not set: this test needs the {} server instrument/broker/servers.sh starts \
             (`. instrument/broker/servers.sh; brokers_start; brokers_wait`, or ./test.sh)",
            run.url_var, run.broker
        )
    })
}

fn start_example(exe: &std::path::Path, run: &Run, url: &str) -> Example {
    let args = [
        "--broker",
        run.broker,
        "--url",
        url,
        "--addr",
        "127.0.0.1:0",
        "--seconds",
        "120",
        "--interval-ms",
        "5",
    ];
    Example::start(exe, &args, "faststream_received_messages_total{")
}

#[test]
fn dashboard_22130_queries_answer_on_the_real_broker_example() {
    let urls: Vec<String> = RUNS.iter().map(broker_url).collect();
    let exe = build_example(JOB, FEATURES);
    let examples: Vec<Example> = RUNS
        .iter()
        .zip(&urls)
        .map(|(run, url)| start_example(&exe, run, url))
        .collect();
    let targets: Vec<_> = examples.iter().map(|e| e.addr).collect();
    let prometheus = Prometheus::start(JOB, &targets, false);
    let context = || {
        let outputs: Vec<String> = examples.iter().map(Example::output).collect();
        format!(
            "\n--- prometheus log (tail):\n{}\n--- the examples' output:\n{}",
            prometheus.log_tail(),
            outputs.join("\n")
        )
    };

    // Five scrapes of each target, so that the [1m] rates have samples.
    let scrapes = format!(r#"count_over_time(up{{job="{JOB}"}}[1m]) >= 5"#);
    wait_for(
        Duration::from_secs(30),
        "5 scrapes of each",
        || match prometheus.query(&scrapes)?.len() {
            n if n == RUNS.len() => Ok(()),
            n => Err(format!("{n} targets scraped 5 times{}", context())),
        },
    );
    let up = prometheus.query(&format!(r#"up{{job="{JOB}"}} == 1"#));
    assert_eq!(
        up.map(|s| s.len()),
        Ok(RUNS.len()),
        "a target is down{}",
        context()
    );

    let selections: Vec<Selection> = std::iter::once(Selection::all())
        .chain(RUNS.iter().map(Selection::of))
        .collect();
    // Retried for a few seconds, as a dashboard refreshes: the first
    // seconds of a run may not have every outcome in each window yet (a
    // NATS nak comes back a second later).
    wait_for(Duration::from_secs(15), "the dashboard's queries", || {
        check_variables(&prometheus)
            .and_then(|()| {
                selections
                    .iter()
                    .try_for_each(|s| check_panels(&prometheus, s))
            })
            .map_err(|e| format!("{e}{}", context()))
    });
    eprintln!(
        "dashboard 22130: {} variable queries and {} panel queries under {} selections answered",
        VARIABLES.len(),
        PANELS.len(),
        selections.len()
    );
}
