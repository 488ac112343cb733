//! Bitwise natives with the 32-bit semantics of JavaScript's operators and
//! LuaJIT's `bit` library: `band bor bxor bnot shl shr ushr`.
//!
//! Operands must be integral numbers (`Operands must be integers.`; NaN
//! and the infinities are not); they are taken modulo 2^32 as two's
//! complement (JavaScript's ToInt32), shift counts use their low 5 bits,
//! and results are signed 32-bit integers, except `ushr`'s, which are
//! unsigned. These are the one definition; generated code computes the
//! same inline for operands of magnitude below 2^63 (the lowering's
//! `intrinsic.rs`) and calls these for the rest, and
//! `tests/programs/bits.tvm` checks every tier on the edge cases.

use super::Native;
use crate::object::Intrinsic;
use crate::value::Value;
use crate::vm::error::raise;
use crate::vm::{Thread, Trap, Vm};

pub const NATIVES: &[Native] = &[
    Native::intrinsic("band", 2, band, Intrinsic::Band),
    Native::intrinsic("bor", 2, bor, Intrinsic::Bor),
    Native::intrinsic("bxor", 2, bxor, Intrinsic::Bxor),
    Native::intrinsic("bnot", 1, bnot, Intrinsic::Bnot),
    Native::intrinsic("shl", 2, shl, Intrinsic::Shl),
    Native::intrinsic("shr", 2, shr, Intrinsic::Shr),
    Native::intrinsic("ushr", 2, ushr, Intrinsic::Ushr),
];

pub const NOT_INTEGERS: &str = "Operands must be integers.";

/// JavaScript's ToInt32 of an integral number: its value modulo 2^32, as
/// a two's complement 32-bit integer. `None` for other values.
pub fn to_int32(v: Value) -> Option<i32> {
    if !v.is_number() {
        return None;
    }
    let n = v.as_number();
    if !n.is_finite() || n.fract() != 0.0 {
        return None;
    }
    // The remainder is exact and below 2^32 in magnitude; its low 32 bits
    // are those of `n`.
    Some((n % 4_294_967_296.0) as i64 as i32)
}

/// The operation of an intrinsic on its operands (`b` is 0 for `bnot`).
pub fn compute(intrinsic: Intrinsic, a: i32, b: i32) -> f64 {
    let count = (b & 31) as u32;
    match intrinsic {
        Intrinsic::Band => (a & b) as f64,
        Intrinsic::Bor => (a | b) as f64,
        Intrinsic::Bxor => (a ^ b) as f64,
        Intrinsic::Bnot => !a as f64,
        Intrinsic::Shl => a.wrapping_shl(count) as f64,
        Intrinsic::Shr => (a >> count) as f64,
        Intrinsic::Ushr => ((a as u32) >> count) as f64,
        Intrinsic::None | Intrinsic::Len | Intrinsic::Push | Intrinsic::Sqrt => unreachable!("not a bitwise operation"),
    }
}

fn operate(th: &mut Thread, args: &[Value], intrinsic: Intrinsic) -> Result<Value, Trap> {
    let a = to_int32(args[0]);
    let b = if args.len() > 1 { to_int32(args[1]) } else { Some(0) };
    match (a, b) {
        (Some(a), Some(b)) => Ok(Value::number(compute(intrinsic, a, b))),
        _ => Err(raise(th, NOT_INTEGERS)),
    }
}

macro_rules! natives {
    ($($name:ident => $intrinsic:ident),* $(,)?) => {$(
        pub fn $name(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
            operate(th, args, Intrinsic::$intrinsic)
        }
    )*};
}

natives! { band => Band, bor => Bor, bxor => Bxor, bnot => Bnot, shl => Shl, shr => Shr, ushr => Ushr }

#[cfg(test)]
mod tests {
    use super::*;

    fn int(n: f64) -> Option<i32> {
        to_int32(Value::number(n))
    }

    #[test]
    fn to_int32_wraps_like_javascript() {
        assert_eq!(int(4294967295.0), Some(-1));
        assert_eq!(int(4294967296.0), Some(0));
        assert_eq!(int(2147483648.0), Some(i32::MIN));
        assert_eq!(int(-2147483649.0), Some(i32::MAX));
        assert_eq!(int(-0.0), Some(0));
        assert_eq!(int(1e300), Some(0));
        assert_eq!(int(9007199254740993.0), Some(0)); // 2^53 + 1 rounds to 2^53
        assert_eq!(int(-9223372036854775808.0), Some(0));
        assert_eq!(int(18446744073709549568.0), Some(-2048)); // 2^64 - 2^11
        assert_eq!(int(-4294967297.0), Some(-1));
        assert_eq!(int(0.5), None);
        assert_eq!(int(f64::NAN), None);
        assert_eq!(int(f64::INFINITY), None);
        assert_eq!(to_int32(Value::NIL), None);
    }

    #[test]
    fn operations_follow_javascript() {
        assert_eq!(compute(Intrinsic::Shl, 1, 31), -2147483648.0);
        assert_eq!(compute(Intrinsic::Shl, 1, 32), 1.0);
        assert_eq!(compute(Intrinsic::Ushr, -1, 0), 4294967295.0);
        assert_eq!(compute(Intrinsic::Shr, -8, 1), -4.0);
        assert_eq!(compute(Intrinsic::Ushr, -8, 1), 2147483644.0);
        assert_eq!(compute(Intrinsic::Bnot, 0, 0), -1.0);
        assert_eq!(compute(Intrinsic::Band, -1, 1), 1.0);
        assert_eq!(compute(Intrinsic::Bxor, 5, 3), 6.0);
        assert_eq!(compute(Intrinsic::Shl, 1, -1), -2147483648.0);
    }
}
