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
//! export: a steady-state export allocates nothing.
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
mod fallback;
mod flatten;
mod http;
mod labels;
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
