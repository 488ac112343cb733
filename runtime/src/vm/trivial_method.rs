//! Trivial methods: methods whose whole effect is their result, which is
//! known without running them. Their body is one `return` of `this`, of a
//! field of `this` that the receiver's shape has, or of a constant number,
//! `nil`, `true` or `false` (an empty body returns nil):
//!
//! ```text
//! GET_LOCAL 0; RETURN                      this
//! GET_LOCAL 0; GET_PROPERTY k; RETURN      this.k (a field in the shape)
//! NIL | TRUE | FALSE | CONSTANT k; RETURN  a constant
//! ```
//!
//! `INVOKE` records the description in its inline cache; compiled code then
//! produces the result in place of the call (after the overflow checks the
//! call would make, and counting the call), so `a.getter()` costs no more
//! than `a.field`. None of these bodies can raise, allocate, call or loop,
//! so skipping the call changes nothing else the program can observe. The
//! interpreter ignores the description and always calls.

use crate::bytecode::opcode::{decode_fixed, Op};
use crate::object::*;
use crate::value::Value;

/// How compiled code can produce the result of calling `method` with
/// `argc` arguments on a receiver of shape `shape` without the call.
pub fn describe(method: *mut ObjClosure, shape: *mut ObjShape, argc: usize) -> Trivial {
    // SAFETY: the method and its function are live (the class holds them).
    let function = unsafe { &*(*method).function };
    if function.arity as usize != argc || argc != 0 {
        return Trivial::NONE;
    }
    let Some((kind, operand)) = result_of(function, shape) else {
        return Trivial::NONE;
    };
    let stack_bytes = (function.max_stack + 1) * std::mem::size_of::<Value>() as u32;
    Trivial { kind, stack_bytes, operand }
}

/// The kind and operand of the function's result, when its body is one of
/// the trivial forms.
fn result_of(function: &ObjFunction, shape: *mut ObjShape) -> Option<(u32, u64)> {
    let code = &function.proto.code;
    let first = decode_fixed(code, 0)?;
    let second = decode_fixed(code, first.size)?;
    let returns_next = |at: usize| decode_fixed(code, at).is_some_and(|i| i.op == Op::Return);
    match (first.op, second.op) {
        (Op::GetLocal, Op::Return) if first.args[0] == 0 => Some((TRIVIAL_THIS, 0)),
        (Op::GetLocal, Op::GetProperty) if first.args[0] == 0 && returns_next(first.size + second.size) => {
            let name = function.constant_values.get(second.args[0] as usize)?.as_obj() as *mut ObjString;
            let index = ObjShape::lookup(shape, name)?;
            Some((TRIVIAL_FIELD, index as u64))
        }
        (Op::Nil, Op::Return) => Some((TRIVIAL_CONSTANT, Value::NIL.0)),
        (Op::True, Op::Return) => Some((TRIVIAL_CONSTANT, Value::TRUE.0)),
        (Op::False, Op::Return) => Some((TRIVIAL_CONSTANT, Value::FALSE.0)),
        (Op::Constant, Op::Return) => {
            let value = *function.constant_values.get(first.args[0] as usize)?;
            value.is_number().then_some((TRIVIAL_CONSTANT, value.0))
        }
        _ => None,
    }
}
