//! OpenMetrics encoder (in progress).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use bytes::BytesMut;
use hotmetrics_core::Registry;

/// The Content-Type of this format.
pub const CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Encodes registries as OpenMetrics 1.0.0 text.
#[derive(Debug, Default)]
pub struct OpenMetricsEncoder {}

impl OpenMetricsEncoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the registry's exposition to `out`.
    pub fn encode(&mut self, registry: &Registry, out: &mut BytesMut) {
        let _ = (registry, out);
    }
}
