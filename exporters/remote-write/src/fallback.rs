//! The 1.0 fallback: a 2.0 request this crate wrote, read back and
//! written again as 1.0 (when a receiver answers 415, the payloads
//! already encoded for 2.0 are re-encoded, not lost), native histograms
//! and exemplars included.

use crate::exemplars::Exemplars;
use crate::flatten::{FamilyInfo, Value, Writer};
use crate::labels::LabelBuf;
use crate::native::NativeSample;
use crate::v1::V1Writer;
use crate::wire::{Field, Reader, unzigzag};
use hotmetrics_core::{BucketSpan, MetricType, NativeBuckets};
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

/// Re-encodes the 2.0 request `raw` (decompressed) as 1.0 into `out`:
/// samples, native histograms (their start timestamps dropped: 1.0 has
/// none) and exemplars, each series' as it was.
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
    let mut exemplars = Exemplars::default();
    let mut refs = Vec::new();
    let mut exemplar_refs = Vec::new();
    let no_exemplars = Exemplars::default();
    for ts in series {
        refs.clear();
        exemplars.clear();
        let mut samples = Vec::new();
        let mut histograms = Vec::new();
        let (mut t, mut help, mut unit) = (0, 0, 0);
        let mut r = Reader(ts);
        while let Some(field) = r.field() {
            match field.map_err(bad)? {
                (1, Field::Bytes(packed)) => unpack(packed, &mut refs).map_err(bad)?,
                (1, Field::Varint(v)) => refs.push(v),
                (2, Field::Bytes(s)) => samples.push(sample(s).map_err(bad)?),
                (3, Field::Bytes(h)) => histograms.push(histogram(h).map_err(bad)?),
                (4, Field::Bytes(e)) => {
                    let (value, timestamp) = exemplar(e, &mut exemplar_refs).map_err(bad)?;
                    let mut pairs = Vec::new();
                    for pair in exemplar_refs.chunks(2) {
                        let [n, v] = pair else {
                            return Err(bad("an odd number of exemplar label refs"));
                        };
                        pairs.push((symbol(*n)?, symbol(*v)?));
                    }
                    exemplars.push_labels(pairs.into_iter(), value, timestamp);
                }
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
        // A native histogram's series is named as its family is, even one
        // whose name ends like a classic series' (`x_count`).
        let metadata_name = if histograms.is_empty() {
            family_name(name, metric_type)
        } else {
            name
        };
        if family.metadata_name.as_bytes() != metadata_name {
            family.metadata_name = String::from_utf8_lossy(metadata_name).into_owned();
            family.help = String::from_utf8_lossy(symbol(help)?).into_owned();
            family.unit = String::from_utf8_lossy(symbol(unit)?).into_owned();
            family.metric_type = metric_type;
            family.seq += 1;
        }
        // This crate writes one sample or one histogram a series, with the
        // series' exemplars: they go with the first.
        let mut with = &exemplars;
        for (value, timestamp) in samples {
            writer.sample(&family, &labels, Value::Float(value), with, timestamp, None);
            with = &no_exemplars;
        }
        for h in &histograms {
            let buckets = h.buckets();
            let sample = NativeSample {
                buckets: &buckets,
                count: h.count,
                sum: h.sum,
            };
            writer.sample(
                &family,
                &labels,
                Value::Native(sample),
                with,
                h.timestamp,
                None,
            );
            with = &no_exemplars;
        }
    }
    writer.finish(out, snappy)
}

/// Appends the varints of a packed field to `out`.
fn unpack(packed: &[u8], out: &mut Vec<u64>) -> Result<(), &'static str> {
    let mut p = Reader(packed);
    while !p.0.is_empty() {
        out.push(p.varint().ok_or("a malformed packed varint")?);
    }
    Ok(())
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

/// An `Exemplar`'s value and timestamp; its label refs into `refs`.
fn exemplar(body: &[u8], refs: &mut Vec<u64>) -> Result<(f64, i64), &'static str> {
    refs.clear();
    let (mut value, mut timestamp) = (0.0, 0);
    let mut r = Reader(body);
    while let Some(field) = r.field() {
        match field? {
            (1, Field::Bytes(packed)) => unpack(packed, refs)?,
            (1, Field::Varint(v)) => refs.push(v),
            (2, Field::Fixed64(bits)) => value = f64::from_bits(bits),
            (3, Field::Varint(v)) => timestamp = v as i64,
            _ => {}
        }
    }
    Ok((value, timestamp))
}

/// A native histogram read back from a 2.0 `Histogram`.
#[derive(Debug, Default)]
struct Histogram {
    count: u64,
    sum: f64,
    schema: i32,
    zero_threshold: f64,
    zero_count: u64,
    negative_spans: Vec<BucketSpan>,
    negative_deltas: Vec<i64>,
    positive_spans: Vec<BucketSpan>,
    positive_deltas: Vec<i64>,
    timestamp: i64,
}

impl Histogram {
    fn buckets(&self) -> NativeBuckets<'_> {
        NativeBuckets {
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count,
            positive_spans: &self.positive_spans,
            positive_deltas: &self.positive_deltas,
            negative_spans: &self.negative_spans,
            negative_deltas: &self.negative_deltas,
            exemplars: &[],
        }
    }
}

fn histogram(body: &[u8]) -> Result<Histogram, &'static str> {
    let mut h = Histogram::default();
    let mut scratch = Vec::new();
    let mut deltas = |field: Field<'_>, out: &mut Vec<i64>| -> Result<(), &'static str> {
        scratch.clear();
        match field {
            Field::Bytes(packed) => unpack(packed, &mut scratch)?,
            Field::Varint(v) => scratch.push(v),
            _ => return Err("a malformed bucket delta"),
        }
        out.extend(scratch.iter().map(|&z| unzigzag(z)));
        Ok(())
    };
    let mut r = Reader(body);
    while let Some(field) = r.field() {
        match field? {
            (1, Field::Varint(v)) => h.count = v,
            (3, Field::Fixed64(bits)) => h.sum = f64::from_bits(bits),
            (4, Field::Varint(v)) => h.schema = unzigzag(v) as i32,
            (5, Field::Fixed64(bits)) => h.zero_threshold = f64::from_bits(bits),
            (6, Field::Varint(v)) => h.zero_count = v,
            (8, Field::Bytes(s)) => h.negative_spans.push(span(s)?),
            (9, f) => deltas(f, &mut h.negative_deltas)?,
            (11, Field::Bytes(s)) => h.positive_spans.push(span(s)?),
            (12, f) => deltas(f, &mut h.positive_deltas)?,
            (15, Field::Varint(v)) => h.timestamp = v as i64,
            // Float counts: this crate never writes them.
            (2 | 7 | 10 | 13, _) => return Err("a float histogram"),
            _ => {}
        }
    }
    Ok(h)
}

fn span(body: &[u8]) -> Result<BucketSpan, &'static str> {
    let mut s = BucketSpan::default();
    let mut r = Reader(body);
    while let Some(field) = r.field() {
        match field? {
            (1, Field::Varint(v)) => s.offset = unzigzag(v) as i32,
            (2, Field::Varint(v)) => s.length = v as u32,
            _ => {}
        }
    }
    Ok(s)
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
