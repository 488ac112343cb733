//! `tinyvm gdb EXE [ARGS...]`: gdb with TinyVM's value printers and
//! backtrace filter loaded (like rust-gdb).

use super::Failure;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use tinyvm::aot::gdb_script;

/// gdb options given before the program.
pub struct GdbOptions {
    pub batch: bool,
    pub commands: Vec<std::path::PathBuf>,
    pub ex: Vec<String>,
}

pub fn run(exe: &Path, args: Vec<String>, options: GdbOptions) -> i32 {
    if !exe.is_file() {
        return Failure::io(format!("cannot debug '{}': no such file", exe.display())).report();
    }
    let script = match gdb_script::write_script() {
        Ok(path) => path,
        Err(e) => return Failure::io(e).report(),
    };
    let mut cmd = Command::new(std::env::var("GDB").ok().filter(|g| !g.is_empty()).unwrap_or_else(|| "gdb".into()));
    cmd.arg("-q")
        .arg("-iex")
        .arg(format!("add-auto-load-safe-path {}", exe.display()))
        .arg("-iex")
        .arg(format!("source {}", script.display()));
    if options.batch {
        cmd.arg("-batch");
    }
    for file in &options.commands {
        cmd.arg("-x").arg(file);
    }
    for command in &options.ex {
        cmd.arg("-ex").arg(command);
    }
    cmd.arg("--args").arg(exe).args(args);
    // exec only returns on failure.
    let error = cmd.exec();
    let message = if error.kind() == std::io::ErrorKind::NotFound {
        "cannot start gdb: it is not installed (or not on PATH)".to_string()
    } else {
        format!("cannot start gdb: {}", error)
    };
    Failure { message: format!("error: {}\n", message), status: 69 }.report()
}
