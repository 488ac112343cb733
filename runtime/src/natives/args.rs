//! Argument checks and buffers shared by the natives of every theme.
//!
//! A native's arguments sit on the caller's value stack (a GC root) for the
//! whole call, and the collector never moves or frees a rooted object, so
//! the bytes of an argument string (strings are immutable) stay valid
//! across allocations until the native returns: `string` hands them out
//! with the lifetime of the argument slice.

use crate::heap::oom::try_reserve_exact;
use crate::heap::{out_of_memory, retry_after_collecting};
use crate::object::*;
use crate::value::Value;
use crate::vm::error::raise;
use crate::vm::{Thread, Trap, Vm};

/// The bytes of argument `i`, or the runtime error `message` when it is
/// not a string.
pub fn string<'a>(th: &mut Thread, args: &'a [Value], i: usize, message: &str) -> Result<&'a [u8], Trap> {
    match args[i].as_kind::<ObjString>(ObjKind::String) {
        // SAFETY: the string is an argument, rooted for the whole call and
        // never moved (see the module comment); `'a` is the call's.
        Some(s) => Ok(unsafe { crate::object::string::string_bytes(s) }),
        None => Err(raise(th, message)),
    }
}

/// Argument `i` as an array, or the runtime error `message`.
pub fn array(th: &mut Thread, args: &[Value], i: usize, message: &str) -> Result<*mut ObjArray, Trap> {
    args[i].as_kind::<ObjArray>(ObjKind::Array).ok_or_else(|| raise(th, message))
}

/// Argument `i` as a number, or the runtime error `message`.
pub fn number(th: &mut Thread, args: &[Value], i: usize, message: &str) -> Result<f64, Trap> {
    let v = args[i];
    if v.is_number() {
        Ok(v.as_number())
    } else {
        Err(raise(th, message))
    }
}

/// Whether `n` is an integer (not NaN, not infinite, no fraction).
pub fn is_integer(n: f64) -> bool {
    n.is_finite() && n.fract() == 0.0
}

/// An empty vector with room for `n` items, reserved fallibly: `Out of
/// memory.` when they would not fit the heap limit or the system refuses
/// the memory (after one collection). May collect.
pub fn vec_with_room<T>(vm: &mut Vm, th: &mut Thread, n: usize) -> Result<Vec<T>, Trap> {
    let fits = n.checked_mul(std::mem::size_of::<T>()).is_some_and(|bytes| bytes <= vm.heap.limit);
    if !fits {
        return Err(out_of_memory(th));
    }
    let mut v = Vec::new();
    if try_reserve_exact(&mut v, n).is_err() {
        retry_after_collecting(vm, th, |_| try_reserve_exact(&mut v, n).ok())?;
    }
    Ok(v)
}

/// A new array value holding `items` (values the caller keeps reachable
/// until this returns).
pub fn array_value(vm: &mut Vm, th: &mut Thread, items: Vec<Value>) -> Result<Value, Trap> {
    Ok(Value::object(crate::heap::new_array(vm, th, items)? as *mut Obj))
}
