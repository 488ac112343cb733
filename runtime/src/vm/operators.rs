//! Slow paths of operators and the instructions that are never hot enough
//! to inline: string concatenation, indexing (arrays, maps, strings),
//! arrays, printing, class construction. Shared by the interpreter and
//! generated code; each works on the operands at the top of `th`'s stack
//! exactly as the instruction does.

use super::error::raise;
use super::messages;
use super::{Thread, Trap, Vm};
use crate::bytecode::opcode::Capture;
use crate::heap::oom::try_reserve_exact;
use crate::heap::{map_set, new_array, new_class, new_string, out_of_memory, retry_after_collecting};
use crate::object::*;
use crate::value::{Comparison, Value};

/// `a + b` when not both numbers: concatenates two strings or raises.
pub fn add(vm: &mut Vm, th: &mut Thread) -> Result<(), Trap> {
    let (a, b) = (th.peek(1), th.peek(0));
    if let (Some(x), Some(y)) = (a.as_kind::<ObjString>(ObjKind::String), b.as_kind::<ObjString>(ObjKind::String)) {
        // SAFETY: both strings are on the stack (rooted) until replaced.
        let (x, y) = unsafe { ((*x).bytes(), (*y).bytes()) };
        let mut joined = Vec::new();
        // Both lengths are those of allocated strings, so the sum fits.
        if try_reserve_exact(&mut joined, x.len() + y.len()).is_err() {
            retry_after_collecting(vm, th, |_| try_reserve_exact(&mut joined, x.len() + y.len()).ok())?;
        }
        joined.extend_from_slice(x);
        joined.extend_from_slice(y);
        let s = new_string(vm, th, &joined)?;
        th.pop();
        th.pop();
        th.push(Value::object(s as *mut Obj));
        return Ok(());
    }
    if a.is_number() && b.is_number() {
        th.pop();
        th.pop();
        th.push(Value::number(a.as_number() + b.as_number()));
        return Ok(());
    }
    Err(raise(th, messages::ADD_OPERANDS))
}

/// `a % b` (C's fmod) on the top two values, replacing them.
pub fn modulo(th: &mut Thread) -> Result<(), Trap> {
    let (a, b) = (th.peek(1), th.peek(0));
    if !(a.is_number() && b.is_number()) {
        return Err(numbers_error(th));
    }
    th.pop();
    th.pop();
    th.push(Value::number(a.as_number() % b.as_number()));
    Ok(())
}

/// `a > b` (and `<`, `>=`, `<=`) on the top two values, replacing them
/// with the result: numbers or two strings, as `Comparison` defines;
/// otherwise `Operands must be numbers.`. The interpreter and generated
/// code compare numbers inline and come here for everything else.
#[inline(never)]
pub fn compare(th: &mut Thread, comparison: Comparison) -> Result<(), Trap> {
    let (a, b) = (th.peek(1), th.peek(0));
    let result = if a.is_number() && b.is_number() {
        comparison.holds(a.as_number(), b.as_number())
    } else if let (Some(x), Some(y)) =
        (a.as_kind::<ObjString>(ObjKind::String), b.as_kind::<ObjString>(ObjKind::String))
    {
        // SAFETY: both strings are on the stack (rooted), and nothing here allocates.
        unsafe { comparison.holds_for_strings((*x).bytes(), (*y).bytes()) }
    } else {
        return Err(numbers_error(th));
    };
    th.pop();
    th.pop();
    th.push(Value::bool(result));
    Ok(())
}

pub fn numbers_error(th: &mut Thread) -> Trap {
    raise(th, messages::OPERANDS_NUMBERS)
}

pub fn number_error(th: &mut Thread) -> Trap {
    raise(th, messages::OPERAND_NUMBER)
}

