//! Remote write 2.0's symbol table: each distinct string of a request
//! once, referred to by index (`""` is always 0). An open-addressing table
//! of indexes into one text buffer, so a steady-state request interns
//! without allocating.

/// The strings of one request, in first-use order.
#[derive(Debug, Default)]
pub(crate) struct Symbols {
    text: Vec<u8>,
    /// End of each symbol in `text`.
    ends: Vec<usize>,
    /// Symbol index + 1 per slot; 0 is empty. A power of two, at most half
    /// full.
    slots: Vec<u32>,
}

impl Symbols {
    /// Empties the table, which then holds `""` as symbol 0.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.slots.fill(0);
        self.intern(b"");
    }

    /// The index of `s`, added if new.
    pub(crate) fn intern(&mut self, s: &[u8]) -> u32 {
        if self.slots.len() < 2 * (self.ends.len() + 1) {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut at = (hash(s) as usize) & mask;
        loop {
            match self.slots[at] {
                0 => {
                    self.text.extend_from_slice(s);
                    self.ends.push(self.text.len());
                    let index = self.ends.len() - 1;
                    self.slots[at] = index as u32 + 1;
                    return index as u32;
                }
                slot => {
                    let index = slot as usize - 1;
                    if self.get(index) == s {
                        return index as u32;
                    }
                    at = (at + 1) & mask;
                }
            }
        }
    }

    /// The symbols, in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.ends.len()).map(|i| self.get(i))
    }

    fn get(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.text[start..self.ends[index]]
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(64);
        self.slots.clear();
        self.slots.resize(size, 0);
        let mask = size - 1;
        for index in 0..self.ends.len() {
            let mut at = (hash(self.get(index)) as usize) & mask;
            while self.slots[at] != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = index as u32 + 1;
        }
    }
}

/// FNV-1a: short strings, no adversary (they are the registry's own).
fn hash(s: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in s {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_each_string_once_with_empty_first() {
        let mut s = Symbols::default();
        s.clear();
        let words: Vec<String> = (0..1000).map(|i| format!("w{}", i % 300)).collect();
        let refs: Vec<u32> = words.iter().map(|w| s.intern(w.as_bytes())).collect();
        assert_eq!(s.iter().count(), 301);
        assert_eq!(s.iter().next(), Some(&b""[..]));
        for (w, r) in words.iter().zip(&refs) {
            assert_eq!(s.iter().nth(*r as usize), Some(w.as_bytes()));
        }
        s.clear();
        assert_eq!(s.intern(b"w5"), 1, "cleared: a fresh table");
    }
}
