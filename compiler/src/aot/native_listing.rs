//! `tinyvm disasm --native`: a function's machine code as iced-x86's
//! formatter prints it, annotated with the bytecode instruction each piece
//! belongs to and the names of the runtime helpers it calls.

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};
use std::collections::HashMap;
use std::fmt::Write;
use tinyvm_runtime::bytecode::opcode::decode_fixed;
use tinyvm_runtime::codegen::lower::LoweredFunction;

/// The annotated listing of one lowered function.
pub fn native_listing(bytecode: &[u8], lowered: &LoweredFunction) -> String {
    // Several bytecode instructions may start at one address (some emit no code).
    let mut starts: HashMap<u32, Vec<(u32, &str)>> = HashMap::new();
    for &(native, offset) in &lowered.lines {
        starts.entry(native).or_default().push((offset, ""));
    }
    for &(native, offset) in &lowered.slow_lines {
        starts.entry(native).or_default().push((offset, " (slow path)"));
    }
    // Bytecode offsets that start an instruction, sorted for binary search.
    let mut instruction_starts: Vec<u32> = lowered.lines.iter().map(|&(_, offset)| offset).collect();
    instruction_starts.sort_unstable();
    let helpers: HashMap<u32, &str> = lowered.helper_calls.iter().map(|c| (c.offset - 1, c.helper.symbol())).collect();
    let mut decoder = Decoder::with_ip(64, &lowered.code, 0, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    formatter.options_mut().set_first_operand_char_index(8);
    let mut out = String::new();
    let mut instruction = Instruction::default();
    let mut text = String::new();
    let _ = writeln!(out, "  native code: {} bytes", lowered.code.len());
    while decoder.can_decode() {
        decoder.decode_out(&mut instruction);
        let ip = instruction.ip() as u32;
        for &(offset, note) in starts.get(&ip).into_iter().flatten() {
            // Slow paths record an offset inside their instruction; show its start.
            let below = instruction_starts.partition_point(|&o| o <= offset);
            let start = if below == 0 { offset } else { instruction_starts[below - 1] };
            let name = decode_fixed(bytecode, start as usize).map(|i| i.op.mnemonic()).unwrap_or("?");
            let _ = writeln!(out, "  ; {:>5}  {}{}", start, name, note);
        }
        text.clear();
        match helpers.get(&ip) {
            Some(symbol) => text.push_str(&format!("call    {}", symbol)),
            None => formatter.format(&instruction, &mut text),
        }
        let bytes: String =
            lowered.code[ip as usize..ip as usize + instruction.len()].iter().map(|b| format!("{:02x}", b)).collect();
        let _ = writeln!(out, "    {:06x}  {:<24} {}", ip, bytes, text);
    }
    out
}
