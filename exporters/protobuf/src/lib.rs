//! Protobuf encoder (in progress).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use bytes::BytesMut;
use hotmetrics_core::Registry;

/// The Content-Type of this format.
pub const CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Encodes registries as length-delimited `MetricFamily` messages.
#[derive(Debug, Default)]
pub struct ProtobufEncoder {}

impl ProtobufEncoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the registry's exposition to `out`.
    pub fn encode(&mut self, registry: &Registry, out: &mut BytesMut) {
        let _ = (registry, out);
    }
}
