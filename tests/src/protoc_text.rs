//! protoc's text format, as `protoc --decode` prints it, read back into a
//! tree ([`parse_text_format`]) and from there into the prost mirror of
//! `metrics.proto` ([`families_from_protoc`]).
//!
//! Only what protoc prints is read: `name: value` scalars, C-escaped
//! strings (adjacent ones concatenated), `name { ... }` messages, and
//! unknown fields printed by number.
//!
//! ```
//! use hotmetrics_tests::protoc_text::families_from_protoc;
//!
//! let decoded = "family {\n  name: \"up\"\n  type: GAUGE\n  \
//!                metric {\n    gauge {\n      value: 1\n    }\n  }\n}\n";
//! let families = families_from_protoc(decoded).unwrap();
//! assert_eq!(families[0].name(), "up");
//! assert_eq!(families[0].metric[0].gauge.as_ref().unwrap().value, Some(1.0));
//! ```

use crate::proto;
use std::fmt;

/// What protoc's output held that this reader did not expect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn error(message: impl Into<String>) -> Error {
    Error(message.into())
}

/// A value in the tree.
#[derive(Debug, PartialEq)]
pub enum Node {
    /// A bare token: a number, an enum name, `true`.
    Scalar(String),
    /// A quoted string, its escapes resolved to bytes.
    Bytes(Vec<u8>),
    /// A message: its fields in the order printed.
    Message(Vec<(String, Node)>),
}

impl Node {
    fn fields(&self) -> Result<&[(String, Node)], Error> {
        match self {
            Node::Message(f) => Ok(f),
            other => Err(error(format!("expected a message, got {other:?}"))),
        }
    }

    /// The first field named `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<&Node>, Error> {
        Ok(self
            .fields()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v))
    }

    /// Every field named `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> Result<impl Iterator<Item = &'a Node> + 'a, Error> {
        Ok(self
            .fields()?
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v))
    }

    /// The string field `key`, `None` when absent.
    pub fn string(&self, key: &str) -> Result<Option<String>, Error> {
        match self.get(key)? {
            Some(Node::Bytes(b)) => String::from_utf8(b.clone())
                .map(Some)
                .map_err(|e| error(format!("{key}: not UTF-8 ({e})"))),
            None => Ok(None),
            Some(other) => Err(error(format!("{key}: expected a string, got {other:?}"))),
        }
    }

    /// The bare token of field `key`, `None` when absent.
    pub fn scalar(&self, key: &str) -> Result<Option<&str>, Error> {
        match self.get(key)? {
            Some(Node::Scalar(s)) => Ok(Some(s)),
            None => Ok(None),
            Some(other) => Err(error(format!("{key}: expected a scalar, got {other:?}"))),
        }
    }

    /// The scalar field `key` parsed as `T`, `None` when absent.
    pub fn parsed<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, Error> {
        self.scalar(key)?
            .map(|s| {
                s.parse()
                    .map_err(|_| error(format!("{key}: cannot read {s:?}")))
            })
            .transpose()
    }

    /// A `google.protobuf.Timestamp` that protoc printed as the unknown
    /// field `field` (its fields 1 and 2 unnamed); `None` when absent.
    pub fn timestamp(&self, field: &str) -> Result<Option<proto::Timestamp>, Error> {
        let Some(t) = self.get(field)? else {
            return Ok(None);
        };
        Ok(Some(proto::Timestamp {
            seconds: t.parsed("1")?.unwrap_or(0),
            nanos: t.parsed("2")?.unwrap_or(0),
        }))
    }
}

