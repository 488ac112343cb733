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
pub mod program;
pub mod token;
pub mod warnings;

use diagnostic::Diagnostic;
use tinyvm_runtime::bytecode::Module;

/// Stack for the recursive front end: enough for `parser::MAX_NESTING`
/// levels of nesting in parsing, emission and dropping the tree (every
/// kind of nesting at 10,000 levels compiles with 16 MB, not with 4 MB;
/// this leaves a margin of four while staying reservable in small
/// address spaces).
const FRONT_END_STACK: usize = 64 << 20;

/// Compiles source text (and the files it imports, read from disk) to a
/// bytecode module, or returns every error. See `compile_program`.
pub fn compile(source: &[u8], source_name: &str) -> Result<Module, Vec<Diagnostic>> {
    compile_program(source, source_name, &mut program::read_from_disk).1.map(|c| c.module)
}

/// A compiled program and its warnings.
pub struct Compiled {
    pub module: Module,
    pub warnings: Vec<Diagnostic>,
}

/// Compiles a program: the main file's text `source`, named `source_name`,
/// and the files it imports, read with `read`. Returns the texts of every
/// file (to render diagnostics) and the module or every error. Runs on a
/// thread of its own with a large stack, since parsing deeply nested code
/// recurses. The source is bytes: string literals and comments may hold
/// any (as in clox); elsewhere only ASCII means something.
pub fn compile_program(
    source: &[u8],
    source_name: &str,
    read: program::ReadFile,
) -> (Vec<program::SourceText>, Result<Compiled, Vec<Diagnostic>>) {
    let work = || {
        let (texts, parsed) = program::parse_program(source_name, source, read);
        let compiled = parsed.map(|p| Compiled { module: crate::emit::generate(&p.program), warnings: p.warnings });
        (texts, compiled)
    };
    std::thread::scope(|scope| {
        match std::thread::Builder::new().stack_size(FRONT_END_STACK).spawn_scoped(scope, work) {
            Ok(handle) => handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            // Compiling on this thread instead could overflow its stack on
            // deeply nested code: a crash. Say what failed instead.
            Err(e) => {
                let text = tinyvm_runtime::output::io_error_text(&e);
                tinyvm_runtime::output::write_stderr(
                    format!(
                        "error: cannot start the compiler's thread ({} MB of stack): {text}\n",
                        FRONT_END_STACK >> 20
                    )
                    .as_bytes(),
                );
                std::process::exit(tinyvm_runtime::program::EXIT_RUNTIME)
            }
        }
    })
}
