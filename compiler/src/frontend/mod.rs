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

/// Stack for the recursive front end: enough for `parser::MAX_NESTING`
/// levels of nesting in parsing, emission and dropping the tree.
const FRONT_END_STACK: usize = 256 << 20;

/// Compiles source text to a bytecode module, or returns every error.
/// Runs on a thread of its own with a large stack, since parsing deeply
/// nested code recurses.
pub fn compile(source: &str, source_name: &str) -> Result<Module, Vec<Diagnostic>> {
    let work = || {
        let program = if classic::is_classic(source) { classic::parse(source)? } else { parser::parse(source)? };
        Ok(crate::emit::generate(&program, source_name))
    };
    std::thread::scope(|scope| {
        match std::thread::Builder::new().stack_size(FRONT_END_STACK).spawn_scoped(scope, work) {
            Ok(handle) => handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            // No thread available: compile here (only very deep nesting needs the stack).
            Err(_) => work(),
        }
    })
}