/// Checks that `index` is an integer in `0..len` (indexing, and the
/// natives that take an index raise the same errors).
pub fn checked_index(th: &mut Thread, index: Value, len: usize) -> Result<usize, Trap> {
    if !index.is_number() {
        return Err(raise(th, messages::INDEX_NOT_NUMBER));
    }
    let n = index.as_number();
    if n.fract() != 0.0 || n.is_nan() {
        return Err(raise(th, messages::INDEX_NOT_INTEGER));
    }
    if n < 0.0 || n >= len as f64 {
        return Err(raise(th, messages::index_out_of_bounds(&crate::print::format_number(n), len)));
    }
    Ok(n as usize)
}

/// The key that `v` stands for in a map (`object::map::normalize_key`);
/// NaN is the runtime error.
#[inline]
pub fn map_key(th: &mut Thread, v: Value) -> Result<Value, Trap> {
    crate::object::map::normalize_key(v).ok_or_else(|| raise(th, messages::MAP_KEY_NAN))
}

/// `object[index]` with both on the stack; leaves the element (for a map,
/// the key's value or nil).
pub fn get_index(vm: &mut Vm, th: &mut Thread) -> Result<(), Trap> {
    let (object, index) = (th.peek(1), th.peek(0));
    let result = match object.obj_kind() {
        Some(ObjKind::Array) => {
            // SAFETY: the array is on the stack (rooted).
            let items = unsafe { (*(object.as_obj() as *mut ObjArray)).items() };
            let i = checked_index(th, index, items.len())?;
            items[i]
        }
        Some(ObjKind::String) => {
            // SAFETY: the string is on the stack (rooted).
            let bytes = unsafe { (*(object.as_obj() as *mut ObjString)).bytes() };
            let i = checked_index(th, index, bytes.len())?;
            let byte = [bytes[i]];
            Value::object(new_string(vm, th, &byte)? as *mut Obj)
        }
        Some(ObjKind::Map) => {
            let key = map_key(th, index)?;
            // SAFETY: the map is on the stack (rooted).
            unsafe { (*(object.as_obj() as *mut ObjMap)).get(key) }.unwrap_or(Value::NIL)
        }
        _ => return Err(raise(th, messages::NOT_INDEXABLE)),
    };
    th.pop();
    th.pop();
    th.push(result);
    Ok(())
}

/// `object[index] = value` with the three on the stack (an array or a
/// map); leaves the value. A new map key may allocate.
pub fn set_index(vm: &mut Vm, th: &mut Thread) -> Result<(), Trap> {
    let (object, index, value) = (th.peek(2), th.peek(1), th.peek(0));
    match object.obj_kind() {
        Some(ObjKind::Array) => {
            let array = object.as_obj() as *mut ObjArray;
            // SAFETY: the array is on the stack (rooted); the index is checked.
            unsafe {
                let len = (*array).len;
                let i = checked_index(th, index, len)?;
                *(*array).ptr.add(i) = value;
            }
        }
        Some(ObjKind::Map) => {
            let key = map_key(th, index)?;
            // The map, the key (or 0 for -0) and the value stay on the stack.
            map_set(vm, th, object.as_obj() as *mut ObjMap, key, value)?;
        }
        _ => return Err(raise(th, messages::NOT_INDEX_ASSIGNABLE)),
    }
    th.pop();
    th.pop();
    th.pop();
    th.push(value);
    Ok(())
}

/// Builds an array from the top `count` values, replacing them.
pub fn make_array(vm: &mut Vm, th: &mut Thread, count: usize) -> Result<(), Trap> {
    let mut items = Vec::new();
    if try_reserve_exact(&mut items, count).is_err() {
        retry_after_collecting(vm, th, |_| try_reserve_exact(&mut items, count).ok())?;
    }
    // SAFETY: the verifier guarantees `count` values on the stack.
    items.extend_from_slice(unsafe { std::slice::from_raw_parts(th.sp.sub(count), count) });
    let array = new_array(vm, th, items)?;
    // SAFETY: as above; the values were rooted until the array owned copies.
    th.sp = unsafe { th.sp.sub(count) };
    th.push(Value::object(array as *mut Obj));
    Ok(())
}