/// Parses protoc's `--decode` output (text format) into a tree: the root
/// message's fields.
pub fn parse_text_format(s: &str) -> Result<Node, Error> {
    let mut cursor = Cursor {
        b: s.as_bytes(),
        pos: 0,
    };
    let fields = cursor.fields()?;
    match cursor.peek() {
        None => Ok(Node::Message(fields)),
        Some(_) => Err(cursor.unexpected()),
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<u8, Error> {
        let c = self
            .peek()
            .ok_or_else(|| error(format!("protoc output ends early, at byte {}", self.pos)))?;
        self.pos += 1;
        Ok(c)
    }

    fn unexpected(&self) -> Error {
        match self.peek() {
            Some(c) => error(format!(
                "unexpected {:?} at byte {} of protoc output",
                char::from(c),
                self.pos
            )),
            None => error(format!("protoc output ends early, at byte {}", self.pos)),
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Fields up to the end of input or a closing brace (left unread).
    fn fields(&mut self) -> Result<Vec<(String, Node)>, Error> {
        let mut fields = Vec::new();
        loop {
            self.skip_ws();
            if self.peek().is_none_or(|c| c == b'}') {
                return Ok(fields);
            }
            let key = self.bare()?;
            self.skip_ws();
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    let inner = self.fields()?;
                    if self.peek() != Some(b'}') {
                        return Err(self.unexpected());
                    }
                    self.pos += 1;
                    fields.push((key, Node::Message(inner)));
                }
                Some(b':') => {
                    self.pos += 1;
                    self.skip_ws();
                    let value = if self.peek() == Some(b'"') {
                        let mut bytes = Vec::new();
                        while self.peek() == Some(b'"') {
                            self.quoted(&mut bytes)?;
                            self.skip_ws();
                        }
                        Node::Bytes(bytes)
                    } else {
                        Node::Scalar(self.bare()?)
                    };
                    fields.push((key, value));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn bare(&mut self) -> Result<String, Error> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !c.is_ascii_whitespace() && !b":{}\"".contains(&c))
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.unexpected());
        }
        String::from_utf8(self.b[start..self.pos].to_vec())
            .map_err(|_| error(format!("a token at byte {start} is not UTF-8")))
    }

    /// A C-escaped string (octal and hex escapes are bytes), appended to
    /// `out`.
    fn quoted(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.pos += 1; // the opening quote
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => match self.next()? {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    e @ b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            if let Some(d @ b'0'..=b'7') = self.peek() {
                                v = v * 8 + u32::from(d - b'0');
                                self.pos += 1;
                            }
                        }
                        out.push(byte(v, "octal")?);
                    }
                    b'x' => {
                        let mut v = 0u32;
                        while let Some(d) = self.peek().and_then(|c| char::from(c).to_digit(16)) {
                            v = v.saturating_mul(16).saturating_add(d);
                            self.pos += 1;
                        }
                        out.push(byte(v, "hex")?);
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
    }
}

fn byte(v: u32, kind: &str) -> Result<u8, Error> {
    u8::try_from(v).map_err(|_| error(format!("{kind} escape {v} is not a byte")))
}

/// protoc's reading as prost structs. Debian's metrics.proto predates
/// `created_timestamp` (Counter 3, Summary 4, Histogram 15), `unit`
/// (MetricFamily 5) and native histograms' `exemplars` (Histogram 16):
/// protoc prints them as unknown numbered fields, read here.
pub fn families_from_protoc(decoded: &str) -> Result<Vec<proto::MetricFamily>, Error> {
    let root = parse_text_format(decoded)?;
    root.all("family")?.map(family).collect()
}

fn family(f: &Node) -> Result<proto::MetricFamily, Error> {
    use proto::MetricType as T;
    let r#type = match f.scalar("type")? {
        None => None,
        Some("COUNTER") => Some(T::Counter),
        Some("GAUGE") => Some(T::Gauge),
        Some("SUMMARY") => Some(T::Summary),
        Some("UNTYPED") => Some(T::Untyped),
        Some("HISTOGRAM") => Some(T::Histogram),
        Some("GAUGE_HISTOGRAM") => Some(T::GaugeHistogram),
        Some(other) => return Err(error(format!("unknown type {other}"))),
    };
    Ok(proto::MetricFamily {
        name: f.string("name")?,
        help: f.string("help")?,
        r#type: r#type.map(|t| t as i32),
        unit: f.string("5")?,
        metric: f.all("metric")?.map(metric).collect::<Result<_, _>>()?,
    })
}

fn metric(m: &Node) -> Result<proto::Metric, Error> {
    Ok(proto::Metric {
        label: m
            .all("label")?
            .map(|l| {
                Ok(proto::LabelPair {
                    name: l.string("name")?,
                    value: l.string("value")?,
                })
            })
            .collect::<Result<_, Error>>()?,
        gauge: m
            .get("gauge")?
            .map(|g| {
                Ok::<_, Error>(proto::Gauge {
                    value: g.parsed("value")?,
                })
            })
            .transpose()?,
        untyped: m
            .get("untyped")?
            .map(|u| {
                Ok::<_, Error>(proto::Untyped {
                    value: u.parsed("value")?,
                })
            })
            .transpose()?,
        counter: m
            .get("counter")?
            .map(|c| {
                Ok::<_, Error>(proto::Counter {
                    value: c.parsed("value")?,
                    exemplar: c.get("exemplar")?.map(exemplar).transpose()?,
                    created_timestamp: c.timestamp("3")?,
                })
            })
            .transpose()?,
        summary: m.get("summary")?.map(summary).transpose()?,
        histogram: m.get("histogram")?.map(histogram).transpose()?,
        timestamp_ms: m.parsed("timestamp_ms")?,
    })
}

fn summary(s: &Node) -> Result<proto::Summary, Error> {
    Ok(proto::Summary {
        sample_count: s.parsed("sample_count")?,
        sample_sum: s.parsed("sample_sum")?,
        quantile: s
            .all("quantile")?
            .map(|q| {
                Ok(proto::Quantile {
                    quantile: q.parsed("quantile")?,
                    value: q.parsed("value")?,
                })
            })
            .collect::<Result<_, Error>>()?,
        created_timestamp: s.timestamp("4")?,
    })
}

