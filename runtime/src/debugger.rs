//! What debuggers read from a running program: the VM's address under a
//! fixed, unmangled symbol (`tvm_debug_vm`). From it the gdb script
//! (`compiler/src/aot/gdb/tinyvm_gdb.py`, whose `$global("name")` looks a
//! global up by name) reaches the globals through the offsets
//! `object::layout::for_debugger` gives it. Also in core files.

use crate::vm::Vm;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The program's VM (one per process), or null before it exists.
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static tvm_debug_vm: AtomicPtr<Vm> = AtomicPtr::new(std::ptr::null_mut());

/// Makes `vm` the VM debuggers find.
pub fn set_vm(vm: *mut Vm) {
    tvm_debug_vm.store(vm, Ordering::Release);
}
