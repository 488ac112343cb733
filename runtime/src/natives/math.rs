//! Math natives: `abs min max pow exp log sin cos tan asin acos atan atan2
//! ceil round trunc` on numbers (IEEE doubles, as C's libm computes them;
//! `sqrt` and `floor` are in `core.rs`), and `random()` / `seed(n)`.
//!
//! `random` is SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit state
//! advanced by a constant, mixed into each output; a few lines with good
//! statistical quality, so no crate. Its state is one atomic shared by all
//! threads (like one C `rand()` per process): every `random()` call
//! advances it, so a program that seeds it and runs one thread gets the
//! same numbers every run, in every tier. Until `seed` is called, the state
//! starts from the operating system's randomness.

use super::args;
use super::Native;
use crate::value::Value;
use crate::vm::error::raise;
use crate::vm::{Thread, Trap, Vm};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub const NATIVES: &[Native] = &[
    Native::fixed("abs", 1, abs),
    Native::optional("min", 1, 255, min),
    Native::optional("max", 1, 255, max),
    Native::fixed("pow", 2, pow),
    Native::fixed("exp", 1, exp),
    Native::fixed("log", 1, log),
    Native::fixed("sin", 1, sin),
    Native::fixed("cos", 1, cos),
    Native::fixed("tan", 1, tan),
    Native::fixed("asin", 1, asin),
    Native::fixed("acos", 1, acos),
    Native::fixed("atan", 1, atan),
    Native::fixed("atan2", 2, atan2),
    Native::fixed("ceil", 1, ceil),
    Native::fixed("round", 1, round),
    Native::fixed("trunc", 1, trunc),
    Native::fixed("random", 0, random),
    Native::fixed("seed", 1, seed),
];

/// Defines a native of one number argument computing `$f(x)`.
macro_rules! unary {
    ($($name:ident: $text:literal => $f:expr;)*) => {$(
        pub fn $name(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
            let x = args::number(th, args, 0, concat!($text, "() expects a number."))?;
            let f: fn(f64) -> f64 = $f;
            Ok(Value::number(f(x)))
        }
    )*};
}

unary! {
    abs: "abs" => f64::abs;
    exp: "exp" => f64::exp;
    // The natural logarithm (NaN below 0, -inf at 0).
    log: "log" => f64::ln;
    sin: "sin" => f64::sin;
    cos: "cos" => f64::cos;
    tan: "tan" => f64::tan;
    asin: "asin" => f64::asin;
    acos: "acos" => f64::acos;
    atan: "atan" => f64::atan;
    ceil: "ceil" => f64::ceil;
    // Half away from zero, as C's `round`: round(2.5) is 3, round(-2.5) is -3.
    round: "round" => f64::round;
    trunc: "trunc" => f64::trunc;
}

pub fn pow(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    const MESSAGE: &str = "pow() expects two numbers.";
    let x = args::number(th, args, 0, MESSAGE)?;
    let y = args::number(th, args, 1, MESSAGE)?;
    Ok(Value::number(x.powf(y)))
}

/// `atan2(y, x)`: the angle of the point (x, y), from -pi to pi.
pub fn atan2(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    const MESSAGE: &str = "atan2() expects two numbers.";
    let y = args::number(th, args, 0, MESSAGE)?;
    let x = args::number(th, args, 1, MESSAGE)?;
    Ok(Value::number(y.atan2(x)))
}

/// The least (`max`: the greatest) of one or more numbers, as JavaScript's
/// `Math.min`: NaN when any is NaN, and -0 below 0.
fn extreme(th: &mut Thread, args: &[Value], message: &str, first: fn(f64, f64) -> bool) -> Result<Value, Trap> {
    let mut best = args::number(th, args, 0, message)?;
    for i in 1..args.len() {
        let x = args::number(th, args, i, message)?;
        let better = first(x, best) || (x == best && first(sign(x), sign(best)));
        if x.is_nan() || (!best.is_nan() && better) {
            best = x;
        }
    }
    Ok(Value::number(best))
}

/// -1 for negative numbers and -0, 1 otherwise (orders -0 before 0).
fn sign(x: f64) -> f64 {
    if x.is_sign_negative() {
        -1.0
    } else {
        1.0
    }
}

pub fn min(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    extreme(th, args, "min() expects numbers.", |a, b| a < b)
}

pub fn max(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    extreme(th, args, "max() expects numbers.", |a, b| a > b)
}

/// SplitMix64's increment (2^64 / the golden ratio).
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

static STATE: AtomicU64 = AtomicU64::new(0);
static SEEDED: AtomicBool = AtomicBool::new(false);

/// SplitMix64's output for the state after `state`.
fn mix(state: u64) -> u64 {
    let mut z = state.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The next 64 random bits.
fn next() -> u64 {
    if !SEEDED.load(Ordering::Relaxed) {
        use std::hash::BuildHasher;
        // The standard library's hash keys come from the OS's randomness.
        let start = std::collections::hash_map::RandomState::new().hash_one(0u64);
        if SEEDED.compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            STATE.store(start, Ordering::Relaxed);
        }
    }
    mix(STATE.fetch_add(GOLDEN_GAMMA, Ordering::Relaxed))
}

/// `random()`: a number uniformly distributed in [0, 1), a multiple of 2^-53.
pub fn random(_: &mut Vm, _: &mut Thread, _: &[Value]) -> Result<Value, Trap> {
    Ok(Value::number((next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)))
}

/// `seed(n)`: restarts `random` from a state given by the number `n`, so
/// the numbers that follow are the same for the same `n`. Returns nil.
pub fn seed(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let Some(n) = args.first().filter(|v| v.is_number()).map(|v| v.as_number()) else {
        return Err(raise(th, "seed() expects a number."));
    };
    // 0 and -0 are one seed, and so is every NaN.
    let state = if n == 0.0 {
        0
    } else if n.is_nan() {
        f64::NAN.to_bits()
    } else {
        n.to_bits()
    };
    STATE.store(state, Ordering::Relaxed);
    SEEDED.store(true, Ordering::Relaxed);
    Ok(Value::NIL)
}

#[cfg(test)]
mod tests {
    use super::mix;

    /// The first outputs of SplitMix64 from state 0, as its reference
    /// implementation (and Java's `SplittableRandom`) gives them.
    #[test]
    fn splitmix_matches_the_reference() {
        assert_eq!(mix(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(mix(super::GOLDEN_GAMMA), 0x6e78_9e6a_a1b9_65f4);
    }
}
