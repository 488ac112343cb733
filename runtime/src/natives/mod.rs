//! The standard native functions, defined as globals at start-up.
//!
//! Each native checks its arguments and returns a value or raises a runtime
//! error; natives that block (stdin, `sleep`, `join`, monitor waits) release
//! the VM lock while they wait (see `sync`). Programs may shadow any of them.

mod core;
mod io;
mod maps;

pub use core::{parse_number, start_clock};

use crate::heap::{new_native, new_string};
use crate::object::{NativeFn, Obj};
use crate::value::Value;
use crate::vm::{Thread, Trap, Vm};

/// Name of the native behind the classic dialect's `print_stack_trace`;
/// not a valid identifier, so programs cannot shadow or call it by name.
pub const PRINT_STACK_TRACE: &str = "$print_stack_trace";

const NATIVES: &[(&str, u8, NativeFn)] = &[
    ("clock", 0, core::clock),
    ("len", 1, core::len),
    ("push", 2, core::push),
    ("pop", 1, core::pop),
    ("str", 1, core::str),
    ("num", 1, core::num),
    ("chr", 1, core::chr),
    ("ord", 1, core::ord),
    ("sqrt", 1, core::sqrt),
    ("floor", 1, core::floor),
    ("Map", 0, maps::map),
    ("has", 2, maps::has),
    ("keys", 1, maps::keys),
    ("values", 1, maps::values),
    ("remove", 2, maps::remove),
    ("getc", 0, io::getc),
    ("readLine", 0, io::read_line),
    ("print_error", 1, io::print_error),
    ("exit", 1, io::exit),
    ("args", 0, io::args),
    ("sleep", 1, io::sleep),
    ("join", 1, crate::sync::threads::join_native),
    ("wait", 1, crate::sync::monitor::wait_native),
    ("notify", 1, crate::sync::monitor::notify_native),
    ("notifyAll", 1, crate::sync::monitor::notify_all_native),
    ("load", 1, crate::vm::loader::load_native),
    (PRINT_STACK_TRACE, 0, io::print_stack_trace),
    // Aliases the classic dialect uses, out of reach of programs.
    ("$str", 1, core::str),
    ("$sleep", 1, io::sleep),
];

/// Defines every native as a global (`Err`: out of memory).
pub fn define_all(vm: &mut Vm, th: &mut Thread) -> Result<(), Trap> {
    for &(name, arity, function) in NATIVES {
        let name_string = new_string(vm, th, name.as_bytes())?;
        th.push(Value::object(name_string as *mut Obj));
        let native = new_native(vm, th, name, arity, function);
        th.pop();
        vm.globals.define(name_string, Value::object(native? as *mut Obj));
    }
    Ok(())
}

/// The names of all natives (the compiler counts them as defined globals
/// for its warnings).
pub fn names() -> impl Iterator<Item = &'static str> {
    NATIVES.iter().map(|n| n.0)
}
