//! The TinyVM runtime: values, heap and GC, bytecode and its verifier, the
//! interpreter, threads and monitors, natives, and native code support.
//!
//! Built both as an rlib (linked into the `tinyvm` tool) and as a static
//! archive (linked into every executable `tinyvm build` produces).

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod bytecode;
pub mod codegen;
pub mod heap;
pub mod natives;
pub mod object;
pub mod output;
pub mod print;
pub mod program;
pub mod stats;
pub mod sync;
pub mod value;
pub mod vm;

pub use value::Value;
