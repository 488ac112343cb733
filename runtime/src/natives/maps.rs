//! Natives on maps: `Map`, `has`, `keys`, `values`, and `remove` (of a
//! map's key or an array's element). `len` of a map is in `core.rs` with
//! the other lengths; indexing is `vm::operators`'. The table itself is
//! `object::map`'s.

use crate::heap::oom::try_reserve_exact;
use crate::heap::{map_remove, new_array, new_map, retry_after_collecting};
use crate::object::*;
use crate::value::Value;
use crate::vm::error::raise;
use crate::vm::operators::{checked_index, map_key};
use crate::vm::{Thread, Trap, Vm};

fn map_arg(th: &mut Thread, name: &str, v: Value) -> Result<*mut ObjMap, Trap> {
    v.as_kind::<ObjMap>(ObjKind::Map).ok_or_else(|| raise(th, format!("{}() expects a map.", name)))
}

/// `Map()`: a new empty map.
pub fn map(vm: &mut Vm, th: &mut Thread, _: &[Value]) -> Result<Value, Trap> {
    Ok(Value::object(new_map(vm, th)? as *mut Obj))
}

/// `has(m, k)`: whether `k` is a key of `m`.
pub fn has(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let map = map_arg(th, "has", args[0])?;
    let key = map_key(th, args[1])?;
    // SAFETY: the map is an argument on the stack (live).
    Ok(Value::bool(unsafe { (*map).find(key) }.is_some()))
}

/// An array of `pick` of each live entry of `map` (an argument, so rooted),
/// in insertion order.
fn entry_array(vm: &mut Vm, th: &mut Thread, map: *mut ObjMap, pick: fn(&map::Entry) -> Value) -> Result<Value, Trap> {
    // SAFETY: the map is an argument on the stack (live).
    let count = unsafe { (*map).len() };
    let mut items = Vec::new();
    if try_reserve_exact(&mut items, count).is_err() {
        retry_after_collecting(vm, th, |_| try_reserve_exact(&mut items, count).ok())?;
    }
    // SAFETY: as above; nothing changes the map between here and `new_array`,
    // and the values stay reachable from it while `new_array` may collect.
    items.extend(unsafe { (*map).live_entries() }.map(pick));
    Ok(Value::object(new_array(vm, th, items)? as *mut Obj))
}

/// `keys(m)`: the keys of `m` in insertion order.
pub fn keys(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let map = map_arg(th, "keys", args[0])?;
    entry_array(vm, th, map, |e| e.key)
}

/// `values(m)`: the values of `m` in insertion order.
pub fn values(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let map = map_arg(th, "values", args[0])?;
    entry_array(vm, th, map, |e| e.value)
}

/// `remove(m, k)`: removes key `k` from map `m` and returns its value (nil
/// when absent). `remove(a, i)`: removes element `i` of array `a` (an
/// integer in range, as for indexing) and returns it.
pub fn remove(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let (target, key) = (args[0], args[1]);
    match target.obj_kind() {
        Some(ObjKind::Map) => {
            let key = map_key(th, key)?;
            Ok(map_remove(vm, target.as_obj() as *mut ObjMap, key).unwrap_or(Value::NIL))
        }
        Some(ObjKind::Array) => {
            let array = target.as_obj() as *mut ObjArray;
            // SAFETY: the array is an argument on the stack (live).
            let i = checked_index(th, key, unsafe { (*array).len })?;
            // SAFETY: as above; `i` is in range.
            Ok(unsafe { (*array).with_vec(|v| v.remove(i)) })
        }
        _ => Err(raise(th, "remove() expects a map or an array.")),
    }
}
