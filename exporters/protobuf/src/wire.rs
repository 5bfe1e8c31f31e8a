//! Protobuf wire-format primitives: varints, tags, zigzag, fixed64 doubles,
//! the size of each field, and length prefixes patched in after the fact.
//!
//! Every `*_len` function returns exactly the number of bytes its `put_*`
//! twin writes, so a message's length can be computed before it is written.

use bytes::{BufMut, BytesMut};

/// Wire type of `int32`, `int64`, `uint64`, `sint*`, `bool` and enums.
pub(crate) const VARINT: u8 = 0;
/// Wire type of `double` (and `fixed64`).
pub(crate) const FIXED64: u8 = 1;
/// Wire type of strings, bytes and embedded messages.
pub(crate) const LEN: u8 = 2;

/// Bytes in the canonical (shortest) varint encoding of `v`: 1 to 10.
pub(crate) fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Writes a key and a varint after it with one copy: fields are small and
/// many, so one `put_slice` per field instead of two matters.
fn put_key_and_varint(out: &mut BytesMut, field: u32, wire_type: u8, v: u64) {
    let mut buf = [0u8; 20];
    let n = varint_into(&mut buf, (u64::from(field) << 3) | u64::from(wire_type));
    let m = varint_into(&mut buf[n..], v);
    out.put_slice(&buf[..n + m]);
}

/// Writes `v` as a canonical varint at the start of `buf` (which must hold
/// `varint_len(v)` bytes) and returns the bytes written.
fn varint_into(buf: &mut [u8], mut v: u64) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        buf[i] = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
    buf[i] = v as u8;
    i + 1
}

/// `sint32` zigzag: small magnitudes, either sign, become small varints.
pub(crate) fn zigzag32(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

/// `sint64` zigzag.
pub(crate) fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// `int64` and `int32` go on the wire sign-extended to 64 bits, so a
/// negative value takes 10 bytes.
pub(crate) fn int_as_varint(v: i64) -> u64 {
    v as u64
}

/// Bytes of the key (field number and wire type) of `field`.
pub(crate) fn tag_len(field: u32) -> usize {
    varint_len(u64::from(field) << 3)
}

/// Size of a `double` field.
pub(crate) fn double_field_len(field: u32) -> usize {
    tag_len(field) + 8
}

/// Writes a `double` field: little-endian IEEE 754, NaN and infinities as is.
pub(crate) fn put_double_field(out: &mut BytesMut, field: u32, v: f64) {
    let mut buf = [0u8; 18];
    let n = varint_into(&mut buf, (u64::from(field) << 3) | u64::from(FIXED64));
    buf[n..n + 8].copy_from_slice(&v.to_le_bytes());
    out.put_slice(&buf[..n + 8]);
}

/// Size of a varint field holding `v` (already zigzagged or sign-extended).
pub(crate) fn varint_field_len(field: u32, v: u64) -> usize {
    tag_len(field) + varint_len(v)
}

/// Writes a varint field holding `v` (already zigzagged or sign-extended).
pub(crate) fn put_varint_field(out: &mut BytesMut, field: u32, v: u64) {
    put_key_and_varint(out, field, VARINT, v);
}

/// Size of a length-delimited field whose payload is `body_len` bytes.
pub(crate) fn len_field_len(field: u32, body_len: usize) -> usize {
    tag_len(field) + varint_len(body_len as u64) + body_len
}

/// Writes the key and length of a length-delimited field; the caller then
/// writes exactly `body_len` bytes of payload.
pub(crate) fn put_len_prefix(out: &mut BytesMut, field: u32, body_len: usize) {
    put_key_and_varint(out, field, LEN, body_len as u64);
}

/// Writes a `string` (or `bytes`) field.
pub(crate) fn put_bytes_field(out: &mut BytesMut, field: u32, bytes: &[u8]) {
    put_len_prefix(out, field, bytes.len());
    out.put_slice(bytes);
}

/// A varint-delimited message being written whose length prefix is still
/// a guess; see [`begin_delimited`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delimited {
    start: usize,
    guess: usize,
}

impl Delimited {
    /// Where the message (its prefix) starts in the output.
    pub(crate) fn start(self) -> usize {
        self.start
    }
}

/// Starts a varint-delimited message at the end of `out`, reserving `guess`
/// bytes (1 to 10) for its length prefix. A right guess means the prefix is
/// written in place; a wrong one moves the body once (see
/// [`end_delimited`]), which for a family of half a megabyte costs as much
/// as writing it, so callers guess from the previous scrape.
pub(crate) fn begin_delimited(out: &mut BytesMut, guess: usize) -> Delimited {
    let start = out.len();
    let guess = guess.clamp(1, 10);
    out.put_bytes(0, guess);
    Delimited { start, guess }
}

/// Writes the canonical length prefix of the message begun as `d`, moving
/// its body when the prefix is not the guessed length, and returns the
/// prefix's length (the right guess for next time).
pub(crate) fn end_delimited(out: &mut BytesMut, d: Delimited) -> usize {
    let Delimited { start, guess } = d;
    let body_start = start + guess;
    let end = out.len();
    let body_len = end - body_start;
    let need = varint_len(body_len as u64);
    if need > guess {
        out.put_bytes(0, need - guess);
    }
    if need != guess {
        out.copy_within(body_start..end, start + need);
        out.truncate(start + need + body_len);
    }
    varint_into(&mut out[start..start + need], body_len as u64);
    need
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_canonical() {
        for (v, bytes) in [
            (0u64, &[0x00][..]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ] {
            let mut buf = [0u8; 10];
            let n = varint_into(&mut buf, v);
            assert_eq!(&buf[..n], bytes, "{v}");
            assert_eq!(varint_len(v), bytes.len(), "{v}");
        }
        assert_eq!(varint_len(int_as_varint(-1)), 10);
    }

    #[test]
    fn zigzag_matches_the_protobuf_spec() {
        assert_eq!(zigzag32(0), 0);
        assert_eq!(zigzag32(-1), 1);
        assert_eq!(zigzag32(1), 2);
        assert_eq!(zigzag32(-2), 3);
        assert_eq!(zigzag32(i32::MAX), 0xffff_fffe);
        assert_eq!(zigzag32(i32::MIN), 0xffff_ffff);
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
        assert_eq!(zigzag64(i64::MAX), u64::MAX - 1);
    }

    #[test]
    fn delimited_prefix_is_exact_for_every_size_class() {
        for (body, guess) in [0usize, 1, 127, 128, 16_383, 16_384, 2_097_152]
            .into_iter()
            .flat_map(|b| [(b, 1), (b, 2), (b, 3), (b, 10)])
        {
            let mut out = BytesMut::from(&b"xy"[..]);
            let d = begin_delimited(&mut out, guess);
            out.extend((0..body).map(|i| i as u8));
            let need = end_delimited(&mut out, d);
            assert_eq!(need, varint_len(body as u64));
            let mut expected = BytesMut::from(&b"xy"[..]);
            let mut prefix = [0u8; 10];
            let n = varint_into(&mut prefix, body as u64);
            expected.extend_from_slice(&prefix[..n]);
            expected.extend((0..body).map(|i| i as u8));
            assert!(out == expected, "body of {body} bytes, guess {guess}");
        }
    }
}
