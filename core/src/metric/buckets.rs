use super::native::{NativeConfig, NativeOpts};
use crate::error::Error;
use std::sync::Arc;

/// Validated histogram bucket upper bounds: finite, strictly increasing,
/// non-empty. `+Inf` is implied and never stored. Optionally native
/// (sparse exponential) buckets too ([`with_native`](Self::with_native)),
/// or native buckets only ([`native`](Self::native)).
///
/// ```
/// use hotmetrics_core::Buckets;
/// assert_eq!(Buckets::linear(1.0, 1.0, 3).unwrap().bounds(), &[1.0, 2.0, 3.0]);
/// assert_eq!(Buckets::exponential(1.0, 2.0, 3).unwrap().bounds(), &[1.0, 2.0, 4.0]);
/// assert!(Buckets::new(vec![2.0, 1.0]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Buckets {
    bounds: Arc<[f64]>,
    native: Option<Arc<(NativeOpts, NativeConfig)>>,
}

/// Prometheus' default buckets, in seconds.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Default for Buckets {
    /// [`DEFAULT_BUCKETS`]: 5 ms to 10 s.
    fn default() -> Self {
        Self {
            bounds: Arc::from(&DEFAULT_BUCKETS[..]),
            native: None,
        }
    }
}

/// The most finite bounds a histogram takes: its bucket counts (one more,
/// for `+Inf`) are one range of the engine's narrow slots, at most
/// 2^24 - 1 of them. (Each writer thread pays 2 bytes a bucket: far fewer
/// are ever useful; native buckets cover wide ranges in little memory.)
pub(crate) const MAX_BOUNDS: usize = (1 << 24) - 2;

impl Buckets {
    /// Validates explicit bounds. A trailing `+Inf` is accepted and dropped;
    /// more than 16,777,214 finite bounds (2^24 - 2) are refused.
    pub fn new(mut bounds: Vec<f64>) -> Result<Self, Error> {
        if bounds.last() == Some(&f64::INFINITY) {
            bounds.pop();
        }
        if bounds.is_empty() {
            return Err(Error::InvalidBuckets("no finite bucket bound given".into()));
        }
        if bounds.len() > MAX_BOUNDS {
            return Err(Error::InvalidBuckets(format!(
                "{} bounds given, at most {MAX_BOUNDS} are allowed",
                bounds.len()
            )));
        }
        if let Some(b) = bounds.iter().find(|b| !b.is_finite()) {
            return Err(Error::InvalidBuckets(format!(
                "bound {b} is not finite (+Inf is implied, only as the last bound)"
            )));
        }
        if let Some(w) = bounds.windows(2).find(|w| w[0] >= w[1]) {
            let why = if w[0] == w[1] {
                "duplicated"
            } else {
                "not increasing"
            };
            return Err(Error::InvalidBuckets(format!(
                "bounds {} and {} are {why}",
                w[0], w[1]
            )));
        }
        Ok(Self {
            bounds: bounds.into(),
            native: None,
        })
    }

    /// Native buckets only: no classic bounds. The text formats, which have
    /// no native form, write such a histogram as `_count`, `_sum` and its
    /// `+Inf` bucket; protobuf carries the native buckets. Errors with
    /// [`Error::InvalidNative`] for options out of range.
    ///
    /// ```
    /// use hotmetrics_core::{Buckets, NativeOpts};
    /// let b = Buckets::native(NativeOpts::new().schema(2)).unwrap();
    /// assert!(b.bounds().is_empty());
    /// assert!(Buckets::native(NativeOpts::new().factor(1.0)).is_err());
    /// ```
    pub fn native(opts: NativeOpts) -> Result<Buckets, Error> {
        let config = opts.validate()?;
        Ok(Self {
            bounds: Arc::from(&[][..]),
            native: Some(Arc::new((opts, config))),
        })
    }

    /// These classic buckets and native ones on the same series, as
    /// client_golang allows: text formats write the classic buckets,
    /// protobuf both.
    ///
    /// ```
    /// use hotmetrics_core::{Buckets, NativeOpts};
    /// let b = Buckets::default().with_native(NativeOpts::new()).unwrap();
    /// assert_eq!(b.bounds().len(), 11);
    /// assert!(b.native_opts().is_some());
    /// ```
    pub fn with_native(self, opts: NativeOpts) -> Result<Buckets, Error> {
        let config = opts.validate()?;
        Ok(Self {
            native: Some(Arc::new((opts, config))),
            ..self
        })
    }

    /// The native options, if the histogram has native buckets.
    pub fn native_opts(&self) -> Option<&NativeOpts> {
        self.native.as_deref().map(|(opts, _)| opts)
    }

    pub(crate) fn native_config(&self) -> Option<&NativeConfig> {
        self.native.as_deref().map(|(_, config)| config)
    }

    /// `count` bounds `start, start + width, ...`.
    pub fn linear(start: f64, width: f64, count: usize) -> Result<Self, Error> {
        if count == 0 || width.is_nan() || width <= 0.0 {
            return Err(Error::InvalidBuckets(format!(
                "linear buckets need count >= 1 and width > 0, got count {count}, width {width}"
            )));
        }
        Self::new((0..count).map(|i| start + width * i as f64).collect())
    }

