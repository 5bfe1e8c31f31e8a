//! Floats spelled as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does: the
//! reference clients' spelling of `le` and `quantile` label values, which
//! every exporter that writes them (text, OpenMetrics, remote write) must
//! share, since a label value's spelling is its series' identity.

/// How an integral `le` or `quantile` value is spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integral {
    /// As Go's `strconv 'g' -1` writes it: `1`, `1e+06`.
    Bare,
    /// With OpenMetrics' canonical `.0`: `1.0` (`1e+06` stays).
    Point,
}

/// A float spelled as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does (the
/// reference clients' form for `le` and `quantile` label values: `0.005`,
/// `1`, `1e+06`, `1e-05`, `+Inf`), integral values as [`Integral`] says
/// (`1` or OpenMetrics' `1.0`; `1e+06` stays).
///
/// Label values are strings to Prometheus, so the spelling decides series
/// identity; matching the reference clients keeps dashboards working.
#[derive(Clone, Copy)]
pub struct GoFloat {
    buf: [u8; 32],
    len: usize,
}

impl std::fmt::Debug for GoFloat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(self.as_bytes()).unwrap_or("NaN"))
    }
}

impl GoFloat {
    /// Formats `v`; [`Integral::Point`] appends `.0` when the result has
    /// neither a `.` nor an exponent.
    pub fn new(v: f64, integral: Integral) -> Self {
        let mut s = Self {
            buf: [0; 32],
            len: 0,
        };
        if v.is_nan() {
            s.push(b"NaN");
        } else if v.is_infinite() {
            s.push(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        } else {
            s.finite(v);
            if integral == Integral::Point && !s.as_bytes().iter().any(|&b| b == b'.' || b == b'e')
            {
                s.push(b".0");
            }
        }
        s
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn zeros(&mut self, n: usize) {
        for _ in 0..n {
            self.push(b"0");
        }
    }

    /// `%g` with the shortest digits: ryu finds the digits, and they are
    /// laid out as Go does for shortest output: exponent form when the
    /// decimal exponent is below -4 or at least 6, with at least two
    /// exponent digits.
    fn finite(&mut self, v: f64) {
        if v.is_sign_negative() {
            self.push(b"-");
        }
        let mut ryu = ryu::Buffer::new();
        let text = ryu.format_finite(v.abs());
        let (mantissa, exp10) = match text.split_once('e') {
            Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
            None => (text, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        // Significant digits d1d2..dn; the value is 0.d1d2..dn × 10^dp.
        let mut digits = [0u8; 24];
        let mut n = 0;
        let mut leading = 0i32;
        for &b in int_part.as_bytes().iter().chain(frac_part.as_bytes()) {
            if n == 0 && b == b'0' {
                leading += 1;
            } else if n < digits.len() {
                digits[n] = b;
                n += 1;
            }
        }
        while n > 0 && digits[n - 1] == b'0' {
            n -= 1;
        }
        if n == 0 {
            self.push(b"0");
            return;
        }
        let digits = &digits[..n];
        let dp = int_part.len() as i32 - leading + exp10;
        let exp = dp - 1;
        if !(-4..6).contains(&exp) {
            self.push(&digits[..1]);
            if n > 1 {
                self.push(b".");
                self.push(&digits[1..]);
            }
            self.push(if exp < 0 { b"e-" } else { b"e+" });
            let mut e = itoa::Buffer::new();
            let e = e.format(exp.unsigned_abs());
            if e.len() < 2 {
                self.push(b"0");
            }
            self.push(e.as_bytes());
        } else if dp <= 0 {
            self.push(b"0.");
            self.zeros(dp.unsigned_abs() as usize);
            self.push(digits);
        } else if dp as usize >= n {
            self.push(digits);
            self.zeros(dp as usize - n);
        } else {
            self.push(&digits[..dp as usize]);
            self.push(b".");
            self.push(&digits[dp as usize..]);
        }
    }

    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The text, as `&str`.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever pushed.
        std::str::from_utf8(self.as_bytes()).unwrap_or("NaN")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_matches_strconv_g() {
        // Expected strings are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.005, "0.005"),
            (0.25, "0.25"),
            (2.5, "2.5"),
            (10.0, "10"),
            (100000.0, "100000"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1.5e7, "1.5e+07"),
            (1e10, "1e+10"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-2.5e-5, "-2.5e-05"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for &(v, want) in cases {
            assert_eq!(GoFloat::new(v, Integral::Bare).as_str(), want, "{v:e}");
        }
        let om: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (0.0, "0.0"),
            (100000.0, "100000.0"),
            (1e6, "1e+06"),
            (0.5, "0.5"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for &(v, want) in om {
            assert_eq!(GoFloat::new(v, Integral::Point).as_str(), want, "{v:e}");
        }
    }

    #[test]
    fn go_float_round_trips() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            let s = GoFloat::new(v, Integral::Point);
            let back: f64 = match s.as_str() {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                other => other.parse().unwrap(),
            };
            assert!(back == v || (v.is_nan() && back.is_nan()), "{v:e} → {s:?}");
        }
    }
}
