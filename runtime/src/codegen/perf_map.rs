//! `TINYVM_PERF_MAP=1`: the JIT appends a line per compiled function to
//! `/tmp/perf-PID.map` (`START SIZE name`, hexadecimal start and size, the
//! name as the program names it: `fib`, `Counter.bump`, `script`), and one
//! more for a function's optimized code (the same name), the file
//! `perf report` reads to name code that no ELF file describes.
//! Only written under the VM lock (the mutex just makes that safe to say).

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// The open map, or None when not asked for (or it cannot be created).
static MAP: OnceLock<Option<Mutex<File>>> = OnceLock::new();

/// The map's path for this process.
pub fn path() -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}

fn map() -> Option<&'static Mutex<File>> {
    MAP.get_or_init(|| {
        if std::env::var_os("TINYVM_PERF_MAP").is_none_or(|v| v != "1") {
            return None;
        }
        match File::create(path()) {
            Ok(file) => Some(Mutex::new(file)),
            Err(e) => {
                crate::output::write_stderr(
                    format!("warning: TINYVM_PERF_MAP: cannot create {}: {}\n", path().display(), e).as_bytes(),
                );
                None
            }
        }
    })
    .as_ref()
}

/// Records that `name`'s code lies in `len` bytes from `start`.
pub fn record(start: *const u8, len: usize, name: &str) {
    let Some(map) = map() else { return };
    // perf reads one symbol per line: a newline in a name (a `.tvmc` file
    // may hold one) would start a bogus entry.
    let name = name.replace(['\n', '\r'], " ");
    let line = format!("{:x} {:x} {}\n", start as usize, len, name);
    if let Ok(mut file) = map.lock() {
        // Written at once (not buffered): the process may end any time.
        let _ = file.write_all(line.as_bytes());
    }
}
