//! Native code: the x86-64 lowering of bytecode (`lower`), shared by the AOT
//! compiler and the JIT, the runtime helpers that generated code calls
//! (`helpers`), the JIT's policy and executable memory (`jit`), with
//! what it tells debuggers and profilers (`debuginfo`, `gdb_jit`,
//! `perf_map`), and the optimizing tier (`opt`).

pub mod abi;
pub mod debuginfo;
pub mod executable_memory;
pub mod gdb_jit;
pub mod helpers;
pub mod jit;
pub mod lower;
pub mod opt;
pub mod perf_map;
