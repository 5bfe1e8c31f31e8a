//! What a request carried, decoded with prost from Prometheus' official
//! protos (hotmetrics-remote-write-prompb), after snappy decompression by
//! the `snap` crate: independent of the encoder under test.

use std::collections::BTreeMap;

use hotmetrics_remote_write_prompb::{prometheus, v2};
use prost::Message;

fn key(labels: &[(String, String)]) -> String {
    let pairs: Vec<String> = labels.iter().map(|(n, v)| format!("{n}=\"{v}\"")).collect();
    format!("{{{}}}", pairs.join(","))
}

fn check_sorted(labels: &[(String, String)]) {
    assert!(
        labels.windows(2).all(|w| w[0].0 < w[1].0),
        "labels not sorted by name, or repeated: {labels:?}"
    );
    assert!(labels.iter().any(|(n, _)| n == "__name__"), "{labels:?}");
}

pub fn decompress(body: &[u8]) -> Vec<u8> {
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .expect("a snappy block")
}

/// A 1.0 request: its samples (`{labels}` → value, timestamps checked to
/// be `now`) and the request itself.
pub fn v1(body: &[u8]) -> (BTreeMap<String, f64>, prometheus::WriteRequest) {
    let req = prometheus::WriteRequest::decode(&decompress(body)[..]).expect("a WriteRequest");
    let now = now_ms();
    let mut out = BTreeMap::new();
    for ts in &req.timeseries {
        let labels: Vec<(String, String)> = ts
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        check_sorted(&labels);
        assert_eq!(ts.samples.len(), 1, "{labels:?}");
        let s = &ts.samples[0];
        assert!(
            (now - s.timestamp).abs() < 60_000,
            "timestamp {}",
            s.timestamp
        );
        assert!(
            out.insert(key(&labels), s.value).is_none(),
            "{labels:?} twice"
        );
    }
    (out, req)
}

/// A 2.0 request: its samples, and per sample its metadata (type, help,
/// unit) and start timestamp.
#[allow(clippy::type_complexity)]
pub fn v2(
    body: &[u8],
) -> (
    BTreeMap<String, f64>,
    BTreeMap<String, (i32, String, String, i64)>,
) {
    let req = v2::Request::decode(&decompress(body)[..]).expect("a v2 Request");
    assert_eq!(
        req.symbols.first().map(String::as_str),
        Some(""),
        "symbol 0 is \"\""
    );
    let sym = |r: u32| req.symbols[r as usize].clone();
    let now = now_ms();
    let (mut values, mut meta) = (BTreeMap::new(), BTreeMap::new());
    for ts in &req.timeseries {
        assert_eq!(ts.labels_refs.len() % 2, 0);
        let labels: Vec<(String, String)> = ts
            .labels_refs
            .chunks(2)
            .map(|p| (sym(p[0]), sym(p[1])))
            .collect();
        check_sorted(&labels);
        assert_eq!(ts.samples.len(), 1);
        let s = &ts.samples[0];
        assert!(
            (now - s.timestamp).abs() < 60_000,
            "timestamp {}",
            s.timestamp
        );
        let m = ts.metadata.unwrap_or_default();
        let k = key(&labels);
        values.insert(k.clone(), s.value);
        meta.insert(
            k,
            (
                m.r#type,
                sym(m.help_ref),
                sym(m.unit_ref),
                s.start_timestamp,
            ),
        );
    }
    (values, meta)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
