//! Bucket keys as client_golang computes them: `frexp`, Go's boundary
//! table for positive schemas, a shift for the others; the upper bound of
//! a key (`getLe`); and how a key moves when the resolution is lowered.

use super::bounds::BOUNDS;

/// Lowest and highest schema Prometheus accepts.
pub(crate) const MIN_SCHEMA: i32 = -4;
pub(crate) const MAX_SCHEMA: i32 = 8;

/// Go's `math.Frexp` for a finite, non-zero, positive `v`: `(frac, exp)`
/// with `frac` in `[0.5, 1)` and `v = frac * 2^exp`.
#[inline]
fn frexp(v: f64) -> (f64, i32) {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first (exact).
        let (frac, exp) = frexp(v * f64::from_bits(0x43f0_0000_0000_0000)); // 2^64
        return (frac, exp - 64);
    }
    // Mantissa kept, exponent set so the value is in [0.5, 1).
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, biased - 1022)
}

/// The key of the bucket `(base^(k-1), base^k]` that holds `|v|` at
/// `schema`, for a non-NaN `v` outside the zero bucket. Infinities get the
/// key one past that of `f64::MAX`, as in Go.
#[inline]
pub(crate) fn key(v: f64, schema: i32) -> i32 {
    let a = v.abs();
    let (a, inf) = if a == f64::INFINITY {
        (f64::MAX, 1)
    } else {
        (a, 0)
    };
    let (frac, exp) = frexp(a);
    let k = if schema > 0 {
        let bounds = BOUNDS[schema as usize];
        // The bounds below `frac` (sorted: Go's binary search). Up to 16
        // (schema 4) they are counted, compares that do not wait on each
        // other, not searched: a search's steps each wait for the load and
        // compare before (perf: most of `observe` at schema 3).
        let below = if bounds.len() <= 16 {
            bounds.iter().map(|&b| usize::from(b < frac)).sum()
        } else {
            bounds.partition_point(|&b| b < frac)
        };
        below as i32 + (exp - 1) * bounds.len() as i32
    } else {
        let k = exp - i32::from(frac == 0.5);
        let offset = (1 << -schema) - 1;
        (k + offset) >> -schema
    };
    k + inf
}

