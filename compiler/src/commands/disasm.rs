//! `tinyvm disasm FILE [--native]`: list bytecode (and machine code).

use super::{invalid_bytecode, load_program};
use std::path::Path;
use tinyvm::frontend::diagnostic::ErrorFormat;
use tinyvm_runtime::bytecode::{disasm, verify::verify_module};

pub fn run(file: &Path, native: bool, format: ErrorFormat) -> i32 {
    let module = match load_program(file, format) {
        Ok(m) => m,
        Err(f) => return f.report(),
    };
    let verified = match verify_module(&module) {
        Ok(v) => v,
        Err(e) => return invalid_bytecode(file, &e.to_string()).report(),
    };
    let _ = native;
    let text = disasm::disassemble(&module, &verified.max_stack);
    tinyvm_runtime::output::write_stdout(text.as_bytes());
    0
}
