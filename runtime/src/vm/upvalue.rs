//! Capturing and closing upvalues (clox's scheme).
//!
//! An open upvalue points at a slot of its thread's value stack; the thread
//! keeps its open upvalues in a list sorted by slot address, highest first.
//! When the slot's scope ends, the value moves into the upvalue (closing it).

use super::{Thread, Trap, Vm};
use crate::heap::new_upvalue;
use crate::object::ObjUpvalue;
use crate::value::Value;

/// The upvalue for stack slot `slot`, shared with earlier captures of it.
pub fn capture(vm: &mut Vm, th: &mut Thread, slot: *mut Value) -> Result<*mut ObjUpvalue, Trap> {
    let mut previous: *mut ObjUpvalue = std::ptr::null_mut();
    let mut current = th.open_upvalues;
    // SAFETY: the open list holds live upvalues of this thread.
    unsafe {
        while !current.is_null() && (*current).location > slot {
            previous = current;
            current = (*current).next_open;
        }
        if !current.is_null() && (*current).location == slot {
            return Ok(current);
        }
    }
    let created = new_upvalue(vm, th, slot)?;
    // SAFETY: allocation may have collected, but `previous` and `current`
    // are on the open list, which is a root, so they are still live.
    unsafe {
        (*created).next_open = current;
        if previous.is_null() {
            th.open_upvalues = created;
        } else {
            (*previous).next_open = created;
        }
    }
    Ok(created)
}

/// Closes every open upvalue that points at `last` or above.
pub fn close_from(th: &mut Thread, last: *mut Value) {
    // SAFETY: open upvalues are live and point into this thread's stack.
    unsafe {
        while !th.open_upvalues.is_null() && (*th.open_upvalues).location >= last {
            let up = th.open_upvalues;
            (*up).closed = *(*up).location;
            (*up).location = &mut (*up).closed;
            th.open_upvalues = (*up).next_open;
        }
    }
}
