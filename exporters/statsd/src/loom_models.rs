//! Loom model of the timing ring (`ring.rs`), run over every
//! interleaving, as `hotmetrics-core` runs its models:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p hotmetrics-statsd --lib --release
//! ```
//!
//! Weakening the `head` pair (the owner's Release store, or the
//! exporter's Acquire load, to Relaxed) fails
//! `samples_are_drained_once_and_drops_counted` and
//! `a_ring_handed_to_a_new_thread_drains_once`: the exporter reads a
//! slot's old value (`[0, 2]` for `[1, 2]`). Dropping the hand-over's
//! edge in the latter (two owners at once) fails it too: samples lost. The `tail` pair (the
//! commit's Release store, the owner's Acquire load) orders the
//! exporter's *loads* of a slot before the owner's next store into it:
//! load buffering, which loom does not model, so weakening it passes
//! here; the pair is what the C++ memory model asks for that reuse.

use crate::ring::Ring;
use loom::sync::Arc;
use loom::thread;

/// One export as the sink does it: stage, read the staged samples, and
/// commit only if `complete` (an export cut short reads but never
/// commits). Returns the samples read and the drops reported.
fn export(ring: &Ring, complete: bool) -> (Vec<u64>, u64) {
    let staged = ring.stage();
    assert_eq!(staged, ring.staged(), "what was staged is what is read");
    let samples = (staged.from..staged.to).map(|at| ring.sample(at)).collect();
    if complete {
        ring.commit();
    }
    (samples, staged.dropped)
}

/// A writer records 1, 2, 3 into a ring of 2 slots while the exporter
/// (another thread) runs a complete export, one cut short, and another
/// complete one; then a last export after both are done. Every sample
/// comes out exactly once, in order, with the value the writer stored (a
/// slot is never overwritten before the export that read it committed,
/// and never read before its value is there); what does not come out was
/// dropped, counted, and reported once. A cut-short export's samples are
/// sent by the next.
///
/// The writer is the model's main thread and the exporter the spawned
/// one: loom's search then meets the exporter reading a `head` the writer
/// published (with the writer's loads first in its own thread, it does
/// not reach that interleaving).
#[test]
fn samples_are_drained_once_and_drops_counted() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(2));
        let exporter = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                let (mut sent, d1) = export(&ring, true);
                let (short, _) = export(&ring, false);
                let (s, d2) = export(&ring, true);
                assert!(
                    s.starts_with(&short),
                    "a cut-short export's samples are sent by the next: {short:?} then {s:?}"
                );
                sent.extend(s);
                (sent, d1 + d2)
            })
        };
        let mut kept = Vec::new();
        for v in 1..=3u64 {
            if ring.push(v) {
                kept.push(v);
            }
        }
        let (mut sent, mut reported) = exporter.join().unwrap();
        let (s, d) = export(&ring, true);
        sent.extend(s);
        reported += d;
        assert_eq!(sent, kept, "each stored sample once, in order");
        let dropped = 3 - kept.len() as u64;
        assert_eq!(ring.dropped(), dropped, "every drop counted");
        assert_eq!(reported, dropped, "every drop reported once");
        assert!(dropped <= 1, "only a full ring drops: {kept:?}");
    });
}

/// The exporter commits while the writer fills the ring: the writer may
/// reuse a slot only once the commit freed it, and the next export then
/// reads the new value, not the old one.
#[test]
fn a_freed_slot_holds_the_new_sample() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(1));
        assert!(ring.push(1));
        let exporter = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || export(&ring, true))
        };
        let stored = ring.push(2);
        let (first, d1) = exporter.join().unwrap();
        assert_eq!(first, [1], "the sample from before the exporter started");
        let (second, d2) = export(&ring, true);
        if stored {
            assert_eq!(second, [2], "the new value in the freed slot");
            assert_eq!(d1 + d2, 0);
        } else {
            assert!(second.is_empty());
            assert_eq!(d1 + d2, 1, "full when it tried: counted, reported once");
        }
    });
}

/// The ring handed over: its owner thread exits (joined here, as the
/// `thread_local` crate frees the thread's id under its id manager's
/// mutex) and a new thread, given the same id, takes the same ring and
/// records into it, while the exporter drains it through both. The new
/// owner's Relaxed loads of `head` and `dropped` see the old owner's
/// stores (the hand-over's happens-before), so no sample is overwritten,
/// lost or sent twice, and every drop of either owner is counted and
/// reported once.
///
/// Without the hand-over's edge (the second owner spawned before the
/// first is joined: two writers), the model fails.
#[test]
fn a_ring_handed_to_a_new_thread_drains_once() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(2));
        let exporter = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                let (mut sent, d1) = export(&ring, true);
                let (s, d2) = export(&ring, true);
                sent.extend(s);
                (sent, d1 + d2)
            })
        };
        let owner = |values: [u64; 2]| {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                values
                    .into_iter()
                    .filter(|&v| ring.push(v))
                    .collect::<Vec<_>>()
            })
        };
        let mut kept = owner([1, 2]).join().unwrap();
        kept.extend(owner([3, 4]).join().unwrap());
        let (mut sent, mut reported) = exporter.join().unwrap();
        let (s, d) = export(&ring, true);
        sent.extend(s);
        reported += d;
        assert_eq!(sent, kept, "each stored sample once, in order");
        let dropped = 4 - kept.len() as u64;
        assert_eq!(
            ring.dropped(),
            dropped,
            "every drop counted, by both owners"
        );
        assert_eq!(reported, dropped, "every drop reported once");
    });
}
