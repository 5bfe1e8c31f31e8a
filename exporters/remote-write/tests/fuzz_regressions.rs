//! Inputs the `remote_write_encode` fuzz target (fuzz/) found, each
//! encoded with `Sink::encode` and decoded with prost's decoders of
//! Prometheus' own protos.

use hotmetrics_core::{Buckets, Registry};
use hotmetrics_export::{Batch, Sink};
use hotmetrics_remote_write::{Protocol, RemoteWrite};
use hotmetrics_remote_write_prompb::{prometheus, v2};
use prost::Message;

/// Each series' labels, as (name, value) pairs in the order sent.
fn series(registry: &Registry, protocol: Protocol) -> Vec<Vec<(String, String)>> {
    let mut sink = RemoteWrite::builder("http://127.0.0.1:9/api/v1/write")
        .protocol(protocol)
        .external_label("job", "app")
        .build()
        .unwrap();
    let mut batch = Batch::default();
    sink.encode(registry, &mut batch).unwrap();
    let mut out = Vec::new();
    for p in batch.payloads() {
        let raw = snap::raw::Decoder::new().decompress_vec(&p.bytes).unwrap();
        match protocol {
            Protocol::V1 => {
                let req = prometheus::WriteRequest::decode(&raw[..]).unwrap();
                out.extend(req.timeseries.iter().map(|t| {
                    t.labels
                        .iter()
                        .map(|l| (l.name.clone(), l.value.clone()))
                        .collect()
                }));
            }
            Protocol::V2 => {
                let req = v2::Request::decode(&raw[..]).unwrap();
                let s = |r: &u32| req.symbols[*r as usize].clone();
                out.extend(req.timeseries.iter().map(|t| {
                    t.labels_refs
                        .chunks(2)
                        .map(|p| (s(&p[0]), s(&p[1])))
                        .collect()
                }));
            }
        }
    }
    out
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Found by the fuzzer: `{a=""}` went out with its empty value (a scrape
/// stores it as `{}`), and kept an external label of the same name away.
#[test]
fn labels_with_empty_values_are_not_sent() {
    let registry = Registry::new();
    let c = registry.counter_vec(("c", "C."), &["a", "job"]).unwrap();
    c.with(&["", ""], |c| c.inc()).unwrap();
    c.with(&["x", "own"], |c| c.inc()).unwrap();
    for protocol in [Protocol::V1, Protocol::V2] {
        let mut got = series(&registry, protocol);
        got.sort();
        let want = vec![
            pairs(&[("__name__", "c_total"), ("a", "x"), ("job", "own")]),
            pairs(&[("__name__", "c_total"), ("job", "app")]),
        ];
        assert_eq!(got, want, "{protocol:?}");
    }
}

/// Found by the fuzzer: a histogram whose bounds equal the previous
/// family's as numbers (`0.0 == -0.0`) got that family's spelling of
/// them, `le="-0"` for a bound of `0`.
#[test]
fn bounds_are_spelled_per_family_bit_for_bit() {
    let registry = Registry::new();
    let neg = registry
        .histogram(("a", "A."), Buckets::new(vec![-0.0]).unwrap())
        .unwrap();
    let pos = registry
        .histogram(("b", "B."), Buckets::new(vec![0.0]).unwrap())
        .unwrap();
    neg.observe(1.0);
    pos.observe(1.0);
    for protocol in [Protocol::V1, Protocol::V2] {
        let got = series(&registry, protocol);
        let le = |name: &str| -> Vec<String> {
            got.iter()
                .filter(|s| s.contains(&("__name__".into(), name.into())))
                .flat_map(|s| s.iter().filter(|(n, _)| n == "le").map(|(_, v)| v.clone()))
                .collect()
        };
        assert_eq!(le("a_bucket"), ["-0", "+Inf"], "{protocol:?}");
        assert_eq!(le("b_bucket"), ["0", "+Inf"], "{protocol:?}");
    }
}
