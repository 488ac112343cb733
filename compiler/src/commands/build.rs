//! `tinyvm build`: native executables (see the native-code issue).

use std::path::{Path, PathBuf};
use tinyvm::frontend::diagnostic::ErrorFormat;

pub fn run(
    _src: &Path,
    _output: Option<PathBuf>,
    _g: bool,
    _static: bool,
    _no_fallback: bool,
    _f: ErrorFormat,
) -> i32 {
    eprintln!("error: `tinyvm build` is not available yet");
    70
}
