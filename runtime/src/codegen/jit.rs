//! The JIT: deciding when to compile, and owning compiled code.
//!
//! Until the lowering exists every function stays interpreted; these hooks
//! count and report.

use crate::object::ObjFunction;
use crate::vm::{Thread, Vm};

/// JIT counters for the statistics.
#[derive(Default, Clone, Copy)]
pub struct JitStats {
    pub compiled: u64,
    pub code_bytes: u64,
    pub compile_ns: u64,
    pub native_functions: u64,
}

impl JitStats {
    /// Functions that ran in the interpreter.
    pub fn interpreted_functions(&self, _vm: &Vm) -> u64 {
        0
    }
}

pub fn stats() -> JitStats {
    JitStats::default()
}

/// Whether the interpreter should hand this call to `call::call_closure`
/// (which compiles hot functions).
#[inline(always)]
pub fn wants(_vm: &Vm, _function: *mut ObjFunction) -> bool {
    false
}

/// An interpreted call of `function` is about to start.
#[inline(always)]
pub fn note_call(_vm: &mut Vm, _th: &mut Thread, _function: *mut ObjFunction) {}

/// A loop back-edge in `function`.
#[inline(always)]
pub fn note_loop(_vm: &mut Vm, _function: *mut ObjFunction) {}

/// Frees the machine code of a collected function.
pub fn release_function_code(_function: *mut ObjFunction) {}
