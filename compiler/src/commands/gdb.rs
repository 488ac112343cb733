//! `tinyvm gdb EXE [ARGS...]`: gdb with TinyVM's printers (see the gdb issue).

use std::path::Path;

pub fn run(_exe: &Path, _args: Vec<String>) -> i32 {
    eprintln!("error: `tinyvm gdb` is not available yet");
    70
}
