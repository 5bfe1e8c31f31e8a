//! The [`Sink`] the export runtime drives: encodes the registry's current
//! state (remote write is cumulative) and POSTs each payload.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use hotmetrics_core::MetricSource;
use hotmetrics_export::{Batch, EncodeError, Payload, SendError, Sink};

use crate::Protocol;
use crate::fallback::{is_v2, v2_to_v1};
use crate::flatten::{Flatten, Scratch, Writer};
use crate::http::{Answer, Client};
use crate::v1::V1Writer;
use crate::v2::V2Writer;

/// Sends a registry's samples by Prometheus remote write; made by
/// [`RemoteWrite::builder`](crate::RemoteWrite::builder), driven by an
/// [`Exporter`](hotmetrics_export::Exporter).
pub struct RemoteWriteSink {
    client: Client,
    /// The receiver's URL without query, for the exporter's name.
    target: String,
    protocol: Protocol,
    /// After a 2.0 → 1.0 fallback, until the first 1.0 payload: queued
    /// payloads may still be 2.0 ones, re-encoded before they are sent.
    draining_v2: bool,
    external: Vec<(String, String)>,
    max_samples: u64,
    /// `send_native_histograms`.
    native: bool,
    /// `send_exemplars`.
    exemplars: bool,
    /// The time (ms) of the last export whose encoding completed: its
    /// exemplars were sent, so the next export sends only those recorded
    /// from then on.
    exemplars_since_ms: i64,
    scratch: Scratch,
    v1: V1Writer,
    v2: V2Writer,
    snappy: snap::raw::Encoder,
    /// A queued 2.0 payload, decompressed, and re-encoded as 1.0.
    decoded: Vec<u8>,
    reencoded: Payload,
}

impl fmt::Debug for RemoteWriteSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteWriteSink")
            .field("protocol", &self.protocol)
            .field("external_labels", &self.external)
            .field("max_samples", &self.max_samples)
            .field("send_native_histograms", &self.native)
            .field("send_exemplars", &self.exemplars)
            .finish_non_exhaustive()
    }
}

impl RemoteWriteSink {
    pub(crate) fn new(
        client: Client,
        target: String,
        protocol: Protocol,
        external: Vec<(String, String)>,
        max_samples: u64,
        native: bool,
        exemplars: bool,
    ) -> Self {
        Self {
            client,
            target,
            protocol,
            draining_v2: false,
            external,
            max_samples,
            native,
            exemplars,
            exemplars_since_ms: i64::MIN,
            scratch: Scratch::default(),
            v1: V1Writer::default(),
            v2: V2Writer::default(),
            snappy: snap::raw::Encoder::new(),
            decoded: Vec::new(),
            reencoded: Payload::default(),
        }
    }

    /// The protocol it speaks now: the one configured, or 1.0 after a
    /// receiver refused 2.0 with a 415.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Falls back to 1.0 and re-encodes the 2.0 `payload` into
    /// `self.reencoded`.
    fn fall_back(&mut self, payload: &[u8], why: &str) -> Result<(), EncodeError> {
        log::warn!("hotmetrics remote write: falling back to 1.0: {why}");
        self.protocol = Protocol::V1;
        self.draining_v2 = true;
        self.reencode(payload)
    }

    fn reencode(&mut self, payload: &[u8]) -> Result<(), EncodeError> {
        if !is_v2(payload, &mut self.decoded)? {
            return Err(EncodeError("not a 2.0 payload".into()));
        }
        v2_to_v1(&self.decoded, &mut self.reencoded, &mut self.snappy)
    }
}

impl Sink for RemoteWriteSink {
    fn name(&self) -> &str {
        "remote_write"
    }

    fn target(&self) -> Option<String> {
        Some(self.target.clone())
    }

    fn encode(&mut self, source: &dyn MetricSource, batch: &mut Batch) -> Result<(), EncodeError> {
        let timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let writer: &mut dyn Writer = match self.protocol {
            Protocol::V1 => &mut self.v1,
            Protocol::V2 => &mut self.v2,
        };
        writer.reset();
        let mut flatten = Flatten {
            writer,
            scratch: &mut self.scratch,
            external: &self.external,
            batch,
            snappy: &mut self.snappy,
            max_samples: self.max_samples,
            timestamp_ms,
            native: self.native,
            exemplars: self.exemplars,
            exemplars_since_ms: self.exemplars_since_ms,
            error: None,
        };
        source.visit(&mut flatten);
        flatten.finish()?;
        // Every exemplar this export read is in its payloads now; the
        // boundary millisecond is sent again next time (a repeat of the
        // newest is a duplicate Prometheus ignores), so one recorded in it
        // after its series was read is not lost.
        self.exemplars_since_ms = timestamp_ms;
        Ok(())
    }

    fn send(&mut self, payload: &Payload) -> Result<(), SendError> {
        let cannot = |e: EncodeError| SendError::permanent(e.0);
        let mut reencoded = false;
        if self.draining_v2 {
            if is_v2(&payload.bytes, &mut self.decoded).map_err(cannot)? {
                v2_to_v1(&self.decoded, &mut self.reencoded, &mut self.snappy).map_err(cannot)?;
                reencoded = true;
            } else {
                // Payloads are sent in order: every later one is 1.0 too.
                self.draining_v2 = false;
            }
        }
        let body = if reencoded {
            &self.reencoded.bytes
        } else {
            &payload.bytes
        };
        match self.client.send(self.protocol, body) {
            Answer::Accepted => Ok(()),
            Answer::Failed(e) => Err(e),
            Answer::Unsupported(why) if self.protocol == Protocol::V2 => {
                self.fall_back(&payload.bytes, &why).map_err(cannot)?;
                match self.client.send(Protocol::V1, &self.reencoded.bytes) {
                    Answer::Accepted => Ok(()),
                    Answer::Failed(e) => Err(e),
                    Answer::Unsupported(why) => Err(SendError::permanent(why)),
                }
            }
            Answer::Unsupported(why) => Err(SendError::permanent(why)),
        }
    }
}
