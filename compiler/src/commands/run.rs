//! `tinyvm run FILE [ARGS...]`: interpret (and JIT-compile) a program.

use super::{load_program, Failure};
use crate::JitArg;
use std::path::Path;
use tinyvm::frontend::diagnostic::ErrorFormat;
use tinyvm_runtime::bytecode::verify::verify_module;
use tinyvm_runtime::program::EXIT_RUNTIME;
use tinyvm_runtime::vm::{JitMode, Options};

pub fn run(file: &Path, args: Vec<String>, jit: JitArg, format: ErrorFormat) -> i32 {
    // Checked first, like the command line: a bad value stops everything.
    let heap_limit = match tinyvm_runtime::heap::oom::heap_limit_from_env() {
        Ok(limit) => limit,
        Err(message) => return Failure { message, status: EXIT_RUNTIME }.report(),
    };
    let module = match load_program(file, format) {
        Ok(m) => m,
        Err(f) => return f.report(),
    };
    if let Err(e) = verify_module(&module) {
        return super::invalid_bytecode(file, &e.to_string()).report();
    }
    let options = Options {
        jit: match jit {
            // The optimizing tier's eager mode compiles every function at its first call.
            JitArg::Auto if std::env::var("TINYVM_OPT").is_ok_and(|v| v == "eager") => JitMode::Always,
            JitArg::Auto => JitMode::Auto,
            JitArg::Always => JitMode::Always,
            JitArg::Off => JitMode::Off,
        },
        stats: std::env::var("TINYVM_STATS").is_ok_and(|v| v == "1"),
        args,
        program_name: file.display().to_string(),
        error_format: format.for_runtime(),
        heap_limit,
        fuel: Options::fuel_from_env(),
    };
    tinyvm_runtime::program::run_module(module, options)
}
