//! Protobuf wire-format primitives on a `Vec<u8>`: keys, varints, doubles
//! and length-delimited fields, each `*_len` the exact size its `put_*`
//! twin writes, so a message's length is known before it is written.

/// Wire type of integers, booleans and enums.
pub(crate) const VARINT: u8 = 0;
/// Wire type of `double`.
pub(crate) const FIXED64: u8 = 1;
/// Wire type of strings, bytes, embedded messages and packed repeats.
pub(crate) const LEN: u8 = 2;
/// Wire type of `float` and `fixed32` (only ever skipped).
pub(crate) const FIXED32: u8 = 5;

/// Bytes of the shortest varint encoding of `v` (1 to 10).
pub(crate) fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Writes `v` as a varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire_type));
}

/// Bytes of the key of `field`.
pub(crate) fn key_len(field: u32) -> usize {
    varint_len(u64::from(field) << 3)
}

/// Size of a length-delimited field with a `body_len`-byte body.
pub(crate) fn len_field_len(field: u32, body_len: usize) -> usize {
    key_len(field) + varint_len(body_len as u64) + body_len
}

/// Writes the key and length of a length-delimited field; exactly
/// `body_len` bytes of body must follow.
pub(crate) fn put_len_prefix(out: &mut Vec<u8>, field: u32, body_len: usize) {
    put_key(out, field, LEN);
    put_varint(out, body_len as u64);
}

/// Writes a `string` or `bytes` field.
pub(crate) fn put_bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_len_prefix(out, field, bytes.len());
    out.extend_from_slice(bytes);
}

/// Size of a `double` field.
pub(crate) fn double_field_len(field: u32) -> usize {
    key_len(field) + 8
}

/// Writes a `double` field (little-endian IEEE 754; NaN as is).
pub(crate) fn put_double_field(out: &mut Vec<u8>, field: u32, v: f64) {
    put_key(out, field, FIXED64);
    out.extend_from_slice(&v.to_le_bytes());
}

/// Size of a `double` field left out at its default: nothing for `+0.0`
/// (proto3 leaves out a field at its default; `-0.0` is written, keeping
/// its sign).
pub(crate) fn opt_double_field_len(field: u32, v: f64) -> usize {
    if v.to_bits() == 0 {
        0
    } else {
        double_field_len(field)
    }
}

/// Writes a `double` field unless it is `+0.0` ([`opt_double_field_len`]).
pub(crate) fn put_opt_double_field(out: &mut Vec<u8>, field: u32, v: f64) {
    if v.to_bits() != 0 {
        put_double_field(out, field, v);
    }
}

/// Size of a varint field holding `v` (an `int64` sign-extended).
pub(crate) fn varint_field_len(field: u32, v: u64) -> usize {
    key_len(field) + varint_len(v)
}

/// Writes a varint field.
pub(crate) fn put_varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    put_key(out, field, VARINT);
    put_varint(out, v);
}

