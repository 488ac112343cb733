//! `tinyvm run FILE [ARGS...]`: interpret (and JIT-compile) a program.

use super::load_program;
use crate::JitArg;
use std::path::Path;
use tinyvm::frontend::diagnostic::ErrorFormat;
use tinyvm_runtime::bytecode::verify::verify_module;
use tinyvm_runtime::vm::{JitMode, Options};

pub fn run(file: &Path, args: Vec<String>, jit: JitArg, format: ErrorFormat) -> i32 {
    let module = match load_program(file, format) {
        Ok(m) => m,
        Err(f) => return f.report(),
    };
    if let Err(e) = verify_module(&module) {
        return super::invalid_bytecode(file, &e.to_string()).report();
    }
    let options = Options {
        jit: match jit {
            JitArg::Auto => JitMode::Auto,
            JitArg::Always => JitMode::Always,
            JitArg::Off => JitMode::Off,
        },
        stats: std::env::var("TINYVM_STATS").is_ok_and(|v| v == "1"),
        args,
        program_name: file.display().to_string(),
        fuel: Options::fuel_from_env(),
    };
    tinyvm_runtime::program::run_module(module, options)
}
