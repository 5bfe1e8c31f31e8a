//! gzip for scrape bodies: reading `Accept-Encoding`, and a compressor
//! whose state and output buffer are reused across scrapes.

use bytes::{BufMut, BytesMut};
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use hotmetrics_exposition::weighted::weighted_list;
use http::header::{ACCEPT_ENCODING, HeaderMap};

/// Whether the request accepts a gzip body (RFC 9110 §12.5.3): `gzip` (or
/// `x-gzip`) with a positive weight, or else `*` with a positive weight.
/// `gzip;q=0` refuses it even when `*` is accepted. Elements are read with
/// the same weighted-list grammar as `Accept`
/// ([`hotmetrics_exposition::weighted`]); malformed ones are skipped.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in headers.get_all(ACCEPT_ENCODING) {
        for element in weighted_list(value.as_bytes()) {
            let coding = element.value();
            let positive = element.q() > 0;
            if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip") {
                // The highest weight given wins if gzip is listed twice.
                gzip = Some(gzip.unwrap_or(false) || positive);
            } else if coding == b"*" {
                any = Some(any.unwrap_or(false) || positive);
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// The fixed ten-byte gzip member header: deflate, no flags, no mtime, no
/// extra flags, OS unknown (RFC 1952).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// A raw-deflate compressor kept between scrapes (its state is a few
/// hundred KiB that would otherwise be allocated and zeroed every time),
/// wrapped into a gzip member by hand.
pub(crate) struct GzipEncoder {
    deflate: Compress,
}

impl std::fmt::Debug for GzipEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzipEncoder").finish_non_exhaustive()
    }
}

impl GzipEncoder {
    /// Level 1: exposition text is repetitive enough that the fastest level
    /// already shrinks it 8-15×, and the encode stays on the server thread.
    pub(crate) fn new() -> Self {
        Self {
            deflate: Compress::new(Compression::fast(), false),
        }
    }

    /// Appends `input` as one gzip member to `out`. `false` (with `out`
    /// back to its old length) if the compressor failed, which miniz_oxide
    /// does not do for valid input; the caller then sends `input` as is.
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut BytesMut) -> bool {
        let old_len = out.len();
        self.deflate.reset();
        out.reserve(HEADER.len() + input.len() / 4 + 64);
        out.extend_from_slice(&HEADER);
        let mut consumed = 0;
        let mut room = input.len() / 4 + 64;
        loop {
            let start = out.len();
            out.resize(start + room, 0);
            let (in_before, out_before) = (self.deflate.total_in(), self.deflate.total_out());
            let status =
                self.deflate
                    .compress(&input[consumed..], &mut out[start..], FlushCompress::Finish);
            let read = usize::try_from(self.deflate.total_in() - in_before).unwrap_or(usize::MAX);
            let written =
                usize::try_from(self.deflate.total_out() - out_before).unwrap_or(usize::MAX);
            consumed = consumed.saturating_add(read).min(input.len());
            out.truncate(start + written.min(room));
            match status {
                Ok(Status::StreamEnd) => break,
                Ok(Status::Ok | Status::BufError) => {
                    if read == 0 && written == 0 {
                        // No progress: give it more room.
                        room = room.saturating_mul(2);
                    }
                }
                Err(_) => {
                    out.truncate(old_len);
                    return false;
                }
            }
        }
        let mut crc = Crc::new();
        crc.update(input);
        out.put_u32_le(crc.sum());
        out.put_u32_le(crc.amount());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use std::io::Read;

    fn accepts(values: &[&str]) -> bool {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        accepts_gzip(&h)
    }

    #[test]
    fn accept_encoding() {
        assert!(!accepts(&[]));
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["GZIP"]));
        assert!(accepts(&["x-gzip"]));
        assert!(accepts(&["deflate, gzip;q=0.5"]));
        assert!(accepts(&["br", "gzip"]));
        assert!(accepts(&["gzip ; q=1.000"]));
        assert!(accepts(&["*"]));
        assert!(accepts(&["gzip;q=0.001"]));
        assert!(!accepts(&["gzip;q=0"]));
        assert!(!accepts(&["gzip;q=0.000"]));
        assert!(!accepts(&["gzip;q=0, *"]));
        assert!(!accepts(&["*;q=0"]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["br, deflate"]));
        assert!(!accepts(&["gzipx"]));
        // An invalid weight drops the element.
        assert!(!accepts(&["gzip;q=2"]));
        assert!(!accepts(&["gzip;q=abc"]));
        assert!(accepts(&["gzip;q=abc, *"]));
        assert!(accepts(&["gzip;q=0, gzip"]));
        // So does a malformed parameter; a quoted comma does not split.
        assert!(!accepts(&["gzip;level"]));
        assert!(accepts(&["br;x=\"a,gzip;q=0\", gzip"]));
    }

    #[test]
    fn round_trip_and_reuse() {
        let mut gz = GzipEncoder::new();
        let mut out = BytesMut::new();
        for input in [
            &b""[..],
            b"a",
            &b"metric_total{label=\"value\"} 12345\n".repeat(10_000),
            &(0..200_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect::<Vec<_>>(),
        ] {
            out.clear();
            assert!(gz.compress(input, &mut out));
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, input);
        }
    }
}
