//! Iterating over the instructions of a verified module's function.
//!
//! Used by the loader, the disassembler and tests. Only call it on code
//! that passed `verify_module`: it trusts operands and sizes.

use super::module::{Constant, Module};
use super::opcode::{decode, Instruction};

/// The upvalue count of function constant `k` of function `index`.
pub fn capture_count(module: &Module, index: usize, k: u32) -> Option<u32> {
    match module.functions[index].constants.get(k as usize) {
        Some(Constant::Function(target)) => module.functions.get(*target as usize).map(|f| f.upvalue_count),
        _ => None,
    }
}

/// The instructions of function `index`, each with its trailing data.
pub fn instructions(module: &Module, index: usize) -> impl Iterator<Item = Instruction> + '_ {
    let code = &module.functions[index].code;
    let mut offset = 0;
    std::iter::from_fn(move || {
        let ins = decode(code, offset, &|k| capture_count(module, index, k))?;
        offset += ins.size;
        Some(ins)
    })
}