/// `print` of the value on top (popped).
pub fn print(th: &mut Thread) -> Result<(), Trap> {
    let v = th.peek(0);
    let mut out = Vec::with_capacity(32);
    if crate::print::try_write_value(&mut out, v, usize::MAX).is_err() || try_reserve_exact(&mut out, 1).is_err() {
        return Err(out_of_memory(th));
    }
    th.pop();
    out.push(b'\n');
    crate::output::write_stdout(&out);
    Ok(())
}

/// `class Name`: pushes a new class.
pub fn make_class(vm: &mut Vm, th: &mut Thread, name: *mut ObjString) -> Result<(), Trap> {
    let class = new_class(vm, th, name)?;
    th.push(Value::object(class as *mut Obj));
    Ok(())
}

/// `class B < A`: with the superclass and subclass on the stack, copies A's
/// methods into B and pops B.
pub fn inherit(th: &mut Thread) -> Result<(), Trap> {
    let Some(superclass) = th.peek(1).as_kind::<ObjClass>(ObjKind::Class) else {
        return Err(raise(th, messages::SUPERCLASS_NOT_CLASS));
    };
    let Some(subclass) = th.peek(0).as_kind::<ObjClass>(ObjKind::Class) else {
        return Err(raise(th, messages::SUBCLASS_NOT_CLASS));
    };
    // SAFETY: both classes are on the stack; a class statement is the only
    // writer of its method table, and it has not finished yet.
    unsafe {
        let methods: Vec<(*mut ObjString, Value)> = (*superclass).methods.iter().map(|(&k, &v)| (k, v)).collect();
        for (name, method) in methods {
            (*subclass).methods.insert(name, method);
        }
        (*subclass).initializer = (*superclass).initializer;
    }
    th.pop();
    Ok(())
}

/// With the class and a method closure on the stack, adds the method and pops it.
/// (Compiled code always has a class and a closure there; a hand-made
/// `.tvmc` file may not, which is a runtime error, not a crash.)
pub fn define_method(vm: &mut Vm, th: &mut Thread, name: *mut ObjString) -> Result<(), Trap> {
    let method = th.peek(0);
    let (Some(class), true) = (th.peek(1).as_kind::<ObjClass>(ObjKind::Class), method.is_kind(ObjKind::Closure)) else {
        return Err(raise(th, messages::BAD_METHOD));
    };
    // SAFETY: the class is on the stack and still being defined.
    unsafe {
        (*class).methods.insert(name, method);
        if name == vm.init_string {
            (*class).initializer = method;
        }
    }
    th.pop();
    Ok(())
}

/// `CLOSURE`: pushes a new closure of `target`, taking its captures from the
/// descriptors at `captures` (`is_local: u8, index: u32` each) out of the
/// frame at `base` or the enclosing closure's upvalues.
///
/// # Safety
/// `captures` must point at the verified descriptors of `target`'s
/// `CLOSURE` instruction; `base` and `enclosing` are the current frame's.
pub unsafe fn make_closure(
    vm: &mut Vm,
    th: &mut Thread,
    target: *mut ObjFunction,
    captures: *const u8,
    base: *mut Value,
    enclosing: *mut ObjClosure,
) -> Result<(), Trap> {
    let made = crate::heap::new_closure(vm, th, target)?;
    th.push(Value::object(made as *mut Obj));
    // SAFETY: guaranteed by the caller: `captures` holds the verified
    // descriptors; the new closure is rooted on the stack while captures
    // allocate upvalues.
    unsafe {
        let count = (*made).upvalue_count as usize;
        let descriptors = std::slice::from_raw_parts(captures, count * Capture::SIZE);
        let upvalues = ObjClosure::upvalues(made);
        for i in 0..count {
            let Some(capture) = Capture::read(descriptors, i * Capture::SIZE) else { continue };
            let up = if capture.is_local {
                super::upvalue::capture(vm, th, base.add(capture.index as usize))?
            } else {
                *ObjClosure::upvalues(enclosing).add(capture.index as usize)
            };
            *upvalues.add(i) = up;
        }
    }
    Ok(())
}
