//! `for (var x in v)`: the two instructions' one definition, shared by the
//! interpreter and the helpers generated code calls.
//!
//! The loop keeps three hidden locals from `slot` on: the iterable, the
//! position (a number: an index) and the key-set version of a map when the
//! loop began. Arrays are walked by index, re-reading the length at each
//! step (so elements pushed during the loop are visited); strings byte by
//! byte, each as a one-byte string.

use super::error::raise;
use super::{Thread, Trap, Vm};
use crate::heap::string_value;
use crate::object::*;
use crate::value::Value;

pub const NOT_ITERABLE: &str = "Can only iterate over arrays, maps and strings.";

/// `FOR_IN_START`: checks the iterable in `base[slot]` and pushes the
/// starting position and version.
pub fn start(th: &mut Thread, base: *mut Value, slot: u32) -> Result<(), Trap> {
    // SAFETY: the verifier proved the slot below the stack top.
    let iterable = unsafe { *base.add(slot as usize) };
    match iterable.obj_kind() {
        Some(ObjKind::Array) | Some(ObjKind::String) => {}
        _ => return Err(raise(th, NOT_ITERABLE)),
    }
    th.push(Value::number(0.0));
    th.push(Value::number(0.0));
    Ok(())
}

/// `FOR_IN_NEXT`: pushes the next element and returns true, or pushes nil
/// and returns false when the iteration is over.
pub fn next(vm: &mut Vm, th: &mut Thread, base: *mut Value, slot: u32) -> Result<bool, Trap> {
    // SAFETY: the verifier proved the three slots below the stack top; the
    // iterable is live (it is in its slot).
    unsafe {
        let slots = base.add(slot as usize);
        let iterable = *slots;
        let position = (*slots.add(1)).as_number() as usize;
        let element = match iterable.obj_kind() {
            Some(ObjKind::Array) => (*(iterable.as_obj() as *mut ObjArray)).items().get(position).copied(),
            Some(ObjKind::String) => {
                let bytes = (*(iterable.as_obj() as *mut ObjString)).bytes();
                match bytes.get(position) {
                    Some(&b) => Some(string_value(vm, th, &[b])?),
                    None => None,
                }
            }
            _ => return Err(raise(th, NOT_ITERABLE)),
        };
        // Allocation may have collected, but the slots are in the stack.
        let slots = base.add(slot as usize);
        match element {
            Some(value) => {
                *slots.add(1) = Value::number((position + 1) as f64);
                th.push(value);
                Ok(true)
            }
            None => {
                th.push(Value::NIL);
                Ok(false)
            }
        }
    }
}
