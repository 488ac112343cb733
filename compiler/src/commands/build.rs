//! `tinyvm build SRC [-o EXE] [-g] [--static] [--no-fallback]`: a native
//! executable from a source file or a bytecode file (`.tvmc`).

use super::{read_file, refuse_overwriting_input, Failure};
use std::path::{Path, PathBuf};
use tinyvm::aot::{self, link::LinkError};
use tinyvm::frontend::diagnostic::ErrorFormat;
use tinyvm_runtime::bytecode::{tvmc, verify::verify_module};
use tinyvm_runtime::program::{EXIT_IO, EXIT_RUNTIME};

pub struct BuildOptions {
    pub output: Option<PathBuf>,
    pub debug: bool,
    pub static_link: bool,
    pub no_fallback: bool,
    pub format: ErrorFormat,
}

pub fn run(src: &Path, options: BuildOptions) -> i32 {
    match build(src, &options) {
        Ok(()) => 0,
        Err(f) => f.report(),
    }
}

fn failure(message: String, status: i32) -> Failure {
    Failure { message: format!("error: {}\n", message), status }
}

/// The default output: the source path without its extension.
fn default_output(src: &Path) -> PathBuf {
    let stem = src.with_extension("");
    if stem == src {
        src.with_extension("out")
    } else {
        stem
    }
}

fn build(src: &Path, options: &BuildOptions) -> Result<(), Failure> {
    // From source or from a bytecode file (`tinyvm compile`'s output).
    let bytes = read_file(src)?;
    let from_bytecode = super::is_bytecode(src, &bytes);
    let module = super::load_bytes(src, bytes, options.format, super::Warnings::Show)?;
    // DWARF names the source files; a bytecode file names its own.
    let source_path = if from_bytecode { PathBuf::from(module.source_name()) } else { src.to_path_buf() };
    let verified = verify_module(&module).map_err(|e| failure(format!("internal error: {}", e), EXIT_RUNTIME))?;
    let output = options.output.clone().unwrap_or_else(|| default_output(src));
    refuse_overwriting_input(src, &output)?;
    check_writable(&output)?;

    let lowered = aot::lower_module(&module, &verified, aot::LowerOptions::for_build(options.debug));
    let mut code = Vec::with_capacity(lowered.len());
    for (index, result) in lowered.iter().enumerate() {
        match result {
            Ok(l) => code.push(Some(l)),
            Err(e) if options.no_fallback => {
                return Err(failure(
                    format!("function '{}' cannot be compiled to native code: {}", module.functions[index].name, e),
                    EXIT_RUNTIME,
                ))
            }
            Err(_) => code.push(None),
        }
    }
    let bytecode = tvmc::encode(&module);
    let debug_info = options.debug.then(|| aot::dwarf::DebugInfo::new(&module, &lowered, &source_path));
    let debug_error = std::cell::RefCell::new(None);
    let add_debug = |obj: &mut object::write::Object, layout: &aot::elf_writer::TextLayout| {
        if let Some(Err(e)) = debug_info.as_ref().map(|info| info.write(obj, layout)) {
            *debug_error.borrow_mut() = Some(e);
        }
    };
    let mut flags = match options.format {
        ErrorFormat::Short => tinyvm_runtime::program::PROGRAM_SHORT_ERRORS,
        ErrorFormat::Human => 0,
    };
    if options.debug {
        // Debug builds run the code their DWARF describes.
        flags |= tinyvm_runtime::program::PROGRAM_BASELINE_ONLY;
    }
    let object = aot::elf_writer::write_object(&module, &bytecode, flags, &code, Some(&add_debug))
        .map_err(|e| failure(format!("cannot write the object file: {}", e), EXIT_RUNTIME))?;
    if let Some(e) = debug_error.into_inner() {
        return Err(failure(format!("cannot write debug information: {}", e), EXIT_RUNTIME));
    }

    let scratch =
        tempfile::tempdir().map_err(|e| failure(format!("cannot create a temporary directory: {}", e), EXIT_IO))?;
    let object_path = scratch.path().join("program.o");
    std::fs::write(&object_path, object)
        .map_err(|e| failure(format!("cannot write '{}': {}", object_path.display(), e), EXIT_IO))?;
    let archive = aot::archive::runtime_archive(scratch.path()).map_err(|e| failure(e, EXIT_IO))?;
    aot::link::link(&object_path, &archive, &output, options.static_link, options.debug)
        .map_err(|LinkError { message, status }| failure(message, status))
}

/// Fails early (exit 74) when the output cannot be created.
fn check_writable(output: &Path) -> Result<(), Failure> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if output.is_dir() {
        return Err(failure(format!("cannot write '{}': it is a directory", output.display()), EXIT_IO));
    }
    let probe = dir.join(format!(".tinyvm-probe-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(failure(
            format!("cannot write '{}': {}", output.display(), tinyvm_runtime::output::io_error_text(&e)),
            EXIT_IO,
        )),
    }
}
