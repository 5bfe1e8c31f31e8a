//! `Sketch`: the log-bucket layout behind summaries (DDSketch's mapping),
//! and the quantile walk over merged bucket counts.
//!
//! A value `x` with `MIN_VALUE <= |x| <= MAX_VALUE` counts in the bucket of
//! key `k = ceil(ln|x| / ln γ)`, which holds `(γ^(k-1), γ^k]`, with
//! `γ = (1 + α) / (1 - α)`. Every value of that bucket is within relative
//! error `α` of `2γ^k / (γ + 1)`, which is what a quantile falling in the
//! bucket reports. Counts are plain integers, so sketches merge exactly:
//! the engine's per-thread cells add up to the sketch of all the data.
//!
//! Slots, in increasing order of value (the quantile walk relies on it):
//! `0` the values below `-MAX_VALUE` (`-Inf` too), `1..=keys` the negative
//! buckets (largest key first), `keys + 1` the zero bucket
//! (`|x| < MIN_VALUE`), `keys + 2..=2 keys + 1` the positive buckets, then
//! the values above `MAX_VALUE` (`+Inf` too), and last NaN, which counts in
//! `_count` but in no quantile.

use crate::error::Error;

/// The smallest magnitude with a log bucket: smaller ones count as zero.
pub(crate) const MIN_VALUE: f64 = 1e-9;
/// The largest magnitude with a log bucket: larger ones report `±Inf`.
pub(crate) const MAX_VALUE: f64 = 1e9;
/// The smallest relative error accepted: 207,237 slots (414 KB of narrow
/// cells per series and writer thread), 414,472 (829 KB) once the series
/// saw a negative value (address space; see `Summary`).
pub(crate) const MIN_RELATIVE_ERROR: f64 = 1e-4;
/// The most slots a layout may have (that of `MIN_RELATIVE_ERROR`, with
/// room for rounding): a bound the checked arithmetic enforces.
const MAX_SLOTS: u32 = 1 << 19;

/// `x.ceil() as i32` for `|x|` well inside `i32` (a log bucket key is at
/// most about 2^19), without `f64::ceil`: on x86-64 without SSE 4.1 that
/// is a call into libm's `ceil`, which perf showed as an eighth of a
/// summary's `observe`.
#[inline]
fn ceil_to_i32(x: f64) -> i32 {
    // Truncation rounds toward zero: one up for a positive fraction.
    let t = x as i32;
    t + i32::from(f64::from(t) < x)
}

/// A bucket layout for one relative error.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sketch {
    ln_gamma: f64,
    inv_ln_gamma: f64,
    /// Key of the lowest log bucket (the one that holds `MIN_VALUE`).
    min_key: i32,
    /// Log buckets per sign.
    keys: u32,
    /// `2 / (γ + 1)`: a bucket reports `γ^k * scale`.
    scale: f64,
}

impl Sketch {
    /// The layout for relative error `alpha`, in
    /// `[MIN_RELATIVE_ERROR, 0.5)` (checked by `SummaryOpts`); keys and
    /// length are computed with checked arithmetic, so a layout whose slots
    /// would not fit the narrow slot space is an error, never a panic.
    pub(crate) fn new(alpha: f64) -> Result<Self, Error> {
        let bad =
            || Error::InvalidSummary(format!("relative error {alpha} gives too many buckets"));
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        let ln_gamma = gamma.ln();
        let key = |v: f64| -> Result<i64, Error> {
            let k = (v.ln() / ln_gamma).ceil();
            // `as` saturates: only values well inside i32 are keys.
            if k.is_finite() && k.abs() < f64::from(i32::MAX / 2) {
                Ok(k as i64)
            } else {
                Err(bad())
            }
        };
        let min_key = key(MIN_VALUE)?;
        let keys = key(MAX_VALUE)?
            .checked_sub(min_key)
            .and_then(|d| d.checked_add(1))
            .and_then(|k| u32::try_from(k).ok())
            .filter(|k| *k > 0)
            .ok_or_else(bad)?;
        // `len` below is `2 * keys + 4`: check it once here.
        keys.checked_mul(2)
            .and_then(|k| k.checked_add(4))
            .filter(|&len| len <= MAX_SLOTS)
            .ok_or_else(bad)?;
        Ok(Self {
            ln_gamma,
            inv_ln_gamma: 1.0 / ln_gamma,
            min_key: i32::try_from(min_key).map_err(|_| bad())?,
            keys,
            scale: 2.0 / (gamma + 1.0),
        })
    }

