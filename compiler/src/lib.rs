//! The TinyVM compiler library: front ends (source to syntax tree) and
//! bytecode emission, plus native-code output for `tinyvm build`.
//!
//! The `tinyvm` binary (`main.rs`) is a thin command-line layer over this
//! library; fuzz targets and tests use the library directly.

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod aot;
pub mod emit;
pub mod forked;
pub mod frontend;

/// Compiles source text to a bytecode module, or returns every diagnostic.
pub use frontend::compile;
