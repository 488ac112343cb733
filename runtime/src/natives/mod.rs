//! The standard native functions, defined as globals at start-up.
//!
//! Each native checks its arguments and returns a value or raises a runtime
//! error; natives that block (stdin, files, `sleep`, `join`, monitor waits)
//! release the VM lock while they wait (see `sync`). Programs may shadow any
//! of them. A native takes a fixed number of arguments or a range of them
//! (`Native`, `ObjNative::takes`); the call checks the count before the
//! native runs, so `args` always has between `min` and `max` values.
//!
//! `core.rs`, `io.rs` and `maps.rs` hold the first natives (a table of exact
//! arities, `NATIVES`); each later theme has its own file and table of
//! `Native`s: `strings.rs`, `arrays.rs`, `math.rs`, `files.rs` (files, the
//! environment, the time) and `bits.rs` (the bitwise operations, which
//! generated code may compute inline: `Intrinsic`).

mod args;
mod arrays;
mod bits;
mod core;
mod files;
mod io;
mod maps;
mod math;
mod strings;

pub use core::{parse_number, start_clock};

use crate::heap::{new_native, new_string};
use crate::object::{Intrinsic, NativeFn, Obj};
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
    // `join` (of a thread, or of an array's elements) is in `strings.rs`.
    ("wait", 1, crate::sync::monitor::wait_native),
    ("notify", 1, crate::sync::monitor::notify_native),
    ("notifyAll", 1, crate::sync::monitor::notify_all_native),
    ("load", 1, crate::vm::loader::load_native),
    (PRINT_STACK_TRACE, 0, io::print_stack_trace),
    // Aliases the classic dialect uses, out of reach of programs.
    ("$str", 1, core::str),
    ("$sleep", 1, io::sleep),
];

/// A native's definition: its global name, how many arguments it takes,
/// its function, and the operation generated code may inline for it.
pub struct Native {
    pub name: &'static str,
    pub min: u8,
    pub max: u8,
    pub function: NativeFn,
    pub intrinsic: Intrinsic,
}

impl Native {
    /// A native taking exactly `arity` arguments.
    pub const fn fixed(name: &'static str, arity: u8, function: NativeFn) -> Native {
        Native { name, min: arity, max: arity, function, intrinsic: Intrinsic::None }
    }

    /// A native taking `min` to `max` arguments (the rest are optional).
    pub const fn optional(name: &'static str, min: u8, max: u8, function: NativeFn) -> Native {
        Native { name, min, max, function, intrinsic: Intrinsic::None }
    }

    /// A native that generated code computes inline (`Intrinsic`), taking
    /// the intrinsic's number of arguments.
    pub const fn intrinsic(name: &'static str, arity: u8, function: NativeFn, intrinsic: Intrinsic) -> Native {
        Native { name, min: arity, max: arity, function, intrinsic }
    }
}

/// The natives of each theme, after `NATIVES`.
const THEMES: &[&[Native]] = &[strings::NATIVES, arrays::NATIVES, math::NATIVES, files::NATIVES, bits::NATIVES];

/// The intrinsic of the native named `name` (`Intrinsic::None` for other
/// names). The lowering asks this for the name of a called global, as a
/// hint: generated code still checks that the callee is that native.
pub fn intrinsic_named(name: &[u8]) -> Intrinsic {
    let bitwise = || bits::NATIVES.iter().find(|n| n.name.as_bytes() == name).map(|n| n.intrinsic);
    core_intrinsic(name).or_else(bitwise).unwrap_or(Intrinsic::None)
}

/// The operation of the `NATIVES` entry named `name`, if it has one.
fn core_intrinsic(name: &[u8]) -> Option<Intrinsic> {
    CORE_INTRINSICS.iter().find(|n| n.0.as_bytes() == name).map(|n| n.1)
}

/// The natives of `NATIVES` that generated code may compute in place.
const CORE_INTRINSICS: &[(&str, Intrinsic)] =
    &[("len", Intrinsic::Len), ("push", Intrinsic::Push), ("sqrt", Intrinsic::Sqrt)];

/// Defines every native as a global (`Err`: out of memory).
pub fn define_all(vm: &mut Vm, th: &mut Thread) -> Result<(), Trap> {
    for &(name, arity, function) in NATIVES {
        let intrinsic = core_intrinsic(name.as_bytes()).unwrap_or(Intrinsic::None);
        define(vm, th, &Native { intrinsic, ..Native::fixed(name, arity, function) })?;
    }
    for native in THEMES.iter().flat_map(|theme| theme.iter()) {
        define(vm, th, native)?;
    }
    Ok(())
}

/// The names of all natives (the compiler counts them as defined globals
/// for its warnings).
pub fn names() -> impl Iterator<Item = &'static str> {
    NATIVES.iter().map(|n| n.0).chain(THEMES.iter().flat_map(|theme| theme.iter().map(|n| n.name)))
}

fn define(vm: &mut Vm, th: &mut Thread, native: &Native) -> Result<(), Trap> {
    let name_string = new_string(vm, th, native.name.as_bytes())?;
    th.push(Value::object(name_string as *mut Obj));
    let object = new_native(vm, th, native.name, (native.min, native.max), native.function, native.intrinsic);
    th.pop();
    vm.globals.define(name_string, Value::object(object? as *mut Obj));
    Ok(())
}