    /// `count` bounds `start, start * factor, ...`.
    pub fn exponential(start: f64, factor: f64, count: usize) -> Result<Self, Error> {
        if count == 0 || start.is_nan() || start <= 0.0 || factor.is_nan() || factor <= 1.0 {
            return Err(Error::InvalidBuckets(format!(
                "exponential buckets need count >= 1, start > 0, factor > 1, \
                 got count {count}, start {start}, factor {factor}"
            )));
        }
        Self::new(
            std::iter::successors(Some(start), |b| Some(b * factor))
                .take(count)
                .collect(),
        )
    }

    /// The finite upper bounds, increasing (empty for native-only buckets).
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Index of the bucket that counts `v`: the first bound `>= v`, or the
    /// `+Inf` bucket (also for NaN, as the Go reference does).
    #[inline]
    #[allow(
        clippy::neg_cmp_op_on_partial_ord,
        reason = "NaN is above no bound and must count all of them"
    )]
    pub(crate) fn index(&self, v: f64) -> usize {
        let b = &*self.bounds;
        if b.len() <= 16 {
            // Branch-free: the bounds under `v` are a prefix (they are
            // sorted), so their count is the index; NaN is under none of
            // `v <= bound`, so it counts them all (`+Inf`). A scan that
            // stopped at the first bound `>= v` mispredicted its exit on
            // most observations of varied values (a third of
            // `histogram_observe` on the 2-core VM).
            b.iter().map(|&bound| usize::from(!(v <= bound))).sum()
        } else if v.is_nan() {
            b.len()
        } else {
            b.partition_point(|&bound| bound < v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_le_semantics() {
        let b = Buckets::new(vec![1.0, 2.0, 5.0]).unwrap();
        assert_eq!(b.index(0.5), 0);
        assert_eq!(
            b.index(1.0),
            0,
            "a value equal to a bound is in that bucket"
        );
        assert_eq!(b.index(1.5), 1);
        assert_eq!(b.index(5.0), 2);
        assert_eq!(b.index(5.1), 3);
        assert_eq!(b.index(f64::INFINITY), 3);
        assert_eq!(b.index(f64::NEG_INFINITY), 0);
        assert_eq!(b.index(f64::NAN), 3);
    }

    #[test]
    fn binary_search_path_agrees_with_linear() {
        let many = Buckets::linear(0.0, 1.0, 40).unwrap();
        for v in [-1.0, 0.0, 0.5, 13.0, 13.5, 39.0, 39.5, f64::NAN] {
            let want = many.bounds().iter().position(|&b| v <= b).unwrap_or(40);
            assert_eq!(many.index(v), want, "{v}");
        }
    }

    proptest::proptest! {
        /// Both paths (the branch-free count up to 16 bounds, the binary
        /// search above) find the first bound `>= v`, `+Inf` for NaN.
        #[test]
        fn index_is_the_first_bound_at_or_above(
            mut bounds in proptest::collection::vec(-1e6f64..1e6, 1..40),
            v in proptest::prop_oneof![
                -2e6f64..2e6,
                proptest::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0]),
            ],
            pick in 0usize..40,
        ) {
            bounds.sort_by(f64::total_cmp);
            bounds.dedup();
            let b = Buckets::new(bounds).unwrap();
            let want = |v: f64| b.bounds().iter().position(|&x| v <= x).unwrap_or(b.bounds().len());
            proptest::prop_assert_eq!(b.index(v), want(v));
            // A value equal to a bound is in that bound's bucket, the next
            // float above it in the next one.
            let on = b.bounds()[pick % b.bounds().len()];
            for v in [on, on.next_up(), on.next_down()] {
                proptest::prop_assert_eq!(b.index(v), want(v), "{}", v);
            }
            // Subnormals and zeros against a bound at zero.
            let mut with_zero = b.bounds().to_vec();
            with_zero.push(0.0);
            with_zero.sort_by(f64::total_cmp);
            with_zero.dedup();
            let z = Buckets::new(with_zero).unwrap();
            let want_z = |v: f64| z.bounds().iter().position(|&x| v <= x).unwrap_or(z.bounds().len());
            let tiny = f64::MIN_POSITIVE / 2.0;
            for v in [tiny, -tiny, 0.0, -0.0, 0.0f64.next_up(), 0.0f64.next_down()] {
                proptest::prop_assert_eq!(z.index(v), want_z(v), "{}", v);
            }
        }
    }

    #[test]
    fn rejects_bad_bounds_with_reasons() {
        let err = |v: Vec<f64>| Buckets::new(v).unwrap_err().to_string();
        assert!(err(vec![]).contains("no finite"));
        assert!(err(vec![f64::INFINITY]).contains("no finite"));
        assert!(err(vec![1.0, f64::NAN]).contains("not finite"));
        assert!(err(vec![1.0, 1.0]).contains("duplicated"));
        assert!(err(vec![2.0, 1.0]).contains("not increasing"));
        assert!(Buckets::linear(0.0, 0.0, 3).is_err());
        assert!(Buckets::linear(0.0, 1.0, 0).is_err());
        assert!(Buckets::exponential(0.0, 2.0, 3).is_err());
        assert!(Buckets::exponential(1.0, 1.0, 3).is_err());
        assert!(Buckets::exponential(1.0, f64::NAN, 3).is_err());
    }

    #[test]
    fn too_many_bounds_are_refused_by_name() {
        let err = Buckets::linear(0.0, 1.0, MAX_BOUNDS + 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 16777214"), "{err}");
    }

    #[test]
    fn trailing_inf_is_dropped() {
        let b = Buckets::new(vec![1.0, f64::INFINITY]).unwrap();
        assert_eq!(b.bounds(), &[1.0]);
    }
}
