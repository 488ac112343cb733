//! The bytecode listing of `tinyvm disasm` (in the spirit of `javap -c`).
//!
//! For each function: a header (name, source, arity, upvalues, stack depth,
//! constants), then one line per instruction with its offset, source line,
//! mnemonic and operands, and a comment resolving them (constant values,
//! global and local names, jump targets, closure captures). Works on a
//! verified module; the caller may append native code per function.

use super::module::{Constant, FunctionKind, FunctionProto, Module};
use super::opcode::{Instruction, Op, Operand};
use super::walk::instructions;
use std::fmt::Write;

/// Lists one function; `max_stack` comes from the verifier.
pub fn disassemble_function(module: &Module, index: usize, max_stack: u32) -> String {
    let f = &module.functions[index];
    let mut out = String::new();
    let kind = match f.kind {
        FunctionKind::Script => "script",
        FunctionKind::FileScript => "script",
        FunctionKind::Function => "function",
        FunctionKind::Method => "method",
        FunctionKind::Initializer => "initializer",
    };
    let _ = writeln!(out, "{} {} ({}:{})", kind, f.name, module.source_of(index), f.line);
    let _ = writeln!(
        out,
        "  arity {}, upvalues {}, max stack {}, constants {}, caches {}",
        f.arity,
        f.upvalue_count,
        max_stack,
        f.constants.len(),
        f.cache_count
    );
    let _ = writeln!(out, "  offset  line  instruction");
    let mut last_line = 0;
    for ins in instructions(module, index) {
        let line = f.line_at(ins.offset);
        let line_text = if line == last_line { "|".to_string() } else { line.to_string() };
        last_line = line;
        let (operands, comment) = describe(module, index, &ins);
        let mut text = format!("  {:>6}  {:>4}  {:<16}{}", ins.offset, line_text, ins.op.mnemonic(), operands);
        if !comment.is_empty() {
            while text.len() < 48 {
                text.push(' ');
            }
            text.push_str(" // ");
            text.push_str(&comment);
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// Lists every function of a module.
pub fn disassemble(module: &Module, max_stack: &[u32]) -> String {
    let mut out = String::new();
    for index in 0..module.functions.len() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&disassemble_function(module, index, max_stack.get(index).copied().unwrap_or(0)));
    }
    out
}

fn constant_text(module: &Module, c: &Constant) -> String {
    match c {
        Constant::Number(n) => crate::number::format_number(*n),
        Constant::String(s) => format!("{:?}", String::from_utf8_lossy(s)),
        Constant::Function(i) => format!("<fn {}>", module.functions[*i as usize].name),
    }
}

fn local_name(f: &FunctionProto, slot: u32, offset: usize) -> Option<&str> {
    f.locals
        .iter()
        .filter(|l| l.slot == slot && (l.start as usize) <= offset + 1 && offset < l.end as usize)
        .map(|l| l.name.as_str())
        .next_back()
}

fn describe(module: &Module, index: usize, ins: &Instruction) -> (String, String) {
    let f = &module.functions[index];
    let mut operands = Vec::new();
    let mut comments = Vec::new();
    for (operand, &value) in ins.op.operands().iter().zip(&ins.args) {
        match operand {
            Operand::Const(_) => {
                operands.push(format!("#{}", value));
                if let Some(c) = f.constants.get(value as usize) {
                    comments.push(constant_text(module, c));
                }
            }
            Operand::Global => {
                operands.push(format!("@{}", value));
                if let Some(name) = module.globals.get(value as usize) {
                    comments.push(name.clone());
                }
            }
            Operand::Local => {
                operands.push(format!("%{}", value));
                match local_name(f, value as u32, ins.offset) {
                    Some(name) => comments.push(name.to_string()),
                    None if value == 0 && matches!(f.kind, FunctionKind::Method | FunctionKind::Initializer) => {
                        comments.push("this".into())
                    }
                    None => {}
                }
            }
            Operand::Upvalue => operands.push(format!("^{}", value)),
            Operand::Cache => operands.push(format!("ic{}", value)),
            Operand::JumpForward | Operand::JumpBack => {
                operands.push(format!("{:+}", value));
                comments.push(format!("-> {}", ins.jump_target()));
            }
            Operand::Argc => operands.push(format!("({} args)", value)),
            Operand::Count => operands.push(format!("{}", value)),
        }
    }
    if ins.op == Op::Closure {
        let captures: Vec<String> = ins
            .captures(&f.code)
            .flatten()
            .map(|c| if c.is_local { format!("local %{}", c.index) } else { format!("upvalue ^{}", c.index) })
            .collect();
        if !captures.is_empty() {
            comments.push(format!("captures {}", captures.join(", ")));
        }
    }
    (operands.join(" "), comments.join(", "))
}
