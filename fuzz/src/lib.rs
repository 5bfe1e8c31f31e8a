//! Helpers shared by the fuzz targets: reading structured choices out of
//! libFuzzer's byte string.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod registry;

/// A cursor over the fuzzer's input. Every read succeeds: past the end it
/// yields zeros and empty strings, so a short input is still a whole case.
#[derive(Debug)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, or 0 at the end.
    pub fn byte(&mut self) -> u8 {
        let (&b, rest) = self.data.split_first().unwrap_or((&0, &[]));
        self.data = rest;
        b
    }

    /// A coin toss: `true` for one byte in `n` (`n` ≥ 1).
    pub fn one_in(&mut self, n: u8) -> bool {
        self.byte().is_multiple_of(n.max(1))
    }

    /// A number below `n` (`n` ≥ 1).
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    /// One of `items` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Up to `max` raw bytes, the length read first.
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = self.below(max + 1).min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }

    /// Up to `max` bytes as a string, invalid UTF-8 replaced by U+FFFD.
    pub fn text(&mut self, max: usize) -> String {
        String::from_utf8_lossy(self.bytes(max)).into_owned()
    }

    /// A string of up to `max` characters from `alphabet`.
    pub fn word(&mut self, alphabet: &[u8], max: usize) -> String {
        let len = self.below(max + 1);
        (0..len).map(|_| char::from(self.pick(alphabet))).collect()
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// Optional whitespace: none, a space, a tab, or two.
pub fn ows(input: &mut Input<'_>) -> &'static str {
    input.pick(&["", "", "", " ", "\t", "  "])
}

/// `s` with the case of each letter chosen by the input.
pub fn recase(input: &mut Input<'_>, s: &str) -> String {
    let flips = input.byte();
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if flips >> (i % 8) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// A q-value (RFC 9110 `qvalue`, and spellings with more than three
/// decimals) as written, and its weight in thousandths as documented by
/// `hotmetrics::exposition::weighted`: extra decimals are truncated, but a
/// positive weight never truncates to zero.
pub fn quality(input: &mut Input<'_>) -> (String, u16) {
    let thousandths = match input.below(8) {
        0 => 0,
        1 => 1000,
        2 => 1,
        3 => 999,
        _ => u16::from(input.byte()) * 4 % 1000,
    };
    if thousandths == 1000 {
        let written = input.pick(&["1", "1.", "1.0", "1.000", "01", "001.00"]);
        return (written.to_owned(), 1000);
    }
    // Decimals past the third are truncated, never to zero.
    let extra = input.pick(&["", "", "0", "00", "5", "0001", "999"]);
    let mut written = format!("0.{thousandths:03}{extra}");
    if extra.is_empty() && input.one_in(2) {
        while written.ends_with('0') {
            written.pop();
        }
        if written == "0." && input.one_in(2) {
            written.pop();
        }
    }
    let truncated_positive = thousandths == 0 && extra.bytes().any(|b| b != b'0');
    (written, if truncated_positive { 1 } else { thousandths })
}

/// `[a-zA-Z0-9_]`, the characters of a legacy label name.
pub const LABEL_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";

/// RFC 9110 `tchar`s, the characters of a token.
pub const TOKEN_CHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