/// `sint32` zigzag: small magnitudes of either sign become small varints.
pub(crate) fn zigzag32(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

/// `sint64` zigzag.
pub(crate) fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Reverses [`zigzag64`] (and [`zigzag32`], whose values it also reads).
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Bytes of the varints of `values` (already zigzagged): the body of a
/// packed repeated field.
pub(crate) fn packed_len(values: impl Iterator<Item = u64>) -> usize {
    values.map(varint_len).sum()
}

/// Size of a packed repeated varint field with a `body_len`-byte body
/// ([`packed_len`]); 0 when there are no values, as the field is then
/// left out.
pub(crate) fn packed_field_len(field: u32, body_len: usize) -> usize {
    if body_len == 0 {
        0
    } else {
        len_field_len(field, body_len)
    }
}

/// Writes a packed repeated varint field (proto3's default for repeated
/// scalars, what Prometheus' Go code writes) of `values`, whose
/// [`packed_len`] is `body_len`; nothing when there are none.
pub(crate) fn put_packed_field(
    out: &mut Vec<u8>,
    field: u32,
    body_len: usize,
    values: impl Iterator<Item = u64>,
) {
    if body_len == 0 {
        return;
    }
    put_len_prefix(out, field, body_len);
    for v in values {
        put_varint(out, v);
    }
}

/// One field read back by [`Reader`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Field<'a> {
    /// A varint.
    Varint(u64),
    /// A fixed 64-bit value.
    Fixed64(u64),
    /// A length-delimited body.
    Bytes(&'a [u8]),
    /// A fixed 32-bit value.
    Fixed32,
}

/// Walks the fields of one message (the 1.0 fallback reads back the 2.0
/// payloads this crate wrote).
#[derive(Debug)]
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    /// A varint, or `None` at the end or on a malformed one.
    pub(crate) fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for (i, &b) in self.0.iter().enumerate().take(10) {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.0 = &self.0[i + 1..];
                return Some(v);
            }
        }
        None
    }

    /// The next field number and value; `None` at the end, `Some(Err)`
    /// on malformed input.
    pub(crate) fn field(&mut self) -> Option<Result<(u32, Field<'a>), &'static str>> {
        if self.0.is_empty() {
            return None;
        }
        let Some(key) = self.varint() else {
            return Some(Err("a malformed field key"));
        };
        let field = (key >> 3) as u32;
        let value = match (key & 7) as u8 {
            VARINT => self.varint().map(Field::Varint),
            FIXED64 => self.take(8).map(|b| {
                let mut le = [0u8; 8];
                le.copy_from_slice(b);
                Field::Fixed64(u64::from_le_bytes(le))
            }),
            LEN => self
                .varint()
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| self.take(n))
                .map(Field::Bytes),
            FIXED32 => self.take(4).map(|_| Field::Fixed32),
            _ => None,
        };
        Some(
            value
                .map(|v| (field, v))
                .ok_or("a truncated or unknown field"),
        )
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_what_is_written() {
        for v in [0, 1, 127, 128, 16_383, 16_384, u64::MAX] {
            let mut out = Vec::new();
            put_varint_field(&mut out, 2, v);
            assert_eq!(out.len(), varint_field_len(2, v), "{v}");
            assert_eq!(Reader(&out).field(), Some(Ok((2, Field::Varint(v)))));
        }
        let mut out = Vec::new();
        put_bytes_field(&mut out, 20, &[7; 200]);
        assert_eq!(out.len(), len_field_len(20, 200));
        put_double_field(&mut out, 1, 0.5);
        let mut r = Reader(&out);
        assert_eq!(r.field(), Some(Ok((20, Field::Bytes(&[7; 200])))));
        assert_eq!(r.field(), Some(Ok((1, Field::Fixed64(0.5f64.to_bits())))));
        assert_eq!(r.field(), None);
        assert_eq!(out.len(), len_field_len(20, 200) + double_field_len(1));
    }

    #[test]
    fn zigzag_round_trips_and_packed_sizes_match() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            i64::from(i32::MIN),
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(unzigzag(zigzag64(v)), v, "{v}");
        }
        for v in [0i32, 1, -1, i32::MAX, i32::MIN] {
            assert_eq!(zigzag32(v), zigzag64(i64::from(v)), "{v}");
        }
        let values = [zigzag64(-3), 300, 0];
        let body = packed_len(values.iter().copied());
        let mut out = Vec::new();
        put_packed_field(&mut out, 9, body, values.iter().copied());
        assert_eq!(out, [0x4a, 4, 5, 0xac, 0x02, 0]);
        assert_eq!(out.len(), packed_field_len(9, body));
        out.clear();
        put_packed_field(&mut out, 9, 0, std::iter::empty());
        assert!(out.is_empty());
        assert_eq!(packed_field_len(9, packed_len(std::iter::empty())), 0);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let mut out = Vec::new();
        put_bytes_field(&mut out, 1, b"abc");
        out.pop();
        assert!(matches!(Reader(&out).field(), Some(Err(_))));
        assert!(matches!(Reader(&[0x80]).field(), Some(Err(_))));
    }
}
