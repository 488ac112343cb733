//! The layout of generated code that code outside the compiler relies on:
//! where a function's fast entry is. (The entry signatures are the VM's:
//! `vm::call::NativeEntry`, `vm::tier::OsrEntry`.)

/// Offset of the fast entry from the start of a function's code. Compiled
/// code calls compiled code there (vm and thread already in r12/r13, base in
/// rdx, closure in rcx); the start is the System V entry for Rust callers.
pub const FAST_ENTRY_OFFSET: usize = 32;
