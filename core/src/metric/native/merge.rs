//! The scrape side: every shard read whole, lowered to the smallest schema
//! among them, zero buckets widened to the widest, summed; then spans and
//! deltas as the protobuf exposition wants them. All buffers live in
//! [`NativeScratch`] and are reused from scrape to scrape.

use super::Native;
use super::key::{lower, upper_bound};
use super::shard::ShardRead;
use crate::exemplar::Exemplar;
use crate::visit::BucketSpan;

/// Reused buffers of the native merge.
#[derive(Debug, Default)]
pub(crate) struct NativeScratch {
    shards: Vec<ShardRead>,
    shard_classic: Vec<u64>,
    entries: Vec<(i32, u64)>,
    pub(crate) positive: Vec<(i32, u64)>,
    pub(crate) negative: Vec<(i32, u64)>,
    pub(crate) positive_spans: Vec<BucketSpan>,
    pub(crate) positive_deltas: Vec<i64>,
    pub(crate) negative_spans: Vec<BucketSpan>,
    pub(crate) negative_deltas: Vec<i64>,
    pub(crate) exemplars: Vec<Exemplar>,
}

/// The merged scalars (the buckets are in the scratch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Merged {
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    pub(crate) zero: u64,
    /// Every observation: zero bucket, buckets and NaNs.
    pub(crate) count: u64,
    pub(crate) sum: f64,
}

impl NativeScratch {
    /// Drops the exemplars held since the last scrape (keeps the buffers).
    pub(crate) fn release(&mut self) {
        self.exemplars.clear();
    }
}

impl Native {
    /// Merges every shard: classic counts added into `classic` (which has
    /// the series' classic length), the native buckets left in `scratch`.
    /// With classic buckets, observations a shard had counted natively but
    /// not yet classically are put in the `+Inf` bucket, so the classic
    /// buckets add up to the same count (they move to their own bucket by
    /// the next scrape; cumulative counts never go down).
    pub(crate) fn merge(&self, classic: &mut [u64], scratch: &mut NativeScratch) -> Merged {
        let s = scratch;
        s.shards.clear();
        s.entries.clear();
        classic.iter_mut().for_each(|c| *c = 0);
        let mut sum = 0.0;
        for shard in self.shards.iter() {
            let read = shard.read(&mut s.shard_classic, &mut s.entries);
            for (out, c) in classic.iter_mut().zip(&s.shard_classic) {
                *out += c;
            }
            sum += read.sum;
            s.shards.push(read);
        }
        let config = self.config();
        let holds_data = |r: &&ShardRead| r.positive.0 < r.negative.1 || r.zero > 0;
        let schema = s
            .shards
            .iter()
            .filter(holds_data)
            .map(|r| r.schema)
            .min()
            .unwrap_or(config.schema);
        let mut zero_threshold = s
            .shards
            .iter()
            .filter(holds_data)
            .map(|r| r.zero_threshold)
            .fold(config.zero_threshold, f64::max);
        let mut zero = 0;
        let mut count = 0;
        s.positive.clear();
        s.negative.clear();
        for r in &s.shards {
            zero += r.zero;
            count += r.zero + r.nan;
            let by = (r.schema - schema) as u32;
            for &(k, c) in &s.entries[r.positive.0..r.positive.1] {
                s.positive.push((lower(k, by), c));
                count += c;
            }
            for &(k, c) in &s.entries[r.negative.0..r.negative.1] {
                s.negative.push((lower(k, by), c));
                count += c;
            }
        }
        coalesce(&mut s.positive);
        coalesce(&mut s.negative);
        // Buckets that reach into the (widest) zero bucket join it, and it
        // widens to their upper bound, as Prometheus reconciles zero
        // buckets when it adds histograms.
        loop {
            let mut moved = false;
            for run in [&mut s.positive, &mut s.negative] {
                if let Some(&(k, c)) = run.first()
                    && upper_bound(k - 1, schema) < zero_threshold
                {
                    zero += c;
                    zero_threshold = zero_threshold.max(upper_bound(k, schema));
                    run.remove(0);
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
        let seen: u64 = classic.iter().sum();
        if let Some(inf) = classic.last_mut() {
            // `seen <= count`: see `shard.rs` (the classic read comes first).
            *inf += count.saturating_sub(seen);
        }
        self.exemplars_into(&mut s.exemplars);
        Merged {
            schema,
            zero_threshold,
            zero,
            count,
            sum,
        }
    }
}

/// Sorts `(key, count)` pairs by key and adds up equal keys.
fn coalesce(v: &mut Vec<(i32, u64)>) {
    v.sort_unstable_by_key(|&(k, _)| k);
    v.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
}

/// Spans and deltas of sorted `(key, count)` pairs, as client_golang's
/// `makeBuckets` writes them: gaps of one or two empty buckets are filled
/// with zeros instead of starting a new span.
pub(crate) fn spans(buckets: &[(i32, u64)], spans: &mut Vec<BucketSpan>, deltas: &mut Vec<i64>) {
    spans.clear();
    deltas.clear();
    let mut prev = 0i64;
    let mut next_key = 0i32;
    for (n, &(k, c)) in buckets.iter().enumerate() {
        let gap = k - next_key;
        if n == 0 || gap > 2 {
            spans.push(BucketSpan {
                offset: gap,
                length: 0,
            });
        } else {
            for _ in 0..gap {
                deltas.push(-prev);
                prev = 0;
                if let Some(s) = spans.last_mut() {
                    s.length += 1;
                }
            }
        }
        let c = c as i64;
        deltas.push(c - prev);
        prev = c;
        if let Some(s) = spans.last_mut() {
            s.length += 1;
        }
        next_key = k + 1;
    }
}
