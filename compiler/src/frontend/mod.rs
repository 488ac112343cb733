//! Front ends: source text to a resolved syntax tree.
//!
//! The Lox-based language goes through `lexer` and `parser`; files in the
//! classic dialect (detected by `classic::is_classic`) through `classic`.
//! Both produce the same `ast`, which `emit` turns into bytecode.

pub mod ast;
pub mod classic;
pub mod diagnostic;
pub mod lexer;
pub mod parser;
pub mod token;

use diagnostic::Diagnostic;
use tinyvm_runtime::bytecode::Module;

/// Compiles source text to a bytecode module, or returns every error.
pub fn compile(source: &str, source_name: &str) -> Result<Module, Vec<Diagnostic>> {
    let program = if classic::is_classic(source) { classic::parse(source)? } else { parser::parse(source)? };
    Ok(crate::emit::generate(&program, source_name))
}
