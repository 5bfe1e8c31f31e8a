//! `ExemplarCell`: one thread's latest exemplar for one series or bucket,
//! written by that thread alone and read by scrapes, with no lock, no
//! allocation and no read-modify-write.
//!
//! The cell is a sequence count ([`Seq`], `seqlock.rs`) over atomic words.
//! The writer makes the count odd, stores the value, the timestamp ticks
//! and the labels (packed as `name_len: u16, value_len: u16, name, value`
//! per pair, eight bytes a word), then makes the count even again. A
//! [`read`](ExemplarCell::read) copies the words and keeps the copy only if
//! the count was even and unchanged across it: it returns a whole exemplar
//! or none, never a torn one. The words are atomics, so a read overlapping
//! a write is discarded, never undefined. A read gives up after
//! [`READ_TRIES`] torn copies (a scrape never waits on a writer that
//! records in a tight loop) and then returns `None`.
//!
//! Label words up to [`INLINE_WORDS`] (80 bytes: OpenTelemetry's
//! `trace_id` and `span_id`, 32 and 16 hex digits, take 71) live in the
//! cell; the rest of a longer set goes to a buffer of the remaining
//! `MAX_WORDS - INLINE_WORDS` words (560 bytes), allocated on the cell's
//! first long exemplar and kept. A cell is 128 bytes (two cache lines).

use crate::seqlock::Seq;
use crate::sync::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Label words held in the cell itself.
pub(crate) const INLINE_WORDS: usize = 10;

/// The most label words an exemplar needs. At most 128 characters with
/// `p` pairs: the names (ASCII) take at least `p` of them, the values at
/// most 4 bytes for each of the other `128 - p`, and each pair 4 length
/// bytes: `4p + p + 4(128 - p) = 512 + p <= 640` bytes with `p <= 128`.
pub(crate) const MAX_WORDS: usize = (512 + 128) / 8;

/// Label words in the spill buffer.
const SPILL_WORDS: usize = MAX_WORDS - INLINE_WORDS;

/// Torn copies a read retries before it returns `None`.
#[cfg(not(loom))]
pub(crate) const READ_TRIES: u32 = 64;
#[cfg(loom)]
pub(crate) const READ_TRIES: u32 = 2;

/// `meta`'s bit saying the cell holds an exemplar; the low 32 bits are the
/// label bytes, the next 16 the pair count.
const PRESENT: u64 = 1 << 63;

pub(crate) struct ExemplarCell {
    seq: Seq,
    value: AtomicU64,
    ticks: AtomicU64,
    meta: AtomicU64,
    inline: [AtomicU64; INLINE_WORDS],
    /// Words `INLINE_WORDS..MAX_WORDS`; a thin box, so the cell stays 128
    /// bytes.
    spill: OnceLock<Box<[AtomicU64; SPILL_WORDS]>>,
}

/// A consistent copy of a cell.
#[derive(Debug, PartialEq)]
pub(crate) struct CellRead {
    pub(crate) value: f64,
    pub(crate) ticks: u64,
    /// Names and values concatenated.
    pub(crate) text: String,
    /// Per pair: where its name ends and where its value ends in `text`.
    pub(crate) ends: Vec<(u16, u16)>,
}

/// The label words `labels` take: `bytes` is their names' and values'
/// length together.
pub(crate) fn words_for(labels: &[(&str, &str)], bytes: usize) -> usize {
    (labels.len() * 4 + bytes).div_ceil(8)
}

impl Default for ExemplarCell {
    fn default() -> Self {
        Self {
            seq: Seq::default(),
            value: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
            meta: AtomicU64::new(0),
            inline: std::array::from_fn(|_| AtomicU64::new(0)),
            spill: OnceLock::new(),
        }
    }
}

