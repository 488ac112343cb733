//! The TinyVM runtime: values, heap and GC, bytecode and its verifier, the
//! interpreter, threads and monitors, natives, and native code support.
//!
//! Built both as an rlib (linked into the `tinyvm` tool) and as a static
//! archive (linked into every executable `tinyvm build` produces).

#![warn(clippy::undocumented_unsafe_blocks)]
// Heap objects are handled through raw pointers managed by the GC: a pointer
// that program values can reach is valid by the collector's invariant, not
// by a promise of each caller. Functions taking them are therefore not
// `unsafe fn`; each dereference still sits in an `unsafe` block that says
// why it holds.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod bytecode;
pub mod codegen;
pub mod debugger;
pub mod heap;
pub mod natives;
pub mod number;
pub mod object;
pub mod output;
pub mod print;
pub mod program;
pub mod signals;
pub mod stats;
pub mod sync;
pub mod value;
pub mod vm;

pub use value::Value;
