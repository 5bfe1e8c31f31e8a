//! `SeqCount`: a sequence count for data with **one writer** that changes
//! its layout rarely, read by scrapes that must see one layout whole.
//!
//! A native histogram's shard (`metric/native/shard.rs`) is written by its
//! thread alone. Plain observations only add to counts, which a scrape may
//! read at any moment; but the rare rewrites (halving the resolution,
//! widening the zero bucket, clearing the shard after a reset) move or
//! clear counts, and a scrape reading half of one would count buckets twice
//! or not at all. The writer brackets each rewrite in
//! [`write`](SeqCount::write) (the count is odd meanwhile); a
//! [`read`](SeqCount::read) keeps what it read only if the count was even
//! and unchanged across it. The data themselves are atomics, so a read that
//! overlaps a rewrite is only discarded, never undefined.
//!
//! Reads are bounded: the writer also holds a mutex across each rewrite
//! (rewrites are the cold path), and a read that failed
//! [`OPTIMISTIC_TRIES`] times takes that mutex and reads once under it, so
//! a writer descheduled mid-rewrite, or one rewriting back to back, makes a
//! scrape wait for at most one rewrite instead of spinning. Plain
//! observations never touch either.

use crate::sync::{AtomicU64, Mutex, Ordering, fence, lock};

/// Lock-free read attempts before a read takes the rewrite lock.
#[cfg(not(loom))]
pub(crate) const OPTIMISTIC_TRIES: u32 = 64;
#[cfg(loom)]
pub(crate) const OPTIMISTIC_TRIES: u32 = 1;

/// The sequence count alone: [`write`](Seq::write) needs no lock and
/// [`try_read`](Seq::try_read) gives up after a bound. An exemplar cell
/// (`exemplar_cell.rs`) uses it bare, since its writes are the exemplar
/// path and must not lock; [`SeqCount`] adds the rewrite lock that bounds
/// a native shard's reads.
#[derive(Debug, Default)]
pub(crate) struct Seq {
    count: AtomicU64,
}

/// Closes a write even if it unwinds, so reads never wait on an odd count
/// forever.
struct Close<'a>(&'a AtomicU64, u64);

impl Drop for Close<'_> {
    fn drop(&mut self) {
        // Release: a read that loads this even count (Acquire) sees every
        // store of the write.
        self.0.store(self.1, Ordering::Release);
    }
}

impl Seq {
    /// Runs `write`; only the one writer of the guarded data calls this.
    /// The count is odd while it runs, and every read meanwhile retries.
    pub(crate) fn write<R>(&self, write: impl FnOnce() -> R) -> R {
        // Relaxed: the one writer reads its own last store.
        let s = self.count.load(Ordering::Relaxed);
        self.count.store(s.wrapping_add(1), Ordering::Relaxed);
        let _close = Close(&self.count, s.wrapping_add(2));
        // Release fence: a read that sees any store of `write` (and then
        // fences with Acquire) also sees the count odd or moved on.
        fence(Ordering::Release);
        write()
    }

    /// Runs `read` until one run overlapped no write, at most `tries`
    /// times; `None` if every run did. `read` must start from scratch each
    /// time (it is called again after a torn run).
    pub(crate) fn try_read<R>(&self, tries: u32, read: impl FnMut() -> R) -> Option<R> {
        self.try_read_versioned(tries, read).map(|(_, r)| r)
    }

    /// [`try_read`](Self::try_read), with the (even) count the run was
    /// consistent with: while [`version`](Self::version) still says that
    /// count, no write has started since, so the data read are current.
    pub(crate) fn try_read_versioned<R>(
        &self,
        tries: u32,
        mut read: impl FnMut() -> R,
    ) -> Option<(u64, R)> {
        for _ in 0..tries {
            // Acquire: pairs with the Release store closing a write, so
            // the written data are visible to `read`.
            let before = self.count.load(Ordering::Acquire);
            if before.is_multiple_of(2) {
                let r = read();
                // Acquire fence: if `read` saw a store of a write that
                // began after the load above, the load below sees the count
                // moved.
                fence(Ordering::Acquire);
                if self.count.load(Ordering::Relaxed) == before {
                    return Some((before, r));
                }
            }
            std::hint::spin_loop();
        }
        None
    }

