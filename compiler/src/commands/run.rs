//! `tinyvm run FILE [ARGS...]`, `run - [ARGS...]` (the program on stdin) and
//! `run -e CODE [ARGS...]`: interpret (and JIT-compile) a program.

use super::{load_bytes, read_input, Failure, Warnings};
use crate::JitArg;
use std::path::Path;
use tinyvm::frontend::diagnostic::ErrorFormat;
use tinyvm_runtime::bytecode::verify::verify_module;
use tinyvm_runtime::program::EXIT_RUNTIME;
use tinyvm_runtime::vm::{JitMode, Options};

/// Where the program comes from.
pub enum Program {
    /// A file, or stdin for `-`.
    File(std::path::PathBuf),
    /// `-e CODE`.
    Code(String),
}

/// The name traces and diagnostics give a program from `-e`.
pub const CODE_NAME: &str = "-e";
/// The name they give a program read from stdin.
pub const STDIN_NAME: &str = "<stdin>";

pub fn run(program: Program, args: Vec<String>, jit: JitArg, format: ErrorFormat) -> i32 {
    // Checked first, like the command line: a bad value stops everything.
    let heap_limit = match tinyvm_runtime::heap::oom::heap_limit_from_env() {
        Ok(limit) => limit,
        Err(message) => return Failure { message, status: EXIT_RUNTIME }.report(),
    };
    let (name, bytes) = match &program {
        Program::Code(code) => (CODE_NAME.to_string(), code.clone().into_bytes()),
        Program::File(path) if path == Path::new("-") => match read_input(path) {
            Ok(bytes) => (STDIN_NAME.to_string(), bytes),
            Err(f) => return f.report(),
        },
        Program::File(path) => match read_input(path) {
            Ok(bytes) => (path.display().to_string(), bytes),
            Err(f) => return f.report(),
        },
    };
    let module = match load_bytes(Path::new(&name), bytes.clone(), format, Warnings::Hide) {
        Ok(m) => m,
        Err(f) => return f.report(),
    };
    if let Err(e) = verify_module(&module) {
        return super::invalid_bytecode(Path::new(&name), &e.to_string()).report();
    }
    let from_file = matches!(&program, Program::File(path) if path != Path::new("-"));
    let options = Options {
        jit: jit_mode(jit),
        stats: std::env::var("TINYVM_STATS").is_ok_and(|v| v == "1"),
        args,
        program_name: name.clone(),
        error_format: format.for_runtime(),
        heap_limit,
        fuel: Options::fuel_from_env(),
        color: super::color(),
        // A runtime error's source line, for a program that is no file.
        sources: if from_file { Vec::new() } else { vec![(name, bytes)] },
        optimize: true,
    };
    tinyvm_runtime::program::run_module(module, options)
}

pub fn jit_mode(jit: JitArg) -> JitMode {
    match jit {
        // The optimizing tier's eager mode compiles every function at its first call.
        JitArg::Auto if std::env::var("TINYVM_OPT").is_ok_and(|v| v == "eager") => JitMode::Always,
        JitArg::Auto => JitMode::Auto,
        JitArg::Always => JitMode::Always,
        JitArg::Off => JitMode::Off,
    }
}
