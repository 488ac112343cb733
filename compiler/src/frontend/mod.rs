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
    let (texts, result) = compile_with(source, source_name, read, false);
    (texts, result.map(|(compiled, _)| compiled))
}

/// Compiles a line typed at the REPL as `compile_program` compiles a
/// program, except that when its last statement is an expression
/// statement, the script returns that expression's value (which the REPL
/// prints); the `bool` says whether it does.
pub fn compile_repl_line(source: &[u8], source_name: &str) -> CompileResult {
    compile_with(source, source_name, &mut program::read_from_disk, true)
}

/// The texts of a program's files, and its module (with whether the script
/// returns its last expression's value) or every error.
pub type CompileResult = (Vec<program::SourceText>, Result<(Compiled, bool), Vec<Diagnostic>>);

fn compile_with(source: &[u8], source_name: &str, read: program::ReadFile, echo: bool) -> CompileResult {
    let work = || {
        let (texts, parsed) = program::parse_program(source_name, source, read);
        let compiled = parsed.map(|mut p| {
            let echoes = echo && return_last_expression(&mut p.program);
            (Compiled { module: crate::emit::generate(&p.program), warnings: p.warnings }, echoes)
        });
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

/// Turns the main script's last statement, when it is an expression
/// statement, into a `return` of its value; whether it did.
fn return_last_expression(program: &mut ast::Program) -> bool {
    let body = &mut program.files[0].script.body;
    match body.pop() {
        Some(ast::Stmt::Expr(value, line)) => {
            body.push(ast::Stmt::Return { value: Some(value), locks: Vec::new(), line });
            true
        }
        Some(other) => {
            body.push(other);
            false
        }
        None => false,
    }
}
