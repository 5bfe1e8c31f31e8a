//! Exemplars and native histograms read by tools nobody on this team wrote:
//! Python `prometheus_client`'s strict OpenMetrics parser (exemplars on
//! counters and buckets, as recorded) and `protoc --decode` with
//! client_model's `metrics.proto` (exemplars, native fields, native
//! exemplars, the no-op span), for the fixed-value registry
//! `fixture::exemplars` and for live counters.
//!
//! A missing tool fails the test (never skips it): `./test.sh --setup`
//! installs them.

use hotmetrics::Registry;
use hotmetrics_tests::fixture::{self, CREATED};
use hotmetrics_tests::proto::{self, MetricFamily};
use hotmetrics_tests::tools::{protoc_decode, python_exemplars};

fn strict_exemplars(registry: &Registry) -> Vec<String> {
    let om = fixture::encode_openmetrics(registry);
    python_exemplars(&om).unwrap_or_else(|e| {
        panic!(
            "prometheus_client.openmetrics.parser rejected our output: {e}\n{}",
            String::from_utf8_lossy(&om)
        )
    })
}

#[test]
fn strict_python_parser_reads_the_exemplars_as_recorded() {
    assert_eq!(
        strict_exemplars(&fixture::exemplars()),
        [
            "jobs_total\tqueue=\"a\"\ttrace_id=\"4bf92f3577b34da6\",note=\"say \\\"hi\\\"\\\\\\n\"\t3.0\t1700000123.500000000",
            "wait_seconds_bucket\tle=\"0.1\"\ttrace_id=\"b-0.1\"\t0.05\t-",
            "wait_seconds_bucket\tle=\"+Inf\"\ttrace_id=\"b-inf\"\t12.5\t1700000123.500000000",
            "latency_seconds_bucket\tkind=\"native\",le=\"+Inf\"\ttrace_id=\"n-3\"\t3.0\t1700000123.500000000",
        ]
    );
}

/// Live counters: what `inc_with_exemplar` records is what the strict
/// parser reads, the longest label set OpenMetrics allows included, and a
/// refused one leaves the previous exemplar in the output.
#[test]
fn strict_python_parser_reads_live_counter_exemplars() {
    let registry = Registry::new();
    let jobs = registry
        .counter_vec(("jobs_total", "Jobs."), &["queue"])
        .unwrap();
    let longest = "é".repeat(120); // 8 + 120 = 128 characters
    jobs.with(&["a"], |c| {
        c.inc_by_with_exemplar(4, &[("trace_id", longest.as_str())])
    })
    .unwrap()
    .unwrap();
    let too_long = format!("{longest}x");
    let refused = jobs
        .with(&["a"], |c| c.inc_with_exemplar(&[("trace_id", &too_long)]))
        .unwrap();
    assert!(refused.is_err());
    let busy = registry
        .counter_f64(("busy_seconds_total", "Busy."))
        .unwrap();
    // prometheus_client 0.26 toggles "inside quotes" on every `"` of an
    // exemplar, escaped or not, so it refuses a value with an odd number
    // of escaped quotes (`"a\"b"`), which OpenMetrics allows; the fixed
    // registry's exemplar has two. Backslashes and newlines it reads.
    busy.inc_by_with_exemplar(0.125, &[("span_id", "s\\1\n")])
        .unwrap();

    let recorded = [
        (
            "jobs_total\tqueue=\"a\"",
            jobs.with(&["a"], |c| c.exemplar()).unwrap(),
        ),
        ("busy_seconds_total\t", busy.exemplar()),
    ];
    let want: Vec<String> = recorded
        .iter()
        .map(|(sample, e)| {
            let e = e.as_ref().expect("an exemplar was recorded");
            let labels: Vec<String> = e
                .labels()
                .map(|(n, v)| {
                    let v = v.replace('\\', "\\\\").replace('"', "\\\"");
                    format!("{n}=\"{}\"", v.replace('\n', "\\n"))
                })
                .collect();
            let t = e.timestamp().expect("recorded with a timestamp");
            // The text carries the shortest round-trip spelling of the
            // seconds; the parser splits it exactly at the decimal point.
            let spelled = ryu_like(t);
            let (sec, frac) = spelled.split_once('.').unwrap_or((&spelled, ""));
            let ts = format!("{sec}.{frac:0<9}");
            format!("{sample}\t{}\t{:?}\t{ts}", labels.join(","), e.value())
        })
        .collect();
    let mut got = strict_exemplars(&registry);
    got.sort();
    let mut want = want;
    want.sort();
    assert_eq!(got, want);
}

/// `t` as Rust's shortest round-trip `Display` spells it (what ryu writes
/// for the magnitudes of Unix times: no exponent).
fn ryu_like(t: f64) -> String {
    let s = format!("{t}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

fn family<'a>(families: &'a [MetricFamily], name: &str) -> &'a MetricFamily {
    families
        .iter()
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

type Read<'a> = (Vec<(&'a str, &'a str)>, f64, Option<(i64, i32)>);

fn read(e: &proto::Exemplar) -> Read<'_> {
    (
        e.label.iter().map(|l| (l.name(), l.value())).collect(),
        e.value(),
        e.timestamp.map(|t| (t.seconds, t.nanos)),
    )
}