impl ExemplarCell {
    /// Stores an exemplar; only the cell's one thread calls this. `labels`
    /// are valid (checked by the caller), `bytes` their length together.
    pub(crate) fn write(&self, labels: &[(&str, &str)], bytes: usize, value: f64, ticks: u64) {
        let spill = (words_for(labels, bytes) > INLINE_WORDS).then(|| {
            &**self
                .spill
                .get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))))
        });
        // The closing Release store (in `Seq::write`) also publishes
        // everything the writer did before the call (a counter's
        // increment) to a read that loads the even count.
        self.seq.write(|| {
            // Relaxed: published by the count's Release store.
            self.value.store(value.to_bits(), Ordering::Relaxed);
            self.ticks.store(ticks, Ordering::Relaxed);
            let pairs = labels.len() as u64 & 0xffff;
            self.meta
                .store(PRESENT | pairs << 32 | bytes as u64, Ordering::Relaxed);
            let mut w = WordWriter {
                words: Words {
                    inline: &self.inline,
                    spill,
                },
                at: 0,
                acc: 0,
                fill: 0,
            };
            for (name, v) in labels {
                let lens = (name.len() as u64 & 0xffff) | (v.len() as u64 & 0xffff) << 16;
                w.push_word(lens, 4);
                w.push(name.as_bytes());
                w.push(v.as_bytes());
            }
            w.flush();
        });
    }

    /// The ticks of the exemplar held, if any: a hint for picking the
    /// newest cell, not part of a consistent read.
    pub(crate) fn ticks(&self) -> Option<u64> {
        // Relaxed: a hint; `read` decides what is returned.
        let meta = self.meta.load(Ordering::Relaxed);
        (meta & PRESENT != 0).then(|| self.ticks.load(Ordering::Relaxed))
    }

    /// A whole exemplar, or `None` if the cell holds none (or every try in
    /// [`READ_TRIES`] overlapped a write). `bytes` is scratch for the
    /// copy, reused across reads.
    /// (Scrapes use [`read_versioned`](Self::read_versioned); the tests
    /// and loom models read this way.)
    #[cfg(any(test, loom))]
    pub(crate) fn read(&self, bytes: &mut Vec<u8>) -> Option<CellRead> {
        self.read_versioned(bytes).map(|(_, r)| r)
    }

    /// [`read`](Self::read), with the cell's version when it was read
    /// (scrapes keep an `Exemplar` while its cell's version holds):
    /// while [`version`](Self::version) returns the same, the cell holds
    /// what was read.
    pub(crate) fn read_versioned(&self, bytes: &mut Vec<u8>) -> Option<(u64, CellRead)> {
        let (version, r) = self
            .seq
            .try_read_versioned(READ_TRIES, || self.copy(bytes))?;
        decode(r?, bytes).map(|r| (version, r))
    }

    /// The cell's version, if no write is in progress.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn version(&self) -> Option<u64> {
        self.seq.version()
    }

    /// Copies the words (possibly torn); `None` if the meta word says the
    /// cell holds no exemplar, or needs words it lacks (only ever in a
    /// torn copy).
    fn copy(&self, bytes: &mut Vec<u8>) -> Option<(f64, u64, usize, usize)> {
        let value = f64::from_bits(self.value.load(Ordering::Relaxed));
        let ticks = self.ticks.load(Ordering::Relaxed);
        let meta = self.meta.load(Ordering::Relaxed);
        if meta & PRESENT == 0 {
            return None;
        }
        let pairs = (meta >> 32 & 0xffff) as usize;
        let len = (meta & 0xffff_ffff) as usize;
        let words = (pairs * 4 + len).div_ceil(8);
        let spill = if words > INLINE_WORDS {
            Some(&**self.spill.get()?)
        } else {
            None
        };
        let (inline, spilled) = (
            &self.inline[..words.min(INLINE_WORDS)],
            spill
                .map_or(&[][..], |s| &s[..])
                .get(..words.saturating_sub(INLINE_WORDS))?,
        );
        bytes.clear();
        for w in inline.iter().chain(spilled) {
            bytes.extend_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
        }
        Some((value, ticks, pairs, len))
    }

    /// Leaves the cell mid-write, as a writer descheduled there does:
    /// every read of it tears.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn stall_for_tests(&self) {
        self.seq.stall_for_tests();
    }
}

/// Unpacks a consistent copy; `None` only if it does not parse (which a
/// consistent copy always does).
fn decode((value, ticks, pairs, len): (f64, u64, usize, usize), bytes: &[u8]) -> Option<CellRead> {
    let mut text = Vec::with_capacity(len);
    let mut ends = Vec::with_capacity(pairs);
    let mut rest = bytes;
    for _ in 0..pairs {
        let (head, tail) = rest.split_first_chunk::<4>()?;
        let name_len = usize::from(u16::from_le_bytes([head[0], head[1]]));
        let value_len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let pair = tail.get(..name_len + value_len)?;
        text.extend_from_slice(pair);
        let name_end = u16::try_from(text.len() - value_len).ok()?;
        ends.push((name_end, u16::try_from(text.len()).ok()?));
        rest = &tail[pair.len()..];
    }
    Some(CellRead {
        value,
        ticks,
        text: String::from_utf8(text).ok()?,
        ends,
    })
}

