//! The layout of generated code that code outside the compiler relies on:
//! where a function's fast entry is, and the symbols that name its parts.
//! (The entry signatures are the VM's: `vm::call::NativeEntry`,
//! `vm::tier::OsrEntry`.)

/// Offset of the fast entry from the start of a function's code. Compiled
/// code calls compiled code there (vm and thread already in r12/r13, base in
/// rdx, closure in rcx); the start is the System V entry for Rust callers.
pub const FAST_ENTRY_OFFSET: usize = 32;

/// What the symbol of a function's System V entry stub adds to its name
/// (no TinyVM name holds a `$`).
pub const STUB_SYMBOL_SUFFIX: &str = "$entry";

/// A symbol of a function's code: `name` covers `size` bytes from `offset`.
pub struct CodeSymbol {
    pub name: Vec<u8>,
    pub offset: u64,
    pub size: u64,
}

/// The two symbols of a compiled function `name` of `len` bytes: the stub
/// (`fib$entry`, from the start to the fast entry) and the function itself
/// (`fib`, from the fast entry on), so that a breakpoint on `fib` without
/// debug information (which goes at the symbol) stops at every call,
/// however it enters, and profilers name the body as the program does.
pub fn code_symbols(name: &str, len: u64) -> [CodeSymbol; 2] {
    let name = super::debuginfo::dwarf_string(name);
    let fast = (FAST_ENTRY_OFFSET as u64).min(len);
    let mut stub = name.clone();
    stub.extend_from_slice(STUB_SYMBOL_SUFFIX.as_bytes());
    [CodeSymbol { name: stub, offset: 0, size: fast }, CodeSymbol { name, offset: fast, size: len - fast }]
}