    /// Number of slots: both signs' buckets, zero, two overflows, NaN.
    pub(crate) fn len(&self) -> u32 {
        2 * self.keys + 4
    }

    /// The zero bucket's slot: the slots below it hold the values below
    /// `-MIN_VALUE` (the negative half), the ones from it on the rest.
    pub(crate) fn zero_slot(&self) -> u32 {
        self.keys + 1
    }

    /// The slot of the NaN count, the last one.
    pub(crate) fn nan_slot(&self) -> usize {
        self.len() as usize - 1
    }

    /// The slot that counts `v`.
    #[inline]
    pub(crate) fn slot(&self, v: f64) -> u32 {
        let a = v.abs();
        if (MIN_VALUE..=MAX_VALUE).contains(&a) {
            // Rounding at an exact bucket bound may step one key outside the
            // range: clamp (the value is then a few ulps off its bucket).
            let k = ceil_to_i32(a.ln() * self.inv_ln_gamma);
            let off = (k - self.min_key)
                .clamp(0, self.keys as i32 - 1)
                .unsigned_abs();
            if v > 0.0 {
                self.keys + 2 + off
            } else {
                self.keys - off
            }
        } else if a < MIN_VALUE {
            self.keys + 1
        } else if v > 0.0 {
            2 * self.keys + 2
        } else if v < 0.0 {
            0
        } else {
            2 * self.keys + 3
        }
    }

    /// What a quantile falling in `slot` reports.
    pub(crate) fn value(&self, slot: usize) -> f64 {
        let keys = self.keys as usize;
        let rep =
            |off: usize| ((self.min_key as f64 + off as f64) * self.ln_gamma).exp() * self.scale;
        match slot {
            0 => f64::NEG_INFINITY,
            s if s <= keys => -rep(keys - s),
            s if s == keys + 1 => 0.0,
            s if s <= 2 * keys + 1 => rep(s - keys - 2),
            s if s == 2 * keys + 2 => f64::INFINITY,
            _ => f64::NAN,
        }
    }

