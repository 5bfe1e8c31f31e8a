//! The two text exposition formats for a hotmetrics registry, Prometheus
//! text 0.0.4 ([`TextEncoder`]) and OpenMetrics 1.0.0
//! ([`OpenMetricsEncoder`]), written by one writer in two [`Dialect`]s into
//! a caller-owned [`BytesMut`](bytes::BytesMut) that is reused across
//! scrapes. Both implement [`hotmetrics_core::Encoder`], the format seam
//! servers and push clients take.
//!
//! # Text 0.0.4
//!
//! ```
//! use bytes::BytesMut;
//! use hotmetrics_core::{Buckets, Registry};
//! use hotmetrics_text::TextEncoder;
//!
//! let registry = Registry::new();
//! let sent = registry.counter_vec(("sent_total", "Messages sent."), &["queue"]).unwrap();
//! sent.with(&["a\"b"], |c| c.inc_by(3)).unwrap();
//! let wait = registry
//!     .histogram(("wait_seconds", "Time in queue."), Buckets::new(vec![0.5, 1.0]).unwrap())
//!     .unwrap();
//! wait.observe(0.75);
//!
//! let mut buf = BytesMut::new();
//! TextEncoder::new().encode(&registry, &mut buf);
//! assert_eq!(
//!     std::str::from_utf8(&buf).unwrap(),
//!     "# HELP sent_total Messages sent.\n\
//!      ## TYPE sent_total counter\n\
//!      sent_total{queue=\"a\\\"b\"} 3\n\
//!      ## HELP wait_seconds Time in queue.\n\
//!      ## TYPE wait_seconds histogram\n\
//!      wait_seconds_bucket{le=\"0.5\"} 0\n\
//!      wait_seconds_bucket{le=\"1\"} 1\n\
//!      wait_seconds_bucket{le=\"+Inf\"} 1\n\
//!      wait_seconds_sum 0.75\n\
//!      wait_seconds_count 1\n"
//! );
//! ```
//!
//! Both dialects escape label values (`\`, `"`, newline) and write
//! histogram buckets cumulatively, ending with `le="+Inf"` equal to
//! `_count`, and `NaN`, `+Inf`, `-Inf` spelled so. [`Prometheus`] and
//! [`OpenMetrics`] list what each writes differently.
//!
//! # OpenMetrics 1.0.0
//! ```
//! use bytes::BytesMut;
//! use hotmetrics_core::{Buckets, Opts, Registry};
//! use hotmetrics_text::OpenMetricsEncoder;
//!
//! let registry = Registry::new();
//! let sent = registry.counter_vec(("sent_total", "Messages \"sent\"."), &["queue"]).unwrap();
//! sent.with(&["a\"b"], |c| c.inc_by(3)).unwrap();
//! let wait = registry
//!     .histogram(
//!         Opts::new("wait_seconds", "Time in queue.").unit("seconds"),
//!         Buckets::new(vec![0.5, 1.0]).unwrap(),
//!     )
//!     .unwrap();
//! wait.observe(0.75);
//!
//! let mut buf = BytesMut::new();
//! OpenMetricsEncoder::new().encode(&registry, &mut buf);
//! let text = std::str::from_utf8(&buf).unwrap();
//! // Creation times are wall-clock seconds; blank them for the comparison.
//! let stable: Vec<&str> = text
//!     .lines()
//!     .map(|l| if l.contains("_created") { l.split(' ').next().unwrap() } else { l })
//!     .collect();
//! assert_eq!(
//!     stable.join("\n"),
//!     "# HELP sent Messages \\\"sent\\\".\n\
//!      ## TYPE sent counter\n\
//!      sent_total{queue=\"a\\\"b\"} 3\n\
//!      sent_created{queue=\"a\\\"b\"}\n\
//!      ## HELP wait_seconds Time in queue.\n\
//!      ## TYPE wait_seconds histogram\n\
//!      ## UNIT wait_seconds seconds\n\
//!      wait_seconds_bucket{le=\"0.5\"} 0\n\
//!      wait_seconds_bucket{le=\"1.0\"} 1\n\
//!      wait_seconds_bucket{le=\"+Inf\"} 1\n\
//!      wait_seconds_sum 0.75\n\
//!      wait_seconds_count 1\n\
//!      wait_seconds_created\n\
//!      ## EOF"
//! );
//! ```
//!
//! # Exemplars
//! OpenMetrics writes a counter's exemplar on its `_total` line and a
//! histogram bucket's on its `_bucket` line; text 0.0.4 has no exemplars
//! and writes the same lines without them.
//! ```
//! use bytes::BytesMut;
//! use hotmetrics_core::Registry;
//! use hotmetrics_text::{OpenMetricsEncoder, TextEncoder};
//!
//! let registry = Registry::new();
//! let jobs = registry.counter(("jobs_total", "Jobs run.")).unwrap();
//! jobs.inc_by_with_exemplar(2, &[("trace_id", "4bf92f35")]).unwrap();
//!
//! let mut buf = BytesMut::new();
//! OpenMetricsEncoder::new().encode(&registry, &mut buf);
//! let text = std::str::from_utf8(&buf).unwrap();
//! let total = text.lines().find(|l| l.starts_with("jobs_total")).unwrap();
//! // The exemplar's value is the increment; its timestamp is when it was
//! // recorded, in seconds.
//! let (sample, timestamp) = total.rsplit_once(' ').unwrap();
//! assert_eq!(sample, "jobs_total 2 # {trace_id=\"4bf92f35\"} 2.0");
//! assert!(timestamp.parse::<f64>().unwrap() > 1.7e9);
//!
//! buf.clear();
//! TextEncoder::new().encode(&registry, &mut buf);
//! assert!(std::str::from_utf8(&buf).unwrap().contains("jobs_total 2\n"));
//! ```
//!
//! # UTF-8 names (Prometheus 3)
//! A [`NameValidation::Utf8`](hotmetrics_core::NameValidation::Utf8)
//! registry holds names such as `http.server.requests`. A scrape that asks
//! for `escaping=allow-utf-8` gets them quoted, inside the braces, the
//! suffix inside the quotes (text 1.0.0 and OpenMetrics alike):
//! ```
//! use bytes::BytesMut;
//! use hotmetrics_core::{Escaping, NameValidation, Registry};
//! use hotmetrics_text::TextEncoder;
//!
//! let registry = Registry::builder().name_validation(NameValidation::Utf8).build().unwrap();
//! let requests = registry
//!     .counter_vec(("http.server.requests", "Requests served."), &["http.method", "code"])
//!     .unwrap();
//! requests.with(&["GET", "200"], |c| c.inc_by(3)).unwrap();
//! registry.gauge(("queue_depth", "Messages waiting.")).unwrap().set(7);
//!
//! let mut buf = BytesMut::new();
//! TextEncoder::new().with_escaping(Escaping::AllowUtf8).encode(&registry, &mut buf);
//! assert_eq!(
//!     std::str::from_utf8(&buf).unwrap(),
//!     "# HELP \"http.server.requests_total\" Requests served.\n\
//!      ## TYPE \"http.server.requests_total\" counter\n\
//!      {\"http.server.requests_total\",\"http.method\"=\"GET\",code=\"200\"} 3\n\
//!      ## HELP queue_depth Messages waiting.\n\
//!      ## TYPE queue_depth gauge\n\
//!      queue_depth 7\n"
//! );
//! ```
//! Any other scrape gets them escaped ([`Escaping`](hotmetrics_core::Escaping)),
//! underscores when it names no scheme; legacy names are never changed:
//! ```
//! # use bytes::BytesMut;
//! # use hotmetrics_core::{NameValidation, Registry};
//! # use hotmetrics_text::TextEncoder;
//! # let registry = Registry::builder().name_validation(NameValidation::Utf8).build().unwrap();
//! # let requests = registry
//! #     .counter_vec(("http.server.requests", "Requests served."), &["http.method", "code"])
//! #     .unwrap();
//! # requests.with(&["GET", "200"], |c| c.inc_by(3)).unwrap();
//! # registry.gauge(("queue_depth", "Messages waiting.")).unwrap().set(7);
//! let mut buf = BytesMut::new();
//! TextEncoder::new().encode(&registry, &mut buf); // Escaping::Underscores
//! assert_eq!(
//!     std::str::from_utf8(&buf).unwrap(),
//!     "# HELP http_server_requests_total Requests served.\n\
//!      ## TYPE http_server_requests_total counter\n\
//!      http_server_requests_total{http_method=\"GET\",code=\"200\"} 3\n\
//!      ## HELP queue_depth Messages waiting.\n\
//!      ## TYPE queue_depth gauge\n\
//!      queue_depth 7\n"
//! );
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![forbid(unsafe_code)]

mod dialect;
mod lexical;
mod writer;

pub use dialect::{Dialect, OpenMetrics, Prometheus};
pub use writer::DialectEncoder;

/// Encodes registries as Prometheus text 0.0.4.
pub type TextEncoder = DialectEncoder<Prometheus>;

/// Encodes registries as OpenMetrics 1.0.0, `# EOF` included.
pub type OpenMetricsEncoder = DialectEncoder<OpenMetrics>;

/// The Content-Type of Prometheus text 0.0.4.
pub const CONTENT_TYPE: &str = TextEncoder::CONTENT_TYPE;

/// OpenMetrics 1.0.0 under its own path (the facade's
/// `hotmetrics::openmetrics`).
pub mod openmetrics {
    pub use crate::{DialectEncoder, OpenMetrics, OpenMetricsEncoder};

    /// The Content-Type of OpenMetrics 1.0.0.
    pub const CONTENT_TYPE: &str = OpenMetricsEncoder::CONTENT_TYPE;
}
