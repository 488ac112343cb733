//! `for (var x in v)`: the two instructions' one definition, shared by the
//! interpreter and the helpers generated code calls.
//!
//! The loop keeps three hidden locals from `slot` on: the iterable, the
//! position (a number: an index) and the key-set version of a map when the
//! loop began. Arrays are walked by index, re-reading the length at each
//! step (so elements pushed during the loop are visited); maps key by key
//! in insertion order through `object::map::key_at`, an error if the key
//! set's version changed; strings byte by byte, each as a one-byte string.

use super::error::raise;
use super::{Thread, Trap, Vm};
use crate::heap::string_value;
use crate::object::*;
use crate::value::Value;

pub const NOT_ITERABLE: &str = "Can only iterate over arrays, maps and strings.";
pub const MAP_CHANGED: &str = "Map changed during iteration.";

/// `FOR_IN_START`: checks the iterable in `base[slot]` and pushes the
/// starting position and version.
pub fn start(th: &mut Thread, base: *mut Value, slot: u32) -> Result<(), Trap> {
    // SAFETY: the verifier proved the slot below the stack top.
    let iterable = unsafe { *base.add(slot as usize) };
    let version = match iterable.obj_kind() {
        Some(ObjKind::Array) | Some(ObjKind::String) => 0.0,
        // SAFETY: the kind says it is a map, and it is live in its slot.
        Some(ObjKind::Map) => unsafe { (*(iterable.as_obj() as *mut ObjMap)).version as f64 },
        _ => return Err(raise(th, NOT_ITERABLE)),
    };
    th.push(Value::number(0.0));
    th.push(Value::number(version));
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
        let mut position = (*slots.add(1)).as_number() as usize;
        let element = match iterable.obj_kind() {
            Some(ObjKind::Map) => {
                let map = &*(iterable.as_obj() as *mut ObjMap);
                if map.version as f64 != (*slots.add(2)).as_number() {
                    return Err(raise(th, MAP_CHANGED));
                }
                // The cursor skips removed pairs; `position + 1` below
                // stores the place after the key found.
                let key = crate::object::map::key_at(map, &mut position);
                position = position.saturating_sub(1);
                key
            }
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