/// The upper bound of bucket `key` at `schema` (Go's `getLe`): the last
/// bucket of finite values ends at `f64::MAX`, the next (infinities) at
/// `+Inf`.
pub(crate) fn upper_bound(key: i32, schema: i32) -> f64 {
    if schema < 0 {
        let exp = key << -schema;
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let frac_idx = key & ((1 << schema) - 1);
    let frac = BOUNDS[schema as usize][frac_idx as usize];
    let exp = (key >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// `frac * 2^exp`, saturating to 0 and `+Inf` as Go's `math.Ldexp` does.
fn ldexp(frac: f64, exp: i32) -> f64 {
    // Two steps, so that neither factor over- or underflows on its own
    // where the product does not.
    let half = exp / 2;
    frac * 2f64.powi(half) * 2f64.powi(exp - half)
}

/// The key that bucket `key` falls into when the schema is lowered by
/// `by`: buckets merge in groups of `2^by`, `ceil(key / 2^by)`.
#[inline]
pub(crate) fn lower(key: i32, by: u32) -> i32 {
    if by == 0 {
        return key;
    }
    // i64: `key + 2^by - 1` may pass i32::MAX for extreme keys.
    ((i64::from(key) + (1i64 << by) - 1) >> by) as i32
}

/// Go's `pickSchema`: the largest schema in `-4..=8` whose growth factor
/// `2^(2^-schema)` is at most `factor` (`factor > 1`).
pub(crate) fn pick_schema(factor: f64) -> i32 {
    let floor = factor.log2().log2().floor();
    if floor <= -8.0 {
        MAX_SCHEMA
    } else if floor >= 4.0 {
        MIN_SCHEMA
    } else {
        -(floor as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frexp_matches_go() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(8.0), (0.5, 4));
        assert_eq!(frexp(f64::MAX).1, 1024);
        assert_eq!(frexp(f64::from_bits(1)), (0.5, -1073));
        assert_eq!(frexp(f64::MIN_POSITIVE), (0.5, -1021));
    }

    /// client_golang `prometheus/histogram_test.go`, `TestGetLe`.
    #[test]
    fn upper_bounds_match_go() {
        let cases = [
            (-1, -1, 0.25),
            (0, -1, 1.0),
            (1, -1, 4.0),
            (512, -1, f64::MAX),
            (513, -1, f64::INFINITY),
            (-1, 0, 0.5),
            (0, 0, 1.0),
            (1, 0, 2.0),
            (1024, 0, f64::MAX),
            (1025, 0, f64::INFINITY),
            (-1, 2, 0.8408964152537144),
            (0, 2, 1.0),
            (1, 2, 1.189207115002721),
            (4096, 2, f64::MAX),
            (4097, 2, f64::INFINITY),
        ];
        for (k, s, want) in cases {
            assert_eq!(upper_bound(k, s), want, "key {k} schema {s}");
        }
    }

    /// Keys from client_golang's `TestNativeHistogram` scenarios
    /// ("factor 4 results in schema -1", "factor 17 results in schema -2",
    /// "factor 1.2 results in schema 2", "+Inf observation").
    #[test]
    fn keys_match_go_test_vectors() {
        assert_eq!(pick_schema(1.1), 3);
        assert_eq!(pick_schema(1.2), 2);
        assert_eq!(pick_schema(4.0), -1);
        assert_eq!(pick_schema(17.0), -2);
        assert_eq!(pick_schema(1.0001), 8);
        assert_eq!(pick_schema(1e300), -4);
        let s_minus_1 = [
            (0.0156251, -2),
            (0.0625, -2),
            (0.1, -1),
            (0.25, -1),
            (0.5, 0),
            (1.0, 0),
            (1.5, 1),
            (3.5, 1),
            (5.0, 2),
            (7.0, 2),
            (33.33, 3),
        ];
        for (v, k) in s_minus_1 {
            assert_eq!(key(v, -1), k, "{v} at schema -1");
        }
        let s_minus_2 = [
            (0.0625, -1),
            (0.1, 0),
            (1.0, 0),
            (1.5, 1),
            (7.0, 1),
            (33.33, 2),
        ];
        for (v, k) in s_minus_2 {
            assert_eq!(key(v, -2), k, "{v} at schema -2");
        }
        // 1, 1.2, 1.4, 1.8, 2 at schema 2: deltas 1,-1,2,-2,2 from key 0.
        let s2 = [(1.0, 0), (1.2, 2), (1.4, 2), (1.8, 4), (2.0, 4)];
        for (v, k) in s2 {
            assert_eq!(key(v, 2), k, "{v} at schema 2");
        }
        // The +Inf bucket: span offset 4092 after the span ending at key 4.
        assert_eq!(key(f64::INFINITY, 2), 4097);
        assert_eq!(key(f64::NEG_INFINITY, 2), 4097);
        assert_eq!(key(f64::MAX, 2), 4096);
        // factor 1.1: 1, 2, 3 at schema 3 are keys 0, 8, 13.
        assert_eq!([key(1.0, 3), key(2.0, 3), key(3.0, 3)], [0, 8, 13]);
    }

    #[test]
    fn lowering_merges_pairs_like_go() {
        // Go's doubleBucketWidth: key > 0 -> (key + 1) / 2, else key / 2
        // (division truncating toward zero).
        for k in -50..50 {
            let go = if k > 0 { (k + 1) / 2 } else { k / 2 };
            assert_eq!(lower(k, 1), go, "{k}");
            assert_eq!(lower(k, 3), lower(lower(lower(k, 1), 1), 1));
        }
    }

    fn positive() -> impl Strategy<Value = f64> {
        // Every positive finite f64, subnormals included, by bit pattern.
        (1u64..0x7ff0_0000_0000_0000).prop_map(f64::from_bits)
    }

    proptest! {
        /// `base^(k-1) < v <= base^k`, with the bounds computed apart from
        /// Go's table: at exact powers of two by exponent arithmetic (no
        /// tolerance), elsewhere with `powf` and a margin of a few ulps
        /// where the comparison could be decided by rounding.
        #[test]
        fn key_brackets_the_value(v in positive(), schema in MIN_SCHEMA..=MAX_SCHEMA) {
            let k = key(v, schema);
            let (frac, exp) = frexp(v);
            // log2(v) = exp - 1 + log2(2 * frac), in [exp - 1, exp).
            let log2 = f64::from(exp - 1) + (2.0 * frac).log2();
            let scaled = log2 * 2f64.powi(schema);
            if frac == 0.5 {
                // An exact power of two 2^(exp-1) is the upper bound of its
                // bucket at every schema >= 0, and at negative schemas when
                // exp - 1 is a multiple of 2^-schema.
                let e = i64::from(exp - 1);
                let want = if schema >= 0 {
                    e << schema
                } else {
                    let w = 1i64 << -schema;
                    e.div_euclid(w) + i64::from(e.rem_euclid(w) != 0)
                };
                prop_assert_eq!(i64::from(k), want);
            } else {
                let lo = f64::from(k - 1);
                let hi = f64::from(k);
                let eps = 1e-9 * scaled.abs().max(1.0);
                prop_assert!(scaled > lo - eps && scaled <= hi + eps,
                    "v {v:e} schema {schema}: key {k}, log2*2^s {scaled}");
                // Off the margins, the bracket is strict.
                if (scaled - lo).abs() > eps && (scaled - hi).abs() > eps {
                    prop_assert!(scaled > lo && scaled < hi);
                }
            }
            // And the key's own upper bound holds the value, the one below
            // does not.
            prop_assert!(v <= upper_bound(k, schema));
            prop_assert!(v > upper_bound(k - 1, schema));
        }

        /// Lowering a key gives the key of the same value at the lower
        /// schema: resolution reduction moves every count to the bucket
        /// that would have counted its values.
        #[test]
        fn lowered_key_is_the_key_at_the_lower_schema(v in positive(), schema in (MIN_SCHEMA + 1)..=MAX_SCHEMA, by in 1u32..=12) {
            let to = (schema - by as i32).max(MIN_SCHEMA);
            let by = (schema - to) as u32;
            prop_assert_eq!(lower(key(v, schema), by), key(v, to));
        }
    }
}
