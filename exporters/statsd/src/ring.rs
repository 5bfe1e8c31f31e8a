//! One thread's samples of one timer: a bounded single-producer,
//! single-consumer ring of `f64` bits.
//!
//! The recording thread (the owner) is the only writer of `head`, of the
//! slots and of its `dropped` and `refused` counts; the exporter is the
//! only writer of `tail` and of its own bookkeeping. A record is: load
//! the own `head` (Relaxed: only this thread writes it), Acquire-load
//! `tail`, and either count a drop (full: a load and a store, no
//! read-modify-write) or store the slot and Release-store `head + 1`.
//!
//! The exporter Acquire-loads `head` (so every slot below it holds what
//! the owner stored there), reads the slots from `tail` up, and
//! *stages* how far it read ([`Ring::stage`]); only when its export is
//! complete does it Release-store the new `tail` ([`Ring::commit`]), so
//! an export cut short reads the same samples again next time, and the
//! owner, whose Acquire load of `tail` sees the commit, overwrites a slot
//! only after the exporter's reads of it.

use crate::sync::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;

/// What only the recording thread writes.
#[derive(Debug)]
struct Own {
    /// Samples stored, ever; the next goes to `head % capacity`.
    head: AtomicU64,
    /// Samples dropped because the ring was full, ever.
    dropped: AtomicU64,
    /// Values refused (NaN, negative, infinite), ever.
    refused: AtomicU64,
}

/// What only the exporter writes.
#[derive(Debug)]
struct Exp {
    /// Samples read by complete exports, ever: the slots below it are
    /// free again.
    tail: AtomicU64,
    /// How far the export under way read (its `head`).
    staged_head: AtomicU64,
    /// The owner's drop count when the export under way read it (the
    /// drops it reports, up to there).
    staged_dropped: AtomicU64,
    /// Drops reported by complete exports, ever (up to the owner's count
    /// then).
    reported: AtomicU64,
}

/// A bounded SPSC ring of `f64` bits (see the module docs).
#[derive(Debug)]
pub(crate) struct Ring {
    slots: Box<[AtomicU64]>,
    /// `slots.len() - 1` (a power of two).
    mask: u64,
    own: CachePadded<Own>,
    exp: CachePadded<Exp>,
}

/// What one export reads from a ring: the samples at `from..to` and the
/// drops not reported yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) dropped: u64,
}

impl Ring {
    /// A ring of `capacity` slots, a power of two (the caller rounds).
    pub(crate) fn new(capacity: usize) -> Self {
        debug_assert!(capacity.is_power_of_two());
        Self {
            slots: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            mask: capacity as u64 - 1,
            own: CachePadded::new(Own {
                head: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            }),
            exp: CachePadded::new(Exp {
                tail: AtomicU64::new(0),
                staged_head: AtomicU64::new(0),
                staged_dropped: AtomicU64::new(0),
                reported: AtomicU64::new(0),
            }),
        }
    }

    /// Owner only: stores `bits`, or counts a drop when the ring is full
    /// (`false`).
    #[inline]
    pub(crate) fn push(&self, bits: u64) -> bool {
        let head = self.own.head.load(Ordering::Relaxed);
        // Acquire: the exporter's reads of the slots below `tail` happen
        // before this thread stores into them again.
        let tail = self.exp.tail.load(Ordering::Acquire);
        if head.wrapping_sub(tail) > self.mask {
            bump(&self.own.dropped);
            return false;
        }
        self.slots[(head & self.mask) as usize].store(bits, Ordering::Relaxed);
        // Release: the slot's value is visible to an exporter that sees
        // this `head`.
        self.own.head.store(head + 1, Ordering::Release);
        true
    }

    /// Owner only: counts a refused value.
    #[inline]
    pub(crate) fn refuse(&self) {
        bump(&self.own.refused);
    }

    /// Exporter only: stages what the export under way reads (the
    /// samples from the last complete export's `tail` up to the owner's
    /// `head`, and the drops since the last report) and returns it;
    /// nothing is freed until [`commit`](Self::commit).
    pub(crate) fn stage(&self) -> Pending {
        let from = self.exp.tail.load(Ordering::Relaxed);
        // Acquire: pairs with the owner's Release store of `head`, so the
        // slots below `to` hold what the owner stored.
        let to = self.own.head.load(Ordering::Acquire);
        let dropped = self.own.dropped.load(Ordering::Relaxed);
        self.exp.staged_head.store(to, Ordering::Relaxed);
        self.exp.staged_dropped.store(dropped, Ordering::Relaxed);
        Pending {
            from,
            to,
            dropped: dropped - self.exp.reported.load(Ordering::Relaxed),
        }
    }

    /// Exporter only: what the export under way staged (nothing for a
    /// ring made since it staged).
    pub(crate) fn staged(&self) -> Pending {
        let from = self.exp.tail.load(Ordering::Relaxed);
        let to = self.exp.staged_head.load(Ordering::Relaxed).max(from);
        let reported = self.exp.reported.load(Ordering::Relaxed);
        let dropped = self.exp.staged_dropped.load(Ordering::Relaxed);
        Pending {
            from,
            to,
            dropped: dropped.saturating_sub(reported),
        }
    }

    /// Exporter only: the export under way does not report the drops it
    /// staged (it sends no sample to carry them): they stay for the next.
    pub(crate) fn keep_drops(&self) {
        let reported = self.exp.reported.load(Ordering::Relaxed);
        self.exp.staged_dropped.store(reported, Ordering::Relaxed);
    }

    /// Exporter only: the sample at position `at` (within a
    /// [`Pending`]'s `from..to`).
    pub(crate) fn sample(&self, at: u64) -> u64 {
        self.slots[(at & self.mask) as usize].load(Ordering::Relaxed)
    }

    /// Exporter only: the export that staged is complete: frees the slots
    /// it read and records the drops it reported. A ring made since it
    /// staged is unchanged.
    pub(crate) fn commit(&self) {
        let to = self.exp.staged_head.load(Ordering::Relaxed);
        if to > self.exp.tail.load(Ordering::Relaxed) {
            // Release: pairs with the owner's Acquire load of `tail`: the
            // reads of the freed slots happen before it stores into them.
            self.exp.tail.store(to, Ordering::Release);
        }
        let dropped = self.exp.staged_dropped.load(Ordering::Relaxed);
        if dropped > self.exp.reported.load(Ordering::Relaxed) {
            self.exp.reported.store(dropped, Ordering::Relaxed);
        }
    }

    /// Samples dropped, ever (any thread: a Relaxed read).
    pub(crate) fn dropped(&self) -> u64 {
        self.own.dropped.load(Ordering::Relaxed)
    }

    /// Values refused, ever (any thread: a Relaxed read).
    pub(crate) fn refused(&self) -> u64 {
        self.own.refused.load(Ordering::Relaxed)
    }
}

/// `+1` by its only writer: a load and a store, no read-modify-write.
#[inline]
fn bump(count: &AtomicU64) {
    count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}
