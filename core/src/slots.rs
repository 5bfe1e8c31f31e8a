//! `Slots`: a series' range of cells in the engine, freed when dropped.

use crate::error::Error;
use crate::local::engine;
use std::time::{SystemTime, UNIX_EPOCH};

/// A range of engine slots owned by one series.
pub(crate) struct Slots {
    start: u32,
    len: u32,
}

impl Slots {
    pub(crate) fn alloc(len: u32) -> Result<Self, Error> {
        let start = engine().alloc(len).ok_or(Error::SlotsExhausted)?;
        Ok(Self { start, len })
    }

    #[inline]
    pub(crate) fn start(&self) -> u32 {
        self.start
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        // Dropped with the last handle of the series: nobody can write it.
        engine().free(self.start, self.len);
    }
}

/// A range of narrow slots (counts that spill, `spill.rs`) owned by one
/// series, freed when dropped.
pub(crate) struct NarrowSlots {
    start: u32,
    len: u32,
}

impl NarrowSlots {
    pub(crate) fn alloc(len: u32) -> Result<Self, Error> {
        let start = engine().alloc_narrow(len).ok_or(Error::SlotsExhausted)?;
        Ok(Self { start, len })
    }

    #[inline]
    pub(crate) fn start(&self) -> u32 {
        self.start
    }
}

impl Drop for NarrowSlots {
    fn drop(&mut self) {
        // Dropped with the last handle of the series: nobody can write it.
        engine().free_narrow(self.start, self.len);
    }
}

impl std::fmt::Debug for NarrowSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NarrowSlots({}..{})", self.start, self.start + self.len)
    }
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Slots({}..{})", self.start, self.start + self.len)
    }
}

/// Seconds since the Unix epoch, as OpenMetrics `_created` wants them.
pub(crate) fn now_unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
