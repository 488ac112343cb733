//! How numbers print (`print`, `str()`, listings, the gdb printer's model).
//!
//! The shortest representation that reads back to the same double, laid
//! out like JavaScript's `Number.prototype.toString` (the `ryu-js` crate):
//! integral values have no decimal point, exponents appear from 1e21 up and
//! below 1e-6 (`1e+21`, `1e-7`). TinyVM's own spellings of the special
//! values: `nan`, `inf`, `-inf`, and `-0` (JavaScript prints `0`).

/// Room for the text of one number (on the caller's stack).
pub type NumberBuffer = ryu_js::Buffer;

/// The printed form of `n`, in `buffer`: no allocation.
pub fn number_text(n: f64, buffer: &mut NumberBuffer) -> &str {
    if n.is_nan() {
        "nan"
    } else if n.is_infinite() {
        if n > 0.0 {
            "inf"
        } else {
            "-inf"
        }
    } else if n == 0.0 {
        if n.is_sign_negative() {
            "-0"
        } else {
            "0"
        }
    } else {
        buffer.format_finite(n)
    }
}

/// The printed form of `n` as a `String`.
pub fn format_number(n: f64) -> String {
    number_text(n, &mut NumberBuffer::new()).to_string()
}

#[cfg(test)]
mod tests {
    use super::format_number as f;

    #[test]
    fn numbers_print_like_the_design_says() {
        assert_eq!(f(3.0), "3");
        assert_eq!(f(-0.0), "-0");
        assert_eq!(f(987654.0), "987654");
        assert_eq!(f(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(f(1e21), "1e+21");
        assert_eq!(f(1e20), "100000000000000000000");
        assert_eq!(f(123.456), "123.456");
        assert_eq!(f(-0.001), "-0.001");
        assert_eq!(f(1e-7), "1e-7");
        assert_eq!(f(1.5e-7), "1.5e-7");
        assert_eq!(f(0.000001), "0.000001");
        assert_eq!(f(f64::NAN), "nan");
        assert_eq!(f(f64::INFINITY), "inf");
        assert_eq!(f(f64::NEG_INFINITY), "-inf");
        assert_eq!(f(2.5e300), "2.5e+300");
        assert_eq!(f(-1.7976931348623157e308), "-1.7976931348623157e+308");
        assert_eq!(f(5e-324), "5e-324");
        assert_eq!(f(123456789012345680000.0), "123456789012345680000");
    }
}
