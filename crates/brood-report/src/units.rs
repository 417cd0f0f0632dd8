//! Number formatting shared by the writers: whole milliseconds and Python's float `repr`, so
//! CSV cells read exactly like Locust's.

/// Microseconds as whole milliseconds, rounded half up. Rounding is monotonic, so a percentile
/// that is at most the max in µs is still at most the max in ms.
pub fn whole_ms(us: u64) -> u64 {
    us / 1000 + u64::from(us % 1000 >= 500)
}

/// Microseconds as fractional milliseconds.
pub fn ms(us: f64) -> f64 {
    us / 1000.0
}

/// `x` as Python's `repr(float)` writes it (shortest round-trip digits, `.0` on whole numbers,
/// exponent form below 1e-4 and from 1e16), which is what Locust's CSV cells hold.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let magnitude = x.abs();
    if magnitude != 0.0 && !(1e-4..1e16).contains(&magnitude) {
        // Rust writes `1e-5` / `1.5e16`; Python writes `1e-05` / `1.5e+16`.
        let s = format!("{x:e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let s = format!("{x}");
    if s.contains('.') {
        s
    } else {
        s + ".0"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python_repr() {
        for (x, want) in [
            (12.345, "12.345"),
            (0.0, "0.0"),
            (3.0, "3.0"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e-05, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123_456_789.125, "123456789.125"),
            (1e16, "1e+16"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(python_float(x), want);
        }
    }

    #[test]
    fn whole_ms_rounds_half_up() {
        assert_eq!(whole_ms(0), 0);
        assert_eq!(whole_ms(499), 0);
        assert_eq!(whole_ms(500), 1);
        assert_eq!(whole_ms(1499), 1);
        assert_eq!(whole_ms(u64::MAX), u64::MAX / 1000 + 1);
    }
}
