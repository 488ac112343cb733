//! Natives on values: clock, len, push, pop, str, num, chr, ord, sqrt, floor.

use crate::heap::{grow_array, new_string, out_of_memory, string_value};
use crate::object::*;
use crate::value::Value;
use crate::vm::error::raise;
use crate::vm::{Thread, Trap, Vm};
use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();

/// Fixes the time origin of `clock()` (called at start-up).
pub fn start_clock() {
    START.get_or_init(Instant::now);
}

pub fn clock(_: &mut Vm, _: &mut Thread, _: &[Value]) -> Result<Value, Trap> {
    Ok(Value::number(START.get_or_init(Instant::now).elapsed().as_secs_f64()))
}

fn number_arg(th: &mut Thread, name: &str, v: Value) -> Result<f64, Trap> {
    if v.is_number() {
        Ok(v.as_number())
    } else {
        Err(raise(th, format!("{}() expects a number.", name)))
    }
}

fn array_arg(th: &mut Thread, name: &str, v: Value) -> Result<*mut ObjArray, Trap> {
    v.as_kind::<ObjArray>(ObjKind::Array).ok_or_else(|| raise(th, format!("{}() expects an array.", name)))
}

pub fn len(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let v = args[0];
    // SAFETY: arguments are live (they are on the stack).
    let n = unsafe {
        match v.obj_kind() {
            Some(ObjKind::String) => (*(v.as_obj() as *mut ObjString)).len,
            Some(ObjKind::Array) => (*(v.as_obj() as *mut ObjArray)).len,
            Some(ObjKind::Map) => (*(v.as_obj() as *mut ObjMap)).len(),
            _ => return Err(raise(th, "len() expects a string, an array or a map.")),
        }
    };
    Ok(Value::number(n as f64))
}

pub fn push(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let array = array_arg(th, "push", args[0])?;
    // The array is an argument on the stack, so it survives a collection.
    grow_array(vm, th, array, 1)?;
    // SAFETY: the array is live; it has room for the item (no reallocation).
    unsafe { (*array).with_vec(|v| v.push(args[1])) };
    Ok(args[0])
}

pub fn pop(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let array = array_arg(th, "pop", args[0])?;
    // SAFETY: the array is live (an argument on the stack).
    match unsafe { (*array).with_vec(|v| v.pop()) } {
        Some(v) => Ok(v),
        None => Err(raise(th, "pop() on an empty array.")),
    }
}

pub fn str(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    if args[0].is_kind(ObjKind::String) {
        return Ok(args[0]);
    }
    let mut out = Vec::new();
    // Text longer than the heap limit could never become a string.
    if crate::print::try_write_value(&mut out, args[0], vm.heap.limit).is_err() {
        return Err(out_of_memory(th));
    }
    string_value(vm, th, &out)
}

/// Parses a decimal number: optional sign, digits, optional fraction and exponent.
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let body = t.strip_prefix('-').or_else(|| t.strip_prefix('+')).unwrap_or(t);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    if let Some(e) = exponent {
        let e = e.strip_prefix('-').or_else(|| e.strip_prefix('+')).unwrap_or(e);
        if e.is_empty() || !digits(e) {
            return None;
        }
    }
    t.parse::<f64>().ok()
}

pub fn num(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let v = args[0];
    if v.is_number() {
        return Ok(v);
    }
    let Some(s) = v.as_kind::<ObjString>(ObjKind::String) else {
        return Err(raise(th, "num() expects a string or a number."));
    };
    // SAFETY: the string is live (an argument on the stack).
    let text = unsafe { (*s).to_string_lossy() };
    Ok(parse_number(&text).map(Value::number).unwrap_or(Value::NIL))
}

pub fn chr(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let n = number_arg(th, "chr", args[0])?;
    if n.fract() != 0.0 || !(0.0..=255.0).contains(&n) {
        return Err(raise(th, "chr() expects an integer from 0 to 255."));
    }
    Ok(Value::object(new_string(vm, th, &[n as u8])? as *mut Obj))
}

pub fn ord(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let Some(s) = args[0].as_kind::<ObjString>(ObjKind::String) else {
        return Err(raise(th, "ord() expects a string."));
    };
    // SAFETY: the string is live (an argument on the stack).
    match unsafe { (*s).bytes().first() } {
        Some(&b) => Ok(Value::number(b as f64)),
        None => Err(raise(th, "ord() expects a non-empty string.")),
    }
}

pub fn sqrt(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    Ok(Value::number(number_arg(th, "sqrt", args[0])?.sqrt()))
}

pub fn floor(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    Ok(Value::number(number_arg(th, "floor", args[0])?.floor()))
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn num_parses_decimal_only() {
        assert_eq!(parse_number("12"), Some(12.0));
        assert_eq!(parse_number(" -3.5 "), Some(-3.5));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        assert_eq!(parse_number(".5"), Some(0.5));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("nan"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("."), None);
        assert_eq!(parse_number("1e"), None);
    }
}
