//! `tinyvm disasm FILE [--native]`: list bytecode (and machine code).

use super::{invalid_bytecode, load_program};
use std::path::Path;
use tinyvm::aot;
use tinyvm::frontend::diagnostic::ErrorFormat;
use tinyvm_runtime::bytecode::{listing, verify::verify_module};

pub fn run(file: &Path, native: bool, format: ErrorFormat) -> i32 {
    let module = match load_program(file, format) {
        Ok(m) => m,
        Err(f) => return f.report(),
    };
    let verified = match verify_module(&module) {
        Ok(v) => v,
        Err(e) => return invalid_bytecode(file, &e.to_string()).report(),
    };
    let mut text = String::new();
    for index in 0..module.functions.len() {
        if index > 0 {
            text.push('\n');
        }
        text.push_str(&listing::disassemble_function(&module, index, verified.max_stack[index]));
        if native {
            match aot::lower_function(&module, &verified, index, aot::LowerOptions::for_build(false)) {
                Ok(lowered) => {
                    text.push_str(&aot::native_listing::native_listing(&module.functions[index].code, &lowered))
                }
                Err(e) => text.push_str(&format!("  native code: none ({})\n", e)),
            }
        }
    }
    tinyvm_runtime::output::write_stdout(text.as_bytes());
    0
}
