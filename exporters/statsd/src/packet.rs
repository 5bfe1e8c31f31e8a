//! Fills datagrams with whole lines, up to the packet size.

use hotmetrics_export::Batch;

/// Packs lines, `\n`-separated, into payloads of at most `max` bytes; a
/// line never straddles two. Each payload of the batch is one datagram.
#[derive(Debug)]
pub(crate) struct Packer {
    max: usize,
    /// The datagram being filled (copied into the batch when full).
    packet: Vec<u8>,
    /// Lines in `packet`.
    lines: u64,
    /// Lines longer than `max` on their own, dropped this export.
    pub(crate) oversized: u64,
}

impl Packer {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            packet: Vec::with_capacity(max),
            lines: 0,
            oversized: 0,
        }
    }

    /// Starts an export: empties a datagram an export cut short left
    /// half-filled, and the count of oversized lines.
    pub(crate) fn reset(&mut self) {
        self.packet.clear();
        self.lines = 0;
        self.oversized = 0;
    }

    /// Adds `line` (one value: a plain negative gauge's two lines count
    /// as one), starting a new datagram when it does not fit.
    pub(crate) fn push(&mut self, batch: &mut Batch, line: &[u8]) {
        if line.len() > self.max {
            self.oversized += 1;
            return;
        }
        if !self.packet.is_empty() && self.packet.len() + 1 + line.len() > self.max {
            self.finish(batch);
        }
        if !self.packet.is_empty() {
            self.packet.push(b'\n');
        }
        self.packet.extend_from_slice(line);
        self.lines += 1;
    }

    /// Moves the datagram being filled, if any, into the batch.
    pub(crate) fn finish(&mut self, batch: &mut Batch) {
        if self.packet.is_empty() {
            return;
        }
        let payload = batch.payload();
        // A full datagram's room at once: a reused buffer never grows
        // when the next export's datagram in its place is longer.
        payload.bytes.reserve(self.max);
        payload.bytes.extend_from_slice(&self.packet);
        payload.samples = self.lines;
        self.packet.clear();
        self.lines = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fill_datagrams_without_splitting() {
        let mut batch = Batch::default();
        let mut packer = Packer::new(10);
        for line in ["aaaa", "bbbb", "c", "dddddddddd", "eeeeeeeeeee", "f"] {
            packer.push(&mut batch, line.as_bytes());
        }
        packer.finish(&mut batch);
        let got: Vec<(&[u8], u64)> = batch
            .payloads()
            .iter()
            .map(|p| (p.bytes.as_slice(), p.samples))
            .collect();
        let want: Vec<(&[u8], u64)> =
            vec![(b"aaaa\nbbbb", 2), (b"c", 1), (b"dddddddddd", 1), (b"f", 1)];
        assert_eq!(got, want);
        assert_eq!(packer.oversized, 1, "the 11-byte line cannot be sent");
    }
}
