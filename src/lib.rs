//! # hotmetrics
//!
//! Prometheus metrics for the hottest loops of message consumers and stream
//! processors. Counters, gauges and histograms are updated through cheap
//! handles into per-thread cells (no lock, no contended atomic, no
//! allocation after a thread's first touch) and merged exactly at scrape
//! time. Exporters encode the merged view into reusable byte buffers.
//!
//! ```
//! use hotmetrics::{Buckets, Registry};
//!
//! let registry = Registry::new();
//! let received = registry
//!     .counter_vec(("received_messages_total", "Messages received"), &["handler"])
//!     .unwrap();
//! let in_flight = registry.gauge(("in_process", "Messages being handled")).unwrap();
//! let duration = registry
//!     .histogram(("processing_seconds", "Processing time"), Buckets::default())
//!     .unwrap();
//!
//! // In the consumer loop:
//! received.with(&["orders"], |c| c.inc()).unwrap();
//! {
//!     let _in_flight = in_flight.track_in_progress();
//!     let _timer = duration.start_timer();
//!     // handle the message
//! }
//!
//! // At scrape time (feature `text`, on by default):
//! let mut buf = bytes::BytesMut::new();
//! hotmetrics::text::TextEncoder::new().encode(&registry, &mut buf);
//! assert!(std::str::from_utf8(&buf).unwrap().contains("received_messages_total{handler=\"orders\"} 1\n"));
//! ```
//!
//! ## Features
//! - `text` (default): the Prometheus text 0.0.4 encoder, as [`text`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use hotmetrics_core::*;

/// Prometheus text exposition format 0.0.4 (re-export of `hotmetrics-text`).
#[cfg(feature = "text")]
#[cfg_attr(docsrs, doc(cfg(feature = "text")))]
pub use hotmetrics_text as text;

/// OpenMetrics 1.0 (re-export of `hotmetrics-openmetrics`).
#[cfg(feature = "openmetrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "openmetrics")))]
pub use hotmetrics_openmetrics as openmetrics;

/// Length-delimited protobuf (re-export of `hotmetrics-protobuf`).
#[cfg(feature = "protobuf")]
#[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
pub use hotmetrics_protobuf as protobuf;

/// Picking a format from an `Accept` header and encoding in it (re-export
/// of `hotmetrics-exposition`).
pub use hotmetrics_exposition as exposition;
