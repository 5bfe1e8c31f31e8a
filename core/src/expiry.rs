//! Idle-series expiry: how a sweep tells an idle series from a changed one,
//! and what becomes of a series once it has expired.
//!
//! **Nothing on the update path.** Updates write no timestamp and take no
//! extra branch. A sweep merges each series (a scrape does that anyway) and
//! compares the result, its *fingerprint* (a counter's value, a gauge's
//! bits, a histogram's count, ...), with the one the previous sweep saw:
//! [`Seen`] is that memory, kept in a side vector only families with expiry
//! have.
//!
//! **Expired, not gone.** A series idle for long enough moves from the
//! family's live map to its expired map: no longer exported, still the same
//! object, so handles kept by users and threads' stale caches keep writing
//! into it. Every sweep then decides its [`Fate`] under the family's write
//! lock: changed since it expired (someone wrote through a kept handle, or a
//! write raced the sweep that expired it), it is revived with its whole
//! value; referenced by nothing but the expired map, it is dropped and its
//! slots recycled; otherwise it waits. A lookup of its label values revives
//! it too, so no write is lost and no label values are ever exported twice.
//!
//! This module is the part of the protocol the loom models run
//! (`loom_models.rs`); the family's sweep (`family/sweep.rs`) calls it.

use crate::sync::{AtomicU64, Ordering};

/// What sweeps remember of one series: the fingerprint the last one merged
/// and when (the sweep clock's nanoseconds) it last changed.
///
/// A new or revived series is [`unseen`](Self::unseen): the first sweep
/// that sees it counts it as changed, so whatever `after` is, every series
/// lives through at least one sweep after it was created or revived.
#[derive(Debug)]
pub(crate) struct Seen {
    fingerprint: AtomicU64,
    changed: AtomicU64,
}

/// `Seen::changed` of a series no sweep has seen yet (the sweep clock
/// would take 584 years to reach it).
const UNSEEN: u64 = u64::MAX;

impl Seen {
    /// A series no sweep has seen yet.
    pub(crate) fn unseen() -> Self {
        Self {
            fingerprint: AtomicU64::new(0),
            changed: AtomicU64::new(UNSEEN),
        }
    }

    /// The fingerprint the last sweep saw.
    pub(crate) fn fingerprint(&self) -> u64 {
        self.fingerprint.load(Ordering::Relaxed)
    }

    /// Records the `fingerprint` a sweep at `now` merged; `true` when it is
    /// the one seen before and has been for at least `after` nanoseconds.
    ///
    /// Relaxed: sweeps of a family take turns (the registry's scratch
    /// mutex), and what one stores here is only ever compared with a later
    /// sweep's own merge; the atomics let a sweep update them under the
    /// family's read lock.
    pub(crate) fn is_idle(&self, fingerprint: u64, now: u64, after: u64) -> bool {
        let changed = self.changed.load(Ordering::Relaxed);
        if changed == UNSEEN || self.fingerprint.load(Ordering::Relaxed) != fingerprint {
            self.fingerprint.store(fingerprint, Ordering::Relaxed);
            self.changed.store(now, Ordering::Relaxed);
            return false;
        }
        now.saturating_sub(changed) >= after
    }
}

/// What a sweep does with an expired series.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    /// It changed since it expired: back into the live map.
    Revive,
    /// Nothing but the expired map refers to it, and it has not changed:
    /// drop it (its slots are recycled).
    Drop,
    /// Still referenced, unchanged: look again at the next sweep.
    Keep,
}

/// Decides the fate of an expired `series` whose last fingerprint was
/// `last`; called with the family's write lock held, so no new reference
/// to the series can appear meanwhile (references come from the family's
/// maps, under that lock, or from clones of existing ones).
///
/// Uniqueness is checked *before* the merge: `is_unique` must synchronise
/// with the release of every other reference (`Arc::get_mut` does: Acquire
/// on the count that each drop decrements with Release), so every write
/// made through a reference that is gone is in the merge that follows, and
/// a series is never dropped with a write nobody saw. Merging first would
/// race a write followed by the drop of the last handle.
pub(crate) fn fate<S>(
    series: &mut S,
    last: u64,
    is_unique: impl FnOnce(&mut S) -> bool,
    fingerprint: impl FnOnce(&S) -> u64,
) -> Fate {
    let unique = is_unique(series);
    if fingerprint(series) != last {
        Fate::Revive
    } else if unique {
        Fate::Drop
    } else {
        Fate::Keep
    }
}
