//! Prometheus remote write for hotmetrics: a [`Sink`](hotmetrics_export::Sink)
//! for the export runtime ([`hotmetrics_export::Exporter`]) that sends a
//! registry's current state every interval to a Prometheus-compatible
//! receiver (Prometheus' own with `--web.enable-remote-write-receiver`,
//! VictoriaMetrics, Mimir, Thanos receive).
//!
//! - **1.0** ([`Protocol::V1`], the default): `prometheus.WriteRequest`,
//!   one series per sample with its labels sorted by name (`__name__`
//!   included), millisecond timestamps, the families' metadata;
//!   **2.0** ([`Protocol::V2`]): `io.prometheus.write.v2.Request`, a symbol
//!   table, label refs, metadata and start (created) timestamps per series.
//!   A receiver answering 415 to 2.0 makes the sink fall back to 1.0.
//! - Snappy **block** compression, `Content-Encoding: snappy`, the
//!   protocol's `Content-Type` and `X-Prometheus-Remote-Write-Version`.
//! - At most [`max_samples_per_request`](RemoteWriteBuilder::max_samples_per_request)
//!   samples per request; an export of more is several payloads.
//! - External labels, basic or bearer auth, custom headers
//!   (`X-Scope-OrgID`), https (rustls, the system's roots plus any
//!   [`ca_certificate`](RemoteWriteBuilder::ca_certificate), a
//!   [`client_certificate`](RemoteWriteBuilder::client_certificate) for
//!   mutual TLS), a timeout.
//! - The answer decides what the runtime does: 2xx sent; 429, 5xx,
//!   connection errors and timeouts retried with backoff (after the
//!   receiver's `Retry-After`, in seconds or as a date); any other status
//!   dropped for good, with the receiver's message (cut at 512 bytes).
//!   A certificate the sink does not trust (unknown CA, a name that does
//!   not match) is retried too, not dropped: it is fixed on the receiver's
//!   side (a renewed certificate, the right CA), and the queue then
//!   delivers what it held, as Prometheus' own remote write does. The
//!   runtime logs it as a warning once per outage, every retry at debug.
//!
//! What a registry becomes, as a scrape by Prometheus stores it: counters
//! `<name>_total`; gauges and untyped `<name>`; histograms cumulative
//! `<name>_bucket{le="..."}` (`le` spelled as the reference clients do,
//! ending with `+Inf`), `<name>_sum`, `<name>_count`; summaries
//! `<name>{quantile="..."}`, `_sum`, `_count`; info families
//! `<name>_info` = 1; state sets `<name>{<name>="<state>"}` = 1 or 0.
//! Metadata names a family as the text format's `# TYPE` line does
//! (`requests_total`), with its OpenMetrics type, help and unit.
//!
//! Encoding is hand-written protobuf into buffers kept from export to
//! export: a steady-state export allocates nothing (with exemplars, the
//! registry's walk copies each one out, which allocates in the core; the
//! sink adds nothing to that). Fields at their proto3 default are left
//! out (a `-0.0` is written, keeping its sign), so a request is byte for
//! byte what prost writes from Prometheus' own `.proto` files (the tests
//! check it).
//!
//! ## Native histograms and exemplars
//!
//! Both are off by default and switched on apart, as in Prometheus'
//! `remote_write` configuration, since a receiver without the feature
//! refuses or drops them:
//!
//! - [`send_native_histograms(true)`](RemoteWriteBuilder::send_native_histograms):
//!   a histogram with native buckets is also one native `Histogram`
//!   sample on the series `<name>` (no suffix): integer counts, sum,
//!   schema, zero threshold and count, spans and deltas of both signs,
//!   `reset_hint` `UNKNOWN`, the export's timestamp (2.0: and its start
//!   timestamp). A classic+native histogram sends its classic `_bucket`,
//!   `_sum` and `_count` series too (other names: a receiver keeps both);
//!   a native-only one sends only the native sample. An empty one (nothing
//!   observed) is a valid histogram of count 0 (no stand-in span is needed
//!   here, unlike in the scrape format). A native histogram counts as one
//!   sample, in the exporter's `samples_sent` and in
//!   [`max_samples_per_request`](RemoteWriteBuilder::max_samples_per_request).
//! - [`send_exemplars(true)`](RemoteWriteBuilder::send_exemplars): a
//!   counter's latest exemplar on its `_total` series, each classic
//!   bucket's on its `_bucket{le="..."}` series, a native histogram's
//!   latest ones (oldest first) on its native series; labels sorted (an
//!   empty value left out), timestamps in milliseconds (the export's for
//!   one recorded without). 2.0 interns their labels in the request's
//!   symbol table. They are not counted as samples.
//!
//! Each exemplar is sent once, by the first export after it was recorded
//! (those timestamped from the previous completed export's millisecond
//! on); an export that fails to encode or is dropped from a full queue
//! loses its exemplars.
//!
//! What the receivers do with them (checked by this crate's tests against
//! Debian's Prometheus 2.42 and VictoriaMetrics 1.79):
//!
//! | receiver | native histograms | exemplars |
//! |---|---|---|
//! | Prometheus, `--enable-feature=native-histograms,exemplar-storage` | stored: `histogram_count`, `histogram_sum`, `histogram_quantile` | stored; one sent twice (the boundary millisecond of two exports) is a duplicate, ignored; one older than the series' newest stored would be refused as out of order with a warning per request (`Error on ingesting out-of-order exemplars`), which sending each once avoids; of a series' exemplars in one millisecond, only the first is kept |
//! | Prometheus without `native-histograms` | the request is answered 500 (`native histograms are disabled`), nothing of it stored; the exporter retries it, and the queue fills behind it | — |
//! | Prometheus without `exemplar-storage` | — | dropped, the samples stored |
//! | VictoriaMetrics 1.79 | dropped without a word (answers 204; a native-only histogram leaves no series, the classic series of a classic+native one are stored) | dropped without a word |
//!
//! ```
//! use hotmetrics_core::{Buckets, NativeOpts, Registry};
//! use hotmetrics_export::Exporter;
//! use hotmetrics_remote_write::RemoteWrite;
//! use std::time::Duration;
//! # use std::io::{BufRead, BufReader, Read, Write};
//! # use hotmetrics_remote_write_prompb::prometheus::{histogram::Count, WriteRequest};
//! # use prost::Message;
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! # let port = listener.local_addr().unwrap().port();
//! # let (tx, rx) = std::sync::mpsc::channel();
//! # std::thread::spawn(move || {
//! #     for conn in listener.incoming() {
//! #         let mut conn = BufReader::new(conn.unwrap());
//! #         let (mut head, mut line) = (Vec::new(), String::new());
//! #         while conn.read_line(&mut line).unwrap() > 2 {
//! #             head.push(line.to_ascii_lowercase());
//! #             line.clear();
//! #         }
//! #         let len: usize = head.iter().find_map(|h| h.strip_prefix("content-length:"))
//! #             .unwrap().trim().parse().unwrap();
//! #         let mut body = vec![0; len];
//! #         conn.read_exact(&mut body).unwrap();
//! #         conn.get_mut().write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
//! #         tx.send(body).unwrap();
//! #     }
//! # });
//!
//! let registry = Registry::new();
//! let wait = registry.histogram(
//!     ("queue_wait_seconds", "Time queued."),
//!     Buckets::native(NativeOpts::new())?, // native buckets only
//! )?;
//! wait.observe(0.003);
//! wait.observe_with_exemplar(0.25, &[("trace_id", "4bf92f3577b34da6")])?;
//! let orders = registry.counter(("orders", "Orders placed."))?;
//! orders.inc_with_exemplar(&[("trace_id", "00f067aa0ba902b7")])?;
//!
//! // For Prometheus started with `--web.enable-remote-write-receiver
//! // --enable-feature=native-histograms,exemplar-storage`.
//! let sink = RemoteWrite::builder(format!("http://127.0.0.1:{port}/api/v1/write"))
//!     .send_native_histograms(true)
//!     .send_exemplars(true)
//!     .build()?;
//! let exporter = Exporter::builder(registry.clone(), sink).start()?;
//! exporter.flush(Duration::from_secs(5))?;
//! // queue_wait_seconds: one native histogram (no _bucket, _sum, _count);
//! // orders_total: one float; each with its exemplar.
//! assert_eq!(exporter.stats().samples_sent, 2);
//! # let raw = snap::raw::Decoder::new().decompress_vec(&rx.recv()?)?;
//! # let request = WriteRequest::decode(&raw[..])?;
//! # let [orders, wait, wait_exemplars] = &request.timeseries[..] else { panic!("{request:?}") };
//! # assert_eq!((orders.samples[0].value, orders.exemplars[0].value), (1.0, 1.0));
//! # assert_eq!(wait.labels[0].value, "queue_wait_seconds");
//! # assert_eq!(wait.histograms[0].count, Some(Count::CountInt(2)));
//! # assert_eq!(wait.histograms[0].sum, 0.253);
//! # // 1.0: a native histogram's exemplars in a series right after it.
//! # assert_eq!(wait_exemplars.labels, wait.labels);
//! # assert_eq!(wait_exemplars.exemplars[0].value, 0.25);
//! # assert_eq!(wait_exemplars.exemplars[0].labels[0].value, "4bf92f3577b34da6");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Example
//!
//! ```
//! use hotmetrics_core::Registry;
//! use hotmetrics_export::Exporter;
//! use hotmetrics_remote_write::{Protocol, RemoteWrite};
//! use std::time::Duration;
//! # use std::io::{BufRead, BufReader, Read, Write};
//! # // A stand-in receiver on loopback: answers 204 and hands over the body.
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! # let port = listener.local_addr().unwrap().port();
//! # let (tx, rx) = std::sync::mpsc::channel();
//! # std::thread::spawn(move || {
//! #     for conn in listener.incoming() {
//! #         let mut conn = BufReader::new(conn.unwrap());
//! #         let (mut head, mut line) = (Vec::new(), String::new());
//! #         while conn.read_line(&mut line).unwrap() > 2 {
//! #             head.push(line.to_ascii_lowercase());
//! #             line.clear();
//! #         }
//! #         let len: usize = head.iter().find_map(|h| h.strip_prefix("content-length:"))
//! #             .unwrap().trim().parse().unwrap();
//! #         let mut body = vec![0; len];
//! #         conn.read_exact(&mut body).unwrap();
//! #         conn.get_mut().write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
//! #         tx.send((head, body)).unwrap();
//! #     }
//! # });
//!
//! let registry = Registry::new();
//! registry.counter(("jobs", "Jobs done.")).unwrap().inc_by(3);
//!
//! let sink = RemoteWrite::builder(format!("http://127.0.0.1:{port}/api/v1/write"))
//!     .protocol(Protocol::V1)
//!     .external_label("job", "worker")
//!     .header("X-Scope-OrgID", "tenant-1")
//!     .build()?;
//! let exporter = Exporter::builder(registry.clone(), sink)
//!     .interval(Duration::from_secs(15))
//!     .start()?;
//! exporter.flush(Duration::from_secs(5))?; // one export, now
//! assert_eq!(exporter.stats().samples_sent, 1); // jobs_total{job="worker"} 3
//!
//! let (head, body) = rx.recv()?;
//! assert!(head.iter().any(|h| h == "content-encoding: snappy\r\n"));
//! assert!(head.iter().any(|h| h == "x-prometheus-remote-write-version: 0.1.0\r\n"));
//! let request = snap::raw::Decoder::new().decompress_vec(&body)?;
//! assert!(request.windows(10).any(|w| w == b"jobs_total"));
//!
//! // A bad configuration fails at build time.
//! assert!(RemoteWrite::builder("ftp://host/write").build().is_err());
//! assert!(RemoteWrite::builder("http://host/write").external_label("__x", "y").build().is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![forbid(unsafe_code)]

mod builder;
mod exemplars;
mod fallback;
mod flatten;
mod http;
mod labels;
mod native;
mod sink;
mod symbols;
mod tls;
mod v1;
mod v2;
mod wire;

pub use builder::{
    DEFAULT_MAX_SAMPLES_PER_REQUEST, DEFAULT_TIMEOUT, Error, Protocol, RemoteWrite,
    RemoteWriteBuilder,
};
pub use sink::RemoteWriteSink;