    /// The count, if no write is in progress. Acquire, as a read's first
    /// load: a count equal to one a read was consistent with means the
    /// data are still what that read copied (a write moves it by two).
    pub(crate) fn version(&self) -> Option<u64> {
        let c = self.count.load(Ordering::Acquire);
        c.is_multiple_of(2).then_some(c)
    }

    /// Leaves the count odd, as a writer descheduled mid-write does.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn stall_for_tests(&self) {
        let s = self.count.load(Ordering::Relaxed);
        self.count.store(s | 1, Ordering::Relaxed);
    }
}

/// A [`Seq`] whose writer also holds a mutex across each rewrite, so that
/// reads are bounded without giving up (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct SeqCount {
    seq: Seq,
    /// Held by the writer across a rewrite, and by a read that gave up on
    /// reading without it.
    rewriting: Mutex<()>,
}

impl SeqCount {
    /// Runs `rewrite`; only the one writer of the guarded data calls this.
    /// `rewrite` should not allocate (allocate before): the count is odd
    /// while it runs, and every read meanwhile retries.
    pub(crate) fn write<R>(&self, rewrite: impl FnOnce() -> R) -> R {
        let _held = lock(&self.rewriting);
        self.seq.write(rewrite)
    }

    /// Runs `read` until one run overlapped no rewrite, at most
    /// [`OPTIMISTIC_TRIES`] times without the rewrite lock and then once
    /// under it; `read` must start from scratch each time (it is called
    /// again after a torn run).
    pub(crate) fn read<R>(&self, mut read: impl FnMut() -> R) -> R {
        if let Some(r) = self.seq.try_read(OPTIMISTIC_TRIES, &mut read) {
            return r;
        }
        // The mutex orders this read after the last rewrite's stores, and
        // no rewrite runs while it is held.
        let _held = lock(&self.rewriting);
        read()
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

    /// Back-to-back rewrites (two resolution halvings in a row): the read
    /// fails its one lock-free try under loom and takes the rewrite lock,
    /// so it ends after at most one rewrite, and still reads whole.
    #[test]
    fn reads_under_the_lock_are_whole_and_bounded() {
        loom::model(|| {
            let seq = Arc::new(SeqCount::default());
            let cells = Arc::new([AtomicU64::new(4), AtomicU64::new(0)]);
            let (s, c) = (Arc::clone(&seq), Arc::clone(&cells));
            let writer = thread::spawn(move || {
                for _ in 0..2 {
                    s.write(|| {
                        let half = c[0].load(Ordering::Relaxed) / 2;
                        c[1].store(c[1].load(Ordering::Relaxed) + half, Ordering::Relaxed);
                        c[0].store(c[0].load(Ordering::Relaxed) - half, Ordering::Relaxed);
                    });
                }
            });
            let (s, c) = (Arc::clone(&seq), Arc::clone(&cells));
            let reader = thread::spawn(move || {
                s.read(|| c[0].load(Ordering::Relaxed) + c[1].load(Ordering::Relaxed))
            });
            assert_eq!(reader.join().unwrap(), 4, "torn read");
            writer.join().unwrap();
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::SeqCount;

    /// A rewrite that unwinds still closes: the count is even again and
    /// reads return at once.
    #[test]
    fn an_unwinding_rewrite_closes() {
        let seq = SeqCount::default();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            seq.write(|| panic!("rewrite failed"))
        }));
        assert!(caught.is_err());
        assert_eq!(seq.seq.count.load(std::sync::atomic::Ordering::Relaxed), 2);
        assert_eq!(seq.read(|| 7), 7);
    }
}
