//! `LabelValues`: a series' label values packed into one allocation.
//!
//! Each value is its length followed by its bytes, all in one `Arc<str>`
//! (`triomphe`'s: a count and no weak count in front of the bytes): one
//! allocation per series (a `Box<str>` per value and a std `Arc` of
//! pointers to them took 16 B a value and 8 B a series more, in two or
//! three allocations), and a lookup compares bytes that lie together.
//!
//! A length is written in 6-bit groups, most significant first, one byte
//! each, bit 6 set on every byte but the last: every length byte is ASCII,
//! so the whole buffer is valid UTF-8 and values are sliced out of it as
//! `&str` without `unsafe` or a second validation. Lengths under 64 take
//! one byte.

use crate::labels::{hash_iter, read8};
use triomphe::Arc;

/// Label values of one series, in declared order. Clones share the buffer.
#[derive(Clone)]
pub(crate) struct LabelValues(Arc<str>);

/// Continuation bit of a length byte.
const MORE: u8 = 0x40;
/// Payload bits of a length byte.
const BITS: u8 = 0x3f;

impl LabelValues {
    /// Packs `values`.
    pub(crate) fn new<S: AsRef<str>>(values: &[S]) -> Self {
        let len = values
            .iter()
            .map(|v| v.as_ref().len() + len_bytes(v.as_ref().len()))
            .sum();
        let mut out = String::with_capacity(len);
        for v in values {
            let v = v.as_ref();
            push_len(&mut out, v.len());
            out.push_str(v);
        }
        Self(Arc::from(out))
    }

    /// The values, in order.
    pub(crate) fn iter(&self) -> Iter<'_> {
        Iter { rest: &self.0 }
    }

    /// Whether the values are `wanted`, element by element.
    #[inline]
    pub(crate) fn eq_values(&self, wanted: &[&str]) -> bool {
        let mut rest = self.0.as_bytes();
        for w in wanted {
            let w = w.as_bytes();
            let Some((len, tail)) = split_len(rest) else {
                return false;
            };
            if len != w.len() || tail.len() < len || !bytes_eq(&tail[..len], w) {
                return false;
            }
            rest = &tail[len..];
        }
        rest.is_empty()
    }

    /// [`hash_values`](crate::labels::hash_values) of the values: what the
    /// family's index files the series under.
    pub(crate) fn hash(&self) -> u64 {
        hash_iter(self.iter().count(), self.iter())
    }

    /// Whether `self` and `other` are the same buffer (not only equal).
    pub(crate) fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for LabelValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The values of a [`LabelValues`].
pub(crate) struct Iter<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let (len, tail) = split_len(self.rest.as_bytes())?;
        let at = self.rest.len() - tail.len();
        // Built by `new`: a length is followed by that many bytes of a
        // whole value, so both ends are char boundaries.
        let value = self.rest.get(at..at + len)?;
        self.rest = &self.rest[at + len..];
        Some(value)
    }
}

/// The length in front of `bytes` and what follows it.
#[inline]
fn split_len(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut len = 0usize;
    let mut at = 0;
    loop {
        let b = *bytes.get(at)?;
        at += 1;
        len = (len << 6) | usize::from(b & BITS);
        if b & MORE == 0 {
            return Some((len, &bytes[at..]));
        }
    }
}

/// Bytes `push_len` writes for `len`.
fn len_bytes(mut len: usize) -> usize {
    let mut n = 1;
    while len >= 64 {
        len >>= 6;
        n += 1;
    }
    n
}

fn push_len(out: &mut String, len: usize) {
    let n = len_bytes(len);
    for i in (0..n).rev() {
        // Six bits at a time: always below 0x40, so ASCII with `MORE`.
        let group = ((len >> (6 * i)) & usize::from(BITS)) as u8;
        let more = if i > 0 { MORE } else { 0 };
        out.push(char::from(group | more));
    }
}

/// Byte equality that compares short values inline instead of calling
/// `memcmp` (label values are mostly short).
#[inline]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    if (8..=16).contains(&n) {
        read8(a, 0) == read8(b, 0) && read8(a, n - 8) == read8(b, n - 8)
    } else if n < 8 {
        a.iter().zip(b).all(|(x, y)| x == y)
    } else {
        a == b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unpack(v: &LabelValues) -> Vec<&str> {
        v.iter().collect()
    }

    #[test]
    fn values_come_back_as_given() {
        let long = "x".repeat(64);
        let longer = "é".repeat(3000);
        let cases: Vec<Vec<&str>> = vec![
            vec![],
            vec![""],
            vec!["", ""],
            vec!["orders", "acked"],
            vec!["a:b", "7", "\u{0}", "\u{7f}", "日本"],
            vec![&long, "", &longer],
        ];
        for values in cases {
            let packed = LabelValues::new(&values);
            assert_eq!(unpack(&packed), values);
            assert!(packed.eq_values(&values));
        }
    }

    #[test]
    fn lengths_take_one_byte_under_64_and_are_ascii() {
        for (len, bytes) in [(0, 1), (63, 1), (64, 2), (4095, 2), (4096, 3)] {
            assert_eq!(len_bytes(len), bytes, "{len}");
            let mut s = String::new();
            push_len(&mut s, len);
            assert_eq!(s.len(), bytes, "{len}");
            assert!(s.is_ascii());
        }
    }

    #[test]
    fn boundaries_arity_and_content_are_compared() {
        let packed = LabelValues::new(&["ab", "c"]);
        assert!(packed.eq_values(&["ab", "c"]));
        assert!(!packed.eq_values(&["a", "bc"]));
        assert!(!packed.eq_values(&["ab"]));
        assert!(!packed.eq_values(&["ab", "c", ""]));
        assert!(!packed.eq_values(&["ab", "d"]));
        assert!(!LabelValues::new::<&str>(&[]).eq_values(&[""]));
        assert!(LabelValues::new::<&str>(&[]).eq_values(&[]));
    }

    #[test]
    fn bytes_eq_agrees_with_eq() {
        let samples = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "0123456789abcdef",
            "0123456789abcdefg",
            "0123456789abcdeF",
        ];
        for a in samples {
            for b in samples {
                assert_eq!(bytes_eq(a.as_bytes(), b.as_bytes()), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn clones_share_the_buffer() {
        let a = LabelValues::new(&["q"]);
        let b = LabelValues::new(&["q"]);
        assert!(a.ptr_eq(&a.clone()));
        assert!(!a.ptr_eq(&b));
    }

    proptest! {
        #[test]
        fn any_values_round_trip(values in prop::collection::vec(".{0,80}", 0..6),
                                 other in prop::collection::vec(".{0,80}", 0..6)) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let packed = LabelValues::new(&refs);
            prop_assert_eq!(unpack(&packed), refs.clone());
            prop_assert!(packed.eq_values(&refs));
            prop_assert_eq!(packed.hash(), crate::labels::hash_values(&refs));
            let others: Vec<&str> = other.iter().map(String::as_str).collect();
            prop_assert_eq!(packed.eq_values(&others), refs == others);
        }
    }
}