    /// `(q, value)` for each of `quantiles` (increasing) into `out`: the
    /// value of the bucket holding the observation at 0-based rank
    /// `floor(q * (n - 1))` of the `n` non-NaN ones counted in `counts`
    /// (one entry per slot from `first` on); NaN for every quantile when `n` is 0.
    pub(crate) fn quantiles(
        &self,
        counts: &[u64],
        first: usize,
        quantiles: &[f64],
        out: &mut Vec<(f64, f64)>,
    ) {
        out.clear();
        let nan = self.nan_slot().saturating_sub(first);
        let counts = &counts[..nan.min(counts.len())];
        let n: u64 = counts.iter().sum();
        if n == 0 {
            out.extend(quantiles.iter().map(|&q| (q, f64::NAN)));
            return;
        }
        let (mut slot, mut below) = (0, 0u64);
        for &q in quantiles {
            // `q` is in [0, 1]: the rank is at most n - 1.
            let rank = ((q * (n - 1) as f64).floor() as u64).min(n - 1);
            while below + counts[slot] <= rank {
                below += counts[slot];
                slot += 1;
            }
            out.push((q, self.value(first + slot)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The truncating ceiling equals `f64::ceil` over the keys' range,
        /// integers, negative values and fractions just above one included.
        #[test]
        fn ceil_to_i32_is_ceil(x in -1e7f64..1e7, i in -10_000_000i32..10_000_000) {
            prop_assert_eq!(ceil_to_i32(x), x.ceil() as i32);
            let i = f64::from(i);
            for y in [i, i + f64::EPSILON * i.abs().max(1.0), i - 0.5, i + 0.5] {
                prop_assert_eq!(ceil_to_i32(y), y.ceil() as i32, "{}", y);
            }
        }
    }

    #[test]
    fn default_layout_size() {
        let s = Sketch::new(0.01).unwrap();
        // Keys ceil(ln(1e-9) / ln γ) = -1036 to ceil(ln(1e9) / ln γ) = 1037.
        assert_eq!(s.keys, 2074);
        assert_eq!(s.len(), 4152);
        assert_eq!(Sketch::new(0.05).unwrap().keys, 416);
    }

    #[test]
    fn tiny_relative_errors_are_errors_not_panics() {
        let s = Sketch::new(MIN_RELATIVE_ERROR).unwrap();
        assert_eq!(s.len(), 414_472, "the documented size at the floor");
        for alpha in [5e-9, 1e-8, 1e-6, 1e-5, 1e-300, f64::MIN_POSITIVE] {
            assert!(
                matches!(Sketch::new(alpha), Err(Error::InvalidSummary(_))),
                "α {alpha}"
            );
        }
    }

    #[test]
    fn slots_increase_with_value_and_values_are_within_alpha() {
        for alpha in [0.001, 0.01, 0.05, 0.2, 0.49] {
            let s = Sketch::new(alpha).unwrap();
            let mut last = 0;
            let mut x = -2.0 * MAX_VALUE;
            while x < 2.0 * MAX_VALUE {
                let slot = s.slot(x);
                assert!(slot >= last, "{x}: slot {slot} after {last}");
                last = slot;
                let rep = s.value(slot as usize);
                if (MIN_VALUE..=MAX_VALUE).contains(&x.abs()) {
                    let err = (rep - x).abs() / x.abs();
                    assert!(err <= alpha * (1.0 + 1e-9), "α {alpha}, {x} -> {rep}");
                }
                x = if x.abs() < 1e-12 {
                    1e-12
                } else if x < 0.0 {
                    x * 0.987
                } else {
                    x * 1.013
                };
            }
        }
    }

    #[test]
    fn special_values_have_their_slots() {
        let s = Sketch::new(0.01).unwrap();
        let k = s.keys;
        assert_eq!(s.slot(f64::NEG_INFINITY), 0);
        assert_eq!(s.slot(-2e9), 0);
        assert_eq!(s.slot(0.0), k + 1);
        assert_eq!(s.slot(-0.0), k + 1);
        assert_eq!(s.slot(1e-10), k + 1);
        assert_eq!(s.slot(-1e-10), k + 1);
        assert_eq!(s.slot(MIN_VALUE), k + 2);
        assert_eq!(s.slot(-MIN_VALUE), k);
        assert_eq!(s.slot(MAX_VALUE), 2 * k + 1);
        assert_eq!(s.slot(-MAX_VALUE), 1);
        assert_eq!(s.slot(2e9), 2 * k + 2);
        assert_eq!(s.slot(f64::INFINITY), 2 * k + 2);
        assert_eq!(s.slot(f64::NAN) as usize, s.nan_slot());
        assert_eq!(s.value(0), f64::NEG_INFINITY);
        assert_eq!(s.value((k + 1) as usize), 0.0);
        assert_eq!(s.value((2 * k + 2) as usize), f64::INFINITY);
    }

    #[test]
    fn quantiles_pick_the_bucket_at_the_rank() {
        let s = Sketch::new(0.01).unwrap();
        let mut counts = vec![0; s.len() as usize];
        for v in [1.0, 2.0, 3.0, 4.0] {
            counts[s.slot(v) as usize] += 1;
        }
        counts[s.nan_slot()] += 5;
        let mut out = Vec::new();
        s.quantiles(&counts, 0, &[0.0, 0.34, 0.5, 0.99, 1.0], &mut out);
        // Ranks floor(q * 3): 0, 1, 1, 2, 3; NaN is in none.
        let want = [1.0, 2.0, 2.0, 3.0, 4.0];
        for ((_, got), want) in out.iter().zip(want) {
            assert!((got - want).abs() <= 0.01 * want, "{got} vs {want}");
        }
        counts.fill(0);
        counts[s.nan_slot()] = 3;
        s.quantiles(&counts, 0, &[0.5], &mut out);
        assert!(out[0].1.is_nan(), "only NaN observed: no quantile");
    }
}
