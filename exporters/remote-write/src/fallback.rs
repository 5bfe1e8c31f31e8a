//! The 1.0 fallback: a 2.0 request this crate wrote, read back and
//! written again as 1.0 (when a receiver answers 415, the payloads
//! already encoded for 2.0 are re-encoded, not lost).

use crate::flatten::{FamilyInfo, Writer};
use crate::labels::LabelBuf;
use crate::v1::V1Writer;
use crate::wire::{Field, Reader};
use hotmetrics_core::MetricType;
use hotmetrics_export::{EncodeError, Payload};

/// Whether the snappy-compressed `payload` is a 2.0 request: its first
/// field is the symbol table (4), where a 1.0 request starts with a
/// series (1) or metadata (3). `scratch` receives the decompressed bytes.
pub(crate) fn is_v2(payload: &[u8], scratch: &mut Vec<u8>) -> Result<bool, EncodeError> {
    decompress(payload, scratch)?;
    Ok(scratch.first() == Some(&((4 << 3) | 2)))
}

fn decompress(payload: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let bad = |e: snap::Error| EncodeError(format!("cannot decompress a queued payload: {e}"));
    let n = snap::raw::decompress_len(payload).map_err(bad)?;
    out.clear();
    out.resize(n, 0);
    snap::raw::Decoder::new()
        .decompress(payload, out)
        .map_err(bad)?;
    Ok(())
}

/// Re-encodes the 2.0 request `raw` (decompressed) as 1.0 into `out`.
pub(crate) fn v2_to_v1(
    raw: &[u8],
    out: &mut Payload,
    snappy: &mut snap::raw::Encoder,
) -> Result<(), EncodeError> {
    let bad = |what: &str| EncodeError(format!("cannot re-encode a 2.0 payload as 1.0: {what}"));
    let mut symbols: Vec<&[u8]> = Vec::new();
    let mut series: Vec<&[u8]> = Vec::new();
    let mut r = Reader(raw);
    while let Some(field) = r.field() {
        match field.map_err(bad)? {
            (4, Field::Bytes(s)) => symbols.push(s),
            (5, Field::Bytes(ts)) => series.push(ts),
            _ => {}
        }
    }
    let symbol = |i: u64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| symbols.get(i).copied())
            .ok_or_else(|| bad("a symbol reference out of range"))
    };
    let mut writer = V1Writer::default();
    let mut labels = LabelBuf::default();
    let mut family = FamilyInfo::default();
    let mut refs = Vec::new();
    for ts in series {
        refs.clear();
        let mut samples = Vec::new();
        let (mut t, mut help, mut unit) = (0, 0, 0);
        let mut r = Reader(ts);
        while let Some(field) = r.field() {
            match field.map_err(bad)? {
                (1, Field::Bytes(packed)) => {
                    let mut p = Reader(packed);
                    while !p.0.is_empty() {
                        refs.push(p.varint().ok_or_else(|| bad("a malformed label ref"))?);
                    }
                }
                (1, Field::Varint(v)) => refs.push(v),
                (2, Field::Bytes(s)) => samples.push(sample(s).map_err(bad)?),
                (5, Field::Bytes(m)) => {
                    let mut m = Reader(m);
                    while let Some(field) = m.field() {
                        match field.map_err(bad)? {
                            (1, Field::Varint(v)) => t = v,
                            (3, Field::Varint(v)) => help = v,
                            (4, Field::Varint(v)) => unit = v,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        labels.clear();
        let mut name: &[u8] = b"";
        for pair in refs.chunks(2) {
            let [n, v] = pair else {
                return Err(bad("an odd number of label refs"));
            };
            let (n, v) = (symbol(*n)?, symbol(*v)?);
            if n == b"__name__" {
                name = v;
            }
            labels.push(n, v);
        }
        labels.seal_base();
        let metric_type = metric_type(t);
        let metadata_name = family_name(name, metric_type);
        if family.metadata_name.as_bytes() != metadata_name {
            family.metadata_name = String::from_utf8_lossy(metadata_name).into_owned();
            family.help = String::from_utf8_lossy(symbol(help)?).into_owned();
            family.unit = String::from_utf8_lossy(symbol(unit)?).into_owned();
            family.metric_type = metric_type;
            family.seq += 1;
        }
        for (value, timestamp) in samples {
            writer.sample(&family, &labels, value, timestamp, None);
        }
    }
    writer.finish(out, snappy)
}

/// A `Sample`'s value and timestamp.
fn sample(body: &[u8]) -> Result<(f64, i64), &'static str> {
    let (mut value, mut timestamp) = (0.0, 0);
    let mut r = Reader(body);
    while let Some(field) = r.field() {
        match field? {
            (1, Field::Fixed64(bits)) => value = f64::from_bits(bits),
            (2, Field::Varint(v)) => timestamp = v as i64,
            _ => {}
        }
    }
    Ok((value, timestamp))
}

fn metric_type(t: u64) -> MetricType {
    match t {
        1 => MetricType::Counter,
        2 => MetricType::Gauge,
        3 => MetricType::Histogram,
        5 => MetricType::Summary,
        6 => MetricType::Info,
        7 => MetricType::StateSet,
        _ => MetricType::Unknown,
    }
}

/// The family a sample's name belongs to, as 1.0 metadata names it.
fn family_name(name: &[u8], t: MetricType) -> &[u8] {
    let suffixes: &[&[u8]] = match t {
        MetricType::Histogram => &[b"_bucket", b"_sum", b"_count"],
        MetricType::Summary => &[b"_sum", b"_count"],
        _ => &[],
    };
    suffixes
        .iter()
        .find_map(|s| name.strip_suffix(*s))
        .unwrap_or(name)
}
