//! Iterating over the instructions of verified code.
//!
//! Used by the loader, the disassembler and the x86-64 lowering. Only call it
//! on code that passed `verify_module`: it trusts operands and sizes.

use super::module::{Constant, Module};
use super::opcode::{decode_fixed, read_u32, Instruction, Op, UPVALUE_DESCRIPTOR_SIZE};

/// One capture of a `Closure` instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    pub is_local: bool,
    pub index: u32,
}

/// The captures listed after the `Closure` instruction `ins` of function `index`.
pub fn closure_captures(module: &Module, index: usize, ins: &Instruction) -> Vec<Capture> {
    let f = &module.functions[index];
    let count = match &f.constants[ins.args[0] as usize] {
        Constant::Function(target) => module.functions[*target as usize].upvalue_count as usize,
        _ => 0,
    };
    let start = ins.offset + ins.size - count * UPVALUE_DESCRIPTOR_SIZE;
    (0..count)
        .map(|i| {
            let at = start + i * UPVALUE_DESCRIPTOR_SIZE;
            Capture { is_local: f.code[at] == 1, index: read_u32(&f.code, at + 1) }
        })
        .collect()
}

/// The instructions of function `index`, with `size` covering closure captures.
pub fn instructions(module: &Module, index: usize) -> impl Iterator<Item = Instruction> + '_ {
    let f = &module.functions[index];
    let mut offset = 0;
    std::iter::from_fn(move || {
        if offset >= f.code.len() {
            return None;
        }
        let mut ins = decode_fixed(&f.code, offset)?;
        if ins.op == Op::Closure {
            if let Some(Constant::Function(target)) = f.constants.get(ins.args[0] as usize) {
                ins.size += module.functions[*target as usize].upvalue_count as usize * UPVALUE_DESCRIPTOR_SIZE;
            }
        }
        offset += ins.size;
        Some(ins)
    })
}
