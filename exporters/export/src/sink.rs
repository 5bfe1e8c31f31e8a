//! The seam between the runtime and a sink: what a sink encodes, what it
//! sends, and how a send fails.

use hotmetrics_core::MetricSource;
use std::fmt;
use std::time::Duration;

/// Where an [`Exporter`](crate::Exporter) sends: encodes a registry's
/// state into payloads, and sends one payload at a time. The runtime calls
/// both on its own thread, never concurrently, and owns the retries, the
/// backoff, the queue and the self-metrics.
///
/// A *cumulative* sink (remote write) encodes the whole current state each
/// time; a *delta* sink (StatsD) encodes what changed since its last
/// `encode`, and keeps what it needs to know that.
pub trait Sink: Send + 'static {
    /// A short name for the self-metrics' `sink` label and for messages
    /// (`"remote_write"`, `"statsd"`).
    fn name(&self) -> &str;

    /// Where it sends (`http://host:9090/api/v1/write`,
    /// `udp://127.0.0.1:8125`), without credentials: an exporter not given
    /// a [`name`](crate::ExporterBuilder::name) is named after it in its
    /// self-metrics' `exporter` label. `None` (the default) names it after
    /// [`name`](Self::name).
    fn target(&self) -> Option<String> {
        None
    }

    /// Encodes what to send now into `batch`, one or more payloads
    /// ([`Batch::payload`]), reusing their buffers. An error drops this
    /// export (counted) and the next interval tries again.
    fn encode(&mut self, source: &dyn MetricSource, batch: &mut Batch) -> Result<(), EncodeError>;

    /// Sends one payload, blocking until the receiver answered or the
    /// sink's own timeout passed.
    fn send(&mut self, payload: &Payload) -> Result<(), SendError>;
}

/// One request's worth of encoded samples, its buffer reused from export
/// to export.
#[derive(Debug, Default, Clone)]
pub struct Payload {
    /// The encoded bytes, as they go on the wire.
    pub bytes: Vec<u8>,
    /// How many samples they carry (for the self-metrics).
    pub samples: u64,
}

impl Payload {
    fn clear(&mut self) {
        self.bytes.clear();
        self.samples = 0;
    }
}

/// The payloads of one export. Cleared and reused by the runtime: after
/// the first few exports, encoding allocates nothing.
#[derive(Debug, Default)]
pub struct Batch {
    payloads: Vec<Payload>,
    len: usize,
}

impl Batch {
    /// A new, empty payload at the end of the batch (its buffer one a
    /// former export left, cleared).
    pub fn payload(&mut self) -> &mut Payload {
        if self.len == self.payloads.len() {
            self.payloads.push(Payload::default());
        }
        let payload = &mut self.payloads[self.len];
        payload.clear();
        self.len += 1;
        payload
    }

    /// Drops the last payload (one the sink started and found empty).
    pub fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    /// The payloads, in order.
    pub fn payloads(&self) -> &[Payload] {
        &self.payloads[..self.len]
    }

    /// How many payloads it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The samples of its payloads from `from` on.
    pub(crate) fn samples_from(&self, from: usize) -> u64 {
        self.payloads()[from.min(self.len)..]
            .iter()
            .map(|p| p.samples)
            .sum()
    }

    /// Empties it, keeping the buffers.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}

/// Why a sink could not encode an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError(pub String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

/// Why a send failed, and whether to try the payload again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying: a connection error, a timeout, a 5xx, a 429. The
    /// runtime retries with exponential backoff and jitter, waiting at
    /// least `retry_after` when the receiver said so (`Retry-After`), and
    /// logs the message as a warning the first time it sees it since the
    /// last send that succeeded (each retry at debug).
    Retryable {
        /// What happened, for messages.
        message: String,
        /// The receiver's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// Not worth retrying (a 4xx other than 429: the receiver refuses
    /// these samples): the payload is dropped and counted as failed, and
    /// the message logged once per distinct message.
    Permanent {
        /// What happened, with the receiver's answer.
        message: String,
    },
}

impl SendError {
    /// A retryable failure without a `Retry-After`.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }

    /// A permanent failure.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent {
            message: message.into(),
        }
    }

    /// What happened.
    pub fn message(&self) -> &str {
        match self {
            Self::Retryable { message, .. } | Self::Permanent { message } => message,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Retryable { message, .. } => write!(f, "{message} (will retry)"),
            Self::Permanent { message } => write!(f, "{message} (dropped)"),
        }
    }
}

impl std::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_reuse_their_payloads() {
        let mut batch = Batch::default();
        batch.payload().bytes.extend_from_slice(b"abc");
        batch.payload().samples = 3;
        assert_eq!(batch.len(), 2);
        let cap = batch.payloads()[0].bytes.capacity();
        batch.clear();
        assert!(batch.is_empty());
        let p = batch.payload();
        assert!(p.bytes.is_empty() && p.samples == 0);
        assert_eq!(p.bytes.capacity(), cap, "the buffer is kept");
        batch.pop();
        assert!(batch.is_empty());
    }
}
