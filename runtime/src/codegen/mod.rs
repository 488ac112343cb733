//! Native code: the x86-64 lowering of bytecode (shared by the AOT compiler
//! and the JIT) and the JIT's executable memory.

pub mod jit;