fn histogram(h: &Node) -> Result<proto::Histogram, Error> {
    Ok(proto::Histogram {
        sample_count: h.parsed("sample_count")?,
        sample_sum: h.parsed("sample_sum")?,
        bucket: h
            .all("bucket")?
            .map(|b| {
                Ok(proto::Bucket {
                    cumulative_count: b.parsed("cumulative_count")?,
                    upper_bound: b.parsed("upper_bound")?,
                    exemplar: b.get("exemplar")?.map(exemplar).transpose()?,
                    ..Default::default()
                })
            })
            .collect::<Result<_, Error>>()?,
        schema: h.parsed("schema")?,
        zero_threshold: h.parsed("zero_threshold")?,
        zero_count: h.parsed("zero_count")?,
        negative_span: h
            .all("negative_span")?
            .map(span)
            .collect::<Result<_, _>>()?,
        negative_delta: parsed_all(h, "negative_delta")?,
        positive_span: h
            .all("positive_span")?
            .map(span)
            .collect::<Result<_, _>>()?,
        positive_delta: parsed_all(h, "positive_delta")?,
        created_timestamp: h.timestamp("15")?,
        exemplars: h
            .all("16")?
            .map(unknown_exemplar)
            .collect::<Result<_, _>>()?,
        ..Default::default()
    })
}

/// Every value of the repeated scalar field `key`.
fn parsed_all<T: std::str::FromStr>(n: &Node, key: &str) -> Result<Vec<T>, Error> {
    n.all(key)?
        .map(|v| match v {
            Node::Scalar(s) => s
                .parse()
                .map_err(|_| error(format!("{key}: cannot read {s:?}"))),
            _ => Err(error(format!("{key} is not a scalar"))),
        })
        .collect()
}

fn span(s: &Node) -> Result<proto::BucketSpan, Error> {
    Ok(proto::BucketSpan {
        offset: s.parsed("offset")?,
        length: s.parsed("length")?,
    })
}

/// An `Exemplar` protoc knows (Counter 2, Bucket 3).
fn exemplar(e: &Node) -> Result<proto::Exemplar, Error> {
    Ok(proto::Exemplar {
        label: e
            .all("label")?
            .map(|l| {
                Ok(proto::LabelPair {
                    name: l.string("name")?,
                    value: l.string("value")?,
                })
            })
            .collect::<Result<_, Error>>()?,
        value: e.parsed("value")?,
        timestamp: e
            .get("timestamp")?
            .map(|t| {
                Ok::<_, Error>(proto::Timestamp {
                    seconds: t.parsed("seconds")?.unwrap_or(0),
                    nanos: t.parsed("nanos")?.unwrap_or(0),
                })
            })
            .transpose()?,
    })
}

/// An `Exemplar` protoc printed as unknown fields (Histogram 16): labels as
/// field 1 (name 1, value 2), the value as field 2, a fixed64 printed in
/// hex, the timestamp as field 3.
fn unknown_exemplar(e: &Node) -> Result<proto::Exemplar, Error> {
    let value = e
        .scalar("2")?
        .map(|hex| {
            hex.strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .map(f64::from_bits)
                .ok_or_else(|| error(format!("exemplar value {hex:?} is not a fixed64")))
        })
        .transpose()?;
    Ok(proto::Exemplar {
        label: e
            .all("1")?
            .map(|l| {
                Ok(proto::LabelPair {
                    name: l.string("1")?,
                    value: l.string("2")?,
                })
            })
            .collect::<Result<_, Error>>()?,
        value,
        timestamp: e.timestamp("3")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_concatenate_and_escapes_are_bytes() {
        let root = parse_text_format("a: \"x\\n\\303\\274\" \"\\x41\\\"\"\nb { c: 1 }").unwrap();
        assert_eq!(
            root,
            Node::Message(vec![
                ("a".into(), Node::Bytes("x\nüA\"".as_bytes().to_vec())),
                (
                    "b".into(),
                    Node::Message(vec![("c".into(), Node::Scalar("1".into()))])
                ),
            ])
        );
    }

    #[test]
    fn broken_output_is_an_error() {
        for text in ["a: \"open", "a {", "a }", "}", "a", "a: \"\\777\"", ":"] {
            assert!(parse_text_format(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn unknown_fields_are_read_by_number() {
        let decoded = "family {\n  name: \"c_total\"\n  type: COUNTER\n  5: \"bytes\"\n  \
                       metric {\n    counter {\n      value: 2\n      3 {\n        1: 17\n        \
                       2: 500\n      }\n    }\n  }\n}\n";
        let f = &families_from_protoc(decoded).unwrap()[0];
        assert_eq!(f.unit.as_deref(), Some("bytes"));
        let c = f.metric[0].counter.as_ref().unwrap();
        assert_eq!(c.value, Some(2.0));
        assert_eq!(
            c.created_timestamp,
            Some(proto::Timestamp {
                seconds: 17,
                nanos: 500
            })
        );
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(families_from_protoc("family { type: SOMETHING }").is_err());
        assert!(families_from_protoc("family { name { } }").is_err());
        assert!(families_from_protoc("family { metric { gauge { value: x } } }").is_err());
    }
}