/// A cell's label words: the inline ones, then the spill buffer's.
struct Words<'a> {
    inline: &'a [AtomicU64],
    spill: Option<&'a [AtomicU64; SPILL_WORDS]>,
}

/// `b` (at most 8 bytes) as a little-endian word, zero above its length,
/// read with two loads of 4, 2 or 1 bytes that overlap in the middle
/// (OR-ing a byte with itself keeps it).
#[inline]
fn load_le(b: &[u8]) -> u64 {
    let n = b.len();
    if let (Some(lo), Some(hi)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        u64::from(u32::from_le_bytes(*lo)) | u64::from(u32::from_le_bytes(*hi)) << (8 * (n - 4))
    } else if let (Some(lo), Some(hi)) = (b.first_chunk::<2>(), b.last_chunk::<2>()) {
        u64::from(u16::from_le_bytes(*lo)) | u64::from(u16::from_le_bytes(*hi)) << (8 * (n - 2))
    } else {
        b.first().map_or(0, |&x| u64::from(x))
    }
}

/// Packs bytes into consecutive words, little-endian.
struct WordWriter<'a> {
    words: Words<'a>,
    at: usize,
    acc: u64,
    fill: u32,
}

impl WordWriter<'_> {
    /// Appends `b` eight bytes at a time, shifted into the partial word.
    /// Every chunk is read from `b` with loads of its own size (see
    /// [`load_le`]), never copied through a stack buffer first: reading a
    /// word back from a buffer just written byte by byte stalls on store
    /// forwarding, which perf showed as half of `inc_with_exemplar`.
    #[inline]
    fn push(&mut self, mut b: &[u8]) {
        while let Some((chunk, rest)) = b.split_first_chunk::<8>() {
            self.push_word(u64::from_le_bytes(*chunk), 8);
            b = rest;
        }
        if !b.is_empty() {
            self.push_word(load_le(b), b.len() as u32);
        }
    }

    /// Appends the low `n` bytes of `word` (`1 <= n <= 8`; the bytes above
    /// them are zero).
    #[inline]
    fn push_word(&mut self, word: u64, n: u32) {
        // `fill < 8`: the shift stays under 64.
        self.acc |= word << (8 * self.fill);
        if self.fill + n >= 8 {
            self.store(self.acc);
            let used = 8 - self.fill;
            self.acc = if used == 8 { 0 } else { word >> (8 * used) };
            self.fill = self.fill + n - 8;
        } else {
            self.fill += n;
        }
    }

    fn flush(&mut self) {
        if self.fill > 0 {
            self.store(self.acc);
            self.acc = 0;
            self.fill = 0;
        }
    }

    fn store(&mut self, word: u64) {
        // Never out of range for checked labels; words past the end would
        // lose the tail (and the read would not parse), not panic.
        let w = match self.at.checked_sub(INLINE_WORDS) {
            None => self.words.inline.get(self.at),
            Some(i) => self.words.spill.and_then(|s| s.get(i)),
        };
        if let Some(w) = w {
            // Relaxed: published by the count's Release store.
            w.store(word, Ordering::Relaxed);
        }
        self.at += 1;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn read(cell: &ExemplarCell) -> Option<CellRead> {
        cell.read(&mut Vec::new())
    }

    fn labels_of(r: &CellRead) -> Vec<(&str, &str)> {
        let mut start = 0;
        r.ends
            .iter()
            .map(|&(n, e)| {
                let p = (
                    &r.text[start..usize::from(n)],
                    &r.text[usize::from(n)..usize::from(e)],
                );
                start = usize::from(e);
                p
            })
            .collect()
    }

    #[test]
    fn round_trips_short_long_and_empty_label_sets() {
        let cell = ExemplarCell::default();
        assert_eq!(read(&cell), None);
        assert_eq!(cell.ticks(), None);
        let long = "é".repeat(60);
        let sets: [&[(&str, &str)]; 4] = [
            &[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")],
            &[
                ("a", ""),
                ("span_id", "00f067aa0ba902b7"),
                ("trace_id", &long),
            ],
            &[],
            &[("x", "y")],
        ];
        for (i, labels) in sets.iter().enumerate() {
            let bytes = labels.iter().map(|(n, v)| n.len() + v.len()).sum();
            cell.write(labels, bytes, i as f64, 10 + i as u64);
            let r = read(&cell).unwrap();
            assert_eq!(labels_of(&r), *labels);
            assert_eq!((r.value, r.ticks), (i as f64, 10 + i as u64));
            assert_eq!(cell.ticks(), Some(10 + i as u64));
        }
    }

    #[test]
    fn load_le_reads_every_length_as_the_bytes_zero_padded() {
        let src: Vec<u8> = (1..=8).map(|i| i * 17).collect();
        for n in 0..=8 {
            let mut padded = [0; 8];
            padded[..n].copy_from_slice(&src[..n]);
            assert_eq!(load_le(&src[..n]), u64::from_le_bytes(padded), "{n} bytes");
        }
    }

    /// Pairs of every name and value length from 0 to 24 bytes, one to
    /// three pairs a set (so pieces start at every offset in a word),
    /// inline and spilled, read back whole.
    #[test]
    fn round_trips_every_piece_length_at_every_word_offset() {
        let text: String = ('a'..='z').chain('A'..='Z').collect();
        let cell = ExemplarCell::default();
        for n in 0..=24 {
            for v in 0..=24 {
                for pairs in 1..=3 {
                    let set: Vec<(&str, &str)> = (0..pairs)
                        .map(|p| (&text[p..p + n], &text[p + 1..p + 1 + v]))
                        .collect();
                    let bytes = pairs * (n + v);
                    cell.write(&set, bytes, 1.0, 1);
                    assert_eq!(labels_of(&read(&cell).unwrap()), set, "{n} {v} {pairs}");
                }
            }
        }
    }

    /// OpenTelemetry's pair (71 label bytes) stays in the cell, which is
    /// two cache lines; one byte more spills.
    #[test]
    fn trace_and_span_ids_fit_inline() {
        assert_eq!(std::mem::size_of::<ExemplarCell>(), 128);
        let labels = [
            ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ("span_id", "00f067aa0ba902b7"),
        ];
        let cell = ExemplarCell::default();
        cell.write(&labels, 63, 1.0, 1);
        assert!(cell.spill.get().is_none());
        assert_eq!(labels_of(&read(&cell).unwrap()), labels);
        let v = "x".repeat(81 - 4 - 1);
        assert_eq!(words_for(&[("t", &v)], 1 + v.len()), INLINE_WORDS + 1);
        cell.write(&[("t", &v)], 1 + v.len(), 2.0, 2);
        assert!(cell.spill.get().is_some());
        assert_eq!(labels_of(&read(&cell).unwrap()), [("t", v.as_str())]);
    }

    #[test]
    fn the_largest_label_set_fits() {
        // 128 one-character names with empty values: 128 pairs, 640 bytes.
        let names: Vec<String> = (0..128)
            .map(|i| format!("{}", (b'a' + i % 26) as char))
            .collect();
        let labels: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "")).collect();
        assert_eq!(words_for(&labels, 128), MAX_WORDS);
        let cell = ExemplarCell::default();
        cell.write(&labels, 128, 1.0, 1);
        assert_eq!(labels_of(&read(&cell).unwrap()), labels);
        // 4 bytes per character, one pair: 516 bytes.
        let v = "😀".repeat(127);
        cell.write(&[("t", &v)], 1 + v.len(), 2.0, 2);
        assert_eq!(labels_of(&read(&cell).unwrap()), [("t", v.as_str())]);
        assert!(words_for(&[("t", &v)], 1 + v.len()) <= MAX_WORDS);
    }

    /// One writer rewrites the cell with label sets of different lengths
    /// (inline and spilled) until the reader has read it whole 1,000
    /// times while it wrote; every read is one of them whole. Fails when
    /// the count check is removed from `read`.
    #[test]
    fn racing_reads_never_tear() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
        let cell = Arc::new(ExemplarCell::default());
        let (done, seen) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU32::new(0)),
        );
        let ids: Vec<String> = (0..16).map(|i| i.to_string().repeat(1 + i * 7)).collect();
        let writer = {
            let (cell, done, seen, ids) = (
                Arc::clone(&cell),
                Arc::clone(&done),
                Arc::clone(&seen),
                ids.clone(),
            );
            std::thread::spawn(move || {
                let mut i = 0usize;
                while i < 100_000 || seen.load(Relaxed) < 1_000 {
                    let id = &ids[i % ids.len()];
                    let labels = [("trace_id", id.as_str()), ("n", id.as_str())];
                    cell.write(&labels, 9 + 2 * id.len(), (i % ids.len()) as f64, i as u64);
                    i += 1;
                }
                done.store(true, Relaxed);
            })
        };
        let mut bytes = Vec::new();
        while !done.load(Relaxed) {
            if let Some(r) = cell.read(&mut bytes) {
                let id = &ids[r.value as usize];
                assert_eq!(
                    labels_of(&r),
                    [("trace_id", id.as_str()), ("n", id.as_str())]
                );
                assert_eq!(r.ticks as usize % ids.len(), r.value as usize);
                seen.fetch_add(1, Relaxed);
            }
        }
        writer.join().unwrap();
        assert!(seen.load(Relaxed) >= 1_000);
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    use super::ExemplarCell;
    use crate::sync::{AtomicU64, Ordering};
    use loom::sync::Arc;
    use loom::thread;

    /// A counter's increment then its exemplar, twice, from the one writer;
    /// a scrape reads the exemplar, then the count. It reads a whole
    /// exemplar or none, and a count that covers the exemplar's increment.
    /// (Fails without the count check in `read`, or with a Relaxed final
    /// store in `write`.)
    #[test]
    fn reads_are_whole_and_follow_the_increment() {
        loom::model(|| {
            let cell = Arc::new(ExemplarCell::default());
            let count = Arc::new(AtomicU64::new(0));
            let (c, n) = (Arc::clone(&cell), Arc::clone(&count));
            let writer = thread::spawn(move || {
                for (i, id) in ["a", "bb"].into_iter().enumerate() {
                    n.store(i as u64 + 1, Ordering::Relaxed);
                    c.write(&[("t", id)], 1 + id.len(), i as f64 + 1.0, i as u64 + 1);
                }
            });
            // On its own thread: read on the model's main thread, loom
            // explored one interleaving only (see `seqlock.rs`).
            let reader = thread::spawn(move || {
                if let Some(r) = cell.read(&mut Vec::new()) {
                    let id = if r.value == 1.0 { "a" } else { "bb" };
                    assert_eq!(r.text, format!("t{id}"), "torn: {r:?}");
                    assert_eq!(r.ticks as f64, r.value, "torn: {r:?}");
                    let seen = count.load(Ordering::Relaxed);
                    assert!(seen as f64 >= r.value, "count {seen} misses {r:?}");
                }
            });
            reader.join().unwrap();
            writer.join().unwrap();
        });
    }

    /// An exemplar over the inline words (its tail in the spill buffer)
    /// rewritten while a read races it: the read is the old or the new one
    /// whole, or none. The spill buffer's `OnceLock` is std's, which loom does not
    /// model (loom reports its words as created concurrently with the
    /// read), so the model's thread makes it, with a first long exemplar,
    /// before the writer and the reader start; the model checks the words,
    /// not the `OnceLock`. (Fails without the count check in `read`.)
    #[test]
    fn reads_of_spilled_labels_are_whole() {
        loom::model(|| {
            let cell = Arc::new(ExemplarCell::default());
            let long = |c: &str| c.repeat(81 - 4 - 1);
            cell.write(&[("t", &long("x"))], 77, 0.0, 0);
            let c = Arc::clone(&cell);
            let writer = thread::spawn(move || c.write(&[("t", &long("y"))], 77, 1.0, 1));
            let reader = thread::spawn(move || {
                if let Some(r) = cell.read(&mut Vec::new()) {
                    let id = long(if r.value == 0.0 { "x" } else { "y" });
                    assert_eq!(r.text, format!("t{id}"), "torn: {r:?}");
                    assert_eq!(r.ticks as f64, r.value, "torn: {r:?}");
                }
            });
            reader.join().unwrap();
            writer.join().unwrap();
        });
    }
}
