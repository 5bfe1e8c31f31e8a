//! `SeqCount`: a sequence count for data with **one writer** that changes
//! its layout rarely, read by scrapes that must see one layout whole.
//!
//! A native histogram's shard (`metric/native/shard.rs`) is written by its
//! thread alone. Plain observations only add to counts, which a scrape may
//! read at any moment; but narrowing the resolution, widening the zero
//! bucket or resetting rewrite every count, and a scrape reading half of
//! such a rewrite would count buckets twice or not at all. The writer
//! brackets each rewrite in [`write`](SeqCount::write) (the count is odd
//! meanwhile); a [`read`](SeqCount::read) keeps what it read only if the
//! count was even and unchanged across it, else reads again. The data
//! itself are atomics, so a read that overlaps a rewrite is only discarded,
//! never undefined. Rewrites are rare (each halves the buckets), so reads
//! rarely retry, and the writer never waits.

use crate::sync::{AtomicU64, Ordering, fence};

/// Reads retried this often back to back yield the CPU before the next.
#[cfg(not(loom))]
const SPINS_BEFORE_YIELD: u32 = 64;
#[cfg(loom)]
const SPINS_BEFORE_YIELD: u32 = 1;

#[derive(Debug, Default)]
pub(crate) struct SeqCount(AtomicU64);

impl SeqCount {
    /// Runs `rewrite`; only the one writer of the guarded data calls this.
    pub(crate) fn write<R>(&self, rewrite: impl FnOnce() -> R) -> R {
        // Relaxed: the one writer reads its own last store.
        let s = self.0.load(Ordering::Relaxed);
        self.0.store(s.wrapping_add(1), Ordering::Relaxed);
        // Release fence: a read that sees any store of `rewrite` (and then
        // fences with Acquire) also sees the count odd or moved on.
        fence(Ordering::Release);
        let r = rewrite();
        // Release: a read that loads this even count (Acquire) sees every
        // store of `rewrite`.
        self.0.store(s.wrapping_add(2), Ordering::Release);
        r
    }

    /// Runs `read` until one run overlapped no rewrite; `read` must start
    /// from scratch each time (it is called again after a torn run).
    pub(crate) fn read<R>(&self, mut read: impl FnMut() -> R) -> R {
        let mut tries = 0u32;
        loop {
            // Acquire: pairs with the Release store closing a rewrite, so
            // the rewritten data are visible to `read`.
            let before = self.0.load(Ordering::Acquire);
            if before.is_multiple_of(2) {
                let r = read();
                // Acquire fence: if `read` saw a store of a rewrite that
                // began after the load above, the load below sees the count
                // moved.
                fence(Ordering::Acquire);
                if self.0.load(Ordering::Relaxed) == before {
                    return r;
                }
            }
            tries = tries.wrapping_add(1);
            if tries.is_multiple_of(SPINS_BEFORE_YIELD) {
                crate::sync::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    use super::SeqCount;
    use crate::sync::{AtomicU64, Ordering};
    use loom::sync::Arc;
    use loom::thread;

    /// Two cells that a rewrite moves a count between (as halving the
    /// resolution moves bucket counts), and a plain add (an observation)
    /// after it. A read sees the total whole: the rewrite never makes it
    /// count a moved count twice or not at all. (The reader runs on its own
    /// thread: read on the model's main thread, loom explored one
    /// interleaving only. Without the count check, or without the Release
    /// fence in `write`, this model fails.)
    #[test]
    fn reads_never_see_half_a_rewrite() {
        loom::model(|| {
            let seq = Arc::new(SeqCount::default());
            let cells = Arc::new([AtomicU64::new(2), AtomicU64::new(0)]);
            let (s, c) = (Arc::clone(&seq), Arc::clone(&cells));
            let writer = thread::spawn(move || {
                s.write(|| {
                    let moved = c[0].load(Ordering::Relaxed);
                    c[1].store(c[1].load(Ordering::Relaxed) + moved, Ordering::Relaxed);
                    c[0].store(0, Ordering::Relaxed);
                });
                c[1].store(c[1].load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            });
            let (s, c) = (Arc::clone(&seq), Arc::clone(&cells));
            let reader = thread::spawn(move || {
                s.read(|| c[0].load(Ordering::Relaxed) + c[1].load(Ordering::Relaxed))
            });
            let total = reader.join().unwrap();
            assert!(total == 2 || total == 3, "torn read: {total}");
            writer.join().unwrap();
            let total =
                seq.read(|| cells[0].load(Ordering::Relaxed) + cells[1].load(Ordering::Relaxed));
            assert_eq!(total, 3);
        });
    }

    /// The order of a native histogram's observation (`metric/native/
    /// shard.rs`): native count, Release fence, classic count; a scrape
    /// reads classic, fences with Acquire, reads native. A scrape never
    /// sees more classic than native observations, which the merge relies
    /// on to put in-flight ones in `+Inf`. (Fails without either fence.)
    #[test]
    fn classic_counts_never_run_ahead_of_native_ones() {
        use crate::sync::fence;
        loom::model(|| {
            let cells = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
            let c = Arc::clone(&cells);
            let writer = thread::spawn(move || {
                for _ in 0..2 {
                    let [native, classic] = &*c;
                    native.store(native.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                    fence(Ordering::Release);
                    classic.store(classic.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                }
            });
            let c = Arc::clone(&cells);
            let reader = thread::spawn(move || {
                let classic = c[1].load(Ordering::Relaxed);
                fence(Ordering::Acquire);
                let native = c[0].load(Ordering::Relaxed);
                assert!(classic <= native, "classic {classic} > native {native}");
            });
            reader.join().unwrap();
            writer.join().unwrap();
        });
    }
}
