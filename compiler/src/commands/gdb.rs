//! `tinyvm gdb [GDB-ARGS...]`: gdb with TinyVM's support script loaded
//! (value printers, convenience functions, the entry-stub unwinder, Rust
//! frame names), like rust-gdb: every argument goes to gdb unchanged
//! (`tinyvm gdb EXE`, `-ex CMD`, `-batch`, `--args EXE ARGS...`, `EXE
//! CORE`, `-p PID`, `--help`). The program runs with `TINYVM_OPT=0` (its
//! baseline code, which gdb knows) unless `TINYVM_OPT` is set.

use super::Failure;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use tinyvm::aot::gdb_script;

pub fn run(args: Vec<OsString>) -> i32 {
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
    // Optimized code is not described to gdb (no DWARF, no JIT-interface
    // entry), so the program runs its baseline code unless the user sets
    // TINYVM_OPT (as gcc's advice to debug at -O0).
    if std::env::var_os("TINYVM_OPT").is_none() {
        cmd.env("TINYVM_OPT", "0");
    }
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
