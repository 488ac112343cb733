//! The subcommands, and loading their input (source or bytecode).

pub mod build;
pub mod check;
pub mod compile;
pub mod disasm;
pub mod gdb;
pub mod run;

use std::path::Path;
use tinyvm::frontend::{self, diagnostic::ErrorFormat};
use tinyvm_runtime::bytecode::{tvmc, Module};
use tinyvm_runtime::program::{EXIT_COMPILE, EXIT_IO};

/// A failed command: the message to print (already formatted) and the status.
pub struct Failure {
    pub message: String,
    pub status: i32,
}

impl Failure {
    pub fn io(message: String) -> Failure {
        Failure { message: format!("error: {}\n", message), status: EXIT_IO }
    }

    /// Prints the message and returns the status.
    pub fn report(self) -> i32 {
        tinyvm_runtime::output::write_stderr(self.message.as_bytes());
        self.status
    }
}

/// Reads a file, turning every failure into a clear I/O error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    if path.is_dir() {
        return Err(Failure::io(format!("cannot read '{}': it is a directory", path.display())));
    }
    std::fs::read(path).map_err(|e| {
        Failure::io(format!("cannot read '{}': {}", path.display(), tinyvm_runtime::output::io_error_text(&e)))
    })
}

/// Refuses to write `output` over the input file (as gcc does): that would
/// destroy the source.
pub fn refuse_overwriting_input(input: &Path, output: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(input), std::fs::metadata(output)) {
        (Ok(i), Ok(o)) if i.dev() == o.dev() && i.ino() == o.ino() => {
            Err(Failure::io(format!("output file '{}' is the same as the input file", output.display())))
        }
        _ => Ok(()),
    }
}

/// Whether a command shows the program's warnings.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Warnings {
    /// `build`, `compile`, `check`: in the human format (never in the short one).
    Show,
    /// `run`, `disasm`.
    Hide,
}

/// Compiles a source file to a module, rendering compile errors, and
/// printing its warnings when asked (human format only).
pub fn compile_source(path: &Path, bytes: Vec<u8>, format: ErrorFormat, warnings: Warnings) -> Result<Module, Failure> {
    let name = path.display().to_string();
    let (texts, result) = frontend::compile_program(&bytes, &name, &mut frontend::program::read_from_disk);
    let compiled = result.map_err(|diagnostics| Failure {
        message: frontend::diagnostic::render(&diagnostics, &texts, format),
        status: EXIT_COMPILE,
    })?;
    if warnings == Warnings::Show && format == ErrorFormat::Human && !compiled.warnings.is_empty() {
        let text = frontend::diagnostic::render_warnings(&compiled.warnings, &texts);
        tinyvm_runtime::output::write_stderr(text.as_bytes());
    }
    Ok(compiled.module)
}

/// Loads a program: `.tvmc` bytecode (by its magic number) or source text.
pub fn load_program(path: &Path, format: ErrorFormat) -> Result<Module, Failure> {
    let bytes = read_file(path)?;
    let is_bytecode_name = path.extension().is_some_and(|e| e == "tvmc");
    if tvmc::looks_like_tvmc(&bytes) || is_bytecode_name {
        return tvmc::decode(&bytes).map_err(|e| invalid_bytecode(path, &e.to_string()));
    }
    compile_source(path, bytes, format, Warnings::Hide)
}

pub fn invalid_bytecode(path: &Path, reason: &str) -> Failure {
    Failure {
        message: format!("error: invalid bytecode file '{}': {}\n", path.display(), reason),
        status: EXIT_COMPILE,
    }
}
