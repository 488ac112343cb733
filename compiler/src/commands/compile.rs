//! `tinyvm compile SRC [-o FILE.tvmc]`: write a bytecode file.

use super::{compile_source, read_file, refuse_overwriting_input, Failure};
use std::path::{Path, PathBuf};
use tinyvm::frontend::diagnostic::ErrorFormat;
use tinyvm_runtime::bytecode::tvmc;

pub fn run(src: &Path, output: Option<PathBuf>, format: ErrorFormat) -> i32 {
    let module = match read_file(src).and_then(|bytes| compile_source(src, bytes, format, super::Warnings::Show)) {
        Ok(m) => m,
        Err(f) => return f.report(),
    };
    let output = output.unwrap_or_else(|| src.with_extension("tvmc"));
    if let Err(f) = refuse_overwriting_input(src, &output) {
        return f.report();
    }
    match std::fs::write(&output, tvmc::encode(&module)) {
        Ok(()) => 0,
        Err(e) => {
            Failure::io(format!("cannot write '{}': {}", output.display(), tinyvm_runtime::output::io_error_text(&e)))
                .report()
        }
    }
}
