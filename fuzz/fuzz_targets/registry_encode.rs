//! Builds a registry from arbitrary bytes (names, help, label values, values,
//! buckets; valid or not), encodes it in all three formats and checks the
//! output: registration errors are errors, never panics; text 0.0.4 and
//! OpenMetrics pass the strict parser in `hotmetrics-tests`; the protobuf
//! decodes with prost; and all three agree on the number of families.
//!
//! ```sh
//! cargo install cargo-fuzz
//! cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run registry_encode -- -max_total_time=60
//! ```
#![no_main]

use hotmetrics::{Buckets, Registry};
use hotmetrics_tests::parse::{Dialect, parse};
use hotmetrics_tests::proto;
use libfuzzer_sys::fuzz_target;

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(data.len());
    let (head, tail) = data.split_at(n);
    *data = tail;
    head
}

fn text(data: &mut &[u8]) -> String {
    let len = take(data, 1).first().copied().unwrap_or(0) as usize % 24;
    String::from_utf8_lossy(take(data, len)).into_owned()
}

fn float(data: &mut &[u8]) -> f64 {
    let b = take(data, 8);
    let mut w = [0u8; 8];
    w[..b.len()].copy_from_slice(b);
    f64::from_le_bytes(w)
}

fuzz_target!(|input: &[u8]| {
    let mut data = input;
    let registry = Registry::new();
    while !data.is_empty() {
        let op = take(&mut data, 1)[0];
        let (name, help, label) = (text(&mut data), text(&mut data), text(&mut data));
        let value = text(&mut data);
        match op % 5 {
            0 => {
                if let Ok(f) = registry.counter_vec((name, help), &[label.as_str()]) {
                    let _ = f.with(&[&value], |c| c.inc_by(op as u64));
                }
            }
            1 => {
                if let Ok(f) = registry.gauge_f64_vec((name, help), &[label.as_str()]) {
                    let v = float(&mut data);
                    let _ = f.with(&[&value], |g| g.set(v));
                }
            }
            2 => {
                let bounds = vec![float(&mut data), float(&mut data)];
                if let Ok(b) = Buckets::new(bounds)
                    && let Ok(f) = registry.histogram_vec((name, help), b, &[label.as_str()])
                {
                    let v = float(&mut data);
                    let _ = f.with(&[&value], |h| h.observe(v));
                }
            }
            3 => {
                if let Ok(f) = registry.counter_f64_vec((name, help), &[label.as_str()]) {
                    let v = float(&mut data);
                    let _ = f.with(&[&value], |c| c.inc_by(v));
                }
            }
            _ => {
                let _ = registry.unregister(&name);
            }
        }
    }
    let mut buf = bytes::BytesMut::new();
    hotmetrics::text::TextEncoder::new().encode(&registry, &mut buf);
    let text = std::str::from_utf8(&buf).expect("the text encoder writes UTF-8");
    let families = parse(text, Dialect::Text).unwrap_or_else(|e| panic!("text: {e}\n{text}"));
    let count = families.len();

    buf.clear();
    hotmetrics::openmetrics::OpenMetricsEncoder::new().encode(&registry, &mut buf);
    let text = std::str::from_utf8(&buf).expect("the OpenMetrics encoder writes UTF-8");
    let families = parse(text, Dialect::OpenMetrics).unwrap_or_else(|e| panic!("om: {e}\n{text}"));
    assert_eq!(families.len(), count);

    buf.clear();
    hotmetrics::protobuf::ProtobufEncoder::new().encode(&registry, &mut buf);
    let families = proto::decode_delimited(&buf).expect("protobuf decodes");
    assert!(
        families.len() <= count,
        "protobuf may leave out empty families only"
    );
});
