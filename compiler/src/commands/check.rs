//! `tinyvm check SRC`: compile errors and warnings, nothing written.

use super::{compile_source, read_file, Warnings};
use std::path::Path;
use tinyvm::frontend::diagnostic::ErrorFormat;

pub fn run(src: &Path, format: ErrorFormat) -> i32 {
    match read_file(src).and_then(|bytes| compile_source(src, bytes, format, Warnings::Show)) {
        Ok(_) => 0,
        Err(f) => f.report(),
    }
}
