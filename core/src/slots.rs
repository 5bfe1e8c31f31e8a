//! `Slots` and `NarrowSlots`: a series' cells in the engine, freed when
//! dropped.

use crate::chunked::{Loc, LocRange};
use crate::error::Error;
use crate::local::engine;
use std::time::{SystemTime, UNIX_EPOCH};

/// An engine slot (a 64-bit cell in every arena) owned by one series.
///
/// It keeps the slot's [`Loc`]: an update indexes the arena's bucket
/// table with it directly (the slot number, needed only by reads and the
/// free, is computed back from it).
pub(crate) struct Slots {
    loc: Loc,
}

impl Slots {
    pub(crate) fn alloc() -> Result<Self, Error> {
        let start = engine().alloc(1).ok_or(Error::SlotsExhausted)?;
        Ok(Self {
            loc: Loc::of(start),
        })
    }

    /// The slot number (reads, the scrape's merge).
    #[inline]
    pub(crate) fn start(&self) -> u32 {
        self.loc.index()
    }

    /// Where the slot's cell is in each arena (updates).
    #[inline]
    pub(crate) fn loc(&self) -> Loc {
        self.loc
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        // Dropped with the last handle of the series: nobody can write it.
        engine().free(self.start(), 1);
    }
}

/// A range of narrow slots (counts that spill, `spill.rs`) owned by one
/// series, freed when dropped.
///
/// It keeps the range as a [`LocRange`]: an observe finds slot `i`'s
/// place in each arena from the first slot's with one addition when the
/// range lies in one arena bucket (a histogram's buckets almost always
/// do). Never empty; the range's non-zero packed word leaves a niche, so a
/// histogram's `Storage` (these, a `Slots`, or a `Box`) takes 16 B rather
/// than 24.
pub(crate) struct NarrowSlots(LocRange);

impl NarrowSlots {
    /// `len` slots; an empty range (never asked for) and one longer than
    /// [`LocRange::MAX_LEN`] are refused as [`Error::SlotsExhausted`].
    pub(crate) fn alloc(len: u32) -> Result<Self, Error> {
        if len == 0 || len > LocRange::MAX_LEN {
            return Err(Error::SlotsExhausted);
        }
        let start = engine().alloc_narrow(len).ok_or(Error::SlotsExhausted)?;
        match LocRange::new(start, len) {
            Some(range) => Ok(Self(range)),
            None => {
                engine().free_narrow(start, len);
                Err(Error::SlotsExhausted)
            }
        }
    }

    /// The first slot's number (reads, the scrape's merge).
    #[inline]
    pub(crate) fn start(&self) -> u32 {
        self.0.start()
    }

    /// Where slot `i` of the range (below its length) is in each arena.
    #[inline]
    pub(crate) fn loc(&self, i: u32) -> Loc {
        self.0.loc(i)
    }
}

impl Drop for NarrowSlots {
    fn drop(&mut self) {
        // Dropped with the last handle of the series: nobody can write it.
        engine().free_narrow(self.0.start(), self.0.len());
    }
}

impl std::fmt::Debug for NarrowSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NarrowSlots({}..{})",
            self.0.start(),
            self.0.start() + self.0.len()
        )
    }
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Slots({})", self.start())
    }
}

/// Seconds since the Unix epoch, whole microseconds: a series' `_created`.
/// (Prometheus keeps milliseconds; a whole number of microseconds is
/// what the text writers print without ryu's digit search.)
pub(crate) fn created_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64 / 1e6)
}

/// Seconds since the Unix epoch, to the float's precision.
pub(crate) fn now_unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(all(test, not(loom)))]
mod tests {
    /// `_created` is a whole number of microseconds (what the text writers'
    /// fast path for floats takes), within a second of the clock.
    #[test]
    fn created_is_whole_microseconds_of_now() {
        for _ in 0..1_000 {
            let created = super::created_now();
            let micros = (created * 1e6).round();
            assert_eq!(micros / 1e6, created);
            assert!((super::now_unix_seconds() - created).abs() < 1.0);
        }
    }
}