const EXEMPLAR_TIME: Option<(i64, i32)> = Some((1_700_000_123, 500_000_000));

#[test]
fn protoc_decodes_exemplars_and_native_histograms() {
    let pb = fixture::encode_protobuf(&fixture::exemplars());
    let families = protoc_decode(&pb);
    assert_eq!(
        families,
        proto::decode_delimited(&pb).expect("prost decodes our output"),
        "protoc and our prost mirror read the same"
    );

    let jobs = &family(&families, "jobs_total").metric;
    let counter = jobs[0].counter.as_ref().unwrap();
    assert_eq!(counter.value, Some(42.0));
    assert_eq!(
        read(counter.exemplar.as_ref().unwrap()),
        (
            vec![("trace_id", "4bf92f3577b34da6"), ("note", "say \"hi\"\\\n")],
            3.0,
            EXEMPLAR_TIME
        )
    );
    assert!(jobs[1].counter.as_ref().unwrap().exemplar.is_none());

    let wait = family(&families, "wait_seconds").metric[0]
        .histogram
        .as_ref()
        .unwrap();
    let buckets: Vec<_> = wait
        .bucket
        .iter()
        .map(|b| {
            (
                b.upper_bound(),
                b.cumulative_count(),
                b.exemplar.as_ref().map(read),
            )
        })
        .collect();
    assert_eq!(
        buckets,
        [
            (0.1, 2, Some((vec![("trace_id", "b-0.1")], 0.05, None))),
            (1.0, 2, None),
            (
                f64::INFINITY,
                3,
                Some((vec![("trace_id", "b-inf")], 12.5, EXEMPLAR_TIME))
            ),
        ]
    );
    assert_eq!(
        wait.schema, None,
        "a classic histogram has no native fields"
    );

    let latency = &family(&families, "latency_seconds").metric;
    let created = Some(proto::Timestamp {
        seconds: CREATED as i64,
        nanos: 250_000_000,
    });
    for m in &latency[..2] {
        let h = m.histogram.as_ref().unwrap();
        assert_eq!((h.sample_count(), h.sample_sum()), (6, 9.3));
        assert_eq!(h.schema, Some(3));
        assert_eq!(h.zero_threshold, Some(2f64.powi(-128)));
        assert_eq!(h.zero_count, Some(1));
        let spans: Vec<_> = h
            .positive_span
            .iter()
            .map(|s| (s.offset(), s.length()))
            .collect();
        assert_eq!(spans, [(0, 1), (1, 2), (9, 1)]);
        assert_eq!(h.positive_delta, [1, 0, 0, 1]);
        assert!(h.negative_span.is_empty() && h.negative_delta.is_empty());
        let native: Vec<_> = h.exemplars.iter().map(read).collect();
        assert_eq!(
            native,
            [
                (
                    vec![("trace_id", "n-1.1")],
                    1.1,
                    Some((1_700_000_122, 500_000_000))
                ),
                (vec![("trace_id", "n-3")], 3.0, EXEMPLAR_TIME),
            ]
        );
        assert_eq!(h.created_timestamp, created);
    }
    let bucket_bounds = |m: &proto::Metric| -> Vec<(f64, u64)> {
        let h = m.histogram.as_ref().unwrap();
        h.bucket
            .iter()
            .map(|b| (b.upper_bound(), b.cumulative_count()))
            .collect()
    };
    assert_eq!(
        bucket_bounds(&latency[0]),
        [(f64::INFINITY, 6)],
        "native only: just the +Inf bucket holding the latest exemplar"
    );
    assert_eq!(
        bucket_bounds(&latency[1]),
        [(1.0, 2), (f64::INFINITY, 6)],
        "classic and native: +Inf lent the newest native exemplar"
    );
    let inf = latency[1].histogram.as_ref().unwrap().bucket[1]
        .exemplar
        .as_ref();
    assert_eq!(
        inf.map(read),
        Some((vec![("trace_id", "n-3")], 3.0, EXEMPLAR_TIME))
    );

    let empty = latency[2].histogram.as_ref().unwrap();
    assert_eq!((empty.sample_count(), empty.schema), (0, Some(3)));
    assert_eq!(empty.zero_threshold, Some(0.0));
    assert_eq!(
        empty.positive_span,
        [proto::BucketSpan {
            offset: Some(0),
            length: Some(0),
        }],
        "the no-op span keeps an empty native histogram native"
    );
    assert!(empty.bucket.is_empty() && empty.exemplars.is_empty());
}

/// The 0.0.4 view of the same registry (no exemplars; native-only
/// histograms as their `+Inf` bucket, sum and count) passes promtool clean.
#[test]
fn promtool_accepts_the_text_view() {
    let text = fixture::encode_text(&fixture::exemplars());
    let out = hotmetrics_tests::tools::promtool(&text);
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}",
        hotmetrics_tests::tools::text_of(&out),
        String::from_utf8_lossy(&text)
    );
    assert!(
        !text.windows(3).any(|w| w == b" # "),
        "text 0.0.4 carries no exemplars"
    );
}
