//! `tinyvm gdb [GDB-ARGS...]`: gdb with TinyVM's support script loaded
//! (value printers, convenience functions, the entry-stub unwinder, Rust
//! frame names), like rust-gdb. Every argument goes to gdb unchanged,
//! except in the short form `tinyvm gdb EXE [ARGS...]` (the first argument
//! not an option), which means `--args EXE ARGS...`.

use super::Failure;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use tinyvm::aot::gdb_script;

/// gdb's arguments for `args` as given to `tinyvm gdb`.
fn gdb_arguments(args: Vec<OsString>) -> Result<Vec<OsString>, Failure> {
    let short_form = args.first().is_some_and(|a| !a.to_string_lossy().starts_with('-'));
    if !short_form {
        return Ok(args);
    }
    let exe = Path::new(&args[0]);
    if !exe.is_file() {
        return Err(Failure::io(format!("cannot debug '{}': no such file", exe.display())));
    }
    let mut out = vec![OsString::from("--args")];
    out.extend(args);
    Ok(out)
}

pub fn run(args: Vec<OsString>) -> i32 {
    let args = match gdb_arguments(args) {
        Ok(args) => args,
        Err(failure) => return failure.report(),
    };
    let script = match gdb_script::write_script() {
        Ok(path) => path,
        Err(e) => return Failure::io(e).report(),
    };
    let mut cmd = Command::new(std::env::var("GDB").ok().filter(|g| !g.is_empty()).unwrap_or_else(|| "gdb".into()));
    cmd.arg("-q");
    // The script is sourced here, so executables that embed it may load it
    // too (it loads once): allow that without gdb's auto-load warning, for
    // every file named on the command line (the program among them).
    for arg in &args {
        let path = Path::new(arg);
        if path.is_file() {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            cmd.arg("-iex").arg(format!("add-auto-load-safe-path {}", path.display()));
        }
    }
    cmd.arg("-iex").arg(format!("source {}", script.display()));
    cmd.args(args);
    // exec only returns on failure.
    let error = cmd.exec();
    let message = if error.kind() == std::io::ErrorKind::NotFound {
        "cannot start gdb: it is not installed (or not on PATH)".to_string()
    } else {
        format!("cannot start gdb: {}", error)
    };
    Failure { message: format!("error: {}\n", message), status: 69 }.report()
}
