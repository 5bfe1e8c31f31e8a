//! `le` and `quantile` label values spelled as Go's
//! `strconv.FormatFloat(v, 'g', -1, 64)` does (`0.005`, `1`, `1e+06`,
//! `+Inf`): the spelling the reference clients scrape as, so the series
//! this crate writes are the ones a scrape of the same registry makes (a
//! label value is a string to Prometheus; its spelling is the series'
//! identity). The same rules as the text exporter's, which this crate may
//! not depend on.

/// A float's Go `%g` shortest spelling, on the stack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GoFloat {
    buf: [u8; 32],
    len: usize,
}

impl GoFloat {
    pub(crate) fn new(v: f64) -> Self {
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
        }
        s
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
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

    /// ryu finds the shortest digits; they are laid out as Go's shortest
    /// `%g` does: exponent form when the decimal exponent is below -4 or
    /// at least 6, with at least two exponent digits.
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
        // The value is 0.d1d2..dn × 10^dp.
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
}

#[cfg(test)]
mod tests {
    use super::GoFloat;

    #[test]
    fn matches_go_strconv_g() {
        // What Go's strconv.FormatFloat(v, 'g', -1, 64) prints.
        for (v, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.005, "0.005"),
            (0.25, "0.25"),
            (10.0, "10"),
            (100000.0, "100000"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(GoFloat::new(v).as_bytes(), want.as_bytes(), "{v:e}");
        }
    }
}
