//! Choosing the exposition format of a scrape from its `Accept` header, and
//! encoding a registry in it.
//!
//! An HTTP server needs three things per scrape: the format to write, the
//! body, and the `Content-Type` to send. [`negotiate`] reads the `Accept`
//! header the way Prometheus' Go libraries do (see its docs for the exact
//! rules), and [`ScrapeEncoder`] writes any compiled-in [`Format`] into a
//! reused buffer, through each format's [`Encoder`](hotmetrics_core::Encoder);
//! [`ScrapeEncoder::encode_negotiated`] does both. [`weighted`] parses the
//! weighted lists of `Accept` and `Accept-Encoding` for servers.
//!
//! ```
//! # #[cfg(all(feature = "text", feature = "openmetrics"))] {
//! use bytes::BytesMut;
//! use hotmetrics_core::Registry;
//! use hotmetrics_exposition::{Format, ScrapeEncoder, negotiate};
//!
//! let registry = Registry::new();
//! registry.counter(("jobs", "Jobs done.")).unwrap().inc_by(3);
//! let mut encoder = ScrapeEncoder::new();
//! let mut body = BytesMut::new();
//!
//! // Prometheus 3 prefers OpenMetrics...
//! let prometheus = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
//!     application/openmetrics-text;version=0.0.1;q=0.5,\
//!     text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
//!     text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
//! assert_eq!(negotiate(Some(prometheus)).unwrap().format(), Format::OpenMetrics);
//!
//! // ...while curl gets text.
//! body.clear();
//! let chosen = encoder.encode_negotiated(Some("*/*"), &registry, &mut body).unwrap();
//! assert_eq!(chosen.content_type(), "text/plain; version=0.0.4; charset=utf-8");
//! assert_eq!(
//!     &body[..],
//!     b"# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3\n"
//! );
//! # }
//! ```
//!
//! ## Features
//! Each format is behind a feature; a format not compiled in has no
//! [`Format`] variant, so it can never be chosen or named.
//! - `text` (default): Prometheus text 0.0.4, `Format::Text`.
//! - `openmetrics`: OpenMetrics 1.0.0, `Format::OpenMetrics`.
//! - `protobuf`: length-delimited `MetricFamily` messages,
//!   `Format::Protobuf`.
//!
//! With none of them the crate still builds: [`Format`] has no variants,
//! [`Format::available`] is empty and [`negotiate`] returns `None`, so a
//! server built on it can compile in every feature combination and answer
//! such a build with an error status.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
mod accept;
mod encoder;
mod format;
mod negotiate;
pub mod weighted;

pub use encoder::ScrapeEncoder;
pub use format::Format;
pub use negotiate::{MAX_ACCEPT_BYTES, Negotiated, negotiate, negotiate_bytes};
